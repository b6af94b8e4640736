#!/bin/bash
# libvmmem's scope lifecycle for managers, on the real kernel: tests/scope/scope-api.c (50
# threads creating scopes at once, A then B before any attach, the state guard, a same-name
# clash, clone3 into the scope's fd, the events fd on a real memory.high crossing, memory.stat
# and PSI, update above and below usage, reopen after the owning process exits, gc), then
# examples/mini-manager.c running a nested KVM guest it spawns with CLONE_INTO_CGROUP.
. "$(dirname "$0")/lib.sh"
require_kvm

run_tap 30 "$BUILD/tests/scope-api"
ok "scope-api: $N_TAP checks on the real kernel"
assert_no_scopes "after scope-api"

# The example manager: a 256 MiB KVM toucher, spawned straight into its scope.
TOUCHER=(-name guest=mm -machine q35 -accel kvm -cpu host -m 256 -smp 1 -nodefaults
    -display none -serial file:/tmp/mm.console -no-reboot -kernel "$KERNEL"
    -initrd "$TOUCHER_INITRD" -append "console=ttyS0 panic=-1 quiet toucher.reserve_mb=16")
mm=$("$BUILD/tests/mini-manager" "${TOUCHER[@]}" 2>&1) || {
    echo "$mm"
    cat /tmp/mm.console || true
    fail "mini-manager failed"
}
while read -r line; do echo "# $line"; done <<<"$mm"
assert_contains "$mm" "started in /vmmem.slice/vmmem-mm.scope" "mini-manager spawned qemu into its scope"
assert_contains "$(cat /tmp/mm.console)" "toucher: done" "the guest ran to the end"
assert_contains "$mm" "qemu exited (status 0x0)" "qemu exited 0"
# qemu was born inside: the scope's memory.peak holds the 256 MiB guest it touched.  (Its
# calibration may end without figures: under a production envelope the kernel reclaims qemu's
# page cache at memory.max, which memory.events counts; mini-manager says so.)
peak=$(sed -nE 's/^qemu exited .*: peak ([0-9]+), .*/\1/p' <<<"$mm")
((peak >= 256 * 1024 * 1024)) || fail "the scope's peak $peak is below the guest's 256 MiB"
ok "the scope's memory.peak ($((peak / 1048576)) MiB) holds the guest RAM"
assert_contains "$mm" "OOM kills 0" "no OOM kill"
assert_contains "$mm" "memory.events: high 0, max" "memory.events read through the API at the end"
assert_no_scopes "after mini-manager"
finish
