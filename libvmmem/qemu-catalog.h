/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* What qemu-system-x86_64 7.2 defines that the stages rely on, in one place: its options and
 * their arity (qemu-options.hx), the devices that matter for memory (NICs, display cards with
 * the properties that size their RAM and their defaults, VFIO, memory devices), -vga's names,
 * the displays that open a window, the block drivers that are image formats or filters, the
 * memory backend types, and the display modes qemu offers a guest.  These are facts about
 * QEMU, not vmmem's model: the costs are in overhead.c.  Another QEMU version is this file to
 * review. */

/* ---- options ---- */

/* Whether qemu knows the option @name (without dashes) and, when it does, whether it takes an
 * argument. */
bool qemu_catalog_option(const char *name, bool *ret_has_arg);

/* ---- devices ---- */

typedef enum {
    QEMU_PROP_UINT, /* qdev integer */
    QEMU_PROP_SIZE, /* qdev size: suffixes allowed */
} QemuPropType;

/* A device property that adds to the card's RAM (@unit bytes per unit of its value). */
typedef struct {
    const char *key;
    uint64_t unit;
    QemuPropType type;
    const char *shadowed_by; /* ignored when this key is given too */
} QemuVramProp;

/* Where a card's framebuffer lives. */
typedef enum {
    QEMU_FB_IN_VRAM,  /* in the device's RAM (VGA, bochs, cirrus...) */
    QEMU_FB_QXL,      /* qxl: its bar-0 RAM (ram_size), then the framebuffer in it */
    QEMU_FB_RESOURCE, /* virtio-gpu: the host keeps the guest's resources */
    QEMU_FB_NONE,     /* ramfb (in guest RAM), vhost-user (another process) */
} QemuFbKind;

enum {
    QEMU_DEV_NIC = 1u << 0,
    QEMU_DEV_VIDEO = 1u << 1,
    /* In qemu's default_list (vl.c): the card replaces the default VGA.  virtio-gpu-pci, qxl,
     * bochs-display and ramfb are not, so qemu adds a std VGA next to them. */
    QEMU_DEV_VGA_CLASS = 1u << 2,
    QEMU_DEV_VFIO = 1u << 3,
    QEMU_DEV_MEMDEV = 1u << 4,     /* plugs its whole memdev= backend */
    QEMU_DEV_VIRTIO_MEM = 1u << 5, /* plugs requested-size of its memdev= backend */
};

typedef struct {
    const char *driver;
    unsigned traits; /* QEMU_DEV_* */
    /* Display cards: */
    const QemuVramProp *vram; /* the properties that size its RAM, up to a NULL key */
    QemuFbKind fb;
    uint64_t default_vram; /* device RAM that bounds the framebuffer, by default */
    bool edid;             /* offers a preferred mode (QEMU_EDID_X x QEMU_EDID_Y) */
} QemuDevice;

/* The -device driver @driver, or NULL for one that does not matter for memory. */
const QemuDevice *qemu_catalog_device(const char *driver);

/* qxl's bar-0 RAM: ram_size, or ram_size_mb in MiB when given (up to a NULL key). */
extern const QemuVramProp qemu_qxl_ram_props[];
/* qxl's ram_size default (hw/display/qxl.c qxl_properties). */
#define QEMU_QXL_RAM_DEFAULT (UINT64_C(64) << 20)

/* EDID's preferred mode of VGA-class and virtio-gpu devices (hw/display/edid-generate.c); the
 * mode the qxl and cirrus drivers pick when the device offers none. */
#define QEMU_EDID_X   1280
#define QEMU_EDID_Y   800
#define QEMU_LEGACY_X 1024
#define QEMU_LEGACY_Y 768

/* -vga TYPE: true when qemu knows @type; *@ret_model is its card's driver, NULL for none. */
bool qemu_catalog_vga(const char *type, const char **ret_model);

/* ---- displays, block, memory ---- */

/* -display TYPE opens a window on the host (gtk, sdl...). */
bool qemu_catalog_is_gui_display(const char *type);
/* A block driver that is an image format (qcow2, raw...), not a protocol or filter. */
bool qemu_catalog_is_block_format(const char *driver);
/* A block node that passes I/O to its file= child: neither an image nor storage. */
bool qemu_catalog_is_block_filter(const char *driver);
/* An -object type that is a memory backend. */
bool qemu_catalog_is_memory_backend(const char *qom_type);
