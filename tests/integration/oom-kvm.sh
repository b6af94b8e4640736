#!/bin/bash
# The OOM demonstration under KVM (docs/accuracy.md): a database-like VM whose four 256 GiB qcow2
# data disks are written across (qemu then caches all their L2 tables, 32 MiB each) is
# OOM-killed in an envelope of guest RAM + KubeVirt's QEMU terms (50 MiB + RAM/512 + 8 MiB per
# vCPU + 8 MiB: kubevirt pkg/hypervisor/kvm/hypervisorbackend.go), and runs to its end in
# vmmem's, which sizes the caches from the images' headers.  The guest is the accuracy
# matrix's workload, not tuned for the point: bench/accuracy/configs.py kvm-2g-db-4x256g-qcow2.
# (With two such disks KubeVirt's envelope is 39 MiB short of the peak, and the guest survives
# it: it never touches the last 72 MiB of its 2 GiB, and the envelope counts all of it.)
. "$(dirname "$0")/lib.sh"

require_kvm
name=kvm-2g-db-4x256g-qcow2
out="${VMMEM_VM_RESULTS:-/tmp}/$name.json"
scratch_mount /var/lib/vmmem-bench
/usr/bin/python3 "$VMMEM_SOURCE_DIR/bench/accuracy/run-config.py" --build "$BUILD" --runs 1 \
    --methods vmmem,kubevirt --out "$out" "$name" || fail "run-config.py failed"

outcome() { jq -r ".runs.$1.outcome" "$out"; }
kills() { jq -r ".runs.$1.events.oom_kill // 0" "$out"; }
mib() { jq -r "(.$1 / 1048576 | floor)" "$out"; }
echo "# measured peak overhead $(mib measured_peak) MiB; budgets: vmmem $(mib budgets.vmmem) MiB, KubeVirt $(mib budgets.kubevirt) MiB"
assert_eq ok "$(outcome vmmem)" "vmmem's envelope: the guest runs to its end"
assert_eq 0 "$(kills vmmem)" "vmmem's envelope: no OOM kill"
assert_eq oom "$(outcome kubevirt)" "KubeVirt's QEMU terms: the VM"
(($(kills kubevirt) >= 1)) || fail "KubeVirt's envelope: no oom_kill in memory.events"
ok "KubeVirt's envelope: oom_kill $(kills kubevirt)"
ratio=$(jq -r '.budgets.vmmem / .measured_peak' "$out")
awk -v r="$ratio" 'BEGIN { exit !(r >= 1.0) }' || fail "vmmem's budget is $ratio x the measured peak overhead"
ok "vmmem's budget is $(printf '%.2f' "$ratio") x the measured peak overhead"
assert_no_scopes "after both runs"
finish
