/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <string.h>

#include "qemu-catalog.h"
#include "size.h"

/* Devices as QEMU 7.2 defines them (hw/display, hw/net, hw/mem, hw/vfio): a row per fact the
 * stages rely on, written from QEMU's sources rather than copied from the catalog. */
static const struct {
    const char *driver;
    unsigned traits;
    QemuFbKind fb;
    uint64_t vram;
    bool edid;
} device_rows[] = {
    {"virtio-net-pci", QEMU_DEV_NIC, QEMU_FB_NONE, 0, false},
    {"e1000e", QEMU_DEV_NIC, QEMU_FB_NONE, 0, false},
    {"VGA", QEMU_DEV_VIDEO | QEMU_DEV_VGA_CLASS, QEMU_FB_IN_VRAM, 16 * MiB, true},
    {"isa-vga", QEMU_DEV_VIDEO | QEMU_DEV_VGA_CLASS, QEMU_FB_IN_VRAM, 8 * MiB, false},
    {"cirrus-vga", QEMU_DEV_VIDEO | QEMU_DEV_VGA_CLASS, QEMU_FB_IN_VRAM, 4 * MiB, false},
    {"bochs-display", QEMU_DEV_VIDEO, QEMU_FB_IN_VRAM, 16 * MiB, true},
    {"qxl", QEMU_DEV_VIDEO, QEMU_FB_QXL, 64 * MiB, false},
    {"qxl-vga", QEMU_DEV_VIDEO | QEMU_DEV_VGA_CLASS, QEMU_FB_QXL, 64 * MiB, false},
    {"virtio-gpu-pci", QEMU_DEV_VIDEO, QEMU_FB_RESOURCE, 256 * MiB, true},
    {"virtio-vga", QEMU_DEV_VIDEO | QEMU_DEV_VGA_CLASS, QEMU_FB_RESOURCE, 256 * MiB, true},
    {"ramfb", QEMU_DEV_VIDEO, QEMU_FB_NONE, 0, false},
    {"vfio-pci", QEMU_DEV_VFIO, QEMU_FB_NONE, 0, false},
    {"pc-dimm", QEMU_DEV_MEMDEV, QEMU_FB_NONE, 0, false},
    {"virtio-mem-pci", QEMU_DEV_VIRTIO_MEM, QEMU_FB_NONE, 0, false},
};

static void
test_devices(void)
{
    static const char *const unknown[] = {"", "vga", "virtio-blk-pci", "usb-tablet", "qxl-"};

    for (size_t i = 0; i < G_N_ELEMENTS(device_rows); i++) {
        const QemuDevice *d = qemu_catalog_device(device_rows[i].driver);

        g_test_message("%s", device_rows[i].driver);
        g_assert_nonnull(d);
        g_assert_cmpuint(d->traits, ==, device_rows[i].traits);
        g_assert_cmpint(d->fb, ==, device_rows[i].fb);
        g_assert_cmpuint(d->default_vram, ==, device_rows[i].vram);
        g_assert_cmpint(d->edid, ==, device_rows[i].edid);
        /* Every card lists the properties that size its RAM (possibly none); others none. */
        g_assert_true((d->vram != NULL) == ((d->traits & QEMU_DEV_VIDEO) != 0));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(unknown); i++)
        g_assert_null(qemu_catalog_device(unknown[i]));
    g_assert_null(qemu_catalog_device(NULL));
}

/* -vga TYPE names a card the device catalog knows, and one that replaces the default VGA. */
static void
test_vga(void)
{
    static const char *const types[] = {"std", "cirrus", "vmware", "qxl", "virtio"};
    const char *model = "x";

    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        const QemuDevice *d;

        g_assert_true(qemu_catalog_vga(types[i], &model));
        d = qemu_catalog_device(model);
        g_assert_nonnull(d);
        g_assert_true(d->traits & QEMU_DEV_VGA_CLASS);
    }
    g_assert_true(qemu_catalog_vga("none", &model));
    g_assert_null(model);
    g_assert_false(qemu_catalog_vga("tcx", &model));
    g_assert_false(qemu_catalog_vga(NULL, &model));
}

static void
test_lists(void)
{
    g_assert_true(qemu_catalog_is_gui_display("gtk"));
    g_assert_false(qemu_catalog_is_gui_display("vnc"));
    g_assert_false(qemu_catalog_is_gui_display("none"));
    g_assert_true(qemu_catalog_is_block_format("qcow2"));
    g_assert_true(qemu_catalog_is_block_format("raw"));
    g_assert_false(qemu_catalog_is_block_format("file"));
    g_assert_false(qemu_catalog_is_block_format("throttle"));
    g_assert_true(qemu_catalog_is_block_filter("throttle"));
    g_assert_false(qemu_catalog_is_block_filter("qcow2"));
    g_assert_true(qemu_catalog_is_memory_backend("memory-backend-memfd"));
    g_assert_false(qemu_catalog_is_memory_backend("memory-backend"));
    g_assert_false(qemu_catalog_is_memory_backend("iothread"));
    g_assert_false(qemu_catalog_is_memory_backend(NULL));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-catalog/devices", test_devices);
    g_test_add_func("/qemu-catalog/vga", test_vga);
    g_test_add_func("/qemu-catalog/lists", test_lists);
    return g_test_run();
}
