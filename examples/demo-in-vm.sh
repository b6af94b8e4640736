#!/bin/bash
# Inside the test VM (examples/demo.sh): one KVM VM launched through vmmem, with a VNC viewer
# attached while the guest draws, shown.
. "$(dirname "$0")/../tests/integration/lib.sh"

require_kvm
TOUCHER_ACCEL=kvm TOUCHER_CODE_KB=0 TOUCHER_EXTRA="toucher.fb_frames=150" toucher_args demo 512 2
vm=("${TOUCHER[@]}" -vga std -vnc 127.0.0.1:1)

echo
echo "### vmmem explain -- <a 512 MiB, 2 vCPU KVM guest with VGA and VNC>"
"$VMMEM" explain -- "${vm[@]}"

echo
echo "### vmmem-qemu, as libvirt or a lab user would start qemu (same argv, same pid)"
"$VMMEM_QEMU" "${vm[@]}" &
pid=$!
wait_exec "$pid"
/usr/bin/python3 "$(dirname "$0")/../tests/vm/display-client.py" --vnc 127.0.0.1:5901 \
    >/tmp/demo-viewer.log 2>&1 &
scope=vmmem.slice/vmmem-demo.scope
echo "pid $pid now runs $(readlink "/proc/$pid/exe"), argv as given: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-80)..."
echo "its cgroup:  $(cat "/proc/$pid/cgroup")"
for f in memory.max memory.high memory.swap.max memory.oom.group; do
    printf '  %-17s %s\n' "$f" "$(cat "$CG/$scope/$f")"
done
echo "the guest redraws its screen for a VNC viewer, then touches all of its RAM ..."
wait "$pid" || true
wait || true
grep -a -E 'toucher: (display|touched)' /tmp/demo.console | sed 's/^/guest console: /' ||
    echo "guest console: (no report)"
echo "viewer: $(tail -n 1 /tmp/demo-viewer.log)"
peak=$(cat "$CG/$scope/memory.peak")
max=$(cat "$CG/$scope/memory.max")
echo "memory.peak $((peak >> 20)) MiB of memory.max $((max >> 20)) MiB (page cache of qemu's files is reclaimed at the limit: memory.events max $(awk '$1=="max"{print $2}' "$CG/$scope/memory.events")); OOM kills: $(awk '$1=="oom_kill"{print $2}' "$CG/$scope/memory.events")"
"$VMMEM" gc
