#!/bin/bash
# vmmemd cannot be starved or steered (issue 9), under the real libvirtd:
#   1. the socket is root:libvirt-qemu 0660: another user cannot even connect
#   2. SIGTERM stops vmmemd at once, with no connection to wake it
#   3. a connector that exits and whose pid is reused is not mistaken for the new process
#   4. 1,500 silent or reconnecting clients running as the qemu user, some inside a domain
#      cgroup: a real domain start still gets its envelope within 2 s
#   5. hostile XML: another VM's name on the command line, an unused 1 TiB backend, a protection
#      above root's ceiling, VMMEM_SWAP in <qemu:env>
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt-lib.sh"

QEMU_UID=$(id -u libvirt-qemu)
QEMU_GID=$(id -g libvirt-qemu)
H=$LV_DIR/hardening
mkdir -p "$H"
chmod 1777 "$H" # the clients, as the qemu user, leave their marks here
as_qemu_user() { setpriv --reuid="$QEMU_UID" --regid="$QEMU_GID" --init-groups "$@"; }

lv_start
printf '[vmmem]\n' >"$LV_CONF"
lv_vmmemd_start "$LV_CONF"

# A client that looks like qemu to vmmemd: its /proc/PID/cmdline is "python3 THIS-FILE ARGS",
# and vmmemd parses everything after argv[0] (THIS-FILE as a disk image, then ARGS).
# VMMEMD_CLIENT_MODE: ask (print "status message"), early (the request before the hello), or
# sleep (only exist, with a qemu-like command line).
CLIENT=$H/qemu-client
cat >"$CLIENT" <<'EOF'
#!/usr/bin/python3
import os, socket, struct, sys, time
MAGIC, HELLO = 0x444d4d56, 0x484d4d56
mode = os.environ.get("VMMEMD_CLIENT_MODE", "ask")
if mode == "sleep":
    time.sleep(60)
    sys.exit(0)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(15)
s.connect(os.environ["VMMEMD_CLIENT_SOCKET"])
req = struct.pack("=III", MAGIC, 2, 0)
if mode == "early":
    s.send(req)
    open(os.environ["VMMEMD_CLIENT_READY"], "w").close()
    sys.exit(0)
data = s.recv(4096)
if len(data) == 8 and struct.unpack("=II", data) == (HELLO, 2):
    s.send(req)
    data = s.recv(4096)
if len(data) != 1544:
    print("badsize", len(data))
else:
    status = struct.unpack("=i", data[4:8])[0]
    print(status, data[8:1032].split(b"\0")[0].decode("utf-8", "replace"))
EOF
chmod 0755 "$CLIENT"
QEMU_LIKE=(-name guest=victim -machine q35 -accel tcg -m 64 -nodefaults -display none -S)

# A root-made cgroup named and owned as libvirt's, with memory files: vmmemd cannot tell it from
# a domain, which is what these cases need.
fake_domain() { # CGROUP
    mkdir -p "$CG/machine"
    grep -qw memory "$CG/cgroup.subtree_control" || echo +memory >"$CG/cgroup.subtree_control"
    grep -qw memory "$CG/machine/cgroup.subtree_control" || echo +memory >"$CG/machine/cgroup.subtree_control"
    mkdir -p "$CG/$1"
}
# Becomes CMD, as the qemu user inside CGROUP: only in a subshell of its own, `in_domain ... &`
# or `$(in_domain ...)`, so that $! is the very process that asks.
in_domain() { # CGROUP CMD...
    local cgroup=$1
    shift
    echo $BASHPID >"$CG/$cgroup/cgroup.procs" && exec setpriv --reuid="$QEMU_UID" --regid="$QEMU_GID" --init-groups "$@"
}

# ---- 1. the socket ---------------------------------------------------------------------------
assert_eq "root libvirt-qemu 660" "$(stat -c '%U %G %a' "$LV_SOCK")" "vmmemd's socket owner, group and mode"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$LV_PYTHON" -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    s.connect(sys.argv[1]); print('connected')
except OSError as e:
    print('errno', e.errno)" "$LV_SOCK")
assert_eq "errno 13" "$out" "nobody connecting to vmmemd's socket"
out=$(as_qemu_user env VMMEMD_CLIENT_SOCKET="$LV_SOCK" "$CLIENT" "${QEMU_LIKE[@]}")
[[ "$out" == "-1 "*"not in a libvirt qemu domain cgroup"* ]] ||
    fail "the qemu user from the root cgroup: expected a refusal naming the cgroup, got: $out"
ok "the qemu user reaches vmmemd and is refused outside a domain: $out"

# ---- 2. SIGTERM ------------------------------------------------------------------------------
sock2=/run/vmmem/term-test.sock
"$VMMEMD" --socket "$sock2" --config "$LV_CONF" >>"$LV_OUT/vmmemd-term.log" 2>&1 </dev/null &
term_pid=$!
for _ in $(seq 1 100); do [[ -S "$sock2" ]] && break; sleep 0.1; done
[[ -S "$sock2" ]] || fail "the second vmmemd did not listen on $sock2"
sleep 0.5
t0=$(date +%s%N)
kill -TERM "$term_pid"
for _ in $(seq 1 40); do kill -0 "$term_pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$term_pid" 2>/dev/null && fail "vmmemd still runs 2 s after SIGTERM, with no connection to wake it"
wait "$term_pid" || fail "vmmemd exited non-zero on SIGTERM: $(tail -n 2 "$LV_OUT/vmmemd-term.log")"
[[ ! -e "$sock2" ]] || fail "vmmemd left its socket $sock2 behind"
ok "SIGTERM: vmmemd gone in $(( ($(date +%s%N) - t0) / 1000000 )) ms, socket removed"

# ---- 3. pid reuse ----------------------------------------------------------------------------
# The attacker connects and sends its request while vmmemd is stopped, then exits; a process in
# another domain is made to get its pid (ns_last_pid).  vmmemd wakes to a peer whose pid number
# now belongs to the victim: it must not read the victim and write the victim's domain.
fake_domain machine/qemu-90-att.libvirt-qemu
fake_domain machine/qemu-91-victim.libvirt-qemu
victim_cg=machine/qemu-91-victim.libvirt-qemu
before=$(lv_cg_limits)
kill -STOP "$VMMEMD_PID"
rm -f "$H/early.ready"
in_domain machine/qemu-90-att.libvirt-qemu env VMMEMD_CLIENT_MODE=early VMMEMD_CLIENT_SOCKET="$LV_SOCK" \
    VMMEMD_CLIENT_READY="$H/early.ready" "$CLIENT" -name guest=att -m 64 &
att=$!
wait "$att" || true
[[ -e "$H/early.ready" ]] || { kill -CONT "$VMMEMD_PID"; fail "the attacker did not send its request"; }
echo $((att - 1)) >/proc/sys/kernel/ns_last_pid
in_domain "$victim_cg" env VMMEMD_CLIENT_MODE=sleep "$CLIENT" "${QEMU_LIKE[@]}" &
victim=$!
[[ $victim == "$att" ]] || { kill -CONT "$VMMEMD_PID"; kill "$victim"; fail "the victim got pid $victim, not the attacker's $att: the test proves nothing"; }
for _ in $(seq 1 50); do grep -q "^0::/$victim_cg$" "/proc/$victim/cgroup" && break; sleep 0.05; done
kill -CONT "$VMMEMD_PID"
for _ in $(seq 1 60); do grep -q "pid $att uid $QEMU_UID: refused" "$LV_OUT/vmmemd.log" && break; sleep 0.1; done
line=$(grep "pid $att uid $QEMU_UID:" "$LV_OUT/vmmemd.log" | tail -n 1)
[[ "$line" == *"refused: the request came before vmmemd's hello"* ]] ||
    fail "pid reuse: expected vmmemd to refuse the early request, its log says: ${line:-nothing}"
ok "pid reuse: $line"
assert_eq max "$(cg_read "$victim_cg/memory.max")" "pid reuse: the victim's memory.max"
changed=$({ diff <(echo "$before") <(lv_cg_limits) || true; } | grep '^[<>]' || true)
[[ -z "$changed" ]] || fail "pid reuse: expected no limit to change, changed: $(tr '\n' ' ' <<<"$changed")"
# The same victim asking for itself is served: the refusal was about who asked, not what.
out=$(in_domain "$victim_cg" env VMMEMD_CLIENT_SOCKET="$LV_SOCK" "$CLIENT" "${QEMU_LIKE[@]}")
[[ "$out" == "0 memory.max "* ]] || fail "the victim asking for itself: expected its envelope, got: $out"
ok "the victim asking for itself: $out"
kill "$victim" 2>/dev/null || true
wait "$victim" 2>/dev/null || true

# And a process in a domain that claims another VM's name is refused (vmmemd's own check; the
# launcher makes the same one before it asks).
out=$(in_domain "$victim_cg" env VMMEMD_CLIENT_SOCKET="$LV_SOCK" "$CLIENT" -name guest=other -m 64 -nodefaults)
[[ "$out" == "-1 -name 'other' is not the name of libvirt machine 'qemu-91-victim'"* ]] ||
    fail "a claimed name: expected vmmemd to refuse it, got: $out"
ok "a claimed name: $out"

# ---- 3b. the worker parses with no capability at all ---------------------------------------------
# Traced: the worker reads the asker's /proc files, forks an opener that keeps
# CAP_DAC_READ_SEARCH alone, and drops every capability, permitted ones included; the disk image
# the command line names (the asker's own, mode 0600) is opened by the opener, and the worker
# gets the fd.
fake_domain machine/qemu-92-caps.libvirt-qemu
qemu-img create -q -f qcow2 "$H/disk.qcow2" 64M
chown "$QEMU_UID:$QEMU_GID" "$H/disk.qcow2"
chmod 0600 "$H/disk.qcow2"
strace -f -qq -e trace=capset,openat -o "$H/strace.out" -p "$VMMEMD_PID" &
tracer=$!
for _ in $(seq 1 50); do grep -q TracerPid:.*[1-9] "/proc/$VMMEMD_PID/status" && break; sleep 0.1; done
out=$(in_domain machine/qemu-92-caps.libvirt-qemu env VMMEMD_CLIENT_SOCKET="$LV_SOCK" "$CLIENT" \
    -name guest=caps -m 64 -nodefaults -drive "file=$H/disk.qcow2,format=qcow2,if=virtio")
sleep 1
kill "$tracer"
wait "$tracer" 2>/dev/null || true
[[ "$out" == "0 memory.max "* ]] || fail "caps: expected the envelope, got: $out"
verdict=$(awk -v disk="$H/disk.qcow2" '
    /openat\([0-9]+, "cmdline"/ && !w { w = $1 }
    !w { next }
    $1 == w && /capset\(/ { if (!dropped && /effective=0, permitted=0,/) dropped = NR; next }
    $1 == w && /openat\([0-9]+, "(cgroup|cmdline|environ|status)"/ && dropped { print "a /proc read after the drop: " $0; bad = 1 }
    $1 != w && /capset\(/ { kept[$1] = $0 }
    index($0, "\"" disk "\"") && /openat\(/ {
        seen = 1
        if ($1 == w) { print "the worker opened the image itself"; bad = 1 }
        else if (!dropped) { print "the image opened before the worker dropped its capabilities"; bad = 1 }
        else if (kept[$1] !~ /effective=1<<CAP_DAC_READ_SEARCH, permitted=1<<CAP_DAC_READ_SEARCH,/) { print "the opener holds more than CAP_DAC_READ_SEARCH: " kept[$1]; bad = 1 }
    }
    END {
        if (!w) print "no worker read /proc/PID/cmdline"
        else if (!dropped) print "no capset to nothing in worker " w
        else if (!seen) print "no one opened the image"
        else if (!bad) print "ok"
    }' "$H/strace.out")
[[ "$verdict" == ok ]] || fail "caps: $verdict (trace: $(grep -c . "$H/strace.out") lines in $H/strace.out)"
ok "caps: after the /proc reads the worker holds no capability; an opener with CAP_DAC_READ_SEARCH alone opened the image"

# ---- 4. starvation ---------------------------------------------------------------------------
FLOOD='
import os, select, socket, sys, time
path, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
silent = os.environ.get("FLOOD_SILENT") == "1"
end = time.time() + secs
socks, made = {}, 0
def connect():
    global made
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.setblocking(False)
    try:
        s.connect(path)
    except BlockingIOError:
        pass
    except OSError:
        s.close()
        return
    socks[s.fileno()] = s
    made += 1
for _ in range(n):
    connect()
open(sys.argv[4], "w").close()
while time.time() < end:
    r, _, _ = select.select(list(socks), [], [], 0.2)
    for fd in r:
        s = socks[fd]
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        # Silent clients never answer a hello; all reconnect once vmmemd has answered or closed.
        if not data or len(data) != 8 or not silent:
            del socks[fd]
            s.close()
            connect()
    while len(socks) < n:
        connect()
print("connections", made)
'
rm -f "$H"/flood.*
flood_pids=()
# 14 x 100 from the root cgroup, and 100 from inside a domain: 1,500 clients, as the qemu user.
for i in $(seq 1 14); do
    as_qemu_user env FLOOD_SILENT=$((i % 2)) "$LV_PYTHON" -c "$FLOOD" "$LV_SOCK" 100 150 "$H/flood.$i.ready" >"$H/flood.$i.out" 2>&1 &
    flood_pids+=($!)
done
in_domain machine/qemu-90-att.libvirt-qemu env FLOOD_SILENT=1 "$LV_PYTHON" -c "$FLOOD" "$LV_SOCK" 100 150 "$H/flood.15.ready" >"$H/flood.15.out" 2>&1 &
flood_pids+=($!)
for _ in $(seq 1 300); do
    [[ $(ls "$H"/flood.*.ready 2>/dev/null | wc -l) == 15 ]] && break
    sleep 0.2
done
[[ $(ls "$H"/flood.*.ready 2>/dev/null | wc -l) == 15 ]] || fail "the flood did not start: $(cat "$H"/flood.*.out | head -n 5)"
lv_note "1,500 clients flooding vmmemd"
sleep 5
lv_create "$(lv_xml fl1 128 1)"
line=$(grep '^vmmem-qemu: memory.max' "$(lv_log fl1)" | tail -n 1)
ms=$(sed -n 's/.*(vmmemd answered in \([0-9]*\) ms)$/\1/p' <<<"$line")
[[ -n "$ms" ]] || fail "fl1: expected the launcher's line with vmmemd's answer time, the domain log says: ${line:-nothing}"
cg=$(lv_cgroup fl1)
lv_log_cmd fl1
assert_eq "$(lv_explain fl1 | jq -r .memory_max)" "$(cg_read "$cg/memory.max")" "fl1: memory.max under the flood"
((ms <= 2000)) || fail "fl1: vmmemd answered in $ms ms under the flood, expected at most 2000"
ok "fl1: under 1,500 flooding clients vmmemd answered the domain's launcher in $ms ms"
lv_destroy fl1
for p in "${flood_pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait "${flood_pids[@]}" 2>/dev/null || true
kill -0 "$VMMEMD_PID" || fail "vmmemd died under the flood: $(tail -n 3 "$LV_OUT/vmmemd.log")"
n_logged=$(grep -c 'refused' "$LV_OUT/vmmemd.log" || true)
suppressed=$(grep -c 'more refusals in the last' "$LV_OUT/vmmemd.log" || true)
ok "vmmemd's log: $n_logged refusal lines, $suppressed 'not logged' summaries"
((n_logged < 2000)) || fail "vmmemd logged $n_logged refusals: expected them rate-limited"
# Children are bounded per domain: the flood from inside one never held more than 2.
busy=$(grep -c 'too many requests at once (for /machine/qemu-90-att.libvirt-qemu' "$LV_OUT/vmmemd.log" || true)
ok "refusals for the flooding domain logged: $busy (rate-limited)"

# ---- 5. hostile XML under the real libvirtd ----------------------------------------------------
# An unused backend qemu 7.2 starts with: not guest RAM, so protect = min protects 128 MiB.
printf '[vmmem]\nprotect = min\n' >"$LV_CONF"
lv_create "$(lv_xml hb1 128 1 --arg -object --arg memory-backend-ram,id=big,size=1T,reserve=off)"
cg=$(lv_cgroup hb1)
assert_eq $((128 * 1048576)) "$(cg_read "$cg/memory.min")" "hb1: memory.min with an unused 1 TiB backend"
lv_log_cmd hb1
assert_eq "$(lv_explain hb1 | jq -r .memory_max)" "$(cg_read "$cg/memory.max")" "hb1: memory.max"
grep -q "memory backend 'big' (1 TiB) is not" "$(lv_log hb1)" || fail "hb1: expected the launcher to relay vmmemd's warning about 'big', log: $(grep vmmem "$(lv_log hb1)")"
ok "hb1: the unused backend is not guest RAM, and the domain log says so"
lv_destroy hb1

# Root's ceiling on protection.
printf '[vmmem]\nprotect = min\nprotect-max = 64M\n' >"$LV_CONF"
lv_create "$(lv_xml hb2 128 1)"
cg=$(lv_cgroup hb2)
assert_eq $((64 * 1048576)) "$(cg_read "$cg/memory.min")" "hb2: memory.min under protect-max 64M"
# libvirt's /machine grants no protection, and vmmem does not own it: the domain log says so.
grep -q "memory.min takes no effect: /machine grants 0" "$(lv_log hb2)" ||
    fail "hb2: expected the domain log to say /machine grants no protection, it has: $(grep vmmem "$(lv_log hb2)")"
ok "hb2: the domain log says the protection needs /machine's memory.min"
lv_destroy hb2

# <qemu:env> VMMEM_SWAP: ignored by default, honoured when root lists it.
printf '[vmmem]\n' >"$LV_CONF"
lv_create "$(lv_xml hb3 128 1 --env VMMEM_SWAP=64M)"
assert_eq 0 "$(cg_read "$(lv_cgroup hb3)/memory.swap.max")" "hb3: memory.swap.max with VMMEM_SWAP in the XML, domain-env unset"
lv_destroy hb3
printf '[vmmem]\ndomain-env = swap\n' >"$LV_CONF"
lv_create "$(lv_xml hb4 128 1 --env VMMEM_SWAP=64M)"
assert_eq $((64 * 1048576)) "$(cg_read "$(lv_cgroup hb4)/memory.swap.max")" "hb4: memory.swap.max with domain-env = swap"
lv_destroy hb4

lv_note "done"
finish
