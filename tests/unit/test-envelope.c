/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The envelope: limits from a spec and a policy, and the explain JSON contract (docs/json.md). */
#include <glib.h>
#include <string.h>

#include "envelope.h"
#include "overhead.h"
#include "profile.h"
#include "error.h"
#include "size.h"

typedef VmSpec TestSpec;

static void
video_free(gpointer p)
{
    VmVideo *v = p;

    g_free(v->model);
    g_free(v);
}

static void
disk_free(gpointer p)
{
    VmDisk *d = p;

    g_free(d->format);
    g_free(d);
}

/* The test owns these specs; it frees them itself rather than through vm-spec.c. */
static void
spec_free(TestSpec *spec)
{
    g_free(spec->name);
    g_free(spec->probe_reason);
    g_ptr_array_unref(spec->disks);
    g_ptr_array_unref(spec->videos);
    g_free(spec);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestSpec, spec_free)

/* 1 vCPU, KVM, no devices: overhead 33 MiB + 512 KiB + 3 MiB per GiB of @ram in pages (model
 * v2 with THP "always", the zero HostInfo's, below 8 GiB). */
static TestSpec *
spec_new(const char *name, uint64_t ram)
{
    TestSpec *spec = g_new0(TestSpec, 1);

    spec->name = g_strdup(name);
    spec->ram_size = spec->guest_ram = ram;
    spec->vcpus = spec->maxcpus = 1;
    spec->accel = VM_ACCEL_KVM;
    spec->disks = g_ptr_array_new_with_free_func(disk_free);
    spec->videos = g_ptr_array_new_with_free_func(video_free);
    return spec;
}

static Config *
config_from(const char *data)
{
    Config *c = config_new_default();

    g_assert_cmpint(config_load_data(c, data, NULL), ==, 0);
    return c;
}

/* 1 GiB: overhead 38273024 (test-overhead.c, "minimal kvm"). */
#define OVERHEAD_1G UINT64_C(38273024)
#define MAX_1G      (GiB + OVERHEAD_1G)

typedef struct {
    const char *desc;
    const char *config;
    const char *vm;
    uint64_t overhead, memory_max, memory_high, swap_max, memory_low, memory_min;
} EnvelopeRow;

static const EnvelopeRow rows[] = {
    {"defaults", "", "web1", OVERHEAD_1G, MAX_1G, UINT64_MAX, 0, 0, 0},
    /* 0.9 x 1112014848 = 1000813363.2 -> 244339 pages. */
    {"high on", "[vmmem]\nhigh = on\n", "web1", OVERHEAD_1G, MAX_1G, UINT64_C(1000812544), 0, 0, 0},
    /* 0.5 x 1112014848 = 556007424, already whole pages. */
    {"high 0.5", "[vmmem]\nhigh = 0.5\n", "web1", OVERHEAD_1G, MAX_1G, UINT64_C(556007424), 0, 0,
     0},
    {"swap", "[vmmem]\nswap = 1G\n", "web1", OVERHEAD_1G, MAX_1G, UINT64_MAX, GiB, 0, 0},
    {"swap rounded up to a page", "[vmmem]\nswap = 1000\n", "web1", OVERHEAD_1G, MAX_1G, UINT64_MAX,
     4096, 0, 0},
    {"protect low", "[vmmem]\nprotect = low\n", "web1", OVERHEAD_1G, MAX_1G, UINT64_MAX, 0, GiB, 0},
    {"protect min", "[vmmem]\nprotect = min\n", "web1", OVERHEAD_1G, MAX_1G, UINT64_MAX, 0, 0, GiB},
    {"ratio", "[vmmem]\nratio = 1.5\n", "web1", OVERHEAD_1G * 3 / 2, GiB + OVERHEAD_1G * 3 / 2,
     UINT64_MAX, 0, 0, 0},
    {"per-vm policy applies by name", "[vm web1]\nratio = 2\nswap = 1G\n", "web1", 2 * OVERHEAD_1G,
     GiB + 2 * OVERHEAD_1G, UINT64_MAX, GiB, 0, 0},
    {"per-vm policy of another vm", "[vm web2]\nratio = 2\n", "web1", OVERHEAD_1G, MAX_1G,
     UINT64_MAX, 0, 0, 0},
    {"unnamed vm gets the defaults", "[vm web1]\nratio = 2\n", NULL, OVERHEAD_1G, MAX_1G,
     UINT64_MAX, 0, 0, 0},
    {"overhead-max", "[vmmem]\noverhead-max = 32M\n", "web1", 32 * MiB, GiB + 32 * MiB, UINT64_MAX,
     0, 0, 0},
};

static void
test_row(gconstpointer data)
{
    const EnvelopeRow *row = data;
    g_autoptr(TestSpec) spec = spec_new(row->vm, GiB);
    g_autoptr(Config) config = config_from(row->config);
    g_autoptr(Envelope) e = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(envelope_compute(spec, NULL, config, NULL, NULL, &e, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_false(e->probe);
    g_assert_cmpstr(e->vm_name, ==, row->vm);
    g_assert_cmpuint(e->guest_ram, ==, GiB);
    g_assert_cmpuint(e->hugetlb_ram, ==, 0);
    g_assert_cmpuint(e->overhead, ==, row->overhead);
    g_assert_cmpuint(e->overhead, ==, e->breakdown->total);
    g_assert_cmpuint(e->memory_max, ==, row->memory_max);
    g_assert_cmpuint(e->memory_high, ==, row->memory_high);
    g_assert_cmpuint(e->swap_max, ==, row->swap_max);
    g_assert_cmpuint(e->memory_low, ==, row->memory_low);
    g_assert_cmpuint(e->memory_min, ==, row->memory_min);
    g_assert_true(e->oom_group);
}

static void
test_hugetlb_not_in_memory_max(void)
{
    g_autoptr(TestSpec) spec = spec_new("h", 0);
    g_autoptr(Envelope) e = NULL;

    spec->hugetlb_ram = 2 * GiB;
    g_assert_cmpint(envelope_compute(spec, NULL, NULL, NULL, NULL, &e, NULL), ==, 0);
    g_assert_cmpuint(e->guest_ram, ==, 0);
    g_assert_cmpuint(e->hugetlb_ram, ==, 2 * GiB);
    /* 33 MiB + 512 KiB + 3 MiB per GiB of 2 GiB / 512 in pages; no guest RAM in memory.max. */
    g_assert_cmpuint(e->overhead, ==, 33 * MiB + 512 * KiB + 12288);
    g_assert_cmpuint(e->memory_max, ==, e->overhead);
}

static void
test_unaligned_guest_ram(void)
{
    g_autoptr(TestSpec) spec = spec_new("odd", GiB + 1);
    g_autoptr(Config) config = config_from("[vmmem]\nprotect = low\n");
    g_autoptr(Envelope) e = NULL;

    g_assert_cmpint(envelope_compute(spec, NULL, config, NULL, NULL, &e, NULL), ==, 0);
    g_assert_cmpuint(e->memory_max % 4096, ==, 0);
    g_assert_cmpuint(e->memory_max, >=, e->guest_ram + e->overhead);
    g_assert_cmpuint(e->memory_low, ==, GiB + 4096);
}

/* A command line sizes its own guest RAM: root's protect-max, or half the host's RAM, bounds
 * the protection it gets, with a warning. */
static void
test_protect_ceiling(void)
{
    g_autoptr(TestSpec) spec = spec_new("big", 64 * GiB);
    g_autoptr(Config) config = config_from("[vmmem]\nprotect = min\n");
    g_autoptr(Config) capped = config_from("[vmmem]\nprotect = low\nprotect-max = 4G\n");
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, NULL);
    g_autoptr(Envelope) e = NULL, f = NULL;

    g_assert_cmpint(envelope_compute(spec, host, config, NULL, NULL, &e, NULL), ==, 0);
    g_assert_cmpuint(e->memory_min, ==, 8 * GiB);
    g_assert_cmpuint(e->warnings->len, ==, 1);
    g_assert_nonnull(strstr(g_ptr_array_index(e->warnings, 0), "protect-max"));
    g_assert_cmpint(envelope_compute(spec, host, capped, NULL, NULL, &f, NULL), ==, 0);
    g_assert_cmpuint(f->memory_low, ==, 4 * GiB);
    g_assert_cmpuint(f->memory_max, ==, 64 * GiB + f->overhead);
}

static void
test_overflow(void)
{
    g_autoptr(TestSpec) spec = spec_new("huge", UINT64_MAX - 100 * MiB);
    g_autoptr(Envelope) e = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(envelope_compute(spec, NULL, NULL, NULL, NULL, &e, &error), ==, -ERANGE);
    g_assert_error(error, VMMEM_ERROR, ERANGE);
    g_assert_null(e);
}

static void
test_bad_policy(void)
{
    g_autoptr(TestSpec) spec = spec_new("x", GiB);
    g_autoptr(Config) config = config_new_default();
    g_autoptr(Envelope) e = NULL;
    g_autoptr(GError) error = NULL;

    config->defaults.high_fraction = 1.5;
    g_assert_cmpint(envelope_compute(spec, NULL, config, NULL, NULL, &e, &error), ==, -EINVAL);
    g_assert_null(e);
}

static void
test_probe(void)
{
    g_autoptr(TestSpec) spec = spec_new(NULL, 0);
    g_autoptr(Config) config = config_from("[vmmem]\nswap = 1G\nhigh = on\nprotect = min\n");
    g_autoptr(Envelope) e = NULL;

    spec->probe = true;
    spec->probe_reason = g_strdup("-machine none");
    g_assert_cmpint(envelope_compute(spec, NULL, config, NULL, NULL, &e, NULL), ==, 0);
    g_assert_true(e->probe);
    g_assert_cmpuint(e->guest_ram, ==, 0);
    g_assert_cmpuint(e->overhead, ==, 0);
    g_assert_cmpuint(e->memory_max, ==, 0);
    g_assert_cmpuint(e->memory_high, ==, UINT64_MAX);
    g_assert_cmpuint(e->swap_max, ==, 0);
    g_assert_cmpuint(e->memory_min, ==, 0);
    g_assert_false(e->oom_group);
    g_assert_nonnull(e->breakdown);
    g_assert_cmpuint(e->breakdown->terms->len, ==, 0);
}

/* ---- a minimal JSON reader: enough to prove the output parses and to look values up ---- */

typedef enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } JKind;

typedef struct JValue JValue;
struct JValue {
    JKind kind;
    bool b;
    guint64 n;
    char *s;
    GPtrArray *items; /* JValue* (array) */
    GPtrArray *keys;  /* char* (object), parallel to items */
};

static void
jvalue_free(gpointer p)
{
    JValue *v = p;

    if (!v)
        return;
    g_free(v->s);
    if (v->items)
        g_ptr_array_unref(v->items);
    if (v->keys)
        g_ptr_array_unref(v->keys);
    g_free(v);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(JValue, jvalue_free)

static void
skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
        (*p)++;
}

static JValue *parse_value(const char **p);

static char *
parse_string(const char **p)
{
    GString *out = g_string_new(NULL);

    if (**p != '"')
        goto fail;
    for ((*p)++; **p != '"'; (*p)++) {
        unsigned char c = (unsigned char)**p;
        if (c < 0x20)
            goto fail;
        if (c != '\\') {
            g_string_append_c(out, (char)c);
            continue;
        }
        (*p)++;
        switch (**p) {
        case '"':
        case '\\':
        case '/':
            g_string_append_c(out, **p);
            break;
        case 'n':
            g_string_append_c(out, '\n');
            break;
        case 'u': {
            char hex[5] = {0};
            for (int i = 0; i < 4; i++) {
                if (!g_ascii_isxdigit((*p)[1 + i]))
                    goto fail;
                hex[i] = (*p)[1 + i];
            }
            g_string_append_unichar(out, (gunichar)strtoul(hex, NULL, 16));
            *p += 4;
            break;
        }
        default:
            goto fail;
        }
    }
    (*p)++;
    if (!g_utf8_validate(out->str, out->len, NULL))
        goto fail;
    return g_string_free(out, FALSE);
fail:
    g_string_free(out, TRUE);
    return NULL;
}

static bool
parse_members(const char **p, JValue *v, char close)
{
    (*p)++;
    skip_ws(p);
    if (**p == close) {
        (*p)++;
        return true;
    }
    for (;;) {
        JValue *item;
        skip_ws(p);
        if (close == '}') {
            char *key = parse_string(p);
            if (!key)
                return false;
            g_ptr_array_add(v->keys, key);
            skip_ws(p);
            if (**p != ':')
                return false;
            (*p)++;
        }
        item = parse_value(p);
        if (!item)
            return false;
        g_ptr_array_add(v->items, item);
        skip_ws(p);
        if (**p == close) {
            (*p)++;
            return true;
        }
        if (**p != ',')
            return false;
        (*p)++;
    }
}

static JValue *
parse_value(const char **p)
{
    g_autoptr(JValue) v = g_new0(JValue, 1);

    skip_ws(p);
    if (**p == '{' || **p == '[') {
        v->kind = **p == '{' ? J_OBJECT : J_ARRAY;
        v->items = g_ptr_array_new_with_free_func(jvalue_free);
        v->keys = g_ptr_array_new_with_free_func(g_free);
        if (!parse_members(p, v, **p == '{' ? '}' : ']'))
            return NULL;
    } else if (**p == '"') {
        v->kind = J_STRING;
        if (!(v->s = parse_string(p)))
            return NULL;
    } else if (g_ascii_isdigit(**p)) {
        char *end;
        v->kind = J_NUMBER;
        v->n = g_ascii_strtoull(*p, &end, 10);
        *p = end;
    } else if (g_str_has_prefix(*p, "null")) {
        v->kind = J_NULL;
        *p += 4;
    } else if (g_str_has_prefix(*p, "true") || g_str_has_prefix(*p, "false")) {
        v->kind = J_BOOL;
        v->b = **p == 't';
        *p += v->b ? 4 : 5;
    } else {
        return NULL;
    }
    return g_steal_pointer(&v);
}

static JValue *
json_parse(const char *text)
{
    const char *p = text;
    JValue *v = parse_value(&p);

    skip_ws(&p);
    if (v && *p != '\0') {
        jvalue_free(v);
        return NULL;
    }
    return v;
}

static const JValue *
member(const JValue *obj, const char *key)
{
    g_assert_cmpint(obj->kind, ==, J_OBJECT);
    for (guint i = 0; i < obj->keys->len; i++) {
        if (strcmp(g_ptr_array_index(obj->keys, i), key) == 0)
            return g_ptr_array_index(obj->items, i);
    }
    return NULL;
}

static void
assert_number(const JValue *obj, const char *key, guint64 n)
{
    const JValue *v = member(obj, key);

    g_assert_nonnull(v);
    g_assert_cmpint(v->kind, ==, J_NUMBER);
    g_assert_cmpuint(v->n, ==, n);
}

static void
assert_kind(const JValue *obj, const char *key, JKind kind)
{
    const JValue *v = member(obj, key);

    if (!v)
        g_error("key '%s' missing", key);
    g_assert_cmpint(v->kind, ==, kind);
}

static const char *const top_keys[] = {
    "guest_ram", "hugetlb_ram", "overhead",   "memory_max", "memory_high", "swap_max", "components",
    "probe",     "memory_low",  "memory_min", "oom_group",  "model",       "warnings",
};

static void
assert_top_keys(const JValue *root, bool with_vm)
{
    g_assert_cmpint(root->kind, ==, J_OBJECT);
    for (size_t i = 0; i < G_N_ELEMENTS(top_keys); i++)
        g_assert_nonnull(member(root, top_keys[i]));
    g_assert_true(!!member(root, "vm") == with_vm);
    g_assert_cmpuint(root->keys->len, ==, G_N_ELEMENTS(top_keys) + with_vm);
}

static void
test_json_full(void)
{
    g_autoptr(TestSpec) spec = spec_new("web \"1\"\\\n\x01", 4 * GiB);
    g_autoptr(Config) config =
        config_from("[vmmem]\nhigh = on\nswap = 1G\nprotect = low\nratio = 1.5\n");
    g_autoptr(Envelope) e = NULL;
    g_autofree char *json = NULL;
    g_autoptr(JValue) root = NULL;
    const JValue *vm, *components;
    guint64 sum = 0;

    spec->vcpus = 2;
    spec->maxcpus = 4;
    spec->iothreads = 1;
    spec->nics = 1;
    spec->net_queues = 1;
    spec->mem_lock = true;
    spec->vnc = true;
    g_ptr_array_add(spec->disks, g_new0(VmDisk, 1));
    g_assert_cmpint(envelope_compute(spec, NULL, config, NULL, NULL, &e, NULL), ==, 0);
    json = envelope_to_json(e, spec, NULL);
    root = json_parse(json);
    if (!root)
        g_error("not JSON:\n%s", json);
    assert_top_keys(root, true);

    assert_kind(root, "probe", J_BOOL);
    g_assert_false(member(root, "probe")->b);
    assert_number(root, "guest_ram", 4 * GiB);
    assert_number(root, "hugetlb_ram", 0);
    assert_number(root, "overhead", e->overhead);
    assert_number(root, "memory_max", e->memory_max);
    assert_number(root, "memory_high", e->memory_high);
    assert_number(root, "swap_max", GiB);
    assert_number(root, "memory_low", 4 * GiB);
    assert_kind(root, "memory_min", J_NULL);
    assert_kind(root, "oom_group", J_BOOL);
    g_assert_true(member(root, "oom_group")->b);

    vm = member(root, "vm");
    assert_kind(vm, "name", J_STRING);
    g_assert_cmpstr(member(vm, "name")->s, ==, "web \"1\"\\\n\x01");
    assert_kind(vm, "probe_reason", J_NULL);
    assert_number(vm, "ram_size", 4 * GiB);
    assert_number(vm, "vcpus", 2);
    assert_number(vm, "maxcpus", 4);
    g_assert_cmpstr(member(vm, "accel")->s, ==, "kvm");
    assert_number(vm, "iothreads", 1);
    assert_number(vm, "disks", 1);
    assert_number(vm, "nics", 1);
    assert_number(vm, "vfio", 0);
    g_assert_true(member(vm, "mem_lock")->b);

    components = member(root, "components");
    g_assert_cmpint(components->kind, ==, J_ARRAY);
    g_assert_cmpuint(components->items->len, ==, e->breakdown->terms->len);
    for (guint i = 0; i < components->items->len; i++) {
        const JValue *c = g_ptr_array_index(components->items, i);
        const OverheadTerm *t = &g_array_index(e->breakdown->terms, OverheadTerm, i);
        g_assert_cmpuint(c->keys->len, ==, 4);
        g_assert_cmpstr(member(c, "name")->s, ==, t->name);
        assert_number(c, "bytes", t->bytes);
        g_assert_cmpstr(member(c, "basis")->s, ==, t->basis);
        g_assert_cmpstr(member(c, "source")->s, ==, t->source);
        sum += t->bytes;
    }
    g_assert_cmpuint(sum, ==, e->overhead);
    g_assert_cmpstr(
        member(g_ptr_array_index(components->items, components->items->len - 1), "name")->s, ==,
        "policy_ratio");
    g_assert_cmpstr(
        member(g_ptr_array_index(components->items, components->items->len - 1), "basis")->s, ==,
        "policy");
    /* No profile: the built-in model, and nothing to warn about. */
    assert_number(member(root, "model"), "version", OVERHEAD_MODEL_VERSION);
    assert_kind(member(root, "model"), "profile", J_NULL);
    g_assert_cmpuint(member(root, "warnings")->items->len, ==, 0);
}

/* With a host profile: "model" names it, the fitted terms say "profile", and the warnings the
 * caller handed over are in the JSON, in order. */
static void
test_json_profile_and_warnings(void)
{
    g_autoptr(TestSpec) spec = spec_new("p", 2 * GiB);
    Profile *profile = profile_new(OVERHEAD_MODEL_VERSION, "/usr/bin/qemu-system-x86_64", "7.2.19",
                                   "beef", "6.1.0-57-amd64", "2026-12-01T08:00:00Z");
    GPtrArray *warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(Envelope) e = NULL;
    g_autofree char *json = NULL;
    g_autoptr(JValue) root = NULL;
    const JValue *model, *components, *w;

    profile->term[PROFILE_QEMU_BASE] = 30 * MiB;
    profile->term[PROFILE_VCPUS] = 1 * MiB;
    profile->term[PROFILE_KERNEL_RAM] = 3 * MiB;
    g_ptr_array_add(warnings, g_strdup("first \"line\""));
    g_ptr_array_add(warnings, g_strdup("second"));
    g_assert_cmpint(envelope_compute(spec, NULL, NULL, profile, warnings, &e, NULL), ==, 0);
    g_assert_cmpuint(e->overhead, ==, 30 * MiB + 1 * MiB + 6 * MiB);
    json = envelope_to_json(e, spec, NULL);
    root = json_parse(json);
    g_assert_nonnull(root);
    assert_top_keys(root, true);
    model = member(root, "model");
    assert_number(model, "version", OVERHEAD_MODEL_VERSION);
    g_assert_cmpstr(member(member(model, "profile"), "updated")->s, ==, "2026-12-01T08:00:00Z");
    g_assert_cmpstr(member(member(model, "profile"), "qemu_version")->s, ==, "7.2.19");
    g_assert_cmpstr(member(member(model, "profile"), "kernel")->s, ==, "6.1.0-57-amd64");
    assert_number(member(model, "profile"), "measurements", 0);
    components = member(root, "components");
    for (guint i = 0; i < components->items->len; i++)
        g_assert_cmpstr(member(g_ptr_array_index(components->items, i), "basis")->s, ==, "profile");
    w = member(root, "warnings");
    g_assert_cmpuint(w->items->len, ==, 2);
    g_assert_cmpstr(((const JValue *)g_ptr_array_index(w->items, 0))->s, ==, "first \"line\"");
    g_assert_cmpstr(((const JValue *)g_ptr_array_index(w->items, 1))->s, ==, "second");
}

static void
test_json_nulls_and_no_spec(void)
{
    g_autoptr(TestSpec) spec = spec_new(NULL, GiB);
    g_autoptr(Envelope) e = NULL;
    g_autofree char *json = NULL;
    g_autoptr(JValue) root = NULL;

    g_assert_cmpint(envelope_compute(spec, NULL, NULL, NULL, NULL, &e, NULL), ==, 0);
    json = envelope_to_json(e, NULL, NULL);
    root = json_parse(json);
    g_assert_nonnull(root);
    assert_top_keys(root, false);
    assert_number(root, "memory_max", MAX_1G);
    assert_kind(root, "memory_high", J_NULL);
    assert_kind(root, "swap_max", J_NULL);
    assert_kind(root, "memory_low", J_NULL);
    assert_kind(root, "memory_min", J_NULL);
    /* The exact text of one line, so the layout is part of the contract. */
    g_assert_nonnull(strstr(json, "\n  \"memory_high\": null,\n"));
    g_assert_true(g_str_has_prefix(json, "{\n  \"probe\": false,\n  \"guest_ram\": 1073741824,"));
}

static void
test_json_probe(void)
{
    g_autoptr(TestSpec) spec = spec_new(NULL, 0);
    g_autoptr(Envelope) e = NULL;
    g_autofree char *json = NULL;
    g_autoptr(JValue) root = NULL;
    const JValue *vm;

    spec->probe = true;
    spec->probe_reason = g_strdup("-machine none");
    spec->accel = VM_ACCEL_TCG;
    g_assert_cmpint(envelope_compute(spec, NULL, NULL, NULL, NULL, &e, NULL), ==, 0);
    json = envelope_to_json(e, spec, NULL);
    root = json_parse(json);
    g_assert_nonnull(root);
    assert_top_keys(root, true);
    g_assert_true(member(root, "probe")->b);
    assert_number(root, "guest_ram", 0);
    assert_number(root, "hugetlb_ram", 0);
    assert_number(root, "overhead", 0);
    assert_kind(root, "memory_max", J_NULL);
    assert_kind(root, "memory_high", J_NULL);
    assert_kind(root, "swap_max", J_NULL);
    g_assert_false(member(root, "oom_group")->b);
    g_assert_cmpuint(member(root, "components")->items->len, ==, 0);
    g_assert_nonnull(strstr(json, "\"components\": []"));
    vm = member(root, "vm");
    assert_kind(vm, "name", J_NULL);
    g_assert_cmpstr(member(vm, "probe_reason")->s, ==, "-machine none");
    g_assert_cmpstr(member(vm, "accel")->s, ==, "tcg");
}

/* A VM name is bytes: what is not UTF-8 becomes U+FFFD, so the JSON stays valid. */
static void
test_json_invalid_utf8(void)
{
    g_autoptr(TestSpec) spec = spec_new("caf\xc3\xa9-\xff\xfe-\xe2\x82", GiB);
    g_autoptr(Envelope) e = NULL;
    g_autofree char *json = NULL;
    g_autoptr(JValue) root = NULL;

    g_assert_cmpint(envelope_compute(spec, NULL, NULL, NULL, NULL, &e, NULL), ==, 0);
    json = envelope_to_json(e, spec, NULL);
    g_assert_true(g_utf8_validate(json, -1, NULL));
    root = json_parse(json);
    g_assert_nonnull(root);
    g_assert_cmpstr(member(member(root, "vm"), "name")->s, ==,
                    "caf\xc3\xa9-\xef\xbf\xbd\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd");
}

static void
test_json_policy_max(void)
{
    g_autoptr(TestSpec) spec = spec_new("capped", GiB);
    g_autoptr(Config) config = config_from("[vmmem]\noverhead-max = 32M\n");
    g_autoptr(Envelope) e = NULL;
    g_autofree char *json = NULL;
    g_autoptr(JValue) root = NULL;
    const JValue *components, *last;

    g_assert_cmpint(envelope_compute(spec, NULL, config, NULL, NULL, &e, NULL), ==, 0);
    json = envelope_to_json(e, spec, NULL);
    root = json_parse(json);
    g_assert_nonnull(root);
    assert_number(root, "overhead", 32 * MiB);
    components = member(root, "components");
    last = g_ptr_array_index(components->items, components->items->len - 1);
    g_assert_cmpstr(member(last, "name")->s, ==, "policy_max");
    assert_number(last, "bytes", 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/envelope/protect-ceiling", test_protect_ceiling);
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        g_autofree char *path = g_strdup_printf("/envelope/row/%s", rows[i].desc);
        g_test_add_data_func(path, &rows[i], test_row);
    }
    g_test_add_func("/envelope/hugetlb-not-in-memory-max", test_hugetlb_not_in_memory_max);
    g_test_add_func("/envelope/unaligned-guest-ram", test_unaligned_guest_ram);
    g_test_add_func("/envelope/overflow", test_overflow);
    g_test_add_func("/envelope/bad-policy", test_bad_policy);
    g_test_add_func("/envelope/probe", test_probe);
    g_test_add_func("/envelope/json/full", test_json_full);
    g_test_add_func("/envelope/json/nulls-and-no-spec", test_json_nulls_and_no_spec);
    g_test_add_func("/envelope/json/probe", test_json_probe);
    g_test_add_func("/envelope/json/invalid-utf8", test_json_invalid_utf8);
    g_test_add_func("/envelope/json/policy-max", test_json_policy_max);
    g_test_add_func("/envelope/json/profile-and-warnings", test_json_profile_and_warnings);
    return g_test_run();
}
