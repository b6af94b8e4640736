#!/bin/bash
# The harness's answer to a test VM that dies under its emulator: vm-run.sh boots the VM again,
# at most twice (VMMEM_VM_MAX_RETRIES), then fails with one line.  A real kernel panic (sysrq crash) stands in for the emulator
# fault seen in CI ("stack guard page was hit"); a marker on the shared results folder tells the
# first boot from the second, so the command panics once and then passes, or panics twice.
#   test-harness-retry.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?usage: test-harness-retry.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: test-harness-retry.sh SOURCE_DIR BUILD_DIR}
work=$(mktemp -d /var/tmp/vmmem-retry.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/out"
cat >"$work/panic-once.sh" <<'PROBE'
#!/bin/bash
# $1: "once" panics on the first boot only, "always" on every boot.
if [[ "$1" == always || ! -e "$VMMEM_VM_RESULTS/booted" ]]; then
    : >"$VMMEM_VM_RESULTS/booted"
    sync
    echo 1 >/proc/sys/kernel/sysrq
    echo c >/proc/sysrq-trigger
fi
echo "probe: second boot"
PROBE
chmod +x "$work/panic-once.sh"
n=0
vmrun() {
    "$src/tests/vm/vm-run.sh" --kernel "$build/tests/vm/vmlinux" \
        --initrd "$build/tests/vm/vm-initramfs.cpio.gz" --mem 512 --timeout 120 "$@" 2>&1
}
check() {
    n=$((n + 1))
    if grep -qE -- "$2" <<<"$3"; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1: expected /$2/, got:"
        printf "%s\n" "$3" | sed "s/^/# /"
        failed=1
    fi
}
failed=0
unset VMMEM_VM_RUN_RETRIED VMMEM_VM_MAX_RETRIES

rc=0
out=$(vmrun --results "$work/out" -- "$work/panic-once.sh" once) || rc=$?
check "a panic on the first boot: one line says why, and the VM boots again" \
    "^vm-run: the test VM's kernel panicked \(sysrq triggered crash\); booting the VM again$" "$out"
check "the command then runs to the end and its status is the run's" "^probe: second boot$" "$out"
check "exit status 0" "^0$" "$rc"

rm -f "$work/out/booted"
rc=0
out=$(vmrun --results "$work/out" -- "$work/panic-once.sh" always) || rc=$?
check "a panic on both boots fails the run with one line" \
    "^vm-run: FAILED: the test VM's kernel panicked: Kernel panic - not syncing: sysrq triggered crash$" "$out"
check "exit status 99 (the harness's)" "^99$" "$rc"
check "booted three times, not more" "^2$" "$(grep -c 'booting the VM again' <<<"$out")"
echo "1..$n"
exit "$failed"
