/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Capability sets of the calling thread, as bit masks of CAP_* numbers (raw capget/capset:
 * nothing to link).  vmmemd's worker needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH only to read
 * the requester's /proc files and, the second, to open the disk images the requester may read
 * (which a forked opener does); it parses hostile argv and file headers with none at all. */
#define CAP_BIT(cap) (UINT64_C(1) << (cap))

/* 0 or -errno. */
int caps_get(uint64_t *ret_effective, uint64_t *ret_permitted);
/* Sets effective and permitted (inheritable cleared).  A capability dropped from permitted can
 * never come back to this process.  0 or -errno (-EPERM when asked for more than is held). */
int caps_set(uint64_t effective, uint64_t permitted);
