/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "host.h"
#include "vmmem/vmmem.h"

/* `vmmem status`: every envelope on the host.  status.c turns the texts of one envelope's files
 * into its figures and writes the status JSON (docs/json.md), both pure; status-read.c finds
 * the envelopes and reads the texts. */

/* One envelope's files, read whole.  NULL: the file is not there (memory.peak before Linux
 * 5.19, memory.swap.current without swap accounting, memory.pressure without PSI, a qemu that
 * could not be read or is gone). */
typedef struct {
    char *path;            /* relative to the cgroup2 mount */
    char *label_vm;        /* user.vmmem.vm, or NULL */
    char *label_guest_ram; /* user.vmmem.guest_ram */
    char *label_overhead;  /* user.vmmem.overhead */
    char *max, *high, *current, *peak, *swap_current, *events, *pressure;
    pid_t qemu_pid;          /* 0: none in the cgroup */
    char *qemu_smaps;        /* /proc/PID/smaps */
    char *ksm_merging_pages; /* /proc/PID/ksm_merging_pages (Linux >= 6.1) */
    GPtrArray *layout;       /* CalRamBlock*, qemu's guest RAM blocks from its command line */
} StatusTexts;

void status_texts_clear(StatusTexts *t);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(StatusTexts, status_texts_clear)

/* An envelope's figures; the strings are owned (status_entry_clear()). */
typedef struct {
    vmmem_status_envelope pub;
    char *path, *name, *kind;
} StatusEntry;

/* -EBADMSG when a required file does not hold what the kernel writes there. */
int status_entry_from_texts(const StatusTexts *t, StatusEntry *ret_entry, GError **error);
void status_entry_clear(StatusEntry *e);

/* Every envelope on this host (GArray of StatusEntry, cleared with it).  @host NULL: limits,
 * usage and whether a process is inside only, none of qemu's /proc files (no resident guest
 * RAM, no KSM; qemu_pid is any process there). */
int status_collect(const char *filter, const HostInfo *host, GArray **ret_entries, GError **error);

/* The status JSON: the host line (MemTotal @mem_total against the sum of memory.max) and each
 * envelope. */
char *status_to_json(const GArray *entries, uint64_t mem_total);
