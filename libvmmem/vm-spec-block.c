/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage 2, disks: -drive, -hda.., -cdrom, -kernel, -blockdev graphs down to their files. */
#include "vm-spec-internal.h"

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

    if ((r = spec_opt_size(st, opts, "l2-cache-size", 1, &l2, error)) < 0 ||
        (r = spec_opt_size(st, opts, "refcount-cache-size", 1, &refcount, error)) < 0 ||
        (r = spec_opt_size(st, opts, "cache-size", 1, &total, error)) < 0)
        return r;
    if (qemu_opts_get(opts, "cache-size")) {
        *ret = total;
        return 0;
    }
    if (!g_uint64_checked_add(ret, l2, refcount))
        return spec_refuse_in(st, st->cur, error, ERANGE, "qcow2 cache sizes overflow");
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

int
spec_handle_drive(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    const char *file, *cache, *format;
    bool direct;
    uint64_t qcow2_cache = 0;
    int r;

    r = spec_parse_opts(st, NULL, &opts, error);
    if (r < 0)
        return r;
    file = qemu_opts_get(opts, "file");
    /* An empty drive (a cdrom without medium) opens nothing. */
    if ((!file || !*file) && !has_key_prefix(opts, "file."))
        return 0;
    cache = qemu_opts_get(opts, "cache");
    direct = g_strcmp0(cache, "none") == 0 || g_strcmp0(cache, "directsync") == 0;
    if ((r = spec_opt_bool(st, opts, "cache.direct", direct, &direct, error)) < 0 ||
        (r = qcow2_cache_of(st, opts, &qcow2_cache, error)) < 0)
        return r;
    format = qemu_opts_get(opts, "format");
    /* -drive also takes the block layer's own spelling. */
    if (!format)
        format = qemu_opts_get(opts, "driver");
    add_disk(st, qemu_opts_get(opts, "id"), format, file, direct, qcow2_cache);
    return 0;
}

int
spec_handle_disk_path(ParseState *st, GError **error)
{
    if (st->cur->arg && *st->cur->arg)
        add_disk(st, NULL, NULL, st->cur->arg, false, 0);
    return 0;
}

int
spec_handle_kernel(ParseState *st, GError **error)
{
    g_free(st->spec->kernel);
    st->spec->kernel = st->cur->arg && *st->cur->arg ? g_strdup(st->cur->arg) : NULL;
    return 0;
}

int
spec_handle_blockdev(ParseState *st, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    g_autoptr(BlockNode) node = g_new0(BlockNode, 1);
    int r;

    r = spec_parse_opts(st, NULL, &opts, error);
    if (r < 0)
        return r;
    node->node_name = g_strdup(qemu_opts_get(opts, "node-name"));
    node->driver = g_strdup(qemu_opts_get(opts, "driver"));
    node->file = g_strdup(qemu_opts_get(opts, "file"));
    node->filename = g_strdup(qemu_opts_get(opts, "filename"));
    node->has_direct = qemu_opts_get(opts, "cache.direct") != NULL;
    node->has_file_direct = qemu_opts_get(opts, "file.cache.direct") != NULL;
    if ((r = spec_opt_bool(st, opts, "cache.direct", false, &node->direct, error)) < 0 ||
        (r = spec_opt_bool(st, opts, "file.cache.direct", false, &node->file_direct, error)) < 0 ||
        (r = qcow2_cache_of(st, opts, &node->qcow2_cache, error)) < 0)
        return r;
    /* A repeated node-name is qemu's to spec_refuse; the first one stands here. */
    if (node->node_name && !g_hash_table_contains(st->block_names, node->node_name))
        g_hash_table_insert(st->block_names, node->node_name, node);
    g_ptr_array_add(st->blocks, g_steal_pointer(&node));
    return 0;
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
void
spec_finish_blockdevs(ParseState *st)
{
    for (guint i = 0; i < st->blocks->len; i++) {
        BlockNode *b = g_ptr_array_index(st->blocks, i);
        const char *filename;
        if (!qemu_catalog_is_block_format(b->driver))
            continue;
        bool direct = walk_block_chain(st, b, &filename);
        add_disk(st, b->node_name, b->driver, filename, direct, b->qcow2_cache);
    }
    for (guint i = 0; i < st->blocks->len; i++) {
        BlockNode *b = g_ptr_array_index(st->blocks, i);
        if (!b->driver || b->reached || qemu_catalog_is_block_format(b->driver) ||
            qemu_catalog_is_block_filter(b->driver))
            continue;
        add_disk(st, b->node_name, "raw", b->filename, b->direct, 0);
    }
}
