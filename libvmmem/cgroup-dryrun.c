/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The dry-run backend: `vmmem explain` and `--dry-run`.  It records what the cgroupfs backend
 * would do, in order, and touches nothing. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "error.h"
#include "quote.h"

static void record(CgroupScope *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
record(CgroupScope *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_ptr_array_add(s->actions, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

static void
record_labels(CgroupScope *s, const CgroupPlan *plan)
{
    for (guint i = 0; i < plan->labels->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->labels, i);
        g_autofree char *quoted = quote_for_message(w->value, SIZE_MAX);
        record(s, "set attribute %s = %s on %s", w->file, quoted, plan->path);
    }
}

static bool
by_systemd(const CgroupScope *s)
{
    return s->plan->manager != CGROUP_MANAGER_FS;
}

static const char *
manager_words(const CgroupScope *s)
{
    return s->plan->manager == CGROUP_MANAGER_SYSTEMD_USER ? "the user manager"
                                                           : "the system manager";
}

static int
dry_create(CgroupScope *s, GError **error)
{
    if (by_systemd(s)) {
        record(s, "ask %s over D-Bus that unit %s does not exist yet%s", manager_words(s),
               s->plan->scope,
               s->plan->manager == CGROUP_MANAGER_SYSTEMD_USER
                   ? ", and that its cgroup has the memory controller delegated"
                   : "");
        return 0;
    }
    record(s, "enable +memory +pids in every cgroup.subtree_control from the root to '%s'",
           s->plan->parent);
    for (guint i = 0; i < s->plan->parent_writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(s->plan->parent_writes, i);
        record(s, "write %s/%s = %s (vmmem's own parent passes the protection on)", s->plan->parent,
               w->file + strlen("../"), w->value);
    }
    record(s, "mkdir %s", s->plan->path);
    for (guint i = 0; i < s->plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(s->plan->writes, i);
        record(s, "write %s/%s = %s%s", s->plan->path, w->file, w->value,
               w->optional ? " (if the kernel has it)" : "");
    }
    record_labels(s, s->plan);
    return 0;
}

static int
dry_adopt(CgroupScope *s, GError **error)
{
    for (guint i = 0; i < s->plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(s->plan->writes, i);
        record(s, "write %s/%s = %s (if it still holds %s)%s", s->plan->path, w->file, w->value,
               w->unset, w->optional ? " (if the kernel has it)" : "");
    }
    record_labels(s, s->plan);
    return 0;
}

static int
dry_attach(CgroupScope *s, pid_t pid, GError **error)
{
    if (by_systemd(s)) {
        g_autoptr(GPtrArray) props = cgroup_plan_systemd_properties(s->plan);
        g_autoptr(GString) line = g_string_new(NULL);

        for (guint i = 0; i < props->len; i++) {
            const CgroupWrite *w = g_ptr_array_index(props, i);
            g_autofree char *quoted = quote_for_message(w->value, SIZE_MAX);
            g_string_append_printf(line, " %s=%s", w->file, quoted);
        }
        record(s, "StartTransientUnit %s (mode fail) on %s: PIDs=%d%s; wait for its job",
               s->plan->scope, manager_words(s), pid ? (int)pid : (int)getpid(), line->str);
        record(s,
               "mkdir %s/" CGROUP_SYSTEMD_LEAF ", move pid %d into it, enable +memory +pids in %s",
               s->plan->path, pid ? (int)pid : (int)getpid(), s->plan->path);
        for (guint i = 0; i < s->plan->writes->len; i++) {
            const CgroupWrite *w = g_ptr_array_index(s->plan->writes, i);
            if (!cgroup_plan_file_is_property(w->file))
                record(s, "write %s/" CGROUP_SYSTEMD_LEAF "/%s = %s", s->plan->path, w->file,
                       w->value);
        }
        record_labels(s, s->plan);
        record(s, "read every limit of %s back", s->plan->path);
        return 0;
    }
    record(s, "write %s/cgroup.procs = %d", s->plan->path, pid ? (int)pid : (int)getpid());
    return 0;
}

static int
dry_destroy(CgroupScope *s, bool kill, GError **error)
{
    if (by_systemd(s)) {
        if (kill)
            record(s, "KillUnit %s all SIGKILL", s->plan->scope);
        record(s, "StopUnit %s (mode replace)", s->plan->scope);
        return 0;
    }
    if (kill)
        record(s, "write %s/cgroup.kill = 1", s->plan->path);
    record(s, "rmdir %s", s->plan->path);
    return 0;
}

static int
dry_read_usage(CgroupScope *s, uint64_t *ret_current, uint64_t *ret_peak, uint64_t *ret_oom_kills,
               GError **error)
{
    *ret_current = *ret_peak = *ret_oom_kills = 0;
    return 0;
}

static int
dry_gc(const char *parent, unsigned *ret_removed, GError **error)
{
    *ret_removed = 0;
    return 0;
}

static int
dry_open(CgroupScope *s, GError **error)
{
    record(s, "open and lock %s", s->plan->path);
    return 0;
}

static int
dry_update(CgroupScope *s, CgroupPlan *plan, GError **error)
{
    record(s, "check %s/memory.current against the new memory.max", plan->path);
    for (guint i = 0; i < plan->parent_writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->parent_writes, i);
        record(s, "write %s/%s = %s", plan->parent, w->file + strlen("../"), w->value);
    }
    for (guint i = 0; i < plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->writes, i);
        record(s, "write %s/%s = %s%s", plan->path, w->file, w->value,
               w->optional ? " (if the kernel has it)" : "");
    }
    record_labels(s, plan);
    cgroup_plan_free(s->plan);
    s->plan = plan;
    return 0;
}

/* What only a real cgroup has. */
static int
dry_none(const CgroupScope *s, GError **error)
{
    return vmmem_fail(error, ENOTSUP, "a dry run has no cgroup '/%s'", s->plan->path);
}

static int
dry_get_fd(CgroupScope *s, int *ret_fd, GError **error)
{
    return dry_none(s, error);
}

static int
dry_read_file(const CgroupScope *s, const char *file, char **ret_text, GError **error)
{
    return dry_none(s, error);
}

static int
dry_watch(CgroupScope *s, const char *file, int *ret_fd, GError **error)
{
    return dry_none(s, error);
}

const CgroupBackend cgroup_backend_dryrun = {
    .name = "dry-run",
    .create = dry_create,
    .adopt = dry_adopt,
    .attach = dry_attach,
    .destroy = dry_destroy,
    .read_usage = dry_read_usage,
    .gc = dry_gc,
    .open = dry_open,
    .update = dry_update,
    .get_fd = dry_get_fd,
    .read_file = dry_read_file,
    .watch = dry_watch,
};
