#!/bin/bash
# The systemd backend under a real systemd 252 as PID 1 (vm-run.sh --systemd): vmmem-qemu as
# root gets a transient scope unit in machine.slice with the planned limits, which
# daemon-reload keeps; the VM dies whole on a real OOM kill; a lingering user's VM gets an
# envelope from the user manager without root; a manager linking libvmmem updates, reopens and
# destroys a unit (scope-api --systemd); and the bad cases (a name clash, a job that
# fails, no D-Bus; with the argument nomemory, a kernel booted with cgroup_disable=memory, for
# root and for a user) each give one line and leave no unit and no cgroup behind.
. "$(dirname "$0")/lib.sh"
require_kvm

[[ "$(readlink /proc/1/exe)" == */lib/systemd/systemd ]] ||
    fail "expected systemd as PID 1 (vm-run.sh --systemd), /proc/1/exe is '$(readlink /proc/1/exe)'"
since=$(date '+%Y-%m-%d %H:%M:%S')

idle_args() { # NAME RAM_MIB: fills ARGS
    read -r -a ARGS <<<"$(idle_qemu_args "$1" "$2")"
}

# Waits until memory.current of cgroup $1 holds $2 MiB (the preallocated guest RAM).
wait_charged() { # CGROUP MIB
    local current _
    for _ in $(seq 1 300); do
        current=$(cat "$CG/$1/memory.current" 2>/dev/null || echo 0)
        ((current > $2 * 1048576)) && return 0
        sleep 0.1
    done
    fail "/$1: memory.current $current under the $2 MiB of guest RAM after 30 s"
}

# A launch that must fail: one line that contains EXPECTED, and a non-zero exit.
expect_refusal() { # WHAT EXPECTED COMMAND...
    local what=$1 expected=$2 err rc
    shift 2
    set +e
    err=$(timeout 60 "$@" 2>&1)
    rc=$?
    set -e
    ((rc != 124)) || fail "$what: expected a refusal, the launch went on (killed after 60 s): $err"
    ((rc != 0)) || fail "$what: expected a failure, exit 0 ($err)"
    assert_eq 1 "$(wc -l <<<"$err")" "$what: one line ($err)"
    assert_contains "$err" "$expected" "$what"
}

# No unit and no cgroup of that name, in either manager.
assert_no_unit() { # UNIT WHAT [--user USER]
    local left
    if [[ "${3:-}" == --user ]]; then
        left=$(runuser -u "$4" -- env XDG_RUNTIME_DIR="/run/user/$(id -u "$4")" \
            systemctl --user list-units --all --plain --no-legend "$1" 2>&1 || true)
    else
        left=$(systemctl list-units --all --plain --no-legend "$1" 2>&1 || true)
    fi
    [[ -z "$left" ]] || fail "$2: unit left behind: $left"
    left=$(find "$CG" -name "$1" -type d 2>/dev/null | tr '\n' ' ')
    [[ -z "$left" ]] || fail "$2: cgroup left behind: $left"
    ok "$2: no unit $1 and no cgroup left"
}

user_up() { # USER UID: a lingering user whose manager runs
    useradd -m -u "$2" -G kvm "$1"
    loginctl enable-linger "$1"
    local _
    for _ in $(seq 1 300); do
        [[ -S "/run/user/$2/systemd/private" ]] &&
            [[ "$(systemctl is-active "user@$2.service")" == active ]] && return 0
        sleep 0.1
    done
    fail "user@$2.service did not start for $1 (loginctl enable-linger): $(systemctl is-active "user@$2.service")"
}
# ---- a kernel without the memory controller (cgroup_disable=memory): refused before any unit
if [[ "${1:-main}" == nomemory ]]; then
    grep -q cgroup_disable=memory /proc/cmdline || fail "booted without cgroup_disable=memory"
    idle_args nomem 64
    expect_refusal "root, no memory controller" "vmmem-qemu: the memory cgroup controller is not available (the kernel was booted with cgroup_disable=memory" \
        "$VMMEM_QEMU" "${ARGS[@]}"
    assert_no_unit vmmem-nomem.scope "root, no memory controller"
    user_up vmuser 4242
    expect_refusal "a user, no memory controller" "vmmem-qemu: the memory cgroup controller is not available (the kernel was booted with cgroup_disable=memory" \
        runuser -u vmuser -- "$VMMEM_QEMU" "${ARGS[@]}"
    assert_no_unit vmmem-nomem.scope "a user, no memory controller" --user vmuser
    finish
    exit 0
fi

# ---- root: the scope is systemd's, in machine.slice, with the planned limits ----
name=sd1
unit=vmmem-$name.scope
idle_args "$name" 128
json=$("$VMMEM" explain --json -- "${ARGS[@]}")
max=$(jq -r .memory_max <<<"$json")
text=$("$VMMEM" explain -- "${ARGS[@]}")
assert_contains "$text" "Backend: systemd (the system manager, over D-Bus): transient unit $unit" \
    "explain names the backend and the unit"
assert_contains "$text" "MemoryMax=$max" "explain lists the unit's MemoryMax"

"$VMMEM_QEMU" "${ARGS[@]}" &
pid=$!
wait_exec "$pid"
wait_cgroup "$pid" "machine.slice/$unit/vm"
ok "qemu runs as the launcher's pid $pid in /machine.slice/$unit/vm"
assert_eq active "$(systemctl is-active "$unit")" "systemctl is-active $unit"
show=$(systemctl show -p MemoryMax -p MemoryHigh -p MemorySwapMax -p Delegate -p CollectMode \
    -p Slice -p ControlGroup "$unit")
for want in "MemoryMax=$max" MemoryHigh=infinity MemorySwapMax=0 Delegate=yes \
    CollectMode=inactive-or-failed Slice=machine.slice "ControlGroup=/machine.slice/$unit"; do
    grep -qx "$want" <<<"$show" || fail "systemctl show $unit: expected $want, got: $(tr '\n' ' ' <<<"$show")"
done
ok "systemctl show $unit: MemoryMax=$max MemoryHigh=infinity MemorySwapMax=0 Delegate=yes CollectMode=inactive-or-failed"
check_files() { # WHAT
    assert_eq "$max" "$(cg_read "machine.slice/$unit/memory.max")" "$1: memory.max"
    assert_eq max "$(cg_read "machine.slice/$unit/memory.high")" "$1: memory.high"
    assert_eq 0 "$(cg_read "machine.slice/$unit/memory.swap.max")" "$1: memory.swap.max"
    assert_eq 1 "$(cg_read "machine.slice/$unit/vm/memory.oom.group")" "$1: memory.oom.group of the leaf vm"
}
check_files "in the cgroup"
wait_charged "machine.slice/$unit" 128
ok "the guest RAM is charged in the envelope"

systemctl daemon-reload
check_files "after systemctl daemon-reload"

status=$("$VMMEM" status --json)
assert_eq "machine.slice/$unit" "$(jq -r --arg n "$name" '.envelopes[] | select(.name == $n) | .path' <<<"$status")" \
    "vmmem status finds the systemd scope"

# A second VM of the same name: one line, the first one untouched.
expect_refusal "a name clash" "vmmem-qemu: the system manager has a unit $unit already" \
    "$VMMEM_QEMU" "${ARGS[@]}"
assert_eq active "$(systemctl is-active "$unit")" "the first $name after the clash"

kill -9 "$pid"
wait "$pid" 2>/dev/null || true
wait_gone "$CG/machine.slice/$unit" 10 || fail "the scope's cgroup is still there 10 s after qemu died"
assert_no_unit "$unit" "qemu exited"

# ---- vmmem run: its child starts stopped, joins the unit, and the unit goes with it ----
# The pid of the qemu whose -name is $1 (not the launchers around it).
qemu_pid() { # NAME
    local p _
    for _ in $(seq 1 300); do
        for p in $(pgrep -f "guest=$1" || true); do
            if [[ "$(readlink "/proc/$p/exe" 2>/dev/null)" == "$QEMU_BIN" ]]; then
                echo "$p"
                return 0
            fi
        done
        sleep 0.1
    done
    fail "no qemu with guest=$1 started"
}
run_check() { # NAME CGROUP [PREFIX...]: vmmem run as PREFIX says, checked, ended by SIGTERM
    local name=$1 cg=$2 rpid q rc
    shift 2
    idle_args "$name" 128
    "$@" "$VMMEM" run -- "${ARGS[@]}" 2>"/tmp/$name.err" &
    rpid=$!
    q=$(qemu_pid "$name")
    wait_cgroup "$q" "$cg/vm"
    assert_eq "$(jq -r .memory_max <<<"$("$@" "$VMMEM" explain --json -- "${ARGS[@]}")")" \
        "$(cg_read "$cg/memory.max")" "vmmem run $name${1:+ ($*)}: memory.max of /$cg"
    kill -TERM "$q"
    set +e
    wait "$rpid"
    rc=$?
    set -e
    [[ "$rc" == 0 || "$rc" == 143 ]] || fail "vmmem run $name: exit $rc after qemu's SIGTERM: $(cat "/tmp/$name.err")"
    assert_contains "$(cat "/tmp/$name.err")" "vmmem: qemu exited with status $rc; memory.peak" \
        "vmmem run $name: its status is qemu's ($rc), and the usage line"
    wait_gone "$CG/$cg" 10 || fail "vmmem run $name: /$cg is still there"
}
run_check sdrun machine.slice/vmmem-sdrun.scope
assert_no_unit vmmem-sdrun.scope "vmmem run as root"

# ---- the group dies whole: a real OOM kill in the scope takes qemu too ----
name=sdoom
unit=vmmem-$name.scope
idle_args "$name" 128
"$VMMEM_QEMU" "${ARGS[@]}" &
qpid=$!
wait_exec "$qpid"
wait_cgroup "$qpid" "machine.slice/$unit/vm"
wait_charged "machine.slice/$unit" 128
# A second process in the scope that wants more than the envelope's room: without
# memory.oom.group the kernel would kill it alone and qemu would run on.
sh -c "echo \$\$ >$CG/machine.slice/$unit/vm/cgroup.procs && exec python3 -c 'b = bytearray(512 << 20); import time; time.sleep(60)'" &
hog=$!
set +e
wait "$hog"
hog_rc=$?
wait "$qpid"
qemu_rc=$?
set -e
assert_eq 137 "$hog_rc" "the hog's exit status (SIGKILL)"
assert_eq 137 "$qemu_rc" "qemu's exit status (SIGKILL, with the hog)"
ok "a real OOM kill took every process of $unit"
journal=$(journalctl -k --since "$since" --no-pager 2>/dev/null | grep -E "oom-kill:.*$unit" | head -n 1 || true)
[[ -n "$journal" ]] || fail "expected the kernel's oom-kill line naming $unit in the journal"
ok "the kernel's report: ${journal#*]: }"
wait_gone "$CG/machine.slice/$unit" 10 || fail "the OOM-killed scope's cgroup is still there"
assert_no_unit "$unit" "after the OOM kill (CollectMode=inactive-or-failed)"

# ---- a job that fails: a drop-in makes the scope require a service that fails ----
mkdir -p /run/systemd/system/vmmem-jobfail.scope.d
cat >/run/systemd/system/vmmem-test-fail.service <<'EOF'
[Service]
Type=oneshot
ExecStart=/bin/false
EOF
cat >/run/systemd/system/vmmem-jobfail.scope.d/fail.conf <<'EOF'
[Unit]
Requires=vmmem-test-fail.service
After=vmmem-test-fail.service
EOF
systemctl daemon-reload
idle_args jobfail 128
expect_refusal "a failed job" \
    "vmmem-qemu: the system manager could not start vmmem-jobfail.scope: its job ended 'dependency'" \
    "$VMMEM_QEMU" "${ARGS[@]}"
rm -rf /run/systemd/system/vmmem-jobfail.scope.d /run/systemd/system/vmmem-test-fail.service
systemctl daemon-reload
systemctl reset-failed vmmem-test-fail.service 2>/dev/null || true
assert_no_unit vmmem-jobfail.scope "a failed job"

# ---- no D-Bus: neither systemd's private socket nor the system bus can be reached ----
printf '[vmmem]\nbackend = systemd\n' >/tmp/systemd-backend.conf
idle_args nobus 128
expect_refusal "no D-Bus" "vmmem-qemu: cannot reach the system manager over D-Bus (/run/systemd/private: " \
    unshare -m sh -c 'mount -t tmpfs none /run/systemd && mount -t tmpfs none /run/dbus &&
    exec env VMMEM_CONFIG=/tmp/systemd-backend.conf "$0" "$@"' "$VMMEM_QEMU" "${ARGS[@]}"
assert_no_unit vmmem-nobus.scope "no D-Bus"

# ---- a manager linking libvmmem: start with a held child, update (kept by daemon-reload), a
# second child by clone3 into the scope's fd, reopen, gc, destroy (tests/scope/scope-api.c) ----
run_tap 25 "$BUILD/tests/scope-api" --systemd
ok "scope-api --systemd: $N_TAP checks of a manager's lifecycle through systemd"
assert_no_unit vmmem-api-sd.scope "after scope-api --systemd"

# ---- a user without root: the user manager makes the envelope ----
user_up vmuser 4242
ok "vmuser (uid 4242) lingers: user@4242.service runs"
name=usr1
unit=vmmem-$name.scope
ucg=user.slice/user-4242.slice/user@4242.service/machine.slice/$unit
idle_args "$name" 128
json=$(runuser -u vmuser -- "$VMMEM" explain --json -- "${ARGS[@]}")
max=$(jq -r .memory_max <<<"$json")
text=$(runuser -u vmuser -- "$VMMEM" explain -- "${ARGS[@]}")
assert_contains "$text" "Backend: systemd (your user manager, no root needed, over D-Bus): transient unit $unit" "explain as vmuser"
runuser -u vmuser -- "$VMMEM_QEMU" "${ARGS[@]}" &
upid=$!
# runuser forks: qemu is its child.
for _ in $(seq 1 200); do
    qpid=$(pgrep -u vmuser -f "guest=$name" | head -n 1 || true)
    [[ -n "$qpid" && "$(readlink "/proc/$qpid/exe" 2>/dev/null)" == "$QEMU_BIN" ]] && break
    sleep 0.1
done
[[ -n "$qpid" ]] || fail "vmuser's qemu never started"
wait_exec "$qpid"
wait_cgroup "$qpid" "$ucg/vm"
assert_eq 4242 "$(stat -c %u "/proc/$qpid")" "qemu's uid"
[[ "$(awk '/^CapEff/{print $2}' "/proc/$qpid/status")" == 0000000000000000 ]] ||
    fail "vmuser's qemu has capabilities: $(grep Cap "/proc/$qpid/status")"
ok "vmuser's qemu (pid $qpid, no capabilities) runs in /$ucg/vm"
assert_eq "$max" "$(cg_read "$ucg/memory.max")" "vmuser's envelope: memory.max"
assert_eq 1 "$(cg_read "$ucg/vm/memory.oom.group")" "vmuser's envelope: memory.oom.group of the leaf vm"
wait_charged "$ucg" 128
# The kernel enforces it: vmuser's own hog in the scope brings the OOM killer, which takes
# the whole VM.  The hog starts in a scope of vmuser's manager: a user may move a process only
# within the subtree delegated to them (this job's shell sits in system.slice).
runuser -u vmuser -- env XDG_RUNTIME_DIR=/run/user/4242 systemd-run --user --quiet --scope \
    --unit vmmem-test-hog sh -c "echo \$\$ >$CG/$ucg/vm/cgroup.procs && exec python3 -c 'b = bytearray(512 << 20)'" &
hog=$!
set +e
wait "$hog"
hog_rc=$?
wait "$upid"
set -e
kill -0 "$qpid" 2>/dev/null && fail "vmuser's qemu survived an OOM kill in its scope"
((hog_rc != 0)) || fail "vmuser's hog exited 0: it was not OOM-killed"
journal=$(journalctl -k --since "$since" --no-pager 2>/dev/null | grep -E "oom-kill:.*oom_memcg=/$ucg," | head -n 1 || true)
[[ -n "$journal" ]] || fail "expected the kernel's oom-kill line for /$ucg in the journal"
ok "the kernel enforced vmuser's envelope, and the OOM kill took qemu and the hog: ${journal#*]: }"
wait_gone "$CG/$ucg" 10 || fail "vmuser's scope cgroup is still there"
assert_no_unit "$unit" "vmuser's VM ended" --user vmuser

run_check usrrun user.slice/user-4242.slice/user@4242.service/machine.slice/vmmem-usrrun.scope \
    runuser -u vmuser --
assert_no_unit vmmem-usrrun.scope "vmmem run as vmuser" --user vmuser

# ---- systemd had nothing to say about foreign cgroups ----
complaints=$(journalctl --since "$since" --no-pager 2>/dev/null |
    grep -iE "foreign|not managed by systemd|unexpected cgroup|Failed to (set|write).*memory" || true)
[[ -z "$complaints" ]] || fail "systemd complained: $complaints"
ok "no complaint of systemd's about cgroups in the journal"
finish
