/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* A host profile (docs/profile.md): the peak overheads `vmmem calibrate --save-profile` measured
 * on this host, and the model terms fitted to them.  Pure but for profile_for_host(), which
 * reads the file and the qemu binary's build ID, as config.c reads the config file. */

#define VMMEM_DEFAULT_PROFILE_PATH "/var/lib/vmmem/profile.conf"
/* The file's layout.  A profile of another format is not read. */
#define PROFILE_FORMAT 1

/* The terms a profile fits: the ones every KVM VM has and whose size depends on the host (its
 * qemu build, its glibc, its kernel and THP setting).  Indexes into Profile.term. */
typedef enum {
    PROFILE_QEMU_BASE,  /* bytes */
    PROFILE_VCPUS,      /* bytes per vCPU (max(vcpus, maxcpus)) */
    PROFILE_KERNEL_RAM, /* bytes per GiB of guest RAM */
    PROFILE_N_TERMS,
} ProfileTerm;

extern const char *const profile_term_names[PROFILE_N_TERMS];

/* One calibration, as the fit needs it. */
typedef struct {
    char *date;         /* ISO 8601, UTC */
    char *command;      /* the qemu arguments, shell-quoted: for people */
    uint64_t guest_ram; /* guest RAM, hugetlb included: what kernel_ram scales with */
    unsigned vcpus;     /* max(vcpus, maxcpus) */
    uint64_t other;     /* the model's terms other than the fitted ones, for that command line */
    uint64_t peak;      /* the measured peak overhead */
} ProfileMeasurement;

typedef struct {
    int model; /* the version of the model whose terms it fits */
    char *created, *updated;
    char *qemu_path, *qemu_version, *qemu_build_id;
    char *kernel;
    GArray *measurements; /* ProfileMeasurement */
    /* In effect: fitted to the measurements with PROFILE_HEADROOM (the built-in value where
     * they do not tell), or a hand-written [term] value where it is higher. */
    uint64_t term[PROFILE_N_TERMS];
    bool fitted[PROFILE_N_TERMS]; /* from the measurements (else built-in) */
    bool raised[PROFILE_N_TERMS]; /* a hand-written value above the fit */
    /* Hand-written values the file had but that were not taken (lower than the measurements
     * support): one line each, for the caller to show. */
    GPtrArray *notes;
} Profile;

/* The measured peaks are raised by this much before the fit: a few runs of a workload do not
 * reach its rare highs (the run-to-run spread of docs/measurements.md). */
#define PROFILE_HEADROOM_PERCENT 10
/* The newest measurements a profile keeps. */
#define PROFILE_MAX_MEASUREMENTS 32

Profile *profile_new(int model, const char *qemu_path, const char *qemu_version,
                     const char *qemu_build_id, const char *kernel, const char *now);
Profile *profile_free(Profile *profile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Profile, profile_free)

/* Parses @text (the file at @path, named in messages) and fits its terms over @builtin, the
 * model's own values.  -EINVAL (-EBADMSG for a file that is no key file) with one line naming the
 * file, group and key. */
int profile_parse(const char *path, const char *text, const uint64_t builtin[PROFILE_N_TERMS],
                  Profile **ret_profile, GError **error);
/* Adds @m (copied; the oldest beyond PROFILE_MAX_MEASUREMENTS goes) and fits again. */
void profile_add(Profile *profile, const ProfileMeasurement *m, const char *now,
                 const uint64_t builtin[PROFILE_N_TERMS]);
/* The key file, with a comment that says what it is. */
char *profile_to_text(const Profile *profile);

/* NULL when @profile was made for this host's model, qemu build and kernel; else, newly
 * allocated, why it does not apply (one line). */
char *profile_mismatch(const Profile *profile, int model, const char *qemu_build_id,
                       const char *kernel);

/* "host profile 2026-12-03, 3 measurement(s), qemu 7.2.22, kernel 6.1.0-57-amd64": for the
 * terms' sources. */
char *profile_describe(const Profile *profile);

/* The profile at @path as it applies to the host: NULL when there is none, when it cannot be
 * read, or when it was made for another model, qemu build or kernel; then one line for each
 * reason goes to @warnings (nothing when the default path simply has no file, @explicit false).
 * Hand-written values it did not take are warnings too.  @builtin: the model's own values of the
 * fitted terms; @model: its version. */
Profile *profile_for_host(const char *path, bool explicit, const char *qemu_binary,
                          const char *kernel, int model, const uint64_t builtin[PROFILE_N_TERMS],
                          GPtrArray *warnings);
