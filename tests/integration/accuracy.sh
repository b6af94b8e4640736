#!/bin/bash
# The reduced accuracy matrix (docs/accuracy.md): the configurations of
# bench/accuracy/configs.py marked "reduced" (nested KVM guests, and one under TCG), each
# measured by `vmmem calibrate` (3 runs under KVM, 1 under TCG) and then run in vmmem's own
# envelope.  vmmem's envelope
# must hold the workload: no OOM kill, no stall (3x the unlimited time), a budget at least the
# measured peak overhead, and under KVM at most RATIO_MAX times it.
. "$(dirname "$0")/lib.sh"

require_kvm
RATIO_MAX=${ACCURACY_RATIO_MAX:-1.25}
bench="$VMMEM_SOURCE_DIR/bench/accuracy"
out="${VMMEM_VM_RESULTS:-/tmp}/accuracy"
mkdir -p "$out"
scratch_mount /var/lib/vmmem-bench

configs=$(/usr/bin/python3 -c "
import sys; sys.path.insert(0, '$bench')
import configs
print(' '.join(n for n, c in configs.CONFIGS.items() if c.get('reduced')))")
[[ -n "$configs" ]] || fail "configs.py marks no configuration as reduced"

for name in $configs; do
    # The measured peak is the largest of 3 runs under KVM, as in the matrix: one run lands in
    # either of the heap's two sizes (docs/measurements.md).  Under TCG, where only "at least
    # the peak" is asserted, one run of ~2.5 minutes.
    runs=3
    [[ $name == tcg-* ]] && runs=1
    /usr/bin/python3 "$bench/run-config.py" --build "$BUILD" --runs "$runs" --methods vmmem \
        --out "$out/$name.json" "$name" || fail "$name: run-config.py failed"
    # The test VM has no /dev/fd: no process substitution.
    vals=$(jq -r '[(.spec.accel // "kvm"), .runs.vmmem.outcome, (.runs.vmmem.events.oom_kill // 0),
                  .budgets.vmmem, .measured_peak] | @tsv' "$out/$name.json")
    read -r accel outcome oom budget measured <<<"$vals"
    assert_eq ok "$outcome" "$name: vmmem's envelope, outcome"
    assert_eq 0 "$oom" "$name: vmmem's envelope, OOM kills"
    ratio=$(awk -v b="$budget" -v m="$measured" 'BEGIN { printf "%.2f", b / m }')
    awk -v r="$ratio" 'BEGIN { exit !(r >= 1.0) }' ||
        fail "$name: budget $budget is below the measured peak overhead $measured ($ratio x)"
    if [[ "$accel" == kvm ]]; then
        awk -v r="$ratio" -v max="$RATIO_MAX" 'BEGIN { exit !(r <= max) }' ||
            fail "$name: budget $budget is $ratio x the measured peak overhead $measured (at most $RATIO_MAX x under KVM)"
    fi
    ok "$name ($accel): budget $((budget >> 20)) MiB = $ratio x the measured $((measured >> 20)) MiB"
done
assert_no_scopes "after the matrix"
finish
