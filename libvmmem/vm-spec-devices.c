/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage 2, devices: -netdev, -nic, -net, -device (the table of what QEMU 7.2 devices cost),
 * -global, -vga, displays. */
#include "vm-spec-internal.h"

/* ---- network ---- */

/* A backend of @type (NULL: -nic's default, user) is slirp, inside qemu, when "user". */
static void
count_net_backend(ParseState *st, const char *type)
{
    if (!type || strcmp(type, "user") == 0)
        st->spec->net_user++;
}

static int
add_net_queues(ParseState *st, const QemuOpts *opts, GError **error)
{
    uint64_t queues = 1;
    int r;

    r = spec_opt_uint(st, opts, "queues", 1, &queues, error);
    if (r < 0)
        return r;
    if (queues > G_MAXUINT - st->spec->net_queues)
        return spec_refuse_in(st, st->cur, error, ERANGE, "too many queues");
    st->spec->net_queues += (unsigned)queues;
    return 0;
}

int
spec_handle_netdev(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    int r;

    st->net_option = true;
    r = spec_parse_opts(st, "type", &opts, error);
    if (r < 0)
        return r;
    /* -netdev always names its type; one without is refused by qemu, and counted as user. */
    count_net_backend(st, qemu_opts_get(opts, "type"));
    return add_net_queues(st, opts, error);
}

/* -nic is a NIC and its netdev in one. */
int
spec_handle_nic(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    int r;

    st->net_option = true;
    r = spec_parse_opts(st, "type", &opts, error);
    if (r < 0)
        return r;
    if (g_strcmp0(qemu_opts_get(opts, "type"), "none") == 0)
        return 0;
    st->spec->nics++;
    count_net_backend(st, qemu_opts_get(opts, "type"));
    return add_net_queues(st, opts, error);
}

/* Legacy -net: "nic" is the card, any other type (user, tap, ...) a backend on a hub. */
int
spec_handle_net(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *type;
    int r;

    st->net_option = true;
    r = spec_parse_opts(st, "type", &opts, error);
    if (r < 0)
        return r;
    type = qemu_opts_get(opts, "type");
    if (g_strcmp0(type, "nic") == 0) {
        st->spec->nics++;
        return 0;
    }
    if (!type || strcmp(type, "none") == 0)
        return 0;
    count_net_backend(st, type);
    return add_net_queues(st, opts, error);
}

/* ---- video and display ---- */

typedef enum {
    PROP_UINT, /* qdev integer */
    PROP_SIZE, /* qdev size: suffixes allowed */
} PropType;

typedef struct {
    const char *key;
    uint64_t unit;
    PropType type;
    const char *shadowed_by; /* ignored when this key is given too */
} VramProp;

static const VramProp vga_vram[] = {
    {"vgamem_mb", MiB, PROP_UINT, NULL},
    {NULL, 0, 0, NULL},
};

/* qxl: ram_size_mb and vram_size_mb, when given, replace ram_size and vram_size. */
static const VramProp qxl_vram[] = {
    {"ram_size", 1, PROP_UINT, "ram_size_mb"},
    {"ram_size_mb", MiB, PROP_UINT, NULL},
    {"vram_size", 1, PROP_UINT, "vram_size_mb"},
    {"vram_size_mb", MiB, PROP_UINT, NULL},
    {"vram64_size_mb", MiB, PROP_UINT, NULL},
    {"vgamem_mb", MiB, PROP_UINT, NULL},
    {NULL, 0, 0, NULL},
};

static const VramProp virtio_gpu_vram[] = {
    {"max_hostmem", 1, PROP_SIZE, NULL},
    {NULL, 0, 0, NULL},
};

static const VramProp no_vram[] = {
    {NULL, 0, 0, NULL},
};

typedef enum {
    DEV_NIC = 1u << 0,
    DEV_VIDEO = 1u << 1,
    /* In qemu's default_list (vl.c): the card replaces the default VGA.  virtio-gpu-pci, qxl,
     * bochs-display and ramfb are not, so qemu adds a std VGA next to them. */
    DEV_VGA_CLASS = 1u << 2,
    DEV_VFIO = 1u << 3,
    DEV_MEMDEV = 1u << 4,     /* plugs its whole memdev= backend */
    DEV_VIRTIO_MEM = 1u << 5, /* plugs requested-size of its memdev= backend */
} DeviceTraits;

typedef struct {
    const char *driver;
    unsigned traits;
    const VramProp *vram;
} DeviceInfo;

static const DeviceInfo device_table[] = {
    {"virtio-net-pci", DEV_NIC, NULL},
    {"virtio-net-pci-non-transitional", DEV_NIC, NULL},
    {"virtio-net-pci-transitional", DEV_NIC, NULL},
    {"virtio-net-device", DEV_NIC, NULL},
    {"e1000", DEV_NIC, NULL},
    {"e1000e", DEV_NIC, NULL},
    {"e1000-82544gc", DEV_NIC, NULL},
    {"e1000-82545em", DEV_NIC, NULL},
    {"rtl8139", DEV_NIC, NULL},
    {"vmxnet3", DEV_NIC, NULL},
    {"ne2k_pci", DEV_NIC, NULL},
    {"pcnet", DEV_NIC, NULL},
    {"i82559er", DEV_NIC, NULL},
    {"igb", DEV_NIC, NULL},
    {"usb-net", DEV_NIC, NULL},

    {"VGA", DEV_VIDEO | DEV_VGA_CLASS, vga_vram},
    {"isa-vga", DEV_VIDEO | DEV_VGA_CLASS, vga_vram},
    {"secondary-vga", DEV_VIDEO, vga_vram},
    {"bochs-display", DEV_VIDEO, vga_vram},
    {"cirrus-vga", DEV_VIDEO | DEV_VGA_CLASS, vga_vram},
    {"isa-cirrus-vga", DEV_VIDEO | DEV_VGA_CLASS, vga_vram},
    {"vmware-svga", DEV_VIDEO | DEV_VGA_CLASS, vga_vram},
    {"ati-vga", DEV_VIDEO | DEV_VGA_CLASS, vga_vram},
    {"qxl", DEV_VIDEO, qxl_vram},
    {"qxl-vga", DEV_VIDEO | DEV_VGA_CLASS, qxl_vram},
    {"virtio-vga", DEV_VIDEO | DEV_VGA_CLASS, virtio_gpu_vram},
    {"virtio-vga-gl", DEV_VIDEO | DEV_VGA_CLASS, virtio_gpu_vram},
    {"vhost-user-vga", DEV_VIDEO | DEV_VGA_CLASS, no_vram},
    {"virtio-gpu-pci", DEV_VIDEO, virtio_gpu_vram},
    {"virtio-gpu-gl-pci", DEV_VIDEO, virtio_gpu_vram},
    {"virtio-gpu-device", DEV_VIDEO, virtio_gpu_vram},
    {"virtio-gpu-gl-device", DEV_VIDEO, virtio_gpu_vram},
    {"vhost-user-gpu-pci", DEV_VIDEO, no_vram},
    {"ramfb", DEV_VIDEO, no_vram},

    {"vfio-pci", DEV_VFIO, NULL},
    {"vfio-pci-nohotplug", DEV_VFIO, NULL},
    {"vfio-platform", DEV_VFIO, NULL},
    {"vfio-ap", DEV_VFIO, NULL},
    {"vfio-ccw", DEV_VFIO, NULL},

    {"pc-dimm", DEV_MEMDEV, NULL},
    {"nvdimm", DEV_MEMDEV, NULL},
    {"virtio-pmem-pci", DEV_MEMDEV, NULL},
    /* ivshmem's backend is shared with other processes, but this qemu maps and may fault it. */
    {"ivshmem-plain", DEV_MEMDEV, NULL},
    {"virtio-mem-pci", DEV_VIRTIO_MEM, NULL},
    {"virtio-mem-ccw", DEV_VIRTIO_MEM, NULL},
};

static const DeviceInfo *
find_device(const char *driver)
{
    for (size_t i = 0; i < G_N_ELEMENTS(device_table); i++)
        if (g_strcmp0(driver, device_table[i].driver) == 0)
            return &device_table[i];
    return NULL;
}

static int
vram_prop(ParseState *st, const QemuOpts *opts, const VramProp *p, uint64_t *ret, GError **error)
{
    uint64_t value = 0;
    int r;

    if (p->shadowed_by && qemu_opts_get(opts, p->shadowed_by))
        return 0;
    if (p->type == PROP_SIZE)
        r = spec_opt_size(st, opts, p->key, 1, &value, error);
    else
        r = spec_opt_qdev_uint(st, opts, p->key, &value, error);
    if (r < 0)
        return r;
    if (value > G_MAXUINT64 / p->unit || !g_uint64_checked_add(ret, *ret, value * p->unit))
        return spec_refuse_in(st, st->cur, error, ERANGE, "%s out of range", p->key);
    return 0;
}

void
spec_add_video(ParseState *st, const char *model, uint64_t vram_bytes)
{
    VmVideo *v = g_new0(VmVideo, 1);

    v->model = g_strdup(model);
    v->vram_bytes = vram_bytes;
    g_ptr_array_add(st->spec->videos, v);
}

static int
device_video(ParseState *st, const QemuOpts *opts, const DeviceInfo *info, GError **error)
{
    static const VramProp qxl_ram[] = {
        {"ram_size", 1, PROP_UINT, "ram_size_mb"},
        {"ram_size_mb", MiB, PROP_UINT, NULL},
    };
    uint64_t vram = 0, xres = 0, yres = 0, ram = 0;
    VmVideo *v;
    int r;

    for (const VramProp *p = info->vram; p && p->key; p++) {
        r = vram_prop(st, opts, p, &vram, error);
        if (r < 0)
            return r;
    }
    if ((r = spec_opt_qdev_uint(st, opts, "xres", &xres, error)) < 0 ||
        (r = spec_opt_qdev_uint(st, opts, "yres", &yres, error)) < 0)
        return r;
    if (xres > G_MAXUINT16 || yres > G_MAXUINT16)
        return spec_refuse_in(st, st->cur, error, ERANGE, "xres or yres out of range");
    if (info->vram == qxl_vram)
        for (size_t i = 0; i < G_N_ELEMENTS(qxl_ram); i++)
            if ((r = vram_prop(st, opts, &qxl_ram[i], &ram, error)) < 0)
                return r;
    spec_add_video(st, info->driver, vram);
    v = g_ptr_array_index(st->spec->videos, st->spec->videos->len - 1);
    v->xres = (unsigned)xres;
    v->yres = (unsigned)yres;
    v->qxl_ram = ram;
    if (info->traits & DEV_VGA_CLASS)
        st->vga_replaced = true;
    return 0;
}

static int
device_memory(ParseState *st, const QemuOpts *opts, const DeviceInfo *info, GError **error)
{
    const char *memdev = qemu_opts_get(opts, "memdev");
    uint64_t requested = 0;
    int r;

    if (!memdev)
        return spec_refuse_in(st, st->cur, error, EINVAL, "memory device without memdev=");
    if (info->traits & DEV_VIRTIO_MEM) {
        r = spec_opt_size(st, opts, "requested-size", 1, &requested, error);
        if (r < 0)
            return r;
    }
    spec_add_mem_ref(st, memdev, (info->traits & DEV_VIRTIO_MEM) != 0, requested);
    return 0;
}

int
spec_handle_device(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const DeviceInfo *info;
    int r;

    r = spec_parse_opts(st, "driver", &opts, error);
    if (r < 0)
        return r;
    info = find_device(qemu_opts_get(opts, "driver"));
    if (!info)
        return 0;
    if (info->traits & DEV_NIC)
        st->spec->nics++;
    if (info->traits & DEV_VFIO)
        st->spec->vfio++;
    if (info->traits & DEV_VIDEO)
        return device_video(st, opts, info, error);
    if (info->traits & (DEV_MEMDEV | DEV_VIRTIO_MEM))
        return device_memory(st, opts, info, error);
    return 0;
}

/* -global DRIVER.PROP=VALUE counts as naming DRIVER for qemu's default-device check. */
int
spec_handle_global(ParseState *st, GError **error)
{
    const char *arg = st->cur->arg ? st->cur->arg : "";
    g_autofree char *driver = NULL;
    const DeviceInfo *info;

    if (g_str_has_prefix(arg, "driver=")) {
        g_autoptr(QemuOpts) opts = NULL;
        int r = spec_parse_opts(st, NULL, &opts, error);
        if (r < 0)
            return r;
        driver = g_strdup(qemu_opts_get(opts, "driver"));
    } else {
        driver = g_strndup(arg, strcspn(arg, "."));
    }
    info = find_device(driver);
    if (info && (info->traits & DEV_VGA_CLASS))
        st->vga_replaced = true;
    return 0;
}

typedef struct {
    const char *type;
    const char *model; /* NULL: no card */
} VgaType;

static const VgaType vga_types[] = {
    {"std", "VGA"},     {"cirrus", "cirrus-vga"}, {"vmware", "vmware-svga"},
    {"qxl", "qxl-vga"}, {"virtio", "virtio-vga"}, {"none", NULL},
};

int
spec_handle_vga(ParseState *st, GError **error)
{
    st->vga_option = true;
    for (size_t i = 0; i < G_N_ELEMENTS(vga_types); i++)
        if (g_strcmp0(st->cur->arg, vga_types[i].type) == 0 && vga_types[i].model)
            spec_add_video(st, vga_types[i].model, 0);
    return 0;
}

int
spec_handle_vnc(ParseState *st, GError **error)
{
    const char *arg = st->cur->arg ? st->cur->arg : "";

    st->display_option = true;
    if (strcmp(arg, "none") != 0 && !g_str_has_prefix(arg, "none,"))
        st->spec->vnc = true;
    return 0;
}

int
spec_handle_spice(ParseState *st, GError **error)
{
    st->display_option = true;
    st->spec->spice = true;
    return 0;
}

static const char *const gui_displays[] = {
    "gtk", "sdl", "egl-headless", "spice-app", "cocoa", "dbus",
};

int
spec_handle_display(ParseState *st, GError **error)
{
    const char *arg = st->cur->arg ? st->cur->arg : "";
    size_t type_len = strcspn(arg, ",=");
    g_autofree char *type = g_strndup(arg, type_len);

    st->display_option = true;
    /* "-display vnc=:0" is -vnc in disguise. */
    if (strcmp(type, "vnc") == 0)
        st->spec->vnc = true;
    else if (spec_str_in(type, gui_displays, G_N_ELEMENTS(gui_displays)))
        st->spec->gui = true;
    return 0;
}

int
spec_handle_nographic(ParseState *st, GError **error)
{
    st->display_option = true;
    return 0;
}

int
spec_handle_daemonize(ParseState *st, GError **error)
{
    st->display_option = true;
    st->spec->daemonize = true;
    return 0;
}

int
spec_handle_nodefaults(ParseState *st, GError **error)
{
    st->nodefaults = true;
    return 0;
}

int
spec_handle_readconfig(ParseState *st, GError **error)
{
    return spec_refuse(st, st->cur, error, EOPNOTSUPP,
                       "'-readconfig' may set memory options that vmmem cannot see; refusing");
}
