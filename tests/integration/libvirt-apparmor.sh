#!/bin/bash
# vmmem under AppArmor, as on a Debian 12 host: the real libvirtd 9.0 confined by Debian's
# usr.sbin.libvirtd profile, its real virt-aa-helper writing and loading a libvirt-<uuid> profile
# per domain, the kernel enforcing.  vmmem is installed as a user installs it (`meson install`
# into /usr/local, vmmemd from the shipped socket unit) and its AppArmor rules
# (launcher/apparmor/) are appended to Debian's local files as docs/libvirt.md says.
#   - the probe of /usr/local/bin/vmmem-qemu is refused by the daemon's profile without the rule
#     for it, and works with it;
#   - a domain through vmmem-qemu runs in enforce mode under its libvirt-<uuid> profile with
#     `vmmem explain`'s envelope and no DENIED line in the kernel log;
#   - negative controls, each with a new domain: without the rules, without the cgroup reads,
#     without the config file's, the start is refused and the kernel log has the DENIED line;
#   - system-wide mode (`vmmem-system-wide enable`): the domain profile must exec
#     qemu-system-x86_64.real, refused without that rule.
# Runs with systemd as PID 1 (vm-run.sh --systemd): AppArmor names a file by its path from the
# mount namespace's root, which in the chroot boot is /host/usr/...: Debian's profiles would not
# attach there.  Needs the host's /var/lib/dpkg (vm-run.sh --expose /var/lib/dpkg) for
# system-wide mode.  Nothing of the host changes: the root is an overlay.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt-lib.sh"

AA=/sys/kernel/security/apparmor
AA_DIR=/etc/apparmor.d
LOCAL_ABS=$AA_DIR/local/abstractions/libvirt-qemu
LOCAL_DAEMON=$AA_DIR/local/usr.sbin.libvirtd
PREFIX=/usr/local
DOC=$PREFIX/share/doc/vmmem/apparmor
LAUNCHER=$PREFIX/bin/vmmem-qemu
REAL=$QEMU_BIN.real
UUID_RE='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

lv_systemd_require /usr/lib/libvirt/virt-aa-helper /sbin/apparmor_parser /usr/bin/meson \
    "$AA_DIR/usr.sbin.libvirtd" "$AA_DIR/usr.lib.libvirt.virt-aa-helper" "$AA_DIR/libvirt/TEMPLATE.qemu" \
    "$AA_DIR/abstractions/libvirt-qemu" "$AA_DIR/abstractions/base" "$LOCAL_ABS" "$LOCAL_DAEMON"
# More for the results: the kernel log (the denials) and the profiles libvirt wrote.
lv_collect() {
    dmesg >"$LV_OUT/dmesg.log" 2>&1 || true
    cp -a "$AA_DIR/libvirt" "$LV_OUT/apparmor.d-libvirt" 2>/dev/null || true
}

# The kernel log's AppArmor denials: aa_mark remembers how many there are, aa_new prints those
# that came after.
aa_denied() { dmesg | grep 'apparmor="DENIED"' || true; }
AA_MARK=0
aa_mark() { AA_MARK=$(aa_denied | wc -l); }
aa_new() { aa_denied | tail -n +"$((AA_MARK + 1))"; }
aa_assert_none() { # WHAT
    local new
    new=$(aa_new)
    [[ -z "$new" ]] || fail "$1: expected no AppArmor denial in the kernel log, got: $new"
    ok "$1: no apparmor=\"DENIED\" line in the kernel log"
}
# Exactly the denial expected since the mark (a regular expression over the audit line); prints it.
aa_expect() { # ERE WHAT
    local new hit
    new=$(aa_new)
    hit=$(grep -E "$1" <<<"$new" || true)
    [[ -n "$hit" ]] || fail "$2: expected a kernel log line matching '$1', the new denials are: '$new'"
    [[ "$(wc -l <<<"$new")" == "$(wc -l <<<"$hit")" ]] ||
        fail "$2: expected only denials matching '$1', also: $(grep -v -E "$1" <<<"$new")"
    ok "$2: the kernel denied it: $(head -n 1 <<<"$hit" | sed 's/^.*apparmor=/apparmor=/')"
}

# The local abstraction: Debian's (empty) file plus TEXT.
abstraction_set() { # TEXT
    { cat "$LV_DIR/local-abstraction.orig"; printf '%s\n' "$1"; } >"$LOCAL_ABS"
}

# A domain start that must be refused: nothing left running, and its domain log says why.
refused() { # NAME
    local name=$1 left
    left=$(lvsh list --name --all | grep -x "$name" || true)
    [[ -z "$left" ]] || fail "$name: expected no domain after the refused start, virsh list has it"
    left=$(pgrep -u libvirt-qemu -l || true)
    [[ -z "$left" ]] || fail "$name: expected no process of libvirt-qemu after the refused start, found: $left"
    ok "$name: refused, nothing left running"
}

# 1. AppArmor on, Debian's profiles for libvirtd and virt-aa-helper loaded, enforcing.
mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security ||
    fail "cannot mount securityfs at /sys/kernel/security"
assert_eq Y "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" "AppArmor enabled in the kernel (/sys/module/apparmor/parameters/enabled)"
[[ -r "$AA/profiles" ]] || fail "expected $AA/profiles (AppArmor's securityfs)"
lsm=$(cat /sys/kernel/security/lsm)
[[ ",$lsm," == *,apparmor,* ]] || fail "expected apparmor among the active LSMs, /sys/kernel/security/lsm is '$lsm'"
ok "active LSMs: $lsm"
out=$(apparmor_parser -r "$AA_DIR/usr.sbin.libvirtd" "$AA_DIR/usr.lib.libvirt.virt-aa-helper" 2>&1) ||
    fail "apparmor_parser -r usr.sbin.libvirtd usr.lib.libvirt.virt-aa-helper: $out"
grep -qx 'libvirtd (enforce)' "$AA/profiles" || fail "expected 'libvirtd (enforce)' in $AA/profiles, it has: $(tr '\n' ' ' <"$AA/profiles")"
grep -qx 'virt-aa-helper (enforce)' "$AA/profiles" || fail "expected 'virt-aa-helper (enforce)' in $AA/profiles"
ok "Debian's profiles loaded: libvirtd, virt-aa-helper (enforce)"
cp "$LOCAL_ABS" "$LV_DIR/local-abstraction.orig"
cp "$LOCAL_DAEMON" "$LV_DIR/local-daemon.orig"

# 2. vmmem installed as a user would: meson install into /usr/local (which drops the build
#    folder's RUNPATH), ldconfig, /etc/vmmem/vmmem.conf, vmmemd from the installed socket unit.
#    The build folder may be a read-only bind: install from an overlay of it (meson writes its log).
built_prefix=$(meson introspect "$BUILD" --buildoptions |
    "$LV_PYTHON" -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
[[ "$built_prefix" == "$PREFIX" ]] ||
    fail "expected a build configured with prefix $PREFIX (meson's default), where vmmem's AppArmor rules expect the launcher; $BUILD has prefix $built_prefix"
lv_overlay "$BUILD"
meson install -C "$BUILD" --no-rebuild >"$LV_OUT/meson-install.log" 2>&1 ||
    fail "meson install -C $BUILD: $(tail -n 3 "$LV_OUT/meson-install.log" | tr '\n' ' ')"
ldconfig
for f in "$LAUNCHER" "$PREFIX/bin/vmmem" "$PREFIX/sbin/vmmemd" "$PREFIX/sbin/vmmem-system-wide" \
    "$DOC/libvirt-qemu.d-vmmem" "$DOC/usr.sbin.libvirtd-vmmem" "$PREFIX/lib/systemd/system/vmmemd.socket"; do
    [[ -e "$f" ]] || fail "meson install: expected $f"
done
lib=$(ldd "$PREFIX/bin/vmmem" | awk '$1 == "libvmmem.so.0" {print $3}')
assert_eq "$PREFIX/lib/x86_64-linux-gnu/libvmmem.so.0" "$lib" "the installed vmmem loads the installed libvmmem.so.0"
VMMEM=$PREFIX/bin/vmmem
LV_EMULATOR=$LAUNCHER
LV_CONF=/etc/vmmem/vmmem.conf
install -d -m 0755 /etc/vmmem
printf '[vmmem]\npolicy = strict\n' >"$LV_CONF"
chmod 0644 "$LV_CONF"
# sw1 turns the filter on from its XML: root allows that setting, in a drop-in (which the
# launcher, confined, must be able to read).
install -d -m 0755 /etc/vmmem/vmmem.conf.d
printf '[vmmem]\ndomain-env = seccomp\n' >/etc/vmmem/vmmem.conf.d/50-domain-env.conf
chmod 0644 /etc/vmmem/vmmem.conf.d/50-domain-env.conf
systemctl daemon-reload
systemctl enable --now vmmemd.socket >/dev/null 2>&1 ||
    fail "systemctl enable --now vmmemd.socket: $(journalctl -b --no-pager -u vmmemd.socket | tail -n 3 | tr '\n' ' ')"
[[ -S "$LV_SOCK" ]] || fail "expected the installed vmmemd.socket to listen on $LV_SOCK"
ok "vmmem installed under $PREFIX, vmmemd.socket listens on $LV_SOCK"

# libvirtd, virtlogd and machined as units.
lv_systemd_start
lpid=$(systemctl show -P MainPID libvirtd)
assert_eq "libvirtd (enforce)" "$(cat "/proc/$lpid/attr/current")" "libvirtd (pid $lpid) confined"
caps=$(lvsh capabilities) || fail "virsh capabilities failed"
grep -q '<model>apparmor</model>' <<<"$caps" ||
    fail "expected libvirt's security driver apparmor (<secmodel><model>apparmor</model>), got: $(grep -A1 '<secmodel>' <<<"$caps" | tr '\n' ' ')"
ok "virsh capabilities: <secmodel><model>apparmor</model>"

# 3. The probe runs under the daemon's profile: refused without the rule for the launcher.
aa_mark
if out=$(timeout "$LV_TIMEOUT" virsh -c "$LV_URI" domcapabilities --emulatorbin "$LAUNCHER" --virttype qemu 2>&1); then
    fail "domcapabilities --emulatorbin $LAUNCHER without the daemon's rule: expected a refusal, it worked"
fi
assert_contains "$out" "Failed to start QEMU binary $LAUNCHER for probing" "probe without usr.sbin.libvirtd-vmmem: refused"
assert_contains "$out" "cannot execute binary $LAUNCHER: Permission denied" "probe without usr.sbin.libvirtd-vmmem: the reason"
aa_expect "apparmor=\"DENIED\" operation=\"exec\" profile=\"libvirtd\" name=\"$LAUNCHER\"" "probe without usr.sbin.libvirtd-vmmem"

# The rules, as docs/libvirt.md tells the user: appended to Debian's local files, the daemon's
# profile reloaded (libvirtd keeps running: a replaced profile applies to it at once; the domain
# profiles are generated at each start and include the local abstraction then).
cat "$DOC/usr.sbin.libvirtd-vmmem" >>"$LOCAL_DAEMON"
cat "$DOC/libvirt-qemu.d-vmmem" >>"$LOCAL_ABS"
out=$(apparmor_parser -r "$AA_DIR/usr.sbin.libvirtd" 2>&1) || fail "apparmor_parser -r usr.sbin.libvirtd with vmmem's rule: $out"
ok "vmmem's rules appended to $LOCAL_DAEMON and $LOCAL_ABS, libvirtd's profile reloaded"
FULL_RULES=$(cat "$DOC/libvirt-qemu.d-vmmem")

aa_mark
if ! caps=$(timeout "$LV_TIMEOUT" virsh -c "$LV_URI" domcapabilities --emulatorbin "$LAUNCHER" --virttype qemu 2>&1); then
    fail "domcapabilities --emulatorbin $LAUNCHER with the daemon's rule: expected success, got: $(tr '\n' ' ' <<<"$caps")"
fi
grep -q "<path>$LAUNCHER</path>" <<<"$caps" || fail "domcapabilities: expected <path>$LAUNCHER</path>"
ok "domcapabilities through $LAUNCHER under libvirtd's profile: machine $(sed -n 's|^ *<machine>\(.*\)</machine>|\1|p' <<<"$caps")"
aa_assert_none "the probe"

# 4. A domain through vmmem-qemu, confined by its libvirt-<uuid> profile.
aa_mark
lv_create "$(lv_xml aa1 192 1 --disk 32)"
pid=$(lv_pid aa1)
uuid=$(lvsh domuuid aa1)
[[ "$uuid" =~ ^$UUID_RE$ ]] || fail "aa1: expected a uuid from virsh domuuid, got '$uuid'"
assert_eq "libvirt-$uuid (enforce)" "$(cat "/proc/$pid/attr/current")" "aa1: qemu (pid $pid) confined by its domain profile"
grep -qx "libvirt-$uuid (enforce)" "$AA/profiles" || fail "aa1: expected 'libvirt-$uuid (enforce)' among the loaded profiles"
grep -q '#include <abstractions/libvirt-qemu>' "$AA_DIR/libvirt/libvirt-$uuid" ||
    fail "aa1: expected virt-aa-helper's $AA_DIR/libvirt/libvirt-$uuid to include abstractions/libvirt-qemu"
ok "aa1: virt-aa-helper wrote and loaded $AA_DIR/libvirt/libvirt-$uuid"
is_exe "$pid" "$QEMU_BIN" || fail "aa1: expected libvirt's pid $pid to run $QEMU_BIN, it runs $(readlink "/proc/$pid/exe")"
cg=$(lv_cgroup aa1)
lv_log_cmd aa1
assert_eq "$LAUNCHER" "$LV_LIVE0" "aa1: argv[0] is the <emulator>"
json=$(lv_explain aa1)
assert_eq "$(jq -r .memory_max <<<"$json")" "$(cg_read "$cg/memory.max")" "aa1: /$cg/memory.max = vmmem explain"
assert_eq "$(jq -r '.memory_high // "max"' <<<"$json")" "$(cg_read "$cg/memory.high")" "aa1: memory.high"
assert_eq "$(jq -r '.swap_max // 0' <<<"$json")" "$(cg_read "$cg/memory.swap.max")" "aa1: memory.swap.max"
assert_eq 1 "$(cg_read "$cg/memory.oom.group")" "aa1: memory.oom.group"
line=$(grep '^vmmem-qemu: ' "$(lv_log aa1)" || true)
[[ "$(wc -l <<<"$line")" == 1 && "$line" == "vmmem-qemu: memory.max "*" in /$cg (vmmemd answered in "*" ms)" ]] ||
    fail "aa1: expected one line 'vmmem-qemu: memory.max ... in /$cg' in the domain log, got: '$line'"
ok "aa1: domain log: $line"
filters0=$(proc_status "$pid" Seccomp_filters)
aa_assert_none "aa1"
lv_destroy aa1

# 5. Negative controls: the same domain, started again with less in the local abstraction (a
#    new start: virt-aa-helper writes a new profile from the abstraction on disk).
#    a) Without vmmem's rules: the domain profile may not exec the launcher.  It never runs, so
#       the reason is libvirt's, not a vmmem-qemu line.
abstraction_set ""
aa_mark
lv_create_fails "$(lv_xml aa2 192 1)"
assert_contains "$LV_REFUSAL" "cannot execute binary $LAUNCHER: Permission denied" "aa2 without vmmem's rules: libvirt's error"
grep -q '^vmmem-qemu' "$(lv_log aa2)" && fail "aa2: expected no vmmem-qemu line (the launcher never ran), got: $(grep '^vmmem-qemu' "$(lv_log aa2)")"
aa_expect "apparmor=\"DENIED\" operation=\"exec\" profile=\"libvirt-$UUID_RE\" name=\"$LAUNCHER\"" "aa2 without vmmem's rules"
refused aa2

# The launcher's own one-line reason, when it runs but may not read what it needs.
refused_by_launcher() { # NAME WHAT EXPECTED-LINE ERE-OF-THE-DENIED-PATH
    local name=$1 what=$2 line
    line=$(grep '^vmmem-qemu' "$(lv_log "$name")" || true)
    [[ "$line" == "$3" ]] ||
        fail "$name $what: expected the one line '$3' in the domain log, got: '$line'$(lv_log_tail "$name")"
    assert_contains "$LV_REFUSAL" "$line" "$name $what: libvirt's error carries the launcher's line"
    ok "$name $what: $line"
    aa_expect "apparmor=\"DENIED\" operation=\"open\" profile=\"libvirt-$UUID_RE\" name=\"$4\" pid=[0-9]+ comm=\"vmmem-qemu\"" "$name $what"
    refused "$name"
}
#    b) Without the reads that recognise a libvirt domain (strict policy): the first one denied
#       is the launcher's own cgroup, and it says so rather than guess "not libvirt" (the
#       command line's parse still tries the mount table, for hugetlbfs, and is denied too).
abstraction_set "$(grep -v -e '@{PROC}' -e '/sys/fs/cgroup' <<<"$FULL_RULES")"
aa_mark
lv_create_fails "$(lv_xml aa3 192 1)"
refused_by_launcher aa3 "without the cgroup reads" \
    "vmmem-qemu: cannot read '/proc/self/cgroup': Permission denied" '/proc/[0-9]+/(cgroup|mounts)'
#    c) Without the config file's read.
abstraction_set "$(grep -v -e '/etc/vmmem/' <<<"$FULL_RULES")"
aa_mark
lv_create_fails "$(lv_xml aa4 192 1)"
refused_by_launcher aa4 "without the config rule" \
    "vmmem-qemu: cannot read '/etc/vmmem/vmmem.conf': Permission denied" /etc/vmmem/vmmem.conf

# 6. System-wide mode: vmmem-qemu is /usr/bin/qemu-system-x86_64 (which the abstraction lets the
#    profile exec already) and execs the diverted qemu-system-x86_64.real; with vmmem's seccomp
#    filter, so that this exec happens under no_new_privs.
lv_overlay /var/lib/dpkg
out=$("$PREFIX/sbin/vmmem-system-wide" enable 2>&1) || fail "vmmem-system-wide enable: $out"
ok "enable: $(head -n 1 <<<"$out")"
cmp -s "$LAUNCHER" "$QEMU_BIN" || fail "enable: expected $QEMU_BIN to be a copy of $LAUNCHER"
abstraction_set "$FULL_RULES"
aa_mark
lv_create "$(lv_xml sw1 128 1 --no-emulator --env VMMEM_SECCOMP=on)"
pid=$(lv_pid sw1)
uuid=$(lvsh domuuid sw1)
assert_eq "libvirt-$uuid (enforce)" "$(cat "/proc/$pid/attr/current")" "sw1: qemu (pid $pid) confined by its domain profile"
is_exe "$pid" "$REAL" || fail "sw1: expected libvirt's pid $pid to run $REAL, it runs $(readlink "/proc/$pid/exe")"
ok "sw1: libvirt's pid $pid runs $REAL"
cg=$(lv_cgroup sw1)
lv_log_cmd sw1
json=$(lv_explain sw1)
assert_eq "$(jq -r .memory_max <<<"$json")" "$(cg_read "$cg/memory.max")" "sw1: /$cg/memory.max = vmmem explain"
line=$(grep '^vmmem-qemu: ' "$(lv_log sw1)" || true)
[[ "$(wc -l <<<"$line")" == 1 && "$line" == "vmmem-qemu: memory.max "*" in /$cg (vmmemd answered in "*" ms)" ]] ||
    fail "sw1: expected one line 'vmmem-qemu: memory.max ... in /$cg' in the domain log, got: '$line'"
ok "sw1: domain log: $line"
# The exec of .real happened under no_new_privs ('ix' is allowed there, a profile change is not).
assert_eq "$((filters0 + 1))" "$(proc_status "$pid" Seccomp_filters)" "sw1: Seccomp_filters = aa1's ($filters0) + vmmem's one"
aa_assert_none "sw1"
lv_destroy sw1
#    Without the rule for qemu-system-x86_64.real: the launcher runs, applies the envelope, and
#    then says in one line that it cannot exec qemu.
abstraction_set "$(grep -v -e "$REAL" <<<"$FULL_RULES")"
aa_mark
lv_create_fails "$(lv_xml sw2 128 1 --no-emulator)"
lines=$(grep '^vmmem-qemu' "$(lv_log sw2)" || true)
line=$(tail -n 1 <<<"$lines")
[[ "$(wc -l <<<"$lines")" == 2 && "$(head -n 1 <<<"$lines")" == "vmmem-qemu: memory.max "* &&
    "$line" == "vmmem-qemu: cannot execute '$REAL': Permission denied" ]] ||
    fail "sw2 without the .real rule: expected the envelope line, then \"vmmem-qemu: cannot execute '$REAL': Permission denied\" in the domain log, got: '$lines'"
assert_contains "$LV_REFUSAL" "$line" "sw2 without the .real rule: libvirt's error carries the launcher's line"
ok "sw2 without the .real rule: $line"
aa_expect "apparmor=\"DENIED\" operation=\"exec\" profile=\"libvirt-$UUID_RE\" name=\"$REAL\"" "sw2 without the .real rule"
refused sw2
abstraction_set "$FULL_RULES"
out=$("$PREFIX/sbin/vmmem-system-wide" disable 2>&1) || fail "vmmem-system-wide disable: $out"
ok "disable: $(tail -n 1 <<<"$out")"

lv_note "done"
finish
