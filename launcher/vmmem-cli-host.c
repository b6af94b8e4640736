/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmmem's commands about the host rather than one VM: status (every envelope here), capacity
 * (how many more fit) and fit (the largest VM for a budget).  vmmem-cli.c has the option
 * plumbing they share.
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>

#include "common.h"
#include "vmmem-cli.h"

static char *arg_budget;
static const GOptionEntry fit_entries[] = {
    {"budget", 'b', 0, G_OPTION_ARG_STRING, &arg_budget,
     "The memory the whole envelope may take (memory.max): 4G, 3584M...", "SIZE"},
    {NULL},
};

/* The largest -m whose envelope fits --budget. */
int
cmd_fit(int argc, char **argv)
{
    int qemu_argc;
    char **qemu_argv;
    uint64_t budget;
    g_autoptr(vmmem_host) host = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    g_autofree char *m = NULL;
    vmmem_error *error = NULL;

    parse_options(
        (const GOptionEntry *const[]){fit_entries, limit_entries, host_entries, json_entries, NULL},
        &argc, &argv, &qemu_argc, &qemu_argv);
    if (!arg_budget)
        die(2, "fit needs --budget SIZE");
    if (vmmem_parse_size(arg_budget, 1, &budget) < 0 || budget == 0)
        die(2, "--budget: '%s' is not a size (4G, 3584M, ...)", arg_budget);
    g_autoptr(vmmem_config) config = config_from_options();
    host = host_from_options();
    if (vmmem_fit(qemu_argc, (const char *const *)qemu_argv, host, config, budget, 0, &envelope, &m,
                  &error) < 0) {
        int index = vmmem_error_get_argv_index(error);
        if (index >= 0)
            die(1, "%s (qemu argument %d)", vmmem_error_get_message(error), index + 1);
        die_vmmem(1, error);
    }
    print_warnings(envelope);
    if (arg_json) {
        g_autofree char *json = NULL;
        vmmem_envelope_to_json(envelope, 0, &json, NULL);
        printf("{\n  \"budget\": %" PRIu64 ",\n  \"m\": \"%s\",\n  \"envelope\": ", budget, m);
        /* The explain JSON, indented one level. */
        for (const char *c = json; *c; c++) {
            putchar(*c);
            if (*c == '\n')
                fputs("  ", stdout);
        }
        printf("\n}\n");
    } else {
        g_autofree char *b = format_size(budget);
        g_autofree char *ram = format_size(vmmem_envelope_get_guest_ram(envelope));
        g_autofree char *over = format_size(vmmem_envelope_get_overhead(envelope));
        g_autofree char *max = format_size(vmmem_envelope_get_memory_max(envelope));
        printf("-m %s\n", m);
        printf("guest RAM %s + overhead %s = memory.max %s, within the budget of %s\n", ram, over,
               max, b);
    }
    return 0;
}

/* How many more VMs like this one the host holds, by admission's count. */
int
cmd_capacity(int argc, char **argv)
{
    int qemu_argc;
    char **qemu_argv;
    vmmem_spec *spec;
    vmmem_envelope *envelope;
    vmmem_scope *scope;
    vmmem_admission a;
    vmmem_error *error = NULL;
    static const char *const modes[] = {"off", "warn", "strict"};

    parse_options((const GOptionEntry *const[]){limit_entries, json_entries, NULL}, &argc, &argv,
                  &qemu_argc, &qemu_argv);
    g_autoptr(vmmem_config) config = config_from_options();
    make_plan(qemu_argc, qemu_argv, config, VMMEM_SCOPE_DRY_RUN, &spec, &envelope, &scope, NULL);
    if (vmmem_admission_check(envelope, config, VMMEM_ADMISSION_ALWAYS, &a, &error) < 0)
        die_vmmem(1, error);
    if (arg_json) {
        printf("{\n  \"admission\": \"%s\",\n  \"mem_total\": %" PRIu64 ",\n  \"reserve\": %" PRIu64
               ",\n  \"overcommit\": %.6g,\n  \"envelopes\": %zu,\n"
               "  \"committed\": %" PRIu64 ",\n  \"request\": %" PRIu64
               ",\n  \"available\": %" PRIu64 ",\n  \"capacity\": %" PRIu64 "\n}\n",
               modes[a.mode], a.mem_total, a.reserve, a.overcommit, a.n_envelopes, a.committed,
               a.request, a.available, a.capacity);
    } else {
        g_autofree char *why = vmmem_admission_to_string(&a);
        printf("%s\n", why);
        printf("%" PRIu64 " more VM(s) like this one fit (admission = %s)\n", a.capacity,
               modes[a.mode]);
    }
    vmmem_scope_free(scope);
    vmmem_envelope_free(envelope);
    vmmem_spec_free(spec);
    return 0;
}

/* "-" for a figure this host or this caller cannot know. */
static char *
size_or_dash(int known, uint64_t bytes)
{
    return known ? format_size(bytes) : g_strdup("-");
}

static void
print_status_table(const vmmem_status *status)
{
    uint64_t sum = 0, mem_total = vmmem_status_get_mem_total(status);
    size_t n = vmmem_status_get_n_envelopes(status);
    g_autofree char *total = format_size(mem_total), *sum_text = NULL;

    printf("%-20s %8s %10s %10s %10s %10s %10s %10s %16s %8s %-18s %-13s %s\n", "VM", "PID",
           "GUEST RAM", "BUDGET", "MAX", "HIGH", "CURRENT", "PEAK", "OVERHEAD USED", "SWAP",
           "HIGH/MAX/OOM/KILL", "PSI SOME/FULL", "KSM");
    for (size_t i = 0; i < n; i++) {
        const vmmem_status_envelope *e = vmmem_status_get_envelope(status, i);
        g_autofree char *pid =
            e->qemu_pid ? g_strdup_printf("%d", (int)e->qemu_pid) : g_strdup("-");
        g_autofree char *ram = format_size(e->guest_ram);
        g_autofree char *budget = format_size(e->overhead_budget);
        g_autofree char *max = format_size(e->memory_max);
        g_autofree char *high =
            e->memory_high == VMMEM_LIMIT_MAX ? g_strdup("max") : format_size(e->memory_high);
        g_autofree char *current = format_size(e->memory_current);
        g_autofree char *peak = size_or_dash(e->has_memory_peak, e->memory_peak);
        g_autofree char *swap = size_or_dash(e->has_swap_current, e->swap_current);
        g_autofree char *used = size_or_dash(e->has_guest_resident, e->overhead_used);
        g_autofree char *used_pct =
            e->has_guest_resident && e->overhead_budget
                ? g_strdup_printf("%s (%.0f%%)", used,
                                  100.0 * (double)e->overhead_used / (double)e->overhead_budget)
                : g_strdup(used);
        g_autofree char *events =
            g_strdup_printf("%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64, e->events.high,
                            e->events.max, e->events.oom, e->events.oom_kill);
        g_autofree char *psi =
            e->has_pressure
                ? g_strdup_printf("%.2f/%.2f", e->pressure_some_avg10, e->pressure_full_avg10)
                : g_strdup("-");
        g_autofree char *ksm =
            e->has_ksm ? g_strdup_printf("%" PRIu64, e->ksm_merging_pages) : g_strdup("-");
        /* A table cell: control bytes of a hostile -name would move the terminal's cursor. */
        g_autofree char *name = g_strdup(e->name);
        for (char *c = name; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';

        sum += e->memory_max;
        printf("%-20s %8s %10s %10s %10s %10s %10s %10s %16s %8s %-18s %-13s %s\n", name, pid, ram,
               budget, max, high, current, peak, used_pct, swap, events, psi, ksm);
    }
    sum_text = format_size(sum);
    printf("host: %zu envelope(s), memory.max %s of MemTotal %s (%.0f%%)\n", n, sum_text, total,
           mem_total ? 100.0 * (double)sum / (double)mem_total : 0.0);
}

/* Every envelope on this host, or the one VM named (or whose qemu has that pid). */
int
cmd_status(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = NULL;
    g_autoptr(GError) gerr = NULL;
    g_autoptr(vmmem_status) status = NULL;
    vmmem_error *error = NULL;

    g_set_prgname("vmmem status");
    ctx = g_option_context_new("[NAME|PID]");
    g_option_context_add_main_entries(ctx, json_entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &gerr))
        die(2, "%s", gerr->message);
    if (argc > 2)
        die(2, "unexpected argument '%s' (status takes one VM name or qemu pid)", argv[2]);
    if (vmmem_status_new(argc == 2 ? argv[1] : NULL, 0, &status, &error) < 0)
        die_vmmem(1, error);
    if (arg_json) {
        g_autofree char *json = NULL;
        if (vmmem_status_to_json(status, 0, &json, &error) < 0)
            die_vmmem(1, error);
        printf("%s\n", json);
    } else {
        print_status_table(status);
    }
    return 0;
}

static char *arg_kmsg;
static const GOptionEntry why_entries[] = {
    {"kmsg", 'k', 0, G_OPTION_ARG_FILENAME, &arg_kmsg,
     "Read the kernel's OOM report from FILE (dmesg, journalctl -k, /dev/kmsg records), not from "
     "/dev/kmsg",
     "FILE"},
    {NULL},
};

/* Why VM NAME (or qemu pid PID) was OOM-killed. */
int
cmd_why(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = NULL;
    g_autoptr(GError) gerr = NULL;
    g_autofree char *text = NULL;
    vmmem_error *error = NULL;

    g_set_prgname("vmmem why");
    ctx = g_option_context_new("NAME|PID");
    g_option_context_add_main_entries(ctx, why_entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &gerr))
        die(2, "%s", gerr->message);
    if (argc != 2)
        die(2, "why takes one VM name or qemu pid");
    g_autoptr(vmmem_config) config = config_from_options();
    if (vmmem_why(argv[1], arg_kmsg, config, 0, &text, &error) < 0)
        die_vmmem(1, error);
    fputs(text, stdout);
    return 0;
}
