#!/bin/bash
# vmmem-qemu's optional seccomp filter under libvirt: <qemu:env name='VMMEM_SECCOMP' value='on'/>,
# which root's config allows (domain-env = seccomp),
# stacks one filter under qemu's own -sandbox (which libvirt passes), and the guest keeps
# running: its vCPUs execute, QMP answers, libvirt moves the threads it creates later.
# --boot: also boot a real Linux guest (the nested toucher kernel) under the filter, to its end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt-lib.sh"

BOOT=0
[[ "${1:-}" == --boot ]] && BOOT=1

lv_start
lv_vmmemd_start
mkdir -p /etc/vmmem/vmmem.conf.d
printf '[vmmem]\ndomain-env = seccomp\n' >/etc/vmmem/vmmem.conf.d/50-domain-env.conf

# The same domain twice, once with the filter.  Two vCPUs and an iothread: qemu creates those
# threads after exec, under the filter (clone3 must fail with ENOSYS for glibc to fall back).
lv_create "$(lv_xml s0 128 2 --iothreads 1 --disk 16)"
lv_create "$(lv_xml s1 128 2 --iothreads 1 --disk 16 --env VMMEM_SECCOMP=on)"
p0=$(lv_pid s0)
p1=$(lv_pid s1)

assert_eq 2 "$(proc_status "$p0" Seccomp)" "s0: qemu's own -sandbox filter: Seccomp"
assert_eq 2 "$(proc_status "$p1" Seccomp)" "s1: Seccomp"
f0=$(proc_status "$p0" Seccomp_filters)
f1=$(proc_status "$p1" Seccomp_filters)
assert_eq "$((f0 + 1))" "$f1" "s1: Seccomp_filters = s0's ($f0) + vmmem's one"
assert_eq 0000000000000000 "$(proc_status "$p1" CapEff)" "s1: CapEff"
assert_eq 1 "$(proc_status "$p1" NoNewPrivs)" "s1: NoNewPrivs"
# Every thread carries the filter: the ones qemu made after exec inherit it.
# (A short-lived worker thread may end between the listing and the read: it is skipped.)
for t in /proc/"$p1"/task/*; do
    got=$(awk '$1 == "Seccomp_filters:" {print $2}' "$t/status" 2>/dev/null) || continue
    [[ -n "$got" || -e "$t" ]] || continue
    [[ "$got" == "$f1" ]] ||
        fail "s1: expected $f1 filters on thread $(basename "$t") ($(cat "$t/comm" 2>/dev/null)), got '$got'"
done
ok "s1: all $(ls /proc/"$p1"/task | wc -l) threads carry $f1 filters"
threads=$(cat /proc/"$p1"/task/*/comm 2>/dev/null | tr '\n' ' ' || true)
[[ "$threads" == *"CPU 1/TCG"* && "$threads" == *"IO iothread1"* ]] ||
    fail "s1: expected the vCPU and iothread threads created after exec, threads are: $threads"
ok "s1: qemu made its vCPU and iothread threads under the filter"

# The envelope is still applied (the filter comes after vmmemd's answer).
cg=$(lv_cgroup s1)
lv_log_cmd s1
assert_eq "$(lv_explain s1 | jq -r .memory_max)" "$(cg_read "$cg/memory.max")" "s1: memory.max"
grep -q "^vmmem-qemu: memory.max .* in /$cg (vmmemd answered in [0-9]* ms)$" "$(lv_log s1)" ||
    fail "s1: expected the envelope line in the domain log, got: $(grep '^vmmem-qemu' "$(lv_log s1)")"
ok "s1: the domain log has the envelope line"
left=$(grep -iE 'bad system call|sigsys|operation not permitted|function not implemented' "$(lv_log s1)" || true)
[[ -z "$left" ]] || fail "s1: expected no seccomp complaint in the domain log, got: $left"

# The guest runs: QMP answers, the vCPUs advance, libvirt's own controls work.
vcpu_time() { lvsh domstats --vcpu "$1" | sed -n 's/^ *vcpu\.0\.time=//p'; }
sleep 5
for d in s0 s1; do
    assert_eq running "$(lvsh domstate "$d")" "$d: domstate after 5 s"
    qs=$(lvsh qemu-monitor-command "$d" '{"execute":"query-status"}')
    [[ "$qs" == *'"status":"running"'* ]] || fail "$d: expected QMP query-status running, got: $qs"
    ok "$d: QMP query-status: running"
done
t0=$(vcpu_time s1)
sleep 3
t1=$(vcpu_time s1)
[[ "$t0" =~ ^[0-9]+$ && "$t1" =~ ^[0-9]+$ ]] && ((t1 > t0)) ||
    fail "s1: expected vcpu.0.time to advance over 3 s, got '$t0' then '$t1'"
ok "s1: the guest's vCPU 0 ran $(((t1 - t0) / 1000000)) ms in 3 s"
out=$(lvsh suspend s1 2>&1 && lvsh resume s1 2>&1) || fail "s1: virsh suspend/resume: $out"
assert_eq running "$(lvsh domstate s1)" "s1: domstate after suspend and resume"
lv_destroy s0
lv_destroy s1

if ((BOOT)); then
    # A real kernel boots to its /init under the filter, touches its RAM and powers off.
    [[ -n "$TOUCHER_INITRD" && -f "$TOUCHER_INITRD" ]] || fail "expected the toucher initramfs, got '$TOUCHER_INITRD'"
    install -m 0644 "$KERNEL" /var/lib/libvirt/boot/vmlinux
    install -m 0644 "$TOUCHER_INITRD" /var/lib/libvirt/boot/toucher.cpio.gz
    serial=/var/log/libvirt/qemu/s2.serial
    lv_create "$(lv_xml s2 128 1 --env VMMEM_SECCOMP=on \
        --kernel /var/lib/libvirt/boot/vmlinux --initrd /var/lib/libvirt/boot/toucher.cpio.gz \
        --cmdline "console=ttyS0 panic=-1 quiet mitigations=off" --serial-file "$serial")"
    p2=$(lv_pid s2)
    assert_eq "$f1" "$(proc_status "$p2" Seccomp_filters)" "s2: Seccomp_filters"
    # virsh costs seconds per call here: watch the pid.
    t0=$(date +%s)
    while kill -0 "$p2" 2>/dev/null && (($(date +%s) - t0 < 600)); do sleep 1; done
    kill -0 "$p2" 2>/dev/null && fail "s2: expected the guest to power off within 600 s; serial: $(tail -c 300 "$serial")"
    touched=$(grep -a 'toucher: touched' "$serial" || true)
    [[ -n "$touched" ]] || fail "s2: expected 'toucher: touched' on the guest's serial, got: $(tail -c 500 "$serial" | tr '\n' '|')"
    ok "s2: a Linux guest booted under the filter and powered off after $(($(date +%s) - t0)) s: $touched"
fi

lv_note "done"
finish
