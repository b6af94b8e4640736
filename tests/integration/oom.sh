#!/bin/bash
# A guest that boots, touches all its RAM and runs a realistic amount of distinct code finishes inside vmmem's envelope, and is
# OOM-killed inside an envelope of guest RAM + KubeVirt's QEMU terms
# (50 MiB + RAM/512 + 8 MiB per vCPU: kubevirt pkg/hypervisor/kvm/hypervisorbackend.go).
. "$(dirname "$0")/lib.sh"

RAM_MIB=${OOM_TEST_RAM_MIB:-256}

run_toucher() { # NAME CONFIG_FILE -> sets status, scope
    toucher_args "$1" "$RAM_MIB"
    scope="vmmem.slice/vmmem-$1.scope"
    set +e
    VMMEM_CONFIG=$2 timeout 900 "$VMMEM_QEMU" "${TOUCHER[@]}" >"/tmp/$1.out" 2>&1
    status=$?
    set -e
    echo "# $1: exit status $status; console tail:"
    tail -n 3 "/tmp/$1.console" 2>/dev/null | sed 's/^/#   /' || true
}

events() { # SCOPE KEY
    awk -v k="$2" '$1 == k {print $2}' "$CG/$1/memory.events"
}

# 1. vmmem's own envelope.
run_toucher fits /dev/null
max=$(cg_read "$scope/memory.max")
peak=$(cg_read "$scope/memory.peak")
assert_eq 0 "$status" "guest under vmmem's envelope exits cleanly"
assert_eq 0 "$(events "$scope" oom_kill)" "no OOM kill under vmmem's envelope"
grep -q "toucher: touched" "/tmp/fits.console" || fail "the guest did not report touching its RAM"
ok "the guest touched its RAM"
echo "# margin: memory.peak $peak of memory.max $max ($(( (max - peak) / 1048576 )) MiB, $(( 100 * (max - peak) / max ))% unused)"
echo "MARGIN ram_mib=$RAM_MIB peak=$peak max=$max" >>"${VMMEM_VM_RESULTS:-/tmp}/margins.txt"

# 2. The same guest with KubeVirt's QEMU overhead terms as the whole overhead.
kubevirt=$(( 50 * 1048576 + RAM_MIB * 1048576 / 512 + 8 * 1048576 ))
cat >/tmp/kubevirt.conf <<CONF
[vmmem]
overhead-max = ${kubevirt}B
CONF
run_toucher kubevirt /tmp/kubevirt.conf
assert_eq "$(( RAM_MIB * 1048576 + (kubevirt + 4095) / 4096 * 4096 ))" "$(cg_read "$scope/memory.max")" "KubeVirt envelope is guest RAM + its terms"
[[ $status -ne 0 ]] || fail "the guest survived KubeVirt's envelope (expected an OOM kill)"
kills=$(events "$scope" oom_kill)
((kills >= 1)) || fail "no oom_kill in memory.events (status $status)"
ok "KubeVirt's envelope: qemu OOM-killed (status $status, oom_kill $kills, group kills $(events "$scope" oom_group_kill))"

"$VMMEM" gc >/dev/null
assert_no_scopes "after gc"
finish
