/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vmmem why` (libvmmem/oom-report.c, why.c), pure: the kernel's OOM reports out of a log, and
 * the explanation.  tests/unit/data/oom/dmesg-6.1.txt is real: `dmesg` in the test VM (Linux
 * 6.1) after two kills vm-why makes again on every run: "und", a 256 MiB KVM guest whose budget
 * overhead-max = 1M capped, and "frn", a guest whose envelope a python3 process moved into ate.
 * The journal and /dev/kmsg variants are that log with those formats' prefixes.
 */
#include <glib.h>
#include <string.h>

#include "oom-report.h"
#include "size.h"
#include "why.h"

static char *
dmesg_log(size_t *ret_len)
{
    g_autofree char *path =
        g_test_build_filename(G_TEST_DIST, "unit", "data", "oom", "dmesg-6.1.txt", NULL);
    char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, ret_len, NULL));
    return text;
}

/* The same messages as /dev/kmsg records ("PRI,SEQ,USEC,-;MSG", a record's own newlines as
 * \x0a) or journal lines ("MMM DD HH:MM:SS HOST kernel: MSG"). */
static char *
reformat(const char *dmesg, bool kmsg)
{
    g_auto(GStrv) lines = g_strsplit(dmesg, "\n", -1);
    GString *out = g_string_new(NULL);
    unsigned seq = 1000;

    for (char **l = lines; *l && **l; l++) {
        const char *msg = strchr(*l, ']');
        if ((*l)[0] != '[' || !msg) { /* a continuation line of the stats block */
            if (kmsg)
                g_string_append_printf(out, "\\x0a%s", g_strchug(*l));
            else
                g_string_append_printf(out, "\nDec 04 10:53:00 vm kernel: %s", g_strchug(*l));
            continue;
        }
        msg += 2;
        if (out->len)
            g_string_append_c(out, '\n');
        if (kmsg) {
            g_string_append_printf(out, "6,%u,%u,-;%s", seq, 12000000 + seq, msg);
            seq++;
        } else
            g_string_append_printf(out, "Dec 04 10:53:00 vm kernel: %s", msg);
    }
    g_string_append_c(out, '\n');
    return g_string_free(out, false);
}

static void
check_reports(const GPtrArray *reports, bool times)
{
    const OomReport *und, *frn;

    g_assert_cmpuint(reports->len, ==, 2);
    und = g_ptr_array_index(reports, 0);
    frn = g_ptr_array_index(reports, 1);
    g_assert_cmpstr(und->invoker, ==, "qemu-system-x86");
    g_assert_cmpstr(und->oom_memcg, ==, "/vmmem.slice/vmmem-und.scope");
    g_assert_cmpstr(und->stats_path, ==, "/vmmem.slice/vmmem-und.scope");
    g_assert_cmpuint(und->usage, ==, 263168 * KiB);
    g_assert_cmpuint(und->limit, ==, 263168 * KiB);
    g_assert_cmpuint(und->swap_limit, ==, 0);
    g_assert_cmpuint(*(uint64_t *)g_hash_table_lookup(und->stats, "anon"), ==, 268439552);
    g_assert_cmpuint(*(uint64_t *)g_hash_table_lookup(und->stats, "kernel"), ==, 1044480);
    g_assert_cmpuint(und->tasks->len, ==, 1);
    g_assert_cmpint(g_array_index(und->tasks, OomTask, 0).pid, ==, 145);
    g_assert_cmpuint(g_array_index(und->tasks, OomTask, 0).rss_pages, ==, 66464);
    g_assert_cmpstr(und->victim, ==, "qemu-system-x86");
    g_assert_cmpint(und->victim_pid, ==, 145);
    g_assert_cmpuint(und->killed->len, ==, 1);
    if (times)
        g_assert_cmpfloat_with_epsilon(und->time_s, 12.513107, 1e-6);

    g_assert_cmpstr(frn->invoker, ==, "python3");
    g_assert_cmpuint(frn->usage, ==, 297216 * KiB);
    g_assert_cmpuint(frn->tasks->len, ==, 2);
    g_assert_cmpstr(g_array_index(frn->tasks, OomTask, 1).name, ==, "python3");
    g_assert_cmpuint(g_array_index(frn->tasks, OomTask, 1).rss_pages, ==, 3793);
    g_assert_cmpint(frn->victim_pid, ==, 150);
    /* memory.oom.group: qemu and the python3 that was in its envelope. */
    g_assert_cmpuint(frn->killed->len, ==, 2);
    g_assert_cmpint(g_array_index(frn->killed, pid_t, 1), ==, 156);
}

static void
test_formats(void)
{
    size_t len;
    g_autofree char *dmesg = dmesg_log(&len);
    g_autofree char *kmsg = reformat(dmesg, true);
    g_autofree char *journal = reformat(dmesg, false);
    g_autoptr(GPtrArray) a = oom_reports_parse(dmesg, len);
    g_autoptr(GPtrArray) b = oom_reports_parse(kmsg, strlen(kmsg));
    g_autoptr(GPtrArray) c = oom_reports_parse(journal, strlen(journal));

    check_reports(a, true);
    check_reports(b, false);
    check_reports(c, false);
}

/* Cut anywhere, a log gives the reports it still holds whole, and never crashes. */
static void
test_truncated(void)
{
    size_t len;
    g_autofree char *dmesg = dmesg_log(&len);
    const char *second = strstr(dmesg, "python3 invoked oom-killer");
    const char *second_kill = strstr(second, "oom-kill:");
    size_t cut_before = (size_t)(second - dmesg);
    size_t cut_in_kill = (size_t)(second_kill - dmesg) + 20;
    size_t cut_after = (size_t)(strchr(second_kill, '\n') - dmesg) + 1;

    for (size_t n = 0; n <= len; n += 97) {
        g_autoptr(GPtrArray) r = oom_reports_parse(dmesg, n);
        g_assert_cmpuint(r->len, <=, 2);
    }
    {
        g_autoptr(GPtrArray) r = oom_reports_parse(dmesg, cut_before);
        g_assert_cmpuint(r->len, ==, 1);
    }
    {
        /* Its oom-kill line cut before the memcg: that report is not whole. */
        g_autoptr(GPtrArray) r = oom_reports_parse(dmesg, cut_in_kill);
        g_assert_cmpuint(r->len, ==, 1);
    }
    {
        /* Cut after it, before the kill lines: whole, with no kill seen yet. */
        g_autoptr(GPtrArray) r = oom_reports_parse(dmesg, cut_after);
        g_assert_cmpuint(r->len, ==, 2);
        g_assert_cmpuint(((OomReport *)g_ptr_array_index(r, 1))->killed->len, ==, 0);
    }
}

static void
test_hostile(void)
{
    static const char *const logs[] = {
        "",
        "\n\n\n",
        "x invoked oom-killer: \n",
        /* Everything but the memcg line: not a memcg report. */
        "a invoked oom-killer: gfp\nmemory: usage 1kB, limit 1kB, failcnt "
        "0\noom-kill:constraint=x\n",
        /* Numbers past 64 bits, a negative pid, a pid of 0, a task row of junk. */
        "a invoked oom-killer: gfp\nmemory: usage 99999999999999999999kB, limit 1kB\n"
        "[ 0]  0 0 0 0 0 0 0 x\n[ -5] a b c\n[    7]     0\n"
        "oom-kill:oom_memcg=/x,task_memcg=/x,task=a,pid=99999999999,uid=0\n",
        "Killed process 12 (x)\n",
        "6,1,2,-;\n6,;\n;;;\n,,,;\n",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(logs); i++) {
        g_autoptr(GPtrArray) r = oom_reports_parse(logs[i], strlen(logs[i]));
        g_assert_cmpuint(r->len, ==, 0);
    }
    {
        /* NUL bytes and a 1 MiB line are skipped, the report after them is read. */
        size_t len;
        g_autofree char *dmesg = dmesg_log(&len);
        GString *s = g_string_new(NULL);
        g_autoptr(GPtrArray) r = NULL;
        g_string_append_len(s, "a\0b\n", 4);
        for (uint64_t i = 0; i < MiB; i++)
            g_string_append_c(s, 'x');
        g_string_append_c(s, '\n');
        g_string_append_len(s, dmesg, len);
        r = oom_reports_parse(s->str, s->len);
        g_assert_cmpuint(r->len, ==, 2);
        g_string_free(s, true);
    }
}

static void
test_explain(void)
{
    size_t len;
    g_autofree char *dmesg = dmesg_log(&len);
    g_autoptr(GPtrArray) reports = oom_reports_parse(dmesg, len);
    g_autoptr(Config) config = config_new_default();
    const OomReport *und = why_find_report(reports, "vmmem.slice/vmmem-und.scope", 0);
    const OomReport *frn = why_find_report(reports, NULL, 156);
    WhyEnvelope u = {.name = "und",
                     .path = "vmmem.slice/vmmem-und.scope",
                     .has_labels = true,
                     .guest_ram = 256 * MiB,
                     .overhead_budget = 1 * MiB,
                     .qemu_pid = 145};
    WhyEnvelope f = {.name = "frn",
                     .path = "vmmem.slice/vmmem-frn.scope",
                     .has_labels = true,
                     .guest_ram = 256 * MiB,
                     .overhead_budget = 34 * MiB,
                     .qemu_pid = 150};
    g_autofree char *a = NULL, *b = NULL;

    g_assert_nonnull(und);
    g_assert_true(frn == g_ptr_array_index(reports, 1));
    g_assert_null(why_find_report(reports, "vmmem.slice/vmmem-un", 0));
    g_assert_cmpint(config_load_data(config, "[vmmem]\noverhead-max = 1M\n", NULL), ==, 0);
    a = why_explain(und, &u, config);
    g_assert_nonnull(strstr(a, "und: the kernel OOM-killed qemu-system-x86 (pid 145) in "
                               "/vmmem.slice/vmmem-und.scope"));
    g_assert_nonnull(strstr(a, "  guest RAM        256 MiB resident (the guest has 256 MiB)\n"));
    g_assert_nonnull(strstr(a, "  QEMU overhead    1 MiB (its budget: 1 MiB)\n"));
    g_assert_nonnull(strstr(a, "Cause: the overhead budget."));
    g_assert_nonnull(strstr(a, "overhead-max = 1 MiB caps the budget: raise or remove it."));
    g_assert_nonnull(strstr(a, "or allow swap"));

    b = why_explain(frn, &f, config);
    g_assert_nonnull(strstr(b, "memory.oom.group killed the whole envelope: 2 processes."));
    g_assert_nonnull(strstr(b, "  other processes  14.82 MiB: python3 (pid 156) 14.82 MiB\n"));
    g_assert_nonnull(strstr(b, "Cause: a foreign process."));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/why/formats", test_formats);
    g_test_add_func("/why/truncated", test_truncated);
    g_test_add_func("/why/hostile", test_hostile);
    g_test_add_func("/why/explain", test_explain);
    return g_test_run();
}
