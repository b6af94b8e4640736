/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage 2, the machine: -machine, -accel, -enable-kvm, -smp, -name, and after the last option the
 * vCPU topology, the accelerator qemu will pick and its default devices. */
#include "vm-spec-internal.h"

static const char *const smp_keys[SMP_N_KEYS] = {
    "cpus", "maxcpus", "drawers", "books", "sockets", "dies", "clusters", "cores", "threads",
};

/* ---- -machine, -accel, -enable-kvm ---- */

void
spec_add_mem_ref(ParseState *st, const char *backend_id, bool partial, uint64_t requested)
{
    MemRef *ref = g_new0(MemRef, 1);

    ref->backend_id = g_strdup(backend_id);
    ref->partial = partial;
    ref->requested = requested;
    ref->src = st->cur;
    g_ptr_array_add(st->mem_refs, ref);
}

/* SGX EPC sections plug a backend through the machine: sgx-epc.N.memdev=ID. */
static void
machine_epc_refs(ParseState *st, const QemuOpts *opts)
{
    for (guint i = 0; i < opts->items->len; i++) {
        const QemuOpt *o = g_ptr_array_index(opts->items, i);
        if (g_str_has_prefix(o->key, "sgx-epc.") && g_str_has_suffix(o->key, ".memdev"))
            spec_add_mem_ref(st, o->value, false, 0);
    }
}

/* Repeated -machine options merge key by key (qemu's keyval_merge). */
int
spec_handle_machine(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *value;
    int r;

    r = spec_parse_opts(st, "type", &opts, error);
    if (r < 0)
        return r;
    if ((value = qemu_opts_get(opts, "type"))) {
        g_free(st->spec->machine);
        st->spec->machine = g_strdup(value);
    }
    if ((value = qemu_opts_get(opts, "memory-backend"))) {
        g_free(st->machine_memdev);
        st->machine_memdev = g_strdup(value);
        st->machine_src = st->cur;
    }
    if ((value = qemu_opts_get(opts, "accel"))) {
        g_free(st->machine_accel);
        st->machine_accel = g_strdup(value);
    }
    machine_epc_refs(st, opts);
    return 0;
}

static void
add_accel(ParseState *st, const char *name, uint64_t tb_size)
{
    AccelChoice *c = g_new0(AccelChoice, 1);

    c->name = g_strdup(name);
    c->tb_size = tb_size;
    g_ptr_array_add(st->accels, c);
}

int
spec_handle_accel(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    g_auto(GStrv) names = NULL;
    uint64_t tb_size = 0;
    int r;

    r = spec_parse_opts(st, "accel", &opts, error);
    if (r < 0)
        return r;
    r = spec_opt_uint(st, opts, "tb-size", 0, &tb_size, error);
    if (r < 0)
        return r;
    if (tb_size > G_MAXUINT64 / MiB)
        return spec_refuse_in(st, st->cur, error, ERANGE, "tb-size out of range");
    names = g_strsplit(qemu_opts_get(opts, "accel") ? qemu_opts_get(opts, "accel") : "", ":", 0);
    for (char **n = names; *n; n++)
        if (**n)
            add_accel(st, *n, tb_size);
    return 0;
}

int
spec_handle_enable_kvm(ParseState *st, GError **error)
{
    add_accel(st, "kvm", 0);
    return 0;
}

/* ---- -smp ---- */

int
spec_handle_smp(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    int r;

    r = spec_parse_opts(st, "cpus", &opts, error);
    if (r < 0)
        return r;
    st->smp_src = st->cur;
    /* Repeated -smp options merge key by key. */
    for (int k = 0; k < SMP_N_KEYS; k++) {
        if (!qemu_opts_get(opts, smp_keys[k]))
            continue;
        r = spec_opt_uint(st, opts, smp_keys[k], 0, &st->smp[k], error);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- -name ---- */

int
spec_handle_name(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *guest;
    int r;

    r = spec_parse_opts(st, "guest", &opts, error);
    if (r < 0)
        return r;
    guest = qemu_opts_get(opts, "guest");
    if (guest) {
        g_free(st->spec->name);
        st->spec->name = g_strdup(guest);
    }
    return 0;
}

/* ---- after the last option: vCPUs, accelerator, defaults ---- */

static int
smp_product(const ParseState *st, uint64_t *ret)
{
    uint64_t product = 1;

    for (int k = SMP_DRAWERS; k <= SMP_THREADS; k++) {
        uint64_t v = st->smp[k];
        if (v && !g_uint64_checked_mul(&product, product, v))
            return -ERANGE;
    }
    *ret = product;
    return 0;
}

/* qemu 7.2's machine_parse_smp_config(): a zero is "omitted" (deprecated, with a warning);
 * missing cores, then sockets, then threads are derived from maxcpus.  A topology whose product
 * does not match is qemu's to spec_refuse; only the two counts matter here. */
int
spec_finish_smp(ParseState *st, GError **error)
{
    const uint64_t *v = st->smp;
    uint64_t cpus = v[SMP_CPUS], maxcpus = v[SMP_MAXCPUS], product;

    if (smp_product(st, &product) < 0)
        return spec_refuse(st, st->smp_src, error, ERANGE, "-smp topology overflows");
    if (cpus == 0 && maxcpus == 0)
        maxcpus = product;
    else if (maxcpus == 0)
        maxcpus = cpus;
    if (cpus == 0)
        cpus = maxcpus;
    if (cpus > G_MAXUINT || maxcpus > G_MAXUINT)
        return spec_refuse(st, st->smp_src, error, ERANGE, "-smp asks for more than %u vCPUs",
                           G_MAXUINT);
    st->spec->vcpus = (unsigned)cpus;
    st->spec->maxcpus = (unsigned)MAX(cpus, maxcpus);
    return 0;
}

static VmAccel
accel_kind(const char *name)
{
    if (strcmp(name, "kvm") == 0)
        return VM_ACCEL_KVM;
    if (strcmp(name, "tcg") == 0)
        return VM_ACCEL_TCG;
    return VM_ACCEL_OTHER;
}

/* Accelerators that qemu-system-x86_64 on Linux can bring up; hvf, whpx, nvmm and hax never
 * can, so qemu moves on to the next candidate. */
static bool
accel_usable(const ParseState *st, const char *name)
{
    if (strcmp(name, "kvm") == 0)
        return st->host && st->host->has_kvm;
    return strcmp(name, "tcg") == 0 || strcmp(name, "qtest") == 0 || strcmp(name, "xen") == 0;
}

/* The first usable candidate wins, as in qemu's configure_accelerators().  When none is usable
 * qemu fails to start, so the first one is as good an answer as any. */
void
spec_finish_accel(ParseState *st)
{
    g_autoptr(GPtrArray) from_machine = NULL;
    GPtrArray *list = st->accels;
    AccelChoice *chosen = NULL;

    if (list->len == 0 && st->machine_accel) {
        g_auto(GStrv) names = g_strsplit(st->machine_accel, ":", 0);
        from_machine = g_ptr_array_new_with_free_func((GDestroyNotify)spec_accel_choice_free);
        for (char **n = names; *n; n++) {
            AccelChoice *c = g_new0(AccelChoice, 1);
            c->name = g_strdup(*n);
            g_ptr_array_add(from_machine, c);
        }
        list = from_machine;
    }
    for (guint i = 0; i < list->len && !chosen; i++) {
        AccelChoice *c = g_ptr_array_index(list, i);
        if (accel_usable(st, c->name))
            chosen = c;
    }
    if (!chosen && list->len > 0)
        chosen = g_ptr_array_index(list, 0);
    /* qemu-system-x86_64 defaults to tcg unless its name ends in "kvm". */
    st->spec->accel = chosen ? accel_kind(chosen->name) : VM_ACCEL_TCG;
    st->spec->tb_size = chosen && st->spec->accel == VM_ACCEL_TCG ? chosen->tb_size * MiB : 0;
}

static bool
machine_is(const ParseState *st, const char *prefix)
{
    return st->spec->machine && g_str_has_prefix(st->spec->machine, prefix);
}

/* qemu's own additions: a std VGA and "-net nic -net user" unless -nodefaults (microvm has no
 * bus for either card, but still gets the user backend), and its default display. */
void
spec_finish_defaults(ParseState *st)
{
    VmSpec *spec = st->spec;
    bool defaults = !st->nodefaults && g_strcmp0(spec->machine, "none") != 0;
    bool cards = defaults && !machine_is(st, "microvm");

    if (cards && !st->vga_option && !st->vga_replaced)
        spec_add_video(st, "VGA", 0);
    if (defaults && !st->net_option) {
        /* qemu's default: a NIC on user networking. */
        spec->nics += cards ? 1 : 0;
        spec->net_queues++;
        spec->net_user++;
    }
    if (!st->display_option)
        spec->gui = true;
}

/* The machine type is known only after the last -machine (later keys win). */
void
spec_check_machine_none(ParseState *st)
{
    if (g_strcmp0(st->spec->machine, "none") == 0 && !st->spec->probe) {
        st->spec->probe = true;
        st->spec->probe_reason = g_strdup("-machine none");
    }
}
