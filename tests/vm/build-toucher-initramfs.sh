#!/bin/bash
# build-toucher-initramfs.sh OUTFILE [TOUCHER_C]
#
# Builds the initramfs of the nested test guest: a gzip cpio holding /init, the static toucher
# program (tests/vm/toucher.c), and the kernel modules its device phases need, from the kernel
# the test VM boots (common.sh vm_kernel_version; nested guests boot the same one), listed in
# /modules.list as "GROUP MODULE..." lines in load order.  Needs gcc with static glibc
# (libc6-dev), cpio, gzip, linux-image-amd64.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 OUTFILE [TOUCHER_C]" >&2
    exit 2
fi
out="$1"
src="${2:-$here/toucher.c}"
cc="${CC:-gcc}"
for tool in "$cc" cpio gzip; do
    command -v "$tool" >/dev/null || { echo "build-toucher-initramfs: $tool not found" >&2; exit 1; }
done
kver="$(vm_kernel_version)"
moddir="/lib/modules/$kver"

# What the toucher loads for each option (toucher.c): "disk" for toucher.disk_mb, "net" for
# toucher.net_mb, and for toucher.fb_frames the group "fb-VENDOR:DEVICE" of the PCI display
# device present: std VGA and bochs-display, virtio-gpu and virtio-vga, qxl, cirrus.
groups=(
    "disk virtio_pci virtio_blk virtio_scsi sd_mod"
    "net virtio_pci virtio_net"
    "fb-1234:1111 bochs"
    "fb-1af4:1050 virtio_pci virtio_gpu"
    "fb-1b36:0100 qxl"
    "fb-1013:00b8 cirrus"
)

stamp="$("$cc" -dumpfullversion 2>/dev/null || true) $kver $(stat -c '%s %Y' "$moddir/modules.dep") $(
    cat "$0" "$src" "$here/common.sh" | sha256sum | cut -c1-16)"
if [[ -s "$out" && -f "$out.stamp" && "$(cat "$out.stamp")" == "$stamp" ]]; then
    exit 0
fi

vm_moddep_read "$moddir"
lines=()
declare -A want=()
for g in "${groups[@]}"; do
    read -r group top <<<"$g"
    # shellcheck disable=SC2086 # top is a list of module names
    mods="$(vm_modules_order $top)" || exit 1
    lines+=("$group ${mods//$'\n'/ }")
    for m in $mods; do want["$m"]=1; done
done

work="$(mktemp -d "${TMPDIR:-/tmp}/vmmem-toucher.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
mkdir -p "$work/root/lib/modules"
"$cc" -static -O2 -Wall -Wextra -o "$work/root/init" "$src" ||
    { echo "build-toucher-initramfs: static build of $src failed (need libc6-dev)" >&2; exit 1; }
strip "$work/root/init" 2>/dev/null || true
printf '%s\n' "${lines[@]}" >"$work/root/modules.list"
for m in "${!want[@]}"; do
    vm_module_copy "$m" "$work/root/lib/modules/$m.ko"
done
find "$work/root" -exec touch -h -d @0 {} +
tmp_out="$out.tmp.$$"
(cd "$work/root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
    gzip -9 -n >"$tmp_out"
mv -f "$tmp_out" "$out"
printf '%s\n' "$stamp" >"$out.stamp"
