#!/bin/bash
# in-vm.sh --build DIR ARGS... : inside the test VM (matrix.py boots it with --scratch), mounts
# the scratch disk where run-config.py keeps the guests' disk images, then runs run-config.py
# with ARGS.  Needs /dev/kvm for KVM configurations (the test VM loads it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ ${1:-} == --build && -n ${2:-} ]] || { echo "usage: in-vm.sh --build DIR ARGS..." >&2; exit 2; }
export VMMEM_BUILD_DIR=$2
# shellcheck source=../../tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"
require_kvm
scratch_mount /var/lib/vmmem-bench
exec /usr/bin/python3 "$here/run-config.py" "$@"
