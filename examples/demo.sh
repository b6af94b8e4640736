#!/bin/bash
# The main job, end to end on a fresh Debian 12 machine (as root): installs what is missing,
# builds vmmem, boots the real-kernel test VM (cgroup v2, real qemu; the machine's own cgroups
# are never touched) and, inside it, launches a VM in a correctly sized envelope and shows it:
# the breakdown, the cgroup files the kernel enforces, and the VM's peak usage against its limit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
    echo "demo: run as root (it installs packages and boots the test VM)" >&2
    exit 2
fi
tests/install-deps.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
meson compile -C build >/dev/null
echo "demo: booting the test VM (QEMU TCG, ~5 s) ..."
exec tests/vm/vm-run.sh --kernel build/tests/vm/vmlinux --initrd build/tests/vm/vm-initramfs.cpio.gz \
    --mem 4096 --timeout 900 \
    --env VMMEM_BUILD_DIR="$PWD/build" \
    --env VMMEM_TOUCHER_INITRD="$PWD/build/tests/vm/toucher-initramfs.cpio.gz" \
    -- examples/demo-in-vm.sh
