#!/bin/bash
# Inside the test VM (examples/demo.sh): one VM launched through vmmem, shown.
. "$(dirname "$0")/../tests/integration/lib.sh"

toucher_args demo 256 2
vm=("${TOUCHER[@]}" -vga std -vnc 127.0.0.1:1)

echo
echo "### vmmem explain -- <a 256 MiB, 2 vCPU TCG guest with VGA and VNC>"
"$VMMEM" explain -- "${vm[@]}"

echo
echo "### vmmem-qemu, as libvirt or a lab user would start qemu (same argv, same pid)"
"$VMMEM_QEMU" "${vm[@]}" &
pid=$!
wait_exec "$pid"
scope=vmmem.slice/vmmem-demo.scope
echo "qemu pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-100)..."
echo "its cgroup:  $(cat "/proc/$pid/cgroup")"
for f in memory.max memory.high memory.swap.max memory.oom.group; do
    printf '  %-17s %s\n' "$f" "$(cat "$CG/$scope/$f")"
done
echo "the guest boots and touches all of its RAM ..."
wait "$pid" || true
echo "guest console: $(grep -a 'toucher: touched' /tmp/demo.console || echo '(no report)')"
peak=$(cat "$CG/$scope/memory.peak")
max=$(cat "$CG/$scope/memory.max")
echo "memory.peak $((peak >> 20)) MiB of memory.max $((max >> 20)) MiB; OOM kills: $(awk '$1=="oom_kill"{print $2}' "$CG/$scope/memory.events")"
"$VMMEM" gc
