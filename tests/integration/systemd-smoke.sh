#!/bin/bash
# systemd-smoke.sh: sanity check of the test VM booted with vm-run.sh --systemd.  systemd 252 is
# PID 1 and running (not offline), the command runs as a unit under system.slice with the same
# environment, folders and results as without --systemd, a transient scope gets its MemoryMax
# as memory.max, and systemd-machined (which libvirt registers domains with) starts.
. "$(dirname "$0")/lib.sh"

boot=$(cut -d' ' -f1 /proc/uptime)

exe=$(readlink /proc/1/exe)
[[ "$exe" == */lib/systemd/systemd ]] ||
    fail "expected systemd as PID 1 (vm-run.sh --systemd), /proc/1/exe is '$exe'"
version=$(systemctl --version | head -n 1)
ok "PID 1 is $exe ($version)"

state=$(systemctl is-system-running 2>&1) || true
case "$state" in
starting | running) ok "systemctl is-system-running: $state" ;;
degraded)
    ok "systemctl is-system-running: degraded (failed: $(systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' '))"
    ;;
*) fail "systemctl is-system-running: expected starting, running or degraded, got '$state'" ;;
esac

self=$(sed -n 's/^0:://p' /proc/self/cgroup)
[[ "$self" == /system.slice/* ]] || fail "expected the job in a cgroup under /system.slice, it is in '$self'"
ok "the job runs in $self"
[[ "$(findmnt -n -o FSTYPE /sys/fs/cgroup)" == cgroup2 ]] || fail "expected cgroup2 at /sys/fs/cgroup: $(findmnt -n /sys/fs/cgroup)"
assert_contains " $(cg_read cgroup.controllers) " " memory " "cgroup2 at /sys/fs/cgroup with the memory controller"

# The same job environment as the chroot path: vm-run.sh's variables only, nothing of the unit's.
[[ -z "${INVOCATION_ID:-}${JOURNAL_STREAM:-}${SYSTEMD_EXEC_PID:-}" ]] ||
    fail "expected a clean environment, the job sees the unit's (INVOCATION_ID=${INVOCATION_ID:-} JOURNAL_STREAM=${JOURNAL_STREAM:-})"
[[ -n "${VMMEM_VM_RESULTS:-}" && -d "$VMMEM_VM_RESULTS" ]] || fail "expected VMMEM_VM_RESULTS to name the results folder"
echo ok >"$VMMEM_VM_RESULTS/systemd-smoke.written" || fail "cannot write into the results folder $VMMEM_VM_RESULTS"
rm -f "$VMMEM_VM_RESULTS/systemd-smoke.written"
ok "clean environment, VMMEM_* passed, results folder writable at $VMMEM_VM_RESULTS"
for d in /tmp /run /var/lib /var/log /var/cache; do
    [[ "$(findmnt -n -o FSTYPE "$d")" == tmpfs ]] || fail "expected a tmpfs on $d, got: $(findmnt -n "$d")"
done
ok "/tmp /run /var/lib /var/log /var/cache are tmpfs"
touch /.vmmem-smoke || fail "expected a writable root (the overlay)"
rm -f /.vmmem-smoke
assert_eq overlay "$(findmnt -n -o FSTYPE /)" "root file system"

# A transient scope with a memory limit, the way libvirt (through machined) and vmmem get one.
t0=$(date +%s.%N)
systemd-run --quiet --scope true || fail "systemd-run --scope true failed"
t1=$(date +%s.%N)
ok "systemd-run --scope true ($(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}') s)"
# shellcheck disable=SC2016 # expanded by the scope's shell
out=$(systemd-run --quiet --scope --unit vmmem-smoke -p MemoryMax=300M \
    sh -c 'p=$(sed -n "s/^0:://p" /proc/self/cgroup); echo "$p $(cat "/sys/fs/cgroup$p/memory.max")"') ||
    fail "systemd-run --scope -p MemoryMax=300M failed: $out"
assert_eq "/system.slice/vmmem-smoke.scope 314572800" "$out" "scope cgroup and memory.max while it ran"
wait_gone "$CG/system.slice/vmmem-smoke.scope" 5 || fail "expected the scope's cgroup gone after its process exited"
ok "the scope's cgroup is gone after it exited"

# systemd-machined: libvirt's way to get machine.slice/machine-*.scope.
t0=$(date +%s.%N)
systemctl start systemd-machined || fail "systemctl start systemd-machined failed: $(systemctl status --no-pager systemd-machined 2>&1 | tail -n 5 | tr '\n' ' ')"
assert_eq active "$(systemctl is-active systemd-machined)" "systemd-machined"
list=$(machinectl list --no-legend 2>&1) || fail "machinectl list failed: $list"
t1=$(date +%s.%N)
ok "machinectl list works (machined up in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}') s, machines: '${list:-none}')"
[[ -d "$CG/machine.slice" ]] || fail "expected machine.slice once machined runs"
ok "machine.slice exists"

echo "# systemd boot: job started at guest uptime ${boot} s (systemd userspace from $(systemctl show -P UserspaceTimestampMonotonic | awk '{printf "%.1f", $1 / 1e6}') s)"
finish
