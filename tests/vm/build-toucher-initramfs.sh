#!/bin/bash
# build-toucher-initramfs.sh OUTFILE [TOUCHER_C]
#
# Builds the initramfs of the nested test guest: a gzip cpio holding only /init, the static
# toucher program (tests/vm/toucher.c).  Needs gcc with static glibc (libc6-dev), cpio, gzip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
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

stamp="$("$cc" -dumpfullversion 2>/dev/null || true) $(cat "$0" "$src" | sha256sum | cut -c1-16)"
if [[ -s "$out" && -f "$out.stamp" && "$(cat "$out.stamp")" == "$stamp" ]]; then
    exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/vmmem-toucher.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
mkdir -p "$work/root"
"$cc" -static -O2 -Wall -Wextra -o "$work/root/init" "$src" ||
    { echo "build-toucher-initramfs: static build of $src failed (need libc6-dev)" >&2; exit 1; }
strip "$work/root/init" 2>/dev/null || true
touch -h -d @0 "$work/root/init" "$work/root"
tmp_out="$out.tmp.$$"
(cd "$work/root" && printf 'init\0' |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
    gzip -9 -n >"$tmp_out"
mv -f "$tmp_out" "$out"
printf '%s\n' "$stamp" >"$out.stamp"
