#!/bin/bash
# The harness from a checkout where the VM mounts tmpfs: a newcomer who clones into /var/tmp
# (or /tmp) gets VM tests that find their scripts.  A copy of the harness and a probe script go
# to /var/tmp; the probe, run in the VM, must see its own folder, the source tree and the build
# tree.  Without them bound back, the VM cannot even start the probe (exit 127).
#   test-checkout-in-tmp.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?usage: test-checkout-in-tmp.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: test-checkout-in-tmp.sh SOURCE_DIR BUILD_DIR}
work=$(mktemp -d /var/tmp/vmmem-checkout.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/tests" "$work/build/tests/vm"
cp -a "$src/tests/vm" "$work/src/tests/"
cp "$build/tests/vm/vmlinux" "$build/tests/vm/vm-initramfs.cpio.gz" "$work/build/tests/vm/"
cat >"$work/src/tests/probe.sh" <<'PROBE'
#!/bin/bash
[[ -r "$VMMEM_SOURCE_DIR/tests/vm/vm-run.sh" ]] || { echo "no source tree at $VMMEM_SOURCE_DIR"; exit 1; }
[[ -r "$VMMEM_BUILD_DIR/tests/vm/vmlinux" ]] || { echo "no build tree at $VMMEM_BUILD_DIR"; exit 1; }
[[ -w /sys/fs/cgroup/cgroup.subtree_control ]] || { echo "not the test VM"; exit 1; }
echo "probe: ran in the VM from $0"
PROBE
chmod +x "$work/src/tests/probe.sh"
cd "$work/build"
out=$(VMMEM_SOURCE_DIR="$work/src" VMMEM_BUILD_DIR="$work/build" \
    "$work/src/tests/vm/vm-run.sh" --kernel tests/vm/vmlinux --initrd tests/vm/vm-initramfs.cpio.gz \
    --mem 512 --timeout 120 -- "$work/src/tests/probe.sh" 2>&1) || {
    echo "not ok 1 - a checkout under /var/tmp: the VM run failed: $out"
    echo "1..1"
    exit 1
}
grep -q "^probe: ran in the VM from $work/src/tests/probe.sh" <<<"$out" || {
    echo "not ok 1 - a checkout under /var/tmp: expected the probe's line, got: $out"
    echo "1..1"
    exit 1
}
echo "ok 1 - a checkout under /var/tmp: the VM runs its scripts and sees its source and build trees"
echo "1..1"
