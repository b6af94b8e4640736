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
    uint64_t qxl_ram;
    unsigned xres, yres;
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
    HostThp thp;
    uint64_t tb_size;
    uint64_t physmem;
    unsigned iothreads, nics, net_queues, net_user, vfio;
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
    g_free(d->path);
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
    spec->net_user = row->net_user;
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
        v->qxl_ram = row->videos[i].qxl_ram;
        v->xres = row->videos[i].xres;
        v->yres = row->videos[i].yres;
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

/* Model v2's arithmetic, spelled out.  THP "always" (the zero HostInfo) puts qemu's heap in
 * 2 MiB pages: base 33 MiB; with THP madvise or never, 20 MiB. */
#define BASE     (33 * MiB)
#define BASE_OFF (20 * MiB)
#define VCPU     (512 * KiB)
/* kernel_ram with THP "always": max(3 MiB per GiB, 4.5 MiB per GiB - 13 MiB), which is the
 * first below 8 2/3 GiB: 1 GiB -> 3145728, 256 MiB -> 786432, 4 GiB -> 12582912.  Without:
 * 4.5 MiB per GiB, 1 GiB -> 4718592. */
#define K1G          UINT64_C(3145728)
#define K1G_4K       UINT64_C(4718592)
#define K256M        UINT64_C(786432)
#define MIN_VM_TOTAL (BASE + VCPU + K1G)
/* TCG beside its cache: 24 MiB + 8 MiB per vCPU. */
#define TCG_RT1 (32 * MiB)
/* A 1280x800 framebuffer (EDID's preferred mode) is 4096000 bytes, a 1024x768 one 3145728. */
#define FB_EDID   UINT64_C(4096000)
#define FB_LEGACY UINT64_C(3145728)
/* An unreadable qcow2 image: the 32 MiB L2 cache and 4 refcount clusters of 64 KiB; and every
 * qcow2 image's 3 MiB for allocating clusters. */
#define QCOW2_UNKNOWN (32 * MiB + 256 * KiB)
#define QCOW2_IMAGE   (3 * MiB)

static const OverheadRow rows[] = {
    {
        .desc = "minimal kvm",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .physmem = 24 * GiB,
        .total = MIN_VM_TOTAL,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}},
    },
    {
        .desc = "thp madvise: a smaller base",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .thp = HOST_THP_MADVISE,
        .total = BASE_OFF + VCPU + K1G_4K,
        .terms = {{"qemu_base", BASE_OFF}, {"vcpus", VCPU}, {"kernel_ram", K1G_4K}},
    },
    {
        .desc = "thp never: a smaller base",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .thp = HOST_THP_NEVER,
        .total = BASE_OFF + VCPU + K1G_4K,
        .terms = {{"qemu_base", BASE_OFF}, {"vcpus", VCPU}, {"kernel_ram", K1G_4K}},
    },
    {
        /* 16 GiB: 4.5 x 16 - 13 = 59 MiB beats 3 x 16 = 48 MiB. */
        .desc = "thp always, a large guest: the 4 KiB case less the heap's huge pages",
        .guest_ram = 16 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .total = BASE + VCPU + 59 * MiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", 59 * MiB}},
    },
    {
        /* 8 GiB: 36 - 13 = 23 < 24. */
        .desc = "thp always, 8 GiB: still 3 MiB per GiB",
        .guest_ram = 8 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .total = BASE + VCPU + 24 * MiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", 24 * MiB}},
    },
    {
        .desc = "accel other is modelled like kvm",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_OTHER,
        .total = MIN_VM_TOTAL,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}},
    },
    {
        /* The testbed's VM: 256 MiB, TCG, 24 GiB host: 3 GiB / 8 caps at 1 GiB. */
        .desc = "tcg default cache on a big host",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .physmem = 24 * GiB,
        .total = BASE + VCPU + K256M + 1 * GiB + TCG_RT1,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", VCPU},
                  {"kernel_ram", K256M},
                  {"tcg_tb", 1 * GiB},
                  {"tcg_runtime", TCG_RT1}},
    },
    {
        .desc = "tcg default cache on a 2 GiB host is an eighth of it",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .physmem = 2 * GiB,
        .total = BASE + VCPU + K256M + 256 * MiB + TCG_RT1,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", VCPU},
                  {"kernel_ram", K256M},
                  {"tcg_tb", 256 * MiB},
                  {"tcg_runtime", TCG_RT1}},
    },
    {
        /* (1.5 GiB + 12345) / 8 = 201328134, aligned down to 201326592. */
        .desc = "tcg eighth of host RAM is aligned down to a page",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .physmem = 1536 * MiB + 12345,
        .total = BASE + VCPU + K256M + 192 * MiB + TCG_RT1,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", VCPU},
                  {"kernel_ram", K256M},
                  {"tcg_tb", 192 * MiB},
                  {"tcg_runtime", TCG_RT1}},
    },
    {
        .desc = "tcg host RAM unknown: qemu's 1 GiB",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .physmem = 0,
        .total = BASE + VCPU + K256M + 1 * GiB + TCG_RT1,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", VCPU},
                  {"kernel_ram", K256M},
                  {"tcg_tb", 1 * GiB},
                  {"tcg_runtime", TCG_RT1}},
    },
    {
        .desc = "tcg tiny host clamps to 1 MiB",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .physmem = 4 * MiB,
        .total = BASE + VCPU + K256M + 1 * MiB + TCG_RT1,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", VCPU},
                  {"kernel_ram", K256M},
                  {"tcg_tb", 1 * MiB},
                  {"tcg_runtime", TCG_RT1}},
    },
    {
        .desc = "tcg tb-size given, runtime per vcpu over maxcpus",
        .guest_ram = 256 * MiB,
        .vcpus = 2,
        .maxcpus = 4,
        .accel = VM_ACCEL_TCG,
        .tb_size = 64 * MiB,
        .physmem = 24 * GiB,
        .total = BASE + 4 * VCPU + K256M + 64 * MiB + 56 * MiB,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 4 * VCPU},
                  {"kernel_ram", K256M},
                  {"tcg_tb", 64 * MiB},
                  {"tcg_runtime", 56 * MiB}},
    },
    {
        .desc = "tcg tb-size below the minimum",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .tb_size = 512 * KiB,
        .physmem = 24 * GiB,
        .total = BASE + VCPU + K256M + 1 * MiB + TCG_RT1,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", VCPU},
                  {"kernel_ram", K256M},
                  {"tcg_tb", 1 * MiB},
                  {"tcg_runtime", TCG_RT1}},
    },
    {
        .desc = "tcg tb-size above the x86-64 maximum",
        .guest_ram = 256 * MiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_TCG,
        .tb_size = 4 * GiB,
        .physmem = 24 * GiB,
        .total = BASE + VCPU + K256M + 2 * GiB + TCG_RT1,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", VCPU},
                  {"kernel_ram", K256M},
                  {"tcg_tb", 2 * GiB},
                  {"tcg_runtime", TCG_RT1}},
    },
    {
        .desc = "vcpus counted over maxcpus",
        .guest_ram = 1 * GiB,
        .vcpus = 2,
        .maxcpus = 16,
        .accel = VM_ACCEL_KVM,
        .total = BASE + 8 * MiB + K1G,
        .terms = {{"qemu_base", BASE}, {"vcpus", 8 * MiB}, {"kernel_ram", K1G}},
    },
    {
        /* 2 GiB / 512 = 4 MiB at 3 MiB per GiB = 12288 bytes, 3 pages. */
        .desc = "hugetlb RAM costs a 512th of its kernel memory",
        .guest_ram = 0,
        .hugetlb_ram = 2 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .total = BASE + VCPU + 12288,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", 12288}},
    },
    {
        /* 100 x 3 MiB / GiB = 0.29 bytes: one byte rounded up, then one page. */
        .desc = "kernel_ram rounds up to a page",
        .guest_ram = 100,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .total = BASE + VCPU + 4096,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", 4096}},
    },
    {
        /* disks: a qcow2 and a probed image vmmem could not read get the most, a qcow2 with
         * l2-cache-size 4 MiB that plus 4 clusters, the raw disk nothing; 1 MiB each.  nics:
         * 2 x 1 MiB + 4 extra queues x 512 KiB + one user backend 1.5 MiB + its sockets 6 MiB. */
        .desc = "every device term",
        .guest_ram = 4 * GiB,
        .vcpus = 2,
        .maxcpus = 4,
        .accel = VM_ACCEL_KVM,
        .iothreads = 2,
        .nics = 2,
        .net_queues = 6,
        .net_user = 1,
        .vfio = 1,
        .vnc = true,
        .disks = {{"qcow2", true, 0}, {"?", false, 0}, {"raw", true, 0}, {"qcow2", true, 4 * MiB}},
        .videos = {{"VGA", 0}},
        .total = BASE + 4 * VCPU + 12582912 + 2 * MiB + 2 * FB_EDID + FB_EDID + 8 * MiB +
                 2 * QCOW2_UNKNOWN + 4 * MiB + 256 * KiB + 3 * QCOW2_IMAGE + 4 * MiB + 11 * MiB +
                 512 * KiB + 1 * GiB,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", 4 * VCPU},
                  {"kernel_ram", 12582912},
                  {"iothreads", 2 * MiB},
                  {"video", 2 * FB_EDID},
                  {"display", FB_EDID + 8 * MiB},
                  {"disks", 2 * QCOW2_UNKNOWN + 4 * MiB + 256 * KiB + 3 * QCOW2_IMAGE + 4 * MiB},
                  {"nics", 11 * MiB + 512 * KiB},
                  {"vfio", 1 * GiB}},
    },
    {
        /* qxl-vga: its 64 MiB bar 0 + two 1024x768 screens; virtio-vga, an unknown model and
         * virtio-gpu-pci: two 1280x800 screens; ramfb: nothing in qemu; cirrus-vga with 8 MiB:
         * two 1024x768 screens. */
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
        .total = MIN_VM_TOTAL + 64 * MiB + 2 * FB_LEGACY + 3 * 2 * FB_EDID + 2 * FB_LEGACY,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", VCPU},
                  {"kernel_ram", K1G},
                  {"video", 64 * MiB + 2 * FB_LEGACY + 3 * 2 * FB_EDID + 2 * FB_LEGACY}},
    },
    {
        /* vmware-svga and isa-vga: two 1024x768 screens; cirrus-vga: its 4 MiB; bochs-display:
         * two 1280x800; qxl: 64 MiB + two 1024x768. */
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
        .total = MIN_VM_TOTAL + 2 * FB_LEGACY + 4 * MiB + 2 * FB_EDID + 64 * MiB + 2 * FB_LEGACY +
                 2 * FB_LEGACY,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", VCPU},
                  {"kernel_ram", K1G},
                  {"video", 2 * FB_LEGACY + 4 * MiB + 2 * FB_EDID + 64 * MiB + 2 * FB_LEGACY +
                                2 * FB_LEGACY}},
    },
    {
        .desc = "video RAM that is not whole pages is rounded up",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .videos = {{"VGA", 1000}},
        .total = MIN_VM_TOTAL + 4096,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}, {"video", 4096}},
    },
    {
        /* No display device: no screen copy, 8 MiB for the GUI's client side, 16 for SPICE. */
        .desc = "spice and gui without a display device",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .spice = true,
        .gui = true,
        .total = MIN_VM_TOTAL + 24 * MiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}, {"display", 24 * MiB}},
    },
    {
        .desc = "buffered raw and vmdk disks: 1 MiB each, their page cache reclaimable",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .disks = {{"raw", false, 0}, {"vmdk", false, 0}},
        .total = MIN_VM_TOTAL + 2 * MiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}, {"disks", 2 * MiB}},
    },
    {
        .desc = "one queue per nic adds nothing",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .nics = 3,
        .net_queues = 3,
        .total = MIN_VM_TOTAL + 3 * MiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}, {"nics", 3 * MiB}},
    },
    {
        /* 2 x 1 MiB + 2 x 1.5 MiB of slirp + 6 MiB of socket buffers, once. */
        .desc = "user networking: slirp per backend, its sockets once",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .nics = 2,
        .net_queues = 2,
        .net_user = 2,
        .total = MIN_VM_TOTAL + 11 * MiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}, {"nics", 11 * MiB}},
    },
    {
        /* A user backend on a hub with no card (-net user alone) still runs slirp: its queue
         * (512 KiB, no card to count it), 1.5 MiB, 6 MiB of sockets. */
        .desc = "a user backend without a card",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .net_queues = 1,
        .net_user = 1,
        .total = MIN_VM_TOTAL + 8 * MiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}, {"nics", 8 * MiB}},
    },
    {
        .desc = "vfio is flat",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .vfio = 3,
        .total = MIN_VM_TOTAL + 1 * GiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}, {"vfio", 1 * GiB}},
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
                  {"vcpus", VCPU},
                  {"kernel_ram", K1G},
                  {"policy_ratio", MIN_VM_TOTAL / 2}},
    },
    {
        /* 38273024 x 0.1 = 3827302.4 -> 3827303 -> 935 pages; no binary 1.1 error. */
        .desc = "ratio 1.1 is exact to the byte, then whole pages",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 1.1},
        .total = MIN_VM_TOTAL + 3829760,
        .terms =
            {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}, {"policy_ratio", 3829760}},
    },
    {
        /* 38297600 x 0.15 = 5742592 exactly, 1440 pages; 0.15 is not exact in binary. */
        .desc = "ratio 1.15 is exact to the byte",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 1.15},
        .total = MIN_VM_TOTAL + 5742592,
        .terms =
            {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}, {"policy_ratio", 5742592}},
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
                  {"vcpus", VCPU},
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
                  {"vcpus", VCPU},
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
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}},
    },
    {
        .desc = "overhead-max caps: the terms keep the estimate",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 1.0, .overhead_max = 32 * MiB},
        .total = 32 * MiB,
        .terms = {{"qemu_base", BASE}, {"vcpus", VCPU}, {"kernel_ram", K1G}, {"policy_max", 0}},
    },
    {
        .desc = "ratio then overhead-max",
        .guest_ram = 1 * GiB,
        .vcpus = 1,
        .maxcpus = 1,
        .accel = VM_ACCEL_KVM,
        .policy = {.ratio = 2.0, .overhead_max = 64 * MiB},
        .total = 64 * MiB,
        .terms = {{"qemu_base", BASE},
                  {"vcpus", VCPU},
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
    HostInfo host = {.physmem = row->physmem, .thp = row->thp};
    g_autoptr(Overhead) o = NULL;
    g_autoptr(GError) error = NULL;
    uint64_t sum = 0;
    size_t n = 0;
    Policy policy;

    policy_from_row(row, &policy);
    g_assert_cmpint(overhead_compute(spec, &host, &policy, NULL, &o, &error), ==, 0);
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

/* Without a policy: the bare model, and no host facts at all (THP assumed "always"). */
static void
test_no_policy_no_host(void)
{
    static const OverheadRow row = {
        .guest_ram = 256 * MiB, .vcpus = 1, .maxcpus = 0, .accel = VM_ACCEL_TCG};
    g_autoptr(TestSpec) spec = spec_from_row(&row);
    g_autoptr(Overhead) o = NULL;

    g_assert_cmpint(overhead_compute(spec, NULL, NULL, NULL, &o, NULL), ==, 0);
    g_assert_cmpuint(o->terms->len, ==, 5);
    g_assert_cmpuint(g_array_index(o->terms, OverheadTerm, 0).bytes, ==, BASE);
    /* maxcpus 0 still counts the started vCPU. */
    g_assert_cmpuint(g_array_index(o->terms, OverheadTerm, 1).bytes, ==, VCPU);
    g_assert_cmpuint(g_array_index(o->terms, OverheadTerm, 3).bytes, ==, 1 * GiB);
    g_assert_cmpuint(o->total, ==, BASE + VCPU + K256M + 1 * GiB + TCG_RT1);
}

static const OverheadTerm *
find_term(const Overhead *o, const char *name)
{
    for (guint i = 0; i < o->terms->len; i++) {
        const OverheadTerm *t = &g_array_index(o->terms, OverheadTerm, i);
        if (strcmp(t->name, name) == 0)
            return t;
    }
    return NULL;
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
                                    .vnc = true,
                                    .disks = {{"raw", false, 0}},
                                    .videos = {{"VGA", 0}}};
    g_autoptr(TestSpec) spec = spec_from_row(&row);
    HostInfo host = {.physmem = row.physmem};
    g_autoptr(Overhead) o = NULL;
    static const struct {
        const char *term;
        const char *needle;
    } expect[] = {
        {"qemu_base", "docs/measurements.md"},
        {"vcpus", "4 maxcpus"},
        {"kernel_ram", "4 GiB"},
        {"tcg_tb", "24 GiB"},
        {"tcg_runtime", "4 vCPUs"},
        {"video", "1280x800"},
        {"display", "VNC"},
        {"disks", "page cache"},
        {"nics", "measured"},
        {"vfio", "pinned"},
    };

    g_assert_cmpint(overhead_compute(spec, &host, NULL, NULL, &o, NULL), ==, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(expect); i++) {
        const OverheadTerm *t = find_term(o, expect[i].term);
        g_assert_nonnull(t);
        if (!strstr(t->source, expect[i].needle))
            g_error("%s: '%s' lacks '%s'", t->name, t->source, expect[i].needle);
    }
    /* Every term says what its constant rests on. */
    for (guint i = 0; i < o->terms->len; i++) {
        const OverheadTerm *t = &g_array_index(o->terms, OverheadTerm, i);
        g_assert_true(
            g_strv_contains((const char *const[]){"measured", "qemu", "public", NULL}, t->basis));
    }
    g_assert_cmpstr(find_term(o, "tcg_tb")->basis, ==, "qemu");
    g_assert_cmpstr(find_term(o, "vfio")->basis, ==, "public");
}

/* A preferred mode given on the command line sizes the screen copies. */
static void
test_video_mode_given(void)
{
    static const OverheadRow row = {.guest_ram = 1 * GiB,
                                    .vcpus = 1,
                                    .maxcpus = 1,
                                    .accel = VM_ACCEL_KVM,
                                    .vnc = true,
                                    .videos = {{"virtio-vga", 0}}};
    g_autoptr(TestSpec) spec = spec_from_row(&row);
    g_autoptr(Overhead) o = NULL;
    VmVideo *v = g_ptr_array_index(spec->videos, 0);
    uint64_t fb = 1920 * 1080 * 4;

    v->xres = 1920;
    v->yres = 1080;
    g_assert_cmpint(overhead_compute(spec, NULL, NULL, NULL, &o, NULL), ==, 0);
    g_assert_cmpuint(find_term(o, "video")->bytes, ==, 2 * fb);
    g_assert_cmpuint(find_term(o, "display")->bytes, ==, fb + 8 * MiB);
    g_assert_nonnull(strstr(find_term(o, "video")->source, "1920x1080, xres/yres given"));
}

/* -kernel: a bzImage is kept whole, an ELF kernel's symbol tables are read, an unreadable
 * image gets 16 MiB. */
static void
test_kernel_image(void)
{
    static const struct {
        const char *path;
        HostFile file;
        uint64_t expect;
    } cases[] = {
        {"/boot/bzImage", {.kind = HOST_FILE_BZIMAGE, .size = 8441856 + 100}, 8441856 + 4096},
        {"/boot/vmlinux", {.kind = HOST_FILE_ELF, .size = 60 * MiB, .symbols = 5 * MiB}, 5 * MiB},
        {"/boot/other", {.kind = HOST_FILE_OTHER, .size = 3 * MiB}, 3 * MiB},
        {"/nowhere", {0}, 16 * MiB},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        static const OverheadRow row = {
            .guest_ram = 1 * GiB, .vcpus = 1, .maxcpus = 1, .accel = VM_ACCEL_KVM};
        g_autoptr(TestSpec) spec = spec_from_row(&row);
        g_autoptr(HostInfo) host = host_info_new(0, true, NULL);
        g_autoptr(Overhead) o = NULL;

        spec->kernel = (char *)cases[i].path;
        if (cases[i].file.size)
            host_info_add_file(host, cases[i].path, &cases[i].file);
        g_assert_cmpint(overhead_compute(spec, host, NULL, NULL, &o, NULL), ==, 0);
        spec->kernel = NULL;
        g_assert_cmpuint(find_term(o, "kernel_image")->bytes, ==, cases[i].expect);
        g_assert_cmpstr(find_term(o, "kernel_image")->basis, ==, "qemu");
        g_assert_cmpuint(o->total, ==, MIN_VM_TOTAL + cases[i].expect);
    }
}

static VmDisk *
add_disk(VmSpec *spec, const char *format, const char *path)
{
    VmDisk *d = g_new0(VmDisk, 1);

    d->format = g_strdup(format);
    d->path = g_strdup(path);
    d->direct = true;
    g_ptr_array_add(spec->disks, d);
    return d;
}

/* qcow2 caches from the image headers: the L2 table that covers the whole disk, up to 32 MiB,
 * and 4 refcount clusters, for every image of a backing chain; a probed image by its header. */
static void
test_qcow2_headers(void)
{
    static const OverheadRow row = {
        .guest_ram = 1 * GiB, .vcpus = 1, .maxcpus = 1, .accel = VM_ACCEL_KVM};
    g_autoptr(TestSpec) spec = spec_from_row(&row);
    g_autoptr(HostInfo) host = host_info_new(0, true, NULL);
    g_autoptr(Overhead) o = NULL;
    HostFile top = {.kind = HOST_FILE_QCOW2,
                    .virtual_size = 2 * GiB,
                    .cluster_bits = 16,
                    .backing = (char *)"/img/base.qcow2"};
    HostFile base = {.kind = HOST_FILE_QCOW2, .virtual_size = 256 * GiB, .cluster_bits = 16};
    HostFile big_clusters = {.kind = HOST_FILE_QCOW2, .virtual_size = 64 * GiB, .cluster_bits = 21};
    HostFile sub = {
        .kind = HOST_FILE_QCOW2, .virtual_size = 64 * GiB, .cluster_bits = 16, .extended_l2 = true};
    HostFile raw = {.kind = HOST_FILE_OTHER, .size = 10 * GiB};
    uint64_t expect;

    host_info_add_file(host, "/img/top.qcow2", &top);
    host_info_add_file(host, "/img/base.qcow2", &base);
    host_info_add_file(host, "/img/big.qcow2", &big_clusters);
    host_info_add_file(host, "/img/sub.qcow2", &sub);
    host_info_add_file(host, "/img/probed.raw", &raw);
    host_info_add_file(host, "/img/probed.qcow2", &top);
    add_disk(spec, "qcow2", "/img/top.qcow2");
    add_disk(spec, "qcow2", "/img/big.qcow2");
    add_disk(spec, "qcow2", "/img/sub.qcow2");
    add_disk(spec, NULL, "/img/probed.raw");
    add_disk(spec, NULL, "/img/probed.qcow2");
    g_assert_cmpint(overhead_compute(spec, host, NULL, NULL, &o, NULL), ==, 0);
    /* top: 32768 clusters x 8 B = 256 KiB; base: 32 MiB (the cap); big: 32768 x 8 B rounded up
     * to one 2 MiB cluster, refcount 4 x 2 MiB; sub: 16 B entries, 16 MiB; probed qcow2 with
     * its backing file: top + base again; probed raw: nothing; 1 MiB per disk, 3 MiB per qcow2
     * image. */
    expect = (256 * KiB + 256 * KiB) + (32 * MiB + 256 * KiB) + (2 * MiB + 8 * MiB) +
             (16 * MiB + 256 * KiB) + (256 * KiB + 256 * KiB) + (32 * MiB + 256 * KiB) + 5 * MiB +
             6 * QCOW2_IMAGE;
    g_assert_cmpuint(find_term(o, "disks")->bytes, ==, expect);
    g_assert_nonnull(strstr(find_term(o, "disks")->source, "for 6 qcow2 image(s)"));
    g_assert_null(strstr(find_term(o, "disks")->source, "could not read"));
}

/* A host profile replaces the three fitted terms and says so; the other terms stay built in. */
static void
test_profile_terms(void)
{
    static const OverheadRow row = {.guest_ram = 2 * GiB,
                                    .vcpus = 2,
                                    .maxcpus = 2,
                                    .accel = VM_ACCEL_KVM,
                                    .nics = 1,
                                    .net_queues = 1};
    g_autoptr(TestSpec) spec = spec_from_row(&row);
    g_autoptr(Profile) profile = profile_new(OVERHEAD_MODEL_VERSION, "/usr/bin/qemu-system-x86_64",
                                             "7.2.0", "abcd", "6.1.0-test", "2026-12-03T10:00:00Z");
    g_autoptr(Overhead) o = NULL;

    profile->term[PROFILE_QEMU_BASE] = 40 * MiB;
    profile->term[PROFILE_VCPUS] = 1 * MiB;
    profile->term[PROFILE_KERNEL_RAM] = 2 * MiB;
    g_assert_cmpint(overhead_compute(spec, NULL, NULL, profile, &o, NULL), ==, 0);
    g_assert_cmpuint(find_term(o, "qemu_base")->bytes, ==, 40 * MiB);
    g_assert_cmpuint(find_term(o, "vcpus")->bytes, ==, 2 * MiB);
    g_assert_cmpuint(find_term(o, "kernel_ram")->bytes, ==, 4 * MiB);
    g_assert_cmpuint(find_term(o, "nics")->bytes, ==, 1 * MiB);
    g_assert_cmpuint(o->total, ==, 47 * MiB);
    for (const char *const *n = (const char *const[]){"qemu_base", "vcpus", "kernel_ram", NULL}; *n;
         n++) {
        g_assert_cmpstr(find_term(o, *n)->basis, ==, "profile");
        g_assert_nonnull(strstr(find_term(o, *n)->source, "7.2.0"));
        g_assert_nonnull(strstr(find_term(o, *n)->source, "6.1.0-test"));
    }
    g_assert_cmpstr(find_term(o, "nics")->basis, ==, "measured");
    g_assert_cmpuint(overhead_profile_other(o), ==, 1 * MiB);
}

typedef struct {
    const char *desc;
    OverheadRow row;
    int expect;
} FailRow;

static const FailRow fail_rows[] = {
    {"one disk's l2-cache-size overflows",
     {.guest_ram = GiB, .vcpus = 1, .maxcpus = 1, .disks = {{"qcow2", true, UINT64_MAX - 10}}},
     -ERANGE},
    {"qxl RAM overflows",
     {.guest_ram = GiB, .vcpus = 1, .maxcpus = 1, .videos = {{"qxl-vga", 0, UINT64_MAX - 4096}}},
     -ERANGE},
    {"video sum overflows",
     {.guest_ram = GiB,
      .vcpus = 1,
      .maxcpus = 1,
      .videos = {{"qxl", 0, UINT64_MAX / 2}, {"qxl", 0, UINT64_MAX / 2}}},
     -ERANGE},
    {"a huge mode in huge device RAM overflows",
     {.guest_ram = GiB,
      .vcpus = 1,
      .maxcpus = 1,
      .videos = {{"VGA", UINT64_MAX, 0, UINT32_MAX, UINT32_MAX}}},
     -ERANGE},
    {"a huge mode overflows the display's screen copy",
     {.guest_ram = GiB,
      .vcpus = 1,
      .maxcpus = 1,
      .vnc = true,
      .videos = {{"bochs-display", 4096, 0, UINT32_MAX, UINT32_MAX}}},
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
    g_assert_cmpint(overhead_compute(spec, NULL, &policy, NULL, &o, &error), ==, f->expect);
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
    g_test_add_func("/overhead/video-mode-given", test_video_mode_given);
    g_test_add_func("/overhead/kernel-image", test_kernel_image);
    g_test_add_func("/overhead/qcow2-headers", test_qcow2_headers);
    g_test_add_func("/overhead/profile-terms", test_profile_terms);
    return g_test_run();
}
