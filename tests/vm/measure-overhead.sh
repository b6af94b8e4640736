#!/bin/bash
# measure-overhead.sh [--repeat N] [VARIANT...]
#
# Measures what a real qemu-system-x86_64 (TCG) costs in its memory cgroup, for the overhead
# model: each variant runs in a fresh cgroup under /sys/fs/cgroup/measure/, and memory.peak,
# memory.current and memory.stat (anon, file, kernel, ...) are read once memory.current has
# settled (4 readings 1 s apart within 256 KiB; at least $VMMEM_SETTLE_S seconds, default 5).
# Paused (-S) variants never run guest code; the "toucher" variants boot the nested toucher
# guest, which writes all of its RAM, and are read right after it reports so.
#
# --repeat N runs each variant N times (identical runs differ by up to ~12 MiB; see
# docs/measurements.md).  Variants (default: all, in this order) are the names given to add()
# below.
#
# Runs only inside the test VM (it makes cgroups); started on the host, it builds the toucher
# initramfs and starts itself through vm-run.sh --mem 4096 (VMMEM_SETTLE_S and
# VMMEM_TOUCHER_INITRAMFS pass through).  Prints a markdown table and the exact command lines,
# and writes them to $VMMEM_VM_RESULTS/measurements.{md,tsv} (kept; vm-run.sh names the folder).
# Needs $VMMEM_VM_KERNEL (vm-run.sh sets it) and the toucher initramfs
# ($VMMEM_TOUCHER_INITRAMFS, else built into /tmp: slow) for the toucher variants.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# show_cmd QEMU QUOTED_ARGS: the command line for reading: quotes only where a shell needs them.
show_cmd() {
    local -a argv=()
    local a line="$1"
    eval "argv=($2)"
    for a in "${argv[@]}"; do
        if [[ "$a" =~ ^[A-Za-z0-9_,./:=+@%-]+$ ]]; then
            line+=" $a"
        else
            line+=" '${a//\'/\'\\\'\'}'"
        fi
    done
    printf '%s' "$line"
}

main() {
    if [[ "${VMMEM_VM:-}" != 1 ]]; then
        # On the host: never touch its cgroups; run this very script inside the test VM, with
        # the toucher initramfs built here (gcc is much faster outside the VM).
        local cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/vmmem-vm"
        if [[ -z "${VMMEM_TOUCHER_INITRAMFS:-}" ]]; then
            mkdir -p "$cache"
            "$here/build-toucher-initramfs.sh" "$cache/toucher-initramfs.cpio.gz"
            export VMMEM_TOUCHER_INITRAMFS="$cache/toucher-initramfs.cpio.gz"
        fi
        exec "$here/vm-run.sh" --mem 4096 --smp 2 --timeout 3000 --keep \
            --expose "$(dirname -- "$VMMEM_TOUCHER_INITRAMFS")" -- "$here/measure-overhead.sh" "$@"
    fi

    local settle="${VMMEM_SETTLE_S:-5}"
    local cg=/sys/fs/cgroup
    local top="$cg/measure"
    local out="${VMMEM_VM_RESULTS:-/tmp}"
    local kernel="${VMMEM_VM_KERNEL:-}"
    local toucher="${VMMEM_TOUCHER_INITRAMFS:-${VMMEM_TOUCHER_INITRD:-}}"
    local qemu=qemu-system-x86_64

    if [[ -z "$toucher" || ! -r "$toucher" ]]; then
        toucher=/tmp/toucher-initramfs.cpio.gz
        "$here/build-toucher-initramfs.sh" "$toucher"
    fi
    [[ -n "$kernel" && -r "$kernel" ]] || { echo "measure: VMMEM_VM_KERNEL not set" >&2; exit 1; }

    grep -qw memory "$cg/cgroup.subtree_control" || echo "+memory +pids" >"$cg/cgroup.subtree_control"
    mkdir -p "$top"
    echo "+memory +pids" >"$top/cgroup.subtree_control"

    # Common part of the paused variants (the baseline of the brief).
    local -a base=(-machine q35 -accel tcg -S -display none -nodefaults -monitor none -serial none)
    local -a nic4=() io4=()
    local i
    for i in 0 1 2 3; do
        nic4+=(-netdev "user,id=n$i" -device "virtio-net-pci,netdev=n$i")
        io4+=(-object "iothread,id=io$i")
    done
    local -a toucher_args=(-machine q35 -accel tcg -smp 1 -nodefaults -display none
        -no-reboot -kernel "$kernel" -initrd "$toucher")
    local tappend="console=ttyS0 panic=-1 quiet mitigations=off toucher.hold_s=10"

    declare -A cmd=()
    local -a order=()
    add() {
        local name="$1"
        shift
        order+=("$name")
        cmd[$name]="$(printf '%q ' "$@")"
    }
    # The first run reads qemu's binary, libraries and ROMs from disk: its "file" column is the
    # cold-start page cache charge.  Before any other variant, warm_up() reads them all into
    # the page cache from the root cgroup, so that the other variants are not charged for them.
    add base-256-cold "${base[@]}" -m 256 -mem-prealloc
    add base-256 "${base[@]}" -m 256 -mem-prealloc
    add vnc-vga-std "${base[@]}" -m 256 -mem-prealloc -vga std -vnc 127.0.0.1:1
    add iothreads-4 "${base[@]}" -m 256 -mem-prealloc "${io4[@]}"
    add nic-user-1 "${base[@]}" -m 256 -mem-prealloc -netdev user,id=n0 -device virtio-net-pci,netdev=n0
    add nic-user-4 "${base[@]}" -m 256 -mem-prealloc "${nic4[@]}"
    add qcow2-virtio-blk "${base[@]}" -m 256 -mem-prealloc \
        -drive file=/tmp/measure.qcow2,if=none,id=d0,format=qcow2 -device virtio-blk-pci,drive=d0
    add smp-1 "${base[@]}" -m 256 -mem-prealloc -smp 1
    add smp-4 "${base[@]}" -m 256 -mem-prealloc -smp 4
    add base-1024 "${base[@]}" -m 1024 -mem-prealloc
    add base-256-noprealloc "${base[@]}" -m 256
    add toucher-256 "${toucher_args[@]}" -m 256 -serial file:/tmp/toucher-serial.log -append "$tappend"
    add toucher-256-prealloc "${toucher_args[@]}" -m 256 -mem-prealloc -serial file:/tmp/toucher-serial.log \
        -append "$tappend"
    add toucher-256-tb64 "${toucher_args[@]/#tcg/tcg,tb-size=64}" -m 256 \
        -serial file:/tmp/toucher-serial.log -append "$tappend"
    add toucher-1024 "${toucher_args[@]}" -m 1024 -serial file:/tmp/toucher-serial.log -append "$tappend"
    add toucher-1024-prealloc "${toucher_args[@]}" -m 1024 -mem-prealloc -serial file:/tmp/toucher-serial.log \
        -append "$tappend"

    local repeat=1
    if [[ "${1:-}" == --repeat ]]; then
        repeat="${2:?--repeat needs a number}"
        shift 2
    fi
    local -a run=() sel=()
    if [[ $# -gt 0 ]]; then
        sel=("$@")
    else
        sel=("${order[@]}")
    fi
    for name in "${sel[@]}"; do
        [[ -n "${cmd[$name]:-}" ]] || { echo "measure: unknown variant $name (have: ${order[*]})" >&2; exit 2; }
        if [[ "$name" == base-256-cold ]]; then
            run+=("$name")
        else
            for ((i = 1; i <= repeat; i++)); do run+=("$name"); done
        fi
    done
    warmed=0
    warm_up() {
        local q
        q="$(command -v "$qemu")"
        {
            printf '%s\0' "$q" "$kernel" "$toucher"
            ldd "$q" | awk '$3 ~ /^\// {printf "%s\0", $3} $1 ~ /^\// {printf "%s\0", $1}'
            find /usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu /usr/lib/x86_64-linux-gnu/qemu \
                -type f -print0 2>/dev/null
        } | xargs -0 cat >/dev/null 2>&1 || true
        warmed=1
    }

    if [[ " ${run[*]} " == *" qcow2-virtio-blk "* ]]; then
        command -v qemu-img >/dev/null || { echo "measure: qemu-img missing: apt-get install qemu-utils" >&2; exit 1; }
        qemu-img create -q -f qcow2 /tmp/measure.qcow2 1G
    fi

    local tsv="$out/measurements.tsv"
    printf 'variant\tpeak\tcurrent\tanon\tfile\tkernel\tpagetables\tpercpu\tslab\tsock\tvmhwm_kib\tthreads\tsecs\n' >"$tsv"

    local name d pid t0 t1 prev curr stable waited threads hwm rc
    for name in "${run[@]}"; do
        if [[ "$name" != base-256-cold && "$warmed" == 0 ]]; then
            warm_up
        fi
        d="$top/$name"
        [[ ! -d "$d" ]] || rmdir "$d"
        mkdir "$d"
        rm -f /tmp/toucher-serial.log
        t0="$(date +%s.%N)"
        local -a argv=()
        eval "argv=(${cmd[$name]})"
        # shellcheck disable=SC2016 # $$ and $1 belong to the inner shell
        sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$d" "$qemu" "${argv[@]}" \
            </dev/null >"/tmp/measure-$name.log" 2>&1 &
        pid=$!
        hwm=0
        threads=0
        if [[ "$name" == toucher* ]]; then
            # Wait for the guest to have touched its RAM (it then holds 10 s), up to 15 min.
            for ((waited = 0; waited < 900; waited++)); do
                grep -q '^toucher: touched' /tmp/toucher-serial.log 2>/dev/null && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 1
            done
            sleep 2
        else
            # Paused qemu: wait until memory.current has settled (4 readings 1 s apart within
            # 256 KiB of each other), at least $settle s, at most 120 s.
            prev=0
            stable=0
            for ((waited = 1; waited <= 120; waited++)); do
                sleep 1
                curr="$(cat "$d/memory.current")"
                if ((curr - prev < 262144 && prev - curr < 262144)); then
                    stable=$((stable + 1))
                else
                    stable=0
                fi
                prev="$curr"
                ((waited >= settle && stable >= 3)) && break
            done
            ((stable >= 3)) || echo "measure: $name: memory.current did not settle in 120 s" >&2
        fi
        if [[ -r "/proc/$pid/status" ]]; then
            hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")"
            threads="$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")"
        fi
        local -A st=()
        local k v
        while read -r k v; do st[$k]="$v"; done <"$d/memory.stat"
        local peak current
        peak="$(cat "$d/memory.peak")"
        current="$(cat "$d/memory.current")"
        echo 1 >"$d/cgroup.kill"
        set +e
        wait "$pid" 2>/dev/null
        rc=$?
        set -e
        t1="$(date +%s.%N)"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$peak" "$current" \
            "${st[anon]:-0}" "${st[file]:-0}" "${st[kernel]:-0}" "${st[pagetables]:-0}" \
            "${st[percpu]:-0}" "${st[slab]:-0}" "${st[sock]:-0}" "$hwm" "$threads" \
            "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')" >>"$tsv"
        if [[ "$name" == toucher* ]]; then
            sed "s/^/measure: $name: serial: /" /tmp/toucher-serial.log >&2 || true
        fi
        if [[ -s "/tmp/measure-$name.log" ]]; then
            sed "s/^/measure: $name: qemu: /" "/tmp/measure-$name.log" >&2
        fi
        echo "measure: $name done (peak $((peak / 1048576)) MiB, qemu killed, status $rc)" >&2
        while [[ -s "$d/cgroup.procs" ]]; do sleep 0.1; done
        rmdir "$d"
    done
    rmdir "$top"

    {
        echo "Kernel $(uname -r), $(qemu-system-x86_64 --version | head -n 1), $(date -u +%Y-%m-%d)"
        echo
        echo "| variant | memory.peak | memory.current | anon | file | kernel | pagetables | percpu | slab | sock | VmHWM | threads |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        awk -F'\t' 'NR > 1 {
            m = 1048576
            printf "| %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %s |\n",
                $1, $2/m, $3/m, $4/m, $5/m, $6/m, $7/m, $8/m, $9/m, $10/m, $11/1024, $12 }' "$tsv"
        echo
        echo "(MiB; VmHWM is the qemu process's peak RSS.)"
        echo
        echo "Command lines:"
        echo
        declare -A shown=()
        for name in "${sel[@]}"; do
            [[ -z "${shown[$name]:-}" ]] || continue
            shown[$name]=1
            echo "- $name: \`$(show_cmd "$qemu" "${cmd[$name]}")\`"
        done
    } | tee "$out/measurements.md"
}

main "$@"; exit
