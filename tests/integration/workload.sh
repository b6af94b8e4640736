#!/bin/bash
# The workload guest kit in one nested KVM guest, as `vmmem calibrate` and the accuracy
# benchmark use it: the toucher (tests/vm/toucher.c) writes and reads back a qcow2 disk on the
# scratch disk, sends and receives over a user-networking virtio NIC to netpeer.py, redraws std
# VGA's framebuffer while display-client.py is attached over VNC, onlines a vCPU that qmp.py
# hot-adds while it holds, touches its RAM and powers off.  Every phase must report on the
# guest's console, the helpers must report their side, and the guest must end with
# "toucher: done".
. "$(dirname "$0")/lib.sh"
require_kvm

KIT=$(cd "$(dirname "$0")/../vm" && pwd)
PY=/usr/bin/python3 # not a pyenv shim: the VM's PATH has no ~/.pyenv
[[ -x "$PY" ]] || fail "expected $PY (apt-get install python3)"
[[ -n "$TOUCHER_INITRD" && -f "$TOUCHER_INITRD" ]] || fail "no toucher initramfs ('$TOUCHER_INITRD')"
out=$VMMEM_VM_RESULTS/workload
mkdir -p "$out"
console=$out/guest.log

scratch_mount /tmp/scratch
qemu-img create -q -f qcow2 /tmp/scratch/disk.qcow2 256M
ok "scratch disk mounted, qcow2 image made on it"

# One run of the guest with its helpers, which exit when the guest is done with them.
run_guest() {
    : >"$console"
    "$PY" "$KIT/netpeer.py" --port 5001 --mb 16 --once --timeout 240 >"$out/netpeer.log" 2>&1 &
    netpeer=$!
    "$PY" "$KIT/display-client.py" --vnc 127.0.0.1:5900 >"$out/display-client.log" 2>&1 &
    client=$!
    # A vCPU hot-added while the guest holds (after it touched its RAM): the guest must online it.
    (
        for _ in $(seq 1 2400); do
            grep -q '^toucher: holding' "$console" 2>/dev/null && break
            sleep 0.1
        done
        exec "$PY" "$KIT/qmp.py" /tmp/workload.qmp hotplug-cpus
    ) >"$out/qmp.log" 2>&1 &
    hotplug=$!

    t0=$(date +%s.%N)
    set +e
    timeout 240 "$QEMU_BIN" -name guest=workload -machine q35 -accel kvm -cpu host -m 256 \
        -smp 1,maxcpus=2 -nodefaults -no-reboot -kernel "$KERNEL" -initrd "$TOUCHER_INITRD" \
        -drive file=/tmp/scratch/disk.qcow2,if=virtio,format=qcow2 \
        -nic user,model=virtio-net-pci -vga std -vnc 127.0.0.1:0 \
        -qmp unix:/tmp/workload.qmp,server=on,wait=off -serial "file:$console" \
        -append "console=ttyS0 panic=-1 quiet mitigations=off toucher.disk_mb=64 toucher.net_mb=16 toucher.fb_frames=60 toucher.hold_s=10" \
        </dev/null >"$out/qemu.log" 2>&1
    rc=$?
    set -e
}

# A nested KVM guest that qemu ends with status 0 before it printed "toucher: done", with no
# FAILED line, was reset under -no-reboot: the test VM's emulated SVM failing, not the kit.
# Seen in CI and here (2026-12-04): a console left empty 6 s after start, and one cut off after
# the disk phase while the guest sent to netpeer.  Such a run is repeated, twice at most, and
# each repeat says why.
guest_was_reset() {
    [[ "$rc" == 0 ]] && ! grep -qa '^toucher: FAILED' "$console" &&
        [[ "$(grep -a '^toucher' "$console" | tr -d '\r' | tail -n 1)" != "toucher: done" ]]
}
run_guest
for again in 1 2; do
    guest_was_reset || break
    echo "# nested guest reset after: $(grep -a '^toucher' "$console" | tr -d '\r' | tail -n 1 | grep . || echo 'nothing on its console'); running it again ($again)"
    kill "$netpeer" "$client" "$hotplug" 2>/dev/null || true
    wait "$netpeer" "$client" "$hotplug" 2>/dev/null || true
    run_guest
done
echo "# nested guest: qemu exit $rc in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s"
# The serial console ends its lines with \r\n.
guest=$(grep -a '^toucher' "$console" | tr -d '\r' || true)
mapfile -t lines <<<"$guest"
printf '# guest: %s\n' "${lines[@]}"
cat "$out/qemu.log" "$out/netpeer.log" "$out/display-client.log" "$out/qmp.log" | sed 's/^/# /'
assert_eq 0 "$rc" "qemu exit status"

expect_line() { # REGEX WHAT
    grep -qE "$1" <<<"$guest" || fail "$2: expected a guest line matching '$1' in $console"
    ok "$2: $(grep -m 1 -E "$1" <<<"$guest")"
}
bad=$(grep -E '^toucher: (FAILED|module )' <<<"$guest" || true)
[[ -z "$bad" ]] || fail "the guest reported: $bad"
expect_line '^toucher: disk vda wrote 64 MiB in [0-9.]+ s, read in [0-9.]+ s$' "disk phase"
expect_line '^toucher: net eth0 10\.0\.2\.15/24 gw 10\.0\.2\.2: sent 16 MiB to 10\.0\.2\.2:5001 in [0-9.]+ s, received 16 MiB from 10\.0\.2\.2:5002 in [0-9.]+ s$' "network phase"
expect_line '^toucher: display fb0 \(bochs-drmdrmfb\) [0-9]+x[0-9]+ 32 bpp: 60 frames in [0-9.]+ s$' "display phase"
expect_line '^toucher: touched [0-9]+ MiB' "RAM touched"
expect_line '^toucher: cpu1 online$' "hot-added vCPU onlined"
expect_line '^toucher: held 10 s, 2 cpus online$' "hold"
assert_eq "toucher: done" "$(tail -n 1 <<<"$guest")" "the guest's last line"

wait "$netpeer" || fail "netpeer.py: expected exit 0 after one sink and one source client: $(tail -n 1 "$out/netpeer.log")"
assert_contains "$(cat "$out/netpeer.log")" "received 16777216 bytes" "netpeer's sink got 16 MiB"
assert_contains "$(cat "$out/netpeer.log")" "sent 16777216 bytes" "netpeer's source sent 16 MiB"
wait "$client" || fail "display-client.py: $(tail -n 1 "$out/display-client.log")"
bytes=$(sed -n 's/.*: received \([0-9]*\) bytes.*/\1/p' "$out/display-client.log")
# 60 full-screen frames of pixels that differ everywhere: far more than an idle screen sends.
((${bytes:-0} > 1048576)) || fail "display-client.py: expected more than 1 MiB of VNC updates, got '${bytes:-none}'"
ok "VNC client attached until the guest powered off: $bytes bytes of updates"
wait "$hotplug" || fail "qmp.py hotplug-cpus: $(tail -n 1 "$out/qmp.log")"
assert_contains "$(cat "$out/qmp.log")" "qmp: hot-added 1 vCPUs" "qmp.py hot-added the free vCPU slot"
finish
