/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "vmmem/vmmem.h"

/* The option plumbing of `vmmem` (vmmem-cli.c), for the commands in other files. */

extern gboolean arg_json;
extern const GOptionEntry limit_entries[];
extern const GOptionEntry host_entries[];
extern const GOptionEntry json_entries[];

/* Options before "--" are ours, everything after it is qemu's.  @extra: NULL for a command that
 * takes no qemu arguments. */
void parse_options(const GOptionEntry *const *extra, int *argc, char ***argv, int *ret_qemu_argc,
                   char ***ret_qemu_argv);
/* The config (--config, else the default lookup) with the command-line overrides. */
vmmem_config *config_from_options(void);
/* --host FILE's host, or NULL for this one. */
vmmem_host *host_from_options(void);
/* Spec, envelope and (unless a probe) scope of the qemu arguments; dies with one line. */
void make_plan(int qemu_argc, char **qemu_argv, vmmem_config *config, unsigned scope_flags,
               vmmem_spec **ret_spec, vmmem_envelope **ret_envelope, vmmem_scope **ret_scope,
               char **ret_scope_error);

/* vmmem-cli-host.c */
int cmd_status(int argc, char **argv);
int cmd_capacity(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_why(int argc, char **argv);
