#!/bin/bash
# Instructions vmmem-qemu executes in user space for one libvirt-shaped launch (dynamic loading,
# config, parse, model, plan, dry-run backend), against a stub qemu's own start-up, counted by
# callgrind: repeatable whatever else the machine is doing, unlike wall time.
#   count-instructions.sh VMMEM_QEMU STUB_QEMU
set -euo pipefail
launcher=${1:?usage: count-instructions.sh VMMEM_QEMU STUB_QEMU}
stub=${2:?usage: count-instructions.sh VMMEM_QEMU STUB_QEMU}
command -v valgrind >/dev/null || { echo "count-instructions: valgrind is not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# exec must fail for callgrind to write its profile: a file that is not executable.
install -m 0644 /dev/null "$tmp/qemu"
# The launcher exits 127 (exec failed): expected, only the count matters.
count() { { valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$@" 2>&1 >/dev/null || true; } | sed -n 's/.*Collected : //p'; }
l=$(VMMEM_DRY_RUN=1 VMMEM_QUIET=1 VMMEM_CONFIG=/dev/null VMMEM_QEMU="$tmp/qemu" count "$launcher" \
    -name guest=bench,debug-threads=on -S -machine pc-q35-7.2,usb=off,memory-backend=pc.ram \
    -accel tcg -m 1024 -object '{"qom-type":"memory-backend-ram","id":"pc.ram","size":1073741824}' \
    -smp 2,sockets=2,cores=1,threads=1 -display none -nodefaults -vnc 127.0.0.1:0 \
    -device '{"driver":"VGA","id":"video0"}')
s=$(count "$stub")
echo "vmmem-qemu user-space instructions per launch: $l (stub qemu alone: $s; added: $((l - s)))"
echo "at 1 instruction per ns (a conservative 1 GHz x IPC 1): $(( (l - s) / 1000 )) us added"
