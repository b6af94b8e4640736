/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

#include "vmmem/vmmem.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_config, vmmem_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_spec, vmmem_spec_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_envelope, vmmem_envelope_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_scope, vmmem_scope_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_calibration, vmmem_calibration_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_error, vmmem_error_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_host, vmmem_host_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_status, vmmem_status_free)

/* The launchers are the logging layer: every failure is printed once, as one line
 * "PROGRAM: message", by the code that decides to give up. */
extern const char *program_name;

/* libcgroup prints its errors on stdout unless its logger is set before cgroup_init(); every
 * failure reaches vmmem as a return code and one line, and stdout is qemu's.  First thing in
 * main(). */
void quiet_libcgroup(void);

void die(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the vmmem_error (consumed) and exits with @status. */
void die_vmmem(int status, vmmem_error *error) __attribute__((noreturn));

/* True when this process runs with more privilege than whoever made its environment
 * (setuid/setgid or file capabilities: the kernel's AT_SECURE). */
bool running_privileged(void);

/* The VMMEM_* variables of docs/launcher.md and the config keys they set, NULL-terminated.
 * @from_domain: vmmemd honours it too, read from the asking launcher's environment (a libvirt
 * domain's <qemu:env>); the others mean nothing to a daemon that execs nothing, makes no scope
 * and reads only root's config. */
typedef struct {
    const char *variable;
    const char *key;
    bool from_domain;
} LauncherEnvKey;
extern const LauncherEnvKey launcher_env_keys[];

/* Config from @path (or the default lookup) plus the VMMEM_* variables of docs/launcher.md,
 * which are ignored when running privileged. */
vmmem_config *load_config(const char *path, bool privileged);

/* Refuses a qemu path that is not an absolute path to an executable regular file, or that is
 * this very launcher (which would exec itself forever). */
void check_qemu_binary(const char *qemu);

/* When this launcher was granted anything at exec (setuid, setgid, file capabilities): back to
 * the real uid/gid with no capabilities, so nothing it was given survives into qemu.  Otherwise
 * a no-op: capabilities the caller passed on are the caller's to give qemu. */
void drop_privileges(void);

/* Each of the envelope's warnings (a host profile not used...) as "PROGRAM: warning: ...". */
void print_warnings(const vmmem_envelope *envelope);

/* "256 MiB" */
char *format_size(uint64_t bytes);

/* One line for logs: "envelope for 'web1': memory.max 805306368 (guest 512 MiB + overhead
 * 256 MiB) in /vmmem.slice/vmmem-web1.scope". */
void print_envelope_line(FILE *f, const vmmem_envelope *envelope, const char *path);

/* Admission before an envelope is made (vmmem_admission_check()): refused (admission = strict,
 * or a check that cannot be made under it) is one line and exit 1; a host that is full under
 * admission = warn is a warning. */
void admit(const vmmem_envelope *envelope, const vmmem_config *config);
