/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The overhead model, v2 (docs/overhead-model.md).  One function per term; each states its
 * formula with the actual inputs, where its constant comes from (its basis), and the reference
 * behind it, so `vmmem explain` can show why every byte is there.
 *
 * "measured" constants come from bench/accuracy/measure.py in the test VM (Linux 6.1, QEMU 7.2,
 * nested KVM under TCG; docs/measurements.md, section "Model v2", names each variant and the
 * command that reproduces it).  "anchors §N" is a section of overhead-anchors.md
 * (shared/reference/), which gives each public figure's repository, file and commit. */
#include <math.h>
#include <string.h>

#include "error.h"
#include "overhead.h"
#include "qemu-catalog.h"
#include "size.h"

/* qemu's own process with a q35 machine and its default devices, KVM's per-VM kernel memory,
 * the malloc arenas of its threads: the peak of m-base (256 MiB, 1 vCPU, no devices) less the
 * guest kernel image, one vCPU and 256 MiB of kernel_ram, over every run of the base family
 * (m-base, m-smp*, m-ram*, m-maxcpus*), plus 2 MiB for the spread between runs (glibc's heap
 * lands in one of two sizes; measurements.md, "Noise").  With THP "always" (Debian's default)
 * khugepaged and fault-time huge pages back qemu's heap and arenas with 2 MiB pages: 12 MiB
 * more (m-base vs m-base-thp-madvise). */
#define QEMU_BASE_THP_BYTES (33 * MiB)
#define QEMU_BASE_BYTES     (20 * MiB)

/* Per vCPU: KVM's vcpu, its VMCB/VMCS and MSR pages and the thread's kernel stack (0.24 MiB,
 * memory.stat kernel of m-smp8 vs m-base), the vCPU thread's stack and qemu's CPU state.  The
 * anonymous part is within the noise of m-smp2..8; 512 KiB covers both.  Counted over maxcpus:
 * hot-added vCPUs start threads without a relaunch (m-maxcpus4-hotplug). */
#define VCPU_BYTES (512 * KiB)

/* Per GiB of guest RAM, with 4 KiB pages: qemu's page tables for it (2 MiB) and KVM's
 * secondary (NPT/EPT) page tables (2 MiB), and the rest of KVM's per-page state: m-ram3g-nothp
 * vs m-base-thp-never, 4.3 MiB per GiB.  THP makes both tables 512 times smaller, but a
 * fragmented host falls back to 4 KiB pages: the worst case is budgeted.  Hugetlb RAM is always
 * mapped with huge pages. */
#define KERNEL_RAM_PER_GIB (4608 * KiB)
#define HUGETLB_DIVISOR    512
/* With THP "always", KVM maps guest RAM with 2 MiB pages too, and its nested tables all but
 * vanish: m-ram1g/2g/3g against m-base have pagetables +2 MiB and other kernel memory +1 MiB
 * per GiB, sec_pagetables 0.  A host too fragmented for huge pages falls back to 4 KiB pages
 * for guest RAM (KERNEL_RAM_PER_GIB) and for qemu's heap alike, and the heap's huge pages are
 * what qemu_base's THP share (QEMU_BASE_THP_BYTES - QEMU_BASE_BYTES) pays for: the built-in
 * model budgets the larger of the two cases. */
#define KERNEL_RAM_THP_PER_GIB (3 * MiB)

/* A -kernel image vmmem could not read: qemu keeps a bzImage in memory, whole; distribution
 * kernels are 8 MiB (Debian 12) to 14 MiB (Fedora 39). */
#define KERNEL_IMAGE_UNKNOWN_BYTES (16 * MiB)

/* TCG translation cache, QEMU tcg/region.c tcg_region_init() (QEMU 6.1+; 5.1 "accel/tcg:
 * better handle memory constrained systems", Alex Bennée 2020-07): tb-size if given, else
 * min(DEFAULT_CODE_GEN_BUFFER_SIZE = 1 GiB, host RAM / 8 aligned down to a page), then clamped
 * to [MIN_CODE_GEN_BUFFER_SIZE = 1 MiB, MAX_CODE_GEN_BUFFER_SIZE = 2 GiB on x86-64]
 * (anchors §8.3). */
#define TCG_TB_DEFAULT_BYTES (1 * GiB)
#define TCG_TB_MIN_BYTES     (1 * MiB)
#define TCG_TB_MAX_BYTES     (2 * GiB)

/* TCG beyond its translation cache: the softmmu TLBs of each vCPU (they grow with the guest's
 * working set, up to 2^22 entries per MMU mode) and TCG's own state: m-tcg-* less the cache
 * (tcg_cache) and the KVM terms. */
#define TCG_RUNTIME_BYTES      (24 * MiB)
#define TCG_RUNTIME_VCPU_BYTES (8 * MiB)

/* Per iothread: its thread and AioContext; within the noise of m-iothreads4. */
#define IOTHREAD_BYTES (1 * MiB)

/* Display devices: what the guest's framebuffer at the device's preferred mode touches. */
#define FB_BYTES_PER_PIXEL 4
/* The mode and device RAM defaults are QEMU's (qemu-catalog.h).  qxl: qemu writes its whole
 * bar-0 RAM (ram_size, default 64M): m-qxl-spice had all 64 MiB resident. */

/* A VNC server keeps its own copy of the guest's screen (the framebuffer size) plus, per
 * client, its encoders' state (zlib streams, tight and JPEG buffers), the output buffer and a
 * worker thread: m-vga-vnc vs m-vga-vnc-noclient less the copy. */
#define VNC_CLIENT_BYTES (8 * MiB)
/* The SPICE server's display channel (image caches, compression state, its thread): m-qxl-spice
 * less the qxl device RAM, the framebuffers and m-base at 512 MiB is 12.5 MiB at the largest of
 * three runs; 16 MiB leaves room for a guest that draws more off-screen surfaces (qxl's 64 MiB
 * vram bar is touched only as they are made). */
#define SPICE_BYTES (16 * MiB)

/* qcow2 metadata caches, QEMU block/qcow2.c read_cache_sizes(): the L2 cache is
 * min(l2-cache-size (default 32 MiB on Linux), what covers the whole disk: one 8-byte entry
 * (16 with extended L2) per cluster, rounded up to a cluster); the refcount cache is at least 4
 * clusters (MIN_REFCOUNT_CACHE_SIZE).  Measured resident once the guest has written across the
 * disk: m-qcow2-64g-spread +8 MiB, m-qcow2-256g-spread +32 MiB. */
#define QCOW2_L2_CACHE_MAX      (32 * MiB)
#define QCOW2_DEFAULT_CLUSTER   (64 * KiB)
#define QCOW2_REFCOUNT_CLUSTERS 4
/* Per disk: the device, its request structures and bounce buffers, the thread pool's share
 * (m-raw-directsync and m-iothread-disk against m-base at 512 MiB: within 1 MiB). */
#define DISK_BYTES (1 * MiB)
/* Per qcow2 image beyond its caches: the caches' own tables, the bounce buffers of cluster
 * allocation, the metadata writes in flight.  The database configurations of the matrix
 * (bench/accuracy/configs.py kvm-2g-db-2x256g-qcow2, -4x256g-) peaked 2.4 and 4.5 MiB above
 * the rest of the model with 2 and 4 images written across, 1.1 - 1.2 MiB per image in one run
 * each; 3 MiB leaves room for the spread between runs. */
#define QCOW2_IMAGE_BYTES (3 * MiB)

/* Per NIC: the device and its rings; a tap with vhost-net costs no more (m-nic-tap, within
 * m-base's spread).  Per extra queue: its virtqueue rings and vhost worker (m-nic-tap-mq4). */
#define NIC_BYTES       (1 * MiB)
#define NIC_QUEUE_BYTES (512 * KiB)
/* User networking runs slirp inside qemu: per backend its state (m-nic-user4: anon +3.5 MiB
 * over 4 NICs), and once per VM the socket buffers of the host TCP connections it makes for the
 * guest.  The kernel grows a busy connection's receive buffer up to net.ipv4.tcp_rmem's
 * maximum, 6 MiB by default (Documentation/networking/ip-sysctl.rst); memory.stat sock peaked
 * at 5.4 MiB with one NIC moving 16 MiB (matrix kvm-1g-2cpu-qcow2-nic) and at 5.3 MiB with
 * four NICs moving 16 MiB each one after the other (m-nic-user4). */
#define SLIRP_BYTES      (1536 * KiB)
#define SLIRP_SOCK_BYTES (6 * MiB)

/* VFIO: libvirt qemuDomainGetMemLockLimitBytes() adds 1 GiB to guest RAM ("originates from x86
 * systems where it was used as space reserved for the MMIO region",
 * https://www.redhat.com/archives/libvir-list/2015-November/msg00329.html); KubeVirt adds 1Gi
 * for any VFIO device (anchors §1.2, §4.1). */
#define VFIO_BYTES (1 * GiB)

/* What each term's constant rests on (docs/json.md "basis"). */
#define BASIS_MEASURED "measured"
#define BASIS_QEMU     "qemu"
#define BASIS_PUBLIC   "public"
#define BASIS_PROFILE  "profile"
#define BASIS_POLICY   "policy"

typedef struct {
    const VmSpec *spec;
    const HostInfo *host;
    const Profile *profile; /* applies to this host, or NULL */
} TermCtx;

/* Returns 1 with the term filled when it applies to the VM, 0 when it does not, -errno on
 * overflow. */
typedef int (*TermFunc)(const TermCtx *c, OverheadTerm *ret, GError **error);

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

static bool
host_thp_always(const HostInfo *host)
{
    return !host || host->thp == HOST_THP_ALWAYS;
}

void
overhead_profile_builtins(const HostInfo *host, uint64_t ret[PROFILE_N_TERMS])
{
    ret[PROFILE_QEMU_BASE] = host_thp_always(host) ? QEMU_BASE_THP_BYTES : QEMU_BASE_BYTES;
    ret[PROFILE_VCPUS] = VCPU_BYTES;
    ret[PROFILE_KERNEL_RAM] = KERNEL_RAM_PER_GIB;
}

/* The value of a profile-fitted term, and its basis: the profile's when there is one. */
static uint64_t
fitted(const TermCtx *c, ProfileTerm t, const char **ret_basis, char **ret_from)
{
    uint64_t builtin[PROFILE_N_TERMS];

    overhead_profile_builtins(c->host, builtin);
    if (!c->profile) {
        *ret_basis = BASIS_MEASURED;
        *ret_from = NULL;
        return builtin[t];
    }
    *ret_basis = BASIS_PROFILE;
    *ret_from = profile_describe(c->profile);
    return c->profile->term[t];
}

static int
term_qemu_base(const TermCtx *c, OverheadTerm *t, GError **error)
{
    g_autofree char *from = NULL;
    uint64_t v = fitted(c, PROFILE_QEMU_BASE, &t->basis, &from);
    g_autofree char *size = fmt(v);

    t->bytes = v;
    if (from)
        t->source = g_strdup_printf("%s fixed QEMU and KVM cost, from the %s", size, from);
    else
        t->source = g_strdup_printf(
            "%s fixed QEMU and KVM cost (a q35 machine, its default devices, malloc arenas), "
            "measured in the test VM under KVM with THP %s (docs/measurements.md)",
            size, host_thp_always(c->host) ? "always: qemu's heap in 2 MiB pages" : "off");
    return 1;
}

static int
term_vcpus(const TermCtx *c, OverheadTerm *t, GError **error)
{
    g_autofree char *from = NULL;
    unsigned n = MAX(c->spec->vcpus, c->spec->maxcpus);
    uint64_t per = fitted(c, PROFILE_VCPUS, &t->basis, &from);
    g_autofree char *size = fmt(per);

    if (!g_uint64_checked_mul(&t->bytes, n, per))
        return fail_overflow(error, "vcpus");
    t->source = g_strdup_printf("%s x %u maxcpus (%u started): KVM's vCPU state, the thread and "
                                "qemu's CPU; maxcpus because hot-added vCPUs start threads "
                                "without a relaunch (%s)",
                                size, n, c->spec->vcpus, from ? from : "measured");
    return 1;
}

/* ceil((guest_ram + hugetlb_ram / 512) x per_gib / GiB): whole bytes, computed wide. */
static int
per_gib_bytes(const VmSpec *spec, uint64_t per_gib, uint64_t *ret, GError **error)
{
    unsigned __int128 b =
        ((unsigned __int128)spec->guest_ram * per_gib +
         (unsigned __int128)spec->hugetlb_ram * per_gib / HUGETLB_DIVISOR + GiB - 1) /
        GiB;

    if (b > UINT64_MAX)
        return fail_overflow(error, "kernel_ram");
    *ret = (uint64_t)b;
    return 0;
}

static int
term_kernel_ram(const TermCtx *c, OverheadTerm *t, GError **error)
{
    g_autofree char *from = NULL, *per = NULL, *ram = NULL, *huge = NULL;
    uint64_t per_gib = fitted(c, PROFILE_KERNEL_RAM, &t->basis, &from), small = 0, thp = 0;
    int r;

    r = per_gib_bytes(c->spec, per_gib, &small, error);
    if (r < 0)
        return r;
    per = fmt(per_gib);
    ram = fmt(c->spec->guest_ram);
    huge = fmt(c->spec->hugetlb_ram);
    if (from || !host_thp_always(c->host)) {
        t->bytes = small;
        t->source = g_strdup_printf("%s per GiB of guest RAM (%s, + %s hugetlb at 1/%u): "
                                    "qemu's and KVM's page tables for it with 4 KiB pages (%s)",
                                    per, ram, huge, HUGETLB_DIVISOR, from ? from : "measured");
        return 1;
    }
    r = per_gib_bytes(c->spec, KERNEL_RAM_THP_PER_GIB, &thp, error);
    if (r < 0)
        return r;
    small = small > QEMU_BASE_THP_BYTES - QEMU_BASE_BYTES
                ? small - (QEMU_BASE_THP_BYTES - QEMU_BASE_BYTES)
                : 0;
    t->bytes = MAX(thp, small);
    g_autofree char *thp_per = fmt(KERNEL_RAM_THP_PER_GIB);
    g_autofree char *given_back = fmt(QEMU_BASE_THP_BYTES - QEMU_BASE_BYTES);
    t->source = g_strdup_printf(
        "max(%s per GiB, %s per GiB - %s) of guest RAM (%s, + %s hugetlb at 1/%u): "
        "page tables with THP \"always\"; a host too fragmented for huge pages needs the second "
        "(4 KiB pages), and then qemu's heap gives back the %s qemu_base keeps for its huge "
        "pages (measured)",
        thp_per, per, given_back, ram, huge, HUGETLB_DIVISOR, given_back);
    return 1;
}

static int
term_kernel_image(const TermCtx *c, OverheadTerm *t, GError **error)
{
    const HostFile *f;

    if (!c->spec->kernel)
        return 0;
    f = host_info_file(c->host, c->spec->kernel);
    t->basis = BASIS_QEMU;
    if (!f) {
        g_autofree char *size = fmt(KERNEL_IMAGE_UNKNOWN_BYTES);
        t->bytes = KERNEL_IMAGE_UNKNOWN_BYTES;
        t->source = g_strdup_printf("%s for a -kernel image vmmem could not read: qemu keeps a "
                                    "bzImage whole in memory (hw/i386/x86.c x86_load_linux)",
                                    size);
        return 1;
    }
    if (f->kind == HOST_FILE_ELF) {
        g_autofree char *size = fmt(f->symbols);
        t->bytes = f->symbols;
        t->source = g_strdup_printf("%s: the ELF kernel's symbol tables, which qemu reads into "
                                    "memory; its segments it maps (include/hw/elf_ops.h)",
                                    size);
    } else {
        g_autofree char *size = fmt(f->size);
        t->bytes = f->size;
        t->source = g_strdup_printf("%s: qemu reads the -kernel image whole into memory and keeps "
                                    "it for every reset (hw/i386/x86.c x86_load_linux)",
                                    size);
    }
    return t->bytes > 0;
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
term_tcg_tb(const TermCtx *c, OverheadTerm *t, GError **error)
{
    g_autofree char *size = NULL, *physmem = NULL, *dflt = NULL;

    if (c->spec->accel != VM_ACCEL_TCG)
        return 0;
    t->basis = BASIS_QEMU;
    t->bytes = tcg_tb_bytes(c->spec, c->host);
    size = fmt(t->bytes);
    if (c->spec->tb_size) {
        g_autofree char *given = fmt(c->spec->tb_size);
        g_autofree char *lo = fmt(TCG_TB_MIN_BYTES), *hi = fmt(TCG_TB_MAX_BYTES);
        t->source = g_strdup_printf("TCG translation cache %s: -accel tcg,tb-size=%s clamped "
                                    "to [%s, %s] (QEMU tcg/region.c)",
                                    size, given, lo, hi);
        return 1;
    }
    physmem = fmt(c->host ? c->host->physmem : 0);
    dflt = fmt(TCG_TB_DEFAULT_BYTES);
    t->source = g_strdup_printf("TCG translation cache %s: QEMU's default min(%s, host RAM "
                                "%s / 8) (tcg/region.c, QEMU 5.1 \"accel/tcg: better handle "
                                "memory constrained systems\"); fills up over time and stays "
                                "resident; set -accel tcg,tb-size= to bound it",
                                size, dflt, physmem);
    return 1;
}

static int
term_tcg_runtime(const TermCtx *c, OverheadTerm *t, GError **error)
{
    unsigned n = MAX(c->spec->vcpus, c->spec->maxcpus);
    g_autofree char *fixed = fmt(TCG_RUNTIME_BYTES), *per = fmt(TCG_RUNTIME_VCPU_BYTES);

    if (c->spec->accel != VM_ACCEL_TCG)
        return 0;
    t->basis = BASIS_MEASURED;
    t->bytes = TCG_RUNTIME_BYTES + (uint64_t)n * TCG_RUNTIME_VCPU_BYTES;
    t->source = g_strdup_printf("%s + %s x %u vCPUs: TCG's softmmu TLBs and state beside "
                                "its translation cache (measured)",
                                fixed, per, n);
    return 1;
}

static int
term_iothreads(const TermCtx *c, OverheadTerm *t, GError **error)
{
    if (c->spec->iothreads == 0)
        return 0;
    g_autofree char *each = fmt(IOTHREAD_BYTES);

    t->basis = BASIS_MEASURED;
    t->bytes = (uint64_t)c->spec->iothreads * IOTHREAD_BYTES;
    t->source = g_strdup_printf("%s x %u iothreads: the thread and its AioContext (measured)", each,
                                c->spec->iothreads);
    return 1;
}

/* A display device the catalog does not know is charged like a VGA. */
static const QemuDevice video_unknown = {
    NULL, QEMU_DEV_VIDEO, NULL, QEMU_FB_IN_VRAM, 16 * MiB, true,
};

static const QemuDevice *
video_default(const char *model)
{
    const QemuDevice *d = qemu_catalog_device(model);

    return d && (d->traits & QEMU_DEV_VIDEO) ? d : &video_unknown;
}

/* The framebuffer of the device's preferred mode, in bytes: at most 2^32 x 2^32 x 4, so it is
 * computed wide; the caller checks the sum. */
static unsigned __int128
video_fb(const VmVideo *v, const QemuDevice *d, unsigned *ret_x, unsigned *ret_y)
{
    unsigned x = v->xres ? v->xres : d->edid ? QEMU_EDID_X : QEMU_LEGACY_X;
    unsigned y = v->yres ? v->yres : d->edid ? QEMU_EDID_Y : QEMU_LEGACY_Y;

    *ret_x = x;
    *ret_y = y;
    return (unsigned __int128)x * y * FB_BYTES_PER_PIXEL;
}

/* The guest draws one framebuffer and flips to a second: twice the preferred mode's, within
 * the device RAM it has. */
static unsigned __int128
video_device_bytes(const VmVideo *v, const QemuDevice *d, unsigned __int128 fb)
{
    uint64_t vram = v->vram_bytes ? v->vram_bytes : d->default_vram;

    switch (d->fb) {
    case QEMU_FB_IN_VRAM:
    case QEMU_FB_RESOURCE:
        return MIN(2 * fb, vram);
    case QEMU_FB_QXL:
        return (unsigned __int128)(v->qxl_ram ? v->qxl_ram : QEMU_QXL_RAM_DEFAULT) +
               MIN(2 * fb, d->default_vram);
    case QEMU_FB_NONE:
        break;
    }
    return 0;
}

static int
term_video(const TermCtx *c, OverheadTerm *t, GError **error)
{
    g_autoptr(GString) why = NULL;
    uint64_t total = 0;

    g_autofree char *qxl_ram = fmt(QEMU_QXL_RAM_DEFAULT);

    if (!c->spec->videos || c->spec->videos->len == 0)
        return 0;
    why = g_string_new(NULL);
    for (guint i = 0; i < c->spec->videos->len; i++) {
        const VmVideo *v = g_ptr_array_index(c->spec->videos, i);
        const QemuDevice *d = video_default(v->model);
        unsigned x, y;
        unsigned __int128 bytes = video_device_bytes(v, d, video_fb(v, d, &x, &y));
        g_autofree char *size = NULL;

        if (bytes > UINT64_MAX || !g_uint64_checked_add(&total, total, (uint64_t)bytes))
            return fail_overflow(error, "video");
        size = fmt((uint64_t)bytes);
        g_string_append_printf(
            why, "%s%s %s (%s%s%s at %ux%u%s)", i ? " + " : "", v->model ? v->model : "?", size,
            d->fb == QEMU_FB_NONE  ? "nothing in qemu"
            : d->fb == QEMU_FB_QXL ? "its bar-0 RAM (ram_size, default "
                                   : "two framebuffers",
            d->fb == QEMU_FB_QXL ? qxl_ram : "",
            d->fb == QEMU_FB_QXL ? "), which qemu fills, and two framebuffers" : "", x, y,
            v->xres ? ", xres/yres given" : "");
    }
    t->basis = BASIS_MEASURED;
    t->bytes = total;
    g_string_append(why, ": device memory the guest's screen uses at the preferred mode "
                         "(measured; a guest that switches to a larger mode uses more)");
    t->source = g_string_free(g_steal_pointer(&why), FALSE);
    return total > 0;
}

static int
term_display(const TermCtx *c, OverheadTerm *t, GError **error)
{
    g_autoptr(GString) why = NULL;
    unsigned __int128 fb = 0;
    uint64_t total = 0;
    unsigned x = 0, y = 0;

    if (!c->spec->vnc && !c->spec->spice && !c->spec->gui)
        return 0;
    if (c->spec->videos && c->spec->videos->len > 0) {
        const VmVideo *v = g_ptr_array_index(c->spec->videos, 0);
        fb = video_fb(v, video_default(v->model), &x, &y);
        if (fb > UINT64_MAX - VNC_CLIENT_BYTES - SPICE_BYTES)
            return fail_overflow(error, "display");
    }
    why = g_string_new(NULL);
    g_autofree char *client = fmt(VNC_CLIENT_BYTES), *spice = fmt(SPICE_BYTES);
    if (c->spec->vnc || c->spec->gui) {
        total += (uint64_t)fb + VNC_CLIENT_BYTES;
        g_string_append_printf(why,
                               "%s: a copy of the %ux%u screen + %s for a client's "
                               "encoders and buffers",
                               c->spec->vnc ? "VNC" : "GUI", x, y, client);
    }
    if (c->spec->spice) {
        total += SPICE_BYTES;
        g_string_append_printf(why, "%sSPICE: %s for its display channel", total ? "; " : "",
                               spice);
    }
    t->basis = BASIS_MEASURED;
    t->bytes = total;
    g_string_append(why, " (measured with a client attached and drawing)");
    t->source = g_string_free(g_steal_pointer(&why), FALSE);
    return 1;
}

/* qemu's qcow2 caches for one image (block/qcow2.c read_cache_sizes), @known false when the
 * image could not be read: the most any image gets.  Wide: l2-cache-size is the user's. */
static unsigned __int128
qcow2_cache(const VmDisk *d, const HostFile *f, bool *ret_known)
{
    uint64_t cluster = QCOW2_DEFAULT_CLUSTER, l2_max = QCOW2_L2_CACHE_MAX, need;

    *ret_known = f && f->kind == HOST_FILE_QCOW2 && f->cluster_bits >= 9 && f->cluster_bits <= 21;
    if (d->qcow2_cache)
        l2_max = d->qcow2_cache;
    if (!*ret_known)
        return (unsigned __int128)l2_max + QCOW2_REFCOUNT_CLUSTERS * cluster;
    cluster = UINT64_C(1) << f->cluster_bits;
    /* No overflow for any header: clusters are at least 512 bytes, entries at most 16. */
    need =
        (f->virtual_size / cluster + (f->virtual_size % cluster != 0)) * (f->extended_l2 ? 16 : 8);
    need = (need + cluster - 1) / cluster * cluster;
    return (unsigned __int128)MIN(need, l2_max) + QCOW2_REFCOUNT_CLUSTERS * cluster;
}

static int
term_disks(const TermCtx *c, OverheadTerm *t, GError **error)
{
    unsigned n_qcow2 = 0, n_unknown = 0, n_buffered = 0;
    uint64_t caches = 0, total;
    g_autoptr(GString) why = NULL;
    g_autofree char *cs = NULL;

    if (!c->spec->disks || c->spec->disks->len == 0)
        return 0;
    for (guint i = 0; i < c->spec->disks->len; i++) {
        const VmDisk *d = g_ptr_array_index(c->spec->disks, i);
        const HostFile *f = host_info_file(c->host, d->path);
        bool known;

        if (!d->direct)
            n_buffered++;
        /* A disk without a format is probed by qemu: qcow2 if its header says so. */
        if (d->format ? strcmp(d->format, "qcow2") != 0 : (f && f->kind != HOST_FILE_QCOW2))
            continue;
        /* Each image of a backing chain has its own caches. */
        for (int depth = 0; depth <= 16; depth++) {
            unsigned __int128 one = qcow2_cache(d, f, &known) + QCOW2_IMAGE_BYTES;

            if (one > UINT64_MAX || !g_uint64_checked_add(&caches, caches, (uint64_t)one))
                return fail_overflow(error, "disks");
            n_qcow2++;
            n_unknown += !known;
            if (!f || !f->backing || !(f = host_info_file(c->host, f->backing)) ||
                f->kind != HOST_FILE_QCOW2)
                break;
        }
    }
    if (!g_uint64_checked_add(&total, caches, (uint64_t)c->spec->disks->len * DISK_BYTES))
        return fail_overflow(error, "disks");
    t->basis = BASIS_MEASURED;
    t->bytes = total;
    cs = fmt(caches);
    g_autofree char *each = fmt(DISK_BYTES), *l2_max = fmt(QCOW2_L2_CACHE_MAX);
    g_autofree char *image = fmt(QCOW2_IMAGE_BYTES);
    why = g_string_new(NULL);
    g_string_append_printf(why, "%s x %u disk(s) (device and request state, measured)", each,
                           c->spec->disks->len);
    if (n_qcow2)
        g_string_append_printf(why,
                               " + %s for %u qcow2 image(s): their L2 and refcount caches, "
                               "sized as QEMU does from each image's virtual size "
                               "(block/qcow2.c read_cache_sizes: L2 up to %s, refcount %u "
                               "clusters; measured resident), and %s each for allocating "
                               "clusters (measured)%s",
                               cs, n_qcow2, l2_max, QCOW2_REFCOUNT_CLUSTERS, image,
                               n_unknown ? "; an image vmmem could not read gets the most" : "");
    if (n_buffered)
        g_string_append_printf(why,
                               "; %u disk(s) without O_DIRECT: their host page cache is "
                               "charged to the scope but reclaimable, and gets no budget",
                               n_buffered);
    t->source = g_string_free(g_steal_pointer(&why), FALSE);
    return 1;
}

static int
term_nics(const TermCtx *c, OverheadTerm *t, GError **error)
{
    unsigned extra, user = c->spec->net_user;
    g_autofree char *nic = fmt(NIC_BYTES), *queue = fmt(NIC_QUEUE_BYTES);
    g_autofree char *slirp = fmt(SLIRP_BYTES), *sock = fmt(SLIRP_SOCK_BYTES);

    if (c->spec->nics == 0 && user == 0)
        return 0;
    extra = c->spec->net_queues > c->spec->nics ? c->spec->net_queues - c->spec->nics : 0;
    t->basis = BASIS_MEASURED;
    t->bytes = (uint64_t)c->spec->nics * NIC_BYTES + (uint64_t)extra * NIC_QUEUE_BYTES +
               (uint64_t)user * SLIRP_BYTES + (user ? SLIRP_SOCK_BYTES : 0);
    if (user == 0)
        t->source = g_strdup_printf("%s x %u NIC(s) + %s x %u extra queue(s): the "
                                    "devices and their rings (measured)",
                                    nic, c->spec->nics, queue, extra);
    else
        t->source = g_strdup_printf("%s x %u NIC(s) + %s x %u extra queue(s) + %s "
                                    "x %u user networking backend(s) + %s for their host "
                                    "sockets' buffers (a busy TCP connection's receive buffer "
                                    "grows to tcp_rmem's 6 MiB; measured)",
                                    nic, c->spec->nics, queue, extra, slirp, user, sock);
    return 1;
}

static int
term_vfio(const TermCtx *c, OverheadTerm *t, GError **error)
{
    if (c->spec->vfio == 0)
        return 0;
    g_autofree char *flat = fmt(VFIO_BYTES);

    t->basis = BASIS_PUBLIC;
    t->bytes = VFIO_BYTES;
    t->source = g_strdup_printf("%s flat for %u VFIO device(s): libvirt "
                                "qemuDomainGetMemLockLimitBytes() and KubeVirt add 1 GiB "
                                "(libvir-list 2015-11/msg00329); guest RAM is pinned, so it is "
                                "neither reclaimable nor swappable",
                                flat, c->spec->vfio);
    return 1;
}

static const struct {
    const char *name;
    TermFunc fn;
} overhead_terms[] = {
    {"qemu_base", term_qemu_base},
    {"vcpus", term_vcpus},
    {"kernel_ram", term_kernel_ram},
    {"kernel_image", term_kernel_image},
    {"tcg_tb", term_tcg_tb},
    {"tcg_runtime", term_tcg_runtime},
    {"iothreads", term_iothreads},
    {"video", term_video},
    {"display", term_display},
    {"disks", term_disks},
    {"nics", term_nics},
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

/* Takes @t's source. */
static int
add_term(Overhead *o, OverheadTerm *t, GError **error)
{
    g_array_append_val(o->terms, *t);
    if (!g_uint64_checked_add(&o->total, o->total, t->bytes))
        return fail_overflow(error, "total");
    return 0;
}

static int
apply_ratio(Overhead *o, double ratio, GError **error)
{
    /* check_policy() bounds the ratio; libm is not linked. */
    uint64_t ppm = (uint64_t)((ratio - 1.0) * (double)VMMEM_POLICY_PPM + 0.5);
    unsigned __int128 scaled;
    g_autofree char *base = NULL;
    OverheadTerm t = {.name = "policy_ratio", .basis = BASIS_POLICY};

    if (ppm == 0)
        return 0;
    scaled = ((unsigned __int128)o->total * ppm + VMMEM_POLICY_PPM - 1) / VMMEM_POLICY_PPM;
    if (scaled > UINT64_MAX || !overhead_round_up_page((uint64_t)scaled, &t.bytes))
        return fail_overflow(error, "policy_ratio");
    base = fmt(o->total);
    t.source = g_strdup_printf("%s x (ratio %.6g - 1), rounded up to 4 KiB: host policy, as "
                               "KubeVirt's additionalGuestMemoryOverheadRatio",
                               base, ratio);
    return add_term(o, &t, error);
}

static int
apply_clamps(Overhead *o, const Policy *policy, GError **error)
{
    uint64_t min, max;
    g_autofree char *from = NULL, *to = NULL;
    OverheadTerm t = {.basis = BASIS_POLICY};

    if (!overhead_round_up_page(policy->overhead_min, &min) ||
        !overhead_round_up_page(policy->overhead_max, &max))
        return fail_overflow(error, "policy clamp");
    if (o->total < min) {
        from = fmt(o->total);
        to = fmt(min);
        t.name = "policy_min";
        t.bytes = min - o->total;
        t.source = g_strdup_printf("raised from %s to overhead-min %s (host policy)", from, to);
        return add_term(o, &t, error);
    }
    if (max && o->total > max) {
        from = fmt(o->total);
        to = fmt(max);
        /* Bytes cannot go negative: the terms keep the uncapped estimate and the total is the
         * cap (overhead.h). */
        t.name = "policy_max";
        t.source = g_strdup_printf("capped from %s to overhead-max %s (host policy): the terms "
                                   "above add up to the uncapped estimate",
                                   from, to);
        add_term(o, &t, NULL);
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
                 const Profile *profile, Overhead **ret_overhead, GError **error)
{
    g_autoptr(Overhead) o = overhead_new();
    const TermCtx ctx = {.spec = spec, .host = host, .profile = profile};
    int r;

    if (policy && (r = check_policy(policy, error)) < 0)
        return r;
    for (size_t i = 0; i < G_N_ELEMENTS(overhead_terms); i++) {
        OverheadTerm t = {.name = overhead_terms[i].name};

        r = overhead_terms[i].fn(&ctx, &t, error);
        if (r < 0) {
            g_free(t.source);
            return r;
        }
        if (r == 0) {
            g_free(t.source);
            continue;
        }
        /* Every term is whole pages, so the total is too. */
        if (!overhead_round_up_page(t.bytes, &t.bytes)) {
            g_free(t.source);
            return fail_overflow(error, overhead_terms[i].name);
        }
        r = add_term(o, &t, error);
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

uint64_t
overhead_profile_other(const Overhead *o)
{
    uint64_t other = 0;

    for (guint i = 0; i < o->terms->len; i++) {
        const OverheadTerm *t = &g_array_index(o->terms, OverheadTerm, i);
        bool fitted = false;

        for (int p = 0; p < PROFILE_N_TERMS; p++)
            fitted |= strcmp(t->name, profile_term_names[p]) == 0;
        if (!fitted && strcmp(t->basis, BASIS_POLICY) != 0)
            other += t->bytes;
    }
    return other;
}
