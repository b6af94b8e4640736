/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing the kernel's OOM reports out of a log.  The lines are the kernel's own (Linux 6.1,
 * mm/oom_kill.c dump_header(), mem_cgroup_print_oom_meminfo(), dump_tasks(),
 * oom_kill_process()); what precedes each (a /dev/kmsg record header, a dmesg timestamp, a
 * syslog or journal prefix) is taken off first. */
#include <stdlib.h>
#include <string.h>

#include "oom-report.h"
#include "size.h"

#define LINE_MAX_BYTES 4096
#define REPORTS_MAX    64
#define TASKS_MAX      65536
#define STATS_MAX      256

static void
task_clear(gpointer p)
{
    g_free(((OomTask *)p)->name);
}

static OomReport *
report_new(const char *invoker)
{
    OomReport *r = g_new0(OomReport, 1);

    r->invoker = g_strdup(invoker);
    r->stats = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    r->tasks = g_array_new(false, true, sizeof(OomTask));
    g_array_set_clear_func(r->tasks, task_clear);
    r->killed = g_array_new(false, false, sizeof(pid_t));
    r->time_s = -1;
    return r;
}

void
oom_report_free(OomReport *r)
{
    if (!r)
        return;
    g_free(r->invoker);
    g_free(r->stats_path);
    g_hash_table_unref(r->stats);
    g_array_unref(r->tasks);
    g_free(r->oom_memcg);
    g_free(r->task_memcg);
    g_free(r->victim);
    g_array_unref(r->killed);
    g_free(r);
}

/* The kernel's message with its log prefix taken off; *@ret_time the dmesg or kmsg timestamp in
 * seconds, or -1. */
static const char *
strip_prefix(const char *line, double *ret_time)
{
    const char *p = line, *semi, *k;
    char *end;

    *ret_time = -1;
    /* /dev/kmsg: "PRI,SEQ,USEC,FLAGS;message" */
    semi = strchr(p, ';');
    if (semi && g_ascii_isdigit(*p)) {
        const char *q = p;
        int commas = 0;
        while (q < semi && (g_ascii_isdigit(*q) || *q == ',' || *q == '-' || g_ascii_isalpha(*q)))
            commas += *q++ == ',';
        if (q == semi && commas >= 3) {
            const char *usec = strchr(strchr(p, ',') + 1, ',') + 1;
            *ret_time = g_ascii_strtod(usec, NULL) / 1e6;
            return semi + 1;
        }
    }
    /* syslog or journal: "Dec  4 10:00:00 host kernel: message" */
    k = strstr(p, " kernel: ");
    if (k)
        p = k + strlen(" kernel: ");
    /* dmesg: "[   12.513107] message" */
    if (*p == '[') {
        double t = g_ascii_strtod(p + 1, &end);
        /* "[  145]" opens a task table row: a timestamp has its decimals. */
        if (end != p + 1 && *end == ']' && memchr(p, '.', (size_t)(end - p))) {
            *ret_time = t;
            p = end + 1;
            while (*p == ' ')
                p++;
        }
    }
    return p;
}

static bool
parse_u64(const char *s, char **end, uint64_t *ret)
{
    if (!g_ascii_isdigit(*s))
        return false;
    *ret = g_ascii_strtoull(s, end, 10);
    return true;
}

/* "key=value" of a comma-separated "oom-kill:" line, or NULL. */
static char *
field(const char *line, const char *key)
{
    g_autofree char *needle = g_strconcat(key, "=", NULL);
    const char *at = line;
    size_t n;

    while ((at = strstr(at, needle))) {
        if (at == line || at[-1] == ',' || at[-1] == ':') {
            at += strlen(needle);
            n = strcspn(at, ",");
            return g_strndup(at, n);
        }
        at++;
    }
    return NULL;
}

static void
parse_usage(OomReport *r, const char *msg, bool swap)
{
    const char *u = strstr(msg, "usage "), *l = strstr(msg, "limit ");
    uint64_t usage, limit;
    char *end;

    if (!u || !l || !parse_u64(u + 6, &end, &usage) || strncmp(end, "kB", 2) != 0 ||
        !parse_u64(l + 6, &end, &limit) || strncmp(end, "kB", 2) != 0 || usage > UINT64_MAX / KiB ||
        limit > UINT64_MAX / KiB)
        return;
    if (swap) {
        r->swap_usage = usage * KiB;
        r->swap_limit = limit * KiB;
    } else {
        r->usage = usage * KiB;
        r->limit = limit * KiB;
        r->has_usage = true;
    }
}

/* "[    150]     0   150   119593    71543   724992        0             0 qemu-system-x86" */
static void
parse_task(OomReport *r, const char *msg)
{
    uint64_t v[8];
    const char *p = msg + 1;
    char *end;
    OomTask t = {0};

    if (r->tasks->len >= TASKS_MAX)
        return;
    for (int i = 0; i < 8; i++) {
        while (*p == ' ' || *p == ']')
            p++;
        if (*p == '-') /* oom_score_adj may be negative */
            p++;
        if (!parse_u64(p, &end, &v[i]))
            return;
        p = end;
    }
    while (*p == ' ')
        p++;
    if (!*p || v[0] == 0 || v[0] > G_MAXINT32)
        return;
    t.pid = (pid_t)v[0];
    t.rss_pages = v[4];
    t.name = g_strndup(p, 64);
    g_array_append_val(r->tasks, t);
}

static void
parse_stat(OomReport *r, const char *msg)
{
    const char *space = strchr(msg, ' ');
    uint64_t v;
    char *end;

    if (!space || g_hash_table_size(r->stats) >= STATS_MAX || !parse_u64(space + 1, &end, &v) ||
        *end)
        return;
    g_hash_table_replace(r->stats, g_strndup(msg, (gsize)(space - msg)), g_memdup2(&v, sizeof(v)));
}

static void
parse_line(const char *raw, OomReport **current, bool *in_stats, GPtrArray *reports)
{
    double t;
    const char *msg = strip_prefix(raw, &t);
    const char *inv;
    OomReport *r = *current;

    while (*msg == ' ' || *msg == '\t')
        msg++;
    if ((inv = strstr(msg, " invoked oom-killer:"))) {
        g_autofree char *who = g_strndup(msg, (gsize)(inv - msg));
        oom_report_free(r);
        *current = r = report_new(who);
        r->time_s = t;
        *in_stats = false;
        return;
    }
    if (!r)
        return;
    if (g_str_has_prefix(msg, "memory: usage ")) {
        parse_usage(r, msg, false);
    } else if (g_str_has_prefix(msg, "swap: usage ")) {
        parse_usage(r, msg, true);
    } else if (g_str_has_prefix(msg, "Memory cgroup stats for ")) {
        g_free(r->stats_path);
        r->stats_path = g_strndup(msg + strlen("Memory cgroup stats for "),
                                  strcspn(msg + strlen("Memory cgroup stats for "), ":"));
        *in_stats = true;
    } else if (g_str_has_prefix(msg, "Tasks state")) {
        *in_stats = false;
    } else if (msg[0] == '[' && g_ascii_isspace(msg[1]) && !strstr(msg, "pid  ]")) {
        parse_task(r, msg);
    } else if (g_str_has_prefix(msg, "oom-kill:")) {
        g_autofree char *pid = field(msg, "pid");
        guint64 p = 0;
        r->oom_memcg = field(msg, "oom_memcg");
        r->task_memcg = field(msg, "task_memcg");
        r->victim = field(msg, "task");
        if (pid && g_ascii_string_to_unsigned(pid, 10, 1, G_MAXINT32, &p, NULL))
            r->victim_pid = (pid_t)p;
        *in_stats = false;
        /* Complete: the kill lines that follow are added to it. */
        if (r->oom_memcg && r->has_usage) {
            g_ptr_array_add(reports, r);
            if (reports->len > REPORTS_MAX)
                g_ptr_array_remove_index(reports, 0);
        } else {
            oom_report_free(r);
        }
        *current = NULL;
    } else if (*in_stats) {
        parse_stat(r, msg);
    }
}

/* "Memory cgroup out of memory: Killed process 150 (qemu-system-x86) ..." after a report. */
static void
parse_killed(const char *raw, GPtrArray *reports)
{
    double t;
    const char *msg = strip_prefix(raw, &t), *at = strstr(msg, "Killed process ");
    OomReport *last;
    guint64 pid;
    char *end;

    if (!at || !reports->len)
        return;
    last = g_ptr_array_index(reports, reports->len - 1);
    if (!parse_u64(at + strlen("Killed process "), &end, &pid) || pid == 0 || pid > G_MAXINT32)
        return;
    for (guint i = 0; i < last->killed->len; i++)
        if (g_array_index(last->killed, pid_t, i) == (pid_t)pid)
            return;
    {
        pid_t p = (pid_t)pid;
        g_array_append_val(last->killed, p);
    }
}

GPtrArray *
oom_reports_parse(const char *text, size_t len)
{
    GPtrArray *reports = g_ptr_array_new_with_free_func((GDestroyNotify)oom_report_free);
    OomReport *current = NULL;
    bool in_stats = false;
    size_t at = 0;

    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;

        if (n <= LINE_MAX_BYTES && !memchr(text + at, '\0', n)) {
            g_autofree char *line = g_strndup(text + at, n);
            /* /dev/kmsg escapes a record's own newlines (the stats block) as \x0a. */
            g_auto(GStrv) parts = g_strsplit(line, "\\x0a", -1);
            for (char **p = parts; *p; p++) {
                if (strstr(*p, "Killed process "))
                    parse_killed(*p, reports);
                else
                    parse_line(*p, &current, &in_stats, reports);
            }
        }
        at += n + 1;
    }
    oom_report_free(current);
    return reports;
}
