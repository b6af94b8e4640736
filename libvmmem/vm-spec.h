/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "host.h"

/* Stage 2: what a qemu command line asks for, in the terms the overhead model needs.  Built by
 * vm_spec_parse() from argv; nothing in here is an estimate yet. */

typedef enum {
    VM_ACCEL_TCG,
    VM_ACCEL_KVM,
    VM_ACCEL_OTHER, /* qtest, xen, ...: modelled like KVM (no translation cache) */
} VmAccel;

/* How a block of guest RAM is charged (docs/overhead-model.md, "Guest RAM"). */
typedef enum {
    VM_RAM_ANON,    /* -m without backend, memory-backend-ram: memcg anon */
    VM_RAM_SHMEM,   /* memfd (not hugetlb), file on tmpfs/shm: memcg shmem */
    VM_RAM_FILE,    /* file backend on a disk filesystem: memcg page cache */
    VM_RAM_HUGETLB, /* hugetlbfs file, memfd hugetlb=on, -mem-path on hugetlbfs: hugetlb cgroup */
} VmRamKind;

typedef struct {
    char *id;
    char *qom_type; /* "memory-backend-ram", "-file", "-memfd", "-epc" */
    uint64_t size;
    char *mem_path; /* file backend, or NULL */
    VmRamKind kind;
    bool share;
    bool prealloc;
    bool used; /* referenced by -machine memory-backend=, -numa memdev= or a memory device */
} VmMemBackend;

typedef struct {
    char *node_name; /* -drive id= / -blockdev node-name=, may be NULL */
    char *format;    /* "qcow2", "raw", ...; NULL when unknown (probed by qemu) */
    /* The image file: -drive file=, -hda FILE, or the filename= of the file node under a
     * -blockdev format node; NULL when not a local path (fd:, /dev/fdset, a network protocol).
     * host_info_probe_files() reads its header: a qcow2 image's metadata cache is sized from
     * its virtual size. */
    char *path;
    bool direct;          /* O_DIRECT: cache=none|directsync, or "cache":{"direct":true} */
    uint64_t qcow2_cache; /* l2-cache-size + refcount-cache-size or cache-size if given, else 0 */
} VmDisk;

typedef struct {
    char *model;         /* "VGA", "qxl-vga", "virtio-vga", "cirrus-vga", "virtio-gpu-pci", ... */
    uint64_t vram_bytes; /* sum of the size properties given on the command line, 0 if none */
    uint64_t qxl_ram;    /* qxl: ram_size (bar 0, which qemu fills) given, 0 = its default */
    /* The preferred mode the device offers the guest (xres/yres: the EDID of VGA-class and
     * virtio-gpu devices, qxl's monitor config), 0 = the device's default. */
    unsigned xres, yres;
} VmVideo;

typedef struct VmSpec {
    char *name;         /* -name guest=NAME, or NULL */
    bool probe;         /* no guest RAM: pass straight through (see vmmem_spec_is_probe) */
    char *probe_reason; /* "-machine none", "-version", ...: for explain */

    char *machine;     /* -machine type, or NULL for qemu's default */
    uint64_t ram_size; /* -m size after qemu's rounding; 128 MiB when -m is absent */
    uint64_t maxmem;   /* -m maxmem=, 0 if none */
    unsigned slots;

    /* Guest RAM, counted once: -m (whatever backs it) + memory devices (pc-dimm, nvdimm,
     * virtio-pmem backend sizes, virtio-mem requested-size); a backend nothing uses is not. */
    uint64_t guest_ram;   /* charged to the memory controller */
    uint64_t hugetlb_ram; /* charged to the hugetlb controller */
    GPtrArray *backends;  /* VmMemBackend* */
    /* Where the -m RAM lives.  Backed: backends provide it (-machine memory-backend=, NUMA
     * memdev=), it has no mapping of its own.  Otherwise qemu maps one block of ram_size,
     * anonymous or, with -mem-path, a file in or at mem_path (calibrate.c finds it by that). */
    bool main_ram_backed;
    VmRamKind main_ram_kind;
    char *mem_path;

    unsigned vcpus;   /* -smp cpus after qemu's topology rules; 1 when absent */
    unsigned maxcpus; /* >= vcpus */

    VmAccel accel;
    uint64_t tb_size; /* -accel tcg,tb-size= in bytes; 0 = qemu's default */

    unsigned iothreads;
    GPtrArray *disks;    /* VmDisk*: one per -drive with a medium and per format -blockdev */
    unsigned nics;       /* -nic, -net nic, -device <network card> */
    unsigned net_queues; /* sum over netdevs of queues= (1 each when absent) */
    unsigned net_user;   /* user networking (slirp) backends, in qemu: its host sockets */
    GPtrArray *videos;   /* VmVideo*: -vga, -device <display card>, and qemu's default VGA */
    bool vnc;            /* -vnc, -display vnc= */
    bool spice;          /* -spice */
    bool gui; /* -display gtk/sdl/cocoa/egl-headless/spice-app, or qemu's default display */

    unsigned vfio;     /* -device vfio-pci and friends */
    bool mem_lock;     /* -overcommit mem-lock=on|on-fault, -realtime mlock=on */
    bool mem_prealloc; /* -mem-prealloc or prealloc=on on the RAM backend */
    bool daemonize;
    char *kernel; /* -kernel FILE: qemu keeps a bzImage in memory (host_info_probe_files) */
} VmSpec;

VmSpec *vm_spec_free(VmSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmSpec, vm_spec_free)

/* @argv: the arguments after the program name.  On a refusal (malformed memory option, a memdev
 * naming no backend, overflow, -readconfig which may hide memory settings) returns -errno, fills
 * @error with one line naming the argument and, if @ret_bad_index, the argv index at fault. */
int vm_spec_parse(int argc, const char *const *argv, const HostInfo *host, VmSpec **ret_spec,
                  int *ret_bad_index, GError **error);
/* The first option vm-spec.c handles that qemu-catalog.c's table (the one list of qemu's
 * options and their arity) does not know, or NULL: the two must never disagree on how a command
 * line splits. */
const char *vm_spec_option_unknown_to_splitter(void);
