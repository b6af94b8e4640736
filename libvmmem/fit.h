/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdint.h>

/* `vmmem fit`: the largest guest RAM whose envelope fits a budget (vmmem_fit()). */

/* @argv with its guest RAM size set to @mib MiB: the last -m's size replaced, its other
 * properties (slots, maxmem) kept; "-m SIZE" appended when there is none.  *@ret_m: the -m
 * argument used.  Pure.  -EINVAL: an -m that is not QemuOpts. */
int fit_rewrite_m(int argc, const char *const *argv, uint64_t mib, GPtrArray **ret_argv,
                  char **ret_m, GError **error);
