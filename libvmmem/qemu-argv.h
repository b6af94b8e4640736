/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* Stage 1: argv -> a flat list of options.  qemu accepts "-opt" and "--opt"; whether an option
 * takes an argument comes from qemu-system-x86_64 7.2's option table (qemu-catalog.h).
 * An option missing from the table is assumed to take an argument when the next word does not
 * start with '-' (so an unknown option never stops a launch).  A bare word is qemu's implicit
 * -hda and is reported as name "hda". */
typedef struct {
    const char *name; /* without leading dashes; points into argv or a static string */
    const char *arg;  /* NULL if the option takes none */
    int index;        /* argv index of the option word */
    int arg_index;    /* argv index of the argument, or -1; a bare word is its own argument */
} QemuArg;

/* More arguments than this are refused (-E2BIG): nothing real comes close, and it bounds the
 * work a hostile caller can make the parser do (bubblewrap's MAX_ARGS). */
#define QEMU_ARGV_MAX 65536

/* Returns a GArray of QemuArg.  Errors: a known option that needs an argument at the end of argv
 * (-EINVAL, names the option), too many arguments (-E2BIG). */
int qemu_argv_split(int argc, const char *const *argv, GArray **ret_args, GError **error);
