#!/bin/bash
# Scope life cycle: exec failure, a launcher killed before exec, `vmmem gc`, name clashes and
# 20 concurrent launches.
. "$(dirname "$0")/lib.sh"
require_kvm

read -r -a idle <<<"$(idle_qemu_args lc 64)"

# 1. exec fails after the scope exists: exit 127 with the reason, nothing left.
install -m 0644 /dev/null /tmp/not-executable
set +e
out=$(VMMEM_QEMU=/tmp/not-executable "$VMMEM_QEMU" "${idle[@]}" 2>&1)
status=$?
set -e
assert_eq 127 "$status" "exec failure exits 127"
assert_contains "$out" "vmmem-qemu: cannot execute '/tmp/not-executable': Permission denied" "exec failure message"
assert_no_scopes "after an exec failure"

# 2. Killed between mkdir and exec (strace injects SIGKILL at its execve of qemu; strace does not count the exec that starts the launcher): the scope stays behind
#    empty, and `vmmem gc` removes it.
set +e
strace -f -qq -o /dev/null -e trace=execve -e inject=execve:signal=KILL:when=1 \
    "$VMMEM_QEMU" "${idle[@]}" >/dev/null 2>&1
set -e
[[ -d "$CG/vmmem.slice/vmmem-lc.scope" ]] || fail "the killed launcher left no scope: the test proves nothing"
ok "a launcher killed before exec leaves an empty scope"
assert_contains "$("$VMMEM" gc)" "removed 1 empty scope" "vmmem gc reports it"
assert_no_scopes "after gc"

# 3. A live VM's name cannot be taken; a stale scope of that name is replaced.
"$VMMEM_QEMU" "${idle[@]}" &
first=$!
wait_exec "$first"
set +e
out=$("$VMMEM_QEMU" "${idle[@]}" 2>&1)
status=$?
set -e
assert_eq 1 "$status" "second launch with a live name fails"
assert_contains "$out" "already holds a running VM" "name clash message"
kill -9 "$first"
wait "$first" 2>/dev/null || true
"$VMMEM_QEMU" "${idle[@]}" &
again=$!
wait_exec "$again"
wait_cgroup "$again" "vmmem.slice/vmmem-lc.scope"
ok "a stale scope of the same name is replaced"
kill -9 "$again"
wait "$again" 2>/dev/null || true
"$VMMEM" gc >/dev/null

# 4. 20 concurrent launches, unnamed (pid-based scopes) and named: correct, distinct scopes.
pids=()
for i in $(seq 1 20); do
    if ((i % 2)); then
        "$VMMEM_QEMU" -machine q35 -accel kvm -m $((32 + i)) -nodefaults -display none \
            -monitor none -serial none -S &
    else
        "$VMMEM_QEMU" -name "guest=c$i" -machine q35 -accel kvm -m $((32 + i)) -nodefaults \
            -display none -monitor none -serial none -S &
    fi
    pids+=($!)
done
declare -A seen
for idx in "${!pids[@]}"; do
    i=$((idx + 1))
    pid=${pids[$idx]}
    wait_exec "$pid"
    if ((i % 2)); then
        scope="vmmem.slice/vmmem-pid-$pid.scope"
        expected=$("$VMMEM" explain --json -- -machine q35 -accel kvm -m $((32 + i)) -nodefaults -display none -monitor none -serial none -S | jq -r .memory_max)
    else
        scope="vmmem.slice/vmmem-c$i.scope"
        expected=$("$VMMEM" explain --json -- -name "guest=c$i" -machine q35 -accel kvm -m $((32 + i)) -nodefaults -display none -monitor none -serial none -S | jq -r .memory_max)
    fi
    wait_cgroup "$pid" "$scope"
    [[ -z "${seen[$scope]:-}" ]] || fail "two launches share $scope"
    seen[$scope]=1
    [[ "$(cg_read "$scope/memory.max")" == "$expected" ]] || fail "$scope: memory.max $(cg_read "$scope/memory.max") != $expected"
done
ok "20 concurrent launches: 20 distinct scopes, each with its own planned memory.max"
kill -9 "${pids[@]}"
wait 2>/dev/null || true
assert_contains "$("$VMMEM" gc)" "removed 20 empty scope" "gc removes the 20 exited VMs' scopes"
assert_no_scopes "after gc"
finish
