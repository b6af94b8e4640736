/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The kernel's memory-cgroup OOM reports (mm/oom_kill.c, mm/memcontrol.c), parsed from a log:
 * /dev/kmsg records, `dmesg` output, or journal/syslog lines ("... kernel: ...").  Pure. */

typedef struct {
    pid_t pid;
    uint64_t rss_pages; /* the task table's rss, in pages */
    char *name;
} OomTask;

typedef struct {
    char *invoker;         /* "qemu-system-x86 invoked oom-killer" */
    uint64_t usage, limit; /* "memory: usage NkB, limit NkB", in bytes */
    bool has_usage;
    uint64_t swap_usage, swap_limit;
    char *stats_path;  /* "Memory cgroup stats for PATH:" */
    GHashTable *stats; /* key -> uint64_t* (bytes, as memory.stat) */
    GArray *tasks;     /* OomTask, the "Tasks state" table */
    char *oom_memcg;   /* from "oom-kill:...": the cgroup whose limit was hit */
    char *task_memcg;
    char *victim;     /* task= */
    pid_t victim_pid; /* pid= */
    GArray *killed;   /* pid_t of each "Killed process" (oom.group kills them all) */
    double time_s;    /* the first line's timestamp where the log has one, else -1 */
} OomReport;

void oom_report_free(OomReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OomReport, oom_report_free)

/* Every complete report in @text (one with its "oom-kill:" line), oldest first; at most the last
 * 64.  Lines past 4 KiB, unknown lines and fragments of reports are skipped: a truncated or
 * hostile log gives fewer reports, never an error.  Memory cgroup reports only (those naming an
 * oom_memcg). */
GPtrArray *oom_reports_parse(const char *text, size_t len);
