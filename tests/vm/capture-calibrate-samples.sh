#!/bin/bash
# capture-calibrate-samples.sh OUT-DIR NAME [QEMU-ARGS...]: records what `vmmem calibrate` reads,
# as raw text, from a real qemu inside the test VM, for the unit tests of libvmmem/calibrate.c
# (tests/unit/data/calibrate/).  Runs as root INSIDE the test VM only: it makes its own cgroup
# /capture-NAME, starts qemu-system-x86_64 QEMU-ARGS in it and, every $CAPTURE_INTERVAL_S
# (default 0.5) seconds until qemu exits, copies into OUT-DIR/NAME/sample-NNN/:
#   t_ms            milliseconds since qemu started
#   memory.current  memory.stat.0 (before the smaps)  cgroup.procs  smaps.PID...  memory.stat.1
# and at the end memory.peak, memory.events, memory.max, qemu's argv (argv, one per line), its
# pid (qemu.pid) and exit status (status).  KVM: loads kvm_amd (or kvm_intel) first.
set -euo pipefail

[[ "${VMMEM_VM:-0}" == 1 ]] || { echo "refusing to run outside the test VM" >&2; exit 99; }
out=$1 name=$2
shift 2
interval=${CAPTURE_INTERVAL_S:-0.5}
cg=/sys/fs/cgroup/capture-$name
dir=$out/$name

modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null || true
mkdir -p "$dir"
grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir "$cg"
printf '%s\n' "$@" >"$dir/argv"
# shellcheck disable=SC2016 # $$ is the inner shell's
sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg" qemu-system-x86_64 "$@" \
    </dev/null >"$dir/qemu.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/qemu.pid"
t0=$(date +%s%N)
n=0
while kill -0 "$pid" 2>/dev/null; do
    s=$(printf '%s/sample-%03d' "$dir" "$n")
    mkdir "$s"
    echo $((($(date +%s%N) - t0) / 1000000)) >"$s/t_ms"
    cat "$cg/memory.current" >"$s/memory.current"
    cat "$cg/memory.stat" >"$s/memory.stat.0"
    cat "$cg/cgroup.procs" >"$s/cgroup.procs"
    while read -r p; do
        cat "/proc/$p/smaps" >"$s/smaps.$p" 2>/dev/null || true
    done <"$s/cgroup.procs"
    cat "$cg/memory.stat" >"$s/memory.stat.1"
    n=$((n + 1))
    sleep "$interval"
done
set +e
wait "$pid"
echo $? >"$dir/status"
set -e
for f in memory.peak memory.events memory.max; do cat "$cg/$f" >"$dir/$f"; done
rmdir "$cg"
echo "capture: $name: $n samples, qemu exit $(cat "$dir/status"), memory.peak $(cat "$dir/memory.peak")"
