/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage 4: from the overhead to the cgroup limits, and the explain JSON (docs/json.md). */
#include "envelope.h"
#include "error.h"
#include "json-writer.h"
#include "size.h"

static uint64_t
round_down_page(uint64_t v)
{
    return v & ~(PAGE_BYTES - 1);
}

Envelope *
envelope_free(Envelope *envelope)
{
    if (envelope) {
        g_free(envelope->vm_name);
        overhead_free(envelope->breakdown);
        profile_free(envelope->profile);
        g_clear_pointer(&envelope->warnings, g_ptr_array_unref);
        g_free(envelope);
    }
    return NULL;
}

/* memory.high as a whole-page fraction of memory.max, in exact integer arithmetic: the fraction
 * has 6 decimals (config.c). */
static uint64_t
high_of(uint64_t memory_max, double fraction)
{
    uint64_t ppm = (uint64_t)(fraction * (double)VMMEM_POLICY_PPM + 0.5);

    return round_down_page((uint64_t)((unsigned __int128)memory_max * ppm / VMMEM_POLICY_PPM));
}

static int
fail_range(GError **error, const char *what)
{
    return vmmem_fail(error, ERANGE, "%s does not fit in 64 bits", what);
}

/* The kernel keeps these limits in whole pages; page-aligned values read back as written
 * (cgroup-fs.c checks that). */
/* memory.min/low protect the guest RAM the command line declares, and the command line is the
 * requester's: root's protect-max bounds what it can claim (0: half of the host's RAM, so that a
 * protected VM can never pin the host). */
static uint64_t
protect_ceiling(const Config *config, const HostInfo *host)
{
    if (config && config->protect_max)
        return config->protect_max;
    return host && host->physmem ? host->physmem / 2 : UINT64_MAX;
}

static int
fill_limits(Envelope *e, const Policy *policy, uint64_t protect_max, GError **error)
{
    uint64_t sum;

    if (!(policy->high_fraction >= 0 && policy->high_fraction < 1))
        return vmmem_fail(error, EINVAL, "memory.high fraction %g is not below 1",
                          policy->high_fraction);

    if (!g_uint64_checked_add(&sum, e->guest_ram, e->overhead) ||
        !overhead_round_up_page(sum, &e->memory_max))
        return fail_range(error, "memory.max (guest RAM + overhead)");
    e->memory_high =
        policy->high_fraction > 0 ? high_of(e->memory_max, policy->high_fraction) : UINT64_MAX;
    if (!overhead_round_up_page(policy->swap, &e->swap_max))
        return fail_range(error, "memory.swap.max");
    if (policy->protect != PROTECT_OFF) {
        uint64_t ram;
        if (!overhead_round_up_page(e->guest_ram, &ram))
            return fail_range(error, "memory.low");
        if (ram > protect_max) {
            g_autofree char *want = vmmem_format_size(ram), *cap = vmmem_format_size(protect_max);
            ram = round_down_page(protect_max);
            g_ptr_array_add(e->warnings,
                            g_strdup_printf("memory.%s capped at protect-max %s (guest RAM %s)",
                                            policy->protect == PROTECT_MIN ? "min" : "low", cap,
                                            want));
        }
        if (policy->protect == PROTECT_MIN)
            e->memory_min = ram;
        else
            e->memory_low = ram;
    }
    e->oom_group = true;
    return 0;
}

Profile *
envelope_read_profile(const Config *config, const HostInfo *host, GPtrArray *warnings)
{
    uint64_t builtin[PROFILE_N_TERMS];

    if (!config || !config->profile_path)
        return NULL;
    overhead_profile_builtins(host, builtin);
    return profile_for_host(config->profile_path, config->profile_explicit, config->qemu_binary,
                            host ? host->kernel_release : NULL, OVERHEAD_MODEL_VERSION, builtin,
                            warnings);
}

int
envelope_compute(const VmSpec *spec, const HostInfo *host, const Config *config, Profile *profile,
                 GPtrArray *warnings, Envelope **ret_envelope, GError **error)
{
    g_autoptr(Envelope) e = g_new0(Envelope, 1);
    Policy policy;
    int r;

    e->profile = profile;
    e->warnings = warnings ? warnings : g_ptr_array_new_with_free_func(g_free);
    e->vm_name = g_strdup(spec->name);
    if (spec->probe) {
        /* No scope at all: a probe runs where its caller runs. */
        e->probe = true;
        e->memory_high = UINT64_MAX; /* "off", as for any envelope without memory.high */
        e->breakdown = g_new0(Overhead, 1);
        e->breakdown->terms = g_array_new(FALSE, TRUE, sizeof(OverheadTerm));
        *ret_envelope = g_steal_pointer(&e);
        return 0;
    }
    for (guint i = 0; spec->backends && i < spec->backends->len; i++) {
        const VmMemBackend *b = g_ptr_array_index(spec->backends, i);
        g_autofree char *size = NULL;

        if (b->used)
            continue;
        size = vmmem_format_size(b->size);
        g_ptr_array_add(e->warnings,
                        g_strdup_printf("memory backend '%s' (%s) is not the machine's RAM, a NUMA "
                                        "node's or a memory device's: not counted as guest RAM%s",
                                        b->id, size,
                                        b->prealloc ? "; it is preallocated, which the envelope "
                                                      "does not hold"
                                                    : ""));
    }
    config_policy_for(config, spec->name, &policy);
    r = overhead_compute(spec, host, &policy, e->profile, &e->breakdown, error);
    if (r < 0)
        return r;
    e->guest_ram = spec->guest_ram;
    e->hugetlb_ram = spec->hugetlb_ram;
    e->overhead = e->breakdown->total;
    r = fill_limits(e, &policy, protect_ceiling(config, host), error);
    if (r < 0)
        return r;
    *ret_envelope = g_steal_pointer(&e);
    return 0;
}

/* ---- explain JSON ---- */

static const char *const accel_names[] = {
    [VM_ACCEL_TCG] = "tcg",
    [VM_ACCEL_KVM] = "kvm",
    [VM_ACCEL_OTHER] = "other",
};

static void
json_vm(JsonWriter *w, const VmSpec *spec)
{
    json_begin_object(w);
    json_member_str(w, "name", spec->name);
    json_member_str(w, "probe_reason", spec->probe ? spec->probe_reason : NULL);
    json_member_u64(w, "ram_size", spec->ram_size);
    json_member_u64(w, "vcpus", spec->vcpus);
    json_member_u64(w, "maxcpus", spec->maxcpus);
    json_member_str(w, "accel",
                    (unsigned)spec->accel < G_N_ELEMENTS(accel_names) ? accel_names[spec->accel]
                                                                      : "other");
    json_member_u64(w, "iothreads", spec->iothreads);
    json_member_u64(w, "disks", spec->disks ? spec->disks->len : 0);
    json_member_u64(w, "nics", spec->nics);
    json_member_u64(w, "vfio", spec->vfio);
    json_member_bool(w, "mem_lock", spec->mem_lock);
    json_end_object(w);
}

static void
json_components(JsonWriter *w, const Overhead *o)
{
    guint n = o ? o->terms->len : 0;

    json_begin_array(w);
    for (guint i = 0; i < n; i++) {
        const OverheadTerm *t = &g_array_index(o->terms, OverheadTerm, i);

        json_element(w);
        json_begin_object(w);
        json_member_str(w, "name", t->name);
        json_member_u64(w, "bytes", t->bytes);
        json_member_str(w, "basis", t->basis);
        json_member_str(w, "source", t->source);
        json_end_object(w);
    }
    json_end_array(w);
}

static void
json_model(JsonWriter *w, const Envelope *e)
{
    const Profile *p = e->profile;

    json_begin_object(w);
    json_member_u64(w, "version", OVERHEAD_MODEL_VERSION);
    json_key(w, "profile");
    if (!p) {
        json_null(w);
    } else {
        json_begin_object(w);
        json_member_str(w, "updated", p->updated);
        json_member_u64(w, "measurements", p->measurements->len);
        json_member_str(w, "qemu_version", p->qemu_version);
        json_member_str(w, "kernel", p->kernel);
        json_end_object(w);
    }
    json_end_object(w);
}

void
envelope_json_write(JsonWriter *w, const Envelope *e, const VmSpec *spec, const HostInfo *host)
{
    bool live = !e->probe;

    json_begin_object(w);
    if (spec) {
        json_key(w, "vm");
        json_vm(w, spec);
    }
    json_member_bool(w, "probe", e->probe);
    json_member_u64(w, "guest_ram", e->guest_ram);
    json_member_u64(w, "hugetlb_ram", e->hugetlb_ram);
    json_member_u64(w, "overhead", e->overhead);
    json_member_u64_or_null(w, "memory_max", live, e->memory_max);
    json_member_u64_or_null(w, "memory_high", live && e->memory_high != UINT64_MAX, e->memory_high);
    json_member_u64_or_null(w, "swap_max", live && e->swap_max, e->swap_max);
    json_member_u64_or_null(w, "memory_low", live && e->memory_low, e->memory_low);
    json_member_u64_or_null(w, "memory_min", live && e->memory_min, e->memory_min);
    json_member_bool(w, "oom_group", live && e->oom_group);
    json_key(w, "components");
    json_components(w, live ? e->breakdown : NULL);
    json_key(w, "model");
    json_model(w, e);
    json_key(w, "warnings");
    json_begin_array(w);
    for (guint i = 0; e->warnings && i < e->warnings->len; i++) {
        json_element(w);
        json_string(w, g_ptr_array_index(e->warnings, i));
    }
    json_end_array(w);
    if (host) {
        json_key(w, "host");
        host_info_json_write(w, host);
    }
    json_end_object(w);
}

char *
envelope_to_json(const Envelope *e, const VmSpec *spec, const HostInfo *host)
{
    JsonWriter w;

    json_writer_init(&w);
    envelope_json_write(&w, e, spec, host);
    return json_writer_finish(&w);
}
