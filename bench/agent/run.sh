#!/bin/bash
# The vmmemd benchmark (docs/benchmarks.md): bench/agent/agent.py in the test VM.
#   bench/agent/run.sh BUILD [N] [IDLE_S]
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
exec "$src/tests/vm/vm-run.sh" --mem 3072 --timeout 900 \
    --kernel "$build/tests/vm/vmlinux" --initrd "$build/tests/vm/vm-initramfs.cpio.gz" \
    -- "$src/bench/agent/agent.py" "$build" "${2:-1000}" "${3:-60}"
