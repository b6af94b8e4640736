#!/bin/bash
# `vmmem status` on the real kernel: two KVM guests launched by vmmem-qemu, and every figure
# status prints is the cgroup's own file, read back here (memory.max/high/current/peak,
# memory.swap.current, memory.events, memory.pressure, qemu's ksm_merging_pages), or what the
# envelope was planned from (`vmmem explain --json` of the same argv: guest RAM, overhead).
. "$(dirname "$0")/lib.sh"
require_kvm

declare -A PID
launch() { # NAME RAM_MIB [VAR=VALUE...]
    local name=$1 ram=$2
    shift 2
    local -a args
    read -r -a args <<<"$(idle_qemu_args "$name" "$ram")"
    env "$@" "$VMMEM" explain --json -- "${args[@]}" >"/tmp/$name.explain"
    env "$@" "$VMMEM_QEMU" "${args[@]}" &
    PID[$name]=$!
    wait_exec "${PID[$name]}"
    wait_cgroup "${PID[$name]}" "vmmem.slice/vmmem-$name.scope"
    # -mem-prealloc: every page of the guest RAM is resident once memory.current passes it.
    local i current
    for i in $(seq 1 300); do
        current=$(cg_read "vmmem.slice/vmmem-$name.scope/memory.current")
        ((current > ram * 1048576)) && return 0
        sleep 0.1
    done
    fail "$name: the guest RAM was not preallocated after 30 s"
}

launch st1 128 VMMEM_HIGH=0.9
launch st2 192

# The attributes status finds envelopes by, set by the launcher with the limits.
scope=vmmem.slice/vmmem-st1.scope
assert_eq "$(jq -r .guest_ram /tmp/st1.explain)" \
    "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.vmmem.guest_ram").decode())' "$CG/$scope")" \
    "st1: user.vmmem.guest_ram on the scope"

check_envelope() { # NAME JSON
    local name=$1 st=$2 scope="vmmem.slice/vmmem-$1.scope" e
    e=$(jq -c --arg n "$name" '.envelopes[] | select(.name == $n)' <<<"$st")
    [[ -n "$e" ]] || fail "$name: not in vmmem status: $st"
    assert_eq "$scope" "$(jq -r .path <<<"$e")" "$name: path"
    assert_eq scope "$(jq -r .kind <<<"$e")" "$name: kind"
    assert_eq "${PID[$name]}" "$(jq -r .qemu_pid <<<"$e")" "$name: qemu pid"
    assert_eq "$(jq -r .guest_ram "/tmp/$name.explain")" "$(jq -r .guest_ram <<<"$e")" "$name: guest RAM = explain"
    assert_eq "$(jq -r .overhead "/tmp/$name.explain")" "$(jq -r .overhead_budget <<<"$e")" "$name: overhead budget = explain"
    assert_eq "$(cg_read "$scope/memory.max")" "$(jq -r .memory_max <<<"$e")" "$name: memory.max = the file"
    assert_eq "$(cg_read "$scope/memory.high")" "$(jq -r '.memory_high // "max"' <<<"$e")" "$name: memory.high = the file"
    # memory.events and memory.peak only grow, and grow while status reads (memory.high
    # events as qemu settles): status's figure lies between the file's before and after it.
    local k got before after
    for k in low high max oom oom_kill oom_group_kill; do
        got=$(jq -r ".events.$k" <<<"$e")
        before=$(awk -v k=$k '$1 == k {print $2}' <<<"${EV_BEFORE[$name]}")
        after=$(awk -v k=$k '$1 == k {print $2}' <<<"${EV_AFTER[$name]}")
        [[ "$got" =~ ^[0-9]+$ ]] && ((before <= got && got <= after)) ||
            fail "$name: memory.events $k $got in status, the file read $before before and $after after"
        ok "$name: memory.events $k = the file ($before .. $after)"
    done
    # Usage moves while status reads (qemu settles, reclaim under memory.high): status's
    # figure lies between the file's before and after it, give or take 2 MiB.
    local swap cur lo hi
    cur=$(jq -r .memory_current <<<"$e")
    lo=$((CUR_BEFORE[$name] < CUR_AFTER[$name] ? CUR_BEFORE[$name] : CUR_AFTER[$name]))
    hi=$((CUR_BEFORE[$name] > CUR_AFTER[$name] ? CUR_BEFORE[$name] : CUR_AFTER[$name]))
    ((cur >= lo - 2097152 && cur <= hi + 2097152)) ||
        fail "$name: memory.current $cur in status, the file read ${CUR_BEFORE[$name]} before and ${CUR_AFTER[$name]} after"
    ok "$name: memory.current $cur, as the file says (${CUR_BEFORE[$name]} .. ${CUR_AFTER[$name]})"
    got=$(jq -r .memory_peak <<<"$e")
    [[ "$got" =~ ^[0-9]+$ ]] && ((PEAK_BEFORE[$name] <= got && got <= PEAK_AFTER[$name])) ||
        fail "$name: memory.peak $got in status, the file read ${PEAK_BEFORE[$name]} before and ${PEAK_AFTER[$name]} after"
    ok "$name: memory.peak = the file's (${PEAK_BEFORE[$name]} .. ${PEAK_AFTER[$name]})"
    swap=$(cg_read "$scope/memory.swap.current" 2>/dev/null || echo null)
    assert_eq "$swap" "$(jq -r .swap_current <<<"$e")" "$name: memory.swap.current = the file"
    # avg10 moves every 2 s: status's figure lies between the file's before and after it.
    if [[ -n "${PSI_BEFORE[$name]}" ]]; then
        local got
        got=$(jq -r .pressure_some_avg10 <<<"$e")
        python3 -c 'import sys; a, b, g = map(float, sys.argv[1:]); sys.exit(not (min(a, b) - 0.01 <= g <= max(a, b) + 0.01))' \
            "${PSI_BEFORE[$name]}" "${PSI_AFTER[$name]}" "$got" ||
            fail "$name: PSI some avg10 $got in status, the file read ${PSI_BEFORE[$name]} before and ${PSI_AFTER[$name]} after"
        ok "$name: PSI some avg10 $got, as memory.pressure says (${PSI_BEFORE[$name]} .. ${PSI_AFTER[$name]})"
    else
        assert_eq null "$(jq -r .pressure_some_avg10 <<<"$e")" "$name: no PSI in this kernel, none in status"
    fi
    assert_eq "$(cat "/proc/${PID[$name]}/ksm_merging_pages")" "$(jq -r .ksm_merging_pages <<<"$e")" \
        "$name: KSM pages = /proc/PID/ksm_merging_pages"
    # The resident guest RAM is the whole preallocated guest, found in qemu's smaps, and the
    # overhead in use is what memory.current holds beyond it.
    local ram resident used
    ram=$(jq -r .guest_ram <<<"$e")
    resident=$(jq -r .guest_resident <<<"$e")
    used=$(jq -r .overhead_used <<<"$e")
    ((resident > ram - 4194304 && resident <= ram)) ||
        fail "$name: resident guest RAM $resident, expected the whole $ram"
    assert_eq "$(($(jq -r .memory_current <<<"$e") - resident))" "$used" "$name: overhead used = memory.current - resident guest RAM"
    ((used > 0 && used < $(jq -r .overhead_budget <<<"$e"))) ||
        fail "$name: overhead used $used outside (0, budget)"
    ok "$name: $((resident / 1048576)) MiB of guest RAM resident, overhead $((used / 1048576)) MiB used of $(($(jq -r .overhead_budget <<<"$e") / 1048576)) MiB"
}

declare -A PSI_BEFORE PSI_AFTER
psi_some() { sed -n 's/^some avg10=\([0-9.]*\) .*/\1/p' "$CG/vmmem.slice/vmmem-$1.scope/memory.pressure" 2>/dev/null || true; }
declare -A CUR_BEFORE CUR_AFTER PEAK_BEFORE PEAK_AFTER EV_BEFORE EV_AFTER
for n in st1 st2; do
    PSI_BEFORE[$n]=$(psi_some $n)
    CUR_BEFORE[$n]=$(cg_read "vmmem.slice/vmmem-$n.scope/memory.current")
    PEAK_BEFORE[$n]=$(cg_read "vmmem.slice/vmmem-$n.scope/memory.peak")
    EV_BEFORE[$n]=$(cat "$CG/vmmem.slice/vmmem-$n.scope/memory.events")
done
st=$("$VMMEM" status --json) || fail "vmmem status --json failed"
for n in st1 st2; do
    PSI_AFTER[$n]=$(psi_some $n)
    CUR_AFTER[$n]=$(cg_read "vmmem.slice/vmmem-$n.scope/memory.current")
    PEAK_AFTER[$n]=$(cg_read "vmmem.slice/vmmem-$n.scope/memory.peak")
    EV_AFTER[$n]=$(cat "$CG/vmmem.slice/vmmem-$n.scope/memory.events")
done
echo "$st" | sed 's/^/# /' | head -40
assert_eq 2 "$(jq '.envelopes | length' <<<"$st")" "two envelopes on the host"
check_envelope st1 "$st"
check_envelope st2 "$st"
assert_eq "$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024))" "$(jq -r .host.mem_total <<<"$st")" "host: MemTotal"
assert_eq "$(($(cg_read vmmem.slice/vmmem-st1.scope/memory.max) + $(cg_read vmmem.slice/vmmem-st2.scope/memory.max)))" \
    "$(jq -r .host.memory_max_sum <<<"$st")" "host: the sum of memory.max"

# Read now, not remembered: with memory.high just under usage, a shell that allocates 4 MiB in
# the envelope makes the kernel count high events (and reclaim page cache, not kill).
cur=$(cg_read vmmem.slice/vmmem-st2.scope/memory.current)
echo $((cur - 1048576)) >"$CG/vmmem.slice/vmmem-st2.scope/memory.high"
before_high=$(awk '$1 == "high" {print $2}' "$CG/vmmem.slice/vmmem-st2.scope/memory.events")
(echo $BASHPID >"$CG/vmmem.slice/vmmem-st2.scope/cgroup.procs" &&
    v=$(head -c 4194304 /dev/zero | tr '\0' x) && echo "${#v}" >/dev/null) ||
    fail "could not allocate inside st2's envelope"
st=$("$VMMEM" status --json st2) || fail "vmmem status st2 failed"
assert_eq 1 "$(jq '.envelopes | length' <<<"$st")" "status st2: that envelope alone"
assert_eq $((cur - 1048576)) "$(jq -r '.envelopes[0].memory_high' <<<"$st")" "st2: the new memory.high"
high=$(jq -r '.envelopes[0].events.high' <<<"$st")
((high > before_high)) || fail "st2: no high event counted ($before_high before, $high after)"
file_high=$(awk '$1 == "high" {print $2}' "$CG/vmmem.slice/vmmem-st2.scope/memory.events")
((file_high >= high)) || fail "st2: status counts $high high events, the file $file_high"
ok "st2: $high memory.high events, as memory.events says ($file_high)"
echo max >"$CG/vmmem.slice/vmmem-st2.scope/memory.high"

# By qemu pid, the table, and the refusals.
assert_eq st1 "$("$VMMEM" status --json "${PID[st1]}" | jq -r '.envelopes[0].name')" "status PID: st1's qemu"
table=$("$VMMEM" status)
echo "$table" | sed 's/^/# /'
assert_contains "$table" "st1 " "the table lists st1"
assert_contains "$table" "host: 2 envelope(s), memory.max " "the table's host line"
out=$("$VMMEM" status nosuch 2>&1) && fail "status nosuch succeeded: $out"
[[ "$(wc -l <<<"$out")" == 1 && "$out" == "vmmem: no envelope of a VM named or with qemu pid 'nosuch' on this host" ]] ||
    fail "status nosuch: expected one line, got: $out"
ok "status nosuch: $out"
out=$("$VMMEM" status a b 2>&1) && fail "status a b succeeded"
ok "status a b: $out"

kill -9 "${PID[st1]}" "${PID[st2]}"
wait "${PID[st1]}" "${PID[st2]}" 2>/dev/null || true
# An exited VM's empty scope is still an envelope (no qemu in it) until gc removes it.
st=$("$VMMEM" status --json st1) || fail "status of st1's empty scope failed"
assert_eq null "$(jq -r '.envelopes[0].qemu_pid' <<<"$st")" "st1 after its qemu exited: no qemu pid"
"$VMMEM" gc >/dev/null
assert_eq 0 "$("$VMMEM" status --json | jq '.envelopes | length')" "after gc: no envelope"
assert_no_scopes "status"
finish
