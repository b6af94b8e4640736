/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "host.h"
#include "profile.h"
#include "size.h"
#include "vm-spec.h"

/* Stage 3: the QEMU overhead of one VM, by component.  Pure. */

/* The model's version: a host profile fits one version's terms (docs/overhead-model.md). */
#define OVERHEAD_MODEL_VERSION 2

typedef struct {
    const char *name; /* static: "qemu_base", "vcpus", "kernel_ram", "tcg_tb", ... */
    uint64_t bytes;
    char *source; /* why this many bytes: the formula with its inputs and the reference */
    /* static: what its constant rests on: "measured" (in this repository), "qemu" (QEMU's
     * source and defaults), "public" (a public figure), "profile" (this host's profile),
     * "policy" (the host policy) */
    const char *basis;
} OverheadTerm;

/* Every term is a whole number of 4 KiB pages, in this order: the components (qemu_base,
 * vcpus, kernel_ram, then kernel_image, tcg_tb, tcg_runtime, iothreads, video, display, disks,
 * nics, vfio where they apply), then the policy: "policy_ratio" (ratio > 1), then "policy_min"
 * (raised to overhead-min) or "policy_max" (capped to overhead-max).
 *
 * The terms add up to total, except when the last term is "policy_max": its bytes are 0 (a
 * negative adjustment does not fit in a uint64_t), the terms before it add up to the uncapped
 * estimate, and total is overhead-max (docs/json.md). */
typedef struct {
    GArray *terms; /* OverheadTerm */
    uint64_t total;
} Overhead;

/* Limits are kept in whole 4 KiB pages.  Rounds @v up to one; false when that overflows. */
static inline bool
overhead_round_up_page(uint64_t v, uint64_t *ret)
{
    if (v > UINT64_MAX - (PAGE_BYTES - 1))
        return false;
    *ret = (v + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
    return true;
}

/* @policy: ratio and clamps applied last; NULL for the bare model.  @profile: this host's
 * profile, which sets qemu_base, vcpus and kernel_ram, or NULL.  Overflow: -ERANGE; a ratio
 * outside [1, 1000]: -EINVAL. */
int overhead_compute(const VmSpec *spec, const HostInfo *host, const Policy *policy,
                     const Profile *profile, Overhead **ret_overhead, GError **error);

/* The built-in values of the terms a profile fits, on @host (qemu_base depends on its THP
 * mode). */
void overhead_profile_builtins(const HostInfo *host, uint64_t ret[PROFILE_N_TERMS]);
/* The terms of @overhead that a profile does not fit, policy terms left out: what a
 * calibration's measurement is compared with beside the fitted ones. */
uint64_t overhead_profile_other(const Overhead *overhead);
Overhead *overhead_free(Overhead *overhead);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Overhead, overhead_free)
