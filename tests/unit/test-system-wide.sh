#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vmmem-system-wide (launcher/vmmem-system-wide.sh) against a throwaway root: a fake qemu, a
# fake launcher, dpkg-divert pointed at the root's own admin dir.  Never touches the machine's
# /usr/bin, /etc or dpkg database.  TAP output.
#
#   test-system-wide.sh PATH/TO/vmmem-system-wide.sh
set -euo pipefail

SCRIPT=${1:?usage: test-system-wide.sh PATH/TO/vmmem-system-wide.sh}
if ! command -v dpkg-divert >/dev/null 2>&1; then
    # System-wide mode is Debian's dpkg-divert: a host without it cannot pass this test.
    echo "Bail out! dpkg-divert not available"
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/test-system-wide.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
export VMMEM_SYSTEM_WIDE_ROOT=$R
QEMU=/usr/bin/qemu-system-x86_64
REAL=$QEMU.real
CONF=$R/etc/vmmem/vmmem.conf
DROPIN=$R/etc/vmmem/vmmem.conf.d/50-vmmem-system-wide.conf
HOOK=$R/etc/apt/apt.conf.d/80vmmem-system-wide
CAPS_XML=$R/var/cache/libvirt/qemu/capabilities/$(printf '%s' "$QEMU" | sha256sum | cut -c1-64).xml
LAUNCHER=$WORK/vmmem-qemu

n=0
ok() {
    n=$((n + 1))
    echo "ok $n - $*"
}
fail() {
    n=$((n + 1))
    echo "not ok $n - $*"
    echo "1..$n"
    exit 1
}
check() { # description command...
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

# sw ARGS: run the script, keep stdout, stderr and the status in OUT, ERR, RC.
sw() {
    RC=0
    "$SCRIPT" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
    OUT=$(cat "$WORK/out") ERR=$(cat "$WORK/err")
}

diversions() { dpkg-divert --admindir "$R/var/lib/dpkg" --list; }
# Every file under the root (the dpkg admin dir included) with its content and mode; not
# dpkg-divert's backup of its database, nor our lock.
snapshot() {
    (cd "$R" && find . \( -path ./run -o -name diversions-old \) -prune -o -type f \
        -printf '%p %m ' -exec md5sum {} \; | sort)
}
ctime() { stat -c '%.9Z' "$1"; }
one_line_error() { [[ $RC -ne 0 && -z "$OUT" && "$ERR" == vmmem-system-wide:* && "$ERR" != *$'\n'* ]]; }

fresh_root() {
    rm -rf "$R"
    mkdir -p "$R/usr/bin" "$R/var/lib/dpkg" "$R/etc/apt/apt.conf.d" "$R/etc/vmmem" \
        "${CAPS_XML%/*}"
    : >"$R/var/lib/dpkg/diversions"
    printf '#!/bin/sh\necho real-qemu "$@"\n' >"$R$QEMU"
    chmod 0755 "$R$QEMU"
    printf '#!/bin/sh\necho vmmem-qemu "$@"\n' >"$LAUNCHER"
    chmod 0755 "$LAUNCHER"
    : >"$CAPS_XML"
}

CONF_ORIG='# the host policy
[vmmem]
ratio = 1.5
qemu = /usr/bin/qemu-system-x86_64
high = on

[vm web1]
high = off'

# --- enable, status, enable again, refresh, disable -------------------------------------------
fresh_root
printf '%s\n' "$CONF_ORIG" >"$CONF"
chmod 0640 "$CONF"

sw status
check "status before enable: disabled, exit 3" [ "$RC" = 3 -a "${OUT%%$'\n'*}" = "vmmem-system-wide: disabled" ]

sw enable --launcher "$LAUNCHER"
check "enable succeeds" [ "$RC" = 0 ]
check "enable says what it did in one line" grep -q "^vmmem-system-wide: enabled: $QEMU is now vmmem-qemu" "$WORK/out"
check "enable warns that vmmemd is not listening" grep -q "warning: vmmemd's socket /run/vmmem/vmmemd.sock does not exist" "$WORK/out"
check "the wrapper is a copy of the launcher" cmp -s "$LAUNCHER" "$R$QEMU"
check "the wrapper is mode 0755" [ "$(stat -c %a "$R$QEMU")" = 755 ]
check "the real qemu moved to .real" grep -q real-qemu "$R$REAL"
check "dpkg-divert lists the local diversion" [ "$(diversions)" = "local diversion of $QEMU to $REAL" ]
check "the drop-in sets qemu = .real in [vmmem]" [ "$(grep -v '^#' "$DROPIN")" = "[vmmem]
qemu = $REAL" ]
check "the drop-in is mode 0644 (the qemu user reads it)" [ "$(stat -c %a "$DROPIN")" = 644 ]
check "vmmem.conf is not touched" [ "$(cat "$CONF")" = "$CONF_ORIG" -a "$(stat -c %a "$CONF")" = 640 ]
check "the apt hook runs refresh after dpkg" grep -q '^DPkg::Post-Invoke { "if \[ -x .* refresh --auto' "$HOOK"
check "libvirt's cached capabilities for the path are gone" [ ! -e "$CAPS_XML" ]

sw status --launcher "$LAUNCHER"
check "status after enable: enabled, exit 0" [ "$RC" = 0 -a "${OUT%%$'\n'*}" = "vmmem-system-wide: enabled" ]
check "status names the diversion" grep -q "diversion:  local diversion of $QEMU to $REAL" "$WORK/out"
check "status names the launcher copy" grep -q "wrapper:    $QEMU, a copy of $LAUNCHER" "$WORK/out"

before=$(snapshot)
sw enable --launcher "$LAUNCHER"
check "enable again is a no-op with a message" [ "$RC" = 0 -a "$OUT" = "vmmem-system-wide: already enabled; nothing to do ('vmmem-system-wide status' shows the details)" ]
check "enable again changed no file" [ "$(snapshot)" = "$before" ]

t0=$(ctime "$R$QEMU")
sw refresh --auto --launcher "$LAUNCHER"
check "refresh --auto with nothing new is silent" [ "$RC" = 0 -a -z "$OUT$ERR" ]
check "refresh --auto with nothing new keeps the wrapper's ctime" [ "$(ctime "$R$QEMU")" = "$t0" ]

# A qemu upgrade: dpkg unpacks the new binary to the diverted name.
printf '#!/bin/sh\necho real-qemu-v2 "$@"\n' >"$R$REAL.dpkg-new"
chmod 0755 "$R$REAL.dpkg-new"
mv "$R$REAL.dpkg-new" "$R$REAL"
: >"$CAPS_XML"
mtime0=$(stat -c %Y "$R$QEMU")
sw refresh --auto --launcher "$LAUNCHER"
check "refresh --auto after a qemu upgrade reports it" [ "$RC" = 0 -a "$OUT" = "vmmem-system-wide: refreshed: invalidated libvirt's capabilities cache for $QEMU" ]
check "refresh changed the wrapper's ctime" [ "$(ctime "$R$QEMU")" != "$t0" ]
check "refresh kept the wrapper's mtime" [ "$(stat -c %Y "$R$QEMU")" = "$mtime0" ]
check "refresh removed the cached capabilities" [ ! -e "$CAPS_XML" ]

t1=$(ctime "$R$QEMU")
sw refresh --launcher "$LAUNCHER"
check "refresh by hand always invalidates" [ "$RC" = 0 -a "$(ctime "$R$QEMU")" != "$t1" ]

echo '# a newer vmmem-qemu' >>"$LAUNCHER"
sw refresh --auto --launcher "$LAUNCHER"
check "refresh re-copies a launcher that changed" cmp -s "$LAUNCHER" "$R$QEMU"
check "...and says so" grep -q "re-copied $LAUNCHER" "$WORK/out"

sw disable
check "disable succeeds" [ "$RC" = 0 -a "${OUT##*$'\n'}" = "vmmem-system-wide: disabled: $QEMU is the real qemu again" ]
check "the real (upgraded) qemu is back in place" grep -q real-qemu-v2 "$R$QEMU"
check "no .real left" [ ! -e "$R$REAL" ]
check "no diversion left" [ -z "$(diversions)" ]
check "the apt hook is gone" [ ! -e "$HOOK" ]
check "vmmem.conf is byte for byte what it was" [ "$(cat "$CONF")" = "$CONF_ORIG" ]
check "the drop-in and its folder are gone" [ ! -e "$DROPIN" -a ! -e "${DROPIN%/*}" ]
sw status
check "status after disable: exit 3" [ "$RC" = 3 ]
sw disable
check "disable again is a no-op" [ "$RC" = 0 -a "$OUT" = "vmmem-system-wide: not enabled; nothing to do" ]

# --- a failure midway leaves nothing behind ---------------------------------------------------
fresh_root
printf '%s\n' "$CONF_ORIG" >"$CONF"
rmdir "$R/etc/apt/apt.conf.d" # the last step (the apt hook) fails
before=$(snapshot)
sw enable --launcher "$LAUNCHER"
check "enable fails with one line when the apt hook cannot be written" one_line_error
check "...and undoes the diversion, the wrapper and the config" [ "$(snapshot)" = "$before" ]
check "...no diversion left" [ -z "$(diversions)" ]
mkdir "$R/etc/apt/apt.conf.d"

# --- no config folder at all ------------------------------------------------------------------
fresh_root
rmdir "$R/etc/vmmem"
sw enable --launcher "$LAUNCHER"
check "enable without /etc/vmmem makes the drop-in folder" [ "$RC" = 0 -a -f "$DROPIN" ]
sw disable
check "disable removes the folders it left empty" [ "$RC" = 0 -a ! -e "${CONF%/*}" ]

# --- the lock: no truncation, no symlink ----------------------------------------------------------
fresh_root
mkdir -p "$R/run"
echo "keep me" >"$WORK/victim"
ln -s "$WORK/victim" "$R/run/vmmem-system-wide.lock"
before=$(snapshot)
sw enable --launcher "$LAUNCHER"
check "enable refuses a lock that is a symlink, in one line" one_line_error
check "...and the symlink's target is untouched" [ "$(cat "$WORK/victim")" = "keep me" ]
check "...and nothing changed" [ "$(snapshot)" = "$before" ]
rm "$R/run/vmmem-system-wide.lock"
echo "old content" >"$R/run/vmmem-system-wide.lock"
sw enable --launcher "$LAUNCHER"
check "enable with an existing lock file succeeds and does not truncate it" \
    [ "$RC" = 0 -a "$(cat "$R/run/vmmem-system-wide.lock")" = "old content" ]
sw disable

# --- interrupted inside dpkg-divert --add -------------------------------------------------------
# A dpkg-divert that lets the real one finish, then signals the script, as a ^C or a TERM at
# that moment would.  The run must undo it all and say so truthfully.
fresh_root
mkdir -p "$WORK/bin"
{
    echo '#!/bin/bash'
    echo "$(command -v dpkg-divert) \"\$@\" || exit"
    echo 'for a in "$@"; do [[ $a == --add ]] && kill -TERM "$SW_PID"; done'
    echo 'exit 0'
} >"$WORK/bin/dpkg-divert"
chmod 0755 "$WORK/bin/dpkg-divert"
before=$(snapshot)
RC=0
PATH="$WORK/bin:$PATH" bash -c 'export SW_PID=$$; exec "$0" "$@"' "$SCRIPT" enable --launcher "$LAUNCHER" \
    >"$WORK/out" 2>"$WORK/err" || RC=$?
OUT=$(cat "$WORK/out") ERR=$(cat "$WORK/err")
check "a TERM during dpkg-divert --add stops enable with one line" one_line_error
check "...which says it was interrupted" grep -q "interrupted" "$WORK/err"
check "...the real qemu is in place" grep -q real-qemu "$R$QEMU"
check "...no diversion is left" [ -z "$(diversions)" ]
check "...and nothing changed, as the line says" [ "$(snapshot)" = "$before" ]

# --- refusals ---------------------------------------------------------------------------------
fresh_root
dpkg-divert --admindir "$R/var/lib/dpkg" --instdir "$R" --package other --rename \
    --divert "$QEMU.distrib" --add "$QEMU" >/dev/null
before=$(snapshot)
sw enable --launcher "$LAUNCHER"
check "enable refuses a diversion by another package" one_line_error
sw disable
check "disable refuses it too" one_line_error
check "...and neither changed anything" [ "$(snapshot)" = "$before" ]

fresh_root
rm "$R$QEMU"
sw enable --launcher "$LAUNCHER"
check "enable refuses when qemu is not installed" one_line_error
sw enable --launcher "$WORK/missing"
check "enable refuses a missing launcher" one_line_error
sw enable --launcher "$LAUNCHER" --qemu 'relative/qemu'
check "enable refuses a relative --qemu" one_line_error

echo "1..$n"
