#!/bin/bash
# vmmem-qemu as libvirt's <emulator>, with the real libvirtd 9.0 and vmmemd: the capability
# probe creates nothing; three domains (different RAM, vCPUs, a disk, VNC, a tap NIC, iothreads)
# get the envelope `vmmem explain` plans for the argv libvirt generated, on their domain cgroup,
# with qemu keeping libvirt's pid and fds and no capability; memtune hard_limit is kept (and
# warned about when below vmmem's figure); `virsh destroy` leaves nothing of vmmem's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt-lib.sh"

lv_start
lv_vmmemd_start

# Nothing of vmmem's but vmmemd's socket.
assert_no_vmmem_state() { # WHAT
    [[ ! -e "$CG/vmmem.slice" ]] || fail "$1: expected no /vmmem.slice, found one"
    local left
    left=$(find /run/vmmem -mindepth 1 ! -path "$LV_SOCK" 2>/dev/null | tr '\n' ' ')
    [[ -z "$left" ]] || fail "$1: expected only $LV_SOCK under /run/vmmem, found: $left"
    ok "$1: no vmmem.slice, only the socket under /run/vmmem"
}

# 1. The capability probe, through vmmem-qemu: passes straight through, contacts nothing,
#    creates nothing, and libvirt caches capabilities for the launcher as emulator.
dirs0=$(lv_cg_dirs)
limits0=$(lv_cg_limits)
requests0=$(grep -c 'pid [0-9]* uid' "$LV_OUT/vmmemd.log" || true)
if ! caps=$(timeout "$LV_TIMEOUT" virsh -c "$LV_URI" domcapabilities --emulatorbin "$VMMEM_QEMU" --virttype qemu 2>&1); then
    fail "virsh domcapabilities --emulatorbin $VMMEM_QEMU: expected success, got: $(tr '\n' ' ' <<<"$caps")"
fi
grep -q "<path>$VMMEM_QEMU</path>" <<<"$caps" ||
    fail "domcapabilities: expected <path>$VMMEM_QEMU</path>, got: $(head -n 3 <<<"$caps" | tr '\n' ' ')"
machine=$(sed -n 's|^ *<machine>\(.*\)</machine>|\1|p' <<<"$caps")
[[ "$machine" == pc-* ]] || fail "domcapabilities: expected a pc-* machine type from the probed qemu, got '$machine'"
ok "domcapabilities through vmmem-qemu: <path> is the launcher, machine $machine"
cached=$(grep -l "<emulator>$VMMEM_QEMU</emulator>" /var/cache/libvirt/qemu/capabilities/*.xml 2>/dev/null | head -n 1)
[[ -n "$cached" ]] || fail "expected libvirt's capabilities cache to hold an entry for $VMMEM_QEMU, found none"
ok "libvirt cached the probe's capabilities ($cached)"
[[ "$(lv_cg_dirs)" == "$dirs0" ]] ||
    fail "probe: expected no new cgroup, the tree changed: $(diff <(echo "$dirs0") <(lv_cg_dirs) | tr '\n' ' ')"
ok "probe: no cgroup created"
[[ "$(lv_cg_limits)" == "$limits0" ]] ||
    fail "probe: expected no memory limit changed: $(diff <(echo "$limits0") <(lv_cg_limits) | tr '\n' ' ')"
ok "probe: no limit changed"
assert_eq "$requests0" "$(grep -c 'pid [0-9]* uid' "$LV_OUT/vmmemd.log" || true)" "probe: requests vmmemd served"
assert_no_vmmem_state "after the probe"

# 2. Three domains through vmmem-qemu.
check_domain() { # NAME RAM_MIB VCPUS
    local name=$1 ram=$2 vcpus=$3 pid cg json log
    pid=$(lv_pid "$name")
    cg=$(lv_cgroup "$name")
    [[ "$cg" == machine/qemu-[0-9]*-"$name".libvirt-qemu ]] ||
        fail "$name: expected the domain cgroup machine/qemu-N-$name.libvirt-qemu, got /$cg"
    is_exe "$pid" "$QEMU_BIN" ||
        fail "$name: expected libvirt's pid $pid to run $QEMU_BIN, it runs $(readlink "/proc/$pid/exe")"
    lv_log_cmd "$name"
    json=$(lv_explain "$name")
    assert_eq "$VMMEM_QEMU" "$LV_LIVE0" "$name: qemu (libvirt's pid $pid) runs with argv[0] = the <emulator>"
    assert_eq "$pid" "$(sed -n "s/^<domstatus .* pid='\([0-9]*\)'.*/\1/p" "/run/libvirt/qemu/$name.xml")" \
        "$name: the pid in libvirt's domain status"
    local others
    others=$(grep -l "^0::/$cg/" /proc/[0-9]*/cgroup 2>/dev/null | grep -v "^/proc/$pid/" | tr '\n' ' ' || true)
    [[ -z "$others" ]] || fail "$name: expected qemu alone in /$cg, also there: $others"
    ok "$name: qemu is the only process in /$cg"

    assert_eq "$((ram * 1048576))" "$(jq -r .vm.ram_size <<<"$json")" "$name: explain sees the RAM"
    assert_eq "$vcpus" "$(jq -r .vm.vcpus <<<"$json")" "$name: explain sees the vCPUs"
    local max
    max=$(jq -r .memory_max <<<"$json")
    assert_eq "$max" "$(cg_read "$cg/memory.max")" "$name: /$cg/memory.max = vmmem explain"
    assert_eq "$(jq -r '.memory_high // "max"' <<<"$json")" "$(cg_read "$cg/memory.high")" "$name: memory.high"
    assert_eq "$(jq -r '.swap_max // 0' <<<"$json")" "$(cg_read "$cg/memory.swap.max")" "$name: memory.swap.max"
    assert_eq "1" "$(cg_read "$cg/memory.oom.group")" "$name: memory.oom.group"
    assert_eq "$(jq -r '.memory_low // 0' <<<"$json")" "$(cg_read "$cg/memory.low")" "$name: memory.low"
    assert_eq "$(jq -r '.memory_min // 0' <<<"$json")" "$(cg_read "$cg/memory.min")" "$name: memory.min"
    local current
    current=$(cg_read "$cg/memory.current")
    ((current > 0 && current < max)) || fail "$name: expected 0 < memory.current < memory.max $max, got $current"
    ok "$name: memory.current $current inside the envelope"

    assert_eq 0000000000000000 "$(proc_status "$pid" CapEff)" "$name: qemu's CapEff"
    assert_eq 0000000000000000 "$(proc_status "$pid" CapPrm)" "$name: qemu's CapPrm"
    assert_eq 0000000000000000 "$(proc_status "$pid" CapAmb)" "$name: qemu's CapAmb"

    log=$(lv_log "$name")
    local line
    line=$(grep '^vmmem-qemu: ' "$log" || true)
    [[ "$(wc -l <<<"$line")" == 1 && "$line" == "vmmem-qemu: memory.max "*" in /$cg (vmmemd answered in "*" ms)" ]] ||
        fail "$name: expected one line 'vmmem-qemu: memory.max ... in /$cg' in $log, got: '$line'"
    ok "$name: domain log: $line"

    local hard
    hard=$(lvsh memtune "$name" | awk '$1 == "hard_limit" {print $3}')
    assert_eq "$((max / 1024))" "$hard" "$name: virsh memtune hard_limit (KiB) = memory.max / 1024"

    # vmmemd labelled the domain cgroup with what it sized it from: `vmmem status` lists it.
    local st
    st=$("$VMMEM" status --json "$name") || fail "$name: vmmem status $name failed"
    assert_eq "cgroup $cg $pid" "$(jq -r '.envelopes[0] | "\(.kind) \(.path) \(.qemu_pid)"' <<<"$st")" \
        "$name: vmmem status: someone else's cgroup, libvirt's qemu"
    assert_eq "$max $(jq -r .guest_ram <<<"$json") $(jq -r .overhead <<<"$json")" \
        "$(jq -r '.envelopes[0] | "\(.memory_max) \(.guest_ram) \(.overhead_budget)"' <<<"$st")" \
        "$name: vmmem status: memory.max, guest RAM and overhead budget as vmmemd planned them"
}

lv_create "$(lv_xml t1 128 1 --disk 64)"
modprobe tun || fail "modprobe tun failed: t2's tap NIC needs /dev/net/tun"
lv_create "$(lv_xml t2 256 2 --vnc --tap vmmemtap0)"
lv_create "$(lv_xml t3 384 3 --iothreads 2 --disk 32 --nic)"
check_domain t1 128 1
check_domain t2 256 2
check_domain t3 384 3

# The fds libvirt opened for qemu survive the exec: stdin/stdout/stderr, the monitor socket
# (-chardev ...,fd=N), the tap device (-netdev {"type":"tap","fd":"M"}), the pidfile.
lv_log_cmd t2
pid=$(lv_pid t2)
argv=" ${LV_ARGV[*]} "
mon=$(sed -n 's/.*-chardev socket,id=charmonitor,fd=\([0-9]*\),.*/\1/p' <<<"$argv")
tapfd=$(sed -n 's/.*"type":"tap","fd":"\([0-9]*\)".*/\1/p' <<<"$argv")
[[ -n "$mon" && -n "$tapfd" ]] ||
    fail "t2: expected libvirt to pass the monitor (charmonitor,fd=N) and the tap ({\"type\":\"tap\",\"fd\":\"M\"}) as fds, argv: $argv"
[[ "$(readlink "/proc/$pid/fd/$mon")" == socket:* ]] ||
    fail "t2: expected qemu's fd $mon (libvirt's monitor) to be a socket, got '$(readlink "/proc/$pid/fd/$mon")'"
ok "t2: the monitor socket libvirt passed as fd $mon is open in qemu"
assert_eq /dev/net/tun "$(readlink "/proc/$pid/fd/$tapfd")" "t2: fd $tapfd (libvirt's tap) in qemu"
assert_eq vmmemtap0 "$(awk '$1 == "iff:" {print $2}' "/proc/$pid/fdinfo/$tapfd")" "t2: the tap fd's interface"
assert_eq /dev/null "$(readlink "/proc/$pid/fd/0")" "t2: qemu's stdin"
for fd in 1 2; do
    [[ "$(readlink "/proc/$pid/fd/$fd")" == pipe:* ]] ||
        fail "t2: expected qemu's fd $fd to be libvirt's pipe to virtlogd, got '$(readlink "/proc/$pid/fd/$fd")'"
done
ok "t2: stdout and stderr are libvirt's pipe to virtlogd"
[[ -n "$(find "/proc/$pid/fd" -lname "/run/libvirt/qemu/t2.pid")" ]] ||
    fail "t2: expected qemu to hold the pidfile /run/libvirt/qemu/t2.pid open (-pidfile), it does not"
ok "t2: qemu holds the pidfile libvirt named"
lv_log_cmd t3
assert_eq 2 "$(jq -r .vm.iothreads <<<"$(lv_explain t3)")" "t3: explain sees the iothreads"
[[ -d "$CG/$(lv_cgroup t3)/iothread1" ]] || fail "t3: expected libvirt's iothread1 cgroup under the domain"
ok "t3: libvirt placed the iothreads in their own cgroups under the envelope"
# The three envelopes differ: RAM and vCPUs count.
m1=$(cg_read "$(lv_cgroup t1)/memory.max")
m2=$(cg_read "$(lv_cgroup t2)/memory.max")
m3=$(cg_read "$(lv_cgroup t3)/memory.max")
((m1 < m2 && m2 < m3)) || fail "expected memory.max t1 < t2 < t3, got $m1 $m2 $m3"
ok "envelopes grow with the VM: $m1 < $m2 < $m3"

lv_note "three domains checked"
declare -A cgs
for d in t1 t2 t3; do cgs[$d]=$(lv_cgroup "$d"); done
for d in t1 t2 t3; do lv_destroy "$d"; done
lv_note "three domains destroyed"
for d in t1 t2 t3; do
    [[ ! -e "$CG/${cgs[$d]}" ]] || fail "$d: expected libvirt to remove /${cgs[$d]} after destroy, it is still there"
done
ok "virsh destroy: the domain cgroups are gone"
assert_no_vmmem_state "after virsh destroy"
left=$(pgrep -u libvirt-qemu -l || true)
[[ -z "$left" ]] || fail "after virsh destroy: expected no process of libvirt-qemu, found: $left"
ok "after virsh destroy: no qemu left"

# 3. <memtune><hard_limit> is libvirt's: kept, with a warning when below vmmem's figure.
lv_create "$(lv_xml h1 192 1 --hard-limit 327680)"
cg=$(lv_cgroup h1)
lv_log_cmd h1
json=$(lv_explain h1)
assert_eq "$((327680 * 1024))" "$(cg_read "$cg/memory.max")" "h1: memory.max keeps libvirt's hard_limit"
(($(jq -r .memory_max <<<"$json") > 327680 * 1024)) || fail "h1: the test needs vmmem's figure above 320 MiB"
assert_eq 1 "$(cg_read "$cg/memory.oom.group")" "h1: memory.oom.group still vmmem's"
assert_eq 327680 "$(lvsh memtune h1 | awk '$1 == "hard_limit" {print $3}')" "h1: virsh memtune hard_limit"
log=$(cat "$(lv_log h1)")
assert_contains "$log" "vmmem-qemu: memory.max 320 MiB kept from libvirt's memtune" "h1: the log says the limit was kept"
warning=$(grep '^vmmem-qemu: warning: ' <<<"$log" || true)
[[ "$(wc -l <<<"$warning")" == 1 && "$warning" == *"hard_limit"*"below"* ]] ||
    fail "h1: expected one 'vmmem-qemu: warning: ...hard_limit... below ...' line in the domain log, got: '$warning'"
ok "h1: $warning"

lv_create "$(lv_xml h2 128 1 --hard-limit 4194304)"
cg=$(lv_cgroup h2)
assert_eq "$((4194304 * 1024))" "$(cg_read "$cg/memory.max")" "h2: memory.max keeps libvirt's larger hard_limit"
grep -q '^vmmem-qemu: warning' "$(lv_log h2)" &&
    fail "h2: expected no warning for a hard_limit above vmmem's figure: $(grep '^vmmem-qemu: warning' "$(lv_log h2)")"
ok "h2: no warning for a hard_limit above vmmem's figure"
lv_destroy h1
lv_destroy h2
assert_no_vmmem_state "after the memtune domains"

lv_note "done"
finish
