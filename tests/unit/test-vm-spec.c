/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <string.h>

#include "error.h"
#include "host.h"
#include "size.h"
#include "vm-spec.h"

/* Each row is a qemu command line (the words after the program name) and what vm_spec_parse()
 * must make of it.  The libvirt rows are written by hand after the argument shapes in libvirt
 * 9.0/11.3's qemuxml2argv test data; the byte counts are worked out in the comments. */

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ARGS   ((const char *const[]){NULL})

typedef enum {
    HOST_NO_KVM,  /* TCG only; hugetlbfs at /dev/hugepages, /dev/hugepages2M, /dev/hugepages1G */
    HOST_KVM,     /* the same with /dev/kvm */
    HOST_MEMCG,   /* KVM, and cgroup2 mounted with memory_hugetlb_accounting */
    HOST_NO_HUGE, /* KVM, no hugetlbfs mounted at all */
} HostKind;

typedef struct {
    const char *name;
    const char *const *argv;
    HostKind host;

    /* A refusal: errno, the argv index blamed and a piece of the message. */
    int err;
    int bad_index;
    const char *message;

    uint64_t guest_ram;
    uint64_t hugetlb_ram;
    unsigned vcpus;   /* 0 means 1 */
    unsigned maxcpus; /* 0 means vcpus */
    VmAccel accel;
    unsigned iothreads;
    unsigned disks;
    unsigned nics;
    unsigned videos;
    unsigned vfio;
    bool vnc;
    bool probe;
    const char *vm_name;
    /* Anything a row checks beyond the columns above. */
    void (*extra)(const VmSpec *spec);
} SpecCase;

/* ---- helpers for the extra checks ---- */

static const VmMemBackend *
backend(const VmSpec *spec, const char *id)
{
    for (guint i = 0; i < spec->backends->len; i++) {
        const VmMemBackend *b = g_ptr_array_index(spec->backends, i);
        if (strcmp(b->id, id) == 0)
            return b;
    }
    g_assert_not_reached();
}

static const VmDisk *
disk(const VmSpec *spec, guint i)
{
    g_assert_cmpuint(i, <, spec->disks->len);
    return g_ptr_array_index(spec->disks, i);
}

static const VmVideo *
video(const VmSpec *spec, guint i)
{
    g_assert_cmpuint(i, <, spec->videos->len);
    return g_ptr_array_index(spec->videos, i);
}

/* ---- -m ---- */

static void
check_m_hotplug(const VmSpec *spec)
{
    g_assert_cmpuint(spec->ram_size, ==, 4 * GiB);
    g_assert_cmpuint(spec->slots, ==, 16);
    g_assert_cmpuint(spec->maxmem, ==, 64 * GiB);
}

static void
check_m_merged(const VmSpec *spec)
{
    g_assert_cmpuint(spec->ram_size, ==, GiB);
    g_assert_cmpuint(spec->slots, ==, 4);
    g_assert_cmpuint(spec->maxmem, ==, 4 * GiB);
}

static void
check_maxmem_bytes(const VmSpec *spec)
{
    g_assert_cmpuint(spec->maxmem, ==, 2147483648);
}

static void
check_default_ram(const VmSpec *spec)
{
    g_assert_cmpuint(spec->ram_size, ==, 134217728);
    g_assert_cmpstr(video(spec, 0)->model, ==, "VGA");
    g_assert_cmpuint(video(spec, 0)->vram_bytes, ==, 0);
    g_assert_true(spec->gui);
    g_assert_cmpuint(spec->net_queues, ==, 1);
    g_assert_null(spec->machine);
}

/* ---- libvirt lines ---- */

static void
check_libvirt9(const VmSpec *spec)
{
    g_assert_cmpstr(spec->machine, ==, "pc-q35-7.2");
    g_assert_true(backend(spec, "pc.ram")->used);
    g_assert_cmpint(backend(spec, "pc.ram")->kind, ==, VM_RAM_ANON);
    g_assert_false(spec->mem_lock);
    g_assert_cmpstr(disk(spec, 0)->format, ==, "qcow2");
    g_assert_cmpstr(disk(spec, 0)->node_name, ==, "libvirt-1-format");
    g_assert_false(disk(spec, 0)->direct);
    g_assert_cmpstr(video(spec, 0)->model, ==, "VGA");
    g_assert_cmpuint(video(spec, 0)->vram_bytes, ==, 16 * MiB);
    g_assert_false(spec->gui);
    g_assert_cmpuint(spec->net_queues, ==, 1);
}

static void
check_probe_machine_none(const VmSpec *spec)
{
    g_assert_cmpstr(spec->probe_reason, ==, "-machine none");
    g_assert_true(spec->daemonize);
    g_assert_false(spec->gui);
}

static void
check_probe_device_help(const VmSpec *spec)
{
    g_assert_cmpstr(spec->probe_reason, ==, "-device help");
}

static void
check_virtio_mem(const VmSpec *spec)
{
    g_assert_cmpuint(spec->ram_size, ==, 2145386496);
    g_assert_cmpuint(spec->maxmem, ==, 1125899906842624);
    g_assert_cmpint(backend(spec, "memvirtiomem1")->kind, ==, VM_RAM_HUGETLB);
    g_assert_true(backend(spec, "memvirtiomem0")->used);
}

static void
check_dimm_legacy(const VmSpec *spec)
{
    g_assert_cmpuint(spec->slots, ==, 16);
    g_assert_cmpuint(spec->maxmem, ==, 1125899906842624);
    g_assert_cmpint(backend(spec, "memdimm0")->kind, ==, VM_RAM_ANON);
    g_assert_cmpint(backend(spec, "memdimm1")->kind, ==, VM_RAM_HUGETLB);
    g_assert_true(backend(spec, "memdimm1")->prealloc);
    g_assert_true(spec->mem_prealloc);
}

static void
check_hugepages_default(const VmSpec *spec)
{
    const VmMemBackend *b = backend(spec, "pc.ram");

    g_assert_cmpint(b->kind, ==, VM_RAM_HUGETLB);
    g_assert_cmpstr(b->mem_path, ==, "/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1");
    g_assert_true(b->prealloc);
    g_assert_true(spec->mem_prealloc);
}

static void
check_hugepages_kind(const VmSpec *spec)
{
    g_assert_cmpint(backend(spec, "pc.ram")->kind, ==, VM_RAM_HUGETLB);
    g_assert_false(spec->mem_prealloc);
}

static void
check_hugepages_unmounted(const VmSpec *spec)
{
    g_assert_cmpint(backend(spec, "pc.ram")->kind, ==, VM_RAM_FILE);
}

static void
check_memfd_numa(const VmSpec *spec)
{
    g_assert_cmpint(backend(spec, "ram-node0")->kind, ==, VM_RAM_HUGETLB);
    g_assert_true(backend(spec, "ram-node0")->share);
    g_assert_cmpint(backend(spec, "memnvdimm0")->kind, ==, VM_RAM_FILE);
    g_assert_true(backend(spec, "memnvdimm0")->share);
    g_assert_cmpuint(spec->slots, ==, 16);
}

static void
check_memfd_shared(const VmSpec *spec)
{
    g_assert_cmpint(backend(spec, "mem")->kind, ==, VM_RAM_SHMEM);
    g_assert_true(backend(spec, "mem")->share);
}

static void
check_memfd_default_share(const VmSpec *spec)
{
    g_assert_true(backend(spec, "mem")->share);
    g_assert_cmpint(backend(spec, "mem")->kind, ==, VM_RAM_SHMEM);
}

static void
check_ram_shared(const VmSpec *spec)
{
    g_assert_cmpint(backend(spec, "r")->kind, ==, VM_RAM_SHMEM);
}

static void
check_mlock(const VmSpec *spec)
{
    g_assert_true(spec->mem_lock);
}

static void
check_no_mlock(const VmSpec *spec)
{
    g_assert_false(spec->mem_lock);
}

static void
check_file_shared(const VmSpec *spec)
{
    g_assert_cmpint(backend(spec, "pc.ram")->kind, ==, VM_RAM_FILE);
    g_assert_true(backend(spec, "pc.ram")->share);
    g_assert_true(spec->mem_prealloc);
}

static void
check_numa_shared(const VmSpec *spec)
{
    g_assert_true(backend(spec, "ram-node0")->share);
    g_assert_false(backend(spec, "ram-node1")->share);
    g_assert_true(backend(spec, "ram-node1")->used);
}

static void
check_prealloc(const VmSpec *spec)
{
    g_assert_true(spec->mem_prealloc);
}

static void
check_vhostuser(const VmSpec *spec)
{
    g_assert_cmpuint(spec->net_queues, ==, 4);
}

static void
check_ivshmem(const VmSpec *spec)
{
    g_assert_cmpint(backend(spec, "shmmem-shmem0")->kind, ==, VM_RAM_SHMEM);
    g_assert_true(backend(spec, "shmmem-shmem0")->used);
}

static void
check_disk_cache(const VmSpec *spec)
{
    g_assert_cmpstr(disk(spec, 0)->format, ==, "qcow2");
    g_assert_true(disk(spec, 0)->direct);
    g_assert_cmpstr(disk(spec, 1)->format, ==, "raw");
    g_assert_false(disk(spec, 1)->direct);
    /* The bare storage node is the third disk. */
    g_assert_cmpstr(disk(spec, 2)->format, ==, "raw");
    g_assert_cmpstr(disk(spec, 2)->node_name, ==, "libvirt-3-storage");
    g_assert_true(disk(spec, 2)->direct);
}

/* ---- kinds of memory ---- */

static void
check_mem_path_hugetlb(const VmSpec *spec)
{
    g_assert_true(spec->mem_prealloc);
    g_assert_cmpuint(spec->backends->len, ==, 0);
}

static void
check_shm_kinds(const VmSpec *spec)
{
    g_assert_cmpint(backend(spec, "shm")->kind, ==, VM_RAM_SHMEM);
    g_assert_cmpint(backend(spec, "run")->kind, ==, VM_RAM_SHMEM);
    g_assert_cmpint(backend(spec, "tmp")->kind, ==, VM_RAM_FILE);
    g_assert_cmpint(backend(spec, "shmish")->kind, ==, VM_RAM_FILE);
    g_assert_false(backend(spec, "shm")->used);
}

static void
check_backend_sets_ram_size(const VmSpec *spec)
{
    g_assert_cmpuint(spec->ram_size, ==, 256 * MiB);
}

/* ---- cpus and accelerators ---- */

static void
check_tb_size(const VmSpec *spec)
{
    g_assert_cmpuint(spec->tb_size, ==, 256 * MiB);
}

static void
check_no_tb_size(const VmSpec *spec)
{
    g_assert_cmpuint(spec->tb_size, ==, 0);
}

/* ---- disks ---- */

static void
check_drive_qcow2(const VmSpec *spec)
{
    g_assert_cmpstr(disk(spec, 0)->format, ==, "qcow2");
    g_assert_cmpstr(disk(spec, 0)->node_name, ==, "drive0");
    g_assert_true(disk(spec, 0)->direct);
    g_assert_cmpuint(disk(spec, 0)->qcow2_cache, ==, 4 * MiB);
}

static void
check_drive_caches(const VmSpec *spec)
{
    g_assert_cmpuint(disk(spec, 0)->qcow2_cache, ==, 1310720);
    g_assert_cmpuint(disk(spec, 1)->qcow2_cache, ==, 8 * MiB);
    g_assert_true(disk(spec, 1)->direct);
    g_assert_false(disk(spec, 2)->direct);
    g_assert_true(disk(spec, 3)->direct);
}

static void
check_drive_driver(const VmSpec *spec)
{
    g_assert_cmpstr(disk(spec, 0)->format, ==, "qcow2");
}

static void
check_plain_disks(const VmSpec *spec)
{
    for (guint i = 0; i < spec->disks->len; i++) {
        g_assert_null(disk(spec, i)->format);
        g_assert_null(disk(spec, i)->node_name);
        g_assert_false(disk(spec, i)->direct);
    }
}

static void
check_protocol_only(const VmSpec *spec)
{
    g_assert_cmpstr(disk(spec, 0)->format, ==, "raw");
    g_assert_cmpstr(disk(spec, 0)->node_name, ==, "libvirt-1-storage");
}

static void
check_backing_chain(const VmSpec *spec)
{
    g_assert_cmpstr(disk(spec, 0)->node_name, ==, "libvirt-1-format");
    g_assert_false(disk(spec, 0)->direct);
    g_assert_cmpuint(disk(spec, 0)->qcow2_cache, ==, 2 * MiB);
    g_assert_cmpstr(disk(spec, 1)->node_name, ==, "libvirt-2-format");
    g_assert_true(disk(spec, 1)->direct);
    g_assert_cmpuint(disk(spec, 1)->qcow2_cache, ==, 0);
}

static void
check_filter(const VmSpec *spec)
{
    g_assert_cmpstr(disk(spec, 0)->format, ==, "qcow2");
    g_assert_true(disk(spec, 0)->direct);
}

static void
check_inline_file(const VmSpec *spec)
{
    g_assert_cmpstr(disk(spec, 0)->node_name, ==, "q0");
    g_assert_true(disk(spec, 0)->direct);
}

static void
check_name_escape_disk(const VmSpec *spec)
{
    g_assert_cmpstr(disk(spec, 0)->node_name, ==, "drive,0");
}

/* ---- network, video, display ---- */

static void
check_queues_4(const VmSpec *spec)
{
    g_assert_cmpuint(spec->net_queues, ==, 4);
}

static void
check_queues_0(const VmSpec *spec)
{
    g_assert_cmpuint(spec->net_queues, ==, 0);
}

static void
check_queues_1(const VmSpec *spec)
{
    g_assert_cmpuint(spec->net_queues, ==, 1);
}

static void
check_queues_3(const VmSpec *spec)
{
    g_assert_cmpuint(spec->net_queues, ==, 3);
    g_assert_cmpuint(spec->net_user, ==, 1);
}

/* Which backends are user networking: slirp runs inside qemu, with its host sockets. */
static void
check_user_1(const VmSpec *spec)
{
    g_assert_cmpuint(spec->net_user, ==, 1);
}

static void
check_user_0(const VmSpec *spec)
{
    g_assert_cmpuint(spec->net_user, ==, 0);
}

static void
check_user_3(const VmSpec *spec)
{
    g_assert_cmpuint(spec->net_user, ==, 3);
}

static void
check_vga_qxl(const VmSpec *spec)
{
    g_assert_cmpstr(video(spec, 0)->model, ==, "qxl-vga");
}

static void
check_virtio_gpu_plus_vga(const VmSpec *spec)
{
    g_assert_cmpstr(video(spec, 0)->model, ==, "virtio-gpu-pci");
    g_assert_cmpuint(video(spec, 0)->vram_bytes, ==, 256 * MiB);
    g_assert_cmpstr(video(spec, 1)->model, ==, "VGA");
}

static void
check_qxl_vram(const VmSpec *spec)
{
    /* 64 MiB ram + 64 MiB vram + 16 MiB vgamem. */
    g_assert_cmpstr(video(spec, 0)->model, ==, "qxl-vga");
    g_assert_cmpuint(video(spec, 0)->vram_bytes, ==, 150994944);
    /* ram_size_mb=128 replaces ram_size=1; vram64_size_mb=32 adds. */
    g_assert_cmpstr(video(spec, 1)->model, ==, "qxl");
    g_assert_cmpuint(video(spec, 1)->vram_bytes, ==, 167772160);
}

static void
check_vga_hex(const VmSpec *spec)
{
    g_assert_cmpuint(video(spec, 0)->vram_bytes, ==, 32 * MiB);
}

static void
check_gui(const VmSpec *spec)
{
    g_assert_true(spec->gui);
    g_assert_false(spec->spice);
}

static void
check_no_gui(const VmSpec *spec)
{
    g_assert_false(spec->gui);
    g_assert_false(spec->spice);
}

static void
check_spice(const VmSpec *spec)
{
    g_assert_true(spec->spice);
    g_assert_false(spec->gui);
}

static void
check_daemonize(const VmSpec *spec)
{
    g_assert_true(spec->daemonize);
    g_assert_false(spec->gui);
}

/* 1 KiB of base64, for the multi-KB SEV-SNP argument. */
#define B64_64 "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2"
#define B64_1K                                                                                     \
    B64_64 B64_64 B64_64 B64_64 B64_64 B64_64 B64_64 B64_64 B64_64 B64_64 B64_64 B64_64 B64_64     \
        B64_64 B64_64 B64_64

/* clang-format off */
static const SpecCase cases[] = {
    /* ---- -m ---- */
    {"m/absent", NO_ARGS, .guest_ram = 134217728, .nics = 1, .videos = 1,
     .extra = check_default_ram},
    {"m/bare-mib", ARGV("-m", "512"), .guest_ram = 536870912, .nics = 1, .videos = 1},
    {"m/suffix", ARGV("-m", "2G"), .guest_ram = 2147483648, .nics = 1, .videos = 1},
    {"m/double-dash", ARGV("--m", "1g"), .guest_ram = 1073741824, .nics = 1, .videos = 1},
    {"m/size-key-hotplug", ARGV("-m", "size=4194304k,slots=16,maxmem=64G"),
     .guest_ram = 4294967296, .nics = 1, .videos = 1, .extra = check_m_hotplug},
    {"m/implied-size-hotplug", ARGV("-m", "4G,slots=2,maxmem=8G"),
     .guest_ram = 4294967296, .nics = 1, .videos = 1},
    /* 1000 KiB is a multiple of 8 KiB; 1001 KiB rounds up to 1008 KiB. */
    {"m/kib", ARGV("-m", "1000k"), .guest_ram = 1024000, .nics = 1, .videos = 1},
    {"m/round-8k", ARGV("-m", "1001k"), .guest_ram = 1032192, .nics = 1, .videos = 1},
    {"m/bytes", ARGV("-m", "1073741823B"), .guest_ram = 1073741824, .nics = 1, .videos = 1},
    /* qemu 7.2 takes a zero size as "not given": the machine's 128 MiB. */
    {"m/zero-is-default", ARGV("-m", "0"), .guest_ram = 134217728, .nics = 1, .videos = 1},
    {"m/maxmem-bytes", ARGV("-m", "1G,slots=2,maxmem=2147483648"), .guest_ram = 1073741824,
     .nics = 1, .videos = 1, .extra = check_maxmem_bytes},
    {"m/merged", ARGV("-m", "1G", "-m", "slots=4,maxmem=4G"), .guest_ram = 1073741824,
     .nics = 1, .videos = 1, .extra = check_m_merged},
    {"m/last-wins", ARGV("-m", "1G", "-m", "2G"), .guest_ram = 2147483648, .nics = 1,
     .videos = 1},
    {"m/invalid", ARGV("-m", "12Q"), .err = EINVAL, .bad_index = 1,
     .message = "invalid size '12Q' in '-m 12Q'"},
    {"m/invalid-later", ARGV("-name", "vm", "-m", "size=12Q"), .err = EINVAL, .bad_index = 3,
     .message = "'-m size=12Q'"},
    {"m/fraction-without-suffix", ARGV("-m", "1.5"), .err = EINVAL, .bad_index = 1},
    {"m/overflow", ARGV("-m", "99999999999999999999G"), .err = ERANGE, .bad_index = 1,
     .message = "-m 99999999999999999999G"},
    {"m/overflow-mib", ARGV("-m", "17592186044416"), .err = ERANGE, .bad_index = 1},
    {"m/overflow-rounding", ARGV("-m", "18446744073709551615B"), .err = ERANGE,
     .bad_index = 1},
    {"m/maxmem-too-small", ARGV("-m", "1G,slots=2,maxmem=2048"), .err = EINVAL,
     .bad_index = 1, .message = "maxmem"},
    {"m/missing-argument", ARGV("-smp", "2", "-m"), .err = EINVAL, .bad_index = 2},

    /* ---- libvirt ---- */
    /* libvirt 9.0 domain start, TCG: -m 256 and pc.ram are the same 256 MiB, counted once. */
    {"libvirt/9.0-domain",
     ARGV("-name", "guest=t1,debug-threads=on", "-S",
          "-object", "{\"qom-type\":\"secret\",\"id\":\"masterKey0\",\"format\":\"raw\","
                     "\"file\":\"/var/lib/libvirt/qemu/domain-1-t1/master-key.aes\"}",
          "-machine", "pc-q35-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram",
          "-accel", "tcg", "-cpu", "qemu64", "-m", "256",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":268435456}",
          "-overcommit", "mem-lock=off", "-smp", "1,sockets=1,cores=1,threads=1",
          "-uuid", "2c8d2a4f-54c0-4a3f-bb59-4bd4fd6e1c3e", "-display", "none",
          "-no-user-config", "-nodefaults",
          "-chardev", "socket,id=charmonitor,fd=29,server=on,wait=off",
          "-mon", "chardev=charmonitor,id=monitor,mode=control", "-rtc", "base=utc",
          "-no-shutdown", "-boot", "strict=on",
          "-device", "{\"driver\":\"pcie-root-port\",\"port\":8,\"chassis\":1,\"id\":\"pci.1\","
                     "\"bus\":\"pcie.0\",\"multifunction\":true,\"addr\":\"0x1\"}",
          "-blockdev", "{\"driver\":\"file\",\"filename\":\"/var/lib/libvirt/images/t1.qcow2\","
                       "\"node-name\":\"libvirt-1-storage\",\"auto-read-only\":true,"
                       "\"discard\":\"unmap\"}",
          "-blockdev", "{\"node-name\":\"libvirt-1-format\",\"read-only\":false,"
                       "\"driver\":\"qcow2\",\"file\":\"libvirt-1-storage\"}",
          "-device", "{\"driver\":\"virtio-blk-pci\",\"bus\":\"pci.1\",\"addr\":\"0x0\","
                     "\"drive\":\"libvirt-1-format\",\"id\":\"virtio-disk0\",\"bootindex\":1}",
          "-netdev", "{\"type\":\"user\",\"id\":\"hostnet0\"}",
          "-device", "{\"driver\":\"virtio-net-pci\",\"netdev\":\"hostnet0\",\"id\":\"net0\","
                     "\"mac\":\"52:54:00:12:34:56\",\"bus\":\"pci.1\",\"addr\":\"0x0\"}",
          "-audiodev", "{\"id\":\"audio1\",\"driver\":\"none\"}",
          "-vnc", "127.0.0.1:0,audiodev=audio1",
          "-device", "{\"driver\":\"VGA\",\"id\":\"video0\",\"vgamem_mb\":16,\"bus\":\"pcie.0\","
                     "\"addr\":\"0x2\"}",
          "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
          "-msg", "timestamp=on"),
     .guest_ram = 268435456, .disks = 1, .nics = 1, .videos = 1, .vnc = true,
     .vm_name = "t1", .extra = check_libvirt9},
    {"libvirt/probe",
     ARGV("-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=kvm:tcg",
          "-qmp", "unix:/var/lib/libvirt/qemu/qmp-Ab12Cd/qmp.monitor,server=on,wait=off",
          "-pidfile", "/var/lib/libvirt/qemu/qmp-Ab12Cd/qmp.pid", "-daemonize"),
     .host = HOST_KVM, .accel = VM_ACCEL_KVM, .probe = true,
     .extra = check_probe_machine_none},
    {"libvirt/probe-tcg",
     ARGV("-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=tcg",
          "-qmp", "unix:/x/qmp.monitor,server=on,wait=off", "-pidfile", "/x/qmp.pid",
          "-daemonize"),
     .host = HOST_KVM, .probe = true, .extra = check_probe_machine_none},
    /* Row 1: 2095104 KiB = 2145386496 on one NUMA node; virtio-mem plugs 512 MiB of anon and
     * 1 GiB of 2M hugepages. */
    {"libvirt/virtio-mem",
     ARGV("-name", "guest=QEMUGuest1,debug-threads=on", "-S",
          "-machine", "pc,usb=off,dump-guest-core=off,acpi=off", "-accel", "kvm",
          "-cpu", "qemu64", "-m", "size=2095104k,maxmem=1099511627776k",
          "-overcommit", "mem-lock=off", "-smp", "2,sockets=2,dies=1,clusters=1,cores=1,threads=1",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram-node0\","
                     "\"size\":2145386496}",
          "-numa", "node,nodeid=0,cpus=0-1,memdev=ram-node0", "-display", "none",
          "-no-user-config", "-nodefaults",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"memvirtiomem0\","
                     "\"reserve\":false,\"size\":1073741824}",
          "-device", "{\"driver\":\"virtio-mem-pci\",\"node\":0,\"block-size\":2097152,"
                     "\"requested-size\":536870912,\"memdev\":\"memvirtiomem0\","
                     "\"id\":\"virtiomem0\",\"bus\":\"pci.0\",\"addr\":\"0x2\"}",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"memvirtiomem1\","
                     "\"mem-path\":\"/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1\","
                     "\"reserve\":false,\"size\":2147483648,\"host-nodes\":[1,2,3],"
                     "\"policy\":\"bind\"}",
          "-device", "{\"driver\":\"virtio-mem-pci\",\"node\":0,\"block-size\":2097152,"
                     "\"requested-size\":1073741824,\"memdev\":\"memvirtiomem1\","
                     "\"prealloc\":true,\"memaddr\":5637144576,\"dynamic-memslots\":true,"
                     "\"id\":\"virtiomem1\",\"bus\":\"pci.1\",\"addr\":\"0x1\"}",
          "-blockdev", "{\"driver\":\"host_device\",\"filename\":\"/dev/HostVG/QEMUGuest1\","
                       "\"node-name\":\"libvirt-1-storage\",\"read-only\":false}",
          "-device", "{\"driver\":\"ide-hd\",\"bus\":\"ide.0\",\"unit\":0,"
                     "\"drive\":\"libvirt-1-storage\",\"id\":\"ide0-0-0\",\"bootindex\":1}"),
     .host = HOST_KVM, .guest_ram = 2682257408, .hugetlb_ram = 1073741824, .vcpus = 2,
     .accel = VM_ACCEL_KVM, .disks = 1, .vm_name = "QEMUGuest1", .extra = check_virtio_mem},
    /* Row 2, JSON: 214 MiB + a 512 MiB anon dimm + a 512 MiB 2M-hugepage dimm. */
    {"libvirt/dimm",
     ARGV("-machine", "pc,usb=off", "-accel", "kvm",
          "-m", "size=219136k,slots=16,maxmem=1099511627776k",
          "-smp", "2,sockets=2,cores=1,threads=1",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram-node0\","
                     "\"size\":224395264}",
          "-numa", "node,nodeid=0,cpus=0-1,memdev=ram-node0",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"memdimm0\",\"size\":536870912}",
          "-device", "{\"driver\":\"pc-dimm\",\"node\":0,\"memdev\":\"memdimm0\",\"id\":\"dimm0\","
                     "\"slot\":0}",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"memdimm1\","
                     "\"mem-path\":\"/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1\","
                     "\"prealloc\":true,\"size\":536870912,\"host-nodes\":[1,2,3],"
                     "\"policy\":\"bind\"}",
          "-device", "{\"driver\":\"pc-dimm\",\"node\":0,\"memdev\":\"memdimm1\",\"id\":\"dimm1\","
                     "\"slot\":1}",
          "-nodefaults", "-display", "none"),
     .host = HOST_KVM, .guest_ram = 761266176, .hugetlb_ram = 536870912, .vcpus = 2,
     .accel = VM_ACCEL_KVM, .extra = check_dimm_legacy},
    /* Row 21, the 9.0 QemuOpts form: legacy -numa mem=214 (MiB) splits -m. */
    {"libvirt/dimm-qemuopts",
     ARGV("-machine", "pc,usb=off", "-accel", "tcg",
          "-m", "size=219136k,slots=16,maxmem=1099511627776k",
          "-smp", "2,sockets=2,cores=1,threads=1",
          "-numa", "node,nodeid=0,cpus=0-1,mem=214",
          "-object", "memory-backend-ram,id=memdimm0,size=536870912",
          "-device", "pc-dimm,node=0,memdev=memdimm0,id=dimm0,slot=0",
          "-object", "memory-backend-file,id=memdimm1,"
                     "mem-path=/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1,prealloc=on,"
                     "size=536870912,host-nodes=1-3,policy=bind",
          "-device", "pc-dimm,node=0,memdev=memdimm1,id=dimm1,slot=1",
          "-nodefaults", "-display", "none"),
     .guest_ram = 761266176, .hugetlb_ram = 536870912, .vcpus = 2, .extra = check_dimm_legacy},
    /* Rows 3 and 22: all 214 MiB on 2M hugepages, charged to hugetlb unless the mount option says
     * otherwise; a path beside the mounts is just a file. */
    {"libvirt/hugepages-default",
     ARGV("-machine", "pc,usb=off,memory-backend=pc.ram", "-accel", "kvm", "-m", "size=219136k",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"pc.ram\","
                     "\"mem-path\":\"/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1\","
                     "\"prealloc\":true,\"x-use-canonical-path-for-ramblock-id\":false,"
                     "\"size\":224395264}",
          "-smp", "1,sockets=1,cores=1,threads=1", "-nodefaults", "-display", "none"),
     .host = HOST_KVM, .hugetlb_ram = 224395264, .accel = VM_ACCEL_KVM,
     .extra = check_hugepages_default},
    {"libvirt/hugepages-9.0",
     ARGV("-machine", "pc,usb=off,memory-backend=pc.ram", "-accel", "kvm", "-m", "214",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"pc.ram\","
                     "\"mem-path\":\"/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1\","
                     "\"prealloc\":true,\"x-use-canonical-path-for-ramblock-id\":false,"
                     "\"size\":224395264}",
          "-nodefaults", "-display", "none"),
     .host = HOST_KVM, .hugetlb_ram = 224395264, .accel = VM_ACCEL_KVM,
     .extra = check_hugepages_default},
    {"libvirt/hugepages-memcg",
     ARGV("-machine", "pc,memory-backend=pc.ram", "-m", "214",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"pc.ram\","
                     "\"mem-path\":\"/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1\","
                     "\"size\":224395264}",
          "-nodefaults", "-display", "none"),
     .host = HOST_MEMCG, .guest_ram = 224395264, .extra = check_hugepages_kind},
    {"libvirt/hugepages-not-mounted",
     ARGV("-machine", "pc,memory-backend=pc.ram", "-m", "214",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"pc.ram\","
                     "\"mem-path\":\"/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1\","
                     "\"size\":224395264}",
          "-nodefaults", "-display", "none"),
     .host = HOST_NO_HUGE, .guest_ram = 224395264, .extra = check_hugepages_unmounted},
    /* Row 4: 14336 MiB of memfd hugepages on one node + a 512 MiB nvdimm file in /tmp. */
    {"libvirt/memfd-numa",
     ARGV("-machine", "pc,usb=off,nvdimm=on", "-accel", "kvm",
          "-m", "size=14680064k,slots=16,maxmem=1099511627776k",
          "-smp", "8,sockets=1,dies=1,cores=8,threads=1",
          "-object", "{\"qom-type\":\"thread-context\",\"id\":\"tc-ram-node0\","
                     "\"node-affinity\":[3]}",
          "-object", "{\"qom-type\":\"memory-backend-memfd\",\"id\":\"ram-node0\","
                     "\"hugetlb\":true,\"hugetlbsize\":2097152,\"share\":true,\"prealloc\":true,"
                     "\"prealloc-threads\":8,\"prealloc-context\":\"tc-ram-node0\","
                     "\"size\":15032385536,\"host-nodes\":[3],\"policy\":\"preferred\"}",
          "-numa", "node,nodeid=0,cpus=0-7,memdev=ram-node0",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"memnvdimm0\","
                     "\"mem-path\":\"/tmp/nvdimm\",\"share\":true,\"prealloc\":true,"
                     "\"size\":536870912}",
          "-device", "{\"driver\":\"nvdimm\",\"node\":0,\"memdev\":\"memnvdimm0\","
                     "\"id\":\"nvdimm0\",\"slot\":0}",
          "-nodefaults", "-display", "none"),
     .host = HOST_KVM, .guest_ram = 536870912, .hugetlb_ram = 15032385536, .vcpus = 8,
     .accel = VM_ACCEL_KVM, .extra = check_memfd_numa},
    /* Row 5. */
    {"libvirt/mlock-on",
     ARGV("-machine", "pc,usb=off,memory-backend=pc.ram", "-accel", "tcg", "-m", "size=219136k",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":224395264}",
          "-overcommit", "mem-lock=on", "-smp", "1,sockets=1,cores=1,threads=1",
          "-nodefaults", "-display", "none"),
     .guest_ram = 224395264, .extra = check_mlock},
    /* Row 6. */
    {"libvirt/hostdev-vfio",
     ARGV("-machine", "pc,usb=off,memory-backend=pc.ram", "-accel", "kvm", "-m", "size=219136k",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":224395264}",
          "-nodefaults", "-display", "none",
          "-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:06:12.1\",\"id\":\"hostdev0\","
                     "\"bus\":\"pci.0\",\"addr\":\"0x3\"}",
          "-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:06:12.2\",\"id\":\"hostdev1\","
                     "\"bus\":\"pci.0\",\"addr\":\"0x4\"}",
          "-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:06:12.3\",\"id\":\"hostdev2\","
                     "\"bus\":\"pci.0\",\"addr\":\"0x5\"}",
          "-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:06:12.4\",\"id\":\"hostdev3\","
                     "\"bus\":\"pci.0\",\"addr\":\"0x6\"}"),
     .host = HOST_KVM, .guest_ram = 224395264, .accel = VM_ACCEL_KVM, .vfio = 4},
    /* Row 7. */
    {"libvirt/iothreads",
     ARGV("-machine", "pc,usb=off", "-m", "214", "-smp", "2,sockets=2,cores=1,threads=1",
          "-object", "{\"qom-type\":\"iothread\",\"id\":\"iothread1\"}",
          "-object", "{\"qom-type\":\"iothread\",\"id\":\"iothread2\",\"thread-pool-min\":8,"
                     "\"thread-pool-max\":16}",
          "-nodefaults", "-display", "none"),
     .guest_ram = 224395264, .vcpus = 2, .iothreads = 2},
    /* Row 8: 14 GiB in a shared file under /var/lib: page cache. */
    {"libvirt/fd-memory-no-numa",
     ARGV("-machine", "pc,usb=off,memory-backend=pc.ram", "-accel", "kvm", "-m", "size=14680064k",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"pc.ram\","
                     "\"mem-path\":\"/var/lib/libvirt/qemu/ram/-1-instance-00000092/pc.ram\","
                     "\"share\":true,\"prealloc\":true,\"size\":15032385536}",
          "-smp", "8,sockets=8,cores=1,threads=1", "-nodefaults", "-display", "none"),
     .host = HOST_KVM, .guest_ram = 15032385536, .vcpus = 8, .accel = VM_ACCEL_KVM,
     .extra = check_file_shared},
    /* Row 9: two 107 MiB file nodes make -m 214. */
    {"libvirt/numa-memshared",
     ARGV("-m", "214", "-smp", "16,sockets=2,dies=1,cores=4,threads=2",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"ram-node0\","
                     "\"mem-path\":\"/var/lib/libvirt/qemu/ram/-1-QEMUGuest1/ram-node0\","
                     "\"share\":true,\"size\":112197632}",
          "-numa", "node,nodeid=0,cpus=0-7,memdev=ram-node0",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"ram-node1\","
                     "\"mem-path\":\"/var/lib/libvirt/qemu/ram/-1-QEMUGuest1/ram-node1\","
                     "\"share\":false,\"size\":112197632}",
          "-numa", "node,nodeid=1,cpus=8-15,memdev=ram-node1", "-nodefaults", "-display", "none"),
     .guest_ram = 224395264, .vcpus = 16, .extra = check_numa_shared},
    /* Row 10: a 1 GiB node on 2M pages + a 1 GiB dimm on 1G pages. */
    {"libvirt/hugepages-numa-dimm",
     ARGV("-m", "size=1048576k,slots=16,maxmem=1099511627776k",
          "-smp", "2,sockets=2,cores=1,threads=1",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"ram-node0\","
                     "\"mem-path\":\"/dev/hugepages2M/libvirt/qemu/-1-fedora\","
                     "\"size\":1073741824}",
          "-numa", "node,nodeid=0,cpus=0-1,memdev=ram-node0",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"memdimm0\","
                     "\"mem-path\":\"/dev/hugepages1G/libvirt/qemu/-1-fedora\","
                     "\"size\":1073741824}",
          "-device", "{\"driver\":\"pc-dimm\",\"node\":0,\"memdev\":\"memdimm0\",\"id\":\"dimm0\","
                     "\"slot\":0}",
          "-nodefaults", "-display", "none"),
     .hugetlb_ram = 2147483648, .vcpus = 2},
    /* Row 11. */
    {"libvirt/cpu-hotplug-startup",
     ARGV("-m", "214", "-smp", "1,maxcpus=6,sockets=3,cores=2,threads=1", "-nodefaults"),
     .guest_ram = 224395264, .vcpus = 1, .maxcpus = 6},
    /* Row 12: 20 MiB + 24064 MiB + 21 MiB = 24105 MiB, repeated cpus= keys. */
    {"libvirt/numatune-memnode",
     ARGV("-m", "24105", "-smp", "32,sockets=32,cores=1,threads=1",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram-node0\","
                     "\"size\":20971520,\"host-nodes\":[3],\"policy\":\"preferred\"}",
          "-numa", "node,nodeid=0,cpus=0,memdev=ram-node0",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram-node1\","
                     "\"size\":25232932864,\"host-nodes\":[0,1,2,3,4,5,6,7],\"policy\":\"bind\"}",
          "-numa", "node,nodeid=1,cpus=1-27,cpus=29,memdev=ram-node1",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram-node2\","
                     "\"size\":22020096,\"host-nodes\":[1,2,3],\"policy\":\"bind\"}",
          "-numa", "node,nodeid=2,cpus=28,cpus=30-31,memdev=ram-node2",
          "-nodefaults", "-display", "none"),
     .guest_ram = 25275924480, .vcpus = 32},
    /* Row 13. */
    {"libvirt/numa-legacy-mem",
     ARGV("-machine", "pc-i440fx-5.0,usb=off", "-m", "1024", "-mem-prealloc",
          "-smp", "8,sockets=8,cores=1,threads=1", "-numa", "node,nodeid=0,cpus=0-7,mem=1024",
          "-nodefaults", "-display", "none"),
     .guest_ram = 1073741824, .vcpus = 8, .extra = check_prealloc},
    /* Row 14: a shared pc.ram for vhost-user, one NIC with 4 queues. */
    {"libvirt/net-vhostuser",
     ARGV("-machine", "pc,usb=off,memory-backend=pc.ram", "-m", "size=219136k",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"pc.ram\","
                     "\"mem-path\":\"/var/lib/libvirt/qemu/ram/-1-QEMUGuest1/pc.ram\","
                     "\"share\":true,\"size\":224395264}",
          "-nodefaults", "-display", "none",
          "-chardev", "socket,id=charnet0,path=/tmp/vhost0.sock",
          "-netdev", "{\"type\":\"vhost-user\",\"chardev\":\"charnet0\",\"queues\":4,"
                     "\"id\":\"hostnet0\"}",
          "-device", "{\"driver\":\"virtio-net-pci\",\"mq\":true,\"vectors\":10,"
                     "\"netdev\":\"hostnet0\",\"id\":\"net0\",\"mac\":\"52:54:00:ee:96:6b\"}"),
     .guest_ram = 224395264, .nics = 1, .extra = check_vhostuser},
    /* Row 15: ivshmem backends in /dev/shm are mapped by this qemu: 214 MiB + 4 + 128 + 256. */
    {"libvirt/shmem-plain-doorbell",
     ARGV("-machine", "pc,usb=off,memory-backend=pc.ram", "-m", "size=219136k",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":224395264}",
          "-nodefaults", "-display", "none",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"shmmem-shmem0\","
                     "\"mem-path\":\"/dev/shm/shmem0\",\"size\":4194304,\"share\":true}",
          "-device", "{\"driver\":\"ivshmem-plain\",\"id\":\"shmem0\","
                     "\"memdev\":\"shmmem-shmem0\",\"bus\":\"pci.0\",\"addr\":\"0x3\"}",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"shmmem-shmem1\","
                     "\"mem-path\":\"/dev/shm/shmem1\",\"size\":134217728,\"share\":true}",
          "-device", "{\"driver\":\"ivshmem-plain\",\"id\":\"shmem1\","
                     "\"memdev\":\"shmmem-shmem1\",\"bus\":\"pci.0\",\"addr\":\"0x5\"}",
          "-object", "{\"qom-type\":\"memory-backend-file\",\"id\":\"shmmem-shmem2\","
                     "\"mem-path\":\"/dev/shm/shmem2\",\"size\":268435456,\"share\":true}",
          "-device", "{\"driver\":\"ivshmem-plain\",\"id\":\"shmem2\","
                     "\"memdev\":\"shmmem-shmem2\",\"bus\":\"pci.0\",\"addr\":\"0x6\"}",
          "-chardev", "socket,id=charshmem3,path=/var/lib/libvirt/shmem/shmem3-sock",
          "-device", "{\"driver\":\"ivshmem-doorbell\",\"id\":\"shmem3\","
                     "\"chardev\":\"charshmem3\",\"vectors\":5,\"bus\":\"pci.0\","
                     "\"addr\":\"0x7\"}"),
     .guest_ram = 631242752, .extra = check_ivshmem},
    /* Row 16: a multi-KB argument in the middle. */
    {"libvirt/sev-snp",
     ARGV("-machine", "pc-q35,usb=off,confidential-guest-support=lsec0,memory-backend=pc.ram",
          "-accel", "kvm", "-m", "size=219136k",
          "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":224395264}",
          "-object", "{\"qom-type\":\"sev-snp-guest\",\"id\":\"lsec0\",\"cbitpos\":51,"
                     "\"reduced-phys-bits\":1,\"policy\":196608,"
                     "\"id-block\":\"" B64_1K B64_1K "\",\"id-auth\":\"" B64_1K B64_1K B64_1K
                     "\",\"host-data\":\"" B64_64 "\"}",
          "-nodefaults", "-display", "none"),
     .host = HOST_KVM, .guest_ram = 224395264, .accel = VM_ACCEL_KVM},
    /* Row 17: ",," is a literal comma, in -name and in -drive values. */
    {"libvirt/name-escape",
     ARGV("-name", "guest=foo=1,,bar=2,debug-threads=on", "-m", "214",
          "-drive", "file=/tmp/a,,b=c.img,format=raw,if=none,id=drive,,0", "-nodefaults"),
     .guest_ram = 224395264, .disks = 1, .vm_name = "foo=1,bar=2",
     .extra = check_name_escape_disk},
    /* Rows 18-19: fds passed in change nothing here. */
    {"libvirt/fds",
     ARGV("-m", "214", "-add-fd", "set=0,fd=1750,opaque=serial0-log", "-nodefaults",
          "-netdev", "{\"type\":\"tap\",\"fd\":\"3\",\"vhost\":true,\"vhostfd\":\"44\","
                     "\"id\":\"hostnet0\"}",
          "-device", "{\"driver\":\"virtio-net-pci\",\"netdev\":\"hostnet0\",\"id\":\"net0\"}"),
     .guest_ram = 224395264, .nics = 1, .extra = check_queues_1},
    /* Row 20: cache.direct from the format node, and a bare storage node as a raw disk. */
    {"libvirt/disk-cache",
     ARGV("-m", "214", "-nodefaults",
          "-blockdev", "{\"driver\":\"file\",\"filename\":\"/var/lib/libvirt/images/a.qcow2\","
                       "\"node-name\":\"libvirt-5-storage\",\"cache\":{\"direct\":true,"
                       "\"no-flush\":false},\"auto-read-only\":true,\"discard\":\"unmap\"}",
          "-blockdev", "{\"node-name\":\"libvirt-5-format\",\"read-only\":false,"
                       "\"cache\":{\"direct\":true,\"no-flush\":false},\"driver\":\"qcow2\","
                       "\"file\":\"libvirt-5-storage\"}",
          "-blockdev", "{\"driver\":\"file\",\"filename\":\"/var/lib/libvirt/images/b.img\","
                       "\"node-name\":\"libvirt-4-storage\",\"cache\":{\"direct\":false,"
                       "\"no-flush\":false}}",
          "-blockdev", "{\"node-name\":\"libvirt-4-format\",\"read-only\":false,"
                       "\"cache\":{\"direct\":false,\"no-flush\":false},\"driver\":\"raw\","
                       "\"file\":\"libvirt-4-storage\"}",
          "-blockdev", "{\"driver\":\"host_device\",\"filename\":\"/dev/HostVG/QEMUGuest1\","
                       "\"node-name\":\"libvirt-3-storage\",\"cache\":{\"direct\":true,"
                       "\"no-flush\":true}}"),
     .guest_ram = 224395264, .disks = 3, .extra = check_disk_cache},
    /* Row 23, 9.0: legacy -mem-path in a disk directory. */
    {"libvirt/mem-path-file",
     ARGV("-m", "14336", "-mem-prealloc",
          "-mem-path", "/var/lib/libvirt/qemu/ram/libvirt/qemu/-1-QEMUGuest1",
          "-smp", "8,sockets=8,cores=1,threads=1", "-nodefaults"),
     .guest_ram = 15032385536, .vcpus = 8, .extra = check_prealloc},

    /* ---- kinds of guest RAM ---- */
    {"ram/mem-path-hugetlbfs", ARGV("-m", "1G", "-mem-path", "/dev/hugepages", "-mem-prealloc",
                                    "-nodefaults"),
     .hugetlb_ram = 1073741824, .extra = check_mem_path_hugetlb},
    {"ram/mem-path-hugetlbfs-memcg", ARGV("-m", "1G", "-mem-path", "/dev/hugepages/vm1",
                                          "-nodefaults"),
     .host = HOST_MEMCG, .guest_ram = 1073741824},
    {"ram/mem-path-shm", ARGV("-m", "1G", "-mem-path", "/dev/shm", "-nodefaults"),
     .guest_ram = 1073741824},
    {"ram/memfd-hugetlb",
     ARGV("-m", "2G", "-object", "memory-backend-memfd,id=mem,size=2G,hugetlb=on,share=on",
          "-machine", "q35,memory-backend=mem", "-nodefaults"),
     .hugetlb_ram = 2147483648},
    {"ram/memfd-hugetlb-yes",
     ARGV("-object", "memory-backend-memfd,id=mem,size=1G,hugetlb=yes", "-machine",
          "memory-backend=mem", "-nodefaults"),
     .hugetlb_ram = 1073741824},
    {"ram/memfd-shared",
     ARGV("-m", "1024", "-object", "memory-backend-memfd,id=mem,size=1G,share=on",
          "-machine", "memory-backend=mem", "-nodefaults"),
     .guest_ram = 1073741824, .extra = check_memfd_shared},
    {"ram/memfd-share-default",
     ARGV("-m", "1024", "-object", "memory-backend-memfd,id=mem,size=1G",
          "-machine", "memory-backend=mem", "-nodefaults"),
     .guest_ram = 1073741824, .extra = check_memfd_default_share},
    {"ram/ram-shared",
     ARGV("-m", "512", "-object", "memory-backend-ram,id=r,size=512M,share=on",
          "-machine", "memory-backend=r", "-nodefaults"),
     .guest_ram = 536870912, .extra = check_ram_shared},
    /* Backends nothing uses as RAM are mapped but never touched by the guest: not guest RAM. */
    {"ram/unreferenced-backends",
     ARGV("-m", "1G", "-nodefaults",
          "-object", "memory-backend-file,id=shm,mem-path=/dev/shm/a,size=16M",
          "-object", "memory-backend-file,id=run,mem-path=/run/qemu/b,size=16M",
          "-object", "memory-backend-file,id=tmp,mem-path=/tmp/c,size=16M",
          "-object", "memory-backend-file,id=shmish,mem-path=/dev/shmem/d,size=16M"),
     .guest_ram = 1073741824, .extra = check_shm_kinds},
    {"ram/unreferenced-hugetlb",
     ARGV("-m", "1G", "-nodefaults",
          "-object", "memory-backend-file,id=h,mem-path=/dev/hugepages1G/x,size=2G"),
     .guest_ram = 1073741824, .hugetlb_ram = 0},
    /* The review's lever: qemu 7.2 starts with this, and memory.min would have been 1 TiB. */
    {"ram/unreferenced-huge-reserve-off",
     ARGV("-m", "512M", "-nodefaults",
          "-object", "memory-backend-ram,id=big,size=1T,reserve=off"),
     .guest_ram = 536870912},
    {"ram/backend-sets-ram-size",
     ARGV("-object", "memory-backend-ram,id=r,size=256M", "-machine", "memory-backend=r",
          "-nodefaults"),
     .guest_ram = 268435456, .extra = check_backend_sets_ram_size},
    {"ram/backend-after-machine",
     ARGV("-machine", "q35,memory-backend=r", "-m", "256",
          "-object", "memory-backend-ram,id=r,size=268435456", "-nodefaults"),
     .guest_ram = 268435456},
    {"ram/virtio-mem-default-requested",
     ARGV("-m", "1G,maxmem=4G", "-object", "memory-backend-ram,id=vm0,size=2G",
          "-device", "virtio-mem-pci,id=vmem0,memdev=vm0", "-nodefaults"),
     .guest_ram = 1073741824},
    {"ram/virtio-mem-qemuopts",
     ARGV("-m", "1G,maxmem=4G", "-object", "memory-backend-ram,id=vm0,size=2G",
          "-device", "virtio-mem-pci,id=vmem0,memdev=vm0,requested-size=512M", "-nodefaults"),
     .guest_ram = 1610612736},
    {"ram/virtio-pmem",
     ARGV("-m", "1G,slots=2,maxmem=4G",
          "-object", "memory-backend-file,id=pm,mem-path=/var/lib/pmem.img,size=1G,share=on",
          "-device", "virtio-pmem-pci,memdev=pm,id=pmem0", "-nodefaults"),
     .guest_ram = 2147483648},
    {"ram/sgx-epc",
     ARGV("-m", "1G", "-object", "memory-backend-epc,id=mem1,size=28M,prealloc=on",
          "-M", "q35,sgx-epc.0.memdev=mem1,sgx-epc.0.node=0", "-nodefaults"),
     .guest_ram = 1103101952, .extra = check_prealloc},
    {"ram/numa-no-memory", ARGV("-m", "2G", "-smp", "2", "-numa", "node,nodeid=0,cpus=0",
                                "-numa", "node,nodeid=1,cpus=1", "-nodefaults"),
     .guest_ram = 2147483648, .vcpus = 2},
    {"ram/numa-legacy-mem-hugetlbfs",
     ARGV("-m", "2G", "-mem-path", "/dev/hugepages2M", "-numa", "node,mem=1G",
          "-numa", "node,mem=1024", "-nodefaults"),
     .hugetlb_ram = 2147483648},

    /* ---- refusals ---- */
    {"refuse/json", ARGV("-m", "1G", "-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":"),
     .err = EINVAL, .bad_index = 3, .message = "-object"},
    {"refuse/numa-memdev-missing", ARGV("-m", "1G", "-numa", "node,memdev=ram9"),
     .err = EINVAL, .bad_index = 3,
     .message = "memdev 'ram9' in '-numa node,memdev=ram9' names no memory backend"},
    {"refuse/machine-memdev-missing", ARGV("-machine", "q35,memory-backend=pc.ram", "-m", "1G"),
     .err = EINVAL, .bad_index = 1,
     .message = "memdev 'pc.ram' in '-machine q35,memory-backend=pc.ram' names no memory backend"},
    {"refuse/dimm-memdev-missing",
     ARGV("-m", "1G,slots=2,maxmem=2G", "-device", "pc-dimm,id=d0,memdev=nope"),
     .err = EINVAL, .bad_index = 3, .message = "memdev 'nope'"},
    {"refuse/dimm-without-memdev", ARGV("-m", "1G,slots=2,maxmem=2G", "-device", "pc-dimm,id=d0"),
     .err = EINVAL, .bad_index = 3},
    {"refuse/readconfig", ARGV("-m", "1G", "-readconfig", "/etc/qemu/vm.cfg"),
     .err = EOPNOTSUPP, .bad_index = 3,
     .message = "'-readconfig' may set memory options that vmmem cannot see; refusing"},
    {"refuse/duplicate-backend",
     ARGV("-object", "memory-backend-ram,id=a,size=1G", "-object",
          "memory-backend-ram,id=a,size=2G"),
     .err = EINVAL, .bad_index = 3, .message = "duplicate memory backend id 'a'"},
    {"refuse/backend-without-size", ARGV("-object", "memory-backend-ram,id=a"),
     .err = EINVAL, .bad_index = 1, .message = "has no size"},
    {"refuse/backend-size-zero", ARGV("-object", "memory-backend-ram,id=a,size=0"),
     .err = EINVAL, .bad_index = 1},
    {"refuse/backend-without-id", ARGV("-object", "memory-backend-ram,size=1G"),
     .err = EINVAL, .bad_index = 1},
    {"refuse/backend-bad-size", ARGV("-object", "memory-backend-ram,id=a,size=1X"),
     .err = EINVAL, .bad_index = 1, .message = "invalid size '1X'"},
    {"refuse/backend-bad-bool", ARGV("-object", "memory-backend-ram,id=a,size=1G,prealloc=maybe"),
     .err = EINVAL, .bad_index = 1, .message = "-object memory-backend-ram"},
    {"refuse/numa-total-mismatch",
     ARGV("-m", "1G", "-object", "memory-backend-ram,id=n0,size=512M", "-numa",
          "node,memdev=n0"),
     .err = EINVAL, .bad_index = 5, .message = "NUMA nodes add up to 536870912 bytes"},
    {"refuse/numa-legacy-mismatch", ARGV("-m", "1G", "-numa", "node,mem=512"),
     .err = EINVAL, .bad_index = 3},
    {"refuse/numa-mixed",
     ARGV("-m", "1G", "-object", "memory-backend-ram,id=n0,size=512M", "-numa",
          "node,memdev=n0", "-numa", "node,mem=512"),
     .err = EINVAL, .bad_index = 7},
    {"refuse/numa-memdev-and-machine-backend",
     ARGV("-m", "1G", "-object", "memory-backend-ram,id=r,size=1G", "-machine",
          "memory-backend=r", "-numa", "node,memdev=r"),
     .err = EINVAL, .bad_index = 7},
    {"refuse/machine-backend-size-mismatch",
     ARGV("-m", "512", "-object", "memory-backend-ram,id=r,size=1G", "-machine",
          "memory-backend=r"),
     .err = EINVAL, .bad_index = 5},
    {"refuse/backend-used-twice",
     ARGV("-m", "1G,slots=2,maxmem=4G", "-object", "memory-backend-ram,id=r,size=1G",
          "-machine", "memory-backend=r", "-device", "pc-dimm,memdev=r"),
     .err = EINVAL, .bad_index = 7, .message = "already in use"},
    {"refuse/ram-overflow",
     ARGV("-m", "8E,slots=1,maxmem=15E", "-object", "memory-backend-ram,id=a,size=8E", "-device",
          "pc-dimm,memdev=a"),
     .err = ERANGE, .bad_index = 5},
    {"refuse/bad-smp", ARGV("-smp", "two"), .err = EINVAL, .bad_index = 1, .message = "-smp two"},
    {"refuse/smp-overflow", ARGV("-smp", "sockets=65536,cores=65536"), .err = ERANGE,
     .bad_index = 1},
    {"refuse/first-of-two", ARGV("-m", "12Q", "-numa", "node,memdev=x"), .err = EINVAL,
     .bad_index = 1, .message = "'-m 12Q'"},

    /* ---- probes: no guest RAM, nothing refused ---- */
    {"probe/version", ARGV("-version"), .probe = true, .nics = 1, .videos = 1},
    {"probe/help", ARGV("-help"), .probe = true, .nics = 1, .videos = 1},
    {"probe/h", ARGV("-h"), .probe = true, .nics = 1, .videos = 1},
    {"probe/device-help", ARGV("-device", "help"), .probe = true, .nics = 1, .videos = 1,
     .extra = check_probe_device_help},
    {"probe/device-props", ARGV("-device", "virtio-net-pci,help"), .probe = true, .nics = 2,
     .videos = 1},
    {"probe/cpu-help", ARGV("-cpu", "help"), .probe = true, .nics = 1, .videos = 1},
    {"probe/machine-question", ARGV("-M", "?"), .probe = true, .nics = 1, .videos = 1},
    {"probe/machine-help", ARGV("-machine", "help"), .probe = true, .nics = 1, .videos = 1},
    {"probe/accel-help", ARGV("-accel", "help"), .probe = true, .accel = VM_ACCEL_OTHER,
     .nics = 1, .videos = 1},
    {"probe/object-help", ARGV("-object", "memory-backend-ram,help"), .probe = true, .nics = 1,
     .videos = 1},
    {"probe/display-help", ARGV("-display", "help"), .probe = true, .nics = 1, .videos = 1},
    {"probe/d-help", ARGV("-d", "help"), .probe = true, .nics = 1, .videos = 1},
    {"probe/nic-model-help", ARGV("-net", "nic,model=?"), .probe = true, .nics = 1,
     .videos = 1},
    {"probe/machine-none", ARGV("-M", "none", "-S", "-nodefaults"), .probe = true},
    {"probe/machine-type-none", ARGV("-machine", "type=none", "-nodefaults"), .probe = true},
    {"probe/machine-none-bad-memory",
     ARGV("-machine", "none", "-m", "12Q", "-numa", "node,memdev=nope", "-readconfig", "/x",
          "-nodefaults"),
     .probe = true},
    {"probe/help-after-refusal", ARGV("-readconfig", "/x", "-version", "-nodefaults"),
     .probe = true},
    {"not-probe/machine-none-then-pc", ARGV("-M", "none", "-M", "pc", "-nodefaults"),
     .guest_ram = 134217728},
    {"not-probe/append-help", ARGV("-kernel", "/boot/vmlinuz", "-append", "help", "-nodefaults"),
     .guest_ram = 134217728},
    {"not-probe/name-help", ARGV("-name", "help", "-nodefaults"), .guest_ram = 134217728,
     .vm_name = "help"},
    {"not-probe/file-named-help", ARGV("-drive", "file=help,format=raw", "-nodefaults"),
     .guest_ram = 134217728, .disks = 1},

    /* ---- -smp (qemu 7.2 machine_parse_smp_config) ---- */
    {"smp/cpus", ARGV("-smp", "4", "-nodefaults"), .guest_ram = 134217728, .vcpus = 4},
    {"smp/cpus-key", ARGV("-smp", "cpus=3", "-nodefaults"), .guest_ram = 134217728, .vcpus = 3},
    {"smp/maxcpus", ARGV("-smp", "2,maxcpus=4", "-nodefaults"), .guest_ram = 134217728,
     .vcpus = 2, .maxcpus = 4},
    {"smp/topology-only", ARGV("-smp", "sockets=2,cores=2", "-nodefaults"),
     .guest_ram = 134217728, .vcpus = 4},
    {"smp/full-topology", ARGV("-smp", "sockets=2,dies=2,clusters=1,cores=2,threads=2",
                               "-nodefaults"),
     .guest_ram = 134217728, .vcpus = 16},
    {"smp/maxcpus-only", ARGV("-smp", "maxcpus=8", "-nodefaults"), .guest_ram = 134217728,
     .vcpus = 8},
    {"smp/libvirt", ARGV("-smp", "16,sockets=2,dies=1,cores=4,threads=2", "-nodefaults"),
     .guest_ram = 134217728, .vcpus = 16},
    {"smp/zero-is-omitted", ARGV("-smp", "0", "-nodefaults"), .guest_ram = 134217728},
    {"smp/merged", ARGV("-smp", "4", "-smp", "maxcpus=8", "-nodefaults"),
     .guest_ram = 134217728, .vcpus = 4, .maxcpus = 8},
    /* qemu refuses maxcpus < cpus; the counts still never go below vcpus. */
    {"smp/maxcpus-below", ARGV("-smp", "4,maxcpus=2", "-nodefaults"), .guest_ram = 134217728,
     .vcpus = 4},

    /* ---- accelerators ---- */
    {"accel/default-tcg", ARGV("-nodefaults"), .host = HOST_KVM, .guest_ram = 134217728,
     .extra = check_no_tb_size},
    {"accel/kvm", ARGV("-accel", "kvm", "-nodefaults"), .host = HOST_KVM,
     .guest_ram = 134217728, .accel = VM_ACCEL_KVM},
    {"accel/kvm-unusable", ARGV("-accel", "kvm", "-nodefaults"), .host = HOST_NO_KVM,
     .guest_ram = 134217728, .accel = VM_ACCEL_KVM},
    {"accel/machine-list-kvm", ARGV("-machine", "q35,accel=kvm:tcg", "-nodefaults"),
     .host = HOST_KVM, .guest_ram = 134217728, .accel = VM_ACCEL_KVM},
    {"accel/machine-list-no-kvm", ARGV("-machine", "q35,accel=kvm:tcg", "-nodefaults"),
     .host = HOST_NO_KVM, .guest_ram = 134217728, .accel = VM_ACCEL_TCG},
    {"accel/enable-kvm", ARGV("-enable-kvm", "-nodefaults"), .host = HOST_KVM,
     .guest_ram = 134217728, .accel = VM_ACCEL_KVM},
    {"accel/fallback", ARGV("-accel", "kvm", "-accel", "tcg,tb-size=256", "-nodefaults"),
     .host = HOST_NO_KVM, .guest_ram = 134217728, .extra = check_tb_size},
    {"accel/fallback-unused", ARGV("-accel", "kvm", "-accel", "tcg,tb-size=256", "-nodefaults"),
     .host = HOST_KVM, .guest_ram = 134217728, .accel = VM_ACCEL_KVM,
     .extra = check_no_tb_size},
    {"accel/tb-size", ARGV("-accel", "tcg,tb-size=256,thread=multi", "-nodefaults"),
     .guest_ram = 134217728, .extra = check_tb_size},
    {"accel/xen", ARGV("-accel", "xen", "-nodefaults"), .guest_ram = 134217728,
     .accel = VM_ACCEL_OTHER},
    {"accel/qtest", ARGV("-machine", "accel=qtest", "-nodefaults"), .guest_ram = 134217728,
     .accel = VM_ACCEL_OTHER},
    {"accel/hvf-falls-back", ARGV("-machine", "accel=hvf:tcg", "-nodefaults"),
     .host = HOST_KVM, .guest_ram = 134217728},

    /* ---- disks ---- */
    {"disk/drive-qcow2",
     ARGV("-drive", "file=/var/lib/a.qcow2,format=qcow2,if=virtio,id=drive0,cache=none,"
                    "l2-cache-size=4M", "-nodefaults"),
     .guest_ram = 134217728, .disks = 1, .extra = check_drive_qcow2},
    {"disk/drive-driver-key", ARGV("-drive", "file=/a.qcow2,driver=qcow2", "-nodefaults"),
     .guest_ram = 134217728, .disks = 1, .extra = check_drive_driver},
    {"disk/drive-empty-cdrom", ARGV("-drive", "if=none,media=cdrom,id=cd0", "-nodefaults"),
     .guest_ram = 134217728},
    {"disk/drive-caches",
     ARGV("-drive", "file=/a.qcow2,format=qcow2,l2-cache-size=1M,refcount-cache-size=256K",
          "-drive", "file=/b.qcow2,format=qcow2,cache-size=8M,l2-cache-size=1M,cache=directsync",
          "-drive", "file=/c.img,cache=none,cache.direct=off",
          "-drive", "file=/d.img,cache.direct=on", "-nodefaults"),
     .guest_ram = 134217728, .disks = 4, .extra = check_drive_caches},
    {"disk/drive-protocol-only", ARGV("-drive", "file.driver=nbd,file.host=h,file.export=e",
                                      "-nodefaults"),
     .guest_ram = 134217728, .disks = 1},
    {"disk/legacy-paths",
     ARGV("-hdb", "/b.img", "-cdrom", "/c.iso", "/a.img", "-hdc", "", "-nodefaults"),
     .guest_ram = 134217728, .disks = 3, .extra = check_plain_disks},
    {"disk/blockdev-protocol-only",
     ARGV("-blockdev", "{\"driver\":\"host_device\",\"filename\":\"/dev/vg/lv\","
                       "\"node-name\":\"libvirt-1-storage\"}", "-nodefaults"),
     .guest_ram = 134217728, .disks = 1, .extra = check_protocol_only},
    {"disk/blockdev-backing-chain",
     ARGV("-blockdev", "driver=file,node-name=libvirt-1-storage,filename=/base.qcow2",
          "-blockdev", "driver=qcow2,node-name=libvirt-1-format,file=libvirt-1-storage,"
                       "l2-cache-size=2M",
          "-blockdev", "driver=file,node-name=libvirt-2-storage,filename=/top.qcow2,"
                       "cache.direct=on",
          "-blockdev", "driver=qcow2,node-name=libvirt-2-format,file=libvirt-2-storage,"
                       "backing=libvirt-1-format,cache.direct=on", "-nodefaults"),
     .guest_ram = 134217728, .disks = 2, .extra = check_backing_chain},
    {"disk/blockdev-filter",
     ARGV("-object", "throttle-group,id=tg0,x-bps-total=1000000",
          "-blockdev", "{\"driver\":\"file\",\"filename\":\"/a.qcow2\",\"node-name\":\"s\","
                       "\"cache\":{\"direct\":true}}",
          "-blockdev", "{\"driver\":\"qcow2\",\"node-name\":\"f\",\"file\":\"s\"}",
          "-blockdev", "{\"driver\":\"throttle\",\"node-name\":\"t\",\"throttle-group\":\"tg0\","
                       "\"file\":\"f\"}", "-nodefaults"),
     .guest_ram = 134217728, .disks = 1, .extra = check_filter},
    {"disk/blockdev-inline-file",
     ARGV("-blockdev", "driver=qcow2,node-name=q0,file.driver=file,file.filename=/x.qcow2,"
                       "file.cache.direct=on", "-nodefaults"),
     .guest_ram = 134217728, .disks = 1, .extra = check_inline_file},

    /* ---- NICs ---- */
    {"nic/nic", ARGV("-nic", "user,model=virtio-net-pci", "-nodefaults"),
     .guest_ram = 134217728, .nics = 1, .extra = check_queues_1},
    {"nic/nic-none", ARGV("-nic", "none"), .guest_ram = 134217728, .videos = 1,
     .extra = check_queues_0},
    {"nic/net-nic-user", ARGV("-net", "nic,model=e1000", "-net", "user"),
     .guest_ram = 134217728, .nics = 1, .videos = 1, .extra = check_queues_1},
    {"nic/netdev-queues",
     ARGV("-netdev", "tap,id=n0,queues=4,vhost=on", "-device", "virtio-net-pci,netdev=n0,mq=on"),
     .guest_ram = 134217728, .nics = 1, .videos = 1, .extra = check_queues_4},
    /* -device alone leaves qemu's default e1000 + user in place. */
    {"nic/devices-and-default",
     ARGV("-device", "e1000", "-device", "rtl8139", "-device", "vmxnet3", "-device", "usb-net",
          "-device", "virtio-net-pci-non-transitional"),
     .guest_ram = 134217728, .nics = 6, .videos = 1, .extra = check_queues_1},
    {"nic/nic-queues", ARGV("-nic", "tap,queues=2", "-nic", "user", "-nodefaults"),
     .guest_ram = 134217728, .nics = 2, .extra = check_queues_3},
    {"nic/nodefaults", ARGV("-nodefaults"), .guest_ram = 134217728, .extra = check_queues_0},
    {"nic/default-is-user", NO_ARGS, .guest_ram = 134217728, .nics = 1, .videos = 1,
     .extra = check_user_1},
    {"nic/nic-default-type-is-user", ARGV("-nic", "model=virtio-net-pci", "-nodefaults"),
     .guest_ram = 134217728, .nics = 1, .extra = check_user_1},
    {"nic/tap-is-not-user",
     ARGV("-netdev", "tap,id=n0,vhost=on", "-device", "virtio-net-pci,netdev=n0", "-nodefaults"),
     .guest_ram = 134217728, .nics = 1, .extra = check_user_0},
    {"nic/bridge-and-socket-are-not-user",
     ARGV("-nic", "bridge,br=br0", "-netdev", "socket,id=s0,listen=:1234", "-device",
          "e1000,netdev=s0", "-nodefaults"),
     .guest_ram = 134217728, .nics = 2, .extra = check_user_0},
    {"nic/users",
     ARGV("-netdev", "user,id=u0", "-device", "virtio-net-pci,netdev=u0", "-netdev",
          "{\"type\":\"user\",\"id\":\"u1\"}", "-device", "e1000,netdev=u1", "-net",
          "user", "-net", "nic", "-nodefaults"),
     .guest_ram = 134217728, .nics = 3, .extra = check_user_3},

    /* ---- video: qemu's default VGA unless a VGA-class card, -vga or -nodefaults ---- */
    {"video/vga-none", ARGV("-vga", "none"), .guest_ram = 134217728, .nics = 1},
    {"video/vga-qxl", ARGV("-vga", "qxl"), .guest_ram = 134217728, .nics = 1, .videos = 1,
     .extra = check_vga_qxl},
    {"video/vga-std-nodefaults", ARGV("-vga", "std", "-nodefaults"), .guest_ram = 134217728,
     .videos = 1},
    {"video/virtio-gpu-keeps-vga", ARGV("-device", "virtio-gpu-pci,max_hostmem=256M"),
     .guest_ram = 134217728, .nics = 1, .videos = 2, .extra = check_virtio_gpu_plus_vga},
    {"video/bochs-keeps-vga", ARGV("-device", "bochs-display"), .guest_ram = 134217728,
     .nics = 1, .videos = 2},
    {"video/virtio-vga-replaces", ARGV("-device", "virtio-vga"), .guest_ram = 134217728,
     .nics = 1, .videos = 1},
    {"video/qxl-vram",
     ARGV("-device", "qxl-vga,ram_size=67108864,vram_size=67108864,vgamem_mb=16",
          "-device", "{\"driver\":\"qxl\",\"ram_size\":1,\"ram_size_mb\":128,"
                     "\"vram64_size_mb\":32}", "-nodefaults"),
     .guest_ram = 134217728, .videos = 2, .extra = check_qxl_vram},
    {"video/hex-vgamem", ARGV("-device", "VGA,vgamem_mb=0x20", "-nodefaults"),
     .guest_ram = 134217728, .videos = 1, .extra = check_vga_hex},
    {"video/bad-vgamem", ARGV("-device", "VGA,vgamem_mb=lots"), .err = EINVAL, .bad_index = 1},
    /* qemu matches -global's driver against its default list too. */
    {"video/global-suppresses", ARGV("-global", "VGA.vgamem_mb=32"), .guest_ram = 134217728,
     .nics = 1},
    {"video/global-suppresses-default", ARGV("-global", "driver=VGA,property=vgamem_mb,value=32"),
     .guest_ram = 134217728, .nics = 1},
    {"video/microvm", ARGV("-M", "microvm"), .guest_ram = 134217728, .extra = check_queues_1},

    /* ---- display ---- */
    {"display/default-gui", ARGV("-nodefaults"), .guest_ram = 134217728, .extra = check_gui},
    {"display/none", ARGV("-display", "none", "-nodefaults"), .guest_ram = 134217728,
     .extra = check_no_gui},
    {"display/nographic", ARGV("-nographic", "-nodefaults"), .guest_ram = 134217728,
     .extra = check_no_gui},
    {"display/curses", ARGV("-display", "curses", "-nodefaults"), .guest_ram = 134217728,
     .extra = check_no_gui},
    {"display/vnc", ARGV("-vnc", ":0", "-nodefaults"), .guest_ram = 134217728, .vnc = true,
     .extra = check_no_gui},
    {"display/vnc-none", ARGV("-vnc", "none", "-nodefaults"), .guest_ram = 134217728,
     .extra = check_no_gui},
    {"display/display-vnc", ARGV("-display", "vnc=localhost:1", "-nodefaults"),
     .guest_ram = 134217728, .vnc = true, .extra = check_no_gui},
    {"display/gtk", ARGV("-display", "gtk,gl=on", "-nodefaults"), .guest_ram = 134217728,
     .extra = check_gui},
    {"display/egl-headless", ARGV("-display", "egl-headless", "-vnc", ":1", "-nodefaults"),
     .guest_ram = 134217728, .vnc = true, .extra = check_gui},
    {"display/spice", ARGV("-spice", "port=5900,disable-ticketing=on", "-nodefaults"),
     .guest_ram = 134217728, .extra = check_spice},
    {"display/daemonize", ARGV("-daemonize", "-nodefaults"), .guest_ram = 134217728,
     .extra = check_daemonize},

    /* ---- the rest ---- */
    {"vfio/kinds",
     ARGV("-device", "vfio-pci,host=0000:01:00.0", "-device", "vfio-pci,host=0000:02:00.0",
          "-device", "vfio-pci-nohotplug,host=0000:03:00.0", "-nodefaults"),
     .guest_ram = 134217728, .vfio = 3},
    {"mlock/on-fault", ARGV("-overcommit", "mem-lock=on-fault", "-nodefaults"),
     .guest_ram = 134217728, .extra = check_mlock},
    {"mlock/off", ARGV("-overcommit", "mem-lock=off,cpu-pm=on", "-nodefaults"),
     .guest_ram = 134217728, .extra = check_no_mlock},
    {"mlock/cpu-pm-only", ARGV("-overcommit", "cpu-pm=on", "-nodefaults"),
     .guest_ram = 134217728, .extra = check_no_mlock},
    {"mlock/realtime", ARGV("-realtime", "mlock=on", "-nodefaults"), .guest_ram = 134217728,
     .extra = check_mlock},
    {"mlock/realtime-off", ARGV("-realtime", "mlock=off", "-nodefaults"),
     .guest_ram = 134217728, .extra = check_no_mlock},
    {"mlock/bad", ARGV("-overcommit", "mem-lock=sometimes"), .err = EINVAL, .bad_index = 1},
    {"name/bare", ARGV("-name", "web1", "-nodefaults"), .guest_ram = 134217728,
     .vm_name = "web1"},
    {"name/last-wins", ARGV("-name", "a", "-name", "guest=b,process=qemu-b", "-nodefaults"),
     .guest_ram = 134217728, .vm_name = "b"},
    {"name/no-guest", ARGV("-name", "process=x,debug-threads=on", "-nodefaults"),
     .guest_ram = 134217728},
    {"unknown/ignored",
     ARGV("-object", "rng-random,id=rng0,filename=/dev/urandom", "-device",
          "virtio-rng-pci,rng=rng0", "-frobnicate", "x", "-nodefaults"),
     .guest_ram = 134217728},
};
/* clang-format on */

static HostInfo *
make_host(HostKind kind)
{
    static const char *const mounts[] = {"/dev/hugepages", "/dev/hugepages2M", "/dev/hugepages1G",
                                         NULL};
    static const char *const no_mounts[] = {NULL};
    HostInfo *host =
        host_info_new(16 * GiB, kind != HOST_NO_KVM, kind == HOST_NO_HUGE ? no_mounts : mounts);

    host->hugetlb_memcg = kind == HOST_MEMCG;
    return host;
}

static int
argv_len(const char *const *argv)
{
    int n = 0;

    while (argv[n])
        n++;
    return n;
}

static void
check_refusal(const SpecCase *c, int r, int bad_index, const GError *error)
{
    g_assert_cmpint(r, ==, -c->err);
    g_assert_nonnull(error);
    g_assert_cmpint(vmmem_error_errno(error), ==, c->err);
    g_assert_cmpint(bad_index, ==, c->bad_index);
    g_assert_null(strchr(error->message, '\n'));
    if (c->message && !strstr(error->message, c->message))
        g_error("message \"%s\" lacks \"%s\"", error->message, c->message);
}

static void
check_spec(const SpecCase *c, const VmSpec *spec)
{
    unsigned vcpus = c->vcpus ? c->vcpus : 1;

    g_assert_cmpuint(spec->guest_ram, ==, c->guest_ram);
    g_assert_cmpuint(spec->hugetlb_ram, ==, c->hugetlb_ram);
    g_assert_cmpuint(spec->vcpus, ==, vcpus);
    g_assert_cmpuint(spec->maxcpus, ==, c->maxcpus ? c->maxcpus : vcpus);
    g_assert_cmpint(spec->accel, ==, c->accel);
    g_assert_cmpuint(spec->iothreads, ==, c->iothreads);
    g_assert_cmpuint(spec->disks->len, ==, c->disks);
    g_assert_cmpuint(spec->nics, ==, c->nics);
    g_assert_cmpuint(spec->videos->len, ==, c->videos);
    g_assert_cmpuint(spec->vfio, ==, c->vfio);
    g_assert_cmpint(spec->vnc, ==, c->vnc);
    g_assert_cmpint(spec->probe, ==, c->probe);
    g_assert_cmpint(spec->probe_reason != NULL, ==, c->probe);
    g_assert_cmpstr(spec->name, ==, c->vm_name);
    if (c->extra)
        c->extra(spec);
}

static void
test_case(gconstpointer data)
{
    const SpecCase *c = data;
    g_autoptr(HostInfo) host = make_host(c->host);
    g_autoptr(VmSpec) spec = NULL;
    g_autoptr(GError) error = NULL;
    int bad_index = -2;
    int r;

    r = vm_spec_parse(argv_len(c->argv), c->argv, host, &spec, &bad_index, &error);
    if (c->err) {
        check_refusal(c, r, bad_index, error);
        g_assert_null(spec);
        return;
    }
    if (r < 0)
        g_error("%s: unexpected refusal: %s (argv index %d)", c->name, error->message, bad_index);
    g_assert_no_error(error);
    check_spec(c, spec);
}

/* A NULL error and bad-index pointer must be fine on both paths. */
static void
test_null_out_params(void)
{
    static const char *const good[] = {"-m", "1G", NULL};
    static const char *const bad[] = {"-m", "1Q", NULL};
    g_autoptr(HostInfo) host = make_host(HOST_KVM);
    g_autoptr(VmSpec) spec = NULL;
    VmSpec *none = NULL;

    g_assert_cmpint(vm_spec_parse(2, good, host, &spec, NULL, NULL), ==, 0);
    g_assert_cmpuint(spec->guest_ram, ==, GiB);
    g_assert_cmpint(vm_spec_parse(2, bad, host, &none, NULL, NULL), ==, -EINVAL);
    g_assert_null(none);
}

static void
test_free_null(void)
{
    g_assert_null(vm_spec_free(NULL));
}

/* Whatever -help or a probe says later, a long argument is quoted short and on one line. */
static void
test_message_is_short(void)
{
    g_autofree char *long_size = g_strnfill(4000, '9');
    g_autofree char *arg = g_strdup_printf("memory-backend-ram,id=a,size=%sQ\nx", long_size);
    const char *argv[] = {"-object", arg, NULL};
    g_autoptr(HostInfo) host = make_host(HOST_KVM);
    g_autoptr(VmSpec) spec = NULL;
    g_autoptr(GError) error = NULL;
    int bad_index = -2;

    g_assert_cmpint(vm_spec_parse(2, argv, host, &spec, &bad_index, &error), ==, -EINVAL);
    g_assert_cmpint(bad_index, ==, 1);
    g_assert_null(strchr(error->message, '\n'));
    g_assert_cmpuint(strlen(error->message), <, 4000 * 2 + 200);
    g_assert_nonnull(strstr(error->message, "'-object memory-backend-ram,id=a,size=999"));
}

/* Thousands of backends and nodes are looked up by name, not by rescanning every earlier one. */
static void
test_many_objects(void)
{
    enum { N = 8192 };
    g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(HostInfo) host = make_host(HOST_KVM);
    g_autoptr(VmSpec) spec = NULL;
    g_autoptr(GError) error = NULL;

    g_ptr_array_add(words, g_strdup("-nodefaults"));
    for (int i = 0; i < N; i++) {
        g_ptr_array_add(words, g_strdup("-object"));
        g_ptr_array_add(words, g_strdup_printf("memory-backend-ram,id=m%d,size=4096", i));
        g_ptr_array_add(words, g_strdup("-blockdev"));
        g_ptr_array_add(words, g_strdup_printf("driver=file,node-name=s%d,filename=/d%d", i, i));
        g_ptr_array_add(words, g_strdup("-blockdev"));
        g_ptr_array_add(words, g_strdup_printf("driver=qcow2,node-name=f%d,file=s%d", i, i));
    }
    g_assert_cmpint(vm_spec_parse((int)words->len, (const char *const *)words->pdata, host, &spec,
                                  NULL, &error),
                    ==, 0);
    g_assert_no_error(error);
    /* Nothing uses the backends as RAM: -m's default alone. */
    g_assert_cmpuint(spec->guest_ram, ==, 128 * MiB);
    g_assert_cmpuint(spec->backends->len, ==, N);
    g_assert_cmpuint(spec->disks->len, ==, N);
}

/* The handlers' table and the splitter's option table agree: every option vm-spec reads is one
 * the splitter knows the arity of.  (vm-spec had -watchdog, which QEMU 7.2 no longer has: it
 * says "-watchdog: invalid option", and the splitter rightly does not know it.) */
static void
test_tables_agree(void)
{
    g_assert_null(vm_spec_option_unknown_to_splitter());
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/vm-spec/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/vm-spec/api/null-out-params", test_null_out_params);
    g_test_add_func("/vm-spec/api/free-null", test_free_null);
    g_test_add_func("/vm-spec/api/tables-agree", test_tables_agree);
    g_test_add_func("/vm-spec/api/message-is-short", test_message_is_short);
    g_test_add_func("/vm-spec/api/many-objects", test_many_objects);
    return g_test_run();
}
