/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* OOM forensics.  At an OOM kill the envelope's usage equals its limit; the kernel's report says
 * what each process held (rss, pages) and which cgroup's limit was hit.  qemu's charge is the
 * usage less what other processes held; of it, the guest RAM is what qemu had resident up to the
 * guest's size, and the rest (its heap, the kernel memory charged for it) is the overhead that
 * was budgeted. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-plan.h"
#include "error.h"
#include "quote.h"
#include "size.h"
#include "status.h"
#include "vmmem-private.h"
#include "why.h"

/* Other processes holding less than this are noise (a shell that moved itself in and out). */
#define WHY_FOREIGN_MIN (1 * MiB)
/* The headroom suggested over the overhead seen at the kill: the allocation that failed is not
 * in the report, so the real need is "more than this"; `vmmem calibrate` measures it. */
#define WHY_HEADROOM_PCT 25
/* A saved log bigger than this is refused rather than read whole. */
#define WHY_LOG_MAX (256 * MiB)

static bool
under(const char *path, const char *top)
{
    size_t n = strlen(top);
    return strcmp(path, top) == 0 || (strncmp(path, top, n) == 0 && path[n] == '/');
}

const OomReport *
why_find_report(const GPtrArray *reports, const char *path, pid_t pid)
{
    for (guint i = reports->len; i-- > 0;) {
        const OomReport *r = g_ptr_array_index(reports, i);
        /* The kernel writes "/vmmem.slice/..."; vmmem's paths have no leading '/'. */
        const char *memcg = r->oom_memcg[0] == '/' ? r->oom_memcg + 1 : r->oom_memcg;

        if (path && under(memcg, path))
            return r;
        if (!path && pid > 0) {
            if (r->victim_pid == pid)
                return r;
            for (guint k = 0; k < r->killed->len; k++)
                if (g_array_index(r->killed, pid_t, k) == pid)
                    return r;
        }
    }
    return NULL;
}

static char *
size_text(uint64_t bytes)
{
    return vmmem_format_size(bytes);
}

/* qemu in the task table: the envelope's own pid, else the task named qemu-*, else the one
 * with the most rss. */
static const OomTask *
find_qemu(const OomReport *r, pid_t qemu_pid)
{
    const OomTask *best = NULL;

    for (guint i = 0; i < r->tasks->len; i++) {
        const OomTask *t = &g_array_index(r->tasks, OomTask, i);
        if (qemu_pid > 0 && t->pid == qemu_pid)
            return t;
    }
    for (guint i = 0; i < r->tasks->len; i++) {
        const OomTask *t = &g_array_index(r->tasks, OomTask, i);
        if (g_str_has_prefix(t->name, "qemu"))
            return t;
        if (!best || t->rss_pages > best->rss_pages)
            best = t;
    }
    return best;
}

static uint64_t
pages(uint64_t n)
{
    return n > UINT64_MAX / PAGE_BYTES ? UINT64_MAX : n * PAGE_BYTES;
}

char *
why_explain(const OomReport *r, const WhyEnvelope *env, const Config *config)
{
    GString *out = g_string_new(NULL);
    const OomTask *qemu = find_qemu(r, env->qemu_pid);
    g_autoptr(GString) others = g_string_new(NULL);
    g_autofree char *victim = quote_for_message(r->victim ? r->victim : "?", 64);
    g_autofree char *memcg = quote_for_message(r->oom_memcg, 256);
    g_autofree char *usage = size_text(r->usage), *limit = size_text(r->limit);
    uint64_t other = 0, qemu_charge, qemu_rss = qemu ? pages(qemu->rss_pages) : 0;
    uint64_t guest = 0, overhead = 0;

    for (guint i = 0; i < r->tasks->len; i++) {
        const OomTask *t = &g_array_index(r->tasks, OomTask, i);
        g_autofree char *name = NULL, *held = NULL;
        if (t == qemu)
            continue;
        name = quote_for_message(t->name, 64);
        held = size_text(pages(t->rss_pages));
        other += pages(t->rss_pages);
        g_string_append_printf(others, "%s%s (pid %d) %s", others->len ? ", " : "", name,
                               (int)t->pid, held);
    }
    other = MIN(other, r->usage);
    qemu_charge = r->usage - other;

    g_string_append_printf(out,
                           "%s: the kernel OOM-killed %s (pid %d) in /%s, which had reached "
                           "its limit (usage %s, limit %s)",
                           env->name, victim, (int)r->victim_pid,
                           memcg[0] == '/' ? memcg + 1 : memcg, usage, limit);
    if (r->time_s >= 0)
        g_string_append_printf(out, ", %.1f s after boot", r->time_s);
    g_string_append(out, ".\n");
    if (r->killed->len > 1) {
        g_string_append_printf(out, "memory.oom.group killed the whole envelope: %u processes.\n",
                               r->killed->len);
    }

    g_string_append_printf(out, "At the kill the envelope held %s:\n", usage);
    if (env->has_labels) {
        g_autofree char *g = NULL, *o = NULL, *b = NULL, *gr = NULL;
        guest = MIN(env->guest_ram, MIN(qemu_rss, qemu_charge));
        overhead = qemu_charge - guest;
        g = size_text(guest);
        gr = size_text(env->guest_ram);
        o = size_text(overhead);
        b = size_text(env->overhead_budget);
        g_string_append_printf(out, "  guest RAM        %s resident (the guest has %s)\n", g, gr);
        g_string_append_printf(out, "  QEMU overhead    %s (its budget: %s)\n", o, b);
    } else {
        g_autofree char *q = size_text(qemu_charge);
        g_string_append_printf(out,
                               "  qemu             %s (guest RAM and overhead: the envelope is "
                               "gone, so its guest RAM and budget are not known)\n",
                               q);
    }
    {
        g_autofree char *o = size_text(other);
        g_string_append_printf(out, "  other processes  %s%s%s\n", o, others->len ? ": " : "",
                               others->str);
    }

    if (other >= WHY_FOREIGN_MIN) {
        g_string_append_printf(out,
                               "Cause: a foreign process.  %s held memory in the VM's envelope, "
                               "which is sized for the VM alone; run it outside /%s.\n",
                               others->str, memcg[0] == '/' ? memcg + 1 : memcg);
    } else if (env->has_labels && overhead >= env->overhead_budget) {
        uint64_t want = overhead + overhead / 100 * WHY_HEADROOM_PCT;
        g_autofree char *o = size_text(overhead), *b = size_text(env->overhead_budget);
        g_autofree char *w = size_text((want + MiB - 1) / MiB * MiB);

        g_string_append_printf(out,
                               "Cause: the overhead budget.  QEMU's overhead reached %s; its "
                               "budget was %s.\n",
                               o, b);
        if (config->defaults.overhead_max &&
            env->overhead_budget <= config->defaults.overhead_max) {
            g_autofree char *m = size_text(config->defaults.overhead_max);
            g_string_append_printf(out,
                                   "  overhead-max = %s caps the budget: raise or remove it.\n", m);
        }
        g_string_append_printf(
            out,
            "  Give it at least %s: overhead-min = %s, or ratio = %.2f over "
            "today's budget",
            w, w, env->overhead_budget ? (double)want / (double)env->overhead_budget + 0.005 : 0.0);
        if (r->swap_limit == 0)
            g_string_append(out, "; or allow swap (swap = SIZE), so that the kernel pages out "
                                 "instead of killing");
        g_string_append(out, ".  `vmmem calibrate -- QEMU-ARGS` measures what it really needs.\n");
    } else if (env->has_labels) {
        g_string_append(out, "Cause: the guest RAM.  qemu held more than the guest RAM the "
                             "envelope was sized for plus its overhead budget (memory hotplug or "
                             "a virtio-mem resize without vmmem_scope_update()?).\n");
    } else {
        g_string_append(out, "Cause: the envelope's limit; its budget is not known any more.\n");
    }
    return g_string_free(out, false);
}

/* /dev/kmsg: one record per read(), EAGAIN at the end; EPIPE when the next record was
 * overwritten meanwhile (the next read goes on from the oldest one left). */
static int
read_kmsg(GString *out, GError **error)
{
    char buf[8192];
    int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return vmmem_fail(error, errno, "cannot read the kernel log /dev/kmsg: %s%s",
                          g_strerror(errno),
                          errno == EPERM || errno == EACCES ? " (root, or --kmsg FILE)" : "");
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            g_string_append_len(out, buf, n);
            if (buf[n - 1] != '\n')
                g_string_append_c(out, '\n');
        } else if (n < 0 && errno == EPIPE) {
            continue;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    close(fd);
    return 0;
}

static int
read_log(const char *path, char **ret_text, size_t *ret_len, GError **error)
{
    g_autoptr(GString) out = g_string_new(NULL);
    int r;

    if (!path) {
        r = read_kmsg(out, error);
        if (r < 0)
            return r;
        *ret_len = out->len;
        *ret_text = g_string_free(g_steal_pointer(&out), false);
        return 0;
    }
    {
        g_autofree char *shown = quote_for_message(path, 256);
        char buf[65536];
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
            return vmmem_fail(error, errno, "cannot read '%s': %s", shown, g_strerror(errno));
        /* Not mapped: a pipe or a device is a log too.  Read to the end, up to the cap. */
        while ((n = read(fd, buf, sizeof(buf))) != 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                int e = errno;
                close(fd);
                return vmmem_fail(error, e, "cannot read '%s': %s", shown, g_strerror(e));
            }
            if (out->len + (size_t)n > WHY_LOG_MAX) {
                g_autofree char *max = vmmem_format_size(WHY_LOG_MAX);
                close(fd);
                return vmmem_fail(error, EFBIG,
                                  "'%s' is over %s; give the part with the OOM report", shown, max);
            }
            g_string_append_len(out, buf, n);
        }
        close(fd);
    }
    *ret_len = out->len;
    *ret_text = g_string_free(g_steal_pointer(&out), false);
    return 0;
}

/* A vm with no envelope left: its report by the last component of the memcg. */
static const OomReport *
find_by_name(const GPtrArray *reports, const char *name)
{
    g_autofree char *scope = NULL;
    g_autofree char *libvirt = g_strdup_printf("-%s.libvirt-qemu", name);

    if (cgroup_plan_scope_name(name, &scope, NULL) < 0)
        scope = NULL;
    for (guint i = reports->len; i-- > 0;) {
        const OomReport *r = g_ptr_array_index(reports, i);
        const char *last = strrchr(r->oom_memcg, '/');
        last = last ? last + 1 : r->oom_memcg;
        if ((scope && strcmp(last, scope) == 0) || g_str_has_suffix(last, libvirt))
            return r;
    }
    return NULL;
}

int
vmmem_why(const char *vm, const char *log_path, const vmmem_config *config, unsigned flags,
          char **ret_text, vmmem_error **reterr)
{
    g_autoptr(Config) defaults = NULL;
    g_autoptr(GArray) entries = NULL;
    g_autoptr(GPtrArray) reports = NULL;
    g_autofree char *text = NULL, *shown = NULL;
    g_autoptr(GError) lookup = NULL;
    const OomReport *report = NULL;
    WhyEnvelope env = {.name = vm};
    const Config *c;
    GError *error = NULL;
    size_t len = 0;
    guint64 pid = 0;

    return_val_if_fail(vm && ret_text && flags == 0, -EINVAL);
    if (!config)
        defaults = config_new_default();
    c = config ? config->config : defaults;
    shown = quote_for_message(vm, 200);
    if (!*vm)
        return export_error(g_error_new(VMMEM_ERROR, EINVAL, "an empty VM name or pid"), -1,
                            reterr);
    (void)g_ascii_string_to_unsigned(vm, 10, 1, G_MAXINT32, &pid, NULL);
    /* The envelope, while its cgroup is there (an exited VM's scope stays until gc). */
    if (status_collect(vm, NULL, &entries, &lookup) == 0 && entries->len > 0) {
        const vmmem_status_envelope *e = &g_array_index(entries, StatusEntry, 0).pub;
        env.name = e->name;
        env.path = e->path;
        env.has_labels = true;
        env.guest_ram = e->guest_ram;
        env.overhead_budget = e->overhead_budget;
        env.qemu_pid = e->qemu_pid;
    }
    if (read_log(log_path, &text, &len, &error) < 0)
        return export_error(error, -1, reterr);
    reports = oom_reports_parse(text, len);
    if (env.path)
        report = why_find_report(reports, env.path, 0);
    else if (pid)
        report = why_find_report(reports, NULL, (pid_t)pid);
    else
        report = find_by_name(reports, vm);
    if (!report)
        return export_error(g_error_new(VMMEM_ERROR, ENOENT, "no OOM kill of '%s' in %s%s", shown,
                                        log_path ? "that log" : "the kernel log (/dev/kmsg)",
                                        env.path ? "" : ", and no envelope of that name or pid"),
                            -1, reterr);
    if (!env.path && pid)
        env.name = shown;
    *ret_text = why_explain(report, &env, c);
    return 0;
}
