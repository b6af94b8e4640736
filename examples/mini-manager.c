/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mini-manager: the smallest hypervisor manager on top of libvmmem.  It starts one qemu in its
 * envelope through the public API only (no GLib): clone3() with CLONE_INTO_CGROUP puts the child
 * in the scope as it is born, so nothing runs between fork and exec but execv itself.  While
 * qemu runs it calibrates it once a second (what it really needs beyond its guest RAM), wakes
 * on the scope's events fd when memory.events changes (memory.high crossed, an OOM kill), and
 * at the end reports its peak usage.
 *
 * It asks for the cgroupfs backend: CLONE_INTO_CGROUP needs the scope's cgroup before the child
 * exists, and reading the scope after qemu exited needs it to outlive qemu.  A systemd scope
 * unit has neither (systemd makes it with its first process and removes it with its last), so a
 * manager on the systemd backend spawns the child stopped, attaches it, then lets it exec, and
 * reads usage while the VM runs (docs/library.md, "systemd hosts").
 *
 *   mini-manager [--dry-run] QEMU-ARGS...
 *
 * Build: cc mini-manager.c $(pkg-config --cflags --libs vmmem)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmmem/vmmem.h>

static int
fail(const char *what, vmmem_error *error)
{
    fprintf(stderr, "mini-manager: %s: %s\n", what, vmmem_error_get_message(error));
    vmmem_error_free(error);
    return 1;
}

/* The child is born in the scope (Linux 5.7); -1 with errno ENOSYS on older kernels. */
static pid_t
spawn_in_cgroup(int cgroup_fd, char **argv)
{
    struct clone_args args = {
        .flags = CLONE_INTO_CGROUP,
        .exit_signal = SIGCHLD,
        .cgroup = (uint64_t)cgroup_fd,
    };
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));

    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void
print_events(const vmmem_memory_events *ev)
{
    printf("memory.events: high %" PRIu64 ", max %" PRIu64 ", oom %" PRIu64 ", oom_kill %" PRIu64
           "\n",
           ev->high, ev->max, ev->oom, ev->oom_kill);
    fflush(stdout);
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
    int first = 1 + dry_run, status, cgroup_fd, events_fd;
    uint64_t current, peak, kills;
    vmmem_memory_events seen = {0}, now;
    time_t next_sample = 0;
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
    if (vmmem_scope_new(envelope, config, NULL,
                        VMMEM_SCOPE_BACKEND_CGROUPFS | (dry_run ? VMMEM_SCOPE_DRY_RUN : 0), &scope,
                        &error) < 0)
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
    if (vmmem_scope_get_fd(scope, 0, &cgroup_fd, &error) < 0 ||
        vmmem_scope_get_events_fd(scope, 0, &events_fd, &error) < 0) {
        vmmem_error *cleanup = NULL;
        vmmem_scope_destroy(scope, 0, &cleanup);
        vmmem_error_free(cleanup);
        return fail("scope", error);
    }
    argv[first - 1] = (char *)vmmem_config_get_qemu_binary(config);
    pid = spawn_in_cgroup(cgroup_fd, argv + first - 1);
    close(cgroup_fd);
    if (pid < 0) {
        vmmem_error *cleanup = NULL;
        fprintf(stderr, "mini-manager: clone3 into the scope: %s\n", strerror(errno));
        vmmem_scope_destroy(scope, 0, &cleanup);
        vmmem_error_free(cleanup);
        return 1;
    }
    printf("qemu %d started in /%s\n", (int)pid, vmmem_scope_get_path(scope));
    fflush(stdout);
    /* The manager's own cadence: a sample a second, and a line whenever memory.events moves. */
    while (waitpid(pid, &status, WNOHANG) == 0) {
        struct pollfd p = {.fd = events_fd, .events = POLLIN};

        if (time(NULL) >= next_sample) {
            if (vmmem_calibration_sample(cal, scope, pid, 0, &error) < 0)
                return fail("sample", error);
            next_sample = time(NULL) + 1;
        }
        if (poll(&p, 1, 1000) > 0) {
            if (vmmem_scope_read_events(scope, 0, &now, &error) < 0)
                return fail("events", error);
            /* memory.max events come with every reclaim at the limit: shown at the end. */
            if (now.high != seen.high || now.oom != seen.oom || now.oom_kill != seen.oom_kill)
                print_events(&now);
            seen = now;
        }
    }
    if (vmmem_calibration_finish(cal, scope,
                                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                                 0, &error) < 0)
        fail("calibration", error); /* no report, but the scope must still go */
    else
        printf("must-fit overhead peak %" PRIu64 " (budget %" PRIu64 "), %zu samples\n",
               vmmem_calibration_get_must_fit_peak(cal, NULL),
               vmmem_envelope_get_overhead(envelope), vmmem_calibration_get_n_samples(cal));
    if (vmmem_scope_read_usage(scope, &current, &peak, &kills, &error) < 0 ||
        vmmem_scope_read_events(scope, 0, &now, &error) < 0)
        return fail("usage", error);
    print_events(&now);
    printf("qemu exited (status 0x%x): peak %" PRIu64 ", OOM kills %" PRIu64 "\n", status, peak,
           kills);
    if (vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, &error) < 0)
        return fail("destroy", error);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
