/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The overhead model: a VM spec, host facts and a policy in, exact bytes per term out. */
#include <glib.h>
#include <string.h>

#include "error.h"
#include "overhead.h"
#include "size.h"

#define MAX_DISKS  4
#define MAX_VIDEOS 6
#define MAX_TERMS  16

typedef struct {
    const char *format;
    bool direct;
    uint64_t qcow2_cache;
} DiskRow;

typedef struct {
    const char *model;
    uint64_t vram;
} VideoRow;

typedef struct {
    const char *name;
    uint64_t bytes;
} TermRow;

typedef struct {
    const char *desc;
    uint64_t guest_ram, hugetlb_ram;
    unsigned vcpus, maxcpus;
    VmAccel accel;
    uint64_t tb_size;
    uint64_t physmem;
    unsigned iothreads, nics, net_queues, vfio;
    bool vnc, spice, gui;
    DiskRow disks[MAX_DISKS];
    VideoRow videos[MAX_VIDEOS];
    Policy policy; /* ratio 0 means 1.0 */
    uint64_t total;
    TermRow terms[MAX_TERMS];
} OverheadRow;

static void
disk_free(gpointer p)
{
    VmDisk *d = p;

    g_free(d->node_name);
    g_free(d->format);
    g_free(d);
}

static void
video_free(gpointer p)
{
    VmVideo *v = p;

    g_free(v->model);
    g_free(v);
}

/* The test owns these specs; it frees them itself rather than through vm-spec.c. */
typedef VmSpec TestSpec;

static void
spec_free(TestSpec *spec)
{
    g_ptr_array_unref(spec->disks);
    g_ptr_array_unref(spec->videos);
    g_free(spec);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestSpec, spec_free)

static VmSpec *
spec_from_row(const OverheadRow *row)
{
    VmSpec *spec = g_new0(VmSpec, 1);

    spec->guest_ram = row->guest_ram;
    spec->ram_size = row->guest_ram;
    spec->hugetlb_ram = row->hugetlb_ram;
    spec->vcpus = row->vcpus;
    spec->maxcpus = row->maxcpus;
    spec->accel = row->accel;
    spec->tb_size = row->tb_size;
    spec->iothreads = row->iothreads;
    spec->nics = row->nics;
    spec->net_queues = row->net_queues;
    spec->vfio = row->vfio;
    spec->vnc = row->vnc;
    spec->spice = row->spice;
    spec->gui = row->gui;
    spec->disks = g_ptr_array_new_with_free_func(disk_free);
    spec->videos = g_ptr_array_new_with_free_func(video_free);
    for (size_t i = 0; i < MAX_DISKS && row->disks[i].format; i++) {
        VmDisk *d = g_new0(VmDisk, 1);
        /* "?" stands for a disk whose format qemu probes. */
        d->format = strcmp(row->disks[i].format, "?") ? g_strdup(row->disks[i].format) : NULL;
        d->direct = row->disks[i].direct;
        d->qcow2_cache = row->disks[i].qcow2_cache;
        g_ptr_array_add(spec->disks, d);
    }
    for (size_t i = 0; i < MAX_VIDEOS && row->videos[i].model; i++) {
        VmVideo *v = g_new0(VmVideo, 1);
        v->model = g_strdup(row->videos[i].model);
        v->vram_bytes = row->videos[i].vram;
        g_ptr_array_add(spec->videos, v);
    }
    return spec;
}

static void
policy_from_row(const OverheadRow *row, Policy *policy)
{
    *policy = row->policy;
    if (policy->ratio == 0)
        policy->ratio = 1.0;
}

/* 1% of 1 GiB = 10737418.24 -> 10737419 -> 2622 pages. */
#define K1G          UINT64_C(10739712)
#define BASE         (64 * MiB)
#define MIN_VM_TOTAL (BASE + 8 * MiB + K1G)

static const OverheadRow rows[] = {
    {
        .desc = "minimal kvm",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .physmem = 24 * GiB,
        .total = MIN_VM_TOTAL,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", K1G}},
    },
    {
        .desc = "accel other is modelled like kvm",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_OTHER,
        .total = MIN_VM_TOTAL,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", K1G}},
    },
    {
        /* The testbed's VM: 256 MiB, TCG, 24 GiB host: 3 GiB / 8 caps at 1 GiB. */
        .desc = "tcg default cache on a big host",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .physmem = 24 * GiB,
        .total = BASE + 8 * MiB + 2686976 + 1 * GiB,
        .terms =
            {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", 2686976}, {"tcg_tb", 1 * GiB}},
    },
    {
        .desc = "tcg default cache on a 2 GiB host is an eighth of it",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .physmem = 2 * GiB,
        .total = BASE + 8 * MiB + 2686976 + 256 * MiB,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 8 * MiB},
                  {"kernel_ram", 2686976},
                  {"tcg_tb", 256 * MiB}},
    },
    {
        /* (1.5 GiB + 12345) / 8 = 201328134, aligned down to 201326592. */
        .desc = "tcg eighth of host RAM is aligned down to a page",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .physmem = 1536 * MiB + 12345,
        .total = BASE + 8 * MiB + 2686976 + 192 * MiB,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 8 * MiB},
                  {"kernel_ram", 2686976},
                  {"tcg_tb", 192 * MiB}},
    },
    {
        .desc = "tcg host RAM unknown: qemu's 1 GiB",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .physmem = 0,
        .total = BASE + 8 * MiB + 2686976 + 1 * GiB,
        .terms =
            {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", 2686976}, {"tcg_tb", 1 * GiB}},
    },
    {
        .desc = "tcg tiny host clamps to 1 MiB",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .physmem = 4 * MiB,
        .total = BASE + 8 * MiB + 2686976 + 1 * MiB,
        .terms =
            {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", 2686976}, {"tcg_tb", 1 * MiB}},
    },
    {
        .desc = "tcg tb-size given",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .tb_size = 64 * MiB,
        .physmem = 24 * GiB,
        .total = BASE + 8 * MiB + 2686976 + 64 * MiB,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 8 * MiB},
                  {"kernel_ram", 2686976},
                  {"tcg_tb", 64 * MiB}},
    },
    {
        .desc = "tcg tb-size below the minimum",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .tb_size = 512 * KiB,
        .physmem = 24 * GiB,
        .total = BASE + 8 * MiB + 2686976 + 1 * MiB,
        .terms =
            {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", 2686976}, {"tcg_tb", 1 * MiB}},
    },
    {
        .desc = "tcg tb-size above the x86-64 maximum",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .tb_size = 4 * GiB,
        .physmem = 24 * GiB,
        .total = BASE + 8 * MiB + 2686976 + 2 * GiB,
        .terms =
            {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", 2686976}, {"tcg_tb", 2 * GiB}},
    },
    {
        .desc = "vcpus counted over maxcpus",
        .guest_ram = 1 * GiB,
        .vcpus = 2,
        .maxcpus = 16,
        .accel = VM_ACCEL_KVM,
        .total = BASE + 128 * MiB + K1G,
        .terms = {{"qemu_base", BASE}, {"vcpus", 128 * MiB}, {"kernel_ram", K1G}},
    },
    {
        /* 1% of 2 GiB = 21474836.48 -> 21474837 -> 5243 pages. */
        .desc = "hugetlb RAM still costs kernel memory",
        .guest_ram = 0,
        .hugetlb_ram = 2 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .total = BASE + 8 * MiB + 21475328,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", 21475328}},
    },
    {
        /* 1% of 100 bytes is exactly one byte, one page. */
        .desc = "kernel_ram rounds up to a page",
        .guest_ram = 100,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .total = BASE + 8 * MiB + 4096,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", 4096}},
    },
    {
        .desc = "every device term",
        .guest_ram = 4 * GiB,
        .vcpus = 2,
        .maxcpus = 4,
        .accel = VM_ACCEL_KVM,
        .iothreads = 2,
        .nics = 2,
        .net_queues = 6,
        .vfio = 1,
        .vnc = true,
        .disks = {{"qcow2", true, 0}, {"?", false, 0}, {"raw", true, 0}, {"qcow2", true, 4 * MiB}},
        .videos = {{"VGA", 0}},
        .total = UINT64_C(1364680704),
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 32 * MiB},
                  {"kernel_ram", 42950656},
                  {"iothreads", 16 * MiB},
                  {"video", 16 * MiB},
                  {"display", 32 * MiB},
                  {"disks", 2 * (32 * MiB + 256 * KiB) + 4 * MiB},
                  {"nics", 8 * MiB},
                  {"vfio", 1 * GiB}},
    },
    {
        .desc = "video defaults by model",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .videos = {{"qxl-vga", 0},
                   {"virtio-vga", 0},
                   {"ramfb", 0},
                   {"cirrus-vga", 8 * MiB},
                   {"frobnicator", 0},
                   {"virtio-gpu-pci", 0}},
        .total = MIN_VM_TOTAL + 176 * MiB,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 8 * MiB},
                  {"kernel_ram", K1G},
                  {"video", (128 + 16 + 0 + 8 + 16 + 8) * MiB}},
    },
    {
        .desc = "more video defaults",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .videos = {{"vmware-svga", 0},
                   {"cirrus-vga", 0},
                   {"bochs-display", 0},
                   {"qxl", 0},
                   {"isa-vga", 0}},
        .total = MIN_VM_TOTAL + (16 * MiB + 64 * KiB) + (4 + 16 + 128 + 8) * MiB,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 8 * MiB},
                  {"kernel_ram", K1G},
                  {"video", (16 * MiB + 64 * KiB) + (4 + 16 + 128 + 8) * MiB}},
    },
    {
        .desc = "a video size that is not whole pages is rounded up",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .videos = {{"VGA", 1000}},
        .total = MIN_VM_TOTAL + 4096,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", K1G}, {"video", 4096}},
    },
    {
        .desc = "spice and gui share one display budget",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .spice = true,
        .gui = true,
        .total = MIN_VM_TOTAL + 32 * MiB,
        .terms =
            {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", K1G}, {"display", 32 * MiB}},
    },
    {
        .desc = "raw buffered disks cost nothing but are listed",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .disks = {{"raw", false, 0}, {"vmdk", false, 0}},
        .total = MIN_VM_TOTAL,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", K1G}, {"disks", 0}},
    },
    {
        .desc = "one queue per nic adds nothing",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .nics = 3,
        .net_queues = 3,
        .total = MIN_VM_TOTAL + 6 * MiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", K1G}, {"nics", 6 * MiB}},
    },
    {
        .desc = "vfio is flat",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .vfio = 3,
        .total = MIN_VM_TOTAL + 1 * GiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", K1G}, {"vfio", 1 * GiB}},
    },
    {
        .desc = "ratio 1.5",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 1.5},
        .total = MIN_VM_TOTAL + MIN_VM_TOTAL / 2,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 8 * MiB},
                  {"kernel_ram", K1G},
                  {"policy_ratio", MIN_VM_TOTAL / 2}},
    },
    {
        /* 86237184 x 0.1 = 8623718.4 -> 8623719 -> 2106 pages; no binary 1.1 error. */
        .desc = "ratio 1.1 is exact to the byte, then whole pages",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 1.1},
        .total = MIN_VM_TOTAL + 8626176,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 8 * MiB},
                  {"kernel_ram", K1G},
                  {"policy_ratio", 8626176}},
    },
    {
        .desc = "overhead-min raises",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 1.0, .overhead_min = 256 * MiB},
        .total = 256 * MiB,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 8 * MiB},
                  {"kernel_ram", K1G},
                  {"policy_min", 256 * MiB - MIN_VM_TOTAL}},
    },
    {
        /* 100000000 rounds up to 100003840. */
        .desc = "overhead-min is rounded up to a page",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 1.0, .overhead_min = 100000000},
        .total = 100003840,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 8 * MiB},
                  {"kernel_ram", K1G},
                  {"policy_min", 100003840 - MIN_VM_TOTAL}},
    },
    {
        .desc = "overhead-min below the estimate does nothing",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 1.0, .overhead_min = 16 * MiB, .overhead_max = 1 * GiB},
        .total = MIN_VM_TOTAL,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", K1G}},
    },
    {
        .desc = "overhead-max caps: the terms keep the estimate",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 1.0, .overhead_max = 64 * MiB},
        .total = 64 * MiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", K1G}, {"policy_max", 0}},
    },
    {
        .desc = "ratio then overhead-max",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 2.0, .overhead_max = 128 * MiB},
        .total = 128 * MiB,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 8 * MiB},
                  {"kernel_ram", K1G},
                  {"policy_ratio", MIN_VM_TOTAL},
                  {"policy_max", 0}},
    },
};

static void
test_row(gconstpointer data)
{
    const OverheadRow *row = data;
    g_autoptr(TestSpec) spec = spec_from_row(row);
    HostInfo host = {.physmem = row->physmem};
    g_autoptr(Overhead) o = NULL;
    g_autoptr(GError) error = NULL;
    uint64_t sum = 0;
    size_t n = 0;
    Policy policy;

    policy_from_row(row, &policy);
    g_assert_cmpint(overhead_compute(spec, &host, &policy, &o, &error), ==, 0);
    g_assert_no_error(error);
    while (n < MAX_TERMS && row->terms[n].name)
        n++;
    g_assert_cmpuint(o->terms->len, ==, n);
    for (size_t i = 0; i < n; i++) {
        const OverheadTerm *t = &g_array_index(o->terms, OverheadTerm, i);
        g_assert_cmpstr(t->name, ==, row->terms[i].name);
        g_assert_cmpuint(t->bytes, ==, row->terms[i].bytes);
        g_assert_cmpuint(t->bytes % 4096, ==, 0);
        g_assert_nonnull(t->source);
        g_assert_cmpuint(strlen(t->source), >, 10);
        g_assert_null(strchr(t->source, '\n'));
        sum += t->bytes;
    }
    g_assert_cmpuint(o->total, ==, row->total);
    g_assert_cmpuint(o->total % 4096, ==, 0);
    /* The one documented exception to "the terms add up to the total". */
    if (n && strcmp(row->terms[n - 1].name, "policy_max") == 0)
        g_assert_cmpuint(sum, >, o->total);
    else
        g_assert_cmpuint(sum, ==, o->total);
}

/* Without a policy: the bare model, and no host facts at all. */
static void
test_no_policy_no_host(void)
{
    static const OverheadRow row = {
        .guest_ram = 256 * MiB, .vcpus = 1, .maxcpus = 0, .accel = VM_ACCEL_TCG};
    g_autoptr(TestSpec) spec = spec_from_row(&row);
    g_autoptr(Overhead) o = NULL;

    g_assert_cmpint(overhead_compute(spec, NULL, NULL, &o, NULL), ==, 0);
    g_assert_cmpuint(o->terms->len, ==, 4);
    /* maxcpus 0 still counts the started vCPU. */
    g_assert_cmpuint(g_array_index(o->terms, OverheadTerm, 1).bytes, ==, 8 * MiB);
    g_assert_cmpuint(g_array_index(o->terms, OverheadTerm, 3).bytes, ==, 1 * GiB);
    g_assert_cmpuint(o->total, ==, BASE + 8 * MiB + 2686976 + 1 * GiB);
}

static void
test_sources_name_inputs(void)
{
    static const OverheadRow row = {.guest_ram = 4 * GiB,
                                    .vcpus = 2,
                                    .maxcpus = 4,
                                    .accel = VM_ACCEL_TCG,
                                    .physmem = 24 * GiB,
                                    .nics = 1,
                                    .net_queues = 1,
                                    .vfio = 1,
                                    .disks = {{"raw", false, 0}}};
    g_autoptr(TestSpec) spec = spec_from_row(&row);
    HostInfo host = {.physmem = row.physmem};
    g_autoptr(Overhead) o = NULL;
    static const struct {
        const char *term;
        const char *needle;
    } expect[] = {
        {"vcpus", "4 maxcpus"},  {"kernel_ram", "4 GiB"},  {"tcg_tb", "24 GiB"},
        {"disks", "page cache"}, {"disks", "memory.high"}, {"nics", "docs/measurements.md"},
        {"vfio", "pinned"},
    };

    g_assert_cmpint(overhead_compute(spec, &host, NULL, &o, NULL), ==, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(expect); i++) {
        bool found = false;
        for (guint j = 0; j < o->terms->len; j++) {
            const OverheadTerm *t = &g_array_index(o->terms, OverheadTerm, j);
            if (strcmp(t->name, expect[i].term) == 0) {
                found = true;
                if (!strstr(t->source, expect[i].needle))
                    g_error("%s: '%s' lacks '%s'", t->name, t->source, expect[i].needle);
            }
        }
        g_assert_true(found);
    }
}

typedef struct {
    const char *desc;
    OverheadRow row;
    int expect;
} FailRow;

static const FailRow fail_rows[] = {
    {"guest + hugetlb overflows",
     {.guest_ram = UINT64_MAX, .hugetlb_ram = 1, .vcpus = 1, .maxcpus = 1},
     -ERANGE},
    {"video size overflows a page",
     {.guest_ram = GiB, .vcpus = 1, .maxcpus = 1, .videos = {{"VGA", UINT64_MAX}}},
     -ERANGE},
    {"video sum overflows",
     {.guest_ram = GiB,
      .vcpus = 1,
      .maxcpus = 1,
      .videos = {{"VGA", UINT64_MAX / 2}, {"VGA", UINT64_MAX / 2 + 4096}}},
     -ERANGE},
    {"disk caches overflow",
     {.guest_ram = GiB,
      .vcpus = 1,
      .maxcpus = 1,
      .disks = {{"qcow2", true, UINT64_MAX - 10}, {"qcow2", true, 20}}},
     -ERANGE},
    {"ratio overflows",
     {.guest_ram = UINT64_C(1) << 62, .vcpus = 1, .maxcpus = 1, .policy = {.ratio = 1000}},
     -ERANGE},
    {"ratio below 1",
     {.guest_ram = GiB, .vcpus = 1, .maxcpus = 1, .policy = {.ratio = 0.5}},
     -EINVAL},
    {"ratio above 1000",
     {.guest_ram = GiB, .vcpus = 1, .maxcpus = 1, .policy = {.ratio = 1001}},
     -EINVAL},
};

static void
test_fail(gconstpointer data)
{
    const FailRow *f = data;
    g_autoptr(TestSpec) spec = spec_from_row(&f->row);
    g_autoptr(Overhead) o = NULL;
    g_autoptr(GError) error = NULL;
    Policy policy;

    policy_from_row(&f->row, &policy);
    g_assert_cmpint(overhead_compute(spec, NULL, &policy, &o, &error), ==, f->expect);
    g_assert_null(o);
    g_assert_error(error, VMMEM_ERROR, -f->expect);
    g_assert_null(strchr(error->message, '\n'));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        g_autofree char *path = g_strdup_printf("/overhead/row/%s", rows[i].desc);
        g_test_add_data_func(path, &rows[i], test_row);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(fail_rows); i++) {
        g_autofree char *path = g_strdup_printf("/overhead/fail/%s", fail_rows[i].desc);
        g_test_add_data_func(path, &fail_rows[i], test_fail);
    }
    g_test_add_func("/overhead/no-policy-no-host", test_no_policy_no_host);
    g_test_add_func("/overhead/sources-name-inputs", test_sources_name_inputs);
    return g_test_run();
}
