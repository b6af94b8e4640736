#!/bin/bash
# extract-vmlinux.sh OUTFILE
#
# Writes the uncompressed ELF vmlinux of the kernel the test VM boots (see common.sh), for a
# fast PVH boot with qemu -kernel (needs xz-utils for Debian's xz-compressed kernels; without
# it, OUTFILE is a copy of the compressed kernel, which boots too, only slower).  Idempotent: does nothing when OUTFILE is already the
# payload of the current kernel (a sidecar OUTFILE.stamp records which).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

[[ $# -eq 1 ]] || { echo "usage: $0 OUTFILE" >&2; exit 2; }
out="$1"
kver="$(vm_kernel_version)"
bz="/boot/vmlinuz-$kver"
stamp="$kver $(stat -c '%s %Y' "$bz")"
if [[ -s "$out" && -f "$out.stamp" && "$(cat "$out.stamp")" == "$stamp" ]]; then
    exit 0
fi
if ! vm_extract_vmlinux "$bz" "$out"; then
    # Still give the caller a bootable kernel: the bzImage itself (slower to boot under TCG).
    echo "extract-vmlinux: warning: no xz/zstd/gzip ELF payload found in $bz (xz-utils installed?);" \
        "using the compressed kernel as is" >&2
    cp -f "$bz" "$out.tmp.$$"
    mv -f "$out.tmp.$$" "$out"
    stamp="$stamp compressed"
fi
printf '%s\n' "$stamp" >"$out.stamp"
