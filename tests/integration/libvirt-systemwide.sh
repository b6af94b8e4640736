#!/bin/bash
# System-wide mode: `vmmem-system-wide enable` diverts /usr/bin/qemu-system-x86_64 (dpkg-divert)
# and installs vmmem-qemu in its place, so a domain with no <emulator> at all gets its envelope
# from the running libvirtd (its capabilities cache is invalidated, not restarted); `disable`
# restores the original binary and domains run unwrapped again.  Needs the host's
# /var/lib/dpkg inside the VM (vm-run.sh --expose /var/lib/dpkg): /usr, /etc and /var/lib/dpkg
# become overlays, so nothing of the host changes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt-lib.sh"

REAL=$QEMU_BIN.real
[[ -x "$SYSTEM_WIDE" ]] || fail "expected $SYSTEM_WIDE"
lv_start --system
lv_vmmemd_start

sha() { sha256sum "$1" | cut -d' ' -f1; }
caps_xml() { echo "/var/cache/libvirt/qemu/capabilities/$(printf '%s' "$QEMU_BIN" | sha256sum | cut -d' ' -f1).xml"; }
qemu_sha=$(sha "$QEMU_BIN")
launcher_sha=$(sha "$VMMEM_QEMU")
[[ "$qemu_sha" != "$launcher_sha" ]] || fail "expected $QEMU_BIN to differ from vmmem-qemu before enable"

# A domain with no <emulator> and no envelope: what enable will change.
no_envelope() { # NAME: running, unwrapped
    local name=$1 pid cg
    pid=$(lv_pid "$name")
    cg=$(lv_cgroup "$name")
    is_exe "$pid" "$QEMU_BIN" || fail "$name: expected pid $pid to run $QEMU_BIN"
    assert_eq max "$(cg_read "$cg/memory.max")" "$name: no envelope, memory.max"
    grep -q '^vmmem-qemu' "$(lv_log "$name")" && fail "$name: expected no vmmem-qemu line in the domain log: $(grep '^vmmem-qemu' "$(lv_log "$name")")"
    ok "$name: plain qemu, no vmmem line in the log"
}
lv_create "$(lv_xml n0 128 1 --no-emulator)"
lv_log_cmd n0
assert_eq "$QEMU_BIN" "${LV_ARGV[0]}" "n0: libvirt's default emulator"
no_envelope n0
lv_destroy n0
[[ -f "$(caps_xml)" ]] || fail "expected libvirt's capabilities cache $(caps_xml) for $QEMU_BIN"

# enable
out=$("$SYSTEM_WIDE" enable --launcher "$VMMEM_QEMU" 2>&1) || fail "vmmem-system-wide enable: expected exit 0, got: $out"
ok "enable: $(head -n 1 <<<"$out")"
assert_contains "$(dpkg-divert --list "$QEMU_BIN")" "local diversion of $QEMU_BIN to $REAL" "enable: dpkg-divert --list"
assert_eq "$launcher_sha" "$(sha "$QEMU_BIN")" "enable: $QEMU_BIN is a copy of vmmem-qemu (sha256)"
assert_eq "$qemu_sha" "$(sha "$REAL")" "enable: $REAL is the original qemu (sha256)"
assert_eq "root root 755" "$(stat -c '%U %G %a' "$QEMU_BIN")" "enable: the wrapper's owner and mode"
DROPIN=/etc/vmmem/vmmem.conf.d/50-vmmem-system-wide.conf
grep -qx "qemu = $REAL" "$DROPIN" || fail "enable: expected 'qemu = $REAL' in $DROPIN, it has: $(cat "$DROPIN" 2>&1)"
ok "enable: $DROPIN names the real qemu"
[[ ! -e "$(caps_xml)" ]] || fail "enable: expected libvirt's capabilities cache for $QEMU_BIN to be dropped"
set +e
status_out=$("$SYSTEM_WIDE" status --launcher "$VMMEM_QEMU" 2>&1)
status=$?
set -e
assert_eq 0 "$status" "status after enable (output: $(tr '\n' ' ' <<<"$status_out"))"

# A domain with no <emulator>, started by the libvirtd that was already running.
if ! caps=$(timeout "$LV_TIMEOUT" virsh -c "$LV_URI" domcapabilities --virttype qemu 2>&1); then
    fail "domcapabilities after enable: $(tr '\n' ' ' <<<"$caps")"
fi
grep -q "<path>$QEMU_BIN</path>" <<<"$caps" || fail "domcapabilities after enable: expected <path>$QEMU_BIN</path>"
ok "domcapabilities works with the wrapper in place"
lv_create "$(lv_xml n1 256 2 --no-emulator --disk 32)"
pid=$(lv_pid n1)
cg=$(lv_cgroup n1)
lv_log_cmd n1
assert_eq "$QEMU_BIN" "$LV_LIVE0" "n1: argv[0] is libvirt's default emulator"
is_exe "$pid" "$REAL" || fail "n1: expected libvirt's pid $pid to run $REAL, it runs $(readlink "/proc/$pid/exe")"
ok "n1: libvirt's pid $pid runs the diverted $REAL"
json=$(lv_explain n1)
assert_eq "$(jq -r .memory_max <<<"$json")" "$(cg_read "$cg/memory.max")" "n1: /$cg/memory.max = vmmem explain"
assert_eq 1 "$(cg_read "$cg/memory.oom.group")" "n1: memory.oom.group"
grep -q "^vmmem-qemu: memory.max .* in /$cg (vmmemd answered in [0-9]* ms)$" "$(lv_log n1)" ||
    fail "n1: expected the envelope line in the domain log, got: $(grep '^vmmem-qemu' "$(lv_log n1)")"
ok "n1: the domain log has the envelope line"
assert_eq 0000000000000000 "$(proc_status "$pid" CapEff)" "n1: CapEff"
grep -q "<emulator>$QEMU_BIN</emulator>" "$(caps_xml)" 2>/dev/null ||
    fail "n1: expected libvirt to have re-probed $QEMU_BIN into $(caps_xml)"
ok "libvirt re-probed the wrapper into its capabilities cache"
lv_destroy n1

# disable
out=$("$SYSTEM_WIDE" disable 2>&1) || fail "vmmem-system-wide disable: expected exit 0, got: $out"
ok "disable: $(tail -n 1 <<<"$out")"
[[ -z "$(dpkg-divert --list "$QEMU_BIN")" ]] || fail "disable: expected no diversion, got: $(dpkg-divert --list "$QEMU_BIN")"
assert_eq "$qemu_sha" "$(sha "$QEMU_BIN")" "disable: $QEMU_BIN is the original qemu again (sha256)"
[[ ! -e "$REAL" ]] || fail "disable: expected $REAL to be gone"
[[ ! -e "$DROPIN" ]] || fail "disable: expected $DROPIN gone, it has: $(cat "$DROPIN")"
if [[ -f /etc/vmmem/vmmem.conf ]]; then
    grep -q "$REAL" /etc/vmmem/vmmem.conf && fail "disable: $REAL still named in /etc/vmmem/vmmem.conf"
fi
ok "disable: no diversion, no $REAL, the config no longer names it"
[[ -z "$(grep -rl 'vmmem-system-wide' /etc/apt/apt.conf.d 2>/dev/null)" ]] || fail "disable: the apt hook is still there"
ok "disable: no apt hook"
set +e
"$SYSTEM_WIDE" status >/dev/null 2>&1
status=$?
set -e
assert_eq 3 "$status" "status after disable"

lv_create "$(lv_xml n2 128 1 --no-emulator)"
no_envelope n2
lv_destroy n2

lv_note "done"
finish
