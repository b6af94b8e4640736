#!/bin/bash
# QEMU as the parser's oracle: the guest RAM vmmem finds in a corpus of command lines (plain
# -m, slots and dimms, nvdimms, an unused backend, NUMA, libvirt's JSON objects, memfd, virtio-mem,
# hugetlbfs) against what the real qemu, started stopped, reports over QMP (tests/vm/qmp-oracle.py).
. "$(dirname "$0")/lib.sh"
require_kvm

mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs hugetlbfs /dev/hugepages
echo 256 >/proc/sys/vm/nr_hugepages
[[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 192 ]] || fail "could not reserve huge pages"
ok "hugetlbfs at /dev/hugepages with $(cat /proc/sys/vm/nr_hugepages) huge pages"

src="${VMMEM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
out=$("$src/tests/vm/qmp-oracle.py" "$VMMEM" "$src/tests/vm/qmp-oracle.corpus" 2>&1) || {
    echo "$out"
    fail "vmmem and qemu disagree on guest RAM"
}
while read -r line; do echo "# $line"; done <<<"$out"
n=$(grep -c '^ok ' <<<"$out")
[[ $n -ge 16 ]] || fail "the oracle ran $n command lines"
ok "qemu agrees with vmmem on the guest RAM of $n command lines, byte for byte"
finish
