#!/bin/bash
# vmmem calibrate on nested KVM toucher guests (tests/vm/toucher.c): the JSON contract of
# docs/json.md holds, the guest RAM it finds is what the guest touched, the must-fit overhead
# is real and below the calibration ceiling, --duration stops a guest that would run on,
# SIGTERM stops it all, and refusals are one line; no scope is ever left behind.
. "$(dirname "$0")/lib.sh"

# Until the harness loads it: TCG in the test VM emulates SVM with nested paging.
modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null || true
[[ -c /dev/kvm ]] || fail "no /dev/kvm in the test VM (modprobe kvm_amd failed)"
ok "/dev/kvm is there"
[[ -n "$TOUCHER_INITRD" && -f "$TOUCHER_INITRD" ]] || fail "no toucher initramfs ('$TOUCHER_INITRD')"

RESULTS=${VMMEM_VM_RESULTS:-/tmp}

kvm_toucher() { # NAME RAM_MIB [APPEND] [QEMU-ARGS...]: fills TOUCHER
    local name=$1 mib=$2 append=${3:-}
    shift 3 || shift $#
    TOUCHER=(-name "guest=$name" -machine q35 -accel kvm -cpu host -m "$mib" -smp 1 -nodefaults
        -display none -serial "file:/tmp/$name.console" -no-reboot -kernel "$KERNEL"
        -initrd "$TOUCHER_INITRD" -append "console=ttyS0 panic=-1 quiet $append" "$@")
}

# The contract's checks, in python3's json module (a strict RFC 8259 parser).
check_json() { # FILE RAM_BYTES TOUCHED_MIB
    python3 - "$@" <<'PY'
import json, sys
path, ram, touched = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
text = open(path).read()
d = json.loads(text)
def u64(v):
    assert isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**64, v
    return v
top = ["finished", "samples", "samples_skipped", "duration_ms", "interval_ms", "max_gap_ms",
       "qemu_exit_status", "peak_overhead", "must_fit", "bound", "max", "reclaimable", "guest", "memory_peak",
       "memory_peak_minus_guest", "memory_max", "events", "budget", "envelope"]
assert list(d) == top, list(d)
assert d["finished"] is True
for k in ["samples", "samples_skipped", "duration_ms", "interval_ms", "max_gap_ms",
          "qemu_exit_status", "memory_peak", "memory_peak_minus_guest", "memory_max"]:
    u64(d[k])
assert d["samples"] > 0, d["samples"]
m = d["must_fit"]
parts = ["anon", "tcg_cache", "pagetables", "sec_pagetables", "slab", "percpu", "kernel_stack",
         "kernel_other", "sock", "shmem"]
assert list(m) == ["peak", "at_ms", "anon", "tcg_cache", "kernel", "pagetables", "sec_pagetables", "slab",
                   "percpu", "kernel_stack", "kernel_other", "sock", "shmem"], list(m)
for k in m:
    u64(m[k])
assert sum(m[k] for k in parts) == m["peak"], m
assert sum(m[k] for k in parts[2:8]) == m["kernel"], m
assert m["anon"] + m["tcg_cache"] + m["kernel"] + m["sock"] + m["shmem"] == m["peak"]
# Under KVM there is no translation cache.
assert m["tcg_cache"] == 0, m
bd = d["bound"]
assert list(bd) == ["peak", "at_ms", "source", "precharge"], list(bd)
assert bd["source"] in ("memory.current", "memory.peak") or (bd["source"] is None and bd["peak"] == 0), bd
assert u64(d["peak_overhead"]) == max(m["peak"], bd["peak"]), d["peak_overhead"]
assert m["peak"] > 0
assert m["at_ms"] <= d["duration_ms"]
mx = d["max"]
for k in mx:
    u64(mx[k])
assert mx["must_fit"] == m["peak"]
for k in parts:
    assert mx[k] >= m[k], (k, mx[k], m[k])
g = d["guest"]
for k in g:
    u64(g[k])
assert g["ram"] == ram, g
# The guest's kernel and page cache sit in its RAM too: at least what the toucher wrote, at
# most all of it.
assert touched * 2**20 <= g["resident_peak"] <= ram, (touched, g)
assert g["anon"] + g["shmem"] + g["file"] == g["resident_peak"], g
assert d["memory_peak"] >= g["resident_end"] + m["peak"] - 16 * 2**20, d
# The ceiling: must-fit overhead far below the room calibration gives.
assert d["memory_max"] >= ram + 2**30, d["memory_max"]
assert m["peak"] < d["memory_max"] - ram, (m["peak"], d["memory_max"])
assert d["events"] == {"max": 0, "oom": 0, "oom_kill": 0}, d["events"]
b = d["budget"]
assert b["overhead"] == d["envelope"]["overhead"], b
assert isinstance(b["ratio"], float) and abs(b["ratio"] - b["overhead"] / d["peak_overhead"]) < 0.006, b
assert d["envelope"]["guest_ram"] == ram
print("# must-fit peak %.1f MiB at %.1f s: anon %.1f, kernel %.2f (pagetables %.2f, "
      "sec_pagetables %.2f, slab %.2f, percpu %.2f, kernel_stack %.2f, other %.2f), sock %.2f, "
      "shmem %.2f MiB; reclaimable peak %.1f MiB; memory.peak %.1f MiB; guest resident peak "
      "%.1f MiB (touched %d MiB); budget %.1f MiB = %.2f x; %d samples (%d skipped), mean "
      "interval %d ms, max gap %d ms, %.1f s" % (
          m["peak"] / 2**20, m["at_ms"] / 1000, m["anon"] / 2**20, m["kernel"] / 2**20,
          m["pagetables"] / 2**20, (m["sec_pagetables"] or 0) / 2**20, m["slab"] / 2**20,
          m["percpu"] / 2**20, m["kernel_stack"] / 2**20, m["kernel_other"] / 2**20,
          m["sock"] / 2**20, m["shmem"] / 2**20, d["reclaimable"]["peak"] / 2**20,
          d["memory_peak"] / 2**20, g["resident_peak"] / 2**20, touched,
          b["overhead"] / 2**20, b["ratio"], d["samples"], d["samples_skipped"],
          d["interval_ms"], d["max_gap_ms"], d["duration_ms"] / 1000))
PY
}

touched_mib() { # NAME
    sed -n 's/^toucher: touched \([0-9]*\) MiB.*/\1/p' "/tmp/$1.console"
}

calibrate_guest() { # NAME RAM_MIB [APPEND] [QEMU-ARGS...]
    local name=$1 mib=$2 status touched
    kvm_toucher "$@"
    set +e
    "$VMMEM" calibrate --json -- "${TOUCHER[@]}" >"/tmp/$name.json" 2>"/tmp/$name.err"
    status=$?
    set -e
    cp "/tmp/$name.json" "/tmp/$name.err" "/tmp/$name.console" "$RESULTS/" 2>/dev/null || true
    [[ $status == 0 ]] || fail "$name: calibrate exited $status: $(cat "/tmp/$name.err")"
    ok "$name: calibrate exited 0"
    touched=$(touched_mib "$name")
    [[ -n "$touched" ]] || fail "$name: the guest did not report touching its RAM"
    check_json "/tmp/$name.json" $((mib * 1048576)) "$touched" || fail "$name: the JSON breaks the contract"
    ok "$name: the JSON keeps the contract; guest RAM found, must-fit overhead below the ceiling"
    assert_no_scopes "$name"
}

# 1. A 256 MiB and a 1 GiB guest, and guest RAM in a memfd backend.
calibrate_guest kvm256 256
calibrate_guest kvm1g 1024 "" -mem-prealloc
calibrate_guest memfd256 256 "" -object memory-backend-memfd,id=ram0,size=256M \
    -machine memory-backend=ram0

# 1b. --save-profile: a host profile from a real measurement, used by explain with its basis;
# one made under another kernel is ignored with one warning line.
kvm_toucher prof 256
cat >/tmp/prof-vmmem.conf <<'EOF2'
[vmmem]
profile = /tmp/prof/profile.conf
EOF2
rm -rf /tmp/prof
set +e
"$VMMEM" calibrate --config /tmp/prof-vmmem.conf --save-profile -- "${TOUCHER[@]}" >/tmp/prof.out 2>/tmp/prof.err
status=$?
set -e
[[ $status == 0 ]] || fail "save-profile: calibrate exited $status: $(cat /tmp/prof.err)"
[[ -f /tmp/prof/profile.conf ]] || fail "save-profile: no profile at the config's path: $(cat /tmp/prof.err)"
cp /tmp/prof/profile.conf "$RESULTS/" 2>/dev/null || true
grep -q '^\[measurement 1\]$' /tmp/prof/profile.conf || fail "save-profile: no [measurement 1]"
grep -q "^kernel=$(uname -r)$" /tmp/prof/profile.conf || fail "save-profile: the kernel is not recorded"
grep -q '^model=2$' /tmp/prof/profile.conf || fail "save-profile: the model version is not recorded"
peak=$(sed -n 's/^peak-overhead=//p' /tmp/prof/profile.conf)
base=$(sed -n '/^\[term qemu_base\]/,/^\[/s/^bytes=//p' /tmp/prof/profile.conf)
other=$(sed -n 's/^other-terms=//p' /tmp/prof/profile.conf)
((peak > 16 * 1048576)) || fail "save-profile: peak-overhead $peak is not a real measurement"
# The fit: base + one vCPU + 256 MiB of kernel_ram + the other terms cover the peak + 10 %.
((base + 524288 + 1179648 + other >= peak * 110 / 100 - 4096)) ||
    fail "save-profile: qemu_base $base does not cover the peak $peak with its headroom"
ok "--save-profile wrote a profile: peak $((peak / 1048576)) MiB, qemu_base fitted to $((base / 1048576)) MiB"
explain=$("$VMMEM" explain --config /tmp/prof-vmmem.conf -- "${TOUCHER[@]}" 2>/tmp/prof-explain.err)
assert_contains "$explain" "[profile]" "explain with the profile: the basis says profile"
assert_contains "$explain" "$(uname -r)" "explain with the profile: it names the kernel measured"
[[ ! -s /tmp/prof-explain.err ]] || fail "explain with a valid profile warned: $(cat /tmp/prof-explain.err)"
json_base=$("$VMMEM" explain --json --config /tmp/prof-vmmem.conf -- "${TOUCHER[@]}" 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); c=[x for x in d["components"] if x["name"]=="qemu_base"][0]; assert c["basis"]=="profile", c; assert d["model"]["profile"]["measurements"]==1, d["model"]; print(c["bytes"])') ||
    fail "explain --json with the profile: no profile basis"
assert_eq "$base" "$json_base" "explain --json: qemu_base is the profile's"
sed -i "s/^kernel=.*/kernel=0.0.0-other/" /tmp/prof/profile.conf
explain=$("$VMMEM" explain --config /tmp/prof-vmmem.conf -- "${TOUCHER[@]}" 2>/tmp/prof-explain.err)
assert_eq 1 "$(grep -c 'warning: profile .* not used: .*0.0.0-other' /tmp/prof-explain.err)" \
    "a profile of another kernel: one warning line"
assert_contains "$explain" "[measured]" "a profile of another kernel: the built-in terms apply"
case $explain in *"[profile]"*) fail "a profile of another kernel was used" ;; esac
ok "a profile measured under another kernel is ignored with one line"
assert_no_scopes "save-profile"

# 2. --duration stops a guest that would hold for 10 minutes: SIGTERM, and qemu exits.
kvm_toucher held 256 toucher.hold_s=600
t0=$(date +%s)
set +e
"$VMMEM" calibrate --json --duration 20 --interval 200 -- "${TOUCHER[@]}" >/tmp/held.json 2>/tmp/held.err
status=$?
set -e
elapsed=$(($(date +%s) - t0))
[[ $status == 0 ]] || fail "held: calibrate exited $status: $(cat /tmp/held.err)"
((elapsed < 20 + 10 + 20)) || fail "held: --duration 20 took $elapsed s"
ok "--duration 20 ended a guest that would hold for 600 s, after $elapsed s"
grep -q "toucher: powering off" /tmp/held.console && fail "held: the guest powered off by itself"
python3 -c 'import json,sys; d=json.load(open("/tmp/held.json")); assert d["samples"] > 0 and 20000 <= d["duration_ms"] < 32000 and d["qemu_exit_status"] is not None, d' ||
    fail "held: $(head -c 400 /tmp/held.json)"
ok "--duration: samples, a duration of about 20 s and qemu's status in the JSON"
assert_no_scopes "--duration"

# 3. SIGTERM to calibrate stops qemu, removes the scope and exits 128 + 15.
kvm_toucher stopped 256 toucher.hold_s=600
set +e
"$VMMEM" calibrate -- "${TOUCHER[@]}" >/tmp/stopped.out 2>/tmp/stopped.err &
pid=$!
for _ in $(seq 1 300); do
    grep -qs . "$CG/vmmem.slice/vmmem-stopped.scope/cgroup.procs" && break
    sleep 0.1
done
sleep 2
kill -TERM "$pid"
wait "$pid"
status=$?
set -e
assert_eq 143 "$status" "SIGTERM: calibrate's exit status"
assert_eq 1 "$(wc -l </tmp/stopped.err)" "SIGTERM: one line on stderr"
assert_contains "$(cat /tmp/stopped.err)" "vmmem: stopped by SIGTERM" "SIGTERM: the line says why"
[[ ! -s /tmp/stopped.out ]] || fail "SIGTERM: a report was printed: $(cat /tmp/stopped.out)"
pgrep -f "guest=stopped" >/dev/null && fail "SIGTERM: qemu still runs"
ok "SIGTERM: qemu is gone"
assert_no_scopes "SIGTERM"

# 4. Refusals: one line, a non-zero exit, nothing left behind.
refused() { # WHAT EXPECTED_STATUS NEEDLE ARGS...
    local what=$1 want=$2 needle=$3 status
    shift 3
    set +e
    "$VMMEM" calibrate "$@" >/tmp/refused.out 2>/tmp/refused.err
    status=$?
    set -e
    assert_eq "$want" "$status" "$what: exit status"
    assert_eq 1 "$(grep -c '^vmmem: ' /tmp/refused.err)" "$what: one 'vmmem:' line"
    assert_contains "$(grep '^vmmem: ' /tmp/refused.err)" "$needle" "$what: the line says why"
    [[ ! -s /tmp/refused.out ]] || fail "$what: something on stdout: $(cat /tmp/refused.out)"
    assert_no_scopes "$what"
}
refused "probe argv" 1 "no guest RAM" --json -- -machine none
refused "bogus option" 2 "--bogus" --bogus -- -m 256
refused "bad interval" 2 "--interval: '5'" --interval 5 -- -m 256
refused "qemu fails to start" 1 "qemu exited with status 1" --json -- \
    -machine q35 -accel kvm -m 256 -nodefaults -display none -device no-such-device
refused "no qemu" 127 "cannot execute" --qemu /nonexistent/qemu -- -m 256

finish
