#!/bin/bash
# Admission on the real kernel: vmmem-qemu and `vmmem run` set a new envelope against the running
# ones, host-reserve and MemTotal before they make it.  strict refuses with one line and leaves
# nothing; overcommit counts guest RAM (never overhead) at a discount; warn starts with a
# warning; `vmmem capacity` counts what is left the same way.
. "$(dirname "$0")/lib.sh"
require_kvm

CONF=/tmp/admission.conf
mem_total=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024))

start_idle() { # NAME RAM_MIB: a running VM in its envelope, RAM preallocated
    local name=$1 ram=$2 args
    read -r -a args <<<"$(idle_qemu_args "$name" "$ram")"
    VMMEM_CONFIG=$CONF "$VMMEM_QEMU" "${args[@]}" 2>"/tmp/$name.err" &
    eval "PID_$name=\$!"
    wait_exec "$(eval echo "\$PID_$name")"
    wait_cgroup "$(eval echo "\$PID_$name")" "vmmem.slice/vmmem-$name.scope"
}

# One 512 MiB VM running; its memory.max is what it takes (overcommit 1).
printf '[vmmem]\nadmission = strict\nhost-reserve = 0\n' >"$CONF"
start_idle a1 512
a1_max=$(cg_read vmmem.slice/vmmem-a1.scope/memory.max)

# A VM that fits exactly what is left is admitted; the reserve that leaves it short refuses it.
read -r -a big <<<"$(idle_qemu_args a2 1024)"
req=$(VMMEM_CONFIG=$CONF "$VMMEM" explain --json -- "${big[@]}" | jq -r .memory_max)
reserve=$((mem_total - a1_max - req + 1048576))
((reserve > 0)) || fail "the test VM's RAM ($mem_total) is too large for this test's sizes"
printf '[vmmem]\nadmission = strict\nhost-reserve = %s\n' "$reserve" >"$CONF"
out=$(VMMEM_CONFIG=$CONF "$VMMEM_QEMU" "${big[@]}" 2>&1) && fail "a2 started over the host's RAM: $out"
[[ "$(wc -l <<<"$out")" == 1 && "$out" == "vmmem-qemu: admission refused (admission = strict): this VM takes "* ]] ||
    fail "a2: expected one line 'vmmem-qemu: admission refused ...', got: $out"
ok "a2 refused: $out"
[[ ! -e "$CG/vmmem.slice/vmmem-a2.scope" ]] || fail "a2: a scope was left behind"
pgrep -f 'guest=a2' >/dev/null && fail "a2: a qemu runs"
ok "a2: no scope, no qemu"
# The same VM under policy fail-open is still refused: a refusal is not a failure.
printf '[vmmem]\nadmission = strict\nhost-reserve = %s\npolicy = fail-open\n' "$reserve" >"$CONF"
VMMEM_CONFIG=$CONF "$VMMEM_QEMU" "${big[@]}" 2>/dev/null && fail "a2 started under fail-open"
ok "a2 refused under policy fail-open too"

# 2 MiB less reserve: it fits.  Admission counts live envelopes only, and only what they hold.
printf '[vmmem]\nadmission = strict\nhost-reserve = %s\n' "$((reserve - 2097152))" >"$CONF"
cap=$(VMMEM_CONFIG=$CONF "$VMMEM" capacity --json -- "${big[@]}")
echo "$cap" | sed 's/^/# /'
assert_eq "$a1_max" "$(jq -r .committed <<<"$cap")" "capacity: a1 takes its memory.max"
assert_eq "$req" "$(jq -r .request <<<"$cap")" "capacity: a2 would take its memory.max"
assert_eq "$((mem_total - (reserve - 2097152) - a1_max))" "$(jq -r .available <<<"$cap")" "capacity: available = MemTotal - reserve - committed"
assert_eq 1 "$(jq -r .capacity <<<"$cap")" "capacity: one more such VM"
start_idle a2 1024
ok "a2 admitted with 1 MiB to spare"
kill -9 "$PID_a2"; wait "$PID_a2" 2>/dev/null || true

# overcommit 2: guest RAM counts half, the overhead whole.
printf '[vmmem]\nadmission = strict\nhost-reserve = %s\novercommit = 2\n' "$reserve" >"$CONF"
cap=$(VMMEM_CONFIG=$CONF "$VMMEM" capacity --json -- "${big[@]}")
a1_ram=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.vmmem.guest_ram").decode())' "$CG/vmmem.slice/vmmem-a1.scope")
assert_eq "$((a1_max - a1_ram + a1_ram / 2))" "$(jq -r .committed <<<"$cap")" "overcommit 2: a1's guest RAM counts half"
assert_eq "$((req - 1073741824 + 536870912))" "$(jq -r .request <<<"$cap")" "overcommit 2: a2's too"
start_idle a2 1024
ok "a2 admitted under overcommit 2 with the reserve that refused it"
kill -9 "$PID_a2"; wait "$PID_a2" 2>/dev/null || true

# warn: starts, with one warning line.
printf '[vmmem]\nadmission = warn\nhost-reserve = %s\n' "$reserve" >"$CONF"
start_idle a2 1024
sleep 0.5
line=$(grep 'admission' /tmp/a2.err || true)
[[ "$(wc -l <<<"$line")" == 1 && "$line" == "vmmem-qemu: warning: admission: the host is full, starting anyway (admission = warn): this VM takes "* ]] ||
    fail "warn: expected one warning line, got: '$line'"
ok "warn: $line"
kill -9 "$PID_a2"; wait "$PID_a2" 2>/dev/null || true

# vmmem run refuses the same way; an exited VM's empty scope holds nothing and counts nothing.
printf '[vmmem]\nadmission = strict\nhost-reserve = %s\n' "$reserve" >"$CONF"
out=$(VMMEM_CONFIG=$CONF "$VMMEM" run -- "${big[@]}" 2>&1) && fail "vmmem run a2 started: $out"
assert_contains "$out" "vmmem: admission refused (admission = strict)" "vmmem run: refused"
kill -9 "$PID_a1"; wait "$PID_a1" 2>/dev/null || true
cap=$(VMMEM_CONFIG=$CONF "$VMMEM" capacity --json -- "${big[@]}")
assert_eq "0 0" "$(jq -r '"\(.envelopes) \(.committed)"' <<<"$cap")" "a1 exited: its empty scope counts nothing"

# Bad values are one line each.
for bad in 'admission = maybe' 'host-reserve = 100%' 'overcommit = 0.5'; do
    printf '[vmmem]\n%s\n' "$bad" >"$CONF"
    out=$(VMMEM_CONFIG=$CONF "$VMMEM" capacity -- "${big[@]}" 2>&1) && fail "'$bad' accepted"
    [[ "$(wc -l <<<"$out")" == 1 ]] || fail "'$bad': expected one line, got: $out"
    ok "'$bad': $out"
done
"$VMMEM" gc >/dev/null
assert_no_scopes "admission"
finish
