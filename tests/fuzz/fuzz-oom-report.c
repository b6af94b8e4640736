/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One input is a kernel log, as `vmmem why --kmsg FILE` reads one from anyone: the OOM report
 * parser (oom-report.c) and the explanation (why.c) run on it, for an envelope that is known and
 * for one that is gone.  Besides the sanitizers: every report it returns is whole (a memcg, a
 * usage), and an explanation is text with no control byte but its newlines. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "oom-report.h"
#include "size.h"
#include "why.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *text)
{
    for (const char *c = text; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\n')
            abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GPtrArray) reports = oom_reports_parse((const char *)data, size);
    g_autoptr(Config) config = config_new_default();
    WhyEnvelope known = {.name = "vm",
                         .path = "vmmem.slice/vmmem-vm.scope",
                         .has_labels = true,
                         .guest_ram = 256 * MiB,
                         .overhead_budget = 32 * MiB};
    WhyEnvelope gone = {.name = "vm"};

    if (reports->len > 64)
        abort();
    for (guint i = 0; i < reports->len; i++) {
        const OomReport *r = g_ptr_array_index(reports, i);
        g_autofree char *a = NULL, *b = NULL;
        if (!r->oom_memcg || !r->has_usage)
            abort();
        a = why_explain(r, &known, config);
        b = why_explain(r, &gone, config);
        check_text(a);
        check_text(b);
    }
    (void)why_find_report(reports, "vmmem.slice/vmmem-vm.scope", 0);
    (void)why_find_report(reports, NULL, 1);
    return 0;
}
