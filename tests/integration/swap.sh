#!/bin/bash
# Swap makes an undersized envelope survivable: a KVM guest that touches all its RAM, in an
# envelope of guest RAM + 1 MiB (far below the 35-40 MiB it needs, docs/measurements.md), is
# OOM-killed without swap and survives, swapping, when vmmem allows swap (--swap / VMMEM_SWAP ->
# memory.swap.max) onto zram. The guest kernel keeps ~50 MiB of a 256 MiB guest for itself and
# never touches part of it, so the deficit must be wide: with 8 MiB of overhead and the toucher's
# default 16 MiB reserve, reclaiming qemu's file pages was enough and the control survived.
. "$(dirname "$0")/lib.sh"

require_kvm
RAM_MIB=${OOM_TEST_RAM_MIB:-256}
TOUCHER_ACCEL=kvm
TOUCHER_EXTRA="toucher.reserve_mb=4"

echo 512M >/sys/block/zram0/disksize
mkswap /dev/zram0 >/dev/null
swapon /dev/zram0
trap 'swapoff /dev/zram0 2>/dev/null || true' EXIT

printf '[vmmem]\noverhead-max = 1M\n' >/tmp/undersized.conf
toucher_args swapper "$RAM_MIB"
scope="vmmem.slice/vmmem-swapper.scope"

run_swapper() { # SWAP
    set +e
    VMMEM_CONFIG=/tmp/undersized.conf VMMEM_SWAP=$1 timeout 600 "$VMMEM_QEMU" "${TOUCHER[@]}" \
        >/tmp/swapper.out 2>&1
    status=$?
    set -e
}

# The control: without swap the same envelope does not hold the guest.
run_swapper 0
kills=$(awk '$1 == "oom_kill" {print $2}' "$CG/$scope/memory.events")
[[ $status -ne 0 && $kills -ge 1 ]] ||
    fail "without swap the undersized envelope was not OOM-killed (status $status, oom_kill $kills): the test would prove nothing"
ok "without swap: OOM-killed (status $status, oom_kill $kills)"
"$VMMEM" gc >/dev/null

# memory.swap.peak is 6.5+; /proc/vmstat's pswpout counts what went to swap (only this guest runs).
pswpout() { awk '$1 == "pswpout" {print $2}' /proc/vmstat; }
before=$(pswpout)
run_swapper 512M
swapped=$((($(pswpout) - before) * 4096))
cat /tmp/swapper.out
assert_eq "$((512 * 1048576))" "$(cg_read "$scope/memory.swap.max")" "memory.swap.max"
assert_eq 0 "$status" "undersized guest with swap exits cleanly"
assert_eq 0 "$(awk '$1 == "oom_kill" {print $2}' "$CG/$scope/memory.events")" "no OOM kill"
echo "# swapped out during the run: $swapped bytes"
[[ $swapped -gt 0 ]] || fail "the guest survived without swapping: the test proves nothing"
ok "the guest swapped ($swapped bytes out) and survived"
"$VMMEM" gc >/dev/null
assert_no_scopes "after gc"
finish
