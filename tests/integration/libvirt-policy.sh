#!/bin/bash
# When the envelope cannot be applied under libvirt: policy strict (the default) refuses to start
# the domain and libvirt shows vmmem-qemu's one-line reason; fail-open starts it without an
# envelope and logs one warning line.  The policy comes from the launcher's config ([vmmem] and
# [vm NAME], the domain's own name only), and from <qemu:env> VMMEM_POLICY only where root's
# config lists it in domain-env (environment over file).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt-lib.sh"

lv_start
LAUNCHER_CONF=/etc/vmmem/vmmem.conf # the launcher's default config (writable: /etc is an overlay)
mkdir -p /etc/vmmem

expect_refused() { # NAME EXPECTED_REASON [lv_xml options]
    local name=$1 reason=$2
    shift 2
    lv_create_fails "$(lv_xml "$name" 128 1 "$@")"
    local lines
    lines=$(grep -o 'vmmem-qemu: .*' <<<"$LV_REFUSAL" || true)
    [[ -n "$lines" && "$(wc -l <<<"$lines")" == 1 ]] ||
        fail "$name: expected libvirt to report one 'vmmem-qemu: ...' line, it said: $(tr '\n' '|' <<<"$LV_REFUSAL")"
    [[ "$lines" == "vmmem-qemu: $reason"* ]] ||
        fail "$name: expected the reason 'vmmem-qemu: $reason...', virsh showed: $lines"
    ok "$name refused, virsh shows: $lines"
    lvsh list --all --name | grep -qx "$name" && fail "$name: expected no domain after the refusal, virsh lists it"
    local left
    left=$(pgrep -u libvirt-qemu -l || true)
    [[ -z "$left" ]] || fail "$name: expected no qemu after the refusal, found: $left"
    left=$(find "$CG" -path "*-$name.libvirt-qemu*" 2>/dev/null | tr '\n' ' ')
    [[ -z "$left" ]] || fail "$name: expected libvirt to remove the domain cgroup, found: $left"
    [[ ! -e "$CG/vmmem.slice" ]] || fail "$name: expected no /vmmem.slice, found one"
    ok "$name: no domain, no qemu, no cgroup left"
}

expect_open() { # NAME EXPECTED_REASON [lv_xml options]
    local name=$1 reason=$2
    shift 2
    lv_create "$(lv_xml "$name" 128 1 "$@")"
    local cg line
    cg=$(lv_cgroup "$name")
    assert_eq max "$(cg_read "$cg/memory.max")" "$name: fail-open leaves memory.max"
    assert_eq 0 "$(cg_read "$cg/memory.oom.group")" "$name: fail-open leaves memory.oom.group"
    line=$(grep '^vmmem-qemu: ' "$(lv_log "$name")" || true)
    [[ "$(wc -l <<<"$line")" == 1 && "$line" == "vmmem-qemu: warning: $reason"*"; starting without an envelope (policy fail-open)" ]] ||
        fail "$name: expected one line 'vmmem-qemu: warning: $reason...; starting without an envelope (policy fail-open)' in the domain log, got: '$line'"
    ok "$name: domain log: $line"
    lv_destroy "$name"
}

unreachable="cannot reach vmmemd at $LV_SOCK"

# 1. No vmmemd, no config: strict by default.
expect_refused p1 "$unreachable"

# 2. fail-open from <qemu:env>: ignored by default, honoured once root's config (a drop-in)
#    lists policy in domain-env.
expect_refused p2a "$unreachable" --env VMMEM_POLICY=fail-open
mkdir -p /etc/vmmem/vmmem.conf.d
printf '[vmmem]\ndomain-env = policy\n' >/etc/vmmem/vmmem.conf.d/50-domain-env.conf
expect_open p2 "$unreachable" --env VMMEM_POLICY=fail-open

# 3. fail-open from the launcher's config, for one VM by name; others stay strict.
printf '[vm p3]\npolicy = fail-open\n' >"$LAUNCHER_CONF"
expect_open p3 "$unreachable"
expect_refused p4 "$unreachable"

# 4. fail-open for all, but strict for one VM, or strict from <qemu:env> (environment over file).
printf '[vmmem]\npolicy = fail-open\n[vm p5]\npolicy = strict\n' >"$LAUNCHER_CONF"
expect_refused p5 "$unreachable"
expect_refused p6 "$unreachable" --env VMMEM_POLICY=strict
expect_open p7 "$unreachable"
# A domain that claims p7's name on its command line (qemu takes the last -name) gets neither
# p7's policy nor an envelope: its own name is libvirt's machine name in the cgroup path.
printf '[vmmem]\npolicy = strict\n[vm p7]\npolicy = fail-open\n' >"$LAUNCHER_CONF"
expect_refused p12 "-name 'p7' is not the name of libvirt machine 'qemu-" --arg -name --arg guest=p7
rm -f "$LAUNCHER_CONF"

# 5. vmmemd runs but refuses (its config turned bad after it started): strict shows vmmemd's
#    reason, fail-open starts; once the config is good again the envelope is applied.
printf '[vmmem]\nratio = 1.0\n' >"$LV_CONF"
lv_vmmemd_start "$LV_CONF"
printf '[vmmem]\nratio = 0.5\n' >"$LV_CONF"
expect_refused p8 "vmmemd: $LV_CONF"
expect_open p9 "vmmemd: $LV_CONF" --env VMMEM_POLICY=fail-open
printf '[vmmem]\nratio = 1.0\n' >"$LV_CONF"
lv_create "$(lv_xml p10 128 1)"
cg=$(lv_cgroup p10)
lv_log_cmd p10
assert_eq "$(lv_explain p10 | jq -r .memory_max)" "$(cg_read "$cg/memory.max")" "p10: vmmemd serves again once its config is good"
lv_destroy p10

# 6. Admission in vmmemd (root's config): under admission = strict a domain the host cannot hold
# is refused, and the launcher stops it even under policy fail-open, since a refusal is the
# host's answer and not a failure to apply the envelope; under warn it starts, with one line.
printf '[vmmem]\nadmission = strict\nhost-reserve = 99%%\n' >"$LV_CONF"
expect_refused p13 "vmmemd: admission refused (admission = strict): this VM takes" --env VMMEM_POLICY=fail-open
printf '[vmmem]\nadmission = warn\nhost-reserve = 99%%\n' >"$LV_CONF"
lv_create "$(lv_xml p14 128 1)"
line=$(grep '^vmmem-qemu: warning: admission' "$(lv_log p14)" || true)
[[ "$(wc -l <<<"$line")" == 1 && "$line" == "vmmem-qemu: warning: admission: the host is full, starting anyway (admission = warn): this VM takes "* ]] ||
    fail "p14: expected one admission warning line in the domain log, got: '$line'"
ok "p14: $line"
cg=$(lv_cgroup p14)
lv_log_cmd p14
assert_eq "$(lv_explain p14 | jq -r .memory_max)" "$(cg_read "$cg/memory.max")" "p14: admitted with a warning, in its envelope"
lv_destroy p14
printf '[vmmem]\nratio = 1.0\n' >"$LV_CONF"
rm -f /etc/vmmem/vmmem.conf.d/50-domain-env.conf

lv_note "done"
finish
