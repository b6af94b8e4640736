/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "oom-report.h"

/* `vmmem why`: an OOM kill explained from the kernel's report and the envelope.  Pure. */

/* What is known of the envelope the kill happened in; has_labels false when its cgroup is gone
 * (removed after the VM ended). */
typedef struct {
    const char *name;
    const char *path;
    bool has_labels;
    uint64_t guest_ram, overhead_budget;
    pid_t qemu_pid; /* 0: unknown */
} WhyEnvelope;

/* The report of @reports (the newest) for the envelope at @path: its oom_memcg is @path or
 * under it; or, with @path NULL, for @pid (the killed process, or one in the task table). */
const OomReport *why_find_report(const GPtrArray *reports, const char *path, pid_t pid);
/* Lines for a person: who was killed where, the envelope's usage split into guest RAM, QEMU
 * overhead and other processes, the cause ("a foreign process", "the overhead budget") and the
 * setting that would have avoided it (ratio, overhead-min, overhead-max, swap). */
char *why_explain(const OomReport *report, const WhyEnvelope *envelope, const Config *config);
