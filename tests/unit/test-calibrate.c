/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Calibration (libvmmem/calibrate.c): the guest RAM layout of a command line, memory.stat and
 * smaps texts into a sample, a series of samples into the result and its JSON.
 *
 * Recorded rows are real: tests/vm/capture-calibrate-samples.sh copied the scope's files and
 * every /proc/PID/smaps of nested KVM toucher guests inside the test VM (Linux 6.1, QEMU 7.2;
 * tests/unit/data/calibrate/NAME/argv is each command line).  Their expected bytes were checked
 * against an independent reading of the same files.  Hand-made rows cover what the recordings
 * do not: no sec_pagetables, no guest RAM mapping, two RAM backends, look-alike mappings, a
 * file backend, a second process.
 */
#include <glib.h>
#include <string.h>

#include "calibrate.h"
#include "cgroup-plan.h"
#include "error.h"
#include "json-check.h"
#include "size.h"

#define MAX_ARGS 24

static GPtrArray *
layout_of(const char *const *argv)
{
    static const char *const mounts[] = {"/dev/hugepages", NULL};
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, mounts);
    g_autoptr(VmSpec) spec = NULL;
    g_autoptr(GError) error = NULL;
    GPtrArray *layout = NULL;
    int argc = 0;

    while (argv[argc])
        argc++;
    g_assert_cmpint(vm_spec_parse(argc, argv, host, &spec, NULL, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpint(cal_layout_from_spec(spec, &layout, &error), ==, 0);
    return layout;
}

/* ---- recorded samples ---- */

typedef struct {
    const char *config; /* tests/unit/data/calibrate/CONFIG */
    const char *sample;
    const char *argv[MAX_ARGS];
    const char *skip; /* the sample does not count: part of the reason */
    CalSample want;
} RecordedRow;

#define KVM_TOUCHER                                                                                \
    "-machine", "q35", "-accel", "kvm", "-cpu", "host", "-nodefaults", "-display", "none",         \
        "-no-reboot"

/* clang-format off */
static const RecordedRow recorded_rows[] = {
    /* One second in: qemu has not mapped its RAM yet (the other process, KVM's kernel thread,
     * is not there yet either). */
    {"kvm-256", "sample-000", {KVM_TOUCHER, "-m", "256"},
     .skip = "qemu has no mapping of exactly 256 MiB for guest RAM '-m'"},
    /* Booted; KVM's nx-lpage-recovery kernel thread is a second pid, with an empty smaps. */
    {"kvm-256", "sample-006", {KVM_TOUCHER, "-m", "256"},
     .want = {.memory_current = 200237056, .must_fit = 15392768 - 409320, .anon = 13586432,
              .kernel = 1806336 - 409320, .pagetables = 520192, .sec_pagetables = 32768,
              /* slab 567720, of it 409320 reclaimable */
              .slab = 158400, .slab_reclaimable = 409320, .percpu = 0, .kernel_stack = 32768,
              .kernel_other = 652888, .sock = 0, .shmem = 0, .reclaimable = 94990336 + 409320,
              .guest_resident = 96468992, .guest_anon = 96468992, .has_sec_pagetables = true,
              /* memory.current, then the smaps: the guest faulted in RAM meanwhile. */
              .bound = 200237056 - 96468992 - 94990336 - 409320}},
    /* -mem-prealloc: memory.stat's anon ran 170 MiB ahead of memory.current, read 20 ms
     * earlier; the smaps-based figures do not care. */
    {"kvm-1024-prealloc", "sample-003", {KVM_TOUCHER, "-m", "1024", "-mem-prealloc"},
     .want = {.memory_current = 914243584, .must_fit = 13266944 - 59728, .anon = 10174464,
              .kernel = 3092480 - 59728, .reclaimable = 55288, .slab_reclaimable = 55288,
              .guest_resident = 910163968, .guest_anon = 910163968, .has_sec_pagetables = true,
              .bound = 914243584 - 910163968 - 55288}},
    {"kvm-1024-prealloc", "sample-005", {KVM_TOUCHER, "-m", "1024", "-mem-prealloc"},
     .want = {.memory_current = 1094144000, .must_fit = 20172800 - 59728, .anon = 16023552,
              .kernel = 4149248 - 59728, .reclaimable = 59728, .slab_reclaimable = 59728,
              .guest_resident = GiB, .guest_anon = GiB, .has_sec_pagetables = true,
              .bound = 1094144000 - GiB - 59728}},
    /* qemu exiting: its kernel memory is gone from memory.stat, its mappings not yet. */
    {"kvm-1024-prealloc", "sample-006", {KVM_TOUCHER, "-m", "1024", "-mem-prealloc"},
     .want = {.memory_current = 1094144000, .must_fit = 14008320 - 4208, .anon = 13987840,
              .kernel = 16384 - 4208, .shmem = 4096, .reclaimable = 4208,
              .slab_reclaimable = 4208, .guest_resident = GiB, .guest_anon = GiB,
              .has_sec_pagetables = true, .bound = 1094144000 - GiB - 59728}},
    {"kvm-1024", "sample-007", {KVM_TOUCHER, "-m", "1024"},
     .want = {.memory_current = 501858304, .must_fit = 17616896 - 60128, .anon = 14090240,
              .kernel = 3522560 - 60128, .shmem = 4096, .reclaimable = 60128,
              .slab_reclaimable = 60128, .guest_resident = 614465536,
              .guest_anon = 614465536, .has_sec_pagetables = true,
              /* The guest faulted in 110 MiB more than memory.current had seen: no bound. */
              .bound = 0}},
    /* Guest RAM in a memfd: shmem, all of it inside the guest's mapping. */
    {"kvm-256-memfd", "sample-009",
     {KVM_TOUCHER, "-m", "256", "-object", "memory-backend-memfd,id=ram0,size=256M", "-machine",
      "memory-backend=ram0"},
     .want = {.memory_current = 266395648, .must_fit = 20754432 - 627920, .anon = 17969152,
              .kernel = 2785280 - 627920, .shmem = 0, .reclaimable = 615488,
              .slab_reclaimable = 615488, .guest_resident = 242765824,
              .guest_shmem = 242765824, .has_sec_pagetables = true,
              .bound = 266395648 - 242765824 - 615488}},
};
/* clang-format on */

static char *
data_file(const char *config, const char *sample, const char *file)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;
    char *text = NULL;

    path = sample ? g_test_build_filename(G_TEST_DIST, "unit", "data", "calibrate", config, sample,
                                          file, NULL)
                  : g_test_build_filename(G_TEST_DIST, "unit", "data", "calibrate", config, file,
                                          NULL);
    if (!g_file_get_contents(path, &text, NULL, &error))
        g_error("%s", error->message);
    return text;
}

/* The texts vmmem would have read for that sample; *ret_keep owns them. */
static CalTexts
recorded_texts(const char *config, const char *sample, GPtrArray **ret_keep)
{
    GPtrArray *keep = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *others = g_ptr_array_new();
    g_autofree char *qemu_pid = g_strchomp(data_file(config, NULL, "qemu.pid"));
    g_autofree char *procs = data_file(config, sample, "cgroup.procs");
    g_auto(GStrv) pids = g_strsplit(procs, "\n", -1);
    CalTexts t = {0};

    t.current = g_strchomp(data_file(config, sample, "memory.current"));
    t.stat_before = data_file(config, sample, "memory.stat.0");
    t.stat_after = data_file(config, sample, "memory.stat.1");
    g_ptr_array_add(keep, (char *)t.current);
    g_ptr_array_add(keep, (char *)t.stat_before);
    g_ptr_array_add(keep, (char *)t.stat_after);
    for (char **p = pids; *p; p++) {
        g_autofree char *name = g_strconcat("smaps.", *p, NULL);
        char *text;
        if (!**p)
            continue;
        text = data_file(config, sample, name);
        g_ptr_array_add(keep, text);
        if (strcmp(*p, qemu_pid) == 0)
            t.qemu_smaps = text;
        else
            g_ptr_array_add(others, text);
    }
    g_ptr_array_add(others, NULL);
    /* others' array is freed with keep, its strings are keep's. */
    g_ptr_array_add(keep, g_ptr_array_free(others, FALSE));
    t.other_smaps = g_ptr_array_index(keep, keep->len - 1);
    *ret_keep = keep;
    return t;
}

static uint64_t
recorded_t_ms(const char *config, const char *sample)
{
    g_autofree char *t = g_strchomp(data_file(config, sample, "t_ms"));

    return g_ascii_strtoull(t, NULL, 10);
}

static void
test_recorded(gconstpointer data)
{
    const RecordedRow *row = data;
    g_autoptr(GPtrArray) layout = layout_of(row->argv);
    g_autoptr(GPtrArray) keep = NULL;
    g_autoptr(GError) error = NULL;
    CalTexts t = recorded_texts(row->config, row->sample, &keep);
    CalSample s = {.must_fit = 12345};
    const CalSample *w = &row->want;
    int r = cal_sample_from_texts(layout, &t, 7, &s, &error);

    if (row->skip) {
        g_assert_cmpint(r, ==, -EAGAIN);
        g_assert_error(error, VMMEM_ERROR, EAGAIN);
        g_assert_nonnull(strstr(error->message, row->skip));
        g_assert_cmpuint(s.must_fit, ==, 12345); /* not written */
        return;
    }
    g_assert_no_error(error);
    g_assert_cmpint(r, ==, 0);
    g_assert_cmpuint(s.t_ms, ==, 7);
    g_assert_cmpuint(s.memory_current, ==, w->memory_current);
    g_assert_cmpuint(s.must_fit, ==, w->must_fit);
    g_assert_cmpuint(s.anon, ==, w->anon);
    g_assert_cmpuint(s.kernel, ==, w->kernel);
    g_assert_cmpuint(s.sock, ==, w->sock);
    g_assert_cmpuint(s.shmem, ==, w->shmem);
    g_assert_cmpuint(s.reclaimable, ==, w->reclaimable);
    g_assert_cmpuint(s.slab_reclaimable, ==, w->slab_reclaimable);
    g_assert_cmpuint(s.guest_resident, ==, w->guest_resident);
    g_assert_cmpuint(s.guest_anon, ==, w->guest_anon);
    g_assert_cmpuint(s.guest_shmem, ==, w->guest_shmem);
    g_assert_cmpuint(s.guest_file, ==, w->guest_file);
    g_assert_cmpuint(s.guest_hugetlb, ==, 0);
    g_assert_cmpint(s.has_sec_pagetables, ==, w->has_sec_pagetables);
    if (w->pagetables) {
        g_assert_cmpuint(s.pagetables, ==, w->pagetables);
        g_assert_cmpuint(s.sec_pagetables, ==, w->sec_pagetables);
        g_assert_cmpuint(s.slab, ==, w->slab);
        g_assert_cmpuint(s.percpu, ==, w->percpu);
        g_assert_cmpuint(s.kernel_stack, ==, w->kernel_stack);
        g_assert_cmpuint(s.kernel_other, ==, w->kernel_other);
    }
    g_assert_cmpuint(s.tcg_cache, ==, 0);
    g_assert_cmpuint(s.bound, ==, w->bound);
    g_assert_cmpstr(s.bound_source, ==, w->bound ? "memory.current" : NULL);
    g_assert_false(s.has_memory_peak); /* the recordings have no memory.peak per sample */
    /* The parts add up, whatever the row pins. */
    g_assert_cmpuint(s.anon + s.tcg_cache + s.kernel + s.sock + s.shmem, ==, s.must_fit);
    g_assert_cmpuint(s.pagetables + s.sec_pagetables + s.slab + s.percpu + s.kernel_stack +
                         s.kernel_other,
                     ==, s.kernel);
}

/* ---- the series ---- */

static void
feed(CalResult *res, const GPtrArray *layout, const char *config, const char *sample)
{
    g_autoptr(GPtrArray) keep = NULL;
    g_autoptr(GError) error = NULL;
    CalTexts t = recorded_texts(config, sample, &keep);
    CalSample s;
    int r = cal_sample_from_texts(layout, &t, recorded_t_ms(config, sample), &s, &error);

    if (r == -EAGAIN)
        cal_result_skip(res, error->message);
    else if (r == 0)
        cal_result_add(res, &s);
    else
        g_error("%s", error->message);
}

static void
test_series(void)
{
    const char *const argv[] = {KVM_TOUCHER, "-m", "1024", "-mem-prealloc", NULL};
    static const char *const samples[] = {"sample-003", "sample-005", "sample-006"};
    g_autoptr(GPtrArray) layout = layout_of(argv);
    g_autoptr(CalResult) res = cal_result_new();
    g_autofree char *peak = g_strchomp(data_file("kvm-1024-prealloc", NULL, "memory.peak"));
    g_autofree char *events = data_file("kvm-1024-prealloc", NULL, "memory.events");
    g_autofree char *max = g_strchomp(data_file("kvm-1024-prealloc", NULL, "memory.max"));
    g_autoptr(GError) error = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(samples); i++)
        feed(res, layout, "kvm-1024-prealloc", samples[i]);
    g_assert_cmpuint(res->n_samples, ==, 3);
    g_assert_cmpuint(res->n_skipped, ==, 0);
    /* The peak is sample-005's must_fit, with its parts as they were then. */
    g_assert_cmpuint(res->peak.must_fit, ==, 20172800 - 59728);
    g_assert_cmpuint(res->peak.t_ms, ==, 25759);
    g_assert_cmpuint(res->peak.anon, ==, 16023552);
    g_assert_cmpuint(res->peak.kernel, ==, 4149248 - 59728);
    /* Each figure's own largest: anon peaked at 005 too, memory.current at 005 (= 006). */
    g_assert_cmpuint(res->max.anon, ==, 16023552);
    g_assert_cmpuint(res->max.memory_current, ==, 1094144000);
    g_assert_cmpuint(res->max.kernel, ==, 4149248 - 59728);
    g_assert_cmpuint(res->guest_peak.guest_resident, ==, GiB);
    g_assert_cmpuint(res->guest_peak.t_ms, ==, 25759);
    g_assert_cmpuint(res->last.t_ms, ==, 33402);
    g_assert_cmpuint(res->max_gap_ms, ==, 25759 - 15371);

    g_assert_cmpint(cal_result_finish(res, peak, events, max, 0, 34000, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_true(res->finished);
    g_assert_true(res->has_memory_peak);
    g_assert_cmpuint(res->memory_peak, ==, 1098067968);
    g_assert_false(res->has_memory_max); /* the capture's cgroup had no limit */
}

/* The skipped samples count, the first valid one starts the series. */
static void
test_series_skips(void)
{
    const char *const argv[] = {KVM_TOUCHER, "-m", "256", NULL};
    g_autoptr(GPtrArray) layout = layout_of(argv);
    g_autoptr(CalResult) res = cal_result_new();

    feed(res, layout, "kvm-256", "sample-000");
    feed(res, layout, "kvm-256", "sample-006");
    g_assert_cmpuint(res->n_samples, ==, 1);
    g_assert_cmpuint(res->n_skipped, ==, 1);
    g_assert_nonnull(strstr(res->last_skip, "256 MiB"));
    g_assert_cmpuint(res->peak.must_fit, ==, 15392768 - 409320);
    g_assert_cmpuint(res->max_gap_ms, ==, 0);
}

static void
test_finish_refusals(void)
{
    const char *const argv[] = {KVM_TOUCHER, "-m", "256", NULL};
    g_autoptr(GPtrArray) layout = layout_of(argv);
    g_autoptr(CalResult) none = cal_result_new();
    g_autoptr(CalResult) skipped = cal_result_new();
    g_autoptr(CalResult) hit = cal_result_new();
    g_autoptr(CalResult) old_kernel = cal_result_new();
    g_autoptr(GError) error = NULL;
    const char *quiet = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n";

    g_assert_cmpint(cal_result_finish(none, "1", quiet, "max", 0, 1, &error), ==, -ENODATA);
    g_assert_error(error, VMMEM_ERROR, ENODATA);
    g_clear_error(&error);

    feed(skipped, layout, "kvm-256", "sample-000");
    g_assert_cmpint(cal_result_finish(skipped, "1", quiet, "max", 0, 1, &error), ==, -ENODATA);
    g_assert_nonnull(strstr(error->message, "1 tried; the last: qemu has no mapping"));
    g_assert_null(strchr(error->message, '\n'));
    g_clear_error(&error);

    /* The ceiling was reached: reclaim shaped the figures. */
    feed(hit, layout, "kvm-256", "sample-006");
    g_assert_cmpint(cal_result_finish(hit, "1", "low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n",
                                      "2147483648", 0, 1, &error),
                    ==, -ENOSPC);
    g_assert_nonnull(strstr(error->message, "max 3, oom 0, oom_kill 0"));
    g_assert_false(hit->finished);
    g_clear_error(&error);

    /* No memory.peak before Linux 5.19: null, not an error. */
    feed(old_kernel, layout, "kvm-256", "sample-006");
    g_assert_cmpint(cal_result_finish(old_kernel, NULL, quiet, "2147483648", 137, 1, &error), ==,
                    0);
    g_assert_false(old_kernel->has_memory_peak);
    g_assert_cmpuint(old_kernel->memory_max, ==, 2147483648);
    g_assert_cmpint(old_kernel->qemu_status, ==, 137);
}

/* ---- memory.stat ---- */

static void
test_stat_old_kernel(void)
{
    /* Linux 5.15: no kernel, no sec_pagetables line. */
    const char *text = "anon 100\nfile 50\nkernel_stack 8\npagetables 16\npercpu 4\nsock 2\n"
                       "shmem 10\nvmalloc 32\nfile_dirty 1\nfile_writeback 3\nslab 64\n";
    CalStat st;

    g_assert_cmpint(cal_stat_parse(text, &st, NULL), ==, 0);
    g_assert_false(st.has_sec_pagetables);
    g_assert_cmpuint(st.kernel, ==, 8 + 16 + 4 + 64 + 32);
    g_assert_cmpuint(st.sock, ==, 2);
    g_assert_cmpuint(st.file_writeback, ==, 3);
}

static void
test_stat_refusals(void)
{
    g_autoptr(GError) error = NULL;
    CalStat st = {.anon = 99};

    g_assert_cmpint(cal_stat_parse("file 1\nshmem 0\n", &st, &error), ==, -EBADMSG);
    g_assert_nonnull(strstr(error->message, "'anon'"));
    g_clear_error(&error);
    g_assert_cmpint(cal_stat_parse("anon x\nfile 1\nshmem 0\n", &st, &error), ==, -EBADMSG);
    g_assert_nonnull(strstr(error->message, "'anon x'"));
    g_assert_cmpuint(st.anon, ==, 99);
}

/* ---- hand-made smaps ---- */

typedef struct {
    uint64_t start, size;
    const char *perms, *name;
    uint64_t rss_kb, anon_kb, hugetlb_kb;
    const char *flags; /* NULL: no VmFlags line */
} FakeVma;

#define RAM_FLAGS "rd wr mr mw me dc ac sd hg mg"

static char *
fake_smaps(const FakeVma *vmas, size_t n)
{
    GString *s = g_string_new(NULL);

    for (size_t i = 0; i < n; i++) {
        const FakeVma *v = &vmas[i];
        g_string_append_printf(s,
                               "%012" G_GINT64_MODIFIER "x-%012" G_GINT64_MODIFIER
                               "x %s 00000000 00:00 0                          %s\n",
                               v->start, v->start + v->size, v->perms, v->name ? v->name : "");
        g_string_append_printf(s,
                               "Size: %" G_GUINT64_FORMAT " kB\nRss: %" G_GUINT64_FORMAT
                               " kB\nPss: 1 kB\nAnonymous: %" G_GUINT64_FORMAT
                               " kB\nShared_Hugetlb: 0 kB\nPrivate_Hugetlb: %" G_GUINT64_FORMAT
                               " kB\nTHPeligible:    0\n",
                               v->size / KiB, v->rss_kb, v->anon_kb, v->hugetlb_kb);
        if (v->flags)
            g_string_append_printf(s, "VmFlags: %s\n", v->flags);
    }
    return g_string_free(s, FALSE);
}

typedef struct {
    const char *desc;
    const char *argv[MAX_ARGS];
    FakeVma qemu[6];
    FakeVma other[2]; /* a second process, if .size */
    const char *skip; /* part of the reason when the guest RAM is not found */
    CalMaps want;
} MapsRow;

#define M(mib) ((uint64_t)(mib)*MiB)

/* clang-format off */
static const MapsRow maps_rows[] = {
    {"plain -m", {"-m", "256"},
     {{0x1000000, M(256), "rw-p", NULL, 1024, 1024, 0, RAM_FLAGS},
      {0x20000000, M(8), "rw-p", NULL, 300, 300, 0, "rd wr mr mw me ac sd"}},
     .want = {.guest_anon = M(1), .other_anon = 300 * KiB}},
    {"guest RAM not mapped (qemu starting)", {"-m", "256"},
     {{0x20000000, M(8), "rw-p", NULL, 300, 300, 0, "rd wr mr mw me ac sd"}},
     .skip = "no mapping of exactly 256 MiB for guest RAM '-m'"},
    /* Only the mapping qemu madvised MADV_DONTFORK is RAM: not a malloc arena, not TCG's
     * executable translation buffer, even when they have the size. */
    {"look-alikes of the size", {"-m", "64"},
     {{0x1000000, M(64), "rw-p", NULL, 10, 10, 0, "rd wr mr mw me ac sd"},
      {0x8000000, M(64), "rwxp", NULL, 20, 20, 0, "rd wr ex mr mw me dc ac sd"},
      {0x10000000, M(64), "rw-p", NULL, 40, 40, 0, RAM_FLAGS}},
     .want = {.guest_anon = 40 * KiB, .other_anon = 30 * KiB, .exec_anon = 20 * KiB}},
    /* TCG's translation buffer: one rwx mapping per region (a guard page splits them), and a
     * file mapped executable (a library's text) is no part of it. */
    {"TCG translation cache", {"-m", "64", "-accel", "tcg"},
     {{0x10000000, M(64), "rw-p", NULL, 40, 40, 0, RAM_FLAGS},
      {0x20000000, M(32) - 4 * KiB, "rwxp", NULL, 3000, 3000, 0, "rd wr ex mr mw me ac sd"},
      {0x22000000, 4 * KiB, "---p", NULL, 0, 0, 0, "mr mw me ac sd"},
      {0x22001000, M(32) - 4 * KiB, "rwxp", NULL, 1000, 1000, 0, "rd wr ex mr mw me ac sd"},
      {0x30000000, M(2), "r-xp", "/usr/bin/qemu-system-x86_64", 900, 8, 0, "rd ex mr mw me sd"}},
     .want = {.guest_anon = 40 * KiB, .other_anon = 4008 * KiB, .exec_anon = 4000 * KiB}},
    /* Old kernels have no VmFlags: size and naming alone. */
    {"no VmFlags", {"-m", "64"},
     {{0x10000000, M(64), "rw-p", NULL, 40, 40, 0, NULL}},
     .want = {.guest_anon = 40 * KiB}},
    {"two NUMA RAM backends", {"-m", "1G", "-object", "memory-backend-ram,id=m0,size=512M",
      "-object", "memory-backend-ram,id=m1,size=512M", "-numa", "node,memdev=m0", "-numa",
      "node,memdev=m1"},
     {{0x1000000, M(512), "rw-p", NULL, 2048, 2048, 0, RAM_FLAGS},
      {0x30000000, M(512), "rw-p", NULL, 4096, 4096, 0, RAM_FLAGS},
      {0x60000000, M(1), "rw-p", NULL, 100, 100, 0, "rd wr mr mw me ac sd"}},
     .want = {.guest_anon = 6144 * KiB, .other_anon = 100 * KiB}},
    {"two backends, one mapping", {"-m", "1G", "-object", "memory-backend-ram,id=m0,size=512M",
      "-object", "memory-backend-ram,id=m1,size=512M", "-numa", "node,memdev=m0", "-numa",
      "node,memdev=m1"},
     {{0x1000000, M(512), "rw-p", NULL, 2048, 2048, 0, RAM_FLAGS}},
     .skip = "qemu has 1 mappings of exactly 512 MiB for 2 guest RAM block(s) like 'm0'"},
    {"two mappings that could be it", {"-m", "16"},
     {{0x1000000, M(16), "rw-p", NULL, 2048, 2048, 0, RAM_FLAGS},
      {0x3000000, M(16), "rw-p", NULL, 512, 512, 0, RAM_FLAGS}},
     .skip = "cannot tell them apart"},
    /* A shared memory-backend-ram is shared anonymous memory, "/dev/zero (deleted)": shmem. */
    {"shared RAM backend", {"-m", "256", "-object", "memory-backend-ram,id=r,size=256M,share=on",
      "-machine", "memory-backend=r"},
     {{0x1000000, M(256), "rw-s", "/dev/zero (deleted)", 4096, 0, 0, RAM_FLAGS}},
     .want = {.guest_shmem = M(4)}},
    /* A private file mapping: written pages are anonymous copies, read ones page cache. */
    {"file backend, share=off", {"-m", "256", "-object",
      "memory-backend-file,id=f,size=256M,mem-path=/var/lib/vm/ram.img", "-machine",
      "memory-backend=f"},
     {{0x1000000, M(256), "rw-p", "/var/lib/vm/ram.img", 3072, 1024, 0, RAM_FLAGS},
      {0x20000000, M(256), "rw-p", "/var/lib/vm/other.img", 4096, 0, 0, RAM_FLAGS}},
     .want = {.guest_anon = M(1), .guest_file = M(2)}},
    {"-mem-path DIR: qemu's file in it", {"-m", "128", "-mem-path", "/srv/vmram"},
     {{0x1000000, M(128), "rw-p", "/srv/vmram/qemu_back_mem.pc.ram.Ab12Cd (deleted)", 2048, 0,
       0, RAM_FLAGS}},
     .want = {.guest_file = M(2)}},
    {"relative mem-path", {"-m", "256", "-object",
      "memory-backend-file,id=f,size=256M,mem-path=ram.img,share=on", "-machine",
      "memory-backend=f"},
     {{0x1000000, M(256), "rw-s", "/home/u/vm/ram.img", 1024, 0, 0, RAM_FLAGS}},
     .want = {.guest_file = M(1)}},
    /* hugetlbfs: not in Rss, not charged to memory. */
    {"hugetlbfs -mem-path", {"-m", "1G", "-mem-path", "/dev/hugepages"},
     {{0x40000000, GiB, "rw-p", "/dev/hugepages/qemu_back_mem.pc.ram.x (deleted)", 0, 0,
       M(512) / KiB, "rd wr mr mw me dc de ht sd"}},
     .want = {.guest_hugetlb = M(512)}},
    /* Every anonymous page of another process is QEMU-side, even one of guest RAM's size. */
    {"a second process", {"-m", "64"},
     {{0x10000000, M(64), "rw-p", NULL, 40, 40, 0, RAM_FLAGS}},
     {{0x10000000, M(64), "rw-p", NULL, 500, 500, 0, RAM_FLAGS},
      {0x20000000, M(1), "rw-p", NULL, 12, 12, 0, "rd wr mr mw me ac sd"}},
     .want = {.guest_anon = 40 * KiB, .other_anon = 512 * KiB}},
};
/* clang-format on */

static size_t
n_vmas(const FakeVma *v, size_t max)
{
    size_t n = 0;

    while (n < max && v[n].size)
        n++;
    return n;
}

static void
test_maps(gconstpointer data)
{
    const MapsRow *row = data;
    g_autoptr(GPtrArray) layout = layout_of(row->argv);
    g_autofree char *qemu = fake_smaps(row->qemu, n_vmas(row->qemu, G_N_ELEMENTS(row->qemu)));
    g_autofree char *other = fake_smaps(row->other, n_vmas(row->other, G_N_ELEMENTS(row->other)));
    g_autoptr(GError) error = NULL;
    CalMaps maps = {0};
    int r = cal_smaps_add(qemu, layout, &maps, &error);

    if (row->skip) {
        g_assert_cmpint(r, ==, -EAGAIN);
        g_assert_nonnull(strstr(error->message, row->skip));
        g_assert_null(strchr(error->message, '\n'));
        return;
    }
    g_assert_no_error(error);
    g_assert_cmpint(r, ==, 0);
    g_assert_cmpint(cal_smaps_add(other, NULL, &maps, &error), ==, 0);
    g_assert_cmpuint(maps.guest_anon, ==, row->want.guest_anon);
    g_assert_cmpuint(maps.guest_shmem, ==, row->want.guest_shmem);
    g_assert_cmpuint(maps.guest_file, ==, row->want.guest_file);
    g_assert_cmpuint(maps.guest_hugetlb, ==, row->want.guest_hugetlb);
    g_assert_cmpuint(maps.other_anon, ==, row->want.other_anon);
    g_assert_cmpuint(maps.exec_anon, ==, row->want.exec_anon);
}

static void
test_maps_refusals(void)
{
    const char *const argv[] = {"-m", "64", NULL};
    g_autoptr(GPtrArray) layout = layout_of(argv);
    g_autoptr(GError) error = NULL;
    CalMaps maps = {0};

    g_assert_cmpint(cal_smaps_add("Rss: 4 kB\n", layout, &maps, &error), ==, -EBADMSG);
    g_assert_nonnull(strstr(error->message, "'Rss: 4 kB'"));
    g_clear_error(&error);
    /* A kernel thread or a zombie has no memory: nothing to add, nothing wrong. */
    g_assert_cmpint(cal_smaps_add("", NULL, &maps, &error), ==, 0);
    g_assert_cmpuint(maps.other_anon, ==, 0);
}

/* shmem and page cache outside guest RAM come from memory.stat minus the guest's share, with
 * the smaller of the two readings around the smaps. */
static void
test_sample_differences(void)
{
    const char *const argv[] = {"-m",       "256",
                                "-object",  "memory-backend-memfd,id=r,size=256M",
                                "-machine", "memory-backend=r",
                                NULL};
    g_autoptr(GPtrArray) layout = layout_of(argv);
    const FakeVma vmas[] = {
        {0x1000000, M(256), "rw-s", "/memfd:memory-backend-memfd (deleted)", M(100) / KiB, 0, 0,
         RAM_FLAGS},
        {0x20000000, M(8), "rw-p", NULL, M(5) / KiB, M(5) / KiB, 0, "rd wr mr mw me ac sd"},
    };
    g_autofree char *smaps = fake_smaps(vmas, G_N_ELEMENTS(vmas));
    /* Between the two readings the guest faulted in 50 MiB of its memfd. */
    g_autofree char *before =
        g_strdup_printf("anon %" G_GUINT64_FORMAT "\nfile %" G_GUINT64_FORMAT
                        "\nkernel %" G_GUINT64_FORMAT "\nshmem %" G_GUINT64_FORMAT "\nsock 4096\n",
                        M(5), M(100) + M(2) + M(30), M(1), M(100) + M(2));
    g_autofree char *after =
        g_strdup_printf("anon %" G_GUINT64_FORMAT "\nfile %" G_GUINT64_FORMAT
                        "\nkernel %" G_GUINT64_FORMAT "\nshmem %" G_GUINT64_FORMAT "\nsock 4096\n",
                        M(5), M(150) + M(2) + M(30), M(1), M(150) + M(2));
    CalTexts t = {.current = "1", .stat_before = before, .stat_after = after, .qemu_smaps = smaps};
    g_autoptr(GError) error = NULL;
    CalSample s;

    g_assert_cmpint(cal_sample_from_texts(layout, &t, 0, &s, &error), ==, 0);
    g_assert_cmpuint(s.guest_shmem, ==, M(100));
    g_assert_cmpuint(s.shmem, ==, M(2));
    g_assert_cmpuint(s.reclaimable, ==, M(30));
    g_assert_cmpuint(s.anon, ==, M(5));
    g_assert_cmpuint(s.kernel_other, ==, M(1));
    g_assert_cmpuint(s.must_fit, ==, M(5) + M(1) + 4096 + M(2));
    g_assert_false(s.has_sec_pagetables);

    /* qemu gone from cgroup.procs. */
    t.qemu_smaps = NULL;
    g_clear_error(&error);
    g_assert_cmpint(cal_sample_from_texts(layout, &t, 0, &s, &error), ==, -EAGAIN);
}

/* Peaks between samples: memory.current and memory.peak, less guest RAM resident, page cache
 * and the per-CPU precharge, bound the overhead from below. */
static char *
stat_text(uint64_t anon, uint64_t file)
{
    return g_strdup_printf("anon %" G_GUINT64_FORMAT "\nfile %" G_GUINT64_FORMAT
                           "\nkernel %" G_GUINT64_FORMAT "\nshmem 0\nsock 0\n",
                           anon, file, M(1));
}

static CalSample
bounds_sample(const GPtrArray *layout, const char *peak, const char *current, uint64_t guest_kb,
              uint64_t file, uint64_t t_ms)
{
    const FakeVma vmas[] = {
        {0x1000000, M(256), "rw-p", NULL, guest_kb, guest_kb, 0, RAM_FLAGS},
        {0x20000000, M(16), "rw-p", NULL, M(10) / KiB, M(10) / KiB, 0, "rd wr mr mw me ac sd"},
    };
    g_autofree char *smaps = fake_smaps(vmas, G_N_ELEMENTS(vmas));
    g_autofree char *st = stat_text(guest_kb * KiB + M(10), file);
    CalTexts t = {.peak = peak,
                  .current = current,
                  .stat_before = st,
                  .stat_after = st,
                  .qemu_smaps = smaps,
                  .precharge = 512 * KiB};
    g_autoptr(GError) error = NULL;
    CalSample s;

    g_assert_cmpint(cal_sample_from_texts(layout, &t, t_ms, &s, &error), ==, 0);
    g_assert_no_error(error);
    return s;
}

static void
test_bounds(void)
{
    const char *const argv[] = {"-m", "256", NULL};
    g_autoptr(GPtrArray) layout = layout_of(argv);
    g_autoptr(CalResult) res = cal_result_new();
    g_autofree char *p1 = g_strdup_printf("%" G_GUINT64_FORMAT, M(150));
    g_autofree char *c1 = g_strdup_printf("%" G_GUINT64_FORMAT, M(120));
    g_autofree char *p2 = g_strdup_printf("%" G_GUINT64_FORMAT, M(250));
    g_autofree char *c2 = g_strdup_printf("%" G_GUINT64_FORMAT, M(215));
    CalSample s;

    /* must_fit = 10 MiB anon + 1 MiB kernel.  memory.current 120 MiB, 100 MiB guest, 8 MiB
     * page cache, 0.5 MiB precharge: 11.5 MiB.  memory.peak 150 MiB since the start: 41.5. */
    s = bounds_sample(layout, p1, c1, M(100) / KiB, M(8), 10);
    g_assert_cmpuint(s.must_fit, ==, M(11));
    g_assert_cmpuint(s.bound, ==, M(120) - M(100) - M(8) - 512 * KiB);
    g_assert_cmpstr(s.bound_source, ==, "memory.current");
    g_assert_true(s.has_memory_peak);
    cal_result_add(res, &s);
    g_assert_cmpuint(res->bound_peak.bound, ==, M(150) - M(100) - M(8) - 512 * KiB);
    g_assert_cmpstr(res->bound_peak.bound_source, ==, "memory.peak");
    g_assert_cmpuint(cal_result_peak_overhead(res), ==, res->bound_peak.bound);

    /* memory.peak rose to 250 MiB with 200 MiB of guest RAM now resident; the page cache of
     * the sample before (8 MiB) is larger than this one's (2 MiB) and counts: 39.5 MiB, below
     * the 41.5 of the first peak. */
    s = bounds_sample(layout, p2, c2, M(200) / KiB, M(2), 20);
    g_assert_cmpuint(s.bound, ==, M(215) - M(200) - M(2) - 512 * KiB);
    cal_result_add(res, &s);
    g_assert_cmpuint(res->last.bound, ==, M(250) - M(200) - M(8) - 512 * KiB);
    g_assert_cmpstr(res->last.bound_source, ==, "memory.peak");
    g_assert_cmpuint(res->bound_peak.t_ms, ==, 10);

    /* memory.peak did not move: only memory.current's bound. */
    s = bounds_sample(layout, p2, c2, M(200) / KiB, M(2), 30);
    cal_result_add(res, &s);
    g_assert_cmpuint(res->last.bound, ==, M(215) - M(200) - M(2) - 512 * KiB);
    g_assert_cmpstr(res->last.bound_source, ==, "memory.current");

    /* No memory.peak (Linux < 5.19) and memory.current below what the smaps saw later. */
    s = bounds_sample(layout, NULL, c1, M(200) / KiB, M(2), 40);
    g_assert_false(s.has_memory_peak);
    g_assert_cmpuint(s.bound, ==, 0);
    g_assert_null(s.bound_source);
    cal_result_add(res, &s);
    g_assert_cmpuint(res->last.bound, ==, 0);

    /* The overhead peak is the largest of must_fit and the bounds. */
    g_assert_cmpuint(res->peak.must_fit, ==, M(11));
    g_assert_cmpuint(cal_result_peak_overhead(res), ==, M(150) - M(100) - M(8) - 512 * KiB);
}

static void
test_layout(void)
{
    const char *const dimm[] = {
        "-m",      "1G,slots=2,maxmem=4G",
        "-object", "memory-backend-file,id=d,size=2G,mem-path=/dev/shm/d,share=on",
        "-device", "pc-dimm,memdev=d",
        NULL};
    const char *const probe[] = {"-machine", "none", NULL};
    static const char *const no_mounts[] = {NULL};
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, no_mounts);
    g_autoptr(GPtrArray) layout = layout_of(dimm);
    g_autoptr(VmSpec) spec = NULL;
    g_autoptr(GError) error = NULL;
    GPtrArray *none = NULL;
    const CalRamBlock *b;

    g_assert_cmpuint(layout->len, ==, 2);
    b = g_ptr_array_index(layout, 0);
    g_assert_cmpstr(b->label, ==, "-m");
    g_assert_cmpuint(b->size, ==, GiB);
    g_assert_null(b->path);
    b = g_ptr_array_index(layout, 1);
    g_assert_cmpstr(b->label, ==, "d");
    g_assert_cmpuint(b->size, ==, 2 * GiB);
    g_assert_cmpstr(b->path, ==, "/dev/shm/d");
    g_assert_cmpint(b->kind, ==, VM_RAM_SHMEM);

    g_assert_cmpint(vm_spec_parse(2, probe, host, &spec, NULL, NULL), ==, 0);
    g_assert_cmpint(cal_layout_from_spec(spec, &none, &error), ==, -EINVAL);
    g_assert_null(none);
}

/* ---- JSON ---- */

static void
test_json(void)
{
    const char *const argv[] = {KVM_TOUCHER, "-name", "guest=web\"1", "-m", "256", NULL};
    static const char *const mounts[] = {NULL};
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, mounts);
    g_autoptr(VmSpec) spec = NULL;
    g_autoptr(Envelope) e = NULL;
    g_autoptr(GPtrArray) layout = layout_of(argv);
    g_autoptr(CalResult) res = cal_result_new();
    g_autofree char *before = NULL, *after = NULL;
    const char *quiet = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n";

    g_assert_cmpint(vm_spec_parse(G_N_ELEMENTS(argv) - 1, argv, host, &spec, NULL, NULL), ==, 0);
    g_assert_cmpint(envelope_compute(spec, host, NULL, NULL, NULL, &e, NULL), ==, 0);

    /* Before any sample: every figure null, the envelope there. */
    before = cal_result_to_json(res, e, spec);
    assert_json_valid(before);
    g_assert_nonnull(strstr(before, "\n  \"finished\": false,\n  \"samples\": 0,\n"));
    g_assert_nonnull(strstr(before, "\n  \"must_fit\": null,\n"));
    g_assert_nonnull(strstr(before, "\n    \"ratio\": null\n  },\n"));
    g_assert_nonnull(strstr(before, "\n  \"envelope\": {\n    \"vm\": {\n      \"name\": "
                                    "\"web\\\"1\",\n"));

    feed(res, layout, "kvm-256", "sample-000");
    feed(res, layout, "kvm-256", "sample-006");
    g_assert_cmpint(cal_result_finish(res, "377184256", quiet, "1341128704", 0, 21000, NULL), ==,
                    0);
    after = cal_result_to_json(res, e, spec);
    assert_json_valid(after);
    assert_json_u64_or_null(after, "samples", TRUE, 1);
    assert_json_u64_or_null(after, "samples_skipped", TRUE, 1);
    assert_json_u64_or_null(after, "duration_ms", TRUE, 21000);
    assert_json_u64_or_null(after, "interval_ms", FALSE, 0);
    assert_json_u64_or_null(after, "qemu_exit_status", TRUE, 0);
    assert_json_u64_or_null(after, "memory_peak", TRUE, 377184256);
    assert_json_u64_or_null(after, "memory_peak_minus_guest", TRUE, 377184256 - 96468992);
    assert_json_u64_or_null(after, "memory_max", TRUE, 1341128704);
    g_assert_nonnull(strstr(after, "\n  \"must_fit\": {\n"
                                   "    \"peak\": 14983448,\n"
                                   "    \"at_ms\": 16725,\n"
                                   "    \"anon\": 13586432,\n"
                                   "    \"tcg_cache\": 0,\n"
                                   "    \"kernel\": 1397016,\n"
                                   "    \"pagetables\": 520192,\n"
                                   "    \"sec_pagetables\": 32768,\n"
                                   "    \"slab\": 158400,\n"
                                   "    \"percpu\": 0,\n"
                                   "    \"kernel_stack\": 32768,\n"
                                   "    \"kernel_other\": 652888,\n"
                                   "    \"sock\": 0,\n"
                                   "    \"shmem\": 0\n"
                                   "  },\n"));
    assert_json_u64_or_null(after, "peak_overhead", TRUE, 14983448);
    g_assert_nonnull(strstr(after, "\n  \"bound\": {\n"
                                   "    \"peak\": 8368408,\n"
                                   "    \"at_ms\": 16725,\n"
                                   "    \"source\": \"memory.current\",\n"
                                   "    \"precharge\": 0\n"
                                   "  },\n"));
    g_assert_nonnull(strstr(after, "\n  \"reclaimable\": {\n"
                                   "    \"peak\": 95399656,\n"
                                   "    \"at_ms\": 16725,\n"
                                   "    \"slab_reclaimable\": 409320,\n"
                                   "    \"file_dirty\": 0,\n"
                                   "    \"file_writeback\": 0\n"
                                   "  },\n"));
    g_assert_nonnull(strstr(after, "\n  \"guest\": {\n"
                                   "    \"ram\": 268435456,\n"
                                   "    \"resident_peak\": 96468992,\n"
                                   "    \"anon\": 96468992,\n"
                                   "    \"shmem\": 0,\n"
                                   "    \"file\": 0,\n"
                                   "    \"resident_end\": 96468992,\n"
                                   "    \"hugetlb_ram\": 0,\n"
                                   "    \"hugetlb_resident_peak\": 0\n"
                                   "  },\n"));
    g_assert_nonnull(strstr(after, "\n    \"memory_current\": 200237056\n  },\n"));
    g_assert_nonnull(strstr(after, "\n  \"events\": {\n    \"max\": 0,\n    \"oom\": 0,\n"
                                   "    \"oom_kill\": 0\n  },\n"));
    /* Model v2 for 256 MiB, 1 vCPU, THP "always": 33 MiB + 512 KiB + 786432 = 35913728;
     * 35913728 / 14983448 = 2.396... */
    g_assert_cmpuint(e->overhead, ==, 35913728);
    g_assert_nonnull(strstr(after, "\n  \"budget\": {\n    \"overhead\": 35913728,\n"
                                   "    \"ratio\": 2.40\n  },\n"));
}

/* ---- the calibration scope's plan ---- */

typedef struct {
    uint64_t guest_ram, overhead, memory_max;
} CeilingRow;

static const CeilingRow ceiling_rows[] = {
    /* 4 x 74.6 MiB is below 1 GiB: the floor. */
    {256 * MiB, 78184448, 256 * MiB + GiB},
    {GiB, 300 * MiB, GiB + 1200 * MiB},
    /* Rounded up to whole pages. */
    {GiB, 300 * MiB + 1, GiB + 1200 * MiB + 4 * KiB},
    {UINT64_MAX - GiB, 1, 0},
};

static void
test_ceiling(gconstpointer data)
{
    const CeilingRow *row = data;
    Envelope e = {.guest_ram = row->guest_ram,
                  .overhead = row->overhead,
                  .memory_high = 900 * MiB,
                  .swap_max = GiB,
                  .memory_low = row->guest_ram,
                  .oom_group = true};
    g_autoptr(Config) config = config_new_default();
    g_autoptr(CgroupPlan) plan = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *max = g_strdup_printf("%" G_GUINT64_FORMAT, row->memory_max);
    static const char *const files[] = {"memory.oom.group", "memory.swap.max", "memory.high",
                                        "memory.max"};
    const char *values[] = {"1", "0", "max", max};

    if (!row->memory_max) {
        g_assert_cmpint(cgroup_plan_new_calibrate(&e, config, "c", &plan, &error), ==, -ERANGE);
        g_assert_null(plan);
        return;
    }
    /* The policy's high, swap and protection do not reach the calibration scope. */
    g_assert_cmpint(cgroup_plan_new_calibrate(&e, config, "c", &plan, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpstr(plan->path, ==, "vmmem.slice/vmmem-c.scope");
    g_assert_cmpuint(plan->writes->len, ==, G_N_ELEMENTS(files));
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->writes, i);
        g_assert_cmpstr(w->file, ==, files[i]);
        g_assert_cmpstr(w->value, ==, values[i]);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(recorded_rows); i++) {
        g_autofree char *path = g_strdup_printf("/calibrate/recorded/%s/%s",
                                                recorded_rows[i].config, recorded_rows[i].sample);
        g_test_add_data_func(path, &recorded_rows[i], test_recorded);
    }
    g_test_add_func("/calibrate/series", test_series);
    g_test_add_func("/calibrate/series-skips", test_series_skips);
    g_test_add_func("/calibrate/finish-refusals", test_finish_refusals);
    g_test_add_func("/calibrate/stat/old-kernel", test_stat_old_kernel);
    g_test_add_func("/calibrate/stat/refusals", test_stat_refusals);
    for (size_t i = 0; i < G_N_ELEMENTS(maps_rows); i++) {
        g_autofree char *path = g_strdup_printf("/calibrate/maps/%s", maps_rows[i].desc);
        g_test_add_data_func(path, &maps_rows[i], test_maps);
    }
    g_test_add_func("/calibrate/maps/refusals", test_maps_refusals);
    g_test_add_func("/calibrate/sample-differences", test_sample_differences);
    g_test_add_func("/calibrate/bounds", test_bounds);
    g_test_add_func("/calibrate/layout", test_layout);
    g_test_add_func("/calibrate/json", test_json);
    for (size_t i = 0; i < G_N_ELEMENTS(ceiling_rows); i++) {
        g_autofree char *path = g_strdup_printf("/calibrate/ceiling/%zu", i);
        g_test_add_data_func(path, &ceiling_rows[i], test_ceiling);
    }
    return g_test_run();
}
