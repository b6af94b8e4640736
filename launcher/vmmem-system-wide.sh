#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vmmem-system-wide: put vmmem-qemu in place of /usr/bin/qemu-system-x86_64 (Debian's
# dpkg-divert way), so that management stacks that never set <emulator> (virt-manager, Nova,
# oVirt) start every libvirt domain inside its envelope.  See docs/libvirt.md.
#
#   vmmem-system-wide enable [--launcher PATH] [--qemu PATH]
#   vmmem-system-wide refresh [--auto] [--launcher PATH] [--qemu PATH]
#   vmmem-system-wide disable [--qemu PATH]
#   vmmem-system-wide status [--launcher PATH] [--qemu PATH]
#
# VMMEM_SYSTEM_WIDE_ROOT=DIR (tests only) prefixes every path and points dpkg-divert at
# DIR/var/lib/dpkg; paths written into files stay the unprefixed ones.
set -Eeuo pipefail

PROG=vmmem-system-wide
ROOT=${VMMEM_SYSTEM_WIDE_ROOT:-}
QEMU=/usr/bin/qemu-system-x86_64
LAUNCHER=
LAUNCHER_GIVEN=0
AUTO=0
# A drop-in of its own (docs/config.md: read after vmmem.conf), so that the administrator's
# file is never edited.
DROPIN=/etc/vmmem/vmmem.conf.d/50-vmmem-system-wide.conf
HOOK=/etc/apt/apt.conf.d/80vmmem-system-wide
CAPS_DIR=/var/cache/libvirt/qemu/capabilities
# In /run itself, which only root may write: no one else can plant a symlink there or hold the
# lock (unlike /run/lock, which is world-writable).
LOCK=/run/vmmem-system-wide.lock
DEFAULT_SOCKET=/run/vmmem/vmmemd.sock

DROPIN_MARK="# Written by '$PROG enable'; '$PROG disable' removes it."
HOOK_MARK="// Installed by '$PROG enable'; '$PROG disable' removes it."

UNDO=()
TMP=
HANDLED=0

usage() {
    cat <<EOF
usage: $PROG enable [--launcher PATH] [--qemu PATH]
       $PROG refresh [--auto] [--launcher PATH] [--qemu PATH]
       $PROG disable [--qemu PATH]
       $PROG status [--launcher PATH] [--qemu PATH]

enable   divert QEMU (default $QEMU) to QEMU.real, install vmmem-qemu as QEMU,
         set 'qemu = QEMU.real' in $DROPIN, install an apt hook
refresh  invalidate libvirt's capabilities cache for QEMU (after a qemu upgrade) and
         re-copy vmmem-qemu if the installed one differs; --auto: only when needed
disable  undo enable
status   show what is in place (exit 0 enabled, 1 partly enabled, 3 disabled)
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*"; }

# Everything that can go wrong ends here: undo this run's changes, then one line on stderr.
die() {
    local msg="$*" failed
    failed=$(rollback)
    HANDLED=1
    if [[ -n "$failed" ]]; then
        msg="$msg; undoing failed for:$failed (run '$PROG status')"
    elif ((${#UNDO[@]})); then
        msg="$msg; nothing was changed"
    fi
    printf '%s: %s\n' "$PROG" "$msg" >&2
    exit 1
}

rollback() {
    local i failed=
    for ((i = ${#UNDO[@]} - 1; i >= 0; i--)); do
        "${UNDO[i]}" >/dev/null 2>&1 || failed+=" ${UNDO[i]#undo_}"
    done
    printf '%s' "$failed"
}

on_exit() {
    local rc=$?
    if ((rc != 0 && !HANDLED)); then
        HANDLED=1
        local failed
        failed=$(rollback)
        printf '%s: internal error at line %s (%s)%s\n' "$PROG" "${ERR_LINE:-?}" \
            "${ERR_CMD:-?}" "${failed:+; undoing failed for:$failed}" >&2
    fi
    [[ -n "$TMP" ]] && rm -rf "$TMP"
    return "$rc"
}
trap on_exit EXIT
trap 'ERR_LINE=$LINENO ERR_CMD=$BASH_COMMAND' ERR
trap 'die "interrupted"' INT TERM HUP

# Run a command quietly; on failure die with the command's last line of output.
run() {
    local out
    if ! out=$("$@" 2>&1); then
        out=${out%$'\n'}
        local name=$1
        [[ $name == setsid ]] && name=$3
        [[ $name == divert ]] && name=dpkg-divert
        die "$name failed: ${out##*$'\n'}"
    fi
}

# The path as seen from here (prefixed in test mode).
p() { printf '%s%s' "$ROOT" "$1"; }

divert() {
    if [[ -n "$ROOT" ]]; then
        dpkg-divert --admindir "$ROOT/var/lib/dpkg" --instdir "$ROOT" "$@"
    else
        dpkg-divert "$@"
    fi
}

need_root() {
    # A test root may belong to anyone; the real system needs root.
    [[ -n "$ROOT" || $(id -u) == 0 ]] || die "$1 needs root"
}

# Paths end up in an apt.conf string and a shell command line: keep them boring.
check_path() {
    [[ "$2" == /* && "$2" =~ ^[A-Za-z0-9/._+-]+$ && "$2" != */ ]] ||
        die "$1 '$2' must be an absolute path of letters, digits and /._+-"
}

# Opened without truncation (<>) in a folder only root may write, and refused if it is a
# symlink, so the lock can neither clobber nor follow anything.
lock() {
    local f dir
    f=$(p "$LOCK")
    dir=${f%/*}
    mkdir -p "$dir"
    if [[ -z "$ROOT" ]]; then
        [[ "$(stat -c '%u' "$dir")" == 0 && $((0$(stat -c '%a' "$dir") & 022)) == 0 ]] ||
            die "$dir must belong to root and be writable by root only, for the lock $f"
    fi
    [[ ! -L "$f" ]] || die "the lock $f is a symlink; remove it"
    (umask 077 && : 9<>"$f") 2>/dev/null || die "cannot open the lock $f"
    exec 9<>"$f"
    flock -w 60 9 || die "another $PROG is running (lock $f)"
}

# A step that must not be cut in half (dpkg-divert renames, then records): the command runs in
# a session of its own, out of reach of the terminal's ^C, and a signal to this script waits
# until the step is over, when it stops the run and undoes everything.
INTERRUPTED=0
critical() {
    local -a cmd=("$@")
    if [[ $1 == divert ]]; then
        cmd=(dpkg-divert)
        [[ -n "$ROOT" ]] && cmd+=(--admindir "$ROOT/var/lib/dpkg" --instdir "$ROOT")
        cmd+=("${@:2}")
    fi
    trap 'INTERRUPTED=1' INT TERM HUP
    run setsid -w "${cmd[@]}"
    trap 'die "interrupted"' INT TERM HUP
    ((!INTERRUPTED)) || die "interrupted"
}

mktmp() { [[ -n "$TMP" ]] || TMP=$(mktemp -d "${TMPDIR:-/tmp}/$PROG.XXXXXX"); }

# --- what is in place ----------------------------------------------------------------------

REAL() { printf '%s.real' "$QEMU"; }

# DSTATE: "none", "ours" (a local diversion to QEMU.real) or "foreign"; DLINE: dpkg-divert's
# description of the diversion.
DSTATE=
DLINE=
divert_state() {
    local pkg to
    pkg=$(divert --listpackage "$QEMU" 2>&1) || die "dpkg-divert --listpackage failed: $pkg"
    DLINE=
    if [[ -z "$pkg" ]]; then
        DSTATE=none
        return 0
    fi
    to=$(divert --truename "$QEMU" 2>&1) || die "dpkg-divert --truename failed: $to"
    DLINE=$(divert --list "$QEMU" 2>&1) || die "dpkg-divert --list failed: $DLINE"
    if [[ "$pkg" == LOCAL && "$to" == "$(REAL)" ]]; then
        DSTATE=ours
    else
        DSTATE=foreign
    fi
}

# Our drop-in holds exactly what enable writes.
dropin_text() { printf '%s\n[vmmem]\nqemu = %s\n' "$DROPIN_MARK" "$(REAL)"; }
conf_ok() { [[ -f "$(p "$DROPIN")" && "$(cat "$(p "$DROPIN")")" == "$(dropin_text)" ]]; }
hook_ok() { [[ -f "$(p "$HOOK")" ]] && grep -qF "$HOOK_MARK" "$(p "$HOOK")"; }
wrapper_ok() {
    [[ -f "$(p "$QEMU")" && -x "$(p "$QEMU")" && -f "$(p "$(REAL)")" ]] &&
        ! cmp -s "$(p "$QEMU")" "$(p "$(REAL)")"
}

resolve_launcher() {
    if ((LAUNCHER_GIVEN)); then
        return
    fi
    # The installed layout: sbindir/vmmem-system-wide next to bindir/vmmem-qemu.
    local self dir
    self=$(readlink -f "$0")
    dir=${self%/*}
    if [[ -x "$dir/../bin/vmmem-qemu" ]]; then
        LAUNCHER=$(readlink -f "$dir/../bin/vmmem-qemu")
    elif command -v vmmem-qemu >/dev/null 2>&1; then
        LAUNCHER=$(readlink -f "$(command -v vmmem-qemu)")
    else
        LAUNCHER=
    fi
}

# --- libvirt's capabilities cache ------------------------------------------------------------

# libvirt keeps /var/cache/libvirt/qemu/capabilities/<sha256 of the emulator path>.xml and
# trusts it while stat(emulator).st_ctime is unchanged.  The emulator path is the wrapper, so a
# qemu upgrade (which replaces only the diverted .real) would leave stale capabilities.  Setting
# a file's times to their own values changes its ctime and nothing else (not the mtime dpkg
# recorded), so the same call serves the wrapper and, after disable, the real binary.
caps_invalidate() {
    local f xml
    f=$(p "$QEMU")
    if [[ -e "$f" ]]; then
        run touch -c -r "$f" "$f"
    fi
    xml=$(p "$CAPS_DIR")/$(printf '%s' "$QEMU" | sha256sum | cut -d' ' -f1).xml
    if [[ -e "$xml" ]]; then
        run rm -f "$xml"
    fi
}

# --- enable ---------------------------------------------------------------------------------

# Copy, not symlink: AppArmor mediates exec by the resolved path, and the libvirt-qemu
# abstraction allows /usr/bin/qemu-system-x86_64 but not /usr/local/bin/vmmem-qemu; SELinux
# labels /usr/bin/qemu-system-.* qemu_exec_t, the entrypoint of svirt_t.  A hard link would
# share the ctime with the installed vmmem-qemu and cannot cross filesystems.  0755 root:root:
# libvirt execs it as the qemu user with no capabilities.
install_copy() { # src dst
    local tmpf=${2%/*}/.${2##*/}.vmmem-new out
    local own=()
    [[ $(id -u) == 0 ]] && own=(-o root -g root)
    run install -m 0755 "${own[@]}" "$1" "$tmpf"
    if ! out=$(mv -f "$tmpf" "$2" 2>&1); then
        rm -f "$tmpf"
        die "mv failed: $out"
    fi
    if [[ -z "$ROOT" ]] && command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled &&
        command -v restorecon >/dev/null 2>&1; then
        run restorecon "$2"
    fi
}

WRAP_TMP=
undo_wrap_tmp() { rm -f "$WRAP_TMP"; }

# Registered before dpkg-divert --add runs: whatever part of it happened is undone.
undo_divert() {
    local pkg
    pkg=$(divert --listpackage "$QEMU") || return 1
    [[ -n "$pkg" ]] || return 0
    # Only while the real qemu sits at .real is the file at QEMU ours to remove.
    if [[ -f "$(p "$(REAL)")" ]]; then rm -f "$(p "$QEMU")"; fi
    divert --local --rename --divert "$(REAL)" --remove "$QEMU"
}

DROPIN_DIRS=()
undo_config() {
    local i
    rm -f "$(p "$DROPIN")"
    for ((i = ${#DROPIN_DIRS[@]} - 1; i >= 0; i--)); do rmdir "${DROPIN_DIRS[i]}"; done
}

undo_hook() { rm -f "$(p "$HOOK")"; }

# 'qemu = QEMU.real' in a drop-in of our own, mode 0644: vmmem-qemu reads it as the qemu user.
config_set() {
    local f d
    f=$(p "$DROPIN")
    [[ ! -e "$f" || -f "$f" ]] || die "$DROPIN is not a regular file"
    for d in "$(p "${DROPIN%/*/*}")" "$(p "${DROPIN%/*}")"; do
        if [[ ! -d "$d" ]]; then
            run mkdir -m 0755 "$d"
            DROPIN_DIRS+=("$d")
        fi
    done
    UNDO+=(undo_config)
    dropin_text >"$f.vmmem-new" 2>/dev/null || { rm -f "$f.vmmem-new"; die "cannot write $DROPIN"; }
    run chmod 0644 "$f.vmmem-new"
    run mv -f "$f.vmmem-new" "$f"
}

hook_write() {
    local f cmd self
    f=$(p "$HOOK")
    self=$(readlink -f "$0")
    check_path "this script's path" "$self"
    cmd="$self refresh --auto"
    [[ "$QEMU" != /usr/bin/qemu-system-x86_64 ]] && cmd+=" --qemu $QEMU"
    ((LAUNCHER_GIVEN)) && cmd+=" --launcher $LAUNCHER"
    [[ -d "${f%/*}" ]] || die "${HOOK%/*} does not exist (is this a Debian system with apt?)"
    UNDO+=(undo_hook)
    {
        printf '%s\n' "$HOOK_MARK"
        printf '// A qemu upgrade replaces the diverted %s, but libvirt keys\n' "$(REAL)"
        printf '// its capabilities cache on the ctime of %s (the vmmem-qemu\n' "$QEMU"
        printf '// wrapper), which dpkg leaves alone: refresh it after dpkg runs.  It never fails\n'
        printf '// the apt run.\n'
        printf 'DPkg::Post-Invoke { "if [ -x %s ]; then %s || true; fi"; };\n' "$self" "$cmd"
    } >"$f.vmmem-new" 2>/dev/null || { rm -f "$f.vmmem-new"; die "cannot write $HOOK"; }
    run chmod 0644 "$f.vmmem-new"
    run mv -f "$f.vmmem-new" "$f"
}

cmd_enable() {
    need_root enable
    resolve_launcher
    [[ -n "$LAUNCHER" ]] || die "vmmem-qemu not found; install vmmem or pass --launcher PATH"
    check_path launcher "$LAUNCHER"
    [[ -f "$LAUNCHER" && -x "$LAUNCHER" ]] || die "launcher '$LAUNCHER' is not an executable file"
    [[ "$LAUNCHER" != "$(p "$QEMU")" && "$LAUNCHER" != "$(p "$(REAL)")" ]] ||
        die "launcher '$LAUNCHER' is the qemu binary itself"
    command -v dpkg-divert >/dev/null ||
        die "dpkg-divert not found (system-wide mode is for Debian and derivatives)"
    lock

    divert_state
    local state=$DSTATE
    case $state in
    foreign) die "$QEMU is already diverted ($DLINE); refusing to stack a second diversion" ;;
    ours)
        if wrapper_ok && conf_ok && hook_ok; then
            say "already enabled; nothing to do ('$PROG status' shows the details)"
            return 0
        fi
        [[ -f "$(p "$(REAL)")" ]] ||
            die "$QEMU is diverted but $(REAL) is missing (qemu removed?); run '$PROG disable'"
        say "completing a partly enabled system-wide mode"
        ;;
    none)
        [[ -f "$(p "$QEMU")" ]] || die "$QEMU does not exist (install qemu-system-x86 first)"
        [[ ! -e "$(p "$(REAL)")" ]] ||
            die "$(REAL) exists but is not a diversion of $QEMU; move it away first"
        if cmp -s "$LAUNCHER" "$(p "$QEMU")"; then
            die "$QEMU is already a copy of $LAUNCHER but not diverted;" \
                "reinstall qemu-system-x86 first"
        fi
        ;;
    esac

    # Copy the launcher next to its final place first, so that the moment between the rename
    # of the real qemu and the wrapper appearing is one rename long.
    if [[ $state == none ]]; then
        local own=()
        [[ $(id -u) == 0 ]] && own=(-o root -g root)
        WRAP_TMP=$(p "${QEMU%/*}")/.${QEMU##*/}.vmmem-new
        UNDO+=(undo_wrap_tmp)
        run install -m 0755 "${own[@]}" "$LAUNCHER" "$WRAP_TMP"
        UNDO+=(undo_divert)
        critical divert --local --rename --divert "$(REAL)" --add "$QEMU"
        run mv -f "$WRAP_TMP" "$(p "$QEMU")"
        if [[ -z "$ROOT" ]] && command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled &&
            command -v restorecon >/dev/null 2>&1; then
            run restorecon "$(p "$QEMU")"
        fi
    elif ! wrapper_ok || ! cmp -s "$LAUNCHER" "$(p "$QEMU")"; then
        install_copy "$LAUNCHER" "$(p "$QEMU")"
    fi

    conf_ok || config_set
    hook_ok || hook_write
    caps_invalidate

    UNDO=()
    say "enabled: $QEMU is now vmmem-qemu (a copy of $LAUNCHER); the real qemu is $(REAL)"
    if [[ ! -S "$(p "$DEFAULT_SOCKET")" ]]; then
        say "warning: vmmemd's socket $DEFAULT_SOCKET does not exist: with policy strict (the" \
            "default) libvirt domains will not start until vmmemd runs" \
            "(systemctl enable --now vmmemd.socket; or the helper-socket you configured)"
    fi
    return 0
}

# --- refresh --------------------------------------------------------------------------------

ctime() { stat -c '%.9Z' "$1"; }

# Is ctime(a) later than ctime(b)?  Nanosecond strings of equal width compare as text.
newer_ctime() {
    local a b
    a=$(ctime "$1") b=$(ctime "$2")
    [[ ${#a} -gt ${#b} || (${#a} -eq ${#b} && "$a" > "$b") ]]
}

cmd_refresh() {
    need_root refresh
    command -v dpkg-divert >/dev/null || die "dpkg-divert not found"
    lock
    divert_state
    if [[ $DSTATE != ours ]]; then
        ((AUTO)) || say "not enabled; nothing to refresh"
        return 0
    fi
    local w r did=()
    w=$(p "$QEMU") r=$(p "$(REAL)")
    if [[ ! -f "$r" ]]; then
        die "$(REAL) is missing (qemu removed?); '$PROG disable' restores the plain layout"
    fi
    [[ -f "$w" ]] || die "the wrapper $QEMU is missing; run '$PROG enable' to reinstall it"
    resolve_launcher
    if [[ -n "$LAUNCHER" && -f "$LAUNCHER" ]] && ! cmp -s "$LAUNCHER" "$w"; then
        install_copy "$LAUNCHER" "$w"
        did+=("re-copied $LAUNCHER")
    fi
    if ((!AUTO)) || ((${#did[@]})) || newer_ctime "$r" "$w"; then
        caps_invalidate
        did+=("invalidated libvirt's capabilities cache for $QEMU")
    fi
    if ((${#did[@]})); then
        local msg=${did[0]} i
        for ((i = 1; i < ${#did[@]}; i++)); do msg+="; ${did[i]}"; done
        say "refreshed: $msg"
    fi
    return 0
}

# --- disable --------------------------------------------------------------------------------

WRAPPER_SAVED=
undo_wrapper_removed() { mv -f "$WRAPPER_SAVED" "$(p "$QEMU")"; }
undo_divert_removed() { divert --local --rename --divert "$(REAL)" --add "$QEMU"; }
undo_hook_removed() { cp -p "$TMP/hook.orig" "$(p "$HOOK")"; }

undo_config_removed() {
    mkdir -p "$(p "${DROPIN%/*}")"
    cp -p "$TMP/dropin.orig" "$(p "$DROPIN")"
}

# Removes the drop-in, and its folders when nothing else is left in them.
config_unset() {
    local f
    f=$(p "$DROPIN")
    [[ -e "$f" ]] || return 0
    mktmp
    run cp -p "$f" "$TMP/dropin.orig"
    UNDO+=(undo_config_removed)
    run rm -f "$f"
    rmdir "${f%/*}" 2>/dev/null && rmdir "${f%/*/*}" 2>/dev/null || true
}

cmd_disable() {
    need_root disable
    command -v dpkg-divert >/dev/null || die "dpkg-divert not found"
    lock
    mktmp
    local state hook
    divert_state
    state=$DSTATE
    hook=$(p "$HOOK")
    case $state in
    foreign) die "$QEMU is diverted by someone else ($DLINE); not touching it" ;;
    none)
        if [[ ! -e "$hook" && ! -e "$(p "$DROPIN")" ]]; then
            say "not enabled; nothing to do"
            return 0
        fi
        ;;
    esac

    # The apt hook first: a dpkg run in the middle must not refresh a half-removed setup.
    if [[ -e "$hook" ]]; then
        run cp -p "$hook" "$TMP/hook.orig"
        UNDO+=(undo_hook_removed)
        run rm -f "$hook"
    fi

    if [[ $state == ours ]]; then
        local w r
        w=$(p "$QEMU") r=$(p "$(REAL)")
        [[ -f "$r" ]] ||
            die "$(REAL) is missing (qemu removed?); reinstall qemu-system-x86, then disable"
        # dpkg-divert --rename refuses to move the real qemu back over the wrapper; keep the
        # wrapper aside until the diversion is gone, so a failure can put everything back.
        if [[ -e "$w" ]]; then
            WRAPPER_SAVED=$w.vmmem-keep
            run mv -f "$w" "$WRAPPER_SAVED"
            UNDO+=(undo_wrapper_removed)
        fi
        UNDO+=(undo_divert_removed)
        critical divert --local --rename --divert "$(REAL)" --remove "$QEMU"
        if [[ -n "$WRAPPER_SAVED" ]]; then rm -f "$WRAPPER_SAVED"; fi
    fi

    config_unset
    caps_invalidate
    UNDO=()
    say "disabled: $QEMU is the real qemu again"
    return 0
}

# --- status ---------------------------------------------------------------------------------

cmd_status() {
    local state have=0 want=4 line sock
    divert_state
    state=$DSTATE
    resolve_launcher
    case $state in
    ours)
        have=$((have + 1))
        line=$DLINE
        ;;
    none) line="none" ;;
    *) line="$DLINE (not vmmem's)" ;;
    esac
    local out=()
    out+=("  diversion:  $line")
    if [[ $state == ours ]]; then
        if [[ ! -f "$(p "$(REAL)")" ]]; then
            out+=("  real qemu:  $(REAL) MISSING")
        else
            out+=("  real qemu:  $(REAL)")
        fi
        if wrapper_ok; then
            have=$((have + 1))
            if [[ -z "$LAUNCHER" ]]; then
                line="vmmem-qemu (launcher not found to compare)"
            elif cmp -s "$LAUNCHER" "$(p "$QEMU")"; then
                line="a copy of $LAUNCHER"
            else
                line="differs from $LAUNCHER (run '$PROG refresh')"
            fi
            out+=("  wrapper:    $QEMU, $line")
        else
            out+=("  wrapper:    $QEMU MISSING")
        fi
    else
        want=$((want - 1))
    fi
    if conf_ok; then
        have=$((have + 1))
        line="qemu = $(REAL)"
    elif [[ -e "$(p "$DROPIN")" ]]; then
        line="not what $PROG writes (run '$PROG enable')"
    else
        line="does not exist"
    fi
    out+=("  config:     $DROPIN: $line")
    if hook_ok; then
        have=$((have + 1))
        out+=("  apt hook:   $HOOK")
    else
        out+=("  apt hook:   none")
    fi
    sock=$DEFAULT_SOCKET
    if [[ -S "$(p "$sock")" ]]; then
        out+=("  vmmemd:     $sock")
    else
        out+=("  vmmemd:     $sock does not exist (vmmemd not running)")
    fi
    local rc
    if [[ $state == ours ]] && ((have == want)); then
        say "enabled"
        rc=0
    elif ((have == 0)); then
        say "disabled"
        rc=3
    else
        say "partly enabled ('$PROG enable' completes it, '$PROG disable' removes it)"
        rc=1
    fi
    printf '%s\n' "${out[@]}"
    return $rc
}

# --- main -----------------------------------------------------------------------------------

main() {
    local cmd=${1:-}
    [[ -n "$cmd" ]] || {
        usage >&2
        HANDLED=1
        exit 2
    }
    shift
    while (($#)); do
        case $1 in
        --launcher)
            (($# >= 2)) || die "--launcher needs a path"
            LAUNCHER=$2 LAUNCHER_GIVEN=1
            shift 2
            ;;
        --launcher=*)
            LAUNCHER=${1#*=} LAUNCHER_GIVEN=1
            shift
            ;;
        --qemu)
            (($# >= 2)) || die "--qemu needs a path"
            QEMU=$2
            shift 2
            ;;
        --qemu=*)
            QEMU=${1#*=}
            shift
            ;;
        --auto)
            AUTO=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown argument '$1' (see '$PROG --help')" ;;
        esac
    done
    check_path --qemu "$QEMU"
    if [[ -n "$ROOT" ]]; then
        [[ "$ROOT" == /* && -d "$ROOT" ]] ||
            die "VMMEM_SYSTEM_WIDE_ROOT '$ROOT' is not an absolute directory"
        ROOT=${ROOT%/}
    fi
    if ((LAUNCHER_GIVEN)); then
        [[ -e "$LAUNCHER" ]] || die "launcher '$LAUNCHER' does not exist"
        LAUNCHER=$(readlink -f "$LAUNCHER")
    fi
    case $cmd in
    enable) cmd_enable ;;
    refresh) cmd_refresh ;;
    disable) cmd_disable ;;
    status)
        local rc=0
        cmd_status || rc=$?
        HANDLED=1
        exit "$rc"
        ;;
    -h | --help | help) usage ;;
    *) die "unknown command '$cmd' (see '$PROG --help')" ;;
    esac
}

main "$@"
