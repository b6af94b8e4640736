#!/bin/bash
# An undersized envelope (guest RAM + KubeVirt's QEMU terms, which OOM-kills in oom.sh)
# survives when vmmem allows swap (--swap / VMMEM_SWAP -> memory.swap.max) onto zram.
. "$(dirname "$0")/lib.sh"

RAM_MIB=${OOM_TEST_RAM_MIB:-256}

echo 512M >/sys/block/zram0/disksize
mkswap /dev/zram0 >/dev/null
swapon /dev/zram0
trap 'swapoff /dev/zram0 2>/dev/null || true' EXIT

kubevirt=$(( 50 * 1048576 + RAM_MIB * 1048576 / 512 + 8 * 1048576 ))
printf '[vmmem]\noverhead-max = %sB\n' "$kubevirt" >/tmp/undersized.conf

toucher_args swapper "$RAM_MIB"
scope="vmmem.slice/vmmem-swapper.scope"
set +e
VMMEM_CONFIG=/tmp/undersized.conf VMMEM_SWAP=512M timeout 900 "$VMMEM_QEMU" "${TOUCHER[@]}" >/tmp/swapper.out 2>&1
status=$?
set -e
cat /tmp/swapper.out
assert_eq "$((512 * 1048576))" "$(cg_read "$scope/memory.swap.max")" "memory.swap.max"
assert_eq 0 "$status" "undersized guest with swap exits cleanly"
assert_eq 0 "$(awk '$1 == "oom_kill" {print $2}' "$CG/$scope/memory.events")" "no OOM kill"
swapped=$(awk '$1 == "swap" {print $2}' "$CG/$scope/memory.swap.events" 2>/dev/null || true)
peak_swap=$(cat "$CG/$scope/memory.swap.peak" 2>/dev/null || echo "?")
echo "# swap used at peak: $peak_swap bytes"
[[ "$peak_swap" == "?" || "$peak_swap" -gt 0 ]] || fail "the guest survived without swapping: the test proves nothing"
ok "the guest swapped ($peak_swap bytes at peak) and survived"
"$VMMEM" gc >/dev/null
assert_no_scopes "after gc"
finish
