#!/bin/bash
# Elastic overhead (vmmemd(8), config elastic-*): a VM whose envelope's usage keeps growing past
# its memory.high does not get through without it (the kernel OOM-kills it at memory.max, or it
# stalls, thrashing in reclaim: not done in 30 s, 3x the 10 s the growth takes unlimited, the
# matrix's stall rule), and does, alive, with it, vmmemd raising
# memory.high and memory.max from the host's pool in steps (one log line each) and taking the
# grant back when the VM ends.  The growth is a process in the VM's envelope that takes 48 MiB
# in 1 MiB steps, standing in for qemu's own overhead growing (a guest that drives qemu's
# memory up that fast, reproducibly, would be a test of its own).  memory.high is 0.98 of
# memory.max: close enough that the growth reaches memory.max (an OOM kill) rather than stalling
# for minutes in memory.high's throttling, as it does with a lower one.
. "$(dirname "$0")/lib.sh"
require_kvm

VMMEMD=${VMMEMD:-$BUILD/launcher/vmmemd}
LOG=/tmp/vmmemd.log
printf '[vmmem]\nhigh = 0.98\n' >/tmp/vm.conf

start_vmmemd() { # CONFIG
    "$VMMEMD" --socket /tmp/vmmemd.sock --config "$1" >>"$LOG" 2>&1 </dev/null &
    VMMEMD_PID=$!
    for _ in $(seq 1 100); do [[ -S /tmp/vmmemd.sock ]] && return 0; sleep 0.05; done
    fail "vmmemd did not start: $(cat "$LOG")"
}
stop_vmmemd() { kill "$VMMEMD_PID"; wait "$VMMEMD_PID" 2>/dev/null || true; rm -f /tmp/vmmemd.sock; }

run_growing_vm() { # NAME: launch, grow the envelope by 48 MiB, report
    local name=$1 pid scope=vmmem.slice/vmmem-$1.scope args
    read -r -a args <<<"$(idle_qemu_args "$name" 128)"
    VMMEM_CONFIG=/tmp/vm.conf "$VMMEM_QEMU" "${args[@]}" 2>/dev/null &
    pid=$!
    wait_exec "$pid"
    wait_cgroup "$pid" "$scope"
    for _ in $(seq 1 300); do
        (($(cg_read "$scope/memory.current") > 128 * 1048576)) && break
        sleep 0.1
    done
    # As planned: vmmemd may have granted some already while the guest RAM was preallocated.
    MAX0=$(VMMEM_CONFIG=/tmp/vm.conf "$VMMEM" explain --json -- "${args[@]}" | jq -r .memory_max)
    (echo $BASHPID >"$CG/$scope/cgroup.procs" &&
        exec timeout 30 python3 -c '
import time
held = []
for i in range(48):
    b = bytearray(1 << 20)
    b[::4096] = b"x" * len(b[::4096])
    held.append(b)
    time.sleep(0.2)
time.sleep(1)') 2>/dev/null && GREW=1 || GREW=0
    sleep 0.5
    if kill -0 "$pid" 2>/dev/null; then ALIVE=1; else ALIVE=0; fi
    # An OOM-killed VM's scope may be gone already: vmmemd removes it at once.
    OOM=$(awk '$1 == "oom_kill" {print $2}' "$CG/$scope/memory.events" 2>/dev/null || echo gone)
    MAX1=$(cg_read "$scope/memory.max" 2>/dev/null || echo 0)
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Without elastic overhead: killed.
: >/tmp/plain.conf
start_vmmemd /tmp/plain.conf
run_growing_vm plain
stop_vmmemd
((GREW == 0)) || fail "without elastic overhead: expected an OOM kill or a stall, the growth completed (oom_kill $OOM, alive $ALIVE)"
if [[ "$OOM" == gone ]] || ((OOM > 0)); then
    ok "without elastic overhead: OOM-killed at memory.max $MAX0 (oom_kill $OOM)"
else
    ok "without elastic overhead: stalled at memory.max $MAX0 (not done in 30 s, thrashing in reclaim)"
fi
"$VMMEM" gc >/dev/null

# With it: alive, its limits raised from the pool, the grant returned at its end.
printf '[vmmem]\nelastic-pool = 256M\nelastic-step = 16M\nelastic-ceiling = 128M\n' >/tmp/elastic.conf
start_vmmemd /tmp/elastic.conf
run_growing_vm grown
[[ "$GREW $ALIVE $OOM" == "1 1 0" ]] || fail "with elastic overhead: expected the VM alive, got grew $GREW, alive $ALIVE, oom_kill $OOM; $(grep elastic "$LOG" | tr '\n' '|')"
((MAX1 > MAX0)) || fail "memory.max not raised ($MAX0 -> $MAX1)"
ok "with elastic overhead: alive, memory.max $MAX0 -> $MAX1, oom_kill 0"
grep 'vmmemd: grown: elastic: +' "$LOG" | sed 's/^/# /'
n=$(grep -c 'vmmemd: grown: elastic: +16 MiB' "$LOG")
assert_eq "$(( (MAX1 - MAX0) / (16 * 1048576) ))" "$n" "one log line per grant"
for _ in $(seq 1 20); do grep -q 'vmmemd: grown: elastic: .* back to the pool' "$LOG" && break; sleep 0.1; done
assert_contains "$(cat "$LOG")" "vmmemd: grown: elastic: $(((MAX1 - MAX0) / 1048576)) MiB back to the pool, which has 256 MiB free" "the grant returned when the VM ended"
stop_vmmemd

# Bad values: one line each.
for bad in 'elastic-step = 1' 'elastic-pool = lots'; do
    printf '[vmmem]\n%s\n' "$bad" >/tmp/bad.conf
    out=$("$VMMEMD" --socket /tmp/x.sock --config /tmp/bad.conf 2>&1) && fail "'$bad' accepted"
    [[ "$(wc -l <<<"$out")" == 1 ]] || fail "'$bad': expected one line: $out"
    ok "'$bad': $out"
done
"$VMMEM" gc >/dev/null
assert_no_scopes "elastic"
finish
