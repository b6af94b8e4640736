/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calibration's reads of the system: the scope's memory files, its cgroup.procs and the smaps
 * of each process in it, each read whole into a string (calibrate.c parses them). */
#include <string.h>
#include <unistd.h>

#include "calibrate-read.h"
#include "error.h"

void
cal_reading_clear(CalReading *reading)
{
    g_clear_pointer(&reading->peak, g_free);
    g_clear_pointer(&reading->current, g_free);
    g_clear_pointer(&reading->stat_before, g_free);
    g_clear_pointer(&reading->stat_after, g_free);
    g_clear_pointer(&reading->qemu_smaps, g_free);
    g_clear_pointer(&reading->other_smaps, g_ptr_array_unref);
}

CalTexts
cal_reading_texts(const CalReading *reading)
{
    return (CalTexts){
        .peak = reading->peak,
        .current = reading->current,
        .stat_before = reading->stat_before,
        .stat_after = reading->stat_after,
        .qemu_smaps = reading->qemu_smaps,
        .other_smaps = (const char *const *)reading->other_smaps->pdata,
        .precharge = reading->precharge,
    };
}

/* Through the scope's backend, whichever made it. */
static int
read_all(const CgroupScope *s, const char *file, char **ret_text, GError **error)
{
    return s->backend->read_file(s, file, ret_text, error);
}

/* A one-line file, without its newline. */
static int
read_value(const CgroupScope *s, const char *file, char **ret_value, GError **error)
{
    int r = read_all(s, file, ret_value, error);

    if (r == 0)
        g_strchomp(*ret_value);
    return r;
}

/* A process that exits while it is read is no error: it has no memory left to count. */
static int
read_smaps(pid_t pid, char **ret_text, GError **error)
{
    g_autofree char *file = g_strdup_printf("/proc/%d/smaps", (int)pid);
    g_autoptr(GError) local = NULL;
    char *text = NULL;

    if (!g_file_get_contents(file, &text, NULL, &local)) {
        int e = vmmem_errno_from_file_error(local);

        if (e != ENOENT && e != ESRCH)
            return vmmem_fail(error, e, "cannot read '%s': %s", file, g_strerror(e));
        text = g_strdup("");
    }
    *ret_text = text;
    return 0;
}

/* The kernel's MEMCG_CHARGE_BATCH (mm/memcontrol.c): pages a CPU charges a cgroup in advance. */
#define MEMCG_CHARGE_BATCH 64

static uint64_t
precharge_bytes(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN), page = sysconf(_SC_PAGESIZE);

    return (uint64_t)MAX(cpus, 1) * MEMCG_CHARGE_BATCH * (uint64_t)MAX(page, 4096);
}

int
cal_read_sample(const CgroupScope *s, pid_t qemu_pid, CalReading *ret_reading, GError **error)
{
    g_auto(CalReading) r = {0};
    g_autofree char *procs = NULL;
    g_auto(GStrv) pids = NULL;
    const char *path = s->plan->path;
    int rc;

    /* memory.peak first: everything read after it bounds the moment it was reached. */
    (void)read_value(s, "memory.peak", &r.peak, NULL);
    r.precharge = precharge_bytes();
    if ((rc = read_value(s, "memory.current", &r.current, error)) < 0 ||
        (rc = read_all(s, "memory.stat", &r.stat_before, error)) < 0 ||
        (rc = read_all(s, "cgroup.procs", &procs, error)) < 0)
        return rc;
    r.other_smaps = g_ptr_array_new_with_free_func(g_free);
    pids = g_strsplit(procs, "\n", -1);
    for (char **p = pids; *p; p++) {
        guint64 pid;
        char *text = NULL;

        if (!**p)
            continue;
        if (!g_ascii_string_to_unsigned(*p, 10, 1, G_MAXINT, &pid, NULL))
            return vmmem_fail(error, EBADMSG, "bad pid '%s' in '/%s/cgroup.procs'", *p, path);
        rc = read_smaps((pid_t)pid, &text, error);
        if (rc < 0)
            return rc;
        if ((pid_t)pid == qemu_pid)
            r.qemu_smaps = text;
        else
            g_ptr_array_add(r.other_smaps, text);
    }
    g_ptr_array_add(r.other_smaps, NULL);
    rc = read_all(s, "memory.stat", &r.stat_after, error);
    if (rc < 0)
        return rc;
    *ret_reading = r;
    memset(&r, 0, sizeof(r));
    return 0;
}

int
cal_read_end(const CgroupScope *s, char **ret_peak, char **ret_events, char **ret_max,
             GError **error)
{
    g_autofree char *peak = NULL, *events = NULL, *max = NULL;
    int rc;

    /* memory.peak appeared in Linux 5.19. */
    if ((rc = read_all(s, "memory.events", &events, error)) < 0 ||
        (rc = read_value(s, "memory.max", &max, error)) < 0)
        return rc;
    (void)read_value(s, "memory.peak", &peak, NULL);
    *ret_peak = g_steal_pointer(&peak);
    *ret_events = g_steal_pointer(&events);
    *ret_max = g_steal_pointer(&max);
    return 0;
}
