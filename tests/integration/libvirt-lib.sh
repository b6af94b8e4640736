# shellcheck shell=bash
# Helpers for the libvirt integration tests: the real libvirtd 9.0 (system mode, no systemd)
# inside the test VM.  Source after lib.sh.  docs/testing.md has the VM; the facts behind this
# setup are in the project's testbed notes (tmpfs state folders, virtlogd, libvirtd's own
# cgroups /machine/qemu-N-NAME.libvirt-qemu).
#
#   lv_start [--system]   writable /etc (overlay), state folders, virtlogd, libvirtd; --system
#                         also overlays /usr and /var/lib/dpkg (needs vm-run.sh --expose
#                         /var/lib/dpkg) so that a test may dpkg-divert qemu
#   lv_xml NAME MIB VCPUS [OPTIONS]  writes $LV_DIR/NAME.xml, a <domain type='$LV_DOMAIN_TYPE'>
#                         (kvm under systemd, qemu in the chroot boot), prints its path; OPTIONS:
#       --disk MIB          a qcow2 disk (qemu-img, tmpfs)
#       --vnc               VNC graphics on 127.0.0.1
#       --iothreads N       N iothreads (the disk, if any, uses the first)
#       --nic               a user-mode (slirp) network card
#       --tap DEV           a network card on tap device DEV, which libvirt creates and passes
#                           to qemu as an open fd (needs the tun module)
#       --hard-limit KIB    <memtune><hard_limit>
#       --env NAME=VALUE    <qemu:commandline><qemu:env> (repeatable)
#       --arg WORD          <qemu:commandline><qemu:arg> (repeatable): appended to qemu's argv
#       --emulator PATH     the <emulator> (default: vmmem-qemu of the build); --no-emulator: none
#       --kernel F --initrd F --cmdline TEXT  direct kernel boot
#       --serial-file F     the first serial port into file F
#   lv_create FILE        virsh create; the domain's name is the XML file's
#   lv_pid NAME           qemu's pid from libvirt's pidfile
#   lv_cgroup NAME        the domain cgroup (relative to $CG): the parent of qemu's `emulator`
#   lv_log_cmd NAME       fills LV_ENV (assignments) and LV_ARGV (binary + args) from the last
#                         start in the domain log, checks LV_ARGV[1..] against
#                         /proc/PID/cmdline, and sets LV_LIVE0 to the live argv[0]
#   lv_explain NAME [explain options]  after lv_log_cmd NAME: `vmmem explain --json` for that
#                         argv and the VMMEM_* settings among LV_ENV, with vmmemd's config
#                         ($LV_CONF)
#   lv_vmmemd_start [CONF] / lv_vmmemd_stop
#   lv_cg_limits          every memory limit file of the whole cgroup tree, "path value" lines
#   lv_stop               destroy every domain, stop the daemons, keep the logs in the results

LV_URI=qemu:///system
LV_DIR=/run/vmmem-test
LV_OUT="${VMMEM_VM_RESULTS:-/tmp}/libvirt"
LV_SOCK=/run/vmmem/vmmemd.sock
LV_CONF="$LV_DIR/vmmemd.conf"
VMMEMD="$BUILD/launcher/vmmemd"
SYSTEM_WIDE="${VMMEM_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/launcher/vmmem-system-wide.sh"
LV_TIMEOUT=${LV_TIMEOUT:-120} # seconds for one `virsh create` (nested TCG, shared machine)
LV_PYTHON=/usr/bin/python3     # not a pyenv shim: the VM's PATH has no ~/.pyenv
LIBVIRTD_PID=""
VMMEMD_PID=""

mkdir -p "$LV_DIR" "$LV_OUT"
: >"$LV_CONF"

lvsh() { virsh -q -c "$LV_URI" "$@"; }

# Seconds since the test started, for the timing notes in the output.
LV_T0=$(date +%s.%N)
lv_note() { echo "# [$(awk -v t0="$LV_T0" -v t="$(date +%s.%N)" 'BEGIN{printf "%.1f", t - t0}')s] $*"; }

# An overlay with the host's read-only folder as its lower layer: writable, thrown away with
# the VM.
lv_overlay() { # DIR
    local dir=$1 ov="$LV_DIR/overlay${1//\//_}"
    mkdir -p "$ov/upper" "$ov/work"
    mount -t overlay overlay -o "lowerdir=$dir,upperdir=$ov/upper,workdir=$ov/work" "$dir" ||
        fail "cannot mount an overlay on $dir (expected a writable $dir for libvirt)"
}

lv_start() { # [--system]
    [[ -x /usr/sbin/libvirtd && -x /usr/sbin/virtlogd && -x /usr/bin/virsh ]] ||
        fail "libvirt missing: expected /usr/sbin/libvirtd, /usr/sbin/virtlogd, /usr/bin/virsh (apt-get install libvirt-daemon-system libvirt-clients)"
    [[ -x "$LV_PYTHON" ]] || fail "expected $LV_PYTHON (apt-get install python3)"
    id libvirt-qemu >/dev/null 2>&1 || fail "expected the user libvirt-qemu (libvirt-daemon-system creates it)"
    # devtmpfs has no /dev/fd, and bash's <(...) needs it.
    [[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd
    lv_overlay /etc
    if [[ "${1:-}" == --system ]]; then
        [[ -s /var/lib/dpkg/status ]] ||
            fail "expected the host's /var/lib/dpkg inside the VM (vm-run.sh --expose /var/lib/dpkg), found no status file"
        lv_overlay /usr
        lv_overlay /var/lib/dpkg
    fi
    # No default network: it needs dnsmasq and a bridge, and only slows the start.
    rm -f /etc/libvirt/qemu/networks/autostart/*.xml
    install -d -m 0755 /var/lib/libvirt /var/log/libvirt /var/log/libvirt/qemu /run/libvirt
    install -d -m 0711 /var/cache/libvirt /var/cache/libvirt/qemu /var/lib/libvirt/images /var/lib/libvirt/boot
    install -d -m 0750 -o libvirt-qemu -g libvirt-qemu /var/lib/libvirt/qemu
    # Daemons with a service's environment, not the test's VMMEM_* variables.
    local -a envc=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
    "${envc[@]}" virtlogd -d || fail "virtlogd -d failed (expected it to daemonize)"
    "${envc[@]}" libvirtd >"$LV_OUT/libvirtd.log" 2>&1 </dev/null &
    LIBVIRTD_PID=$!
    local i
    for i in $(seq 1 300); do
        [[ -S /run/libvirt/libvirt-sock ]] && break
        kill -0 "$LIBVIRTD_PID" 2>/dev/null ||
            fail "libvirtd exited before its socket appeared: $(tail -n 3 "$LV_OUT/libvirtd.log" | tr '\n' ' ')"
        sleep 0.1
    done
    [[ -S /run/libvirt/libvirt-sock ]] || fail "no /run/libvirt/libvirt-sock 30 s after starting libvirtd"
    local v
    v=$(timeout 60 virsh -c "$LV_URI" version 2>&1) || fail "virsh version failed: $v"
    lv_note "libvirtd up ($(grep -m1 'Running hypervisor' <<<"$v"))"
    trap lv_exit_trap EXIT
}

lv_exit_trap() {
    local rc=$?
    lv_stop >/dev/null 2>&1 || true
    return "$rc"
}

# The emulator every domain gets unless told otherwise.
LV_EMULATOR="$VMMEM_QEMU"
# KVM where libvirt can give qemu /dev/kvm: only with systemd as PID 1 (lv_systemd_require).  In
# the chroot boot, libvirt 9.0 makes qemu's private /dev (namespaces = ["mount"]) from a helper
# that setns()es into qemu's mount namespace, which puts the helper at that namespace's root:
# the initramfs, not the chroot.  Every node (null, urandom, kvm) is made there, and qemu finds
# its /dev empty ("Could not access KVM kernel module: No such file or directory").
LV_DOMAIN_TYPE=qemu

lv_xml() { # NAME MIB VCPUS [OPTIONS]
    local name=$1 mib=$2 vcpus=$3
    shift 3
    local disk="" vnc=0 iothreads=0 nic=0 tap="" hard="" emulator="$LV_EMULATOR" kernel="" initrd=""
    local cmdline="" serial=""
    local -a envs=() args=()
    while [[ $# -gt 0 ]]; do
        case "$1" in
        --disk) disk=$2; shift 2 ;;
        --vnc) vnc=1; shift ;;
        --iothreads) iothreads=$2; shift 2 ;;
        --nic) nic=1; shift ;;
        --tap) tap=$2; shift 2 ;;
        --hard-limit) hard=$2; shift 2 ;;
        --env) envs+=("$2"); shift 2 ;;
        --arg) args+=("$2"); shift 2 ;;
        --emulator) emulator=$2; shift 2 ;;
        --no-emulator) emulator=""; shift ;;
        --kernel) kernel=$2; shift 2 ;;
        --initrd) initrd=$2; shift 2 ;;
        --cmdline) cmdline=$2; shift 2 ;;
        --serial-file) serial=$2; shift 2 ;;
        *) fail "lv_xml: unknown option $1" ;;
        esac
    done
    local file="$LV_DIR/$name.xml" img="/var/lib/libvirt/images/$name.qcow2"
    if [[ -n "$disk" ]]; then
        rm -f "$img"
        qemu-img create -q -f qcow2 "$img" "${disk}M" || fail "qemu-img create $img failed"
    fi
    {
        echo "<domain type='$LV_DOMAIN_TYPE' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
        echo "  <name>$name</name>"
        echo "  <memory unit='MiB'>$mib</memory>"
        echo "  <vcpu>$vcpus</vcpu>"
        ((iothreads > 0)) && echo "  <iothreads>$iothreads</iothreads>"
        [[ -n "$hard" ]] && echo "  <memtune><hard_limit unit='KiB'>$hard</hard_limit></memtune>"
        echo "  <os><type arch='x86_64' machine='q35'>hvm</type>"
        if [[ -n "$kernel" ]]; then
            echo "    <kernel>$kernel</kernel>"
            [[ -n "$initrd" ]] && echo "    <initrd>$initrd</initrd>"
            [[ -n "$cmdline" ]] && echo "    <cmdline>$(lv_xml_escape "$cmdline")</cmdline>"
        else
            echo "    <boot dev='hd'/>"
        fi
        echo "  </os>"
        echo "  <features><acpi/></features>"
        echo "  <devices>"
        [[ -n "$emulator" ]] && echo "    <emulator>$emulator</emulator>"
        if [[ -n "$disk" ]]; then
            local io=""
            ((iothreads > 0)) && io=" iothread='1'"
            echo "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'$io/>"
            echo "      <source file='$img'/><target dev='vda' bus='virtio'/></disk>"
        fi
        ((nic)) && echo "    <interface type='user'><model type='virtio'/></interface>"
        [[ -n "$tap" ]] &&
            echo "    <interface type='ethernet'><target dev='$tap' managed='yes'/><model type='virtio'/></interface>"
        [[ -n "$serial" ]] && echo "    <serial type='file'><source path='$serial'/><target port='0'/></serial>"
        if ((vnc)); then
            echo "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>"
            echo "    <video><model type='vga'/></video>"
        fi
        echo "  </devices>"
        if ((${#envs[@]} + ${#args[@]})); then
            echo "  <qemu:commandline>"
            local kv
            for kv in "${args[@]}"; do
                echo "    <qemu:arg value='$(lv_xml_escape "$kv")'/>"
            done
            for kv in "${envs[@]}"; do
                echo "    <qemu:env name='$(lv_xml_escape "${kv%%=*}")' value='$(lv_xml_escape "${kv#*=}")'/>"
            done
            echo "  </qemu:commandline>"
        fi
        echo "</domain>"
    } >"$file"
    echo "$file"
}

lv_xml_escape() { # TEXT: for a single-quoted XML attribute
    local s=$1
    s=${s//&/&amp;}
    s=${s//</&lt;}
    s=${s//>/&gt;}
    s=${s//\'/&apos;}
    printf '%s' "$s"
}

# virsh create; fails the test unless the domain is running.  LV_CREATE_OUT has virsh's output.
lv_create() { # FILE
    local file=$1 name t0 t1
    name=$(basename "$file" .xml)
    t0=$(date +%s.%N)
    if ! LV_CREATE_OUT=$(timeout "$LV_TIMEOUT" virsh -c "$LV_URI" create "$file" 2>&1); then
        fail "virsh create $name: expected the domain to start, virsh said: $(tr '\n' ' ' <<<"$LV_CREATE_OUT")$(lv_log_tail "$name")"
    fi
    t1=$(date +%s.%N)
    local state
    state=$(lvsh domstate --domain "$name" 2>/dev/null) || true
    [[ "$state" == running ]] || fail "domain $name after virsh create: expected state running, got '$state'"
    lv_note "virsh create $name: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}') s"
}

# virsh create that must fail; LV_CREATE_OUT gets virsh's error output, LV_REFUSAL the reason
# libvirt reported: virsh's error, which normally ends with the emulator's last lines ("process
# exited while connecting to monitor: ..."); when qemu's end races libvirt's connect to the
# monitor, libvirt 9.0 says only "failed to connect to monitor socket" and the emulator's lines
# are in the domain log alone, so LV_REFUSAL is then that start's part of the log.
lv_create_fails() { # FILE
    local file=$1 name
    name=$(basename "$file" .xml)
    if LV_CREATE_OUT=$(timeout "$LV_TIMEOUT" virsh -c "$LV_URI" create "$file" 2>&1); then
        fail "virsh create $name: expected a refusal, but the domain started ($(tr '\n' ' ' <<<"$LV_CREATE_OUT"))"
    fi
    LV_REFUSAL=$LV_CREATE_OUT
    if [[ "$LV_CREATE_OUT" == *"failed to connect to monitor socket"* ]]; then
        LV_REFUSAL=$(awk '/: starting up /{s = ""} {s = s $0 "\n"} END {printf "%s", s}' "$(lv_log "$name")")
        lv_note "$name: libvirt reported only its monitor error (qemu's exit raced its connect); the reason is taken from the domain log"
    fi
}

lv_log() { echo "/var/log/libvirt/qemu/$1.log"; }

lv_log_tail() { # NAME: for failure messages
    local log
    log=$(lv_log "$1")
    [[ -f "$log" ]] && printf ' [domain log tail: %s]' "$(tail -n 4 "$log" | tr '\n' '|')"
    return 0
}

lv_pid() { # NAME
    local f="/run/libvirt/qemu/$1.pid" pid
    [[ -s "$f" ]] || fail "domain $1: expected libvirt's pidfile $f, found none"
    pid=$(tr -d '[:space:]' <"$f")
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null ||
        fail "domain $1: pidfile $f holds '$pid', expected a live pid"
    echo "$pid"
}

# The domain cgroup, relative to $CG: the parent of the `emulator` cgroup libvirt put qemu in.
lv_cgroup() { # NAME
    local pid path
    pid=$(lv_pid "$1")
    path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
    [[ "$path" == */emulator ]] ||
        fail "domain $1: expected qemu (pid $pid) in libvirt's .../emulator cgroup, it is in '$path'"
    path=${path%/emulator}
    path=${path#/}
    [[ -f "$CG/$path/memory.max" ]] || fail "domain $1: expected memory files in /$path"
    echo "$path"
}

# Parses the last start in the domain log: libvirt writes the environment assignments, the
# binary and the arguments, shell-quoted, one per line joined by " \".
LV_PARSE_LOG='
import re, shlex, sys
text = open(sys.argv[1], encoding="utf-8", errors="surrogateescape").read().split("\n")
starts = [i for i, l in enumerate(text) if ": starting up libvirt version" in l]
if not starts:
    sys.exit("no \"starting up\" line in " + sys.argv[1])
buf = []
for line in text[starts[-1] + 1:]:
    if line.endswith(" \\"):
        buf.append(line[:-2])
    else:
        buf.append(line)
        break
words = shlex.split(" ".join(buf))
env = []
while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
    env.append(words.pop(0))
if not words:
    sys.exit("no command after the environment in " + sys.argv[1])
out = sys.stdout.buffer
for w in env:
    out.write(w.encode("utf-8", "surrogateescape") + b"\0")
out.write(b"--\0")
for w in words:
    out.write(w.encode("utf-8", "surrogateescape") + b"\0")
'

LV_ENV=()
LV_ARGV=()
LV_NAME=""
LV_LIVE0=""
lv_log_cmd() { # NAME
    local name=$1 log pid
    LV_NAME=$name
    log=$(lv_log "$name")
    [[ -s "$log" ]] || fail "domain $name: expected the domain log $log"
    local -a all
    mapfile -d '' all < <("$LV_PYTHON" -c "$LV_PARSE_LOG" "$log") ||
        fail "domain $name: cannot parse the command line in $log"
    LV_ENV=()
    LV_ARGV=()
    local w seen=0
    for w in "${all[@]}"; do
        if ((seen)); then
            LV_ARGV+=("$w")
        elif [[ "$w" == -- ]]; then
            seen=1
        else
            LV_ENV+=("$w")
        fi
    done
    ((${#LV_ARGV[@]} > 2)) || fail "domain $name: parsed only '${LV_ARGV[*]}' from $log"
    # The log must be what runs: the same arguments as the live process.  argv[0] is compared
    # by the caller: a shell wrapper execs qemu under qemu's own name.
    pid=$(lv_pid "$name")
    local -a live
    mapfile -d '' live <"/proc/$pid/cmdline"
    [[ "${live[*]:1}" == "${LV_ARGV[*]:1}" && ${#live[@]} -eq ${#LV_ARGV[@]} ]] ||
        fail "domain $name: arguments in the log (${#LV_ARGV[@]} words) differ from /proc/$pid/cmdline (${#live[@]} words): $(diff <(printf '%s\n' "${LV_ARGV[@]:1}") <(printf '%s\n' "${live[@]:1}") | tr '\n' ' ')"
    LV_LIVE0=${live[0]}
}

# `vmmem explain --json` for the argv libvirt generated, with vmmemd's config and the VMMEM_*
# settings vmmemd honours from the requester's environment.  Call lv_log_cmd NAME first (not
# in a subshell: it sets LV_ENV, LV_ARGV and LV_LIVE0).
lv_explain() { # NAME [explain options...]
    local name=$1
    shift
    [[ "$LV_NAME" == "$name" ]] || fail "lv_explain $name: call lv_log_cmd $name first"
    local -a envs=() kv
    # vmmemd honours these only when its config lists them in domain-env (none by default).
    local allowed
    allowed=$(sed -n 's/^domain-env *= *//p' "$LV_CONF" 2>/dev/null | tr ',' ' ')
    for kv in "${LV_ENV[@]}"; do
        case "$kv" in
        VMMEM_SWAP=*) [[ " $allowed " == *" swap "* ]] && envs+=("$kv") ;;
        VMMEM_HIGH=*) [[ " $allowed " == *" high "* ]] && envs+=("$kv") ;;
        VMMEM_RATIO=*) [[ " $allowed " == *" ratio "* ]] && envs+=("$kv") ;;
        esac
    done
    env -i PATH="$PATH" "${envs[@]}" "$VMMEM" explain --json --config "$LV_CONF" "$@" -- "${LV_ARGV[@]:1}" ||
        fail "domain $name: vmmem explain refused libvirt's argv (${LV_ARGV[*]:1})"
}

lv_vmmemd_start() { # [CONF]
    local conf=${1:-$LV_CONF}
    [[ -x "$VMMEMD" ]] || fail "expected the root helper $VMMEMD (build it: meson compile -C $BUILD)"
    rm -f "$LV_SOCK"
    "$VMMEMD" --socket "$LV_SOCK" --config "$conf" >>"$LV_OUT/vmmemd.log" 2>&1 </dev/null &
    VMMEMD_PID=$!
    local i
    for i in $(seq 1 100); do
        [[ -S "$LV_SOCK" ]] && return 0
        kill -0 "$VMMEMD_PID" 2>/dev/null ||
            fail "vmmemd exited before its socket appeared: $(tail -n 3 "$LV_OUT/vmmemd.log" | tr '\n' ' ')"
        sleep 0.1
    done
    fail "vmmemd: expected $LV_SOCK within 10 s, none"
}

lv_vmmemd_stop() {
    [[ -n "$VMMEMD_PID" ]] || return 0
    kill "$VMMEMD_PID" 2>/dev/null || true
    wait "$VMMEMD_PID" 2>/dev/null || true
    VMMEMD_PID=""
}

# Every memory limit of the whole VM cgroup tree, one "path file value" line each.
lv_cg_limits() {
    local f
    find "$CG" -type f \( -name memory.max -o -name memory.high -o -name memory.swap.max \
        -o -name memory.oom.group -o -name memory.low -o -name memory.min \) -print0 |
        sort -z | while IFS= read -r -d '' f; do
        printf '%s %s\n' "${f#"$CG"}" "$(cat "$f" 2>/dev/null)"
    done
}

lv_cg_dirs() { find "$CG" -mindepth 1 -type d | sort; }

# Destroys a domain and waits until qemu is gone.
lv_destroy() { # NAME
    local name=$1 pid=""
    [[ -s "/run/libvirt/qemu/$name.pid" ]] && pid=$(tr -d '[:space:]' <"/run/libvirt/qemu/$name.pid")
    local out t0
    t0=$(date +%s.%N)
    out=$(lvsh destroy --domain "$name" 2>&1) || fail "virsh destroy $name: $out"
    lv_note "virsh destroy $name: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s"
    if [[ -n "$pid" ]]; then
        local _
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || return 0
            sleep 0.1
        done
        fail "domain $name: qemu pid $pid still alive 10 s after virsh destroy"
    fi
}

# Tests booted with systemd as PID 1 (vm-run.sh --systemd): libvirtd, virtlogd and machined run
# as units, and /etc is already writable (the root is an overlay).
#   lv_systemd_require [FILE...]  systemd is PID 1; libvirt's binaries, machined and FILEs exist
#   lv_systemd_start              state folders, machined + virtlogd + libvirtd started
# Either test's EXIT trap is lv_systemd_exit_trap, which also runs lv_collect (when defined) to
# keep more in the results.
lv_systemd_require() { # [FILE...]
    local exe f
    require_kvm
    LV_DOMAIN_TYPE=kvm
    exe=$(readlink /proc/1/exe)
    [[ "$exe" == */lib/systemd/systemd ]] ||
        fail "expected systemd as PID 1 (register this test with 'systemd': true / run vm-run.sh --systemd), /proc/1/exe is '$exe'"
    for f in /usr/sbin/libvirtd /usr/sbin/virtlogd /usr/bin/virsh /lib/systemd/systemd-machined /usr/bin/machinectl "$@"; do
        [[ -e "$f" ]] || fail "expected $f (tests/install-deps.sh installs it)"
    done
    [[ -x "$LV_PYTHON" ]] || fail "expected $LV_PYTHON (apt-get install python3)"
    id libvirt-qemu >/dev/null 2>&1 || fail "expected the user libvirt-qemu (libvirt-daemon-system creates it)"
    trap lv_systemd_exit_trap EXIT
}

lv_systemd_exit_trap() {
    local rc=$?
    lv_stop >/dev/null 2>&1 || true
    journalctl -b --no-pager -o short-monotonic -u libvirtd -u virtlogd -u systemd-machined \
        -u 'machine-*.scope' -u vmmemd.service -u vmmemd.socket >"$LV_OUT/journal-libvirt.log" 2>&1 || true
    if declare -F lv_collect >/dev/null; then lv_collect || true; fi
    return "$rc"
}

lv_systemd_start() {
    local u v
    # State folders as lv_start makes them (/var/* are empty tmpfs in the VM).  No default
    # network: dnsmasq and a bridge only slow the start.
    rm -f /etc/libvirt/qemu/networks/autostart/*.xml
    install -d -m 0755 /var/lib/libvirt /var/log/libvirt /var/log/libvirt/qemu /run/libvirt
    install -d -m 0711 /var/cache/libvirt /var/cache/libvirt/qemu /var/lib/libvirt/images
    install -d -m 0750 -o libvirt-qemu -g libvirt-qemu /var/lib/libvirt/qemu
    for u in systemd-machined virtlogd libvirtd; do
        systemctl start "$u" ||
            fail "systemctl start $u failed: $(journalctl -b --no-pager -u "$u" | tail -n 5 | tr '\n' ' ')"
        assert_eq active "$(systemctl is-active "$u")" "systemctl start $u"
    done
    v=$(timeout 60 virsh -c "$LV_URI" version 2>&1) || fail "virsh version failed: $v"
    lv_note "libvirtd up under systemd ($(grep -m1 'Running hypervisor' <<<"$v"))"
}

lv_stop() {
    local d
    if [[ -S /run/libvirt/libvirt-sock ]]; then
        for d in $(timeout 30 virsh -q -c "$LV_URI" list --name 2>/dev/null); do
            timeout 30 virsh -q -c "$LV_URI" destroy "$d" >/dev/null 2>&1 || true
        done
    fi
    cp -f /var/log/libvirt/qemu/*.log "$LV_OUT/" 2>/dev/null || true
    lv_vmmemd_stop
    if [[ -n "$LIBVIRTD_PID" ]]; then
        kill "$LIBVIRTD_PID" 2>/dev/null || true
        wait "$LIBVIRTD_PID" 2>/dev/null || true
        LIBVIRTD_PID=""
    fi
    [[ -s /run/libvirt/virtlogd.pid ]] && kill "$(cat /run/libvirt/virtlogd.pid)" 2>/dev/null
    return 0
}

# Whether PID runs FILE (device and inode: libvirt's private mount namespace makes
# /proc/PID/exe read as /host/... from the test's chroot).
is_exe() { # PID FILE
    [[ "$(stat -L -c %d:%i "/proc/$1/exe" 2>/dev/null)" == "$(stat -L -c %d:%i "$2")" ]]
}

# Waits (up to 10 s) until PID runs FILE or is gone; true when it runs FILE.
await_exec() { # PID FILE
    local i
    for i in $(seq 1 200); do
        is_exe "$1" "$2" && return 0
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# A qemu's capabilities and seccomp state from /proc.
proc_status() { # PID FIELD
    awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}
