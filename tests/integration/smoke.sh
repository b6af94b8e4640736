#!/bin/bash
# smoke.sh [--nested]: sanity check of the test VM (run it through tests/vm/vm-run.sh).
#
# Checks the cgroup v2 memory and pids controllers work: creates /sys/fs/cgroup/smoke, sets
# memory.max, moves a process in and out, removes it, and checks that nothing is left.
# --nested also boots the nested toucher guest (real qemu, KVM, 256 MiB guest RAM that it
# touches completely) in a cgroup with memory.max = 2 GiB and prints memory.peak and the time
# it took; without /dev/kvm in the VM it is skipped (exit 77, as lib.sh require_kvm does).
# Needs $VMMEM_VM_KERNEL (set by vm-run.sh) and $VMMEM_TOUCHER_INITRAMFS (set by meson;
# without it the initramfs is built into /tmp).
set -euo pipefail

cg=/sys/fs/cgroup
fail() {
    echo "smoke: FAIL: $*" >&2
    exit 1
}
ok() { echo "smoke: ok: $*"; }

nested=0
for a in "$@"; do
    case "$a" in
    --nested) nested=1 ;;
    *) fail "unknown argument $a (usage: smoke.sh [--nested])" ;;
    esac
done

[[ "${VMMEM_VM:-}" == 1 ]] || fail "not inside the test VM (run: tests/vm/vm-run.sh -- $0)"
[[ "$(id -u)" == 0 ]] || fail "not root"
[[ "$(stat -f -c %T "$cg")" == cgroup2fs ]] || fail "$cg is not a cgroup2 mount"

read -r -a controllers <"$cg/cgroup.controllers"
for c in memory pids; do
    [[ " ${controllers[*]} " == *" $c "* ]] || fail "root cgroup.controllers lacks $c: ${controllers[*]}"
done
ok "root controllers: ${controllers[*]}"

list_cgroups() { find "$cg" -mindepth 1 -type d | LC_ALL=C sort; }
before="$(list_cgroups)"
subtree_before="$(cat "$cg/cgroup.subtree_control")"

echo "+memory +pids" >"$cg/cgroup.subtree_control" || fail "cannot enable +memory +pids at the root"
grep -qw memory "$cg/cgroup.subtree_control" || fail "memory not in root subtree_control"
grep -qw pids "$cg/cgroup.subtree_control" || fail "pids not in root subtree_control"

sg="$cg/smoke"
[[ ! -e "$sg" ]] || fail "$sg exists already"
mkdir "$sg"
for f in memory.max memory.current memory.peak memory.stat memory.events memory.swap.max pids.max cgroup.kill; do
    [[ -e "$sg/$f" ]] || fail "$sg/$f missing"
done
echo 100M >"$sg/memory.max"
got="$(cat "$sg/memory.max")"
[[ "$got" == 104857600 ]] || fail "memory.max reads back $got, want 104857600"
ok "memory.max 100M reads back $got"

sleep 1000 &
pid=$!
echo "$pid" >"$sg/cgroup.procs"
want="0::/smoke"
got="$(cat "/proc/$pid/cgroup")"
[[ "$got" == "$want" ]] || fail "/proc/$pid/cgroup is '$got', want '$want'"
grep -qx "$pid" "$sg/cgroup.procs" || fail "pid $pid not in $sg/cgroup.procs"
[[ "$(cat "$sg/pids.current")" == 1 ]] || fail "pids.current is $(cat "$sg/pids.current"), want 1"
cur="$(cat "$sg/memory.current")"
((cur > 0)) || fail "memory.current is $cur"
ok "sleep $pid is in /smoke (memory.current $cur bytes)"
kill "$pid"
wait "$pid" 2>/dev/null || true
for _ in $(seq 50); do
    [[ -s "$sg/cgroup.procs" ]] || break
    sleep 0.1
done
[[ ! -s "$sg/cgroup.procs" ]] || fail "$sg/cgroup.procs not empty after kill: $(cat "$sg/cgroup.procs")"
rmdir "$sg" || fail "rmdir $sg"
ok "cgroup removed"

nested_guest() {
    local kernel="${VMMEM_VM_KERNEL:-}" ng="$cg/smoke-nested"
    local initrd="${VMMEM_TOUCHER_INITRAMFS:-${VMMEM_TOUCHER_INITRD:-}}"
    local here log t0 t1 rc peak
    [[ -n "$kernel" && -r "$kernel" ]] || fail "VMMEM_VM_KERNEL not set or not readable: '$kernel'"
    if [[ ! -c /dev/kvm ]]; then
        echo "SKIP [smoke]: no /dev/kvm in the test VM: $(head -n 1 "$VMMEM_VM_RESULTS/.vm-run/kvm" 2>/dev/null)"
        exit 77
    fi
    if [[ -z "$initrd" || ! -r "$initrd" ]]; then
        here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
        initrd=/tmp/toucher-initramfs.cpio.gz
        "$here/../vm/build-toucher-initramfs.sh" "$initrd" || fail "cannot build the toucher initramfs"
    fi
    mkdir "$ng"
    echo 2G >"$ng/memory.max"
    log="$(mktemp /tmp/nested.XXXXXX)"
    t0="$(date +%s.%N)"
    set +e
    # shellcheck disable=SC2016 # $$ is the inner shell's
    sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$ng" \
        qemu-system-x86_64 -machine q35 -accel kvm -cpu host -m 256 -smp 1 -nodefaults -display none \
        -serial stdio -no-reboot -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 panic=-1 quiet mitigations=off" </dev/null >"$log" 2>&1
    rc=$?
    set -e
    t1="$(date +%s.%N)"
    sed 's/^/smoke: nested: /' "$log"
    peak="$(cat "$ng/memory.peak")"
    echo "smoke: nested guest: qemu exit $rc, $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s," \
        "memory.peak $((peak / 1048576)) MiB ($peak bytes)"
    grep -E '^(anon|file|kernel|kernel_stack|pagetables|sock|shmem) ' "$ng/memory.stat" | sed 's/^/smoke: nested: memory.stat /'
    grep -E '^(oom|oom_kill|max) ' "$ng/memory.events" | sed 's/^/smoke: nested: memory.events /'
    [[ "$rc" == 0 ]] || fail "nested qemu exited with $rc"
    grep -q '^toucher: touched [0-9]* MiB' "$log" || fail "nested guest did not report 'toucher: touched'"
    ((peak > 256 * 1048576)) || fail "memory.peak $peak is below the 256 MiB of guest RAM"
    rmdir "$ng" || fail "rmdir $ng"
    rm -f "$log"
    ok "nested guest booted, touched its RAM and powered off"
}
if [[ "$nested" == 1 ]]; then
    nested_guest
fi

# Restore the root's subtree_control as it was.
for c in memory pids; do
    if [[ " $subtree_before " != *" $c "* ]]; then
        echo "-$c" >"$cg/cgroup.subtree_control" || fail "cannot disable $c again"
    fi
done
after="$(list_cgroups)"
[[ "$after" == "$before" ]] || fail "cgroups left behind: $(diff <(echo "$before") <(echo "$after") | grep '^>' | tr '\n' ' ')"
[[ "$(cat "$cg/cgroup.subtree_control")" == "$subtree_before" ]] || fail "root subtree_control not restored"
ok "nothing left behind"
echo "smoke: PASS"
