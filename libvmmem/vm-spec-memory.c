/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage 2, guest RAM: -m, -mem-path, -mem-prealloc, -overcommit, -realtime, -object memory
 * backends, -numa, and after the last option which backends the guest really uses. */
#include "vm-spec-internal.h"

/* ---- -m, -mem-path, -mem-prealloc, -overcommit, -realtime ---- */

static int
handle_m_size(ParseState *st, const char *text, GError **error)
{
    uint64_t bytes;
    int r;

    /* qemu reads the value in bytes first; only a non-zero, suffix-less one becomes MiB
     * ("legacy suffix-less format"), and zero means the machine's default. */
    r = spec_size_value(st, "size", text, 1, &bytes, error);
    if (r < 0)
        return r;
    if (bytes == 0) {
        st->has_m_size = false;
        return 0;
    }
    if (g_ascii_isdigit(text[strlen(text) - 1])) {
        r = spec_size_value(st, "size", text, MiB, &bytes, error);
        if (r < 0)
            return r;
    }
    if (bytes > G_MAXUINT64 - (RAM_SIZE_ALIGN - 1))
        return spec_refuse_in(st, st->cur, error, ERANGE, "ram size too large");
    st->m_size = (bytes + RAM_SIZE_ALIGN - 1) & ~(RAM_SIZE_ALIGN - 1);
    st->has_m_size = true;
    return 0;
}

/* Repeated -m options merge key by key, as qemu's "memory" opts list does. */
int
spec_handle_m(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *size;
    uint64_t slots = 0;
    int r;

    r = spec_parse_opts(st, "size", &opts, error);
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
        r = spec_opt_size(st, opts, "maxmem", 1, &st->spec->maxmem, error);
        if (r < 0)
            return r;
        st->has_maxmem = true;
    }
    if (qemu_opts_get(opts, "slots")) {
        r = spec_opt_uint(st, opts, "slots", 0, &slots, error);
        if (r < 0)
            return r;
        if (slots > G_MAXUINT)
            return spec_refuse_in(st, st->cur, error, ERANGE, "too many slots");
        st->spec->slots = (unsigned)slots;
    }
    return 0;
}

int
spec_handle_mem_path(ParseState *st, GError **error)
{
    g_free(st->mem_path);
    st->mem_path = g_strdup(st->cur->arg);
    return 0;
}

int
spec_handle_mem_prealloc(ParseState *st, GError **error)
{
    st->spec->mem_prealloc = true;
    return 0;
}

int
spec_handle_overcommit(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *lock;
    int r;

    r = spec_parse_opts(st, NULL, &opts, error);
    if (r < 0)
        return r;
    lock = qemu_opts_get(opts, "mem-lock");
    if (g_strcmp0(lock, "on-fault") == 0) {
        st->spec->mem_lock = true;
        return 0;
    }
    return spec_opt_bool(st, opts, "mem-lock", st->spec->mem_lock, &st->spec->mem_lock, error);
}

int
spec_handle_realtime(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    int r;

    r = spec_parse_opts(st, NULL, &opts, error);
    if (r < 0)
        return r;
    /* -realtime without mlock= meant mlock=on. */
    return spec_opt_bool(st, opts, "mlock", true, &st->spec->mem_lock, error);
}

/* ---- -object ---- */

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
        b->kind = b->mem_path ? spec_kind_of_path(st->host, b->mem_path) : VM_RAM_FILE;
    } else if (strcmp(b->qom_type, "memory-backend-memfd") == 0) {
        r = spec_opt_bool(st, opts, "hugetlb", false, &hugetlb, error);
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
        return spec_refuse_in(st, st->cur, error, EINVAL, "memory backend without id");
    if (find_backend(st, id))
        return spec_refuse_in(st, st->cur, error, EINVAL, "duplicate memory backend id '%s'", id);
    if (!qemu_opts_get(opts, "size"))
        return spec_refuse_in(st, st->cur, error, EINVAL, "memory backend '%s' has no size", id);
    b->id = g_strdup(id);
    b->qom_type = g_strdup(qom_type);
    b->mem_path = g_strdup(qemu_opts_get(opts, "mem-path"));
    if ((r = spec_opt_size(st, opts, "size", 1, &b->size, error)) < 0 ||
        (r = spec_opt_bool(st, opts, "share", share_default, &b->share, error)) < 0 ||
        (r = spec_opt_bool(st, opts, "prealloc", false, &b->prealloc, error)) < 0 ||
        (r = classify_backend(st, opts, b, error)) < 0)
        return r;
    if (b->size == 0)
        return spec_refuse_in(st, st->cur, error, EINVAL, "memory backend '%s' has size 0", id);
    g_hash_table_insert(st->backend_ids, b->id, b);
    g_ptr_array_add(st->backend_srcs, (gpointer)st->cur);
    g_ptr_array_add(st->spec->backends, g_steal_pointer(&b));
    return 0;
}

int
spec_handle_object(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *qom_type;
    int r;

    r = spec_parse_opts(st, "qom-type", &opts, error);
    if (r < 0)
        return r;
    qom_type = qemu_opts_get(opts, "qom-type");
    if (!qom_type)
        return spec_refuse_in(st, st->cur, error, EINVAL, "no qom-type");
    if (qemu_catalog_is_memory_backend(qom_type))
        return handle_memory_backend(st, opts, qom_type, error);
    if (strcmp(qom_type, "iothread") == 0)
        st->spec->iothreads++;
    return 0;
}

/* ---- -numa ---- */

int
spec_handle_numa(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    NumaNode *node;
    const char *memdev;
    int r;

    r = spec_parse_opts(st, "type", &opts, error);
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
            return spec_refuse_in(st, st->cur, error, EINVAL, "both mem= and memdev=");
    }
    if (qemu_opts_get(opts, "mem")) {
        node->has_mem = true;
        return spec_opt_size(st, opts, "mem", MiB, &node->mem, error);
    }
    return 0;
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
        return spec_refuse(st, src, error, ERANGE, "guest RAM adds up to more than 2^64 bytes");
    return 0;
}

/* Marks the backend @id as used by @src, refusing what qemu refuses: no such backend, or one
 * already in use ("can't use already busy memdev"). */
static int
use_backend(ParseState *st, const char *id, const QemuArg *src, VmMemBackend **ret, GError **error)
{
    g_autofree char *quoted = spec_quote_arg(src);
    VmMemBackend *b = find_backend(st, id);

    if (!b)
        return spec_refuse(st, src, error, EINVAL, "memdev '%s' in '%s' names no memory backend",
                           id, quoted);
    if (b->used)
        return spec_refuse(st, src, error, EINVAL, "memory backend '%s' in '%s' is already in use",
                           id, quoted);
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
            return spec_refuse_in(st, n->src, error, EINVAL,
                                  "memdev= is missing (all NUMA nodes or none need one)");
        if (memdevs) {
            r = use_backend(st, n->memdev, n->src, &b, error);
            if (r < 0)
                return r;
        }
        if (!g_uint64_checked_add(&total, total, memdevs ? b->size : n->mem))
            return spec_refuse(st, n->src, error, ERANGE, "NUMA node memory overflows");
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
        return spec_refuse_in(st, with_mem->src, error, EINVAL, "NUMA nodes mix mem= and memdev=");
    r = numa_total(st, with_memdev != NULL, &total, error);
    if (r < 0)
        return r;
    if (total != st->spec->ram_size)
        return spec_refuse_in(st, any->src, error, EINVAL,
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
        return spec_refuse_in(st, st->machine_src, error, EINVAL,
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
        return spec_refuse_in(st, numa_memdev->src, error, EINVAL,
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
        kind = spec_kind_of_path(st->host, st->mem_path);
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

int
spec_finish_memory(ParseState *st, GError **error)
{
    VmSpec *spec = st->spec;
    int r;

    /* A backend nothing uses as RAM is not guest RAM: qemu maps it, and with reserve=off a
     * 1 TiB one costs nothing, so counting it would let a command line size its own protection
     * (envelope.c warns about each). */
    if ((r = count_main_ram(st, error)) < 0 || (r = count_device_ram(st, error)) < 0)
        return r;
    if (st->has_maxmem && spec->maxmem < spec->ram_size)
        return spec_refuse_in(st, st->m_src, error, EINVAL, "maxmem is smaller than the RAM size");
    for (guint i = 0; i < spec->backends->len; i++) {
        VmMemBackend *b = g_ptr_array_index(spec->backends, i);
        spec->mem_prealloc |= b->prealloc;
    }
    return 0;
}
