#!/bin/bash
# vmmem-qemu execs the real qemu in place: same PID, argv, environment, fds and umask, inside a
# scope whose limits are exactly what `vmmem explain --json` planned for that argv.
. "$(dirname "$0")/lib.sh"
require_kvm

check_launch() { # NAME RAM_MIB [VAR=VALUE...]: launch, check, stop
    local name=$1 ram=$2
    shift 2
    local -a args
    read -r -a args <<<"$(idle_qemu_args "$name" "$ram")"
    # An fd set, as libvirt and other managers hand qemu files: qemu refuses to start when fd 7
    # did not survive the exec, and moves it into the set (a dup, the original closed).
    args+=(-add-fd "set=1,fd=7,opaque=vmmem-test")
    local json scope pid
    json=$(env "$@" "$VMMEM" explain --json -- "${args[@]}")
    scope="vmmem.slice/vmmem-$name.scope"

    # fd 7 open, an unusual umask and a marker variable must all reach qemu.
    (umask 0027 && exec env "$@" VMMEM_TEST_MARKER=kept "$VMMEM_QEMU" "${args[@]}" 7</etc/hostname) &
    pid=$!
    wait_exec "$pid"
    wait_cgroup "$pid" "$scope"
    ok "$name: qemu runs as the launcher's pid $pid in /$scope"

    assert_eq "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "$VMMEM_QEMU ${args[*]} " "$name: argv unchanged"
    assert_contains "$(tr '\0' '\n' <"/proc/$pid/environ")" "VMMEM_TEST_MARKER=kept" "$name: environment kept"
    local held
    # find complains (and exits 1) about fds qemu closes while it looks: only the match counts.
    held=$(find "/proc/$pid/fd" -lname /etc/hostname -printf '%f ' 2>/dev/null || true)
    [[ -n "$held" ]] ||
        fail "$name: expected qemu to hold the inherited fd 7 (/etc/hostname) in its -add-fd set, it holds no fd on it"
    ok "$name: inherited fd 7 reached qemu's fd set 1 (now fd $held)"
    assert_eq "$(awk '/^Umask/{print $2}' "/proc/$pid/status")" "0027" "$name: umask kept"

    assert_eq "$(jq -r .memory_max <<<"$json")" "$(cg_read "$scope/memory.max")" "$name: memory.max"
    local high swap
    high=$(jq -r '.memory_high // "max"' <<<"$json")
    swap=$(jq -r '.swap_max // 0' <<<"$json")
    assert_eq "$high" "$(cg_read "$scope/memory.high")" "$name: memory.high"
    assert_eq "$swap" "$(cg_read "$scope/memory.swap.max")" "$name: memory.swap.max"
    assert_eq "1" "$(cg_read "$scope/memory.oom.group")" "$name: memory.oom.group"
    # The whole guest RAM is charged inside the envelope, and the envelope holds it.
    # -mem-prealloc touches the guest RAM after exec: give it time under nested TCG.
    local current i
    for i in $(seq 1 300); do
        current=$(cg_read "$scope/memory.current")
        ((current > ram * 1024 * 1024)) && break
        sleep 0.1
    done
    ((current > ram * 1024 * 1024)) || fail "$name: memory.current $current < guest RAM after 30 s"
    ok "$name: memory.current $current holds the preallocated guest RAM"

    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
}

check_launch t1 128
check_launch t2 256 VMMEM_SWAP=64M VMMEM_HIGH=0.8
check_launch t3 192 VMMEM_HIGH=on

"$VMMEM" gc
assert_no_scopes "after gc"

# `vmmem run`, the lab launcher: its options reach the scope, it waits for qemu, reports, and
# removes the scope itself.
read -r -a args <<<"$(idle_qemu_args r1 96)"
"$VMMEM" run --name lab1 --swap 32M --high 0.8 -- "${args[@]}" 2>/tmp/run.err &
runner=$!
scope=vmmem.slice/vmmem-lab1.scope
for i in $(seq 1 200); do
    qemu_pid=$(head -n 1 "$CG/$scope/cgroup.procs" 2>/dev/null || true)
    [[ -n "$qemu_pid" ]] && break
    sleep 0.1
done
[[ -n "$qemu_pid" ]] || fail "vmmem run: no process in /$scope"
wait_exec "$qemu_pid"
assert_eq "$((32 * 1048576))" "$(cg_read "$scope/memory.swap.max")" "vmmem run --swap"
max=$(cg_read "$scope/memory.max")
assert_eq "$(( max * 8 / 10 / 4096 * 4096 ))" "$(cg_read "$scope/memory.high")" "vmmem run --high 0.8"
grep -qx "0::/$scope" "/proc/$runner/cgroup" && fail "vmmem run sits inside the VM's envelope"
ok "vmmem run supervises from outside the scope"
kill -9 "$qemu_pid"
set +e
wait "$runner"
status=$?
set -e
assert_eq 137 "$status" "vmmem run exits with qemu's status"
assert_contains "$(cat /tmp/run.err)" "qemu exited with status 137; memory.peak" "vmmem run reports the peak"
[[ ! -d "$CG/$scope" ]] || fail "vmmem run left /$scope behind"
ok "vmmem run removed its scope"

# A probe (libvirt's capability probe shape) passes straight through: no scope at all.
out=$("$VMMEM_QEMU" -S -no-user-config -nodefaults -nographic -machine none,accel=kvm:tcg -version 2>&1)
assert_contains "$out" "QEMU emulator version" "probe output is qemu's"
assert_no_scopes "after a probe"
finish
