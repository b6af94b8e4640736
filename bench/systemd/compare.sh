#!/bin/bash
# Inside the test VM under systemd: the time from start to exit of N launches of a "qemu" that
# exits at once (bench/stub-qemu.c), in the same envelope two ways: vmmem-qemu through the
# systemd backend (StartTransientUnit over systemd's private socket, the job waited for, the
# limits read back, exec), and `systemd-run --scope -p MemoryMax= -p MemoryHigh=` (a client
# that starts the same kind of unit and waits on the same job).  Each launch has a unit name of
# its own, as VMs do.  Prints the median and the ratio.
#   bench/systemd/compare.sh BUILD N
set -euo pipefail
build=$1
n=$2
stub=$build/bench/stub-qemu
conf=$(mktemp /tmp/vmmem-bench.XXXXXX)
fsconf=$(mktemp /tmp/vmmem-bench.XXXXXX)
printf '[vmmem]\nqemu = %s\nbackend = systemd\nadmission = off\nhigh = on\n' "$stub" >"$conf"
printf '[vmmem]\nqemu = %s\nbackend = cgroupfs\nadmission = off\nhigh = on\n' "$stub" >"$fsconf"
export VMMEM_CONFIG=$conf
json=$("$build/launcher/vmmem" explain --json -- -name guest=bench -m 256 -nodefaults -display none)
max=$(jq -r .memory_max <<<"$json")
high=$(jq -r .memory_high <<<"$json")

# One launch's wall time in microseconds.
usec() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || {
        echo "compare.sh: failed: $*" >&2
        exit 1
    }
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

vm=() sr=() fs=() bare=()
for i in $(seq 1 "$n"); do
    # Interleaved, so that a slow stretch of the emulated machine hits all alike.
    vm+=("$(usec "$build/launcher/vmmem-qemu" -name "guest=bench$i" -m 256 -nodefaults -display none)")
    sr+=("$(usec systemd-run --quiet --scope --unit "bench-sr$i" -p MemoryMax="$max" -p MemoryHigh="$high" "$stub")")
    fs+=("$(usec env VMMEM_CONFIG="$fsconf" "$build/launcher/vmmem-qemu" -name "guest=benchfs$i" -m 256 -nodefaults -display none)")
    bare+=("$(usec "$stub")")
done
m_vm=$(printf '%s\n' "${vm[@]}" | median)
m_sr=$(printf '%s\n' "${sr[@]}" | median)
m_fs=$(printf '%s\n' "${fs[@]}" | median)
m_bare=$(printf '%s\n' "${bare[@]}" | median)
echo "systemd backend, $n launches of a stub qemu in MemoryMax=$max MemoryHigh=$high:"
awk -v a="$m_vm" -v b="$m_sr" -v f="$m_fs" -v z="$m_bare" 'BEGIN {
    printf "  vmmem-qemu, systemd backend (StartTransientUnit, job, leaf, read-back, exec): median %.1f ms\n", a / 1000
    printf "  systemd-run --scope -p MemoryMax -p MemoryHigh:                            median %.1f ms\n", b / 1000
    printf "  ratio vmmem-qemu / systemd-run: %.2f (%s)\n", a / b, a < b ? "faster" : "slower"
    printf "  for the split: vmmem-qemu, cgroupfs backend (plan from argv, mkdir, writes): median %.1f ms\n", f / 1000
    printf "                 the stub alone (exec and exit):                                median %.1f ms\n", z / 1000
    printf "  so the systemd backend itself costs %.1f ms, systemd-run %.1f ms beyond the stub\n", (a - f) / 1000, (b - z) / 1000 }'
left=$(systemctl list-units --all --plain --no-legend 'vmmem-bench*' 'bench-sr*' | wc -l)
rm -f "$conf" "$fsconf"
echo "  units left loaded after the runs: $left"
