/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "host.h"
#include "libvirt-domain.h"
#include "qemu-argv.h"
#include "qemu-opts.h"
#include "size.h"
#include "vm-spec.h"

/* One input is one qemu command line: its words separated by NUL bytes.  Everything that reads
 * it before anything touches the system runs on it; besides the sanitizers, the checks below
 * catch broken contracts (an error without a message, an index out of argv). */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const HostInfo *
fuzz_host(void)
{
    static const char *const mounts[] = {"/dev/hugepages", NULL};
    static HostInfo *host;

    /* Fixed facts, so that an input always takes the same path. */
    if (!host)
        host = host_info_new(UINT64_C(8) << 30, false, mounts);
    return host;
}

/* Words end at NUL; a final NUL does not start an empty word. */
static GPtrArray *
split_words(const char *buf, size_t size)
{
    GPtrArray *words = g_ptr_array_new();

    for (size_t start = 0; start < size;) {
        size_t len = strnlen(buf + start, size - start);

        g_ptr_array_add(words, (char *)buf + start);
        start += len + 1;
    }
    g_ptr_array_add(words, NULL);
    return words;
}

static void
check_error(int r, const GError *error)
{
    if (r >= 0) {
        if (error)
            abort();
        return;
    }
    if (!error || error->domain != VMMEM_ERROR || error->code != -r || !error->message[0] ||
        strchr(error->message, '\n'))
        abort();
}

static void
fuzz_split(int argc, const char *const *argv)
{
    g_autoptr(GArray) args = NULL;
    g_autoptr(GError) error = NULL;
    int r = qemu_argv_split(argc, argv, &args, &error), last = -1;

    check_error(r, error);
    if (r < 0)
        return;
    for (guint i = 0; i < args->len; i++) {
        const QemuArg *a = &g_array_index(args, QemuArg, i);

        if (a->index <= last || a->index >= argc || !a->name)
            abort();
        if (a->arg_index >= 0 && (a->arg_index > a->index + 1 || a->arg != argv[a->arg_index]))
            abort();
        last = a->arg_index > a->index ? a->arg_index : a->index;
    }
}

static void
fuzz_spec(int argc, const char *const *argv)
{
    g_autoptr(VmSpec) spec = NULL;
    g_autoptr(GError) error = NULL;
    int bad_index = -1;
    int r = vm_spec_parse(argc, argv, fuzz_host(), &spec, &bad_index, &error);

    check_error(r, error);
    if (r < 0 && (bad_index < -1 || bad_index >= argc))
        abort();
    if (r == 0 && !spec)
        abort();
}

static void
fuzz_size(const char *text)
{
    uint64_t bytes;
    int r = vmmem_parse_size(text, UINT64_C(1) << 20, &bytes);

    if (r == 0)
        g_free(vmmem_format_size(bytes));
    else if (r != -EINVAL && r != -ERANGE)
        abort();
}

static void
fuzz_opts(const char *text)
{
    g_autoptr(QemuOpts) opts = NULL;
    g_autoptr(GError) error = NULL;
    uint64_t u;
    bool b;
    int r = qemu_opts_parse(text, "size", &opts, &error);

    check_error(r, error);
    if (r < 0)
        return;
    for (guint i = 0; i < opts->items->len; i++) {
        const QemuOpt *opt = g_ptr_array_index(opts->items, i);

        if (!opt->key[0] || !opt->value)
            abort();
        /* Every getter on every key: the errors must be well-formed too. */
        r = qemu_opts_get_size(opts, opt->key, UINT64_C(1) << 20, 0, &u, &error);
        check_error(r, error);
        g_clear_error(&error);
        r = qemu_opts_get_bool(opts, opt->key, false, &b, &error);
        check_error(r, error);
        g_clear_error(&error);
        r = qemu_opts_get_uint(opts, opt->key, 0, &u, &error);
        check_error(r, error);
        g_clear_error(&error);
    }
}

/* vmmemd feeds it what a hostile requester's /proc/PID/cgroup says: a domain found must be a
 * clean prefix of the path, never something that climbs out of it. */
static void
fuzz_placement(const char *text)
{
    g_autoptr(LibvirtDomain) d = NULL;
    const char *path = text;

    while (*path == '/')
        path++;
    if (libvirt_domain_from_cgroup(text, &d) == 0) {
        if (d)
            abort();
        return;
    }
    if (!d || !g_str_has_prefix(path, d->domain) || strstr(d->domain, "..") == d->domain ||
        strstr(d->domain, "/../") || strstr(d->domain, "//") || !d->machine[0])
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *buf = g_malloc(size + 1);
    g_autoptr(GPtrArray) words = NULL;
    const char *const *argv;
    int argc;

    memcpy(buf, data, size);
    buf[size] = '\0';
    words = split_words(buf, size);
    argc = (int)words->len - 1;
    argv = (const char *const *)words->pdata;

    fuzz_split(argc, argv);
    fuzz_spec(argc, argv);
    for (int i = 0; i < argc; i++) {
        fuzz_opts(argv[i]);
        fuzz_size(argv[i]);
        fuzz_placement(argv[i]);
    }
    return 0;
}
