#!/bin/bash
# vmmem-qemu as libvirt's <emulator> on a systemd host (run with vm-run.sh --systemd): virtlogd,
# libvirtd and systemd-machined run as systemd units, libvirt registers the domain with machined
# and puts qemu in machine.slice/machine-qemu\x2dN\x2dNAME.scope/libvirt/emulator; vmmemd writes
# the envelope `vmmem explain` plans for libvirt's argv on .../libvirt, systemd leaves it alone
# on daemon-reload, and `virsh destroy` removes the scope.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt-lib.sh"

lv_systemd_require
lv_systemd_start
assert_eq /system.slice/libvirtd.service "$(sed -n 's/^0:://p' "/proc/$(systemctl show -P MainPID libvirtd)/cgroup")" "libvirtd's cgroup"

# vmmemd as shipped (launcher/systemd/): socket-activated, the hardened service with only
# CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE.  Only ExecStart differs: the build's binary and the
# test's config.
unit="$BUILD/launcher/systemd/vmmemd.service"
[[ -r "$unit" ]] || fail "expected the configured unit $unit"
sed "s|^ExecStart=.*|ExecStart=$VMMEMD --config $LV_CONF|" "$unit" >/etc/systemd/system/vmmemd.service
cp "$VMMEM_SOURCE_DIR/launcher/systemd/vmmemd.socket" /etc/systemd/system/
mkdir -p "$(dirname "$LV_CONF")"
[[ -e "$LV_CONF" ]] || : >"$LV_CONF"
systemctl daemon-reload
systemctl start vmmemd.socket || fail "systemctl start vmmemd.socket: $(journalctl -b --no-pager -u vmmemd.socket | tail -n 3 | tr '\n' ' ')"
[[ -S "$LV_SOCK" ]] || fail "expected vmmemd.socket to listen on $LV_SOCK"
assert_eq inactive "$(systemctl is-active vmmemd.service || true)" "vmmemd.service before the first request"
ok "vmmemd.socket listens on $LV_SOCK"

name=sd1
lv_create "$(lv_xml "$name" 128 1)"
pid=$(lv_pid "$name")
is_exe "$pid" "$QEMU_BIN" ||
    fail "$name: expected libvirt's pid $pid to run $QEMU_BIN, it runs $(readlink "/proc/$pid/exe")"
id=$(lvsh domid "$name")
assert_eq 1 "$id" "$name: domain id (the first domain of a fresh libvirtd)"
scope="machine-qemu\\x2d$id\\x2d$name.scope"
assert_eq "0::/machine.slice/$scope/libvirt/emulator" "$(cat "/proc/$pid/cgroup")" "$name: qemu's /proc/$pid/cgroup"
cg=$(lv_cgroup "$name")
assert_eq "machine.slice/$scope/libvirt" "$cg" "$name: the domain cgroup"
assert_eq active "$(systemctl is-active "$scope")" "$name: systemd unit $scope"
machines=$(machinectl list --no-legend 2>&1) || fail "machinectl list failed: $machines"
assert_contains "$machines" "qemu-$id-$name" "$name: registered with machined (machinectl list)"

assert_eq active "$(systemctl is-active vmmemd.service)" "vmmemd.service, started by the socket"
vpid=$(systemctl show -P MainPID vmmemd.service)
assert_eq 0000000000000000 "$(proc_status "$vpid" CapAmb)" "vmmemd's ambient capabilities"
assert_eq 1 "$(proc_status "$vpid" NoNewPrivs)" "vmmemd's NoNewPrivs (the unit's hardening)"
# CAP_DAC_READ_SEARCH (bit 2) and CAP_SYS_PTRACE (bit 19), nothing else.
assert_eq 0000000000080004 "$(proc_status "$vpid" CapBnd)" "vmmemd's bounding set"
served=$(journalctl -b --no-pager -o cat -u vmmemd.service | grep -c "uid [0-9]*: memory.max " || true)
assert_eq 1 "$served" "requests the socket-activated vmmemd served (journal)"

lv_log_cmd "$name"
assert_eq "$VMMEM_QEMU" "$LV_LIVE0" "$name: qemu runs with argv[0] = the <emulator>"
json=$(lv_explain "$name")
max=$(jq -r .memory_max <<<"$json")
assert_eq "$max" "$(cg_read "$cg/memory.max")" "$name: /$cg/memory.max = vmmem explain"
assert_eq "$(jq -r '.memory_high // "max"' <<<"$json")" "$(cg_read "$cg/memory.high")" "$name: memory.high"
assert_eq "$(jq -r '.swap_max // 0' <<<"$json")" "$(cg_read "$cg/memory.swap.max")" "$name: memory.swap.max"
assert_eq 1 "$(cg_read "$cg/memory.oom.group")" "$name: memory.oom.group"
current=$(cg_read "$cg/memory.current")
((current > 0 && current < max)) || fail "$name: expected 0 < memory.current < memory.max $max, got $current"
ok "$name: memory.current $current inside the envelope"
line=$(grep '^vmmem-qemu: ' "$(lv_log "$name")" || true)
[[ "$(wc -l <<<"$line")" == 1 && "$line" == "vmmem-qemu: memory.max "*" in /$cg (vmmemd answered in "*" ms)" ]] ||
    fail "$name: expected one line 'vmmem-qemu: memory.max ... in /$cg' in the domain log, got: '$line'"
ok "$name: domain log: $line"
# The scope's own level is systemd's (machined's unit), the envelope sits below it.
assert_eq max "$(cg_read "machine.slice/$scope/memory.max")" "$name: memory.max of the scope itself (systemd's)"
hard=$(lvsh memtune "$name" | awk '$1 == "hard_limit" {print $3}')
assert_eq "$((max / 1024))" "$hard" "$name: virsh memtune hard_limit (KiB) = memory.max / 1024"

# systemd re-applies its units' cgroup settings on daemon-reload; the envelope is not one of them.
systemctl daemon-reload || fail "systemctl daemon-reload failed"
assert_eq "$max" "$(cg_read "$cg/memory.max")" "$name: memory.max after systemctl daemon-reload"
assert_eq 1 "$(cg_read "$cg/memory.oom.group")" "$name: memory.oom.group after systemctl daemon-reload"

lv_destroy "$name"
wait_gone "$CG/machine.slice/$scope" 10 || fail "$name: expected /machine.slice/$scope gone 10 s after virsh destroy"
ok "$name: virsh destroy removed /machine.slice/$scope"
state=$(systemctl is-active "$scope" 2>&1) || true
[[ "$state" == inactive || "$state" == failed ]] || fail "$name: expected $scope inactive after destroy, got '$state'"
ok "$name: $scope is $state"
machines=$(machinectl list --no-legend 2>&1) || fail "machinectl list failed: $machines"
[[ "$machines" != *"qemu-$id-$name"* ]] || fail "$name: still registered with machined after destroy: $machines"
ok "$name: unregistered from machined"
[[ ! -e "$CG/vmmem.slice" ]] || fail "expected no /vmmem.slice (libvirt mode creates no cgroup), found one"
ok "no vmmem.slice"

lv_note "done"
finish
