/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmmem/vmmem.h"

/* Pure parsers of a cgroup's memory files (cgroup-v2.rst), shared by the scope API and
 * `vmmem status`. */

/* "key value" lines (memory.events, memory.stat): @key's value; -ENOENT when absent, -EIO when
 * its value is not a number. */
int memory_keyed_value(const char *text, const char *key, uint64_t *ret_value);
/* memory.events; oom_group_kill may be missing (before Linux 5.17).  @what names the cgroup in
 * the message. */
int memory_events_parse(const char *text, const char *what, vmmem_memory_events *ret_events,
                        GError **error);
/* memory.pressure's "some " or "full " line (@which). */
bool memory_pressure_parse(const char *text, const char *which, vmmem_pressure *ret);
/* memory.max, memory.high ("max": UINT64_MAX), memory.current... */
bool memory_limit_parse(const char *text, uint64_t *ret_value);
