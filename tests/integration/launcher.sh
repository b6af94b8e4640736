#!/bin/bash
# vmmem-qemu execs the real qemu in place: same PID, argv, environment, fds and umask, inside a
# scope whose limits are exactly what `vmmem explain --json` planned for that argv.
. "$(dirname "$0")/lib.sh"

check_launch() { # NAME RAM_MIB [VAR=VALUE...]: launch, check, stop
    local name=$1 ram=$2
    shift 2
    local -a args
    read -r -a args <<<"$(idle_qemu_args "$name" "$ram")"
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
    assert_eq "$(readlink "/proc/$pid/fd/7")" "/etc/hostname" "$name: inherited fd 7 kept"
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

# A probe (libvirt's capability probe shape) passes straight through: no scope at all.
out=$("$VMMEM_QEMU" -S -no-user-config -nodefaults -nographic -machine none,accel=kvm:tcg -version 2>&1)
assert_contains "$out" "QEMU emulator version" "probe output is qemu's"
assert_no_scopes "after a probe"
finish
