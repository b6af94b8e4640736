#!/bin/bash
# The systemd backend against systemd-run (docs/benchmarks.md): bench/systemd/compare.sh in the
# test VM, booted with systemd 252 as PID 1.
#   bench/systemd/run.sh BUILD [N]
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
exec "$src/tests/vm/vm-run.sh" --systemd --mem 2048 --timeout 900 \
    --kernel "$build/tests/vm/vmlinux" --initrd "$build/tests/vm/vm-initramfs.cpio.gz" \
    -- "$src/bench/systemd/compare.sh" "$build" "${2:-40}"
