# shellcheck shell=bash
# Shared helpers for the test-VM scripts (sourced, not executed).

# vm_kernel_version: print the version of the Debian kernel the test VM boots.
# $VMMEM_VM_KERNEL_VERSION overrides the choice.  Picks the newest
# /boot/vmlinuz-*-amd64 that is not a -cloud- flavour (the cloud flavour has no 9p)
# and whose modules are installed.  Fails with one line when there is none.
vm_kernel_version() {
    local v f best=""
    if [[ -n "${VMMEM_VM_KERNEL_VERSION:-}" ]]; then
        v="$VMMEM_VM_KERNEL_VERSION"
        if [[ ! -r "/boot/vmlinuz-$v" || ! -d "/lib/modules/$v/kernel" ]]; then
            echo "vm: VMMEM_VM_KERNEL_VERSION=$v: /boot/vmlinuz-$v or /lib/modules/$v/kernel missing" >&2
            return 1
        fi
        printf '%s\n' "$v"
        return 0
    fi
    for f in /boot/vmlinuz-*-amd64; do
        [[ -e "$f" ]] || continue
        v="${f#/boot/vmlinuz-}"
        [[ "$v" == *-cloud-* ]] && continue
        [[ -r "$f" && -f "/lib/modules/$v/modules.dep" ]] || continue
        best="$(printf '%s\n%s\n' "$best" "$v" | sed '/^$/d' | sort -V | tail -n 1)"
    done
    if [[ -z "$best" ]]; then
        echo "vm: no usable kernel: need /boot/vmlinuz-*-amd64 (not -cloud-) with /lib/modules/<ver>; apt-get install linux-image-amd64" >&2
        return 1
    fi
    printf '%s\n' "$best"
}

# vm_extract_vmlinux BZIMAGE OUTFILE: write the uncompressed ELF vmlinux inside a bzImage.
# QEMU boots such an ELF through its PVH entry point (CONFIG_PVH=y in Debian's kernel), which
# skips the in-guest xz decompression: ~2.5 s saved per boot under TCG, ~50 s in a nested guest.
# Fails (returns 1) when no payload with a known compression is found.
vm_extract_vmlinux() {
    local bz="$1" out="$2" tmp magic off dec
    tmp="$out.tmp.$$"
    # magic (as grep -P bytes) and decompressor, in order of likelihood for Debian kernels
    for spec in '\xfd7zXZ\x00|xz -dc --single-stream' '\x28\xb5\x2f\xfd|zstd -dcq' '\x1f\x8b\x08|gzip -dc'; do
        magic="${spec%%|*}"
        dec="${spec#*|}"
        while IFS=: read -r off _; do
            [[ -n "$off" ]] || continue
            # shellcheck disable=SC2086 # $dec is a command with its options
            tail -c +"$((off + 1))" "$bz" | $dec >"$tmp" 2>/dev/null || true
            if [[ -s "$tmp" && "$(head -c 4 "$tmp" | od -An -c | tr -d ' ')" == '177ELF' ]]; then
                mv -f "$tmp" "$out"
                return 0
            fi
        done < <(LC_ALL=C grep -obUaP "$magic" "$bz" 2>/dev/null | head -n 3 || true)
    done
    rm -f "$tmp"
    return 1
}

# vm_moddep_read MODDIR: reads MODDIR/modules.dep (and modules.builtin) for vm_modules_order.
vm_moddep_read() {
    local line name
    VM_MODDIR=$1
    declare -gA VM_MOD_PATH=() VM_MOD_DEPS=()
    while IFS= read -r line; do
        name="${line%%:*}"
        name="${name##*/}"
        name="${name%%.ko*}"
        name="${name//-/_}"
        VM_MOD_PATH["$name"]="${line%%:*}"
        VM_MOD_DEPS["$name"]="${line#*:}"
    done <"$VM_MODDIR/modules.dep"
}

# vm_modules_order NAME...: after vm_moddep_read, prints the modules NAME... need, one name a
# line, each once and after everything it depends on: the order to load them in.  Modules
# built into the kernel print nothing.  Fails with one line for a name that is neither.
vm_modules_order() {
    local -A seen=()
    local -a order=()
    local name
    for name in "$@"; do
        _vm_module_add "$name" || return 1
    done
    ((${#order[@]} == 0)) || printf '%s\n' "${order[@]}"
}

# Adds $1 and its dependencies to vm_modules_order's seen/order (bash's dynamic scope).
_vm_module_add() {
    local name=$1 dep i
    [[ -n "${seen[$name]:-}" ]] && return 0
    seen["$name"]=1
    if [[ -z "${VM_MOD_PATH[$name]:-}" ]]; then
        grep -q "/${name//_/[_-]}\.ko" "$VM_MODDIR/modules.builtin" 2>/dev/null && return 0
        echo "vm: module $name not found in $VM_MODDIR/modules.dep" >&2
        return 1
    fi
    # modules.dep lists a module's dependencies nearest first: add them deepest first.
    local -a deps
    read -r -a deps <<<"${VM_MOD_DEPS[$name]}"
    for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
        dep="${deps[$i]##*/}"
        dep="${dep%%.ko*}"
        _vm_module_add "${dep//-/_}" || return 1
    done
    order+=("$name")
}

# vm_module_copy NAME DEST: after vm_moddep_read, writes module NAME uncompressed to DEST.
vm_module_copy() {
    local src="$VM_MODDIR/${VM_MOD_PATH[$1]}"
    case "$src" in
    *.ko) cp "$src" "$2" ;;
    *.ko.xz) xz -dc "$src" >"$2" ;;
    *.ko.zst) zstd -q -dc "$src" >"$2" ;;
    *.ko.gz) gzip -dc "$src" >"$2" ;;
    *) echo "vm: unknown module format: $src" >&2; return 1 ;;
    esac
}
