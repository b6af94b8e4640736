/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The overhead model, v1 (docs/overhead-model.md).  One function per term; each states its
 * formula with the actual inputs and the reference it rests on, so `vmmem explain` can show why
 * every byte is there.  "anchors §N" below is a section of the project's research note
 * overhead-anchors.md (shared/reference/), which gives each figure's repository, file and commit.
 */
#include <math.h>
#include <string.h>

#include "error.h"
#include "overhead.h"
#include "size.h"

#define PAGE_BYTES (4 * KiB)

/* Fixed QEMU process cost (binary, libraries, heap, threads' stacks of an idle VM).
 * oVirt engine VmOverheadCalculatorImpl.java getStaticOverheadInMb: fixed 64 (x86); Virtuozzo
 * vcmmd vcmmd/ve/vm.py VE.VM.MemOverhead default 64 MiB (anchors §7.3, §7.5).  KubeVirt budgets
 * QemuOverhead 50Mi after CI overruns of 30Mi (kubevirt PR #18388, commit c822873795, anchors
 * §1.4).  Testbed: a 256 MiB -mem-prealloc TCG guest reached memory.current 306 MB, 38 MB over
 * its RAM of which 17 MB file (shared/reference/testbed.md). */
#define QEMU_BASE_BYTES (64 * MiB)

/* Per vCPU thread (stack, vCPU state, KVM run area).  KubeVirt pkg/hypervisor/kvm/
 * hypervisorbackend.go GetMemoryOverhead "8Mi * nvcpu"; oVirt VmOverheadCalculatorImpl
 * "8·nCPUs" (anchors §1.2, §7.3).  Counted over maxcpus as EVE's cpuVMMOverhead uses
 * max(maxCpus, vcpus) (lf-edge/eve pkg/pillar/hypervisor/vmm_overhead.go, anchors §3.1). */
#define VCPU_BYTES (8 * MiB)

/* Kernel memory that grows with guest RAM and is charged to the cgroup (page tables, KVM
 * MMU/EPT, slab): 0.75-0.94 % of the limit in Harvester OOM logs (harvester-develop-summary
 * oom-related-issue-investigation.md, harvester#2419; anchors §8.5); ESXi sample table 0.74 %,
 * XenServer 0.78 % (anchors §5, §7.1).  Rounded up to 1 %. */
#define KERNEL_RAM_PERCENT 1

/* TCG translation cache, QEMU tcg/region.c tcg_region_init() (QEMU 6.1+; 5.1 "accel/tcg:
 * better handle memory constrained systems", Alex Bennée 2020-07): tb-size if given, else
 * min(DEFAULT_CODE_GEN_BUFFER_SIZE = 1 GiB, host RAM / 8 aligned down to a page), then clamped
 * to [MIN_CODE_GEN_BUFFER_SIZE = 1 MiB, MAX_CODE_GEN_BUFFER_SIZE = 2 GiB on x86-64]
 * (anchors §8.3). */
#define TCG_TB_DEFAULT_BYTES (1 * GiB)
#define TCG_TB_MIN_BYTES     (1 * MiB)
#define TCG_TB_MAX_BYTES     (2 * GiB)

/* Per iothread: oVirt VmOverheadCalculatorImpl "8·nIoThreads"; KubeVirt a flat 8Mi "static
 * overhead for IOThread" (anchors §1.2, §7.3). */
#define IOTHREAD_BYTES (8 * MiB)

/* A display server keeps its own copy of the framebuffer (VNC's server-side surface).  KubeVirt
 * budgets 32Mi for graphics since v1.6.0, commit 314fd5cfe8 "to reduce OOM risks" (anchors
 * §1.4). */
#define DISPLAY_BYTES (32 * MiB)

/* qcow2 metadata caches, QEMU docs/qcow2-cache.txt: the L2 cache defaults to at most 32 MiB on
 * Linux (enough for a 256 GiB image), the refcount cache to 4 clusters = 256 KiB with 64 KiB
 * clusters (anchors §8.4).  Per disk, since the image size is not known here. */
#define QCOW2_L2_CACHE_BYTES       (32 * MiB)
#define QCOW2_REFCOUNT_CACHE_BYTES (256 * KiB)

/* v1 estimate, calibrated in docs/measurements.md: no public per-NIC figure exists (anchors
 * §8.6).  The lead replaces these with the VM measurement. */
#define NIC_BYTES       (2 * MiB)
#define NIC_QUEUE_BYTES (1 * MiB)

/* VFIO: libvirt qemuDomainGetMemLockLimitBytes() adds 1 GiB to guest RAM ("originates from x86
 * systems where it was used as space reserved for the MMIO region",
 * https://www.redhat.com/archives/libvir-list/2015-November/msg00329.html); KubeVirt adds 1Gi
 * for any VFIO device (anchors §1.2, §4.1). */
#define VFIO_BYTES (1 * GiB)

/* Returns 1 with *ret_bytes and *ret_source set when the term applies to @spec, 0 when it does
 * not, -errno on overflow. */
typedef int (*TermFunc)(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes,
                        char **ret_source, GError **error);

static int
fail_overflow(GError **error, const char *what)
{
    return vmmem_fail(error, ERANGE, "the %s overhead does not fit in 64 bits", what);
}

static char *
fmt(uint64_t bytes)
{
    return vmmem_format_size(bytes);
}

static int
term_qemu_base(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes, char **ret_source,
               GError **error)
{
    *ret_bytes = QEMU_BASE_BYTES;
    *ret_source = g_strdup("64 MiB fixed QEMU process cost: oVirt VmOverheadCalculatorImpl and "
                           "Virtuozzo vcmmd budget 64 MiB, KubeVirt QemuOverhead 50 MiB after CI "
                           "overruns (PR #18388); testbed measured 38 MB over RAM for a 256 MiB "
                           "TCG guest");
    return 1;
}

static int
term_vcpus(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes, char **ret_source,
           GError **error)
{
    unsigned n = MAX(spec->vcpus, spec->maxcpus);

    *ret_bytes = (uint64_t)n * VCPU_BYTES;
    *ret_source = g_strdup_printf("8 MiB x %u maxcpus (%u started): KubeVirt and oVirt budget "
                                  "8 MiB per vCPU; maxcpus because hotplugged vCPUs add threads "
                                  "without a relaunch, as EVE counts max(maxCpus, vcpus)",
                                  n, spec->vcpus);
    return 1;
}

static int
term_kernel_ram(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes, char **ret_source,
                GError **error)
{
    g_autofree char *ram = NULL, *huge = NULL;
    uint64_t total, pct;

    if (!g_uint64_checked_add(&total, spec->guest_ram, spec->hugetlb_ram))
        return fail_overflow(error, "kernel_ram");
    /* Divide first: total * 1 / 100 rounded up, without an overflowing product. */
    pct = total / 100 * KERNEL_RAM_PERCENT + (total % 100 * KERNEL_RAM_PERCENT + 99) / 100;
    if (!overhead_round_up_page(pct, ret_bytes))
        return fail_overflow(error, "kernel_ram");
    ram = fmt(spec->guest_ram);
    huge = fmt(spec->hugetlb_ram);
    *ret_source = g_strdup_printf(
        "1%% of guest RAM (%s + %s hugetlb), rounded up to 4 KiB: page tables, KVM MMU and slab "
        "charged to the cgroup, measured 0.75-0.94%% in Harvester OOM logs; ESXi 0.74%%, "
        "XenServer 0.78%% (overhead-anchors.md 8.5)",
        ram, huge);
    return 1;
}

static uint64_t
tcg_tb_bytes(const VmSpec *spec, const HostInfo *host)
{
    uint64_t tb = spec->tb_size;

    if (tb == 0) {
        uint64_t physmem = host ? host->physmem : 0;
        tb = physmem ? MIN(TCG_TB_DEFAULT_BYTES, physmem / 8 & ~(PAGE_BYTES - 1))
                     : TCG_TB_DEFAULT_BYTES;
    }
    return CLAMP(tb, TCG_TB_MIN_BYTES, TCG_TB_MAX_BYTES);
}

static int
term_tcg_tb(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes, char **ret_source,
            GError **error)
{
    g_autofree char *size = NULL, *physmem = NULL;

    if (spec->accel != VM_ACCEL_TCG)
        return 0;
    *ret_bytes = tcg_tb_bytes(spec, host);
    size = fmt(*ret_bytes);
    if (spec->tb_size) {
        g_autofree char *given = fmt(spec->tb_size);
        *ret_source = g_strdup_printf("TCG translation cache %s: -accel tcg,tb-size=%s clamped "
                                      "to [1 MiB, 2 GiB] (QEMU tcg/region.c)",
                                      size, given);
        return 1;
    }
    physmem = fmt(host ? host->physmem : 0);
    *ret_source = g_strdup_printf("TCG translation cache %s: QEMU's default min(1 GiB, host RAM "
                                  "%s / 8) (tcg/region.c, QEMU 5.1 \"accel/tcg: better handle "
                                  "memory constrained systems\"); fills up over time and stays "
                                  "resident; set -accel tcg,tb-size= to bound it",
                                  size, physmem);
    return 1;
}

static int
term_iothreads(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes, char **ret_source,
               GError **error)
{
    if (spec->iothreads == 0)
        return 0;
    *ret_bytes = (uint64_t)spec->iothreads * IOTHREAD_BYTES;
    *ret_source = g_strdup_printf("8 MiB x %u iothreads (oVirt 8 MiB per iothread; KubeVirt 8 "
                                  "MiB)",
                                  spec->iothreads);
    return 1;
}

/* Device RAM that QEMU allocates for each display device with its default properties: the
 * "-device MODEL,help" defaults of QEMU 7.2 (Debian 12) and the hw/display sources. */
typedef struct {
    const char *model;
    bool prefix; /* matches every model that starts with @model */
    uint64_t bytes;
    const char *why;
} VideoDefault;

static const VideoDefault video_defaults[] = {
    /* hw/display/vga-pci.c, vga-isa.c: vgamem_mb (default 16, isa-vga 8) is the VGA RAM. */
    {"VGA", false, 16 * MiB, "vgamem_mb=16"},
    {"secondary-vga", false, 16 * MiB, "vgamem_mb=16"},
    {"isa-vga", false, 8 * MiB, "vgamem_mb=8"},
    {"ati-vga", false, 16 * MiB, "vgamem_mb=16"},
    /* hw/display/bochs-display.c: vgamem=16M. */
    {"bochs-display", false, 16 * MiB, "vgamem=16M"},
    /* hw/display/cirrus_vga.c, cirrus_vga_isa.c: vgamem_mb=4. */
    {"cirrus-vga", false, 4 * MiB, "vgamem_mb=4"},
    {"isa-cirrus-vga", false, 4 * MiB, "vgamem_mb=4"},
    /* hw/display/qxl.c qxl_properties and qxl_init_ramsize(): ram_size=64M is bar 0 and holds
     * the vgamem_mb=16 framebuffer as its first part; vram_size=64M is a second RAM bar. */
    {"qxl", false, 128 * MiB, "ram_size=64M (vgamem_mb=16 inside it) + vram_size=64M"},
    {"qxl-vga", false, 128 * MiB, "ram_size=64M (vgamem_mb=16 inside it) + vram_size=64M"},
    /* hw/display/vmware_vga.c: vgamem_mb=16 plus the SVGA_FIFO_SIZE (0x10000) command FIFO. */
    {"vmware-svga", false, 16 * MiB + 64 * KiB, "vgamem_mb=16 + 64 KiB FIFO"},
    /* hw/display/ramfb.c: the framebuffer lives in guest RAM and is mapped, not copied. */
    {"ramfb", false, 0, "framebuffer in guest RAM (hw/display/ramfb.c)"},
    /* hw/display/virtio-vga.c: vram_size_mb = 8 of VGA compat RAM, plus guest 2D resources that
     * QEMU holds host-side up to max_hostmem (256 MiB default).  v1 estimate for the resources:
     * two scanouts at the default xres=1280 x yres=800 x 4 bytes = 7.8 MiB -> 8 MiB. */
    {"virtio-vga", true, 16 * MiB,
     "8 MiB VGA compat RAM + 8 MiB for two 1280x800 scanout resources (estimate; QEMU allows "
     "up to max_hostmem=256M)"},
    {"vhost-user-vga", false, 8 * MiB,
     "8 MiB VGA compat RAM; resources live in the vhost-user-gpu process"},
    {"virtio-gpu", true, 8 * MiB,
     "8 MiB for two 1280x800 scanout resources (estimate; QEMU allows up to max_hostmem=256M)"},
    {"vhost-user-gpu", true, 0, "resources live in the vhost-user-gpu process"},
};

/* A display device this table does not know is charged like a default VGA. */
static const VideoDefault video_unknown = {NULL, false, 16 * MiB,
                                           "unknown model, charged like "
                                           "VGA vgamem_mb=16"};

static const VideoDefault *
video_default(const char *model)
{
    for (size_t i = 0; model && i < G_N_ELEMENTS(video_defaults); i++) {
        const VideoDefault *d = &video_defaults[i];
        if (d->prefix ? g_str_has_prefix(model, d->model) : strcmp(model, d->model) == 0)
            return d;
    }
    return &video_unknown;
}

static int
term_video(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes, char **ret_source,
           GError **error)
{
    g_autoptr(GString) why = NULL;
    uint64_t total = 0;

    if (!spec->videos || spec->videos->len == 0)
        return 0;
    why = g_string_new(NULL);
    for (guint i = 0; i < spec->videos->len; i++) {
        const VmVideo *v = g_ptr_array_index(spec->videos, i);
        const VideoDefault *d = video_default(v->model);
        uint64_t bytes = v->vram_bytes ? v->vram_bytes : d->bytes;
        g_autofree char *size = fmt(bytes);

        if (!g_uint64_checked_add(&total, total, bytes))
            return fail_overflow(error, "video");
        g_string_append_printf(why, "%s%s %s (%s)", i ? " + " : "", v->model ? v->model : "?", size,
                               v->vram_bytes ? "sizes given on the command line" : d->why);
    }
    if (!overhead_round_up_page(total, ret_bytes))
        return fail_overflow(error, "video");
    g_string_append(why, ": device RAM at QEMU 7.2 defaults (-device MODEL,help; hw/display/*.c)");
    *ret_source = g_string_free(g_steal_pointer(&why), FALSE);
    return 1;
}

static int
term_display(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes, char **ret_source,
             GError **error)
{
    g_autoptr(GString) which = NULL;

    if (!spec->vnc && !spec->spice && !spec->gui)
        return 0;
    which = g_string_new(NULL);
    if (spec->vnc)
        g_string_append(which, "vnc ");
    if (spec->spice)
        g_string_append(which, "spice ");
    if (spec->gui)
        g_string_append(which, "gui ");
    g_string_truncate(which, which->len - 1);
    *ret_bytes = DISPLAY_BYTES;
    *ret_source = g_strdup_printf("32 MiB for the display server (%s): it keeps its own copy "
                                  "of the framebuffer; KubeVirt budgets 32 MiB for graphics "
                                  "since v1.6.0 (314fd5cfe8)",
                                  which->str);
    return 1;
}

static bool
disk_has_qcow2_cache(const VmDisk *d)
{
    /* A disk without a format is probed by QEMU and may well be qcow2. */
    return !d->format || strcmp(d->format, "qcow2") == 0;
}

static int
term_disks(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes, char **ret_source,
           GError **error)
{
    const uint64_t dflt = QCOW2_L2_CACHE_BYTES + QCOW2_REFCOUNT_CACHE_BYTES;
    unsigned n_default = 0, n_given = 0, n_other = 0, n_buffered = 0;
    uint64_t given = 0, total;
    g_autoptr(GString) why = NULL;

    if (!spec->disks || spec->disks->len == 0)
        return 0;
    for (guint i = 0; i < spec->disks->len; i++) {
        const VmDisk *d = g_ptr_array_index(spec->disks, i);

        if (!d->direct)
            n_buffered++;
        if (!disk_has_qcow2_cache(d))
            n_other++;
        else if (d->qcow2_cache == 0)
            n_default++;
        else if (!g_uint64_checked_add(&given, given, d->qcow2_cache))
            return fail_overflow(error, "disks");
        else
            n_given++;
    }
    if (!g_uint64_checked_add(&total, (uint64_t)n_default * dflt, given) ||
        !overhead_round_up_page(total, ret_bytes))
        return fail_overflow(error, "disks");

    why = g_string_new("qcow2 metadata cache");
    if (n_default)
        g_string_append_printf(why,
                               "; %u qcow2 or probed disk(s) x 32.25 MiB (QEMU "
                               "docs/qcow2-cache.txt: L2 cache up to 32 MiB on Linux + "
                               "refcount cache 4 clusters = 256 KiB)",
                               n_default);
    if (n_given) {
        g_autofree char *size = fmt(given);
        g_string_append_printf(why, "; %u qcow2 disk(s) with cache sizes given: %s", n_given, size);
    }
    if (n_other)
        g_string_append_printf(why, "; %u disk(s) of another format: no cache modelled", n_other);
    if (n_buffered)
        g_string_append_printf(why,
                               "; %u disk(s) without O_DIRECT get no budget for the host "
                               "page cache: it is charged to the scope but reclaimable, and "
                               "memory.high (high=) makes the kernel reclaim it before "
                               "memory.max",
                               n_buffered);
    *ret_source = g_string_free(g_steal_pointer(&why), FALSE);
    return 1;
}

static int
term_nics(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes, char **ret_source,
          GError **error)
{
    unsigned extra;

    if (spec->nics == 0)
        return 0;
    extra = spec->net_queues > spec->nics ? spec->net_queues - spec->nics : 0;
    *ret_bytes = (uint64_t)spec->nics * NIC_BYTES + (uint64_t)extra * NIC_QUEUE_BYTES;
    *ret_source = g_strdup_printf("2 MiB x %u NIC(s) + 1 MiB x %u extra queue(s): v1 estimate, "
                                  "no public figure; calibrated in docs/measurements.md",
                                  spec->nics, extra);
    return 1;
}

static int
term_vfio(const VmSpec *spec, const HostInfo *host, uint64_t *ret_bytes, char **ret_source,
          GError **error)
{
    if (spec->vfio == 0)
        return 0;
    *ret_bytes = VFIO_BYTES;
    *ret_source = g_strdup_printf("1 GiB flat for %u VFIO device(s): libvirt "
                                  "qemuDomainGetMemLockLimitBytes() and KubeVirt add 1 GiB "
                                  "(libvir-list 2015-11/msg00329); guest RAM is pinned, so it is "
                                  "neither reclaimable nor swappable",
                                  spec->vfio);
    return 1;
}

static const struct {
    const char *name;
    TermFunc fn;
} overhead_terms[] = {
    {"qemu_base", term_qemu_base}, {"vcpus", term_vcpus},         {"kernel_ram", term_kernel_ram},
    {"tcg_tb", term_tcg_tb},       {"iothreads", term_iothreads}, {"video", term_video},
    {"display", term_display},     {"disks", term_disks},         {"nics", term_nics},
    {"vfio", term_vfio},
};

static void
term_clear(gpointer p)
{
    g_free(((OverheadTerm *)p)->source);
}

static Overhead *
overhead_new(void)
{
    Overhead *o = g_new0(Overhead, 1);

    o->terms = g_array_new(FALSE, TRUE, sizeof(OverheadTerm));
    g_array_set_clear_func(o->terms, term_clear);
    return o;
}

Overhead *
overhead_free(Overhead *overhead)
{
    if (overhead) {
        g_array_unref(overhead->terms);
        g_free(overhead);
    }
    return NULL;
}

/* Takes @source. */
static int
add_term(Overhead *o, const char *name, uint64_t bytes, char *source, GError **error)
{
    OverheadTerm t = {.name = name, .bytes = bytes, .source = source};

    g_array_append_val(o->terms, t);
    if (!g_uint64_checked_add(&o->total, o->total, bytes))
        return fail_overflow(error, "total");
    return 0;
}

static int
apply_ratio(Overhead *o, double ratio, GError **error)
{
    /* check_policy() bounds the ratio; libm is not linked. */
    uint64_t ppm = (uint64_t)((ratio - 1.0) * (double)VMMEM_POLICY_PPM + 0.5);
    unsigned __int128 scaled;
    uint64_t extra;
    g_autofree char *base = NULL;

    if (ppm == 0)
        return 0;
    scaled = ((unsigned __int128)o->total * ppm + VMMEM_POLICY_PPM - 1) / VMMEM_POLICY_PPM;
    if (scaled > UINT64_MAX || !overhead_round_up_page((uint64_t)scaled, &extra))
        return fail_overflow(error, "policy_ratio");
    base = fmt(o->total);
    return add_term(o, "policy_ratio", extra,
                    g_strdup_printf("%s x (ratio %.6g - 1), rounded up to 4 KiB: host policy, "
                                    "as KubeVirt's additionalGuestMemoryOverheadRatio",
                                    base, ratio),
                    error);
}

static int
apply_clamps(Overhead *o, const Policy *policy, GError **error)
{
    uint64_t min, max;
    g_autofree char *from = NULL, *to = NULL;

    if (!overhead_round_up_page(policy->overhead_min, &min) ||
        !overhead_round_up_page(policy->overhead_max, &max))
        return fail_overflow(error, "policy clamp");
    if (o->total < min) {
        from = fmt(o->total);
        to = fmt(min);
        return add_term(
            o, "policy_min", min - o->total,
            g_strdup_printf("raised from %s to overhead-min %s (host policy)", from, to), error);
    }
    if (max && o->total > max) {
        from = fmt(o->total);
        to = fmt(max);
        /* Bytes cannot go negative: the terms keep the uncapped estimate and the total is the
         * cap (overhead.h). */
        add_term(o, "policy_max", 0,
                 g_strdup_printf("capped from %s to overhead-max %s (host policy): the terms "
                                 "above add up to the uncapped estimate",
                                 from, to),
                 NULL);
        o->total = max;
    }
    return 0;
}

static int
check_policy(const Policy *policy, GError **error)
{
    if (!isfinite(policy->ratio) || policy->ratio < 1.0 || policy->ratio > VMMEM_RATIO_MAX)
        return vmmem_fail(error, EINVAL, "overhead ratio %g is not between 1 and %g", policy->ratio,
                          VMMEM_RATIO_MAX);
    return 0;
}

int
overhead_compute(const VmSpec *spec, const HostInfo *host, const Policy *policy,
                 Overhead **ret_overhead, GError **error)
{
    g_autoptr(Overhead) o = overhead_new();
    int r;

    if (policy && (r = check_policy(policy, error)) < 0)
        return r;
    for (size_t i = 0; i < G_N_ELEMENTS(overhead_terms); i++) {
        uint64_t bytes = 0;
        char *source = NULL;

        r = overhead_terms[i].fn(spec, host, &bytes, &source, error);
        if (r < 0)
            return r;
        if (r == 0)
            continue;
        /* Every term is whole pages, so the total is too. */
        if (!overhead_round_up_page(bytes, &bytes)) {
            g_free(source);
            return fail_overflow(error, overhead_terms[i].name);
        }
        r = add_term(o, overhead_terms[i].name, bytes, source, error);
        if (r < 0)
            return r;
    }
    if (policy) {
        r = apply_ratio(o, policy->ratio, error);
        if (r == 0)
            r = apply_clamps(o, policy, error);
        if (r < 0)
            return r;
    }
    *ret_overhead = g_steal_pointer(&o);
    return 0;
}
