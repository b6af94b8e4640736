/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"
#include "vm-spec.h"

/* Calibration: what a running VM really uses beyond its guest RAM.  Pure: the texts of the
 * scope's cgroup files and of /proc/PID/smaps come in (calibrate-read.c reads them), figures
 * come out.  docs/json.md, "The calibrate JSON", defines every figure. */

/* One block of guest RAM as qemu maps it: one mapping of exactly @size bytes (qemu madvises
 * the block's range, which splits it from its neighbours). */
typedef struct {
    char *label;    /* "-m" or the backend's id, for messages */
    uint64_t size;  /* the mapping's size */
    VmRamKind kind; /* how its non-anonymous pages are charged */
    /* How its mapping is named in smaps: NULL anonymous (or "/dev/zero (deleted)" when
     * shared), "/memfd:" a memfd, else a file: that path, or a file qemu made in that
     * directory (-mem-path DIR). */
    char *path;
} CalRamBlock;

/* The guest RAM blocks of @spec: the -m block unless backends provide it, and every memory
 * backend (qemu maps each, used or not).  -EINVAL for a probe: it has no guest RAM. */
int cal_layout_from_spec(const VmSpec *spec, GPtrArray **ret_layout, GError **error);

/* What calibration takes from memory.stat, in bytes. */
typedef struct {
    uint64_t anon, file, shmem, kernel, kernel_stack, pagetables, sec_pagetables, slab,
        slab_reclaimable, percpu, sock, file_dirty, file_writeback;
    bool has_sec_pagetables; /* Linux >= 6.0 */
} CalStat;

/* anon, file and shmem are required (-EBADMSG without them).  Before Linux 5.18 there is no
 * "kernel" line: it is then the sum of the kernel lines there are. */
int cal_stat_parse(const char *text, CalStat *ret_stat, GError **error);

/* One sample's reading of the smaps of the processes in the scope. */
typedef struct {
    uint64_t guest_anon, guest_shmem, guest_file, guest_hugetlb; /* guest RAM resident */
    uint64_t other_anon; /* the Anonymous of every other mapping of every process */
    /* Of other_anon, what is in anonymous executable mappings: TCG's translation cache (QEMU
     * maps it rwx, split by a guard page per region; nothing else in qemu is rwx). */
    uint64_t exec_anon;
} CalMaps;

/* Adds the smaps text of one process to @maps.  @layout: the guest RAM blocks to find (qemu's
 * smaps), or NULL for any other process.  An empty text is a process without memory (a kernel
 * thread such as KVM's, a zombie).  -EAGAIN, with the reason in @error, when a block of
 * @layout has no mapping that is certainly its own: not there (qemu starting or exiting), or
 * several mappings that could each be it.  -EBADMSG when the text is not smaps. */
int cal_smaps_add(const char *text, const GPtrArray *layout, CalMaps *maps, GError **error);

/* The texts of one sample, read close together in this order: memory.peak, memory.current,
 * memory.stat, cgroup.procs, each process's smaps, memory.stat again. */
typedef struct {
    const char *peak; /* NULL where the kernel has no memory.peak (before Linux 5.19) */
    const char *current;
    const char *stat_before;
    const char *stat_after;
    const char *qemu_smaps;         /* NULL: qemu is not in the scope (any more) */
    const char *const *other_smaps; /* NULL-terminated, may be NULL */
    /* What memory.current and memory.peak may hold beyond the pages in use: the charge each CPU
     * takes for a cgroup in advance (MEMCG_CHARGE_BATCH, 64 pages, per online CPU).  The
     * kernel drains it before it would OOM-kill, so it is no overhead to budget. */
    uint64_t precharge;
} CalTexts;

typedef struct {
    uint64_t t_ms; /* since the first sample */
    uint64_t memory_current;
    /* What must fit in memory.max beyond guest RAM: anon + kernel + sock + shmem. */
    uint64_t must_fit;
    uint64_t anon;      /* anonymous memory outside guest RAM and TCG's cache, every process */
    uint64_t tcg_cache; /* TCG's translation cache, resident (CalMaps.exec_anon) */
    /* memory.stat kernel but its reclaimable slab = the five below + kernel_other */
    uint64_t kernel;
    /* slab: what the kernel cannot reclaim (slab_unreclaimable).  Reclaimable slab (inodes,
     * dentries, the buffer heads of page cache pages) goes with the page cache. */
    uint64_t pagetables, sec_pagetables, slab, percpu, kernel_stack, kernel_other;
    uint64_t sock;
    uint64_t shmem; /* shmem outside guest RAM */
    /* Page cache outside guest RAM (file - shmem - file-backed guest RAM) and reclaimable slab. */
    uint64_t reclaimable;
    uint64_t slab_reclaimable;
    uint64_t file_dirty, file_writeback;
    uint64_t guest_resident; /* guest_anon + guest_shmem + guest_file: charged to memory */
    uint64_t guest_anon, guest_shmem, guest_file, guest_hugetlb;
    bool has_sec_pagetables;

    /* A peak that falls between two samples is not in their must_fit; the kernel's own
     * counters still bound it from below.  memory.current was read before the smaps, and guest
     * RAM only grows while a VM runs, so memory.current - guest RAM resident (as the smaps say
     * a moment later) - page cache - precharge is at most the overhead at that moment; the same
     * holds for memory.peak, with the page cache of the samples on either side of the peak. */
    uint64_t memory_peak; /* 0 without memory.peak */
    bool has_memory_peak;
    uint64_t precharge;
    uint64_t reclaimable_hi;  /* page cache with the larger of the two memory.stat readings */
    uint64_t bound;           /* the larger lower bound of the overhead (memory.current's here;
                               * cal_result_add() adds memory.peak's) */
    const char *bound_source; /* "memory.current" or "memory.peak"; NULL while bound is 0 */
} CalSample;

/* One sample from its texts.  -EAGAIN (reason in @error) when the guest RAM cannot be found in
 * qemu's smaps: the sample must not count.  Other errors: malformed texts. */
int cal_sample_from_texts(const GPtrArray *layout, const CalTexts *texts, uint64_t t_ms,
                          CalSample *ret_sample, GError **error);

/* A figure of a sample, for the tables that walk them (the parts of must_fit, the maxima). */
typedef struct {
    const char *name;
    size_t offset; /* of a uint64_t in CalSample */
} CalField;

/* The parts of must_fit, in report order; they add up to it. */
extern const CalField cal_parts[];
extern const size_t cal_n_parts;

static inline uint64_t
cal_field(const CalSample *s, const CalField *f)
{
    return *(const uint64_t *)((const char *)s + f->offset);
}

/* The analysis of a series of samples, fed one at a time so that a calibration of days keeps
 * no series. */
typedef struct {
    unsigned n_samples, n_skipped;
    char *last_skip; /* why the last skipped sample did not count */
    uint64_t last_t_ms, max_gap_ms;
    CalSample first, last;
    CalSample peak;         /* the sample with the largest must_fit (the first of equals) */
    CalSample reclaim_peak; /* the sample with the largest reclaimable */
    CalSample guest_peak;   /* the sample with the most guest RAM resident */
    CalSample bound_peak;   /* the sample with the largest bound */
    CalSample max;          /* each figure's largest over the samples */

    /* cal_result_finish() */
    bool finished;
    uint64_t duration_ms;
    int qemu_status; /* -1: unknown */
    bool has_memory_peak;
    uint64_t memory_peak;
    bool has_memory_max;
    uint64_t memory_max;
    uint64_t events_max, events_oom, events_oom_kill;
} CalResult;

CalResult *cal_result_new(void);
CalResult *cal_result_free(CalResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CalResult, cal_result_free)

void cal_result_add(CalResult *result, const CalSample *sample);
/* The VM's peak overhead as measured: the larger of the largest must_fit and the largest
 * bound. */
uint64_t cal_result_peak_overhead(const CalResult *result);
/* Counts a sample that did not find the guest RAM; @reason is its message. */
void cal_result_skip(CalResult *result, const char *reason);

/* Ends the series with the scope's files read after the VM: @peak_text memory.peak (NULL where
 * the kernel lacks it), @events_text memory.events, @max_text memory.max.  @qemu_status: 0-255
 * (128 + signal when killed), -1 unknown.  @duration_ms: since the first sample.  -ENODATA
 * when no sample found the guest RAM; -ENOSPC when memory.events shows that the scope hit
 * memory.max (its max, oom or oom_kill count): figures taken under reclaim, or after an OOM
 * kill, are not the VM's own. */
int cal_result_finish(CalResult *result, const char *peak_text, const char *events_text,
                      const char *max_text, int qemu_status, uint64_t duration_ms, GError **error);

/* The calibrate JSON (docs/json.md), pretty-printed, no trailing newline; free with g_free(). */
char *cal_result_to_json(const CalResult *result, const Envelope *envelope, const VmSpec *spec);
