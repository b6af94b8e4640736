#!/bin/bash
# vm-run.sh [OPTIONS] -- COMMAND [ARGS...]
#
# Runs COMMAND as root inside a throwaway QEMU (TCG) VM that boots the machine's Debian kernel
# with a real cgroup v2 hierarchy mounted at /sys/fs/cgroup.  The machine's whole root is
# shared read-only over 9p and used as the VM's root (chroot), so every binary, library and
# build folder of the machine is there at the same path; /tmp /run /var/lib /var/log
# /var/cache are empty tmpfs, and the results folder is shared writable at the same absolute
# path as outside.  COMMAND runs in the caller's working folder; its stdout+stderr are
# streamed to this script's stdout.  Exit status: COMMAND's, or 99 with one "vm-run: FAILED"
# line on stderr when the VM could not boot, the command never ran or the timeout hit.
#
# Options:
#   --mem MiB        guest RAM (default 2048)
#   --smp N          guest CPUs (default 2)
#   --timeout SEC    kill the VM after SEC seconds (default 600)
#   --results DIR    writable folder shared with the VM (default: a fresh temporary folder,
#                    removed after a successful run, kept and named after a failed one)
#   --initrd FILE    initramfs from build-initramfs.sh (default: built on demand and cached in
#                    ${XDG_CACHE_HOME:-~/.cache}/vmmem-vm)
#   --kernel FILE    kernel to boot (default: the uncompressed vmlinux of /boot/vmlinuz-<ver>,
#                    extracted on demand into the same cache by extract-vmlinux.sh, booted via
#                    PVH; VMMEM_VM_PVH=0 boots /boot/vmlinuz-<ver> itself)
#   --env NAME[=VALUE]  pass one more environment variable (repeatable); VMMEM_* and a few
#                    test variables (see pass_vars) are passed anyway
#   --expose DIR     make host folder DIR visible (read-only) inside even if it lies under one
#                    of the VM's tmpfs mounts (repeatable; the working folder always is)
#   --keep           keep the temporary results folder after a successful run too
#   --console        copy the guest kernel console to stderr as well (debugging)
#   --append ARGS    extra kernel command line arguments
#   --scratch MiB    a sparse raw disk of MiB (virtio-blk, serial vmmem-scratch) for the
#                    command's big files, e.g. nested guests' disk images (lib.sh
#                    scratch_mount); in <results>/.vm-run/scratch.img, deleted when the VM ends
#   --systemd        boot the machine's systemd as PID 1 (on an overlay of the host root; the
#                    command runs in the unit vmmem-job.service under system.slice) instead of
#                    chrooting into the host root from the initramfs
# Environment: VMMEM_VM_CONSOLE=1 is --console; VMMEM_VM_KEEP=1 is --keep;
#   VMMEM_VM_KERNEL_VERSION picks the kernel; QEMU overrides the qemu-system-x86_64 binary.
# Inside the VM the command sees VMMEM_VM=1, VMMEM_VM_RESULTS=<results folder> and
# VMMEM_VM_KERNEL=<the kernel file this VM booted> (readable inside: use it for nested guests).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Seconds a vCPU of the test VM may go without running before it counts as lost.
STUCK_S=${VMMEM_VM_STUCK_S:-60}
# Seconds a vCPU's LAPIC timer may sit fired and never re-armed, its vector pending, before the
# vCPU counts as lost.
PENDING_S=${VMMEM_VM_PENDING_S:-60}
# How many times a run boots the VM again after its emulator failed it (see retry_vm).
MAX_RETRIES=${VMMEM_VM_MAX_RETRIES:-2}
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

HARNESS_FAIL=99
fail() {
    echo "vm-run: FAILED: $*" >&2
    exit "$HARNESS_FAIL"
}
usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# Everything runs from main(), so that bash has read the whole file before it starts: editing
# this script while a VM runs then cannot derail the running copy.
main() {
    local orig_args=("$@")
    mem=2048
    smp=2
    timeout_s=600
    results=""
    initrd=""
    kernel=""
    keep="${VMMEM_VM_KEEP:-0}"
    console="${VMMEM_VM_CONSOLE:-0}"
    extra_append=""
    extra_env=()
    expose=()
    scratch=0
    while [[ $# -gt 0 ]]; do
        case "$1" in
        --mem) mem="${2:?--mem needs a value}"; shift 2 ;;
        --smp) smp="${2:?--smp needs a value}"; shift 2 ;;
        --timeout) timeout_s="${2:?--timeout needs a value}"; shift 2 ;;
        --results) results="${2:?--results needs a value}"; shift 2 ;;
        --initrd) initrd="${2:?--initrd needs a value}"; shift 2 ;;
        --kernel) kernel="${2:?--kernel needs a value}"; shift 2 ;;
        --env) extra_env+=("${2:?--env needs a value}"); shift 2 ;;
        --append) extra_append+=" ${2:?--append needs a value}"; shift 2 ;;
        --expose) expose+=("$(realpath -m -- "${2:?--expose needs a value}")"); shift 2 ;;
        --scratch) scratch="${2:?--scratch needs a value}"; shift 2 ;;
        --keep) keep=1; shift ;;
        --console) console=1; shift ;;
        --systemd) extra_append+=" vmmem.systemd=1"; shift ;;
        -h | --help) usage ;;
        --) shift; break ;;
        *) echo "vm-run: unknown option $1 (COMMAND goes after --)" >&2; exit 2 ;;
        esac
    done
    [[ $# -ge 1 ]] || { echo "vm-run: no COMMAND given (usage: vm-run.sh [OPTIONS] -- COMMAND [ARGS...])" >&2; exit 2; }
    [[ "$mem" =~ ^[0-9]+$ && "$smp" =~ ^[0-9]+$ && "$timeout_s" =~ ^[0-9]+$ && "$scratch" =~ ^[0-9]+$ ]] ||
        { echo "vm-run: --mem, --smp, --timeout and --scratch take whole numbers" >&2; exit 2; }
    [[ "$(id -u)" == 0 ]] || fail "must run as root (the 9p share of / must read every file)"

    qemu="${QEMU:-qemu-system-x86_64}"
    command -v "$qemu" >/dev/null || fail "$qemu not found: apt-get install qemu-system-x86"
    kver="$(vm_kernel_version 2>&1)" || fail "$kver"
    cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/vmmem-vm"
    mkdir -p "$cache"

    # The kernel: given, or the vmlinux extracted from /boot/vmlinuz-<ver> (cached), or that itself.
    if [[ -z "$kernel" ]]; then
        kernel="/boot/vmlinuz-$kver"
        if [[ "${VMMEM_VM_PVH:-1}" != 0 ]]; then
            mkdir -p "$cache"
            if "$here/extract-vmlinux.sh" "$cache/vmlinux-$kver" 2>/dev/null; then
                kernel="$cache/vmlinux-$kver"
            else
                echo "vm-run: note: could not extract vmlinux from $kernel; booting it compressed (slower)" >&2
            fi
        fi
    fi
    [[ -r "$kernel" ]] || fail "kernel $kernel not readable"
    kernel="$(realpath -- "$kernel")"

    # The initramfs: given, or built once per kernel and harness version into the cache.
    if [[ -z "$initrd" ]]; then
        mkdir -p "$cache"
        initrd="$cache/initramfs-$kver.cpio.gz"
        "$here/build-initramfs.sh" "$initrd" || fail "could not build the initramfs"
    fi
    [[ -r "$initrd" ]] || fail "initramfs $initrd not readable"
    initrd="$(realpath -- "$initrd")"

    # The results folder (absolute, symlinks resolved: the guest binds it at this exact path).
    tmp_results=0
    if [[ -z "$results" ]]; then
        results="$(mktemp -d "${TMPDIR:-/tmp}/vmmem-vm.XXXXXX")"
        tmp_results=1
    fi
    mkdir -p "$results"
    results="$(cd "$results" && pwd -P)"
    cwd="$(pwd -P)"
    meta="$results/.vm-run"
    rm -rf -- "$meta"
    mkdir -p "$meta"

    # The job: cwd, environment and argv, shell-quoted for the machine's bash inside the VM.
    pass_vars=(LANG LC_ALL TERM TZ V VERBOSE
        G_DEBUG G_MESSAGES_DEBUG G_TEST_SRCDIR G_TEST_BUILDDIR
        MALLOC_PERTURB_ MALLOC_CHECK_ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
        MESON_SOURCE_ROOT MESON_BUILD_ROOT MESON_TEST_ITERATION)
    {
        echo '# written by vm-run.sh; run by /init inside the test VM'
        printf 'cd -- %q || exit 125\n' "$cwd"
        echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        echo 'export HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TMPDIR=/tmp'
        echo 'export LANG=C.UTF-8'
        for v in "${pass_vars[@]}" $(compgen -e | grep '^VMMEM_' || true); do
            [[ -n "${!v+set}" ]] && printf 'export %s=%q\n' "$v" "${!v}"
        done
        for kv in "${extra_env[@]}"; do
            if [[ "$kv" == *=* ]]; then
                printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
            elif [[ -n "${!kv+set}" ]]; then
                printf 'export %s=%q\n' "$kv" "${!kv}"
            fi
        done
        printf 'export VMMEM_VM=1 VMMEM_VM_RESULTS=%q VMMEM_VM_KERNEL=%q\n' "$results" "$kernel"
        printf 'exec'
        printf ' %q' "$@"
        printf '\n'
    } >"$meta/job.sh"
    printf '%s' "$results" >"$meta/results-path"
    printf '%s' "$cwd" >"$meta/cwd"
    # Host folders that must be visible inside even where the VM's tmpfs mounts (/tmp, /run,
    # /var/lib, /var/log, /var/cache, /var/tmp) cover them: the guest binds them back read-only.
    # The source and build trees too, and the command's folder: a checkout under /var/tmp must
    # work.  Sorted, so that a folder is bound before the folders inside it (the guest binds a
    # folder only where its tmpfs has none yet).
    {
        printf '%s\n' "$cwd"
        printf '%s\n' "$(dirname -- "$kernel")"
        for v in "${VMMEM_SOURCE_DIR:-}" "${VMMEM_BUILD_DIR:-}"; do
            [[ -n "$v" && -d "$v" ]] && readlink -f -- "$v"
        done
        [[ "$1" == /* && -e "$1" ]] && dirname -- "$(readlink -f -- "$1")"
        for v in "${expose[@]}"; do printf '%s\n' "$v"; done
    } | sort -u >"$meta/expose"

    # QEMU option values: a comma is written as two.
    qe() { printf '%s' "${1//,/,,}"; }

    console_log="$meta/console.log"
    # nokaslr: the kernel's text sits where the kallsyms cached below say, so that a hang's
    # report (hang-report.py) can name the functions the vCPUs are stuck in.
    append="console=ttyS0 quiet panic=-1 mitigations=off nokaslr$extra_append"
    kallsyms="$cache/kallsyms-$kver"
    [[ -s "$kallsyms" ]] || append+=" vmmem.kallsyms=1"
    # shellcheck disable=SC2054 # the commas are inside qemu option values
    qemu_args=(
        -name vmmem-test-vm,debug-threads=on
        -machine q35 -accel tcg -cpu max -smp "$smp" -m "$mem"
        -nodefaults -display none -no-reboot
        -kernel "$kernel" -initrd "$initrd" -append "$append"
        -chardev "file,id=con,path=$(qe "$console_log")" -serial chardev:con
        -monitor "unix:$(qe "$meta/monitor.sock"),server=on,wait=off"
        -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap
        -virtfs "local,path=$(qe "$results"),mount_tag=out,security_model=none,multidevs=remap"
    )
    # The scratch disk is thrown away with the VM, so the host never needs to flush it.
    scratch_img=""
    if ((scratch > 0)); then
        scratch_img="$meta/scratch.img"
        truncate -s "${scratch}M" "$scratch_img" || fail "cannot create the scratch disk $scratch_img"
        # shellcheck disable=SC2054 # the commas are inside qemu option values
        qemu_args+=(
            -drive "file=$(qe "$scratch_img"),format=raw,if=none,id=scratch,cache=unsafe"
            -device virtio-blk-pci,drive=scratch,serial=vmmem-scratch
        )
    fi

    qpid=""
    tail_pid=""
    out_pid=""
    wd_pid=""
    # shellcheck disable=SC2317 # called from the traps
    cleanup() {
        [[ -n "$qpid" ]] && kill "$qpid" 2>/dev/null
        [[ -n "$wd_pid" ]] && kill "$wd_pid" 2>/dev/null
        [[ -n "$tail_pid" ]] && kill "$tail_pid" 2>/dev/null
        [[ -n "$out_pid" ]] && kill "$out_pid" 2>/dev/null
        [[ -n "$scratch_img" ]] && rm -f -- "$scratch_img"
        return 0
    }
    trap cleanup EXIT
    trap 'cleanup; echo "vm-run: FAILED: interrupted" >&2; exit 130' INT
    trap 'cleanup; echo "vm-run: FAILED: terminated" >&2; exit 143' TERM

    : >"$console_log"
    : >"$meta/output.log"

    t0="$(date +%s.%N)"
    "$qemu" "${qemu_args[@]}" </dev/null >"$meta/qemu.log" 2>&1 &
    qpid=$!
    # The watchdog.  TCG's nested SVM now and then stops delivering interrupts to the test
    # VM's vCPUs (their LAPIC's IRR keeps the timer vector; hang-report.py shows it): a vCPU
    # halted then never wakes, and vCPUs that wait for each other's IPIs spin.  So a vCPU thread
    # that has not run for STUCK_S seconds is lost (a Linux guest wakes every CPU at least every
    # 4 s, for its soft-lockup watchdog's hrtimer), and so is a guest whose console reports a
    # soft lockup of STUCK_S seconds.  Under systemd the same fault also shows with neither
    # sign: the vCPU threads go on running, and the console stays quiet, while each vCPU's
    # LAPIC holds the timer vector in IRR for good and its timer, fired, is never armed again.
    # A vector pending in a sample proves nothing (a busy, slowly emulated vCPU often has the
    # next tick pending: vm-lifecycle's 20 launches showed it); a timer at 0 with the same
    # initial count and a vector pending in every sample over PENDING_S seconds means the guest
    # has not run its timer interrupt in all that time, so the vCPU is lost.  Then, and at the timeout: first ask qemu's monitor what every vCPU is doing (a guest
    # hung with interrupts off prints nothing), then stop it.  Its output goes nowhere: nothing
    # it leaves behind may hold the caller's pipes open.
    (
        trap 'exit 0' TERM
        declare -A last_ns last_t pend_since pend_vec pend_timer
        deadline=$((SECONDS + timeout_s))
        why=timed-out
        tick=0
        while ((SECONDS < deadline)); do
            sleep 5 &
            wait $!
            kill -0 "$qpid" 2>/dev/null || exit 0
            if ((++tick % 2 == 0)); then
                # "N INITIAL CURRENT V..." per vCPU.  The clock runs while the timer stays
                # fired (CURRENT 0) with the same INITIAL and some vector has been pending in
                # every sample.
                while read -r cpu initial current vectors; do
                    [[ "$cpu" =~ ^[0-9]+$ ]] || continue
                    kept=""
                    if [[ "$current" == 0 && "$initial" == "${pend_timer[$cpu]:-$initial}" ]]; then
                        for v in $vectors; do
                            if [[ " ${pend_vec[$cpu]:-$vectors} " == *" $v "* ]]; then kept+="$v "; fi
                        done
                    fi
                    if [[ -z "$kept" ]]; then
                        unset "pend_since[$cpu]" "pend_vec[$cpu]" "pend_timer[$cpu]"
                    elif [[ -z "${pend_since[$cpu]:-}" ]]; then
                        pend_since[$cpu]=$SECONDS
                        pend_vec[$cpu]=$kept
                        pend_timer[$cpu]=$initial
                    elif ((SECONDS - pend_since[$cpu] >= PENDING_S)); then
                        echo "vCPU $cpu kept vector(s) ${kept% } pending in its LAPIC, its timer fired and not re-armed, for ${PENDING_S}s" >"$meta/stuck-why"
                        why=stuck
                        break 2
                    else
                        pend_vec[$cpu]=$kept
                    fi
                done < <(timeout 20 "$here/hang-report.py" --pending "$meta/monitor.sock" 2>/dev/null || true)
            fi
            # The other face of the same fault: vCPUs that spin with interrupts undelivered
            # (IPIs never arrive), which the guest's soft-lockup watchdog reports.
            # (|| true: with pipefail and set -e, no match at all would end the watchdog.)
            worst=$(grep -aoE 'soft lockup - CPU#[0-9]+ stuck for [0-9]+s' "$console_log" 2>/dev/null |
                sed -E 's/.* ([0-9]+)s$/\1/' | sort -n | tail -n 1 || true)
            if ((${worst:-0} >= STUCK_S)); then
                echo "the guest reported a soft lockup of ${worst}s" >"$meta/stuck-why"
                why=stuck
                break
            fi
            for task in /proc/"$qpid"/task/*; do
                [[ "$(cat "$task/comm" 2>/dev/null)" == CPU\ */TCG ]] || continue
                read -r ns _ <"$task/schedstat" 2>/dev/null || continue
                if [[ "${last_ns[$task]:-}" != "$ns" ]]; then
                    last_ns[$task]=$ns
                    last_t[$task]=$SECONDS
                elif ((SECONDS - last_t[$task] >= STUCK_S)); then
                    echo "a vCPU thread did not run for ${STUCK_S}s" >"$meta/stuck-why"
                    why=stuck
                    break 2
                fi
            done
        done
        kill -0 "$qpid" 2>/dev/null || exit 0
        : >"$meta/$why"
        timeout 60 "$here/hang-report.py" "$meta/monitor.sock" "$kallsyms" >"$meta/hang.txt" 2>&1
        kill "$qpid" 2>/dev/null
        sleep 5
        kill -9 "$qpid" 2>/dev/null
    ) </dev/null >/dev/null 2>&1 &
    wd_pid=$!
    # The guest writes the command's output into output.log over 9p; stream it as it grows.
    # tail exits by itself (--pid) once qemu is gone and the file is drained.
    tail -n +1 -s 0.2 -f --pid="$qpid" "$meta/output.log" &
    out_pid=$!
    if [[ "$console" == 1 ]]; then
        tail -n +1 -s 0.2 -f --pid="$qpid" "$console_log" >&2 &
        tail_pid=$!
    fi
    set +e
    wait "$qpid"
    qrc=$?
    kill "$wd_pid" 2>/dev/null
    wait "$wd_pid" 2>/dev/null
    wd_pid=""
    [[ -e "$meta/timed-out" || -e "$meta/stuck" ]] && qrc=124
    wait "$out_pid"
    [[ -n "$tail_pid" ]] && wait "$tail_pid"
    set -e
    qpid=""
    out_pid=""
    tail_pid=""
    t1="$(date +%s.%N)"
    if [[ -s "$meta/qemu.log" ]]; then
        sed 's/^/vm-run: qemu: /' "$meta/qemu.log" >&2
    fi

    # Not the test's doing: the test VM's own emulator failed it.  Up to MAX_RETRIES times per
    # run, the whole VM boots again and the command starts over.  One retry was not enough: a
    # clean-clone CI run lost an interrupt twice in the same five-minute nested-KVM test
    # (vm-oom-kvm, 2026-12-04); three losses in a row have not been seen.
    retry_vm() {
        local done=${VMMEM_VM_RUN_RETRIED:-0}
        [[ "$done" =~ ^[0-9]+$ ]] || done=$MAX_RETRIES
        ((done < MAX_RETRIES)) || return 0
        echo "vm-run: $1; booting the VM again" >&2
        cleanup
        trap - EXIT INT TERM
        VMMEM_VM_RUN_RETRIED=$((done + 1)) exec "$0" "${orig_args[@]}"
    }
    show_console() {
        echo "vm-run: last lines of the guest console ($console_log):" >&2
        tail -n 25 "$console_log" | sed 's/^/  | /' >&2 || true
    }
    keep_note() {
        if [[ "$tmp_results" == 1 ]]; then
            echo "vm-run: results and console log kept in $results" >&2
        fi
    }

    if [[ "$qrc" == 124 || "$qrc" == 137 ]]; then
        show_console
        if [[ -s "$meta/hang.txt" ]]; then
            echo "vm-run: what the vCPUs were doing ($meta/hang.txt):" >&2
            grep -E '^(== CPU|   on its stack|   lapic: IRR)' "$meta/hang.txt" | sed 's/^/  | /' >&2 || true
        fi
        keep_note
        if [[ -e "$meta/stuck" ]]; then
            stuck_why=$(cat "$meta/stuck-why" 2>/dev/null || echo "a vCPU was lost")
            retry_vm "$stuck_why (QEMU TCG lost an interrupt)"
            fail "$stuck_why (QEMU TCG lost an interrupt), on every one of $((MAX_RETRIES + 1)) boots"
        fi
        if [[ -s "$meta/systemd" && ! -s "$meta/started" ]]; then
            fail "timeout: systemd (--systemd) took over at $(cat "$meta/systemd") s but the command had not started when the VM was killed after ${timeout_s}s"
        fi
        fail "timeout: the VM ran longer than ${timeout_s}s and was killed (qemu exit $qrc)"
    fi
    if [[ ! -s "$meta/status" ]]; then
        show_console
        keep_note
        # The test VM's kernel died under its emulator (seen: "stack guard page was hit" in a
        # nested qemu, QEMU 7.2 TCG with nested SVM).  Out of memory and a killed init are the
        # command's doing, so they fail at once.
        panic=$(grep -aoE 'Kernel panic - not syncing: .*' "$console_log" | head -n 1 | tr -d '\r' || true)
        if [[ -n "$panic" ]]; then
            case "$panic" in
            *"Out of memory"* | *"Attempted to kill init"* | *"System is deadlocked on memory"*) ;;
            *) retry_vm "the test VM's kernel panicked (${panic#Kernel panic - not syncing: })" ;;
            esac
            fail "the test VM's kernel panicked: $panic"
        fi
        if [[ -s "$meta/init-error" ]]; then
            fail "VM init failed: $(head -n 1 "$meta/init-error")"
        elif [[ -s "$meta/started" ]]; then
            fail "the command started but the VM stopped before it finished (qemu exit $qrc; guest crash or OOM of init?)"
        elif [[ -s "$meta/systemd" ]]; then
            fail "systemd (--systemd) took over at $(cat "$meta/systemd") s but never started the command (qemu exit $qrc; crash of PID 1?)"
        fi
        fail "the VM did not boot to the command (qemu exit $qrc)"
    fi
    if [[ -s "$meta/kallsyms" && ! -s "$kallsyms" ]]; then
        mv -f "$meta/kallsyms" "$kallsyms.tmp.$$" && mv -f "$kallsyms.tmp.$$" "$kallsyms"
    fi
    status="$(cat "$meta/status")"
    [[ "$status" =~ ^[0-9]+$ ]] || fail "bad exit status file: $status"
    if [[ "$qrc" != 0 ]]; then
        echo "vm-run: warning: qemu exited with $qrc after the command finished" >&2
    fi

    started="$(cat "$meta/started")"
    finished="$(cat "$meta/finished" 2>/dev/null || echo "$started")"
    how=""
    [[ -s "$meta/systemd" ]] && how=", systemd as PID 1"
    awk -v b="$started" -v e="$finished" -v t0="$t0" -v t1="$t1" -v k="$kver" -v rc="$status" -v how="$how" 'BEGIN {
        printf "vm-run: kernel %s: boot %.1fs (guest uptime at command start%s), command %.1fs, total %.1fs, exit %d\n",
            k, b, how, e - b, t1 - t0, rc }' >&2

    if [[ "$tmp_results" == 1 ]]; then
        if [[ "$keep" == 1 || "$status" != 0 ]]; then
            keep_note
        else
            rm -rf -- "$results"
        fi
    fi
    exit "$status"
}

main "$@"
