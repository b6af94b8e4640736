/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "json-writer.h"
#include "overhead.h"
#include "vm-spec.h"

/* Stage 4: the limits of one VM.  Pure. */
typedef struct {
    char *vm_name;      /* copied from the spec, may be NULL */
    bool probe;         /* no envelope: everything below is 0 or false, breakdown empty */
    uint64_t guest_ram; /* charged to memory */
    uint64_t hugetlb_ram;
    uint64_t overhead;
    uint64_t memory_max;  /* guest_ram + overhead, rounded up to 4 KiB */
    uint64_t memory_high; /* UINT64_MAX = off, else memory_max x high, rounded down to 4 KiB */
    uint64_t swap_max;    /* 0 = off: memory.swap.max is written as 0; rounded up to 4 KiB */
    uint64_t memory_low;  /* 0 = not written; protect=low: guest_ram rounded up to 4 KiB */
    uint64_t memory_min;  /* 0 = not written; protect=min: guest_ram rounded up to 4 KiB */
    bool oom_group;       /* true unless probe: a VM dies whole */
    Overhead *breakdown;
    Profile *profile;    /* the host profile the model used, or NULL */
    GPtrArray *warnings; /* char*: one line each, for the caller to show (a profile not used) */
} Envelope;

/* @host may be NULL (host RAM unknown: TCG's cache is taken at qemu's 1 GiB default); @config
 * NULL means the built-in defaults.  @profile (taken, may be NULL): this host's profile, as
 * profile_for_host() found it; @warnings (taken, may be NULL): lines the envelope carries to
 * whoever shows it.  Overflow: -ERANGE. */
int envelope_compute(const VmSpec *spec, const HostInfo *host, const Config *config,
                     Profile *profile, GPtrArray *warnings, Envelope **ret_envelope,
                     GError **error);
/* profile_for_host() for @config on @host: the profile @config names as it applies here, its
 * warnings into @warnings.  Reads the profile file and the qemu binary's build ID. */
Profile *envelope_read_profile(const Config *config, const HostInfo *host, GPtrArray *warnings);
Envelope *envelope_free(Envelope *envelope);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Envelope, envelope_free)

/* The explain JSON (docs/json.md), pretty-printed, no trailing newline; free with g_free().
 * @spec may be NULL: the "vm" object is then left out; so is "host" when @host is NULL. */
char *envelope_to_json(const Envelope *envelope, const VmSpec *spec, const HostInfo *host);
/* The same object, written where @w stands (nested in the calibrate JSON). */
void envelope_json_write(JsonWriter *w, const Envelope *envelope, const VmSpec *spec,
                         const HostInfo *host);
