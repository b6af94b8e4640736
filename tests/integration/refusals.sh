#!/bin/bash
# Every refusal of vmmem-qemu is one line "vmmem-qemu: ...", a non-zero exit, and leaves no
# cgroup behind.  MODE picks the kernel situation (the harness boots a matching kernel command
# line): basic | hybrid | nomemory | inject.
. "$(dirname "$0")/lib.sh"

MODE=${1:?usage: refusals.sh basic|hybrid|nomemory|inject}
read -r -a idle <<<"$(idle_qemu_args rf 64)"

snapshot() { find "$CG" -mindepth 1 -type d 2>/dev/null | sort; }

# expect_refusal WHAT EXPECTED_SUBSTRING [env VAR=VALUE...] -- ARGV...
expect_refusal() {
    local what=$1 expected=$2
    shift 2
    local -a envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    local before after out status
    before=$(snapshot)
    set +e
    out=$(env "${envs[@]}" "$@" 2>&1)
    status=$?
    set -e
    after=$(snapshot)
    [[ $status -ne 0 ]] || fail "$what: exit status 0"
    [[ $(wc -l <<<"$out") -eq 1 ]] || fail "$what: expected one line, got: $out"
    [[ "$out" == vmmem-qemu:* ]] || fail "$what: message lacks the program name: $out"
    [[ "$out" == *"$expected"* ]] || fail "$what: '$out' does not contain '$expected'"
    [[ "$before" == "$after" ]] || fail "$what: cgroups changed: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
    ok "$what: exit $status, '$out', nothing left"
}

case "$MODE" in
basic)
    require_kvm # the warm-up VM below runs; the refusals never reach qemu
    expect_refusal "-m 12Q" "invalid size '12Q'" -- "$VMMEM_QEMU" -m 12Q -S
    expect_refusal "overflowing size" "-m 99999999999999999999G" -- "$VMMEM_QEMU" -m 99999999999999999999G
    expect_refusal "bad JSON" "-object" -- "$VMMEM_QEMU" -object '{"qom-type":"memory-backend-ram","id":"r"' -m 64
    expect_refusal "memdev names no backend" "nope" -- "$VMMEM_QEMU" -m 64 -numa node,memdev=nope
    expect_refusal "name with /" "a/b" -- "$VMMEM_QEMU" "${idle[@]}" -name a/b
    expect_refusal "name .." "'..'" -- "$VMMEM_QEMU" "${idle[@]}" -name ..
    expect_refusal "name with a control character" "control" -- "$VMMEM_QEMU" "${idle[@]}" -name "$(printf 'a\tb')"
    expect_refusal "hostile parent" "parent" VMMEM_PARENT=../../etc -- "$VMMEM_QEMU" "${idle[@]}"
    expect_refusal "parent missing" "does not exist" VMMEM_PARENT=no/such/parent -- "$VMMEM_QEMU" "${idle[@]}"
    expect_refusal "qemu is the launcher itself" "itself" VMMEM_QEMU="$VMMEM_QEMU" -- "$VMMEM_QEMU" "${idle[@]}"
    # Not permitted: an unprivileged user, first before the root cgroup delegates memory (the
    # subtree_control write fails), then after (mkdir in vmmem.slice fails).
    expect_refusal "not permitted (before vmmem.slice exists)" "Permission denied" -- \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$VMMEM_QEMU" "${idle[@]}"
    "$VMMEM_QEMU" "${idle[@]}" -version >/dev/null # a probe: creates nothing
    "$VMMEM_QEMU" -name guest=warm -machine q35 -accel kvm -m 32 -nodefaults -display none -S -monitor none -serial none &
    warm=$!
    wait_exec "$warm"
    kill -9 "$warm"
    wait "$warm" 2>/dev/null || true
    "$VMMEM" gc >/dev/null
    expect_refusal "not permitted (mkdir of the scope)" "Permission denied" -- \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$VMMEM_QEMU" "${idle[@]}"
    ;;
hybrid)
    # This machine's own layout: v1 hierarchies with memory, cgroup2 at /unified without it.
    umount "$CG"
    mount -t tmpfs cgroup "$CG"
    mkdir "$CG/memory" "$CG/unified"
    mount -t cgroup -o memory cgroup "$CG/memory"
    mount -t cgroup2 cgroup2 "$CG/unified"
    expect_refusal "memory on cgroup v1 (hybrid host)" "cgroup v1" -- "$VMMEM_QEMU" "${idle[@]}"
    ;;
nomemory)
    grep -q cgroup_disable=memory /proc/cmdline || fail "booted without cgroup_disable=memory"
    expect_refusal "no memory controller" "memory" -- "$VMMEM_QEMU" "${idle[@]}"
    ;;
inject)
    # A limit the kernel does not take.  Linux 6.1 has no way to drop memory.swap.* files
    # (swapaccount=0 is a no-op since 5.17), so strace injects the failures into the real
    # syscalls on the real memory.max: first a refused write, then a write that claims
    # success but never reached the kernel, which only the read-back can catch.
    max=$("$VMMEM" explain --json -- "${idle[@]}" | jq -r .memory_max)
    scope_max="$CG/vmmem.slice/vmmem-rf.scope/memory.max"
    expect_refusal "memory.max write refused" "memory.max" -- \
        strace -qq -o /dev/null -P "$scope_max" -e trace=write -e inject=write:error=EACCES \
        "$VMMEM_QEMU" "${idle[@]}"
    expect_refusal "memory.max write lost" "memory.max of '/vmmem.slice/vmmem-rf.scope' reads back 'max', not '$max'" -- \
        strace -qq -o /dev/null -P "$scope_max" -e trace=write -e inject=write:retval=${#max} \
        "$VMMEM_QEMU" "${idle[@]}"
    ;;
*) fail "unknown mode $MODE" ;;
esac
finish
