#!/bin/bash
# build-initramfs.sh OUTFILE
#
# Builds the gzip cpio initramfs of the vmmem test VM: busybox-static with its applet links,
# the kernel modules the VM needs (virtio + 9p for the shared host root, zsmalloc + zram for
# swap tests, overlay; KVM, loaded when the CPU has it), tests/vm/init.sh as /init, and in /systemd-root the files init.sh lays
# over the host root when it boots systemd (vm-run.sh --systemd; tests/vm/systemd/).  The
# modules come from /lib/modules/<ver>/kernel of the kernel vm-run.sh boots (see common.sh), in
# modules.dep order.
# Needs: busybox-static, cpio, gzip, linux-image-amd64 (xz-utils/zstd only for compressed modules).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTFILE" >&2
    exit 2
fi
out="$1"

kver="$(vm_kernel_version)"
moddir="/lib/modules/$kver"

# Idempotent: nothing to do when OUTFILE was built from the same kernel and harness files.
generators=/lib/systemd/system-generators
stamp="$kver $(stat -c '%s %Y' "$moddir/modules.dep") $(
    { cat "$0" "$here/init.sh" "$here/common.sh" "$here"/systemd/*; ls "$generators" 2>/dev/null; } |
        sha256sum | cut -c1-16)"
if [[ -s "$out" && -f "$out.stamp" && "$(cat "$out.stamp")" == "$stamp" ]]; then
    exit 0
fi
busybox=/bin/busybox
applets="$("$busybox" --list 2>/dev/null || true)"
if ! grep -qx 'insmod' <<<"$applets"; then
    echo "build-initramfs: $busybox is missing or not a full busybox: apt-get install busybox-static" >&2
    exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
    echo "build-initramfs: $busybox is dynamically linked: apt-get install busybox-static" >&2
    exit 1
fi
for tool in cpio gzip; do
    command -v "$tool" >/dev/null || { echo "build-initramfs: $tool not found: apt-get install $tool" >&2; exit 1; }
done

# Wanted modules, in the order they are named; dependencies are pulled in from modules.dep.
wanted=(virtio_pci 9pnet_virtio 9p zsmalloc zram overlay)
# Optional modules: init.sh loads a line's modules only when /proc/cpuinfo has its flag (KVM
# for nested guests: the VM's -cpu max emulates AMD SVM), and records a failure instead of
# stopping.  One line each: "FLAG MODULE...", in load order.
optional=("svm kvm_amd" "vmx kvm_intel")

vm_moddep_read "$moddir"
order_txt="$(vm_modules_order "${wanted[@]}")" || exit 1
mapfile -t order <<<"$order_txt"
optional_lines=()
all_modules=("${order[@]}")
for o in "${optional[@]}"; do
    read -r flag top <<<"$o"
    mods="$(vm_modules_order "$top")" || exit 1
    optional_lines+=("$flag ${mods//$'\n'/ }")
    mapfile -t -O "${#all_modules[@]}" all_modules <<<"$mods"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/vmmem-initramfs.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,lib/modules,host,out,ro}

cp "$busybox" "$root/bin/busybox"
while IFS= read -r applet; do
    [[ "$applet" == bin/busybox ]] && continue
    ln -sf /bin/busybox "$root/$applet"
done < <("$busybox" --list-full)
ln -sf busybox "$root/bin/sh"

printf '%s\n' "${order[@]}" >"$root/modules.list"
printf '%s\n' "${optional_lines[@]}" >"$root/modules.optional"
for name in "${all_modules[@]}"; do
    [[ -e "$root/lib/modules/$name.ko" ]] || vm_module_copy "$name" "$root/lib/modules/$name.ko"
done
printf '%s\n' "$kver" >"$root/kver"
install -m 0755 "$here/init.sh" "$root/init"

# /systemd-root: copied over the overlay root by init.sh under vmmem.systemd=1.
sd="$root/systemd-root/etc"
mkdir -p "$sd/systemd/system" "$sd/systemd/system-generators" "$sd/vmmem-vm" "$sd/tmpfiles.d"
for f in "$here"/systemd/*.service "$here"/systemd/*.target; do
    install -m 0644 "$f" "$sd/systemd/system/"
done
install -m 0755 "$here/systemd/run-job" "$here/systemd/boot-failed" "$sd/vmmem-vm/"
install -m 0644 "$here/systemd/tmpfiles-tmp.conf" "$sd/tmpfiles.d/tmp.conf"
: >"$sd/fstab"
echo vmmem-test >"$sd/hostname"
while read -r unit; do
    [[ -n "$unit" && "$unit" != \#* ]] && ln -s /dev/null "$sd/systemd/system/$unit"
done <"$here/systemd/masked.list"
# Generators: each is one more program loaded over 9p before any unit starts, and none has
# anything to do in the VM (no fstab, disks, gettys or SysV services).  The debug generator
# stays: it implements systemd.mask= and systemd.wants= on the kernel command line.
for g in "$generators"/*; do
    [[ -e "$g" && "${g##*/}" != systemd-debug-generator ]] && ln -s /dev/null "$sd/systemd/system-generators/${g##*/}"
done

# Reproducible archive: fixed mtimes, sorted names, no gzip timestamp.
find "$root" -exec touch -h -d @0 {} +
tmp_out="$out.tmp.$$"
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
    gzip -9 -n >"$tmp_out"
mv -f "$tmp_out" "$out"
printf '%s\n' "$stamp" >"$out.stamp"
