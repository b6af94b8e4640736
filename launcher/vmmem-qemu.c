/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmmem-qemu: a drop-in for qemu-system-x86_64.  It puts itself into the VM's envelope and
 * execs the real qemu with the same argv, environment, fds and umask, so qemu keeps this PID.
 * Settings come from the config file and VMMEM_* variables (docs/launcher.md): libvirt owns
 * argv.
 */
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

const char *program_name = "vmmem-qemu";

static void exec_qemu(const char *qemu, char **argv) __attribute__((noreturn));

static void
exec_qemu(const char *qemu, char **argv)
{
    drop_privileges();
    execv(qemu, argv);
    die(127, "cannot execute '%s': %s", qemu, strerror(errno));
}

/* Exec failed while inside the scope: step out, remove it, report. */
static void fail_exec(vmmem_scope *scope, const char *qemu, int errnum) __attribute__((noreturn));

static void
fail_exec(vmmem_scope *scope, const char *qemu, int errnum)
{
    vmmem_error *error = NULL;

    if (vmmem_scope_destroy(scope, 0, &error) < 0)
        warn("cannot remove cgroup '/%s': %s", vmmem_scope_get_path(scope),
             vmmem_error_get_message(error));
    die(127, "cannot execute '%s': %s", qemu, strerror(errnum));
}

int
main(int argc, char **argv)
{
    bool privileged = running_privileged();
    vmmem_config *config;
    vmmem_spec *spec = NULL;
    vmmem_envelope *envelope = NULL;
    vmmem_scope *scope = NULL;
    vmmem_error *error = NULL;
    const char *qemu;
    bool dry_run;

    config = load_config(NULL, privileged);
    qemu = vmmem_config_get_qemu_binary(config);
    check_qemu_binary(qemu);
    dry_run = !privileged && g_strcmp0(getenv("VMMEM_DRY_RUN"), "1") == 0;

    if (vmmem_spec_new_from_argv(argc - 1, (const char *const *)argv + 1, 0, &spec, &error) < 0)
        die_vmmem(1, error);
    if (vmmem_spec_is_probe(spec))
        exec_qemu(qemu, argv); /* no guest RAM: no envelope, nothing left behind */

    if (vmmem_envelope_new(spec, config, 0, &envelope, &error) < 0 ||
        vmmem_scope_new(envelope, config, NULL, dry_run ? VMMEM_SCOPE_DRY_RUN : 0, &scope, &error) <
            0)
        die_vmmem(1, error);
    if (vmmem_scope_create(scope, 0, &error) < 0)
        die_vmmem(1, error);
    if (vmmem_scope_attach_pid(scope, 0, 0, &error) < 0) {
        vmmem_error *cleanup = NULL;
        if (vmmem_scope_destroy(scope, 0, &cleanup) < 0)
            warn("cannot remove cgroup '/%s': %s", vmmem_scope_get_path(scope),
                 vmmem_error_get_message(cleanup));
        die_vmmem(1, error);
    }
    if (g_strcmp0(getenv("VMMEM_QUIET"), "1") != 0 || privileged)
        print_envelope_line(stderr, envelope, vmmem_scope_get_path(scope));

    drop_privileges();
    execv(qemu, argv);
    fail_exec(scope, qemu, errno);
}
