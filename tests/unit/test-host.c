/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host facts read from files (libvmmem/host.c): the headers of the images and kernels a command
 * line names, followed along qcow2 backing chains, and an executable's GNU build ID.  The files
 * are written here, byte by byte, in the formats qemu reads.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "error.h"
#include "host.h"
#include "size.h"
#include "vm-spec.h"

static char *tmpdir;

static char *
path_of(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void
put_be32(unsigned char *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static void
put_be64(unsigned char *p, uint64_t v)
{
    put_be32(p, v >> 32);
    put_be32(p + 4, (uint32_t)v);
}

/* A qcow2 header (docs/interop/qcow2.txt): version 3, the backing file name after it. */
static void
write_qcow2(const char *name, uint64_t size, unsigned cluster_bits, bool extended_l2,
            const char *backing)
{
    g_autofree char *path = path_of(name);
    unsigned char h[512] = {0};

    put_be32(h, 0x514649fb);
    put_be32(h + 4, 3);
    if (backing) {
        put_be64(h + 8, 256);
        put_be32(h + 16, (uint32_t)strlen(backing));
        memcpy(h + 256, backing, strlen(backing));
    }
    put_be32(h + 20, cluster_bits);
    put_be64(h + 24, size);
    put_be64(h + 72, extended_l2 ? 1u << 4 : 0);
    put_be32(h + 100, 112);
    g_assert_true(g_file_set_contents(path, (const char *)h, sizeof(h), NULL));
}

static VmSpec *
spec_with(const char *kernel, const char *const *disks)
{
    VmSpec *spec = g_new0(VmSpec, 1);

    spec->kernel = kernel ? path_of(kernel) : NULL;
    spec->disks = g_ptr_array_new();
    for (const char *const *d = disks; d && *d; d++) {
        VmDisk *disk = g_new0(VmDisk, 1);
        disk->path = path_of(*d);
        g_ptr_array_add(spec->disks, disk);
    }
    return spec;
}

static void
spec_free(VmSpec *spec)
{
    for (guint i = 0; i < spec->disks->len; i++) {
        VmDisk *d = g_ptr_array_index(spec->disks, i);
        g_free(d->path);
        g_free(d);
    }
    g_ptr_array_unref(spec->disks);
    g_free(spec->kernel);
    g_free(spec);
}

static const HostFile *
file_of(const HostInfo *host, const char *name)
{
    g_autofree char *path = path_of(name);

    return host_info_file(host, path);
}

static void
test_qcow2_chain(void)
{
    const char *const disks[] = {"top.qcow2", "plain.raw", "gone.qcow2", NULL};
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, NULL);
    g_autofree char *raw = path_of("plain.raw");
    g_autofree char *base_abs = path_of("base.qcow2");
    VmSpec *spec;
    const HostFile *f;

    /* top -> mid (relative to top's folder) -> base (absolute) -> missing */
    write_qcow2("top.qcow2", 256 * GiB, 16, false, "mid.qcow2");
    write_qcow2("mid.qcow2", 64 * GiB, 21, true, base_abs);
    write_qcow2("base.qcow2", 10 * GiB, 16, false, "nowhere.qcow2");
    g_assert_true(g_file_set_contents(raw, "raw bytes", -1, NULL));
    spec = spec_with(NULL, disks);
    host_info_probe_files(host, spec, NULL);

    f = file_of(host, "top.qcow2");
    g_assert_nonnull(f);
    g_assert_cmpint(f->kind, ==, HOST_FILE_QCOW2);
    g_assert_cmpuint(f->virtual_size, ==, 256 * GiB);
    g_assert_cmpuint(f->cluster_bits, ==, 16);
    g_assert_false(f->extended_l2);
    g_assert_nonnull(f->backing);
    g_assert_true(g_str_has_suffix(f->backing, "/mid.qcow2"));
    g_assert_true(g_path_is_absolute(f->backing));

    f = file_of(host, "mid.qcow2");
    g_assert_nonnull(f);
    g_assert_cmpuint(f->cluster_bits, ==, 21);
    g_assert_true(f->extended_l2);
    g_assert_cmpstr(f->backing, ==, base_abs);

    f = file_of(host, "base.qcow2");
    g_assert_nonnull(f);
    g_assert_cmpuint(f->virtual_size, ==, 10 * GiB);
    /* The end of the chain is not there: nothing recorded for it. */
    g_assert_null(file_of(host, "nowhere.qcow2"));

    f = file_of(host, "plain.raw");
    g_assert_nonnull(f);
    g_assert_cmpint(f->kind, ==, HOST_FILE_OTHER);
    g_assert_cmpuint(f->size, ==, 9);
    g_assert_null(file_of(host, "gone.qcow2"));
    spec_free(spec);
}

/* A backing file named by a protocol ("nbd:...", "json:{...}") is no file to read. */
static void
test_qcow2_protocol_backing(void)
{
    const char *const disks[] = {"over-nbd.qcow2", NULL};
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, NULL);
    VmSpec *spec;

    write_qcow2("over-nbd.qcow2", GiB, 16, false, "nbd:localhost:10809");
    spec = spec_with(NULL, disks);
    host_info_probe_files(host, spec, NULL);
    g_assert_nonnull(file_of(host, "over-nbd.qcow2"));
    g_assert_null(file_of(host, "over-nbd.qcow2")->backing);
    spec_free(spec);
}

/* A root helper reads for a requester only what the requester's mode bits allow. */
static void
test_as_requester(void)
{
    const char *const disks[] = {"open.qcow2", "private.qcow2", "hidden/in.qcow2", NULL};
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, NULL);
    g_autofree char *priv = path_of("private.qcow2");
    g_autofree char *hidden = path_of("hidden");
    const gid_t groups[] = {4242};
    const HostCreds nobody = {.uid = 65534, .gid = 65534, .groups = groups, .n_groups = 1};
    VmSpec *spec;

    /* g_dir_make_tmp() makes the test's folder 0700: a folder nobody could search. */
    g_assert_cmpint(g_chmod(tmpdir, 0755), ==, 0);
    g_assert_cmpint(g_mkdir(hidden, 0700), ==, 0);
    write_qcow2("open.qcow2", GiB, 16, false, NULL);
    write_qcow2("private.qcow2", GiB, 16, false, NULL);
    write_qcow2("hidden/in.qcow2", GiB, 16, false, NULL);
    g_assert_cmpint(g_chmod(priv, 0600), ==, 0);
    spec = spec_with(NULL, disks);
    host_info_probe_files(host, spec, &nobody);
    g_assert_nonnull(file_of(host, "open.qcow2"));
    g_assert_null(file_of(host, "private.qcow2"));
    g_assert_null(file_of(host, "hidden/in.qcow2"));
    spec_free(spec);
}

/* HostCreds.open_file: where a helper opens the files elsewhere (vmmemd's opener), every open
 * goes through it, and what it refuses is not read. */
static int opens;

static int
open_all_but_private(const char *path, void *data)
{
    opens++;
    return g_str_has_suffix(path, "private.qcow2") ? -1 : host_open_as(path, data);
}

static void
test_open_hook(void)
{
    const char *const disks[] = {"hook-open.qcow2", "hook-private.qcow2", NULL};
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, NULL);
    HostCreds me = {.uid = geteuid(), .gid = getegid()};
    VmSpec *spec;

    me.open_file = open_all_but_private;
    me.open_data = &me;
    write_qcow2("hook-open.qcow2", GiB, 16, false, NULL);
    write_qcow2("hook-private.qcow2", GiB, 16, false, NULL);
    spec = spec_with(NULL, disks);
    opens = 0;
    host_info_probe_files(host, spec, &me);
    g_assert_cmpint(opens, ==, 2);
    g_assert_nonnull(file_of(host, "hook-open.qcow2"));
    g_assert_null(file_of(host, "hook-private.qcow2"));
    spec_free(spec);
}

static void
test_kernels(void)
{
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, NULL);
    g_autofree char *bz = path_of("vmlinuz");
    g_autofree char *other = path_of("other.bin");
    g_autofree unsigned char *image = g_malloc0(8192);
    VmSpec *spec;
    const HostFile *f;

    /* The Linux boot protocol's "HdrS" at 0x202. */
    memcpy(image + 0x202, "HdrS", 4);
    g_assert_true(g_file_set_contents(bz, (const char *)image, 8192, NULL));
    g_assert_true(g_file_set_contents(other, "not a kernel", -1, NULL));

    spec = spec_with("vmlinuz", NULL);
    host_info_probe_files(host, spec, NULL);
    f = file_of(host, "vmlinuz");
    g_assert_nonnull(f);
    g_assert_cmpint(f->kind, ==, HOST_FILE_BZIMAGE);
    g_assert_cmpuint(f->size, ==, 8192);
    spec_free(spec);

    spec = spec_with("other.bin", NULL);
    host_info_probe_files(host, spec, NULL);
    g_assert_cmpint(file_of(host, "other.bin")->kind, ==, HOST_FILE_OTHER);
    spec_free(spec);
}

/* This test program itself: an ELF executable with symbol tables and (gcc, clang on Debian) a
 * GNU build ID. */
static void
test_elf(void)
{
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, NULL);
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *build_id = NULL;
    g_autoptr(GError) error = NULL;
    VmSpec *spec = g_new0(VmSpec, 1);
    const HostFile *f;

    spec->kernel = g_strdup(self);
    spec->disks = g_ptr_array_new();
    host_info_probe_files(host, spec, NULL);
    f = host_info_file(host, self);
    g_assert_nonnull(f);
    g_assert_cmpint(f->kind, ==, HOST_FILE_ELF);
    g_assert_cmpuint(f->symbols, >, 0);
    g_assert_cmpuint(f->symbols, <, f->size);
    spec_free(spec);

    g_assert_cmpint(host_read_build_id(self, &build_id, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpuint(strlen(build_id), >=, 16);
    g_assert_true(strspn(build_id, "0123456789abcdef") == strlen(build_id));
}

static void
test_build_id_refusals(void)
{
    g_autofree char *text = path_of("text");
    g_autofree char *missing = path_of("missing");
    g_autofree char *id = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(g_file_set_contents(text, "#!/bin/sh\n", -1, NULL));
    g_assert_cmpint(host_read_build_id(text, &id, &error), ==, -ENODATA);
    g_assert_nonnull(strstr(error->message, "is not a 64-bit ELF executable"));
    g_clear_error(&error);
    g_assert_cmpint(host_read_build_id(missing, &id, &error), ==, -ENOENT);
    g_assert_nonnull(strstr(error->message, "cannot read"));
    g_assert_null(id);
}

int
main(int argc, char **argv)
{
    int r;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("vmmem-host-XXXXXX", NULL);
    g_test_add_func("/host/qcow2-chain", test_qcow2_chain);
    g_test_add_func("/host/qcow2-protocol-backing", test_qcow2_protocol_backing);
    g_test_add_func("/host/as-requester", test_as_requester);
    g_test_add_func("/host/open-hook", test_open_hook);
    g_test_add_func("/host/kernels", test_kernels);
    g_test_add_func("/host/elf", test_elf);
    g_test_add_func("/host/build-id-refusals", test_build_id_refusals);
    r = g_test_run();
    /* The files are small and the folder unique: remove what is there. */
    {
        g_autoptr(GDir) d = g_dir_open(tmpdir, 0, NULL);
        const char *n;
        while (d && (n = g_dir_read_name(d))) {
            g_autofree char *p = path_of(n);
            g_autofree char *inner = g_build_filename(p, "in.qcow2", NULL);
            g_unlink(inner);
            if (g_unlink(p) != 0)
                g_rmdir(p);
        }
    }
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return r;
}
