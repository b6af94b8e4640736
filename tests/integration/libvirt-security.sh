#!/bin/bash
# The privileged side cannot be steered: whatever a domain's name, argv or environment says,
# whoever asks and whatever bytes reach its socket, vmmemd writes only the memory files of the
# requester's own libvirt domain cgroup.  Every memory limit file of the whole cgroup tree is
# compared before and after each case.
#   1. hostile domains: names, and <qemu:env> VMMEM_PARENT / VMMEM_CONFIG / VMMEM_HELPER_SOCKET /
#      VMMEM_QEMU
#   2. requesters outside a libvirt domain cgroup: the root cgroup, a user-made cgroup named
#      like libvirt's, a look-alike under another top
#   3. garbage on the socket
#   4. a copy of vmmem-qemu with a file capability, run by an unprivileged user with a hostile
#      environment
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt-lib.sh"

QEMU_UID=$(id -u libvirt-qemu)
QEMU_GID=$(id -g libvirt-qemu)
EVIL=$LV_DIR/evil
MARKER=$EVIL/m/marker # in a folder anyone may write to: the script may run as any user
mkdir -p "$EVIL/m"
chmod 0755 "$EVIL"
chmod 1777 "$EVIL/m"

lv_start
# vmmemd's own config has a section for a VM called "other": a hostile name must not reach it.
printf '[vm other]\nratio = 3.0\n' >"$LV_CONF"
lv_vmmemd_start "$LV_CONF"

# The diff of two lv_cg_limits snapshots, minus the lines under cgroup $3 (empty: none).
limits_changed() { # BEFORE AFTER [OWN_CGROUP]
    { diff <(echo "$1") <(echo "$2") || true; } | awk -v own="${3:+/$3/}" '
        /^[<>] / { path = substr($0, 3); if (own == "" || index(path, own) != 1) print }'
}

# A script that must never run with privilege: it leaves a marker with who ran it, and fails.
cat >"$EVIL/evil.sh" <<EOF
#!/bin/sh
echo "ran as \$(id -u) CapEff \$(awk '\$1 == "CapEff:" {print \$2}' /proc/self/status)" >>$MARKER
exit 1
EOF
chmod 0755 "$EVIL/evil.sh"
# Valid but hostile settings (a bad value would only make the launcher refuse to start), and a
# config that names the evil script as qemu.
printf '[vmmem]\nparent = machine\nratio = 1000\nswap = 1G\nhigh = 0.5\n' >"$EVIL/evil.conf"
printf '[vmmem]\nqemu = %s\n' "$EVIL/evil.sh" >"$EVIL/evil-qemu.conf"
chmod 0644 "$EVIL/evil.conf" "$EVIL/evil-qemu.conf"

# ---- 1. hostile domains --------------------------------------------------------------------
# hostile_domain NAME [lv_xml options]: starts, gets exactly vmmemd's envelope (vmmemd's config,
# not the domain's), and nothing but its own cgroup's files changed.
hostile_domain() {
    local name=$1
    shift
    local before after json cg changed
    before=$(lv_cg_limits)
    lv_create "$(lv_xml "$name" 128 1 "$@")"
    cg=$(lv_cgroup "$name")
    after=$(lv_cg_limits)
    changed=$(limits_changed "$before" "$after" "$cg")
    [[ -z "$changed" ]] || fail "$name: expected only /$cg to change, also changed: $(tr '\n' ' ' <<<"$changed")"
    ok "$name: only its own /$cg changed"
    lv_log_cmd "$name"
    json=$(lv_explain "$name")
    assert_eq "$(jq -r .memory_max <<<"$json")" "$(cg_read "$cg/memory.max")" "$name: memory.max is vmmemd's figure"
    # Same figure without vmmemd's [vm other] section: that section did not apply.
    assert_eq "$(jq -r .memory_max <<<"$json")" \
        "$(env -i PATH="$PATH" "$VMMEM" explain --json --config /dev/null -- "${LV_ARGV[@]:1}" | jq -r .memory_max)" \
        "$name: [vm other] of vmmemd's config did not apply"
    [[ ! -e "$MARKER" ]] || fail "$name: the evil script ran: $(cat "$MARKER")"
    [[ ! -e "$CG/vmmem.slice" ]] || fail "$name: expected no /vmmem.slice, found one"
    lv_destroy "$name"
}

# libvirt makes /machine at its first domain: have it before anything is compared.
lv_create "$(lv_xml w0 128 1)"
lv_destroy w0
[[ -d "$CG/machine" ]] || fail "expected libvirt's /machine after the first domain"

hostile_domain x1 --env VMMEM_PARENT=machine --env VMMEM_CONFIG="$EVIL/evil.conf" \
    --env VMMEM_HELPER_SOCKET=/run/vmmem/../vmmem/vmmemd.sock

# A parent that climbs out: the launcher may refuse the setting or ignore it (it makes no scope
# under libvirt); either way nothing outside the domain changes.
before=$(lv_cg_limits)
if timeout "$LV_TIMEOUT" virsh -c "$LV_URI" create "$(lv_xml x3 128 1 --env VMMEM_PARENT=../../..)" >/dev/null 2>&1; then
    cg=$(lv_cgroup x3)
    changed=$(limits_changed "$before" "$(lv_cg_limits)" "$cg")
    [[ -z "$changed" ]] || fail "x3: expected only /$cg to change, also changed: $(tr '\n' ' ' <<<"$changed")"
    ok "x3: VMMEM_PARENT=../../.. ignored under libvirt, only /$cg changed"
    lv_destroy x3
else
    line=$(grep '^vmmem-qemu: ' "$(lv_log x3)" || true)
    [[ "$line" == *parent* ]] || fail "x3: expected a one-line refusal naming the parent, got: $line"
    changed=$(limits_changed "$before" "$(lv_cg_limits)")
    [[ -z "$changed" ]] || fail "x3: expected no limit to change, changed: $(tr '\n' ' ' <<<"$changed")"
    ok "x3: VMMEM_PARENT=../../.. refused by the launcher ($line), nothing changed"
fi

# Names: qemu's option syntax (",," is a comma), path-like, libvirt's and vmmem's own names, and
# names of which libvirt's machine name keeps nothing (cgroup machine/qemu-N.libvirt-qemu).
hostile_domain 'evil,guest=other,debug-threads=on'
hostile_domain 'machine.slice'
hostile_domain 'vmmem.slice'
hostile_domain '-x..libvirt-qemu'
hostile_domain "$(printf 'n%.0s' $(seq 1 200))"
hostile_domain '..'
hostile_domain '日本'

# A name with '/' never reaches qemu: libvirt refuses it.
f=$(lv_xml slash 128 1)
sed -i 's|<name>slash</name>|<name>a/../../b</name>|' "$f"
out=$(timeout "$LV_TIMEOUT" virsh -c "$LV_URI" create "$f" 2>&1) &&
    fail "libvirt accepted a domain name with '/': $out"
[[ "$out" == *"a/../../b"* || "$out" == *"'/'"* ]] || fail "name with '/': expected libvirt to name the problem, got: $out"
ok "libvirt refuses a name with '/': $(tail -n 1 <<<"$out")"

# VMMEM_QEMU in <qemu:env>: whoever writes domain XML is not trusted with the host's policy, so
# the launcher ignores it unless root's domain-env lists qemu (docs/libvirt.md): the domain runs
# the real qemu and the script never runs.
lv_create "$(lv_xml x2 128 1 --env VMMEM_QEMU="$EVIL/evil.sh")"
[[ ! -e "$MARKER" ]] || fail "x2: the evil script ran: $(cat "$MARKER")"
is_exe "$(lv_pid x2)" "$QEMU_BIN" || fail "x2: expected $QEMU_BIN, the domain runs $(readlink "/proc/$(lv_pid x2)/exe")"
ok "x2: VMMEM_QEMU ignored, the domain runs $QEMU_BIN"
lv_destroy x2

# ---- 2. requesters outside a libvirt domain cgroup ------------------------------------------
# vmmemd's answer to a well-formed request from this process, "status message".
LV_PY_CLIENT='
import socket, struct, sys, time
MAGIC = 0x444d4d56
HELLO = 0x484d4d56
mode = sys.argv[1]
path = sys.argv[2]
payloads = {
    "ok": struct.pack("=III", MAGIC, 2, 0),
    "magic": struct.pack("=III", 0x12345678, 2, 0),
    "version": struct.pack("=III", MAGIC, 1, 0),
    "flags": struct.pack("=III", MAGIC, 2, 1),
    "short": struct.pack("=II", MAGIC, 2),
    "long": struct.pack("=IIII", MAGIC, 2, 0, 0),
    "big": struct.pack("=III", MAGIC, 2, 0) + b"\xff" * (65536 - 12),
    "empty": b"",
}
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(15)
s.connect(path)
if mode == "hang":
    n = int(sys.argv[3])
    conns = [s]
    for i in range(n - 1):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c.connect(path)
        conns.append(c)
    open(sys.argv[5], "w").close()
    time.sleep(float(sys.argv[4]))
    done = 0
    for c in conns:
        try:
            c.setblocking(False)
            c.recv(4096)  # a hello, a refusal or the end: vmmemd did not leave it waiting
            done += 1
        except OSError:
            pass
    print("answered %d of %d" % (done, n))
    sys.exit(0)
try:
    if mode == "early":  # the request before the hello: refused (vmmemd-proto.h)
        s.send(payloads["ok"])
        time.sleep(0.5)
    data = s.recv(4096)
    if len(data) == 8 and struct.unpack("=II", data) == (HELLO, 2):
        if mode != "early":
            s.send(payloads[mode])
        data = s.recv(4096)
except OSError as e:
    print("error", e.errno)
    sys.exit(0)
if not data:
    print("closed")
elif len(data) != 4 + 4 + 1024 + 512:
    print("badsize", len(data))
else:
    magic, status = struct.unpack("=Ii", data[:8])
    msg = data[8:1032].split(b"\0")[0].decode("utf-8", "replace")
    print(status, msg)
'
vmmemd_ask() { # MODE [ARGS]: as the current process
    "$LV_PYTHON" -c "$LV_PY_CLIENT" "$1" "$LV_SOCK" "${@:2}"
}
# As libvirt runs qemu: the qemu user with its supplementary groups, which give it vmmemd's
# socket (root:libvirt-qemu 0660).
as_qemu_user() { setpriv --reuid="$QEMU_UID" --regid="$QEMU_GID" --init-groups "$@"; }
# shellcheck disable=SC2054 # the commas are inside qemu option values
idle=(-name guest=evil,debug-threads=on -machine q35 -accel tcg -m 64 -smp 1 -nodefaults -display none -S -monitor none -serial none)

EPERM=-1
EPROTO=-71

# launcher_refuses WHAT BEFORE RUNNER...: vmmem-qemu, run through RUNNER, refuses with one line
# and no limit differs from BEFORE.
launcher_refuses() {
    local what=$1 before=$2 out status changed
    shift 2
    set +e
    out=$("$@" env VMMEM_POLICY=strict VMMEM_CONFIG=/dev/null "$VMMEM_QEMU" "${idle[@]}" 2>&1)
    status=$?
    set -e
    [[ $status -ne 0 && "$out" == vmmem-qemu:* && "$(wc -l <<<"$out")" == 1 ]] ||
        fail "$what: expected vmmem-qemu to refuse with one line, got status $status: $out"
    ok "$what: vmmem-qemu refuses: $out"
    changed=$(limits_changed "$before" "$(lv_cg_limits)")
    [[ -z "$changed" ]] || fail "$what: expected no limit to change, changed: $(tr '\n' ' ' <<<"$changed")"
}

# (a) From the root cgroup, as libvirt-qemu: vmmemd refuses; the launcher takes its standalone
#     path, which an unprivileged user cannot use.
before=$(lv_cg_limits)
reply=$(as_qemu_user "$LV_PYTHON" -c "$LV_PY_CLIENT" ok "$LV_SOCK")
[[ "$reply" == "$EPERM "*"not in a libvirt qemu domain cgroup"* ]] ||
    fail "root cgroup: expected vmmemd to answer $EPERM 'not in a libvirt qemu domain cgroup', got: $reply"
ok "root cgroup, as libvirt-qemu: vmmemd answers: $reply"
launcher_refuses "root cgroup" "$before" as_qemu_user
[[ ! -e "$CG/vmmem.slice" ]] || fail "root cgroup: expected no /vmmem.slice, found one"
ok "root cgroup: nothing changed"

# (b) A cgroup the user was delegated, named like libvirt's (and one under another top).
#     run_in_cgroup CGROUP CMD...: CMD as libvirt-qemu inside CGROUP.
run_in_cgroup() {
    local cgroup=$1
    shift
    # The shell moves itself, then becomes the user: the requester is that very process.
    as_qemu_user_in() { echo $BASHPID >"$CG/$cgroup/cgroup.procs" && exec setpriv --reuid="$QEMU_UID" --regid="$QEMU_GID" --init-groups "$@"; }
    (as_qemu_user_in "$@")
}
fake_domain() { # CGROUP: made by root, then handed to libvirt-qemu as a delegated subtree
    local cgroup=$1 dir
    dir="$CG/$cgroup"
    local parent=${cgroup%/*} p=""
    local part
    for part in ${parent//\// }; do
        p=${p:+$p/}$part
        mkdir -p "$CG/$p"
        grep -qw memory "$CG/$p/cgroup.subtree_control" || echo +memory >"$CG/$p/cgroup.subtree_control"
    done
    mkdir "$dir"
    chown -R "$QEMU_UID:$QEMU_GID" "$dir"
    # A delegatee can write its own memory files: vmmemd must not do it for it.
    [[ -f "$dir/memory.max" ]] || fail "$cgroup: expected memory files in the fake domain"
}
# Root-owned top folders, as libvirt would have them; the fake domain below is the user's.
fake_domain machine/qemu-99-evil.libvirt-qemu
fake_domain evil/machine/qemu-98-evil.libvirt-qemu
fake_domain machine.slice/machine-qemu\\x2d97\\x2devil.scope/libvirt
chown "$QEMU_UID:$QEMU_GID" "$CG/machine.slice/machine-qemu\\x2d97\\x2devil.scope"

for fake in machine/qemu-99-evil.libvirt-qemu evil/machine/qemu-98-evil.libvirt-qemu \
    'machine.slice/machine-qemu\x2d97\x2devil.scope/libvirt'; do
    before=$(lv_cg_limits)
    reply=$(run_in_cgroup "$fake" "$LV_PYTHON" -c "$LV_PY_CLIENT" ok "$LV_SOCK")
    [[ "$reply" == "$EPERM "* ]] || fail "/$fake: expected vmmemd to refuse with $EPERM, got: $reply"
    ok "/$fake: vmmemd answers: $reply"
    launcher_refuses "/$fake" "$before" run_in_cgroup "$fake"
    ok "/$fake: nothing changed"
done
pgrep -u libvirt-qemu >/dev/null && fail "a requester is still running: $(pgrep -u libvirt-qemu -l)"

# ---- 3. garbage on the socket ---------------------------------------------------------------
before=$(lv_cg_limits)
# 70 clients connect and stay silent (more than vmmemd's 64 children at once).
rm -f "$EVIL/hang.ready"
vmmemd_ask hang 70 8 "$EVIL/hang.ready" >"$EVIL/hang.out" 2>&1 &
hang_pid=$!
for i in $(seq 1 300); do
    [[ -e "$EVIL/hang.ready" ]] && break
    sleep 0.1
done
[[ -e "$EVIL/hang.ready" ]] || fail "the hanging clients did not connect within 30 s: $(cat "$EVIL/hang.out")"
# From inside a (delegated, look-alike) domain cgroup, so that the bytes reach a worker.
garbage_cg=machine/qemu-99-evil.libvirt-qemu
for mode in magic version flags short long big empty early; do
    for who in root qemu; do
        if [[ $who == root ]]; then
            reply=$( (echo $BASHPID >"$CG/$garbage_cg/cgroup.procs" && exec "$LV_PYTHON" -c "$LV_PY_CLIENT" "$mode" "$LV_SOCK") 2>&1)
        else
            reply=$(run_in_cgroup "$garbage_cg" "$LV_PYTHON" -c "$LV_PY_CLIENT" "$mode" "$LV_SOCK" 2>&1)
        fi
        [[ "$reply" == "$EPROTO "* || "$reply" == closed || "$reply" == error* ]] ||
            fail "garbage '$mode' from $who: expected an $EPROTO reply or a close, got: $reply"
    done
    ok "garbage '$mode': $reply"
done
# While 70 clients hang, a well-formed request still gets its answer.
t0=$(date +%s.%N)
reply=$(vmmemd_ask ok)
[[ "$reply" == "$EPERM "* ]] || fail "with 70 hanging clients: expected an answer ($EPERM), got: $reply"
ok "with 70 hanging clients a request is answered in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s"
wait "$hang_pid" || fail "hanging clients: $(cat "$EVIL/hang.out")"
hung=$(cat "$EVIL/hang.out")
[[ "$hung" == "answered 70 of 70" ]] || fail "hanging clients: expected vmmemd to answer or close all 70, got: $hung"
ok "hanging clients: vmmemd $hung"
kill -0 "$VMMEMD_PID" || fail "vmmemd died: $(tail -n 3 "$LV_OUT/vmmemd.log")"
changed=$(limits_changed "$before" "$(lv_cg_limits)")
[[ -z "$changed" ]] || fail "garbage: expected no limit to change, changed: $(tr '\n' ' ' <<<"$changed")"
# And it still serves a real domain.
lv_create "$(lv_xml g1 128 1)"
cg=$(lv_cgroup g1)
lv_log_cmd g1
assert_eq "$(lv_explain g1 | jq -r .memory_max)" "$(cg_read "$cg/memory.max")" "after the garbage vmmemd still serves a domain"
lv_destroy g1

# ---- 4. a file-capability copy of the launcher, hostile environment --------------------------
capcopy=$EVIL/vmmem-qemu-cap
install -m 0755 "$VMMEM_QEMU" "$capcopy"
setcap cap_dac_override+ep "$capcopy" || fail "setcap on $capcopy failed (expected tmpfs to take security xattrs)"
[[ "$(getcap "$capcopy")" == *cap_dac_override* ]] || fail "getcap $capcopy: expected cap_dac_override, got $(getcap "$capcopy")"
hostile_env=(VMMEM_QEMU="$EVIL/evil.sh" VMMEM_CONFIG="$EVIL/evil-qemu.conf" VMMEM_PARENT=machine VMMEM_POLICY=fail-open
    VMMEM_HELPER_SOCKET="$EVIL/nosock" VMMEM_SECCOMP=off)
# The capability probe's shape: exec'd at once, and it stays up (-S, QMP) to be looked at.
before=$(lv_cg_limits)
qmp=/tmp/probe.qmp
setpriv --reuid=65534 --regid=65534 --clear-groups env "${hostile_env[@]}" "$capcopy" -S -no-user-config \
    -nodefaults -nographic -machine none,accel=tcg -qmp "unix:$qmp,server=on,wait=off" &
pid=$!
await_exec "$pid" "$QEMU_BIN" || fail "file-cap launcher: expected pid $pid to run $QEMU_BIN, it runs $(readlink "/proc/$pid/exe" 2>/dev/null || echo nothing)"
ok "file-cap launcher, hostile VMMEM_QEMU/VMMEM_CONFIG ignored: pid $pid runs $QEMU_BIN"
assert_eq 0000000000000000 "$(proc_status "$pid" CapEff)" "file-cap launcher: CapEff of the exec'd qemu"
assert_eq 0000000000000000 "$(proc_status "$pid" CapPrm)" "file-cap launcher: CapPrm of the exec'd qemu"
assert_eq "65534 65534 65534 65534" "$(awk '$1 == "Uid:" {print $2, $3, $4, $5}' "/proc/$pid/status")" "file-cap launcher: real, effective, saved, fs uid of the exec'd qemu"
kill "$pid"
wait "$pid" 2>/dev/null || true
[[ ! -e "$MARKER" ]] || fail "file-cap launcher: the evil script ran: $(cat "$MARKER")"
# A VM command line: whatever the launcher does with its capability, the environment is not
# followed, and what runs has no capability.
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups env "${hostile_env[@]}" "$capcopy" "${idle[@]}" >"$EVIL/vm.out" 2>&1 &
pid=$!
await_exec "$pid" "$QEMU_BIN"
set -e
if kill -0 "$pid" 2>/dev/null; then
    is_exe "$pid" "$QEMU_BIN" || fail "file-cap launcher (VM): expected $QEMU_BIN, pid $pid runs $(readlink "/proc/$pid/exe")"
    assert_eq 0000000000000000 "$(proc_status "$pid" CapEff)" "file-cap launcher (VM): CapEff of qemu"
    cgpath=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
    [[ "$cgpath" == /vmmem.slice/* ]] || fail "file-cap launcher (VM): expected a scope under /vmmem.slice (VMMEM_PARENT=machine ignored), got $cgpath"
    ok "file-cap launcher (VM): qemu runs in $cgpath with no capability"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    "$VMMEM" gc >/dev/null
else
    wait "$pid" 2>/dev/null || true
    out=$(cat "$EVIL/vm.out")
    [[ "$out" == vmmem-qemu:* ]] || fail "file-cap launcher (VM): expected a 'vmmem-qemu:' refusal, got: $out"
    ok "file-cap launcher (VM): refused: $out"
fi
[[ ! -e "$MARKER" ]] || fail "file-cap launcher (VM): the evil script ran: $(cat "$MARKER")"
ok "file-cap launcher: the evil script never ran"
changed=$(limits_changed "$before" "$(lv_cg_limits)" vmmem.slice)
[[ -z "$changed" ]] || fail "file-cap launcher: expected no limit outside /vmmem.slice to change, changed: $(tr '\n' ' ' <<<"$changed")"
ok "file-cap launcher: no limit outside vmmem.slice changed"

lv_note "done"
finish
