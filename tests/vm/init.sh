#!/bin/sh
# /init of the vmmem test VM (busybox ash; part of the initramfs built by build-initramfs.sh).
#
# Mounts the host root (9p tag "host", read-only) at /host and the results folder (9p tag
# "out", writable) at /out, prepares a cgroup v2 system inside /host, binds the results folder
# at the same absolute path it has on the host, then runs the job that vm-run.sh wrote into
# <results>/.vm-run/job.sh chrooted into /host.  The job's stdout+stderr go to
# <results>/.vm-run/output.log (9p writes are fast; vm-run.sh streams that file to its stdout); this script's own messages go to the console
# (ttyS0, kept in <results>/.vm-run/console.log).  Ends with poweroff -f in every case.
# With vmmem.systemd=1 on the kernel command line (vm-run.sh --systemd) it hands over to the
# machine's systemd instead (boot_systemd), which runs the same job in a unit.
# Either way it first loads KVM when the CPU has it (/modules.optional) and records the outcome
# in <results>/.vm-run/kvm.
PATH=/bin:/sbin
export PATH
umask 022

log() { echo "vm-init: $*"; }
die() {
    echo "vm-init: FAILED: $*"
    [ -d /out/.vm-run ] && echo "$*" >/out/.vm-run/init-error 2>/dev/null
    sync
    poweroff -f
    sleep 60
}

# vmmem.systemd=1 (vm-run.sh --systemd): the machine's own systemd becomes PID 1 on an
# overlay of the host root (lower: the read-only 9p share, upper: a tmpfs), and a oneshot unit
# runs the job with the same files, paths and environment as the chroot path below.  Never
# returns: exec switch_root, or die.
# bind_job_folders ROOT SRC: in the job's root ROOT, the host folders its tmpfs mounts cover
# (the working folder, the kernel's folder, --expose) come back read-only from SRC, a view of
# the host root; the results folder, writable, at the same absolute path as on the host.
bind_job_folders() {
    while IFS= read -r d; do
        [ -n "$d" ] || continue
        if [ ! -d "$1$d" ] && [ -d "$2$d" ]; then
            mkdir -p "$1$d" || die "mkdir $1$d"
            mount -o bind "$2$d" "$1$d" || die "bind host folder $d"
        fi
    done </out/.vm-run/expose
    mkdir -p "$1$res" 2>/dev/null
    mount -o bind /out "$1$res" || die "bind results folder at $res"
}

boot_systemd() {
    nr=/newroot
    mkdir -p /rw "$nr"
    mount -t tmpfs -o mode=755 tmpfs /rw || die "mount tmpfs /rw"
    mkdir -p /rw/upper /rw/work
    mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work "$nr" ||
        die "mount the overlay root (lower: 9p host root, upper: tmpfs)"
    # The same empty state folders as the chroot path (and /run before systemd mounts its own:
    # binds below must survive).
    for d in tmp run var/lib var/log var/cache var/tmp; do
        mode=755
        case "$d" in tmp | var/tmp) mode=1777 ;; esac
        mount -t tmpfs -o "mode=$mode" tmpfs "$nr/$d" || die "mount tmpfs $nr/$d"
    done
    mkdir -p "$nr/run/lock"
    bind_job_folders "$nr" /host

    # The overlay's upper layer: a machine of its own, none of the host's enabled services
    # (the job starts what it needs), units masked that only cost boot time, and the job as
    # the boot target (/systemd-root, from tests/vm/systemd/).
    e="$nr/etc"
    rm -rf "$e"/systemd/system/*.wants
    cp -a /systemd-root/. "$nr/" || die "copy /systemd-root into the new root"
    cp /out/.vm-run/results-path "$e/vmmem-vm/results-path" || die "copy results-path"
    tr -d - </proc/sys/kernel/random/uuid >"$e/machine-id" || die "write $e/machine-id"
    # The host may be a container: its marker would make systemd believe it runs in one, and
    # then ignore the kernel command line (systemd.mask=, systemd.log_level=, ...).
    rm -f "$nr/.dockerenv"

    cut -d' ' -f1 /proc/uptime >/out/.vm-run/systemd
    log "switching root to systemd (job in vmmem-job.service)"
    for m in dev proc sys; do
        mount --move "/$m" "$nr/$m" || die "move /$m into the new root"
    done
    # Options, not systemd.unit=...: PID 1 outside a container reads those from /proc/cmdline only.
    # shellcheck disable=SC2093 # die only when the exec fails
    exec switch_root "$nr" /lib/systemd/systemd --unit=vmmem-job.target --crash-reboot
    die "switch_root to systemd failed"
}

mount -t proc proc /proc || die "mount /proc"
mount -t sysfs sysfs /sys || die "mount /sys"
mount -t devtmpfs devtmpfs /dev || die "mount /dev"

kver=$(cat /kver)
[ "$(uname -r)" = "$kver" ] || die "initramfs was built for kernel $kver but $(uname -r) booted: rebuild it"

while read -r m; do
    [ -n "$m" ] || continue
    insmod "/lib/modules/$m.ko" || die "insmod $m"
done </modules.list

# KVM for nested guests, when the CPU has it (under TCG, -cpu max emulates AMD SVM).  Only some
# tests need it: a failure is recorded in .vm-run/kvm (lib.sh require_kvm names it), not fatal.
kvm="none: the CPU has neither svm nor vmx"
flags=" $(grep -m 1 '^flags' /proc/cpuinfo | cut -d: -f2) "
while read -r flag mods; do
    case "$flags" in *" $flag "*) ;; *) continue ;; esac
    kvm=${mods##* }
    for m in $mods; do
        [ -d "/sys/module/$m" ] && continue
        if ! err=$(insmod "/lib/modules/$m.ko" 2>&1); then
            kvm="none: insmod $m failed: $(echo "$err" | tr '\n' ' ')"
            break
        fi
    done
    [ "${kvm#none:}" = "$kvm" ] && [ ! -c /dev/kvm ] && kvm="none: $kvm loaded but /dev/kvm did not appear"
    break
done </modules.optional

ip link set lo up 2>/dev/null
hostname vmmem-test 2>/dev/null

opts=trans=virtio,version=9p2000.L,msize=262144
# 9p options for the read-only host root.  cache=loose lets the guest keep what it read in its
# page cache: loading qemu and its ~50 libraries gets 3-5x faster (the host root does not
# change while a test runs).  Kernel command line vmmem.hostopts=... replaces it, e.g.
# vm-run.sh --append vmmem.hostopts=cache=none.
hostopts=,cache=loose
systemd=0
kallsyms=0
read -r cmdline </proc/cmdline
for a in $cmdline; do
    case "$a" in
    vmmem.hostopts=*) hostopts=",${a#vmmem.hostopts=}" ;;
    vmmem.systemd=1) systemd=1 ;;
    vmmem.kallsyms=1) kallsyms=1 ;;
    esac
done
mkdir -p /host /out /ro
mount -t 9p -o "$opts,ro$hostopts" host /host || die "mount 9p host root (tag host$hostopts)"
mount -t 9p -o "$opts" out /out || die "mount 9p results folder (tag out)"
[ -r /out/.vm-run/job.sh ] || die "no .vm-run/job.sh in the results folder"
res=$(cat /out/.vm-run/results-path) || die "no .vm-run/results-path"
cwd=$(cat /out/.vm-run/cwd) || die "no .vm-run/cwd"
[ -r /out/.vm-run/expose ] || die "no .vm-run/expose"
# Once per kernel (vm-run.sh caches it): the symbols of this nokaslr kernel, for hang reports.
[ "$kallsyms" = 1 ] && cat /proc/kallsyms >/out/.vm-run/kallsyms 2>/dev/null
# There is no udev before the job: /dev/kvm gets the owner a distribution gives it, so that
# libvirt's unprivileged qemu (group kvm) can open it.
if [ -c /dev/kvm ]; then
    gid=$(awk -F: '$1 == "kvm" {print $3}' /host/etc/group)
    if [ -n "$gid" ]; then
        chown "0:$gid" /dev/kvm && chmod 0660 /dev/kvm
    else
        log "no group kvm in /etc/group: /dev/kvm stays root's"
    fi
fi
echo "$kvm" >/out/.vm-run/kvm
log "kvm: $kvm"
[ "$systemd" = 1 ] && boot_systemd

# A second view of the read-only host root, for folders that the tmpfs mounts below cover.
mount -o bind /host /ro || die "bind /host /ro"

mount -t proc proc /host/proc || die "mount /host/proc"
mount -t sysfs sysfs /host/sys || die "mount /host/sys"
mount -t devtmpfs devtmpfs /host/dev || die "mount /host/dev"
mkdir -p /host/dev/pts /host/dev/shm /host/dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /host/dev/pts || die "mount devpts"
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm || die "mount /dev/shm"
mount -t mqueue mqueue /host/dev/mqueue 2>/dev/null
mount -t cgroup2 -o nsdelegate none /host/sys/fs/cgroup || die "mount cgroup2"
for d in tmp run var/lib var/log var/cache; do
    mode=755
    [ "$d" = tmp ] && mode=1777
    mount -t tmpfs -o "mode=$mode" tmpfs "/host/$d" || die "mount tmpfs /host/$d"
done
mkdir -p /host/run/lock /host/var/tmp 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /host/var/tmp 2>/dev/null

bind_job_folders /host /ro

cut -d' ' -f1 /proc/uptime >/out/.vm-run/started
log "running job (cwd $cwd)"
env -i chroot /host /bin/bash --noprofile --norc "$res/.vm-run/job.sh" </dev/null >>/out/.vm-run/output.log 2>&1
rc=$?
cut -d' ' -f1 /proc/uptime >/out/.vm-run/finished
dmesg >/out/.vm-run/dmesg.log 2>/dev/null
echo "$rc" >/out/.vm-run/status.tmp && mv /out/.vm-run/status.tmp /out/.vm-run/status
log "job exited with $rc"
sync
poweroff -f
sleep 60
