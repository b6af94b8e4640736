/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vm-spec.h"

#include <stdarg.h>
#include <string.h>

#include "error.h"
#include "qemu-argv.h"
#include "qemu-opts.h"
#include "quote.h"
#include "size.h"

/* Stage 2.  Each option goes through one table entry; what needs the whole command line (which
 * backend is the main RAM, the -smp topology, the accelerator, -blockdev graphs, qemu's default
 * devices) is settled once every option has been seen, as qemu itself does. */

/* qemu's default_ram_size for pc, q35 and microvm. */
#define DEFAULT_RAM_SIZE (128 * MiB)
/* qemu aligns ram_size up to this (machine_set_mem). */
#define RAM_SIZE_ALIGN (8 * KiB)
/* Quoted arguments are cut here so a multi-KB JSON value still gives a one-line message. */
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

static const char *const smp_keys[SMP_N_KEYS] = {
    "cpus", "maxcpus", "drawers", "books", "sockets", "dies", "clusters", "cores", "threads",
};

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

static void
accel_choice_free(AccelChoice *c)
{
    g_free(c->name);
    g_free(c);
}

static void
numa_node_free(NumaNode *n)
{
    g_free(n->memdev);
    g_free(n);
}

static void
mem_ref_free(MemRef *r)
{
    g_free(r->backend_id);
    g_free(r);
}

static void
block_node_free(BlockNode *b)
{
    g_free(b->node_name);
    g_free(b->driver);
    g_free(b->file);
    g_free(b->filename);
    g_free(b);
}

static void
mem_backend_free(VmMemBackend *b)
{
    g_free(b->id);
    g_free(b->qom_type);
    g_free(b->mem_path);
    g_free(b);
}

static void
disk_free(VmDisk *d)
{
    g_free(d->node_name);
    g_free(d->format);
    g_free(d->path);
    g_free(d);
}

static void
video_free(VmVideo *v)
{
    g_free(v->model);
    g_free(v);
}

VmSpec *
vm_spec_free(VmSpec *spec)
{
    if (!spec)
        return NULL;
    g_free(spec->name);
    g_free(spec->probe_reason);
    g_free(spec->machine);
    g_free(spec->mem_path);
    g_free(spec->kernel);
    g_clear_pointer(&spec->backends, g_ptr_array_unref);
    g_clear_pointer(&spec->disks, g_ptr_array_unref);
    g_clear_pointer(&spec->videos, g_ptr_array_unref);
    g_free(spec);
    return NULL;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmMemBackend, mem_backend_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BlockNode, block_node_free)

static VmSpec *
vm_spec_new(void)
{
    VmSpec *spec = g_new0(VmSpec, 1);

    spec->backends = g_ptr_array_new_with_free_func((GDestroyNotify)mem_backend_free);
    spec->disks = g_ptr_array_new_with_free_func((GDestroyNotify)disk_free);
    spec->videos = g_ptr_array_new_with_free_func((GDestroyNotify)video_free);
    return spec;
}

static void
parse_state_clear(ParseState *st)
{
    g_free(st->mem_path);
    g_free(st->machine_memdev);
    g_free(st->machine_accel);
    g_clear_pointer(&st->accels, g_ptr_array_unref);
    g_clear_pointer(&st->numa, g_ptr_array_unref);
    g_clear_pointer(&st->mem_refs, g_ptr_array_unref);
    g_clear_pointer(&st->blocks, g_ptr_array_unref);
    g_clear_pointer(&st->backend_srcs, g_ptr_array_unref);
    g_clear_pointer(&st->backend_ids, g_hash_table_unref);
    g_clear_pointer(&st->block_names, g_hash_table_unref);
    vm_spec_free(st->spec);
}

/* ---- messages ---- */

/* Text from argv, on one line and cut short: a message stays one readable line whatever the
 * command line holds. */
static void
append_quoted(GString *s, const char *text, size_t max)
{
    g_autofree char *q = quote_for_message(text, max);

    g_string_append(s, q);
}

static char *
quote_text(const char *text, size_t max)
{
    GString *s = g_string_new(NULL);

    append_quoted(s, text, max);
    return g_string_free(s, FALSE);
}

/* The option as the user typed it. */
static char *
quote_arg(const QemuArg *a)
{
    GString *s = g_string_new("-");

    append_quoted(s, a->name, QUOTE_MAX);
    if (a->arg) {
        g_string_append_c(s, ' ');
        append_quoted(s, a->arg, QUOTE_MAX);
    }
    return g_string_free(s, FALSE);
}

static int
arg_index_of(const QemuArg *a)
{
    if (!a)
        return -1;
    return a->arg_index >= 0 ? a->arg_index : a->index;
}

/* vmmem_fail() that also remembers which argument is at fault. */
static int refuse(ParseState *st, const QemuArg *at, GError **error, int errnum, const char *fmt,
                  ...) G_GNUC_PRINTF(5, 6);

static int
refuse(ParseState *st, const QemuArg *at, GError **error, int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    st->fail_index = arg_index_of(at);
    return vmmem_fail(error, errnum, "%s", msg);
}

/* refuse() with " in '<the argument>'" after the message. */
static int refuse_in(ParseState *st, const QemuArg *at, GError **error, int errnum, const char *fmt,
                     ...) G_GNUC_PRINTF(5, 6);

static int
refuse_in(ParseState *st, const QemuArg *at, GError **error, int errnum, const char *fmt, ...)
{
    g_autofree char *quoted = quote_arg(at);
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return refuse(st, at, error, errnum, "%s in '%s'", msg, quoted);
}

/* Wraps a lower layer's message (qemu-opts) with the option it came from. */
static int
refuse_wrapped(ParseState *st, const QemuArg *at, GError **error, GError *cause)
{
    /* The lower layer may quote the whole (multi-KB) text again. */
    g_autofree char *reason = quote_text(cause->message, 4 * QUOTE_MAX);

    return refuse_in(st, at, error, vmmem_error_errno(cause), "%s", reason);
}

/* ---- value helpers ---- */

static int
parse_opts(ParseState *st, const char *implied_key, QemuOpts **ret_opts, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (qemu_opts_parse(st->cur->arg ? st->cur->arg : "", implied_key, ret_opts, &local) < 0)
        return refuse_wrapped(st, st->cur, error, local);
    return 0;
}

static int
size_value(ParseState *st, const char *key, const char *text, uint64_t default_unit, uint64_t *ret,
           GError **error)
{
    g_autofree char *value = NULL;
    int r;

    r = vmmem_parse_size(text, default_unit, ret);
    if (r == 0)
        return 0;
    value = quote_text(text, QUOTE_MAX);
    if (r == -ERANGE)
        return refuse_in(st, st->cur, error, ERANGE, "%s '%s' is out of range", key, value);
    return refuse_in(st, st->cur, error, EINVAL, "invalid size '%s'", value);
}

/* A size-valued key of the current option; *ret untouched when absent. */
static int
opt_size(ParseState *st, const QemuOpts *opts, const char *key, uint64_t default_unit,
         uint64_t *ret, GError **error)
{
    const char *text = qemu_opts_get(opts, key);

    return text ? size_value(st, key, text, default_unit, ret, error) : 0;
}

static int
opt_bool(ParseState *st, const QemuOpts *opts, const char *key, bool dflt, bool *ret,
         GError **error)
{
    g_autoptr(GError) local = NULL;

    if (qemu_opts_get_bool(opts, key, dflt, ret, &local) < 0)
        return refuse_wrapped(st, st->cur, error, local);
    return 0;
}

static int
opt_uint(ParseState *st, const QemuOpts *opts, const char *key, uint64_t dflt, uint64_t *ret,
         GError **error)
{
    g_autoptr(GError) local = NULL;

    if (qemu_opts_get_uint(opts, key, dflt, ret, &local) < 0)
        return refuse_wrapped(st, st->cur, error, local);
    return 0;
}

/* qdev integer properties go through qemu_strtou64(..., base 0): 0x prefixes are fine. */
static int
opt_qdev_uint(ParseState *st, const QemuOpts *opts, const char *key, uint64_t *ret, GError **error)
{
    const char *text = qemu_opts_get(opts, key);
    g_autofree char *value = NULL;
    char *end = NULL;

    if (!text)
        return 0;
    errno = 0;
    if (g_ascii_isdigit(text[0]))
        *ret = g_ascii_strtoull(text, &end, 0);
    if (end && *end == '\0' && errno == 0)
        return 0;
    value = quote_text(text, QUOTE_MAX);
    return refuse_in(st, st->cur, error, errno == ERANGE ? ERANGE : EINVAL,
                     "invalid number '%s' (%s)", value, key);
}

static bool
is_help(const char *value)
{
    return g_strcmp0(value, "help") == 0 || g_strcmp0(value, "?") == 0;
}

/* How pages of a file at @path are charged.  /tmp is left out on purpose: it is tmpfs on some
 * hosts and a disk directory on others, and page cache is the cheaper guess to get wrong. */
static VmRamKind
kind_of_path(const HostInfo *host, const char *path)
{
    if (host && host_info_path_is_hugetlbfs(host, path))
        return VM_RAM_HUGETLB;
    if (host_path_is_under(path, "/dev/shm") || host_path_is_under(path, "/run"))
        return VM_RAM_SHMEM;
    return VM_RAM_FILE;
}

/* ---- -m, -mem-path, -mem-prealloc, -overcommit, -realtime ---- */

static int
handle_m_size(ParseState *st, const char *text, GError **error)
{
    uint64_t bytes;
    int r;

    /* qemu reads the value in bytes first; only a non-zero, suffix-less one becomes MiB
     * ("legacy suffix-less format"), and zero means the machine's default. */
    r = size_value(st, "size", text, 1, &bytes, error);
    if (r < 0)
        return r;
    if (bytes == 0) {
        st->has_m_size = false;
        return 0;
    }
    if (g_ascii_isdigit(text[strlen(text) - 1])) {
        r = size_value(st, "size", text, MiB, &bytes, error);
        if (r < 0)
            return r;
    }
    if (bytes > G_MAXUINT64 - (RAM_SIZE_ALIGN - 1))
        return refuse_in(st, st->cur, error, ERANGE, "ram size too large");
    st->m_size = (bytes + RAM_SIZE_ALIGN - 1) & ~(RAM_SIZE_ALIGN - 1);
    st->has_m_size = true;
    return 0;
}

/* Repeated -m options merge key by key, as qemu's "memory" opts list does. */
static int
handle_m(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *size;
    uint64_t slots = 0;
    int r;

    r = parse_opts(st, "size", &opts, error);
    if (r < 0)
        return r;
    st->m_src = st->cur;
    size = qemu_opts_get(opts, "size");
    if (size) {
        r = handle_m_size(st, size, error);
        if (r < 0)
            return r;
    }
    if (qemu_opts_get(opts, "maxmem")) {
        r = opt_size(st, opts, "maxmem", 1, &st->spec->maxmem, error);
        if (r < 0)
            return r;
        st->has_maxmem = true;
    }
    if (qemu_opts_get(opts, "slots")) {
        r = opt_uint(st, opts, "slots", 0, &slots, error);
        if (r < 0)
            return r;
        if (slots > G_MAXUINT)
            return refuse_in(st, st->cur, error, ERANGE, "too many slots");
        st->spec->slots = (unsigned)slots;
    }
    return 0;
}

static int
handle_mem_path(ParseState *st, GError **error)
{
    g_free(st->mem_path);
    st->mem_path = g_strdup(st->cur->arg);
    return 0;
}

static int
handle_mem_prealloc(ParseState *st, GError **error)
{
    st->spec->mem_prealloc = true;
    return 0;
}

static int
handle_overcommit(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *lock;
    int r;

    r = parse_opts(st, NULL, &opts, error);
    if (r < 0)
        return r;
    lock = qemu_opts_get(opts, "mem-lock");
    if (g_strcmp0(lock, "on-fault") == 0) {
        st->spec->mem_lock = true;
        return 0;
    }
    return opt_bool(st, opts, "mem-lock", st->spec->mem_lock, &st->spec->mem_lock, error);
}

static int
handle_realtime(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    int r;

    r = parse_opts(st, NULL, &opts, error);
    if (r < 0)
        return r;
    /* -realtime without mlock= meant mlock=on. */
    return opt_bool(st, opts, "mlock", true, &st->spec->mem_lock, error);
}

/* ---- -object ---- */

static const char *const memory_backend_types[] = {
    "memory-backend-ram",
    "memory-backend-file",
    "memory-backend-memfd",
    "memory-backend-epc",
};

static bool
is_memory_backend(const char *qom_type)
{
    for (size_t i = 0; i < G_N_ELEMENTS(memory_backend_types); i++)
        if (strcmp(qom_type, memory_backend_types[i]) == 0)
            return true;
    return false;
}

static VmMemBackend *
find_backend(const ParseState *st, const char *id)
{
    return g_hash_table_lookup(st->backend_ids, id);
}

static int
classify_backend(ParseState *st, const QemuOpts *opts, VmMemBackend *b, GError **error)
{
    bool hugetlb = false;
    int r;

    if (strcmp(b->qom_type, "memory-backend-file") == 0) {
        b->kind = b->mem_path ? kind_of_path(st->host, b->mem_path) : VM_RAM_FILE;
    } else if (strcmp(b->qom_type, "memory-backend-memfd") == 0) {
        r = opt_bool(st, opts, "hugetlb", false, &hugetlb, error);
        if (r < 0)
            return r;
        b->kind = hugetlb ? VM_RAM_HUGETLB : VM_RAM_SHMEM;
    } else {
        /* A shared anonymous mapping lives in shmem, not anon. */
        b->kind = b->share ? VM_RAM_SHMEM : VM_RAM_ANON;
    }
    return 0;
}

static int
handle_memory_backend(ParseState *st, const QemuOpts *opts, const char *qom_type, GError **error)
{
    g_autoptr(VmMemBackend) b = g_new0(VmMemBackend, 1);
    const char *id = qemu_opts_get(opts, "id");
    /* memfd is the one backend that is shared unless told otherwise. */
    bool share_default = strcmp(qom_type, "memory-backend-memfd") == 0;
    int r;

    if (!id || !*id)
        return refuse_in(st, st->cur, error, EINVAL, "memory backend without id");
    if (find_backend(st, id))
        return refuse_in(st, st->cur, error, EINVAL, "duplicate memory backend id '%s'", id);
    if (!qemu_opts_get(opts, "size"))
        return refuse_in(st, st->cur, error, EINVAL, "memory backend '%s' has no size", id);
    b->id = g_strdup(id);
    b->qom_type = g_strdup(qom_type);
    b->mem_path = g_strdup(qemu_opts_get(opts, "mem-path"));
    if ((r = opt_size(st, opts, "size", 1, &b->size, error)) < 0 ||
        (r = opt_bool(st, opts, "share", share_default, &b->share, error)) < 0 ||
        (r = opt_bool(st, opts, "prealloc", false, &b->prealloc, error)) < 0 ||
        (r = classify_backend(st, opts, b, error)) < 0)
        return r;
    if (b->size == 0)
        return refuse_in(st, st->cur, error, EINVAL, "memory backend '%s' has size 0", id);
    g_hash_table_insert(st->backend_ids, b->id, b);
    g_ptr_array_add(st->backend_srcs, (gpointer)st->cur);
    g_ptr_array_add(st->spec->backends, g_steal_pointer(&b));
    return 0;
}

static int
handle_object(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *qom_type;
    int r;

    r = parse_opts(st, "qom-type", &opts, error);
    if (r < 0)
        return r;
    qom_type = qemu_opts_get(opts, "qom-type");
    if (!qom_type)
        return refuse_in(st, st->cur, error, EINVAL, "no qom-type");
    if (is_memory_backend(qom_type))
        return handle_memory_backend(st, opts, qom_type, error);
    if (strcmp(qom_type, "iothread") == 0)
        st->spec->iothreads++;
    return 0;
}

/* ---- -machine, -accel, -enable-kvm ---- */

static void
add_mem_ref(ParseState *st, const char *backend_id, bool partial, uint64_t requested)
{
    MemRef *ref = g_new0(MemRef, 1);

    ref->backend_id = g_strdup(backend_id);
    ref->partial = partial;
    ref->requested = requested;
    ref->src = st->cur;
    g_ptr_array_add(st->mem_refs, ref);
}

/* SGX EPC sections plug a backend through the machine: sgx-epc.N.memdev=ID. */
static void
machine_epc_refs(ParseState *st, const QemuOpts *opts)
{
    for (guint i = 0; i < opts->items->len; i++) {
        const QemuOpt *o = g_ptr_array_index(opts->items, i);
        if (g_str_has_prefix(o->key, "sgx-epc.") && g_str_has_suffix(o->key, ".memdev"))
            add_mem_ref(st, o->value, false, 0);
    }
}

/* Repeated -machine options merge key by key (qemu's keyval_merge). */
static int
handle_machine(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *value;
    int r;

    r = parse_opts(st, "type", &opts, error);
    if (r < 0)
        return r;
    if ((value = qemu_opts_get(opts, "type"))) {
        g_free(st->spec->machine);
        st->spec->machine = g_strdup(value);
    }
    if ((value = qemu_opts_get(opts, "memory-backend"))) {
        g_free(st->machine_memdev);
        st->machine_memdev = g_strdup(value);
        st->machine_src = st->cur;
    }
    if ((value = qemu_opts_get(opts, "accel"))) {
        g_free(st->machine_accel);
        st->machine_accel = g_strdup(value);
    }
    machine_epc_refs(st, opts);
    return 0;
}

static void
add_accel(ParseState *st, const char *name, uint64_t tb_size)
{
    AccelChoice *c = g_new0(AccelChoice, 1);

    c->name = g_strdup(name);
    c->tb_size = tb_size;
    g_ptr_array_add(st->accels, c);
}

static int
handle_accel(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    g_auto(GStrv) names = NULL;
    uint64_t tb_size = 0;
    int r;

    r = parse_opts(st, "accel", &opts, error);
    if (r < 0)
        return r;
    r = opt_uint(st, opts, "tb-size", 0, &tb_size, error);
    if (r < 0)
        return r;
    if (tb_size > G_MAXUINT64 / MiB)
        return refuse_in(st, st->cur, error, ERANGE, "tb-size out of range");
    names = g_strsplit(qemu_opts_get(opts, "accel") ? qemu_opts_get(opts, "accel") : "", ":", 0);
    for (char **n = names; *n; n++)
        if (**n)
            add_accel(st, *n, tb_size);
    return 0;
}

static int
handle_enable_kvm(ParseState *st, GError **error)
{
    add_accel(st, "kvm", 0);
    return 0;
}

/* ---- -smp ---- */

static int
handle_smp(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    int r;

    r = parse_opts(st, "cpus", &opts, error);
    if (r < 0)
        return r;
    st->smp_src = st->cur;
    /* Repeated -smp options merge key by key. */
    for (int k = 0; k < SMP_N_KEYS; k++) {
        if (!qemu_opts_get(opts, smp_keys[k]))
            continue;
        r = opt_uint(st, opts, smp_keys[k], 0, &st->smp[k], error);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- -numa ---- */

static int
handle_numa(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    NumaNode *node;
    const char *memdev;
    int r;

    r = parse_opts(st, "type", &opts, error);
    if (r < 0)
        return r;
    if (g_strcmp0(qemu_opts_get(opts, "type"), "node") != 0)
        return 0;
    memdev = qemu_opts_get(opts, "memdev");
    node = g_new0(NumaNode, 1);
    node->src = st->cur;
    g_ptr_array_add(st->numa, node);
    if (memdev) {
        node->memdev = g_strdup(memdev);
        if (qemu_opts_get(opts, "mem"))
            return refuse_in(st, st->cur, error, EINVAL, "both mem= and memdev=");
    }
    if (qemu_opts_get(opts, "mem")) {
        node->has_mem = true;
        return opt_size(st, opts, "mem", MiB, &node->mem, error);
    }
    return 0;
}

/* ---- -name ---- */

static int
handle_name(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *guest;
    int r;

    r = parse_opts(st, "guest", &opts, error);
    if (r < 0)
        return r;
    guest = qemu_opts_get(opts, "guest");
    if (guest) {
        g_free(st->spec->name);
        st->spec->name = g_strdup(guest);
    }
    return 0;
}

/* ---- disks ---- */

/* A file qemu opens by name: not a protocol ("nbd:...", "fd:3"), nor a passed-in descriptor
 * (/dev/fdset/N), whose header a launcher cannot read by name. */
static const char *
local_path(const char *file)
{
    if (!file || !*file || g_str_has_prefix(file, "/dev/fdset/"))
        return NULL;
    if (file[0] != '/' && strchr(file, ':'))
        return NULL;
    return file;
}

static void
add_disk(ParseState *st, const char *node_name, const char *format, const char *path, bool direct,
         uint64_t qcow2_cache)
{
    VmDisk *d = g_new0(VmDisk, 1);

    d->node_name = g_strdup(node_name);
    d->format = g_strdup(format);
    d->path = g_strdup(local_path(path));
    d->direct = direct;
    d->qcow2_cache = qcow2_cache;
    g_ptr_array_add(st->spec->disks, d);
}

/* cache-size is the total of the others when given (qcow2_update_options). */
static int
qcow2_cache_of(ParseState *st, const QemuOpts *opts, uint64_t *ret, GError **error)
{
    uint64_t l2 = 0, refcount = 0, total = 0;
    int r;

    if ((r = opt_size(st, opts, "l2-cache-size", 1, &l2, error)) < 0 ||
        (r = opt_size(st, opts, "refcount-cache-size", 1, &refcount, error)) < 0 ||
        (r = opt_size(st, opts, "cache-size", 1, &total, error)) < 0)
        return r;
    if (qemu_opts_get(opts, "cache-size")) {
        *ret = total;
        return 0;
    }
    if (!g_uint64_checked_add(ret, l2, refcount))
        return refuse_in(st, st->cur, error, ERANGE, "qcow2 cache sizes overflow");
    return 0;
}

static bool
has_key_prefix(const QemuOpts *opts, const char *prefix)
{
    for (guint i = 0; i < opts->items->len; i++) {
        const QemuOpt *o = g_ptr_array_index(opts->items, i);
        if (g_str_has_prefix(o->key, prefix))
            return true;
    }
    return false;
}

static int
handle_drive(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *file, *cache, *format;
    bool direct;
    uint64_t qcow2_cache = 0;
    int r;

    r = parse_opts(st, NULL, &opts, error);
    if (r < 0)
        return r;
    file = qemu_opts_get(opts, "file");
    /* An empty drive (a cdrom without medium) opens nothing. */
    if ((!file || !*file) && !has_key_prefix(opts, "file."))
        return 0;
    cache = qemu_opts_get(opts, "cache");
    direct = g_strcmp0(cache, "none") == 0 || g_strcmp0(cache, "directsync") == 0;
    if ((r = opt_bool(st, opts, "cache.direct", direct, &direct, error)) < 0 ||
        (r = qcow2_cache_of(st, opts, &qcow2_cache, error)) < 0)
        return r;
    format = qemu_opts_get(opts, "format");
    /* -drive also takes the block layer's own spelling. */
    if (!format)
        format = qemu_opts_get(opts, "driver");
    add_disk(st, qemu_opts_get(opts, "id"), format, file, direct, qcow2_cache);
    return 0;
}

static int
handle_disk_path(ParseState *st, GError **error)
{
    if (st->cur->arg && *st->cur->arg)
        add_disk(st, NULL, NULL, st->cur->arg, false, 0);
    return 0;
}

static int
handle_kernel(ParseState *st, GError **error)
{
    g_free(st->spec->kernel);
    st->spec->kernel = st->cur->arg && *st->cur->arg ? g_strdup(st->cur->arg) : NULL;
    return 0;
}

static const char *const block_format_drivers[] = {
    "qcow2", "qed",       "vmdk",  "vdi",   "vpc", "vhdx", "raw",
    "luks",  "parallels", "bochs", "cloop", "dmg", "qcow",
};

/* Nodes that pass I/O to their file= child: neither an image nor storage. */
static const char *const block_filter_drivers[] = {
    "throttle",          "copy-on-read",    "compress",    "preallocate",
    "blkdebug",          "blklogwrite",     "blkreplay",   "blkverify",
    "copy-before-write", "snapshot-access", "replication",
};

static bool
str_in(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (g_strcmp0(s, list[i]) == 0)
            return true;
    return false;
}

static bool
is_format_driver(const char *driver)
{
    return str_in(driver, block_format_drivers, G_N_ELEMENTS(block_format_drivers));
}

static bool
is_filter_driver(const char *driver)
{
    return str_in(driver, block_filter_drivers, G_N_ELEMENTS(block_filter_drivers));
}

static int
handle_blockdev(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    g_autoptr(BlockNode) node = g_new0(BlockNode, 1);
    int r;

    r = parse_opts(st, NULL, &opts, error);
    if (r < 0)
        return r;
    node->node_name = g_strdup(qemu_opts_get(opts, "node-name"));
    node->driver = g_strdup(qemu_opts_get(opts, "driver"));
    node->file = g_strdup(qemu_opts_get(opts, "file"));
    node->filename = g_strdup(qemu_opts_get(opts, "filename"));
    node->has_direct = qemu_opts_get(opts, "cache.direct") != NULL;
    node->has_file_direct = qemu_opts_get(opts, "file.cache.direct") != NULL;
    if ((r = opt_bool(st, opts, "cache.direct", false, &node->direct, error)) < 0 ||
        (r = opt_bool(st, opts, "file.cache.direct", false, &node->file_direct, error)) < 0 ||
        (r = qcow2_cache_of(st, opts, &node->qcow2_cache, error)) < 0)
        return r;
    /* A repeated node-name is qemu's to refuse; the first one stands here. */
    if (node->node_name && !g_hash_table_contains(st->block_names, node->node_name))
        g_hash_table_insert(st->block_names, node->node_name, node);
    g_ptr_array_add(st->blocks, g_steal_pointer(&node));
    return 0;
}

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

    r = opt_uint(st, opts, "queues", 1, &queues, error);
    if (r < 0)
        return r;
    if (queues > G_MAXUINT - st->spec->net_queues)
        return refuse_in(st, st->cur, error, ERANGE, "too many queues");
    st->spec->net_queues += (unsigned)queues;
    return 0;
}

static int
handle_netdev(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    int r;

    st->net_option = true;
    r = parse_opts(st, "type", &opts, error);
    if (r < 0)
        return r;
    /* -netdev always names its type; one without is refused by qemu, and counted as user. */
    count_net_backend(st, qemu_opts_get(opts, "type"));
    return add_net_queues(st, opts, error);
}

/* -nic is a NIC and its netdev in one. */
static int
handle_nic(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    int r;

    st->net_option = true;
    r = parse_opts(st, "type", &opts, error);
    if (r < 0)
        return r;
    if (g_strcmp0(qemu_opts_get(opts, "type"), "none") == 0)
        return 0;
    st->spec->nics++;
    count_net_backend(st, qemu_opts_get(opts, "type"));
    return add_net_queues(st, opts, error);
}

/* Legacy -net: "nic" is the card, any other type (user, tap, ...) a backend on a hub. */
static int
handle_net(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *type;
    int r;

    st->net_option = true;
    r = parse_opts(st, "type", &opts, error);
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
        r = opt_size(st, opts, p->key, 1, &value, error);
    else
        r = opt_qdev_uint(st, opts, p->key, &value, error);
    if (r < 0)
        return r;
    if (value > G_MAXUINT64 / p->unit || !g_uint64_checked_add(ret, *ret, value * p->unit))
        return refuse_in(st, st->cur, error, ERANGE, "%s out of range", p->key);
    return 0;
}

static void
add_video(ParseState *st, const char *model, uint64_t vram_bytes)
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
    if ((r = opt_qdev_uint(st, opts, "xres", &xres, error)) < 0 ||
        (r = opt_qdev_uint(st, opts, "yres", &yres, error)) < 0)
        return r;
    if (xres > G_MAXUINT16 || yres > G_MAXUINT16)
        return refuse_in(st, st->cur, error, ERANGE, "xres or yres out of range");
    if (info->vram == qxl_vram)
        for (size_t i = 0; i < G_N_ELEMENTS(qxl_ram); i++)
            if ((r = vram_prop(st, opts, &qxl_ram[i], &ram, error)) < 0)
                return r;
    add_video(st, info->driver, vram);
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
        return refuse_in(st, st->cur, error, EINVAL, "memory device without memdev=");
    if (info->traits & DEV_VIRTIO_MEM) {
        r = opt_size(st, opts, "requested-size", 1, &requested, error);
        if (r < 0)
            return r;
    }
    add_mem_ref(st, memdev, (info->traits & DEV_VIRTIO_MEM) != 0, requested);
    return 0;
}

static int
handle_device(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const DeviceInfo *info;
    int r;

    r = parse_opts(st, "driver", &opts, error);
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
static int
handle_global(ParseState *st, GError **error)
{
    const char *arg = st->cur->arg ? st->cur->arg : "";
    g_autofree char *driver = NULL;
    const DeviceInfo *info;

    if (g_str_has_prefix(arg, "driver=")) {
        g_autoptr(QemuOpts) opts = NULL;
        int r = parse_opts(st, NULL, &opts, error);
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

static int
handle_vga(ParseState *st, GError **error)
{
    st->vga_option = true;
    for (size_t i = 0; i < G_N_ELEMENTS(vga_types); i++)
        if (g_strcmp0(st->cur->arg, vga_types[i].type) == 0 && vga_types[i].model)
            add_video(st, vga_types[i].model, 0);
    return 0;
}

static int
handle_vnc(ParseState *st, GError **error)
{
    const char *arg = st->cur->arg ? st->cur->arg : "";

    st->display_option = true;
    if (strcmp(arg, "none") != 0 && !g_str_has_prefix(arg, "none,"))
        st->spec->vnc = true;
    return 0;
}

static int
handle_spice(ParseState *st, GError **error)
{
    st->display_option = true;
    st->spec->spice = true;
    return 0;
}

static const char *const gui_displays[] = {
    "gtk", "sdl", "egl-headless", "spice-app", "cocoa", "dbus",
};

static int
handle_display(ParseState *st, GError **error)
{
    const char *arg = st->cur->arg ? st->cur->arg : "";
    size_t type_len = strcspn(arg, ",=");
    g_autofree char *type = g_strndup(arg, type_len);

    st->display_option = true;
    /* "-display vnc=:0" is -vnc in disguise. */
    if (strcmp(type, "vnc") == 0)
        st->spec->vnc = true;
    else if (str_in(type, gui_displays, G_N_ELEMENTS(gui_displays)))
        st->spec->gui = true;
    return 0;
}

static int
handle_nographic(ParseState *st, GError **error)
{
    st->display_option = true;
    return 0;
}

static int
handle_daemonize(ParseState *st, GError **error)
{
    st->display_option = true;
    st->spec->daemonize = true;
    return 0;
}

static int
handle_nodefaults(ParseState *st, GError **error)
{
    st->nodefaults = true;
    return 0;
}

static int
handle_readconfig(ParseState *st, GError **error)
{
    return refuse(st, st->cur, error, EOPNOTSUPP,
                  "'-readconfig' may set memory options that vmmem cannot see; refusing");
}

/* ---- the option table ---- */

typedef enum {
    HELP_NONE,
    HELP_ALWAYS, /* the option itself prints and exits: -version */
    HELP_VALUE,  /* "help" or "?" as the whole value: -cpu help */
    HELP_OPTS,   /* ... or as any bare comma-separated word: -device e1000,help */
    HELP_MODEL,  /* HELP_OPTS, and model=help lists NIC models: -nic user,model=help */
} HelpKind;

typedef int (*OptionHandler)(ParseState *st, GError **error);

typedef struct {
    const char *name;
    OptionHandler handler; /* NULL: only its help queries matter */
    HelpKind help;
} OptionInfo;

static const OptionInfo option_table[] = {
    {"m", handle_m, HELP_NONE},
    {"mem-path", handle_mem_path, HELP_NONE},
    {"mem-prealloc", handle_mem_prealloc, HELP_NONE},
    {"overcommit", handle_overcommit, HELP_NONE},
    {"realtime", handle_realtime, HELP_NONE},
    {"object", handle_object, HELP_OPTS},
    {"machine", handle_machine, HELP_OPTS},
    {"M", handle_machine, HELP_OPTS},
    {"accel", handle_accel, HELP_OPTS},
    {"enable-kvm", handle_enable_kvm, HELP_NONE},
    {"smp", handle_smp, HELP_NONE},
    {"numa", handle_numa, HELP_NONE},
    {"name", handle_name, HELP_NONE},
    {"drive", handle_drive, HELP_NONE},
    {"blockdev", handle_blockdev, HELP_NONE},
    {"hda", handle_disk_path, HELP_NONE},
    {"hdb", handle_disk_path, HELP_NONE},
    {"hdc", handle_disk_path, HELP_NONE},
    {"hdd", handle_disk_path, HELP_NONE},
    {"cdrom", handle_disk_path, HELP_NONE},
    {"kernel", handle_kernel, HELP_NONE},
    {"netdev", handle_netdev, HELP_OPTS},
    {"nic", handle_nic, HELP_MODEL},
    {"net", handle_net, HELP_MODEL},
    {"device", handle_device, HELP_OPTS},
    {"global", handle_global, HELP_NONE},
    {"vga", handle_vga, HELP_VALUE},
    {"vnc", handle_vnc, HELP_NONE},
    {"spice", handle_spice, HELP_NONE},
    {"display", handle_display, HELP_OPTS},
    {"nographic", handle_nographic, HELP_NONE},
    {"daemonize", handle_daemonize, HELP_NONE},
    {"nodefaults", handle_nodefaults, HELP_NONE},
    {"readconfig", handle_readconfig, HELP_NONE},
    {"version", NULL, HELP_ALWAYS},
    {"help", NULL, HELP_ALWAYS},
    {"h", NULL, HELP_ALWAYS},
    {"audio-help", NULL, HELP_ALWAYS},
    {"cpu", NULL, HELP_VALUE},
    {"d", NULL, HELP_VALUE},
    {"L", NULL, HELP_VALUE},
    {"trace", NULL, HELP_OPTS},
    {"chardev", NULL, HELP_OPTS},
    {"audiodev", NULL, HELP_OPTS},
    {"audio", NULL, HELP_OPTS},
    {"tpmdev", NULL, HELP_OPTS},
};

const char *
vm_spec_option_unknown_to_splitter(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(option_table); i++) {
        if (!qemu_argv_lookup(option_table[i].name, NULL))
            return option_table[i].name;
    }
    return NULL;
}

static const OptionInfo *
find_option(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(option_table); i++)
        if (strcmp(name, option_table[i].name) == 0)
            return &option_table[i];
    return NULL;
}

/* Splits at single commas (",," is a literal comma) and looks for a bare help word. */
static bool
opts_ask_help(const char *value, bool model_too)
{
    g_autoptr(GString) word = g_string_new(NULL);

    if (value[0] == '{')
        return false;
    for (const char *p = value;; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(word, ',');
            p++;
            continue;
        }
        if (*p == ',' || *p == '\0') {
            if (is_help(word->str) ||
                (model_too && g_str_has_prefix(word->str, "model=") && is_help(word->str + 6)))
                return true;
            g_string_truncate(word, 0);
            if (*p == '\0')
                return false;
            continue;
        }
        g_string_append_c(word, *p);
    }
}

static bool
asks_help(const OptionInfo *info, const char *value)
{
    switch (info->help) {
    case HELP_ALWAYS:
        return true;
    case HELP_VALUE:
        return is_help(value);
    case HELP_OPTS:
        return value && opts_ask_help(value, false);
    case HELP_MODEL:
        return value && opts_ask_help(value, true);
    case HELP_NONE:
        break;
    }
    return false;
}

static void
mark_probe(ParseState *st, const QemuArg *a)
{
    if (st->spec->probe)
        return;
    st->spec->probe = true;
    st->spec->probe_reason = quote_arg(a);
}

/* Every option is parsed even after a refusal: a later one may still make this a probe,
 * which passes through whatever else the command line says. */
static void
parse_args(ParseState *st, const GArray *args, GError **first_error, int *first_index)
{
    for (guint i = 0; i < args->len; i++) {
        const QemuArg *a = &g_array_index(args, QemuArg, i);
        const OptionInfo *info = find_option(a->name);
        g_autoptr(GError) local = NULL;

        if (!info)
            continue;
        if (asks_help(info, a->arg))
            mark_probe(st, a);
        if (!info->handler)
            continue;
        st->cur = a;
        if (info->handler(st, &local) < 0 && !*first_error) {
            *first_error = g_steal_pointer(&local);
            *first_index = st->fail_index;
        }
    }
    st->cur = NULL;
}

/* ---- after the last option: guest RAM ---- */

/* @src: the argument that brings these bytes, blamed for an overflow. */
static int
add_ram(ParseState *st, VmRamKind kind, uint64_t bytes, const QemuArg *src, GError **error)
{
    VmSpec *spec = st->spec;
    bool hugetlb = kind == VM_RAM_HUGETLB && !(st->host && st->host->hugetlb_memcg);
    uint64_t *sum = hugetlb ? &spec->hugetlb_ram : &spec->guest_ram;

    if (!g_uint64_checked_add(sum, *sum, bytes))
        return refuse(st, src, error, ERANGE, "guest RAM adds up to more than 2^64 bytes");
    return 0;
}

/* Marks the backend @id as used by @src, refusing what qemu refuses: no such backend, or one
 * already in use ("can't use already busy memdev"). */
static int
use_backend(ParseState *st, const char *id, const QemuArg *src, VmMemBackend **ret, GError **error)
{
    g_autofree char *quoted = quote_arg(src);
    VmMemBackend *b = find_backend(st, id);

    if (!b)
        return refuse(st, src, error, EINVAL, "memdev '%s' in '%s' names no memory backend", id,
                      quoted);
    if (b->used)
        return refuse(st, src, error, EINVAL, "memory backend '%s' in '%s' is already in use", id,
                      quoted);
    b->used = true;
    *ret = b;
    return 0;
}

static int
numa_total(ParseState *st, bool memdevs, uint64_t *ret, GError **error)
{
    uint64_t total = 0;

    for (guint i = 0; i < st->numa->len; i++) {
        NumaNode *n = g_ptr_array_index(st->numa, i);
        VmMemBackend *b = NULL;
        int r;

        if (memdevs && !n->memdev)
            return refuse_in(st, n->src, error, EINVAL,
                             "memdev= is missing (all NUMA nodes or none need one)");
        if (memdevs) {
            r = use_backend(st, n->memdev, n->src, &b, error);
            if (r < 0)
                return r;
        }
        if (!g_uint64_checked_add(&total, total, memdevs ? b->size : n->mem))
            return refuse(st, n->src, error, ERANGE, "NUMA node memory overflows");
    }
    *ret = total;
    return 0;
}

static const NumaNode *
first_numa_with(const ParseState *st, bool memdev)
{
    for (guint i = 0; i < st->numa->len; i++) {
        const NumaNode *n = g_ptr_array_index(st->numa, i);
        if (memdev ? n->memdev != NULL : n->has_mem)
            return n;
    }
    return NULL;
}

/* NUMA nodes describe the same RAM as -m: with memdev= their backends are the RAM, with mem=
 * they only split it.  Either way qemu insists that they add up to ram_size. */
static int
count_numa_ram(ParseState *st, bool *ret_counted, GError **error)
{
    const NumaNode *with_memdev = first_numa_with(st, true);
    const NumaNode *with_mem = first_numa_with(st, false);
    const NumaNode *any = with_memdev ? with_memdev : with_mem;
    uint64_t total = 0;
    int r;

    *ret_counted = false;
    if (!any)
        return 0;
    if (with_memdev && with_mem)
        return refuse_in(st, with_mem->src, error, EINVAL, "NUMA nodes mix mem= and memdev=");
    r = numa_total(st, with_memdev != NULL, &total, error);
    if (r < 0)
        return r;
    if (total != st->spec->ram_size)
        return refuse_in(st, any->src, error, EINVAL,
                         "NUMA nodes add up to %" G_GUINT64_FORMAT
                         " bytes, not the RAM size %" G_GUINT64_FORMAT,
                         total, st->spec->ram_size);
    for (guint i = 0; with_memdev && i < st->numa->len; i++) {
        NumaNode *n = g_ptr_array_index(st->numa, i);
        VmMemBackend *b = find_backend(st, n->memdev);
        r = add_ram(st, b->kind, b->size, n->src, error);
        if (r < 0)
            return r;
    }
    *ret_counted = with_memdev != NULL;
    return 0;
}

static int
count_machine_ram(ParseState *st, bool *ret_counted, GError **error)
{
    VmMemBackend *b;
    int r;

    *ret_counted = false;
    if (!st->machine_memdev)
        return 0;
    r = use_backend(st, st->machine_memdev, st->machine_src, &b, error);
    if (r < 0)
        return r;
    /* Without -m the backend sets the RAM size; with it, qemu wants both to agree. */
    if (!st->has_m_size) {
        st->spec->ram_size = b->size;
    } else if (b->size != st->spec->ram_size) {
        return refuse_in(st, st->machine_src, error, EINVAL,
                         "memory backend '%s' has %" G_GUINT64_FORMAT
                         " bytes but -m asks for %" G_GUINT64_FORMAT,
                         b->id, b->size, st->spec->ram_size);
    }
    *ret_counted = true;
    return add_ram(st, b->kind, b->size, st->machine_src, error);
}

static int
count_main_ram(ParseState *st, GError **error)
{
    VmSpec *spec = st->spec;
    const NumaNode *numa_memdev = first_numa_with(st, true);
    VmRamKind kind = VM_RAM_ANON;
    bool counted = false;
    int r;

    spec->ram_size = st->has_m_size ? st->m_size : DEFAULT_RAM_SIZE;
    if (st->machine_memdev && numa_memdev)
        return refuse_in(st, numa_memdev->src, error, EINVAL,
                         "'-machine memory-backend' and NUMA memdev= exclude each other");
    r = count_machine_ram(st, &counted, error);
    if (r < 0 || counted) {
        spec->main_ram_backed = counted;
        return r;
    }
    r = count_numa_ram(st, &counted, error);
    if (r < 0 || counted) {
        spec->main_ram_backed = counted;
        return r;
    }
    if (st->mem_path)
        kind = kind_of_path(st->host, st->mem_path);
    spec->main_ram_kind = kind;
    spec->mem_path = g_strdup(st->mem_path);
    return add_ram(st, kind, spec->ram_size, st->m_src, error);
}

static int
count_device_ram(ParseState *st, GError **error)
{
    for (guint i = 0; i < st->mem_refs->len; i++) {
        MemRef *ref = g_ptr_array_index(st->mem_refs, i);
        VmMemBackend *b;
        int r;

        r = use_backend(st, ref->backend_id, ref->src, &b, error);
        if (r < 0)
            return r;
        r = add_ram(st, b->kind, ref->partial ? MIN(ref->requested, b->size) : b->size, ref->src,
                    error);
        if (r < 0)
            return r;
    }
    return 0;
}

static int
finish_memory(ParseState *st, GError **error)
{
    VmSpec *spec = st->spec;
    int r;

    /* A backend nothing uses as RAM is not guest RAM: qemu maps it, and with reserve=off a
     * 1 TiB one costs nothing, so counting it would let a command line size its own protection
     * (envelope.c warns about each). */
    if ((r = count_main_ram(st, error)) < 0 || (r = count_device_ram(st, error)) < 0)
        return r;
    if (st->has_maxmem && spec->maxmem < spec->ram_size)
        return refuse_in(st, st->m_src, error, EINVAL, "maxmem is smaller than the RAM size");
    for (guint i = 0; i < spec->backends->len; i++) {
        VmMemBackend *b = g_ptr_array_index(spec->backends, i);
        spec->mem_prealloc |= b->prealloc;
    }
    return 0;
}

/* ---- after the last option: vCPUs, accelerator, disks, defaults ---- */

static int
smp_product(const ParseState *st, uint64_t *ret)
{
    uint64_t product = 1;

    for (int k = SMP_DRAWERS; k <= SMP_THREADS; k++) {
        uint64_t v = st->smp[k];
        if (v && !g_uint64_checked_mul(&product, product, v))
            return -ERANGE;
    }
    *ret = product;
    return 0;
}

/* qemu 7.2's machine_parse_smp_config(): a zero is "omitted" (deprecated, with a warning);
 * missing cores, then sockets, then threads are derived from maxcpus.  A topology whose product
 * does not match is qemu's to refuse; only the two counts matter here. */
static int
finish_smp(ParseState *st, GError **error)
{
    const uint64_t *v = st->smp;
    uint64_t cpus = v[SMP_CPUS], maxcpus = v[SMP_MAXCPUS], product;

    if (smp_product(st, &product) < 0)
        return refuse(st, st->smp_src, error, ERANGE, "-smp topology overflows");
    if (cpus == 0 && maxcpus == 0)
        maxcpus = product;
    else if (maxcpus == 0)
        maxcpus = cpus;
    if (cpus == 0)
        cpus = maxcpus;
    if (cpus > G_MAXUINT || maxcpus > G_MAXUINT)
        return refuse(st, st->smp_src, error, ERANGE, "-smp asks for more than %u vCPUs",
                      G_MAXUINT);
    st->spec->vcpus = (unsigned)cpus;
    st->spec->maxcpus = (unsigned)MAX(cpus, maxcpus);
    return 0;
}

static VmAccel
accel_kind(const char *name)
{
    if (strcmp(name, "kvm") == 0)
        return VM_ACCEL_KVM;
    if (strcmp(name, "tcg") == 0)
        return VM_ACCEL_TCG;
    return VM_ACCEL_OTHER;
}

/* Accelerators that qemu-system-x86_64 on Linux can bring up; hvf, whpx, nvmm and hax never
 * can, so qemu moves on to the next candidate. */
static bool
accel_usable(const ParseState *st, const char *name)
{
    if (strcmp(name, "kvm") == 0)
        return st->host && st->host->has_kvm;
    return strcmp(name, "tcg") == 0 || strcmp(name, "qtest") == 0 || strcmp(name, "xen") == 0;
}

/* The first usable candidate wins, as in qemu's configure_accelerators().  When none is usable
 * qemu fails to start, so the first one is as good an answer as any. */
static void
finish_accel(ParseState *st)
{
    g_autoptr(GPtrArray) from_machine = NULL;
    GPtrArray *list = st->accels;
    AccelChoice *chosen = NULL;

    if (list->len == 0 && st->machine_accel) {
        g_auto(GStrv) names = g_strsplit(st->machine_accel, ":", 0);
        from_machine = g_ptr_array_new_with_free_func((GDestroyNotify)accel_choice_free);
        for (char **n = names; *n; n++) {
            AccelChoice *c = g_new0(AccelChoice, 1);
            c->name = g_strdup(*n);
            g_ptr_array_add(from_machine, c);
        }
        list = from_machine;
    }
    for (guint i = 0; i < list->len && !chosen; i++) {
        AccelChoice *c = g_ptr_array_index(list, i);
        if (accel_usable(st, c->name))
            chosen = c;
    }
    if (!chosen && list->len > 0)
        chosen = g_ptr_array_index(list, 0);
    /* qemu-system-x86_64 defaults to tcg unless its name ends in "kvm". */
    st->spec->accel = chosen ? accel_kind(chosen->name) : VM_ACCEL_TCG;
    st->spec->tb_size = chosen && st->spec->accel == VM_ACCEL_TCG ? chosen->tb_size * MiB : 0;
}

static BlockNode *
find_block(const ParseState *st, const char *node_name)
{
    return node_name ? g_hash_table_lookup(st->block_names, node_name) : NULL;
}

/* Follows file= from a format node down through filters, marking what it reaches; O_DIRECT is
 * decided where the file is opened, so the deepest explicit cache.direct wins. */
static bool
walk_block_chain(const ParseState *st, const BlockNode *format, const char **ret_filename)
{
    bool direct = format->direct;
    const BlockNode *node = format;

    if (format->has_file_direct)
        direct = format->file_direct;
    for (int depth = 0; depth < BLOCK_CHAIN_MAX; depth++) {
        BlockNode *child = find_block(st, node->file);
        if (!child || child->reached)
            break;
        child->reached = true;
        if (child->has_direct)
            direct = child->direct;
        node = child;
    }
    /* The node at the bottom is the storage: its filename is the image. */
    *ret_filename = node->filename;
    return direct;
}

/* Format nodes are disks.  libvirt 9+ may hand a storage node straight to -device drive=, so a
 * protocol node that no format node sits on is a raw disk too. */
static void
finish_blockdevs(ParseState *st)
{
    for (guint i = 0; i < st->blocks->len; i++) {
        BlockNode *b = g_ptr_array_index(st->blocks, i);
        const char *filename;
        if (!is_format_driver(b->driver))
            continue;
        bool direct = walk_block_chain(st, b, &filename);
        add_disk(st, b->node_name, b->driver, filename, direct, b->qcow2_cache);
    }
    for (guint i = 0; i < st->blocks->len; i++) {
        BlockNode *b = g_ptr_array_index(st->blocks, i);
        if (!b->driver || b->reached || is_format_driver(b->driver) || is_filter_driver(b->driver))
            continue;
        add_disk(st, b->node_name, "raw", b->filename, b->direct, 0);
    }
}

static bool
machine_is(const ParseState *st, const char *prefix)
{
    return st->spec->machine && g_str_has_prefix(st->spec->machine, prefix);
}

/* qemu's own additions: a std VGA and "-net nic -net user" unless -nodefaults (microvm has no
 * bus for either card, but still gets the user backend), and its default display. */
static void
finish_defaults(ParseState *st)
{
    VmSpec *spec = st->spec;
    bool defaults = !st->nodefaults && g_strcmp0(spec->machine, "none") != 0;
    bool cards = defaults && !machine_is(st, "microvm");

    if (cards && !st->vga_option && !st->vga_replaced)
        add_video(st, "VGA", 0);
    if (defaults && !st->net_option) {
        /* qemu's default: a NIC on user networking. */
        spec->nics += cards ? 1 : 0;
        spec->net_queues++;
        spec->net_user++;
    }
    if (!st->display_option)
        spec->gui = true;
}

/* The machine type is known only after the last -machine (later keys win). */
static void
check_machine_none(ParseState *st)
{
    if (g_strcmp0(st->spec->machine, "none") == 0 && !st->spec->probe) {
        st->spec->probe = true;
        st->spec->probe_reason = g_strdup("-machine none");
    }
}

static int
finish(ParseState *st, GError **error)
{
    int r;

    r = finish_smp(st, error);
    if (r < 0)
        return r;
    finish_accel(st);
    finish_blockdevs(st);
    finish_defaults(st);
    /* A probe makes no guest RAM. */
    if (st->spec->probe)
        return 0;
    return finish_memory(st, error);
}

static int
split_argv(int argc, const char *const *argv, GArray **ret_args, int *ret_bad_index, GError **error)
{
    int r = qemu_argv_split(argc, argv, ret_args, error);
    bool option_at_end = argc > 0 && argv && argv[argc - 1] && argv[argc - 1][0] == '-';

    /* Blame the last word when it is an option left without its argument. */
    if (r < 0 && ret_bad_index)
        *ret_bad_index = r == -EINVAL && option_at_end ? argc - 1 : -1;
    return r;
}

int
vm_spec_parse(int argc, const char *const *argv, const HostInfo *host, VmSpec **ret_spec,
              int *ret_bad_index, GError **error)
{
    g_autoptr(GArray) args = NULL;
    g_autoptr(GError) first_error = NULL;
    int first_index = -1;
    ParseState st = {
        .spec = vm_spec_new(),
        .host = host,
        .fail_index = -1,
        .accels = g_ptr_array_new_with_free_func((GDestroyNotify)accel_choice_free),
        .numa = g_ptr_array_new_with_free_func((GDestroyNotify)numa_node_free),
        .mem_refs = g_ptr_array_new_with_free_func((GDestroyNotify)mem_ref_free),
        .blocks = g_ptr_array_new_with_free_func((GDestroyNotify)block_node_free),
        .backend_srcs = g_ptr_array_new(),
        .backend_ids = g_hash_table_new(g_str_hash, g_str_equal),
        .block_names = g_hash_table_new(g_str_hash, g_str_equal),
    };
    int r;

    r = split_argv(argc, argv, &args, ret_bad_index, error);
    if (r < 0)
        goto out;
    parse_args(&st, args, &first_error, &first_index);
    check_machine_none(&st);
    /* A probe must always pass through: nothing on its command line is refused. */
    if (st.spec->probe)
        g_clear_error(&first_error);
    if (!first_error && finish(&st, &first_error) < 0)
        first_index = st.fail_index;
    if (st.spec->probe)
        g_clear_error(&first_error);
    if (first_error) {
        r = -vmmem_error_errno(first_error);
        if (ret_bad_index)
            *ret_bad_index = first_index;
        g_propagate_error(error, g_steal_pointer(&first_error));
        goto out;
    }
    *ret_spec = g_steal_pointer(&st.spec);
out:
    parse_state_clear(&st);
    return r;
}
