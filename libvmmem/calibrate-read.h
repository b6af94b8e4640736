/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "calibrate.h"
#include "cgroup-backend.h"

/* The only code that reads the system for calibration: whole files of the scope and of
 * /proc/PID into strings, for the pure parsers of calibrate.c. */

typedef struct {
    char *peak; /* NULL before Linux 5.19 */
    char *current, *stat_before, *stat_after;
    uint64_t precharge;
    char *qemu_smaps;       /* NULL: qemu is not in the scope's cgroup.procs */
    GPtrArray *other_smaps; /* char*, NULL-terminated */
} CalReading;

/* One sample's texts, in CalTexts's order. */
int cal_read_sample(const CgroupScope *scope, pid_t qemu_pid, CalReading *ret_reading,
                    GError **error);
/* @reading's texts, borrowed. */
CalTexts cal_reading_texts(const CalReading *reading);
void cal_reading_clear(CalReading *reading);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CalReading, cal_reading_clear)

/* After the VM: memory.peak (NULL where the kernel lacks it), memory.events, memory.max. */
int cal_read_end(const CgroupScope *scope, char **ret_peak, char **ret_events, char **ret_max,
                 GError **error);
