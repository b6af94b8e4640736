/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `vmmem fit`: Harvester's reserved-memory question turned around.  Given a budget for the whole
 * envelope, the largest -m whose memory.max fits it, found by bisection over whole MiB (the
 * model's overhead grows with guest RAM, so memory.max does too). */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "fit.h"
#include "qemu-argv.h"
#include "qemu-opts.h"
#include "size.h"
#include "vmmem-private.h"

/* QemuOpts text again: "k=v,k2=v2", a comma in a value doubled. */
static char *
opts_to_text(const QemuOpts *opts)
{
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < opts->items->len; i++) {
        const QemuOpt *o = g_ptr_array_index(opts->items, i);
        g_auto(GStrv) parts = g_strsplit(o->value, ",", -1);
        g_autofree char *value = g_strjoinv(",,", parts);

        g_string_append_printf(out, "%s%s=%s", i ? "," : "", o->key, value);
    }
    return g_string_free(out, false);
}

int
fit_rewrite_m(int argc, const char *const *argv, uint64_t mib, GPtrArray **ret_argv, char **ret_m,
              GError **error)
{
    g_autoptr(GArray) args = NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(QemuOpts) opts = NULL;
    g_autofree char *size = g_strdup_printf("%" G_GUINT64_FORMAT "M", mib);
    g_autofree char *m = NULL;
    int last = -1, r;

    r = qemu_argv_split(argc, argv, &args, error);
    if (r < 0)
        return r;
    for (guint i = 0; i < args->len; i++) {
        const QemuArg *a = &g_array_index(args, QemuArg, i);
        if (strcmp(a->name, "m") == 0)
            last = (int)i;
    }
    if (last < 0) {
        m = g_strdup(size);
    } else {
        const QemuArg *a = &g_array_index(args, QemuArg, (guint)last);
        g_autoptr(QemuOpts) rest = NULL;

        r = qemu_opts_parse(a->arg, "size", &opts, error);
        if (r < 0)
            return r;
        if (opts->json)
            return vmmem_fail(error, EINVAL, "-m takes no JSON");
        /* size first, as qemu prints it; every other property as it was. */
        rest = qemu_opts_new();
        qemu_opts_append(rest, g_strdup("size"), g_strdup(size));
        for (guint i = 0; i < opts->items->len; i++) {
            const QemuOpt *o = g_ptr_array_index(opts->items, i);
            if (strcmp(o->key, "size") != 0)
                qemu_opts_append(rest, g_strdup(o->key), g_strdup(o->value));
        }
        m = opts_to_text(rest);
    }
    for (int i = 0; i < argc; i++) {
        bool is_m_arg = last >= 0 && i == g_array_index(args, QemuArg, (guint)last).arg_index;
        g_ptr_array_add(out, g_strdup(is_m_arg ? m : argv[i]));
    }
    if (last < 0) {
        g_ptr_array_add(out, g_strdup("-m"));
        g_ptr_array_add(out, g_strdup(m));
    }
    g_ptr_array_add(out, NULL);
    *ret_argv = g_steal_pointer(&out);
    *ret_m = g_steal_pointer(&m);
    return 0;
}

/* The envelope of @argv at @mib MiB; NULL when qemu's rules refuse that size (above maxmem). */
static int
envelope_at(int argc, const char *const *argv, const vmmem_host *host, const vmmem_config *config,
            uint64_t mib, vmmem_envelope **ret_envelope, char **ret_m, vmmem_error **reterr)
{
    g_autoptr(GPtrArray) new_argv = NULL;
    g_autofree char *m = NULL;
    vmmem_spec *spec = NULL;
    GError *error = NULL;
    int r;

    if (fit_rewrite_m(argc, argv, mib, &new_argv, &m, &error) < 0)
        return export_error(error, -1, reterr);
    r = vmmem_spec_new_for_host((int)new_argv->len - 1, (const char *const *)new_argv->pdata, host,
                                0, &spec, reterr);
    if (r < 0)
        return r;
    r = vmmem_envelope_new(spec, config, 0, ret_envelope, reterr);
    vmmem_spec_free(spec);
    if (r == 0)
        *ret_m = g_steal_pointer(&m);
    return r;
}

int
vmmem_fit(int argc, const char *const *argv, const vmmem_host *for_host, const vmmem_config *config,
          uint64_t budget, unsigned flags, vmmem_envelope **ret_envelope, char **ret_m,
          vmmem_error **reterr)
{
    __attribute__((cleanup(vmmem_host_freep))) vmmem_host *local = NULL;
    vmmem_envelope *lo_env = NULL, *hi_env = NULL;
    char *lo_m = NULL;
    g_autofree char *hi_m = NULL;
    uint64_t lo = 1, hi, ram_lo, ram_hi;
    int r;

    return_val_if_fail(argc >= 0 && (argv || argc == 0) && ret_envelope && ret_m && flags == 0,
                       -EINVAL);
    if (!for_host) {
        r = vmmem_host_new_local(0, &local, reterr);
        if (r < 0)
            return r;
        for_host = local;
    }
    /* The command line as given must stand before any size is tried. */
    {
        vmmem_spec *spec = NULL;
        r = vmmem_spec_new_for_host(argc, argv, for_host, 0, &spec, reterr);
        if (r < 0)
            return r;
        vmmem_spec_free(spec);
    }
    r = envelope_at(argc, argv, for_host, config, lo, &lo_env, &lo_m, NULL);
    if (r < 0)
        return export_error(g_error_new(VMMEM_ERROR, EINVAL,
                                        "the guest RAM of this command line does not follow -m "
                                        "(memory backends or NUMA nodes size it): fit changes "
                                        "-m only"),
                            -1, reterr);
    if (vmmem_spec_is_probe(lo_env->spec)) {
        vmmem_envelope_free(lo_env);
        g_free(lo_m);
        return export_error(g_error_new(VMMEM_ERROR, EINVAL,
                                        "a probe command line has no "
                                        "guest RAM to fit"),
                            -1, reterr);
    }
    if (vmmem_envelope_get_memory_max(lo_env) > budget) {
        g_autofree char *b = vmmem_format_size(budget);
        g_autofree char *need = vmmem_format_size(vmmem_envelope_get_memory_max(lo_env));
        vmmem_envelope_free(lo_env);
        g_free(lo_m);
        return export_error(g_error_new(VMMEM_ERROR, ENOSPC,
                                        "a budget of %s does not hold even a 1 MiB guest: its "
                                        "envelope is %s",
                                        b, need),
                            -1, reterr);
    }
    /* Guest RAM that does not follow -m (memory backends size it) cannot be fitted by -m. */
    ram_lo = vmmem_envelope_get_guest_ram(lo_env) + vmmem_envelope_get_hugetlb_ram(lo_env);
    hi = MAX(budget / MiB, lo);
    r = envelope_at(argc, argv, for_host, config, 2, &hi_env, &hi_m, NULL);
    ram_hi = r == 0 ? vmmem_envelope_get_guest_ram(hi_env) + vmmem_envelope_get_hugetlb_ram(hi_env)
                    : ram_lo;
    vmmem_envelope_free(hi_env);
    if (ram_hi == ram_lo) {
        vmmem_envelope_free(lo_env);
        g_free(lo_m);
        return export_error(g_error_new(VMMEM_ERROR, EINVAL,
                                        "the guest RAM of this command line does not follow -m "
                                        "(memory backends or NUMA nodes size it): fit changes "
                                        "-m only"),
                            -1, reterr);
    }
    /* lo fits; find the largest that does, up to hi (a guest bigger than the budget cannot). */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        vmmem_envelope *e = NULL;
        char *m = NULL;

        if (envelope_at(argc, argv, for_host, config, mid, &e, &m, NULL) == 0 &&
            vmmem_envelope_get_memory_max(e) <= budget) {
            vmmem_envelope_free(lo_env);
            g_free(lo_m);
            lo_env = e;
            lo_m = m;
            lo = mid;
        } else {
            /* Over budget, or refused by qemu's rules (above maxmem). */
            vmmem_envelope_free(e);
            g_free(m);
            hi = mid - 1;
        }
    }
    *ret_envelope = lo_env;
    *ret_m = lo_m;
    return 0;
}
