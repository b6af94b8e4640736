/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Stage 2 inside: the parse state the option handlers share, and what each vm-spec-*.c file
 * offers the others.  vm-spec.c drives (the option table, messages, value helpers, the end of
 * the parse); each other file holds one family of options and what is settled about it once
 * every option has been seen.  Internal to those files. */

#include <stdarg.h>
#include <string.h>

#include "error.h"
#include "host.h"
#include "qemu-argv.h"
#include "qemu-catalog.h"
#include "qemu-opts.h"
#include "quote.h"
#include "size.h"
#include "vm-spec.h"

/* qemu's default_ram_size for pc, q35 and microvm. */
#define DEFAULT_RAM_SIZE (128 * MiB)
/* qemu aligns ram_size up to this (machine_set_mem). */
#define RAM_SIZE_ALIGN (8 * KiB)
/* Bounds the walk along -blockdev file= references (a cycle is qemu's error to report). */
#define BLOCK_CHAIN_MAX 64

typedef enum {
    SMP_CPUS,
    SMP_MAXCPUS,
    SMP_DRAWERS,
    SMP_BOOKS,
    SMP_SOCKETS,
    SMP_DIES,
    SMP_CLUSTERS,
    SMP_CORES,
    SMP_THREADS,
    SMP_N_KEYS,
} SmpKey;

typedef struct {
    char *name;
    uint64_t tb_size; /* MiB, 0 = not given */
} AccelChoice;

typedef struct {
    char *memdev; /* NULL for mem= or a node without memory */
    bool has_mem;
    uint64_t mem;
    const QemuArg *src;
} NumaNode;

typedef struct {
    char *backend_id;
    bool partial;       /* virtio-mem: only requested bytes are plugged */
    uint64_t requested; /* partial only */
    const QemuArg *src;
} MemRef;

typedef struct {
    char *node_name;
    char *driver;
    char *file;     /* node-name given as file=, or NULL */
    char *filename; /* a protocol node's filename=, or NULL */
    bool has_direct;
    bool direct;
    bool has_file_direct; /* inline "file":{"cache":{"direct":..}} */
    bool file_direct;
    uint64_t qcow2_cache;
    bool reached; /* under some format node */
} BlockNode;

typedef struct {
    VmSpec *spec;
    const HostInfo *host;
    const QemuArg *cur;
    int fail_index; /* argv index of the argument the last refusal names */

    bool has_m_size;
    uint64_t m_size;
    const QemuArg *m_src; /* the last -m */
    bool has_maxmem;
    char *mem_path;
    char *machine_memdev;
    const QemuArg *machine_src;
    char *machine_accel;
    GPtrArray *accels;       /* AccelChoice* from -accel and -enable-kvm, in order */
    GPtrArray *numa;         /* NumaNode* */
    GPtrArray *mem_refs;     /* MemRef*: memory devices */
    GPtrArray *blocks;       /* BlockNode* */
    GPtrArray *backend_srcs; /* const QemuArg*, parallel to spec->backends */
    /* Lookups by name stay linear in the number of arguments, however many a caller sends. */
    GHashTable *backend_ids; /* id -> VmMemBackend* in spec->backends */
    GHashTable *block_names; /* node-name -> BlockNode* in blocks */
    const QemuArg *smp_src;  /* the last -smp */
    uint64_t smp[SMP_N_KEYS];

    bool nodefaults;
    bool vga_option;     /* -vga given: qemu makes no default VGA */
    bool vga_replaced;   /* a VGA-class -device or -global: no default VGA either */
    bool net_option;     /* -net/-netdev/-nic: no default NIC */
    bool display_option; /* -display/-nographic/-vnc/-spice/-daemonize */
} ParseState;

void spec_block_node_free(BlockNode *b);
void spec_mem_backend_free(VmMemBackend *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmMemBackend, spec_mem_backend_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BlockNode, spec_block_node_free)

/* vm-spec.c: the driver */
void spec_accel_choice_free(AccelChoice *c);
VmRamKind spec_kind_of_path(const HostInfo *host, const char *path);
int spec_opt_bool(ParseState *st, const QemuOpts *opts, const char *key, bool dflt, bool *ret,
                  GError **error);
int spec_opt_qdev_uint(ParseState *st, const QemuOpts *opts, const char *key, uint64_t *ret,
                       GError **error);
int spec_opt_size(ParseState *st, const QemuOpts *opts, const char *key, uint64_t default_unit,
                  uint64_t *ret, GError **error);
int spec_opt_uint(ParseState *st, const QemuOpts *opts, const char *key, uint64_t dflt,
                  uint64_t *ret, GError **error);
int spec_parse_opts(ParseState *st, const char *implied_key, QemuOpts **ret_opts, GError **error);
char *spec_quote_arg(const QemuArg *a);
int spec_refuse(ParseState *st, const QemuArg *at, GError **error, int errnum, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);
int spec_refuse_in(ParseState *st, const QemuArg *at, GError **error, int errnum, const char *fmt,
                   ...) G_GNUC_PRINTF(5, 6);
int spec_size_value(ParseState *st, const char *key, const char *text, uint64_t default_unit,
                    uint64_t *ret, GError **error);

/* vm-spec-memory.c */
int spec_finish_memory(ParseState *st, GError **error);
int spec_handle_m(ParseState *st, GError **error);
int spec_handle_mem_path(ParseState *st, GError **error);
int spec_handle_mem_prealloc(ParseState *st, GError **error);
int spec_handle_numa(ParseState *st, GError **error);
int spec_handle_object(ParseState *st, GError **error);
int spec_handle_overcommit(ParseState *st, GError **error);
int spec_handle_realtime(ParseState *st, GError **error);

/* vm-spec-machine.c */
void spec_add_mem_ref(ParseState *st, const char *backend_id, bool partial, uint64_t requested);
void spec_check_machine_none(ParseState *st);
void spec_finish_accel(ParseState *st);
void spec_finish_defaults(ParseState *st);
int spec_finish_smp(ParseState *st, GError **error);
int spec_handle_accel(ParseState *st, GError **error);
int spec_handle_enable_kvm(ParseState *st, GError **error);
int spec_handle_machine(ParseState *st, GError **error);
int spec_handle_name(ParseState *st, GError **error);
int spec_handle_smp(ParseState *st, GError **error);

/* vm-spec-block.c */
void spec_finish_blockdevs(ParseState *st);
int spec_handle_blockdev(ParseState *st, GError **error);
int spec_handle_disk_path(ParseState *st, GError **error);
int spec_handle_drive(ParseState *st, GError **error);
int spec_handle_kernel(ParseState *st, GError **error);

/* vm-spec-devices.c */
void spec_add_video(ParseState *st, const char *model, uint64_t vram_bytes);
int spec_handle_daemonize(ParseState *st, GError **error);
int spec_handle_device(ParseState *st, GError **error);
int spec_handle_display(ParseState *st, GError **error);
int spec_handle_global(ParseState *st, GError **error);
int spec_handle_net(ParseState *st, GError **error);
int spec_handle_netdev(ParseState *st, GError **error);
int spec_handle_nic(ParseState *st, GError **error);
int spec_handle_nodefaults(ParseState *st, GError **error);
int spec_handle_nographic(ParseState *st, GError **error);
int spec_handle_readconfig(ParseState *st, GError **error);
int spec_handle_spice(ParseState *st, GError **error);
int spec_handle_vga(ParseState *st, GError **error);
int spec_handle_vnc(ParseState *st, GError **error);
