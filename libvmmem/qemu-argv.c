/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "qemu-argv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "qemu-catalog.h"

/* Whether the option at argv[i] (named @name) swallows the next word. */
static bool
takes_argument(const char *name, int i, int argc, const char *const *argv)
{
    bool has_arg;

    if (qemu_catalog_option(name, &has_arg))
        return has_arg;
    /* Unknown: a guess that never makes a following option disappear. */
    return i + 1 < argc && argv[i + 1][0] != '-';
}

int
qemu_argv_split(int argc, const char *const *argv, GArray **ret_args, GError **error)
{
    g_autoptr(GArray) args = NULL;

    if (argc < 0 || (argc > 0 && !argv))
        return vmmem_fail(error, EINVAL, "invalid argument vector");
    if (argc > QEMU_ARGV_MAX)
        return vmmem_fail(error, E2BIG, "too many arguments (%d, at most %d)", argc, QEMU_ARGV_MAX);
    for (int i = 0; i < argc; i++) {
        if (!argv[i])
            return vmmem_fail(error, EINVAL, "argument %d is NULL", i);
    }

    args = g_array_sized_new(FALSE, FALSE, sizeof(QemuArg), (guint)argc);
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];
        QemuArg a = {.index = i, .arg_index = -1};

        if (word[0] != '-') {
            /* qemu reads a bare word as the first hard disk image. */
            a.name = "hda";
            a.arg = word;
            a.arg_index = i;
        } else {
            a.name = word + (word[1] == '-' ? 2 : 1);
            if (takes_argument(a.name, i, argc, argv)) {
                if (i + 1 >= argc)
                    return vmmem_fail(error, EINVAL, "option '-%s' needs an argument", a.name);
                a.arg_index = ++i;
                a.arg = argv[i];
            }
        }
        g_array_append_val(args, a);
    }
    *ret_args = g_steal_pointer(&args);
    return 0;
}
