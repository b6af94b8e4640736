/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage 2, devices: -netdev, -nic, -net, -device (what each QEMU 7.2 device is: qemu-catalog.c),
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

static int
vram_prop(ParseState *st, const QemuOpts *opts, const QemuVramProp *p, uint64_t *ret,
          GError **error)
{
    uint64_t value = 0;
    int r;

    if (p->shadowed_by && qemu_opts_get(opts, p->shadowed_by))
        return 0;
    if (p->type == QEMU_PROP_SIZE)
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
device_video(ParseState *st, const QemuOpts *opts, const QemuDevice *info, GError **error)
{
    uint64_t vram = 0, xres = 0, yres = 0, ram = 0;
    VmVideo *v;
    int r;

    for (const QemuVramProp *p = info->vram; p && p->key; p++) {
        r = vram_prop(st, opts, p, &vram, error);
        if (r < 0)
            return r;
    }
    if ((r = spec_opt_qdev_uint(st, opts, "xres", &xres, error)) < 0 ||
        (r = spec_opt_qdev_uint(st, opts, "yres", &yres, error)) < 0)
        return r;
    if (xres > G_MAXUINT16 || yres > G_MAXUINT16)
        return spec_refuse_in(st, st->cur, error, ERANGE, "xres or yres out of range");
    if (info->fb == QEMU_FB_QXL)
        for (const QemuVramProp *p = qemu_qxl_ram_props; p->key; p++)
            if ((r = vram_prop(st, opts, p, &ram, error)) < 0)
                return r;
    spec_add_video(st, info->driver, vram);
    v = g_ptr_array_index(st->spec->videos, st->spec->videos->len - 1);
    v->xres = (unsigned)xres;
    v->yres = (unsigned)yres;
    v->qxl_ram = ram;
    if (info->traits & QEMU_DEV_VGA_CLASS)
        st->vga_replaced = true;
    return 0;
}

static int
device_memory(ParseState *st, const QemuOpts *opts, const QemuDevice *info, GError **error)
{
    const char *memdev = qemu_opts_get(opts, "memdev");
    uint64_t requested = 0;
    int r;

    if (!memdev)
        return spec_refuse_in(st, st->cur, error, EINVAL, "memory device without memdev=");
    if (info->traits & QEMU_DEV_VIRTIO_MEM) {
        r = spec_opt_size(st, opts, "requested-size", 1, &requested, error);
        if (r < 0)
            return r;
    }
    spec_add_mem_ref(st, memdev, (info->traits & QEMU_DEV_VIRTIO_MEM) != 0, requested);
    return 0;
}

int
spec_handle_device(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const QemuDevice *info;
    int r;

    r = spec_parse_opts(st, "driver", &opts, error);
    if (r < 0)
        return r;
    info = qemu_catalog_device(qemu_opts_get(opts, "driver"));
    if (!info)
        return 0;
    if (info->traits & QEMU_DEV_NIC)
        st->spec->nics++;
    if (info->traits & QEMU_DEV_VFIO)
        st->spec->vfio++;
    if (info->traits & QEMU_DEV_VIDEO)
        return device_video(st, opts, info, error);
    if (info->traits & (QEMU_DEV_MEMDEV | QEMU_DEV_VIRTIO_MEM))
        return device_memory(st, opts, info, error);
    return 0;
}

/* -global DRIVER.PROP=VALUE counts as naming DRIVER for qemu's default-device check. */
int
spec_handle_global(ParseState *st, GError **error)
{
    const char *arg = st->cur->arg ? st->cur->arg : "";
    g_autofree char *driver = NULL;
    const QemuDevice *info;

    if (g_str_has_prefix(arg, "driver=")) {
        g_autoptr(QemuOpts) opts = NULL;
        int r = spec_parse_opts(st, NULL, &opts, error);
        if (r < 0)
            return r;
        driver = g_strdup(qemu_opts_get(opts, "driver"));
    } else {
        driver = g_strndup(arg, strcspn(arg, "."));
    }
    info = qemu_catalog_device(driver);
    if (info && (info->traits & QEMU_DEV_VGA_CLASS))
        st->vga_replaced = true;
    return 0;
}

int
spec_handle_vga(ParseState *st, GError **error)
{
    const char *model;

    st->vga_option = true;
    if (qemu_catalog_vga(st->cur->arg, &model) && model)
        spec_add_video(st, model, 0);
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
    else if (qemu_catalog_is_gui_display(type))
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
