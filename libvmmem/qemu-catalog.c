/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "qemu-catalog.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

/* ---- options ---- */

typedef struct {
    const char *name;
    bool has_arg;
} QemuOption;

/* qemu-system-x86_64 7.2's option table (qemu_options[] in the Debian 1:7.2+dfsg build, which
 * is what `-help` prints plus the entries for other targets: qemu's lookup_opt() consumes their
 * argument before it refuses them, so splitting must too).  The few marked entries are not in
 * 7.2; they are here with the arity they have in the qemu that has them, so that a command line
 * written for another version splits the same way.  Sorted by strcmp() for bsearch(). */
static const QemuOption qemu_options[] = {
    {"D", true},
    {"L", true},
    {"M", true},
    {"S", false},
    {"accel", true},
    {"acpitable", true},
    {"action", true},
    {"add-fd", true},
    {"alt-grab", false}, /* before 7.2 */
    {"append", true},
    {"async-teardown", false},
    {"audio", true},
    {"audio-help", false},
    {"audiodev", true},
    {"bios", true},
    {"blockdev", true},
    {"boot", true},
    {"cdrom", true},
    {"chardev", true},
    {"chroot", true},
    {"compat", true},
    {"cpu", true},
    {"ctrl-grab", false}, /* before 7.2 */
    {"d", true},
    {"daemonize", false},
    {"debugcon", true},
    {"device", true},
    {"dfilter", true},
    {"display", true},
    {"drive", true},
    {"dtb", true},
    {"dump-vmstate", true},
    {"echr", true},
    {"enable-kvm", false},
    {"enable-sync-profile", false},
    {"fda", true},
    {"fdb", true},
    {"fsdev", true},
    {"full-screen", false},
    {"fw_cfg", true},
    {"g", true},
    {"gdb", true},
    {"global", true},
    {"h", false},
    {"hda", true},
    {"hdb", true},
    {"hdc", true},
    {"hdd", true},
    {"help", false},
    {"icount", true},
    {"incoming", true},
    {"initrd", true},
    {"iscsi", true},
    {"k", true},
    {"kernel", true},
    {"loadvm", true},
    {"m", true},
    {"machine", true},
    {"mem-path", true},
    {"mem-prealloc", false},
    {"mon", true},
    {"monitor", true},
    {"msg", true},
    {"mtdblock", true},
    {"name", true},
    {"net", true},
    {"netdev", true},
    {"nic", true},
    {"no-acpi", false},
    {"no-fd-bootchk", false},
    {"no-hpet", false},
    {"no-quit", false}, /* before 7.2 */
    {"no-reboot", false},
    {"no-shutdown", false},
    {"no-user-config", false},
    {"nodefaults", false},
    {"nodefconfig", false}, /* before 7.2 */
    {"nographic", false},
    {"numa", true},
    {"object", true},
    {"old-param", false},
    {"only-migratable", false},
    {"option-rom", true},
    {"overcommit", true},
    {"parallel", true},
    {"pflash", true},
    {"pidfile", true},
    {"plugin", true},
    {"portrait", false},
    {"preconfig", false},
    {"prom-env", true},
    {"qmp", true},
    {"qmp-pretty", true},
    {"qtest", true},
    {"qtest-log", true},
    {"readconfig", true},
    {"realtime", true}, /* before 7.2 */
    {"rotate", true},
    {"rtc", true},
    {"run-with", true}, /* after 7.2 */
    {"runas", true},
    {"s", false},
    {"sandbox", true},
    {"sd", true},
    {"seed", true},
    {"semihosting", false},
    {"semihosting-config", true},
    {"serial", true},
    {"set", true},
    {"singlestep", false},
    {"smbios", true},
    {"smp", true},
    {"snapshot", false},
    {"spice", true},
    {"tpmdev", true},
    {"trace", true},
    {"usb", false},
    {"usbdevice", true},
    {"uuid", true},
    {"version", false},
    {"vga", true},
    {"virtfs", true},
    {"vnc", true},
    {"watchdog-action", true},
    {"win2k-hack", false},
    {"xen-attach", false},
    {"xen-domid", true},
    {"xen-domid-restrict", false},
};

static int
compare_option(const void *key, const void *member)
{
    return strcmp(key, ((const QemuOption *)member)->name);
}

bool
qemu_catalog_option(const char *name, bool *ret_has_arg)
{
    const QemuOption *opt = bsearch(name, qemu_options, G_N_ELEMENTS(qemu_options),
                                    sizeof(qemu_options[0]), compare_option);

    if (!opt)
        return false;
    if (ret_has_arg)
        *ret_has_arg = opt->has_arg;
    return true;
}

/* ---- devices ---- */

static const QemuVramProp vga_vram[] = {
    {"vgamem_mb", MiB, QEMU_PROP_UINT, NULL},
    {NULL, 0, 0, NULL},
};

/* qxl: ram_size_mb and vram_size_mb, when given, replace ram_size and vram_size. */
static const QemuVramProp qxl_vram[] = {
    {"ram_size", 1, QEMU_PROP_UINT, "ram_size_mb"},
    {"ram_size_mb", MiB, QEMU_PROP_UINT, NULL},
    {"vram_size", 1, QEMU_PROP_UINT, "vram_size_mb"},
    {"vram_size_mb", MiB, QEMU_PROP_UINT, NULL},
    {"vram64_size_mb", MiB, QEMU_PROP_UINT, NULL},
    {"vgamem_mb", MiB, QEMU_PROP_UINT, NULL},
    {NULL, 0, 0, NULL},
};

const QemuVramProp qemu_qxl_ram_props[] = {
    {"ram_size", 1, QEMU_PROP_UINT, "ram_size_mb"},
    {"ram_size_mb", MiB, QEMU_PROP_UINT, NULL},
    {NULL, 0, 0, NULL},
};

static const QemuVramProp virtio_gpu_vram[] = {
    {"max_hostmem", 1, QEMU_PROP_SIZE, NULL},
    {NULL, 0, 0, NULL},
};

static const QemuVramProp no_vram[] = {
    {NULL, 0, 0, NULL},
};

#define NIC(driver)                                                                                \
    {                                                                                              \
        driver, QEMU_DEV_NIC, NULL, QEMU_FB_NONE, 0, false                                         \
    }
#define CARD(driver, traits, ...)                                                                  \
    {                                                                                              \
        driver, QEMU_DEV_VIDEO | (traits), __VA_ARGS__                                             \
    }

/* Display defaults: hw/display/vga-pci.c and vga-isa.c (vgamem_mb=16, isa-vga 8, EDID),
 * cirrus_vga.c (4 MiB), vmware_vga.c, ati.c, bochs-display.c (16 MiB), qxl.c (vram_size=64M
 * for surfaces beside the bar-0 RAM), virtio-gpu-base.c (xres=1280, yres=800; up to
 * max_hostmem=256M). */
static const QemuDevice devices[] = {
    NIC("virtio-net-pci"),
    NIC("virtio-net-pci-non-transitional"),
    NIC("virtio-net-pci-transitional"),
    NIC("virtio-net-device"),
    NIC("e1000"),
    NIC("e1000e"),
    NIC("e1000-82544gc"),
    NIC("e1000-82545em"),
    NIC("rtl8139"),
    NIC("vmxnet3"),
    NIC("ne2k_pci"),
    NIC("pcnet"),
    NIC("i82559er"),
    NIC("igb"),
    NIC("usb-net"),

    CARD("VGA", QEMU_DEV_VGA_CLASS, vga_vram, QEMU_FB_IN_VRAM, 16 * MiB, true),
    CARD("isa-vga", QEMU_DEV_VGA_CLASS, vga_vram, QEMU_FB_IN_VRAM, 8 * MiB, false),
    CARD("secondary-vga", 0, vga_vram, QEMU_FB_IN_VRAM, 16 * MiB, true),
    CARD("bochs-display", 0, vga_vram, QEMU_FB_IN_VRAM, 16 * MiB, true),
    CARD("cirrus-vga", QEMU_DEV_VGA_CLASS, vga_vram, QEMU_FB_IN_VRAM, 4 * MiB, false),
    CARD("isa-cirrus-vga", QEMU_DEV_VGA_CLASS, vga_vram, QEMU_FB_IN_VRAM, 4 * MiB, false),
    CARD("vmware-svga", QEMU_DEV_VGA_CLASS, vga_vram, QEMU_FB_IN_VRAM, 16 * MiB, false),
    CARD("ati-vga", QEMU_DEV_VGA_CLASS, vga_vram, QEMU_FB_IN_VRAM, 16 * MiB, false),
    CARD("qxl", 0, qxl_vram, QEMU_FB_QXL, 64 * MiB, false),
    CARD("qxl-vga", QEMU_DEV_VGA_CLASS, qxl_vram, QEMU_FB_QXL, 64 * MiB, false),
    CARD("virtio-vga", QEMU_DEV_VGA_CLASS, virtio_gpu_vram, QEMU_FB_RESOURCE, 256 * MiB, true),
    CARD("virtio-vga-gl", QEMU_DEV_VGA_CLASS, virtio_gpu_vram, QEMU_FB_RESOURCE, 256 * MiB, true),
    CARD("vhost-user-vga", QEMU_DEV_VGA_CLASS, no_vram, QEMU_FB_NONE, 0, false),
    CARD("virtio-gpu-pci", 0, virtio_gpu_vram, QEMU_FB_RESOURCE, 256 * MiB, true),
    CARD("virtio-gpu-gl-pci", 0, virtio_gpu_vram, QEMU_FB_RESOURCE, 256 * MiB, true),
    CARD("virtio-gpu-device", 0, virtio_gpu_vram, QEMU_FB_RESOURCE, 256 * MiB, true),
    CARD("virtio-gpu-gl-device", 0, virtio_gpu_vram, QEMU_FB_RESOURCE, 256 * MiB, true),
    CARD("vhost-user-gpu-pci", 0, no_vram, QEMU_FB_NONE, 0, false),
    CARD("ramfb", 0, no_vram, QEMU_FB_NONE, 0, false),

    {"vfio-pci", QEMU_DEV_VFIO, NULL, QEMU_FB_NONE, 0, false},
    {"vfio-pci-nohotplug", QEMU_DEV_VFIO, NULL, QEMU_FB_NONE, 0, false},
    {"vfio-platform", QEMU_DEV_VFIO, NULL, QEMU_FB_NONE, 0, false},
    {"vfio-ap", QEMU_DEV_VFIO, NULL, QEMU_FB_NONE, 0, false},
    {"vfio-ccw", QEMU_DEV_VFIO, NULL, QEMU_FB_NONE, 0, false},

    {"pc-dimm", QEMU_DEV_MEMDEV, NULL, QEMU_FB_NONE, 0, false},
    {"nvdimm", QEMU_DEV_MEMDEV, NULL, QEMU_FB_NONE, 0, false},
    {"virtio-pmem-pci", QEMU_DEV_MEMDEV, NULL, QEMU_FB_NONE, 0, false},
    /* ivshmem's backend is shared with other processes, but this qemu maps and may fault it. */
    {"ivshmem-plain", QEMU_DEV_MEMDEV, NULL, QEMU_FB_NONE, 0, false},
    {"virtio-mem-pci", QEMU_DEV_VIRTIO_MEM, NULL, QEMU_FB_NONE, 0, false},
    {"virtio-mem-ccw", QEMU_DEV_VIRTIO_MEM, NULL, QEMU_FB_NONE, 0, false},
};

const QemuDevice *
qemu_catalog_device(const char *driver)
{
    for (size_t i = 0; driver && i < G_N_ELEMENTS(devices); i++)
        if (strcmp(driver, devices[i].driver) == 0)
            return &devices[i];
    return NULL;
}

static const struct {
    const char *type;
    const char *model; /* NULL: no card */
} vga_types[] = {
    {"std", "VGA"},     {"cirrus", "cirrus-vga"}, {"vmware", "vmware-svga"},
    {"qxl", "qxl-vga"}, {"virtio", "virtio-vga"}, {"none", NULL},
};

bool
qemu_catalog_vga(const char *type, const char **ret_model)
{
    for (size_t i = 0; type && i < G_N_ELEMENTS(vga_types); i++) {
        if (strcmp(type, vga_types[i].type) == 0) {
            *ret_model = vga_types[i].model;
            return true;
        }
    }
    *ret_model = NULL;
    return false;
}

/* ---- displays, block, memory ---- */

static bool
str_in(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

#define IN(s, list) str_in(s, list, G_N_ELEMENTS(list))

static const char *const gui_displays[] = {
    "gtk", "sdl", "egl-headless", "spice-app", "cocoa", "dbus",
};

static const char *const block_format_drivers[] = {
    "qcow2", "qed",       "vmdk",  "vdi",   "vpc", "vhdx", "raw",
    "luks",  "parallels", "bochs", "cloop", "dmg", "qcow",
};

static const char *const block_filter_drivers[] = {
    "throttle",          "copy-on-read",    "compress",    "preallocate",
    "blkdebug",          "blklogwrite",     "blkreplay",   "blkverify",
    "copy-before-write", "snapshot-access", "replication",
};

static const char *const memory_backend_types[] = {
    "memory-backend-ram",
    "memory-backend-file",
    "memory-backend-memfd",
    "memory-backend-epc",
};

bool
qemu_catalog_is_gui_display(const char *type)
{
    return IN(type, gui_displays);
}

bool
qemu_catalog_is_block_format(const char *driver)
{
    return IN(driver, block_format_drivers);
}

bool
qemu_catalog_is_block_filter(const char *driver)
{
    return IN(driver, block_filter_drivers);
}

bool
qemu_catalog_is_memory_backend(const char *qom_type)
{
    return IN(qom_type, memory_backend_types);
}
