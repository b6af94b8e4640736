/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "config.h"
#include "envelope.h"
#include "vmmem/vmmem.h"

/* Admission (vmmem_admission_check()): does one more envelope fit the host?  Pure: the live
 * envelopes come in as status entries (status_collect()). */

/* What an envelope takes from the host: its overhead whole, its guest RAM ÷ @overcommit
 * (rounded up). */
uint64_t admission_charge(uint64_t memory_max, uint64_t guest_ram, double overcommit);
/* Fills @ret for @envelope against @entries (StatusEntry; those without a process are not
 * counted: an exited VM's empty scope holds nothing; nor is @self, the cgroup the envelope is
 * for, when it carries an older envelope) on a host of @mem_total bytes. */
void admission_compute(const Envelope *envelope, const Config *config, const GArray *entries,
                       const char *self, uint64_t mem_total, vmmem_admission *ret);
