/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mini-manager: the smallest hypervisor manager on top of libvmmem.  It starts one qemu in its
 * envelope through the public API only (no GLib), calibrates it once a second while it runs
 * (what it really needs beyond its guest RAM) and reports that and its peak usage.
 *
 *   mini-manager [--dry-run] QEMU-ARGS...
 *
 * Build: cc mini-manager.c $(pkg-config --cflags --libs vmmem)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vmmem/vmmem.h>

static int
fail(const char *what, vmmem_error *error)
{
    fprintf(stderr, "mini-manager: %s: %s\n", what, vmmem_error_get_message(error));
    vmmem_error_free(error);
    return 1;
}

int
main(int argc, char **argv)
{
    __attribute__((cleanup(vmmem_config_freep))) vmmem_config *config = NULL;
    __attribute__((cleanup(vmmem_spec_freep))) vmmem_spec *spec = NULL;
    __attribute__((cleanup(vmmem_envelope_freep))) vmmem_envelope *envelope = NULL;
    __attribute__((cleanup(vmmem_scope_freep))) vmmem_scope *scope = NULL;
    __attribute__((cleanup(vmmem_calibration_freep))) vmmem_calibration *cal = NULL;
    vmmem_error *error = NULL;
    int dry_run = argc > 1 && strcmp(argv[1], "--dry-run") == 0;
    int first = 1 + dry_run, status;
    uint64_t current, peak, kills;
    pid_t pid;

    if (vmmem_config_new(NULL, 0, &config, &error) < 0)
        return fail("config", error);
    if (vmmem_spec_new_from_argv(argc - first, (const char *const *)argv + first, 0, &spec,
                                 &error) < 0)
        return fail("qemu command line", error);
    if (vmmem_spec_is_probe(spec)) {
        fprintf(stderr, "mini-manager: no guest RAM, nothing to manage\n");
        return 1;
    }
    if (vmmem_envelope_new(spec, config, 0, &envelope, &error) < 0)
        return fail("envelope", error);
    if (vmmem_scope_new(envelope, config, NULL, dry_run ? VMMEM_SCOPE_DRY_RUN : 0, &scope, &error) <
        0)
        return fail("scope", error);

    printf("scope /%s: memory.max %" PRIu64 " = guest %" PRIu64 " + overhead %" PRIu64 "\n",
           vmmem_scope_get_path(scope), vmmem_envelope_get_memory_max(envelope),
           vmmem_envelope_get_guest_ram(envelope), vmmem_envelope_get_overhead(envelope));
    for (size_t i = 0; i < vmmem_envelope_get_n_components(envelope); i++) {
        const char *name;
        uint64_t bytes;
        vmmem_envelope_get_component(envelope, i, &name, &bytes, NULL);
        printf("  %-12s %" PRIu64 "\n", name, bytes);
    }
    if (dry_run)
        return 0;
    if (vmmem_calibration_new(envelope, 0, &cal, &error) < 0)
        return fail("calibration", error);

    if (vmmem_scope_create(scope, 0, &error) < 0)
        return fail("create scope", error);
    pid = fork();
    if (pid == 0) {
        /* The child enters the envelope itself, before qemu allocates anything. */
        if (vmmem_scope_attach_pid(scope, 0, 0, &error) < 0)
            _exit(fail("attach", error));
        argv[first - 1] = (char *)vmmem_config_get_qemu_binary(config);
        execv(argv[first - 1], argv + first - 1);
        fprintf(stderr, "mini-manager: exec: %s\n", strerror(errno));
        _exit(127);
    }
    /* The manager's own cadence: a sample a second, in the VM's production envelope. */
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (vmmem_calibration_sample(cal, scope, pid, 0, &error) < 0)
            return fail("sample", error);
        sleep(1);
    }
    if (vmmem_calibration_finish(cal, scope,
                                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                                 0, &error) < 0)
        fail("calibration", error); /* no report, but the scope must still go */
    else
        printf("must-fit overhead peak %" PRIu64 " (budget %" PRIu64 "), %zu samples\n",
               vmmem_calibration_get_must_fit_peak(cal, NULL),
               vmmem_envelope_get_overhead(envelope), vmmem_calibration_get_n_samples(cal));
    if (vmmem_scope_read_usage(scope, &current, &peak, &kills, &error) < 0)
        return fail("usage", error);
    printf("qemu exited (status 0x%x): peak %" PRIu64 ", OOM kills %" PRIu64 "\n", status, peak,
           kills);
    if (vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, &error) < 0)
        return fail("destroy", error);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
