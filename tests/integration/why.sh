#!/bin/bash
# `vmmem why` on real kernel OOM reports (/dev/kmsg of the test VM, Linux 6.1): an undersized
# envelope (a 256 MiB KVM guest whose budget overhead-max = 1M caps) and a foreign process in a
# VM's envelope (the seeds' memhold test: a process moved into the VM's cgroup takes memory).
# Then bad input: a hostile or truncated log, a VM with no envelope and no kill, status while
# VMs exit under it.  (tests/unit/data/oom/dmesg-6.1.txt is these two kills' dmesg.)
. "$(dirname "$0")/lib.sh"
require_kvm

# 1. Undersized: the prealloc of the guest RAM alone exceeds guest RAM + 1 MiB.
printf '[vmmem]\noverhead-max = 1M\n' >/tmp/und.conf
read -r -a args <<<"$(idle_qemu_args und 256)"
VMMEM_CONFIG=/tmp/und.conf "$VMMEM_QEMU" "${args[@]}" 2>/dev/null &
pid_und=$!
wait "$pid_und" 2>/dev/null || true
assert_eq 1 "$(awk '$1 == "oom_kill" {print ($2 > 0)}' "$CG/vmmem.slice/vmmem-und.scope/memory.events")" "und: OOM-killed"
out=$(VMMEM_CONFIG=/tmp/und.conf "$VMMEM" why und) || fail "vmmem why und failed: $out"
echo "$out" | sed 's/^/# /'
assert_contains "$out" "und: the kernel OOM-killed qemu-system-x86 (pid $pid_und) in /vmmem.slice/vmmem-und.scope" "und: the killed process and its envelope"
assert_contains "$out" "  guest RAM        256 MiB resident (the guest has 256 MiB)" "und: the guest RAM part"
assert_contains "$out" "(its budget: 1 MiB)" "und: the overhead against its budget"
assert_contains "$out" "Cause: the overhead budget." "und: the cause"
assert_contains "$out" "overhead-max = 1 MiB caps the budget: raise or remove it." "und: the setting"
# By pid too, once the scope is gone: from the report alone.
"$VMMEM" gc >/dev/null
out=$("$VMMEM" why "$pid_und") || fail "vmmem why PID failed: $out"
assert_contains "$out" "the kernel OOM-killed qemu-system-x86 (pid $pid_und)" "und by pid, scope gone"
assert_contains "$out" "the envelope is gone" "und by pid: says what it no longer knows"

# 2. A foreign process: a normal envelope, and a process moved into it that takes 64 MiB.
read -r -a args <<<"$(idle_qemu_args frn 256)"
VMMEM_CONFIG=/dev/null "$VMMEM_QEMU" "${args[@]}" 2>/dev/null &
pid_frn=$!
wait_exec "$pid_frn"
wait_cgroup "$pid_frn" vmmem.slice/vmmem-frn.scope
for _ in $(seq 1 300); do
    (($(cg_read vmmem.slice/vmmem-frn.scope/memory.current) > 256 * 1048576)) && break
    sleep 0.1
done
(echo $BASHPID >"$CG/vmmem.slice/vmmem-frn.scope/cgroup.procs" &&
    exec python3 -c 'b = bytearray(64 << 20); b[::4096] = b"x" * len(b[::4096]); import time; time.sleep(60)') 2>/dev/null &
hog=$!
wait "$pid_frn" 2>/dev/null || true
wait "$hog" 2>/dev/null || true
out=$("$VMMEM" why frn) || fail "vmmem why frn failed: $out"
echo "$out" | sed 's/^/# /'
assert_contains "$out" "frn: the kernel OOM-killed" "frn: the kill"
assert_contains "$out" "Cause: a foreign process." "frn: the cause"
assert_contains "$out" "python3 (pid $hog)" "frn: names the foreign process"
assert_contains "$out" "memory.oom.group killed the whole envelope" "frn: the group kill"

# 3. Bad input: one line each, no crash.
head -c 3000 /dev/urandom >/tmp/junk.log
printf 'x invoked oom-killer: \nmemory: usage 99999999999999999999kB, limit 1kB\n[ -1] a\noom-kill:oom_memcg=/vmmem.slice/vmmem-frn.scope\n' >>/tmp/junk.log
for log in /tmp/junk.log /dev/null; do
    out=$("$VMMEM" why frn --kmsg "$log" 2>&1) && fail "why with $log succeeded: $out"
    [[ "$(wc -l <<<"$out")" == 1 && "$out" == "vmmem: no OOM kill of 'frn' in that log"* ]] ||
        fail "why --kmsg $log: expected one line, got: $out"
    ok "why --kmsg $log: $out"
done
dmesg >/tmp/dmesg.txt
head -c "$(($(grep -b -o 'python3 invoked oom-killer' /tmp/dmesg.txt | tail -n 1 | cut -d: -f1) + 200))" /tmp/dmesg.txt >/tmp/cut.txt
out=$("$VMMEM" why "$pid_und" --kmsg /tmp/cut.txt) || fail "why from a log cut inside the second report failed: $out"
ok "a log cut inside a report: the whole one before it is still explained"
out=$("$VMMEM" why nosuch 2>&1) && fail "why nosuch succeeded"
assert_eq "vmmem: no OOM kill of 'nosuch' in the kernel log (/dev/kmsg), and no envelope of that name or pid" "$out" "why nosuch"
out=$("$VMMEM" why frn --kmsg /nonexistent 2>&1) && fail "why --kmsg /nonexistent succeeded"
[[ "$(wc -l <<<"$out")" == 1 ]] || fail "why --kmsg /nonexistent: $out"
ok "why --kmsg /nonexistent: $out"

# status while VMs come and go under it: every call succeeds or says one line.
read -r -a args <<<"$(idle_qemu_args churn 64)"
for i in $(seq 1 6); do
    VMMEM_CONFIG=/dev/null "$VMMEM_QEMU" "${args[@]}" 2>/dev/null &
    p=$!
    for _ in 1 2 3; do
        out=$("$VMMEM" status --json 2>&1) || [[ "$(wc -l <<<"$out")" == 1 ]] || fail "status during churn: $out"
    done
    kill -9 "$p"
    "$VMMEM" status >/dev/null 2>&1 || true
    wait "$p" 2>/dev/null || true
done
ok "status while VMs start and exit: no crash"
"$VMMEM" gc >/dev/null
assert_no_scopes "why"
finish
