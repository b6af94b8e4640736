#!/bin/bash
# Builds examples/mini-manager.c against an installed libvmmem, through its pkg-config file
# only (proves the public header is self-contained and the .pc is right), then runs it in
# --dry-run mode, which touches no cgroup.
#   build-against-installed.sh ROOT
# ROOT: where it was installed to: / for a real install, or the DESTDIR of a staged one
# (`meson install --destdir ROOT`), whose paths pkg-config then reads below ROOT.
set -euo pipefail
root=${1:?usage: build-against-installed.sh ROOT}
here=$(cd "$(dirname "$0")" && pwd)
pcdir=$(dirname "$(find "${root%/}/usr" -path '*/pkgconfig/vmmem.pc' 2>/dev/null | head -n 1)")
[[ -n $pcdir && -f $pcdir/vmmem.pc ]] || { echo "no vmmem.pc under $root" >&2; exit 1; }
export PKG_CONFIG_PATH=$pcdir
[[ "$root" == / ]] || export PKG_CONFIG_SYSROOT_DIR=$root
libdir=$(pkg-config --variable=libdir vmmem)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o "$out/mini-manager" "$here/mini-manager.c" \
    $(pkg-config --cflags --libs vmmem)
LD_LIBRARY_PATH=$libdir VMMEM_CONFIG=/dev/null "$out/mini-manager" --dry-run \
    -name guest=example -m 1G -smp 2 -accel tcg,tb-size=64 -vnc :0 | tee "$out/log"
grep -q "scope /vmmem.slice/vmmem-example.scope" "$out/log"
