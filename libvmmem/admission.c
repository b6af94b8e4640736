/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Admission: before an envelope is made, Σ of what the live envelopes take + the new one + the
 * host reserve is set against MemTotal.  Guest RAM may be overcommitted (KSM and ballooning let
 * hosts run 150-200 %); the overhead may not, because it is what the kernel kills for. */
#include <errno.h>
#include <string.h>

#include "admission.h"
#include "error.h"
#include "size.h"
#include "status.h"
#include "vmmem-private.h"

uint64_t
admission_charge(uint64_t memory_max, uint64_t guest_ram, double overcommit)
{
    uint64_t guest = MIN(guest_ram, memory_max);
    /* overcommit is kept in millionths (config.c): integer arithmetic, rounded up. */
    uint64_t ppm = (uint64_t)(overcommit * VMMEM_POLICY_PPM + 0.5);
    uint64_t counted = (uint64_t)(((unsigned __int128)guest * VMMEM_POLICY_PPM + ppm - 1) /
                                  (unsigned __int128)ppm);

    return memory_max - guest + counted;
}

void
admission_compute(const Envelope *envelope, const Config *config, const GArray *entries,
                  const char *self, uint64_t mem_total, vmmem_admission *ret)
{
    vmmem_admission a = {0};
    uint64_t used;

    a.mode = (int)config->admission;
    a.mem_total = mem_total;
    a.overcommit = config->overcommit;
    a.reserve = config->reserve_pct
                    ? (uint64_t)((unsigned __int128)mem_total * config->reserve_pct / 100)
                    : config->reserve_bytes;
    for (guint i = 0; i < entries->len; i++) {
        const vmmem_status_envelope *e = &g_array_index(entries, StatusEntry, i).pub;
        if (e->qemu_pid <= 0 || (self && strcmp(e->path, self) == 0))
            continue;
        a.n_envelopes++;
        a.committed += admission_charge(e->memory_max, e->guest_ram, config->overcommit);
    }
    a.request = admission_charge(envelope->memory_max, envelope->guest_ram, config->overcommit);
    used = a.committed + a.reserve;
    a.available = used < mem_total ? mem_total - used : 0;
    a.capacity = a.request ? a.available / a.request : 0;
    a.fits = a.request <= a.available;
    *ret = a;
}

static char *
describe(const vmmem_admission *a)
{
    g_autofree char *request = vmmem_format_size(a->request);
    g_autofree char *committed = vmmem_format_size(a->committed);
    g_autofree char *reserve = vmmem_format_size(a->reserve);
    g_autofree char *total = vmmem_format_size(a->mem_total);
    g_autofree char *available = vmmem_format_size(a->available);
    g_autofree char *overcommit =
        a->overcommit != 1.0
            ? g_strdup_printf(", guest RAM counted / %g (overcommit)", a->overcommit)
            : g_strdup("");

    return g_strdup_printf("this VM takes %s; %zu running envelope(s) take %s and host-reserve "
                           "keeps %s of the host's %s, leaving %s%s",
                           request, a->n_envelopes, committed, reserve, total, available,
                           overcommit);
}

char *
vmmem_admission_to_string(const vmmem_admission *a)
{
    return a ? describe(a) : NULL;
}

int
vmmem_admission_check(const vmmem_envelope *envelope, const vmmem_config *config, unsigned flags,
                      vmmem_admission *ret_admission, vmmem_error **reterr)
{
    g_autoptr(Config) defaults = NULL;
    g_autoptr(GArray) entries = NULL;
    const Config *c;
    vmmem_admission a;
    GError *error = NULL;

    return_val_if_fail(envelope && ret_admission && !(flags & ~(unsigned)VMMEM_ADMISSION_ALWAYS),
                       -EINVAL);
    if (!config)
        defaults = config_new_default();
    c = config ? config->config : defaults;
    if (envelope->envelope->probe)
        return export_error(
            g_error_new(VMMEM_ERROR, EINVAL, "a probe command line has no envelope to admit"), -1,
            reterr);
    /* The envelopes counted are this machine's: so must the new one's host be. */
    if (!envelope->spec->local)
        return export_error(g_error_new(VMMEM_ERROR, EINVAL,
                                        "the envelope was planned for another host; admission "
                                        "counts this one's envelopes"),
                            -1, reterr);
    if (c->admission == ADMISSION_OFF && !(flags & VMMEM_ADMISSION_ALWAYS)) {
        *ret_admission = (vmmem_admission){.mode = ADMISSION_OFF, .fits = 1};
        return 0;
    }
    if (status_collect(NULL, NULL, &entries, &error) < 0)
        return export_error(error, -1, reterr);
    admission_compute(envelope->envelope, c, entries, NULL, envelope->spec->host->physmem, &a);
    if (!a.fits && c->admission == ADMISSION_STRICT) {
        g_autofree char *why = vmmem_admission_to_string(&a);
        return export_error(
            g_error_new(VMMEM_ERROR, EDQUOT, "admission refused (admission = strict): %s", why), -1,
            reterr);
    }
    *ret_admission = a;
    return 0;
}
