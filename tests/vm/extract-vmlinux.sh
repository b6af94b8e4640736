#!/bin/bash
# extract-vmlinux.sh OUTFILE
#
# Writes the uncompressed ELF vmlinux of the kernel the test VM boots (see common.sh), for a
# fast PVH boot with qemu -kernel.  Idempotent: does nothing when OUTFILE is already the
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
    echo "extract-vmlinux: no xz/zstd/gzip ELF payload found in $bz" >&2
    exit 1
fi
printf '%s\n' "$stamp" >"$out.stamp"
