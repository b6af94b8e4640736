/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-plan.h"
#include "config.h"
#include "envelope.h"
#include "error.h"
#include "host.h"
#include "libvirt-domain.h"
#include "qemu-argv.h"
#include "qemu-opts.h"
#include "size.h"
#include "vm-spec.h"

/* One input is one qemu command line: its words separated by NUL bytes.  Everything that reads
 * it before anything touches the system runs on it, stages 1 to 5: the parsers, the overhead,
 * the envelope under a few policies and the cgroup plan.  Besides the sanitizers, the checks
 * below catch broken contracts (an error without a message, an index out of argv, limits that
 * do not add up or a plan that writes something else than the envelope says). */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const HostInfo *
fuzz_host(void)
{
    static const char *const mounts[] = {"/dev/hugepages", NULL};
    static HostInfo *host;

    /* Fixed facts, so that an input always takes the same path. */
    if (!host)
        host = host_info_new(UINT64_C(8) << 30, false, mounts);
    return host;
}

/* Words end at NUL; a final NUL does not start an empty word. */
static GPtrArray *
split_words(const char *buf, size_t size)
{
    GPtrArray *words = g_ptr_array_new();

    for (size_t start = 0; start < size;) {
        size_t len = strnlen(buf + start, size - start);

        g_ptr_array_add(words, (char *)buf + start);
        start += len + 1;
    }
    g_ptr_array_add(words, NULL);
    return words;
}

static void
check_error(int r, const GError *error)
{
    if (r >= 0) {
        if (error)
            abort();
        return;
    }
    if (!error || error->domain != VMMEM_ERROR || error->code != -r || !error->message[0] ||
        strchr(error->message, '\n'))
        abort();
}

static void
fuzz_split(int argc, const char *const *argv)
{
    g_autoptr(GArray) args = NULL;
    g_autoptr(GError) error = NULL;
    int r = qemu_argv_split(argc, argv, &args, &error), last = -1;

    check_error(r, error);
    if (r < 0)
        return;
    for (guint i = 0; i < args->len; i++) {
        const QemuArg *a = &g_array_index(args, QemuArg, i);

        if (a->index <= last || a->index >= argc || !a->name)
            abort();
        if (a->arg_index >= 0 && (a->arg_index > a->index + 1 || a->arg != argv[a->arg_index]))
            abort();
        last = a->arg_index > a->index ? a->arg_index : a->index;
    }
}

/* Policies the envelope is computed under: the defaults, and every knob turned. */
static const char *const policies[][2 * 6 + 1] = {
    {NULL},
    {"high", "0.9", "swap", "1G", "protect", "min", "ratio", "1.5", "overhead-min", "64M", NULL},
    {"protect", "low", "overhead-max", "1M", "protect-max", "1G", NULL},
};

static Config *
fuzz_config(size_t index)
{
    static Config *configs[G_N_ELEMENTS(policies)];

    if (!configs[index]) {
        configs[index] = config_new_default();
        for (const char *const *kv = policies[index]; kv[0]; kv += 2) {
            if (config_set(configs[index], kv[0], kv[1], NULL) < 0)
                abort();
        }
    }
    return configs[index];
}

/* The plan writes the envelope's limits, memory.max last. */
static void
check_plan(const Envelope *e, const CgroupPlan *plan)
{
    const CgroupWrite *last = g_ptr_array_index(plan->writes, plan->writes->len - 1);
    g_autofree char *max = g_strdup_printf("%" G_GUINT64_FORMAT, e->memory_max);

    if (strcmp(last->file, "memory.max") != 0 || strcmp(last->value, max) != 0)
        abort();
    if (!g_str_has_prefix(plan->path, "vmmem.slice/vmmem-"))
        abort();
}

/* Stages 3 to 5 on a spec that parsed. */
static void
fuzz_envelope(const VmSpec *spec, const Config *config)
{
    g_autoptr(Envelope) e = NULL;
    g_autoptr(CgroupPlan) plan = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *json = NULL;
    uint64_t sum = 0, with;
    int r = envelope_compute(spec, fuzz_host(), config, NULL, NULL, &e, &error);

    check_error(r, error);
    if (r < 0)
        return;
    json = envelope_to_json(e, spec, fuzz_host());
    if (!json || json[0] != '{')
        abort();
    if (e->probe)
        return;
    /* memory.max holds guest RAM and overhead, in whole pages; the softer limits sit below. */
    if (!g_uint64_checked_add(&with, e->guest_ram, e->overhead) || e->memory_max < with ||
        e->memory_max % 4096 || e->memory_max - with >= 4096)
        abort();
    if (e->memory_high != UINT64_MAX && e->memory_high > e->memory_max)
        abort();
    if (e->memory_min > e->memory_max || e->memory_low > e->memory_max || !e->oom_group)
        abort();
    /* The breakdown adds up, unless the last term caps it (docs/json.md). */
    for (guint i = 0; i < e->breakdown->terms->len; i++) {
        const OverheadTerm *t = &g_array_index(e->breakdown->terms, OverheadTerm, i);
        if (!t->name || !t->source || !t->basis || !g_uint64_checked_add(&sum, sum, t->bytes))
            abort();
    }
    if (e->breakdown->terms->len && sum != e->breakdown->total &&
        strcmp(g_array_index(e->breakdown->terms, OverheadTerm, e->breakdown->terms->len - 1).name,
               "policy_max") != 0)
        abort();
    r = cgroup_plan_new(e, config, spec->name ? spec->name : "fuzz", &plan, &error);
    check_error(r, error);
    if (r == 0)
        check_plan(e, plan);
}

static void
fuzz_spec(int argc, const char *const *argv)
{
    g_autoptr(VmSpec) spec = NULL;
    g_autoptr(GError) error = NULL;
    int bad_index = -1;
    int r = vm_spec_parse(argc, argv, fuzz_host(), &spec, &bad_index, &error);

    check_error(r, error);
    if (r < 0 && (bad_index < -1 || bad_index >= argc))
        abort();
    if (r == 0 && !spec)
        abort();
    if (r < 0)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(policies); i++)
        fuzz_envelope(spec, fuzz_config(i));
}

static void
fuzz_size(const char *text)
{
    uint64_t bytes;
    int r = vmmem_parse_size(text, UINT64_C(1) << 20, &bytes);

    if (r == 0)
        g_free(vmmem_format_size(bytes));
    else if (r != -EINVAL && r != -ERANGE)
        abort();
}

static void
fuzz_opts(const char *text)
{
    g_autoptr(QemuOpts) opts = NULL;
    g_autoptr(GError) error = NULL;
    uint64_t u;
    bool b;
    int r = qemu_opts_parse(text, "size", &opts, &error);

    check_error(r, error);
    if (r < 0)
        return;
    for (guint i = 0; i < opts->items->len; i++) {
        const QemuOpt *opt = g_ptr_array_index(opts->items, i);

        if (!opt->key[0] || !opt->value)
            abort();
        /* Every getter on every key: the errors must be well-formed too. */
        r = qemu_opts_get_size(opts, opt->key, UINT64_C(1) << 20, 0, &u, &error);
        check_error(r, error);
        g_clear_error(&error);
        r = qemu_opts_get_bool(opts, opt->key, false, &b, &error);
        check_error(r, error);
        g_clear_error(&error);
        r = qemu_opts_get_uint(opts, opt->key, 0, &u, &error);
        check_error(r, error);
        g_clear_error(&error);
    }
}

/* vmmemd feeds it what a hostile requester's /proc/PID/cgroup says: a domain found must be a
 * clean prefix of the path, never something that climbs out of it. */
static void
fuzz_placement(const char *text)
{
    g_autoptr(LibvirtDomain) d = NULL;
    const char *path = text;

    while (*path == '/')
        path++;
    if (libvirt_domain_from_cgroup(text, &d) == 0) {
        if (d)
            abort();
        return;
    }
    if (!d || !g_str_has_prefix(path, d->domain) || strstr(d->domain, "..") == d->domain ||
        strstr(d->domain, "/../") || strstr(d->domain, "//") || !d->machine[0])
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *buf = g_malloc(size + 1);
    g_autoptr(GPtrArray) words = NULL;
    const char *const *argv;
    int argc;

    memcpy(buf, data, size);
    buf[size] = '\0';
    words = split_words(buf, size);
    argc = (int)words->len - 1;
    argv = (const char *const *)words->pdata;

    fuzz_split(argc, argv);
    fuzz_spec(argc, argv);
    for (int i = 0; i < argc; i++) {
        fuzz_opts(argv[i]);
        fuzz_size(argv[i]);
        fuzz_placement(argv[i]);
    }
    return 0;
}
