# shellcheck shell=bash
# Shared helpers for the integration tests.  They run as root INSIDE the test VM
# (tests/vm/vm-run.sh), against its real cgroup v2 kernel, real qemu and the build folder,
# which the VM sees read-only at the same path.  Never source this on a host.
set -euo pipefail

if [[ "${VMMEM_VM:-0}" != 1 ]]; then
    echo "refusing to run outside the test VM (tests/vm/vm-run.sh sets VMMEM_VM=1)" >&2
    exit 99
fi

BUILD="${VMMEM_BUILD_DIR:?VMMEM_BUILD_DIR must name the meson build folder}"
VMMEM="$BUILD/launcher/vmmem"
VMMEM_QEMU="$BUILD/launcher/vmmem-qemu"
CG=/sys/fs/cgroup
QEMU_BIN=/usr/bin/qemu-system-x86_64
# The uncompressed vmlinux the VM booted boots about twice as fast in a nested guest.
KERNEL=${VMMEM_VM_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | grep -v cloud | sort -V | tail -n 1)}
TOUCHER_INITRD="${VMMEM_TOUCHER_INITRD:-}"
export VMMEM_CONFIG=/dev/null

TEST_NAME=$(basename "$0" .sh)
n_checks=0
# set -e must never end a test without saying where (only while errexit is on: the set +e
# stretches expect failures).
set -E
trap 'rc=$?; [[ $- == *e* ]] && echo "FAIL [$TEST_NAME]: line $LINENO: \"$BASH_COMMAND\" exited $rc" >&2' ERR

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    exit 1
}

ok() {
    n_checks=$((n_checks + 1))
    echo "ok $n_checks - $*"
}

assert_eq() { # expected actual what
    [[ "$1" == "$2" ]] || fail "$3: expected '$1', got '$2'"
    ok "$3 = $2"
}

assert_contains() { # haystack needle what
    [[ "$1" == *"$2"* ]] || fail "$3: '$1' does not contain '$2'"
    ok "$3"
}

# Tests that run KVM guests (nested, inside the test VM) need /dev/kvm, which the VM's /init
# makes when the CPU has svm or vmx and records how that went in .vm-run/kvm.  Without it the
# test is skipped (exit 77): meson reports SKIP, and tests/run-all.sh counts it as a failure.
require_kvm() {
    [[ -c /dev/kvm ]] && return 0
    local why
    why=$(head -n 1 "${VMMEM_VM_RESULTS:-}/.vm-run/kvm" 2>/dev/null) ||
        why="no .vm-run/kvm (an initramfs built before the test VM loaded KVM?)"
    echo "SKIP [$TEST_NAME]: no /dev/kvm in the test VM: $why"
    exit 77
}

# Mounts the VM's scratch disk (vm-run.sh --scratch MiB; 'scratch' in tests/vm/meson.build) at
# DIR as a fresh ext4.  Nested guests' disk images go there: on the VM's tmpfs their writes
# would be charged to the VM's cgroup as shmem, which a real host's disk never is.
scratch_mount() { # DIR
    local dir=$1 dev="" f _
    modprobe -a virtio_blk ext4 || fail "scratch_mount: modprobe virtio_blk ext4 failed"
    for _ in $(seq 1 50); do
        for f in /sys/block/*/serial; do
            if [[ "$(cat "$f" 2>/dev/null)" == vmmem-scratch ]]; then
                dev=${f%/serial}
                dev=/dev/${dev#/sys/block/}
            fi
        done
        [[ -n "$dev" && -b "$dev" ]] && break
        sleep 0.1
    done
    [[ -n "$dev" && -b "$dev" ]] ||
        fail "scratch_mount: no disk with serial vmmem-scratch in /sys/block (register the test with 'scratch': MiB in tests/vm/meson.build, or vm-run.sh --scratch MiB)"
    # Lazy inode tables and no background zeroing: the disk is new and sparse, so it reads zeros.
    mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 "$dev" || fail "scratch_mount: mkfs.ext4 $dev failed"
    mkdir -p "$dir"
    mount -o noinit_itable "$dev" "$dir" || fail "scratch_mount: mount $dev $dir failed"
}

# An idle qemu that allocates its guest RAM up front: -S stops the vCPUs, -mem-prealloc
# touches every page, so memory.current is known without booting anything.  KVM, as on a
# production host (callers require_kvm).
idle_qemu_args() { # NAME RAM_MIB
    echo "-name guest=$1,debug-threads=on -machine q35 -accel kvm -m $2 -smp 1 -nodefaults" \
        "-display none -monitor none -serial none -mem-prealloc -S"
}

# A guest that boots the kernel, touches all its RAM, runs TOUCHER_CODE_KB KiB of distinct code
# (tests/vm/toucher.c) and powers off.  Fills the array TOUCHER with qemu's arguments.
# TOUCHER_ACCEL=kvm runs it under KVM (-cpu host; the caller requires /dev/kvm): what a test
# about the envelope rather than about TCG's translation cache wants.  TOUCHER_EXTRA: more
# toucher.* options (tests/vm/toucher.c).
TOUCHER_CODE_KB=${TOUCHER_CODE_KB:-1536}
TOUCHER_ACCEL=${TOUCHER_ACCEL:-tcg}
toucher_args() { # NAME RAM_MIB [SMP]
    [[ -n "$TOUCHER_INITRD" && -f "$TOUCHER_INITRD" ]] || fail "no toucher initramfs ('$TOUCHER_INITRD')"
    local accel=(-accel tcg)
    [[ "$TOUCHER_ACCEL" == kvm ]] && accel=(-accel kvm -cpu host)
    TOUCHER=(-name "guest=$1" -machine q35 "${accel[@]}" -m "$2" -smp "${3:-1}" -nodefaults
        -display none -serial "file:/tmp/$1.console" -no-reboot -kernel "$KERNEL"
        -initrd "$TOUCHER_INITRD"
        -append "console=ttyS0 panic=-1 quiet toucher.code_kb=$TOUCHER_CODE_KB ${TOUCHER_EXTRA:-}")
}

cg_read() { cat "$CG/$1"; }

# The scope's files as planned by `vmmem explain --json` for the same argv and environment.
explain_json() { "$VMMEM" explain --json -- "$@"; }

# Waits until PID sits in cgroup /$2 (the launcher moves itself before exec).
wait_cgroup() { # PID PATH
    local i
    for i in $(seq 1 200); do
        if grep -qx "0::/$2" "/proc/$1/cgroup" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    fail "pid $1 never reached cgroup /$2 (it is in $(cat "/proc/$1/cgroup" 2>/dev/null))"
}

# Waits until /proc/PID/exe is the real qemu: the launcher has exec'd.
wait_exec() { # PID
    local i
    for i in $(seq 1 400); do
        if [[ "$(readlink "/proc/$1/exe" 2>/dev/null)" == "$QEMU_BIN" ]]; then
            return 0
        fi
        kill -0 "$1" 2>/dev/null || fail "pid $1 died before exec'ing qemu"
        sleep 0.05
    done
    fail "pid $1 never exec'd $QEMU_BIN"
}

# Waits up to SECONDS for PATH to go away; true when it did.
wait_gone() { # PATH SECONDS
    local _
    for _ in $(seq 1 $(($2 * 10))); do
        [[ -e "$1" ]] || return 0
        sleep 0.1
    done
    [[ ! -e "$1" ]]
}

# Nothing of vmmem's left: no scope under the default parent (the empty slice may stay).
assert_no_scopes() { # WHAT
    local left
    left=$(find "$CG" -mindepth 1 -maxdepth 3 -type d -name 'vmmem-*.scope' 2>/dev/null | tr '\n' ' ')
    [[ -z "$left" ]] || fail "$1: scopes left behind: $left"
    ok "$1: no scope left behind"
}

# A TAP program of the build's (tests/scope/scope-api.c): its lines as comments, a failure if
# it failed or ran fewer than MIN checks; N_TAP holds how many passed.
run_tap() { # MIN COMMAND...
    local min=$1 out
    shift
    out=$("$@" 2>&1) || {
        echo "$out"
        fail "$* failed"
    }
    grep -v '^1\.\.' <<<"$out" | while read -r line; do echo "# $line"; done
    N_TAP=$(grep -c '^ok ' <<<"$out")
    ((N_TAP >= min)) || fail "$* ran only $N_TAP checks"
}

finish() {
    echo "# $TEST_NAME: $n_checks checks passed"
}
