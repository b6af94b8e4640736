/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage 4: from the overhead to the cgroup limits, and the explain JSON (docs/json.md). */
#include "envelope.h"
#include "error.h"
#include "size.h"

#define PAGE_BYTES (4 * KiB)

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
static int
fill_limits(Envelope *e, const Policy *policy, GError **error)
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
        if (policy->protect == PROTECT_MIN)
            e->memory_min = ram;
        else
            e->memory_low = ram;
    }
    e->oom_group = true;
    return 0;
}

int
envelope_compute(const VmSpec *spec, const HostInfo *host, const Config *config,
                 Envelope **ret_envelope, GError **error)
{
    g_autoptr(Envelope) e = g_new0(Envelope, 1);
    Policy policy;
    int r;

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
    config_policy_for(config, spec->name, &policy);
    r = overhead_compute(spec, host, &policy, &e->breakdown, error);
    if (r < 0)
        return r;
    e->guest_ram = spec->guest_ram;
    e->hugetlb_ram = spec->hugetlb_ram;
    e->overhead = e->breakdown->total;
    r = fill_limits(e, &policy, error);
    if (r < 0)
        return r;
    *ret_envelope = g_steal_pointer(&e);
    return 0;
}

/* ---- explain JSON ---- */

static void
json_string(GString *out, const char *s)
{
    if (!s) {
        g_string_append(out, "null");
        return;
    }
    g_string_append_c(out, '"');
    for (const char *p = s; *p;) {
        unsigned char c = (unsigned char)*p;
        const char *next;

        if (c == '"' || c == '\\') {
            g_string_append_printf(out, "\\%c", c);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            g_string_append_printf(out, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            g_string_append_c(out, (char)c);
            p++;
        } else if (g_utf8_get_char_validated(p, -1) < (gunichar)-2) {
            next = g_utf8_next_char(p);
            g_string_append_len(out, p, next - p);
            p = next;
        } else {
            /* A VM name is bytes; JSON is UTF-8. */
            g_string_append(out, "\\ufffd");
            p++;
        }
    }
    g_string_append_c(out, '"');
}

/* Keys are written with the separator of the one before them, so the last needs no fixup. */
static void
json_key(GString *out, bool *first, const char *indent, const char *key)
{
    g_string_append_printf(out, "%s\n%s\"%s\": ", *first ? "" : ",", indent, key);
    *first = false;
}

static void
json_u64(GString *out, bool *first, const char *indent, const char *key, uint64_t v)
{
    json_key(out, first, indent, key);
    g_string_append_printf(out, "%" G_GUINT64_FORMAT, v);
}

/* @v, or null when @on is false. */
static void
json_u64_or_null(GString *out, bool *first, const char *indent, const char *key, bool on,
                 uint64_t v)
{
    json_key(out, first, indent, key);
    if (on)
        g_string_append_printf(out, "%" G_GUINT64_FORMAT, v);
    else
        g_string_append(out, "null");
}

static void
json_bool(GString *out, bool *first, const char *indent, const char *key, bool v)
{
    json_key(out, first, indent, key);
    g_string_append(out, v ? "true" : "false");
}

static void
json_str(GString *out, bool *first, const char *indent, const char *key, const char *v)
{
    json_key(out, first, indent, key);
    json_string(out, v);
}

static const char *const accel_names[] = {
    [VM_ACCEL_TCG] = "tcg",
    [VM_ACCEL_KVM] = "kvm",
    [VM_ACCEL_OTHER] = "other",
};

static void
json_vm(GString *out, const VmSpec *spec)
{
    const char *in = "    ";
    bool first = true;

    g_string_append(out, "{");
    json_str(out, &first, in, "name", spec->name);
    json_str(out, &first, in, "probe_reason", spec->probe ? spec->probe_reason : NULL);
    json_u64(out, &first, in, "ram_size", spec->ram_size);
    json_u64(out, &first, in, "vcpus", spec->vcpus);
    json_u64(out, &first, in, "maxcpus", spec->maxcpus);
    json_str(out, &first, in, "accel",
             (unsigned)spec->accel < G_N_ELEMENTS(accel_names) ? accel_names[spec->accel]
                                                               : "other");
    json_u64(out, &first, in, "iothreads", spec->iothreads);
    json_u64(out, &first, in, "disks", spec->disks ? spec->disks->len : 0);
    json_u64(out, &first, in, "nics", spec->nics);
    json_u64(out, &first, in, "vfio", spec->vfio);
    json_bool(out, &first, in, "mem_lock", spec->mem_lock);
    g_string_append(out, "\n  }");
}

static void
json_components(GString *out, const Overhead *o)
{
    guint n = o ? o->terms->len : 0;

    if (n == 0) {
        g_string_append(out, "[]");
        return;
    }
    g_string_append(out, "[");
    for (guint i = 0; i < n; i++) {
        const OverheadTerm *t = &g_array_index(o->terms, OverheadTerm, i);
        bool first = true;

        g_string_append_printf(out, "%s\n    {", i ? "," : "");
        json_str(out, &first, "      ", "name", t->name);
        json_u64(out, &first, "      ", "bytes", t->bytes);
        json_str(out, &first, "      ", "source", t->source);
        g_string_append(out, "\n    }");
    }
    g_string_append(out, "\n  ]");
}

char *
envelope_to_json(const Envelope *e, const VmSpec *spec)
{
    GString *out = g_string_new("{");
    const char *in = "  ";
    bool first = true;
    bool live = !e->probe;

    if (spec) {
        json_key(out, &first, in, "vm");
        json_vm(out, spec);
    }
    json_bool(out, &first, in, "probe", e->probe);
    json_u64(out, &first, in, "guest_ram", e->guest_ram);
    json_u64(out, &first, in, "hugetlb_ram", e->hugetlb_ram);
    json_u64(out, &first, in, "overhead", e->overhead);
    json_u64_or_null(out, &first, in, "memory_max", live, e->memory_max);
    json_u64_or_null(out, &first, in, "memory_high", live && e->memory_high != UINT64_MAX,
                     e->memory_high);
    json_u64_or_null(out, &first, in, "swap_max", live && e->swap_max, e->swap_max);
    json_u64_or_null(out, &first, in, "memory_low", live && e->memory_low, e->memory_low);
    json_u64_or_null(out, &first, in, "memory_min", live && e->memory_min, e->memory_min);
    json_bool(out, &first, in, "oom_group", live && e->oom_group);
    json_key(out, &first, in, "components");
    json_components(out, live ? e->breakdown : NULL);
    g_string_append(out, "\n}");
    return g_string_free(out, FALSE);
}
