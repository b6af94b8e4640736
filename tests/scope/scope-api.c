/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scope lifecycle of the public API against a real cgroup v2 kernel (run inside the test VM
 * by tests/integration/scope-api.sh; it writes cgroups, so never on a host).  Public header and
 * shared library only, as a manager would link it.  TAP on stdout.
 *
 *   scope-api             run every check (the cgroupfs backend)
 *   scope-api --systemd   the lifecycle through the systemd backend (systemd as PID 1)
 *   scope-api --hog MiB   (a child of the checks) touch MiB of anonymous memory, say so on
 *                         stdout, then wait to be killed
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libcgroup.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmmem/vmmem.h>

#define CG        "/sys/fs/cgroup"
#define N_THREADS 50
#define MiB       (1024ull * 1024)

static int n_checks, n_failed;
static const char *self;
static int host_log_lines;

/* The host application's own libcgroup logger, which libvmmem must leave in place. */
static void
host_logger(void *userdata, int level, const char *fmt, va_list ap)
{
    host_log_lines++;
}

static void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
check(int cond, const char *fmt, ...)
{
    va_list ap;

    printf("%s %d - ", cond ? "ok" : "not ok", ++n_checks);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (!cond)
        n_failed++;
}

static void
diag(vmmem_error *error)
{
    if (error)
        printf("# error: %s (errno %d)\n", vmmem_error_get_message(error),
               vmmem_error_get_errno(error));
    vmmem_error_free(error);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
exists(const char *path)
{
    char at[4096];

    snprintf(at, sizeof(at), CG "/%s", path);
    return access(at, F_OK) == 0;
}

static int
read_file(const char *path, const char *file, char *buf, size_t size)
{
    char at[4096];
    ssize_t n;
    int fd;

    snprintf(at, sizeof(at), CG "/%s/%s", path, file);
    fd = open(at, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -errno;
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return 0;
}

static int
count_fds(void)
{
    char at[64];
    int n = 0;

    for (int fd = 0; fd < 1024; fd++) {
        snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
        n += access(at, F_OK) == 0;
    }
    return n;
}

static vmmem_envelope *
envelope_for(const char *ram, const char *high, const char *overhead_max)
{
    const char *argv[] = {"-machine", "q35", "-accel", "kvm", "-m", ram, "-nodefaults", NULL};
    vmmem_config *config = NULL;
    vmmem_spec *spec = NULL;
    vmmem_envelope *envelope = NULL;

    if (vmmem_config_new(NULL, 0, &config, NULL) < 0 ||
        (high && vmmem_config_set(config, "high", high, NULL) < 0) ||
        (overhead_max && vmmem_config_set(config, "overhead-max", overhead_max, NULL) < 0) ||
        vmmem_spec_new_from_argv(7, argv, 0, &spec, NULL) < 0 ||
        vmmem_envelope_new(spec, config, 0, &envelope, NULL) < 0) {
        fprintf(stderr, "scope-api: cannot make the envelope for -m %s\n", ram);
        exit(2);
    }
    vmmem_spec_free(spec);
    vmmem_config_free(config);
    return envelope;
}

static vmmem_envelope *small;

static vmmem_scope *
new_scope(const char *name)
{
    vmmem_scope *scope = NULL;
    vmmem_error *error = NULL;

    if (vmmem_scope_new(small, NULL, name, 0, &scope, &error) < 0) {
        diag(error);
        exit(2);
    }
    return scope;
}

/* A child born in the scope: clone3 with CLONE_INTO_CGROUP, then exec, nothing between. */
static pid_t
spawn_into(int cgroup_fd, char *const argv[], int *ret_stdout)
{
    struct clone_args args = {
        .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd};
    int pipefd[2];
    pid_t pid;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) {
        dup2(pipefd[1], 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pipefd[1]);
    *ret_stdout = pipefd[0];
    return pid;
}

static int
read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;

    while (n + 1 < size && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
        n++;
    buf[n] = 0;
    return (int)n;
}

/* ---- 1. 50 threads, 50 scopes, at once ---- */

typedef struct {
    int index;
    vmmem_scope *scope;
    int r;
    double took;
} ThreadJob;

static void *
create_one(void *data)
{
    ThreadJob *job = data;
    char name[64];
    vmmem_error *error = NULL;
    double t0 = now_s();

    snprintf(name, sizeof(name), "api-thread-%d", job->index);
    job->scope = new_scope(name);
    job->r = vmmem_scope_create(job->scope, 0, &error);
    job->took = now_s() - t0;
    if (job->r < 0)
        diag(error);
    return NULL;
}

static void
test_threads(void)
{
    ThreadJob jobs[N_THREADS];
    pthread_t threads[N_THREADS];
    unsigned removed = 99;
    double slowest = 0;
    int created = 0, present = 0, r;
    vmmem_error *error = NULL;

    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (ThreadJob){.index = i};
        pthread_create(&threads[i], NULL, create_one, &jobs[i]);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(threads[i], NULL);
        created += jobs[i].r == 0;
        present += exists(vmmem_scope_get_path(jobs[i].scope));
        if (jobs[i].took > slowest)
            slowest = jobs[i].took;
    }
    check(created == N_THREADS && present == N_THREADS,
          "%d threads of one process create %d scopes at once: %d created, %d present (slowest "
          "%.2f s)",
          N_THREADS, N_THREADS, created, present, slowest);
    /* Before: each create held the parent's lock until attach, so the second waited 30 s and
     * failed with -ETIMEDOUT. */
    check(slowest < 10, "no create waited on another's lock (slowest %.2f s)", slowest);
    /* (Each call before its check(): the message must show what the call returned.) */
    r = vmmem_gc(NULL, 0, &removed, &error);
    check(r == 0 && removed == 0,
          "vmmem gc leaves all %d empty scopes alone while their objects hold them (removed %u)",
          N_THREADS, removed);
    diag(error);
    error = NULL;
    for (int i = 0; i < N_THREADS; i++)
        vmmem_scope_free(jobs[i].scope);
    r = vmmem_gc(NULL, 0, &removed, &error);
    check(r == 0 && removed == N_THREADS,
          "once the objects are freed, vmmem gc removes the %d empty scopes (removed %u)",
          N_THREADS, removed);
    diag(error);
}

/* ---- 2. A then B before any attach; the state guard; clashes ---- */

static void
test_a_then_b(void)
{
    vmmem_scope *a = new_scope("api-a"), *b = new_scope("api-b"), *a2 = new_scope("api-a");
    vmmem_error *error = NULL;
    double t0;
    int r, fds;

    t0 = now_s();
    r = vmmem_scope_create(a, 0, &error);
    diag(error);
    error = NULL;
    r |= vmmem_scope_create(b, 0, &error);
    diag(error);
    error = NULL;
    check(r == 0 && now_s() - t0 < 5,
          "create A, then B before A is attached: both at once (%.2f s)", now_s() - t0);

    fds = count_fds();
    r = vmmem_scope_create(a, 0, &error);
    check(r == -EALREADY && error && strstr(vmmem_error_get_message(error), "already created"),
          "a second create on A's object is refused (-EALREADY), not a deadlock: %s",
          error ? vmmem_error_get_message(error) : "no error");
    vmmem_error_free(error);
    error = NULL;
    check(count_fds() == fds, "and leaks no fd (%d before, %d after)", fds, count_fds());

    r = vmmem_scope_create(a2, 0, &error);
    check(r == -EEXIST && error &&
              strstr(vmmem_error_get_message(error), "being set up or managed"),
          "another object's create of A's name fails while A is held, empty as it is: %s",
          error ? vmmem_error_get_message(error) : "no error");
    vmmem_error_free(error);
    error = NULL;
    check(exists("vmmem.slice/vmmem-api-a.scope"), "and A is still there");

    /* The failure above released every lock it took: a new scope is made at once. */
    {
        vmmem_scope *c = new_scope("api-c");
        t0 = now_s();
        r = vmmem_scope_create(c, 0, &error);
        diag(error);
        error = NULL;
        check(r == 0 && now_s() - t0 < 5, "after a failed create, the next create runs at once");
        vmmem_scope_destroy(c, 0, NULL);
        vmmem_scope_free(c);
    }
    vmmem_scope_destroy(a, 0, NULL);
    vmmem_scope_destroy(b, 0, NULL);
    r = vmmem_scope_destroy(a, 0, &error);
    check(r == -EBADF, "destroy after destroy is refused (-EBADF)");
    vmmem_error_free(error);
    vmmem_scope_free(a);
    vmmem_scope_free(b);
    vmmem_scope_free(a2);
    check(!exists("vmmem.slice/vmmem-api-a.scope") && !exists("vmmem.slice/vmmem-api-b.scope"),
          "A and B removed");
}

/* ---- 3. clone3 into the scope, events, update ---- */

static void
test_clone_events_update(void)
{
    vmmem_envelope *hogged = envelope_for("64M", "0.5", "16M");
    vmmem_envelope *bigger = envelope_for("256M", NULL, NULL);
    vmmem_envelope *tiny = envelope_for("16M", NULL, "1M");
    vmmem_scope *scope = NULL;
    vmmem_error *error = NULL;
    vmmem_memory_events ev;
    char line[256], max_before[64], max_after[64], high[64];
    char *argv[] = {(char *)self, "--hog", "72", NULL};
    int cgroup_fd = -1, events_fd = -1, out = -1, woke, r;
    struct pollfd p;
    pid_t pid;
    uint64_t anon = 0;

    if (vmmem_scope_new(hogged, NULL, "api-hog", 0, &scope, &error) < 0 ||
        vmmem_scope_create(scope, 0, &error) < 0 ||
        vmmem_scope_get_fd(scope, 0, &cgroup_fd, &error) < 0 ||
        vmmem_scope_get_events_fd(scope, 0, &events_fd, &error) < 0) {
        diag(error);
        check(0, "set up the hog's scope");
        return;
    }
    read_file("vmmem.slice/vmmem-api-hog.scope", "memory.high", high, sizeof(high));
    check(vmmem_scope_read_events(scope, 0, &ev, &error) == 0 && ev.high == 0 && ev.oom_kill == 0,
          "a new scope's memory.events: high 0, oom_kill 0");
    diag(error);
    error = NULL;

    pid = spawn_into(cgroup_fd, argv, &out);
    close(cgroup_fd);
    check(pid > 0, "clone3(CLONE_INTO_CGROUP) with the scope's fd starts a child (pid %d)", pid);
    if (pid <= 0)
        return;
    read_line(out, line, sizeof(line));
    {
        char want[128], got[256];
        snprintf(want, sizeof(want), "0::/vmmem.slice/vmmem-api-hog.scope");
        snprintf(got, sizeof(got), "%s", line);
        check(strstr(got, want) != NULL, "the child was born in the scope: '%s'", got);
    }
    /* 72 MiB against memory.high = half of memory.max: the kernel throttles and reclaims,
     * and counts a high event, which the fd reports without any polling of the file. */
    p = (struct pollfd){.fd = events_fd, .events = POLLIN};
    woke = poll(&p, 1, 60000);
    read_line(out, line, sizeof(line));
    check(woke == 1, "the events fd polls readable on a real memory.high crossing (memory.high %s)",
          high);
    ev.high = 0;
    r = vmmem_scope_read_events(scope, 0, &ev, &error);
    check(r == 0 && ev.high > 0, "memory.events high counted %" PRIu64 "; the hog says '%s'",
          ev.high, line);
    diag(error);
    error = NULL;
    r = vmmem_scope_read_stat(scope, "anon", &anon, &error);
    check(r == 0 && anon > 32 * MiB, "memory.stat anon %" PRIu64 " MiB", (uint64_t)(anon / MiB));
    diag(error);
    error = NULL;
    {
        vmmem_pressure pr;
        r = vmmem_scope_read_pressure(scope, 0, &pr, &error);
        check(r == 0 || r == -EOPNOTSUPP, "memory.pressure: %s",
              r == 0 ? "read" : vmmem_error_get_message(error));
        diag(error);
        error = NULL;
    }

    /* Update below usage: refused, nothing written. */
    read_file("vmmem.slice/vmmem-api-hog.scope", "memory.max", max_before, sizeof(max_before));
    {
        r = vmmem_scope_update(scope, tiny, 0, &error);
        check(r == -EBUSY && error && strstr(vmmem_error_get_message(error), "memory.current"),
              "an update to a memory.max under memory.current is refused: %s",
              error ? vmmem_error_get_message(error) : "no error");
        vmmem_error_free(error);
        error = NULL;
    }
    read_file("vmmem.slice/vmmem-api-hog.scope", "memory.max", max_after, sizeof(max_after));
    check(strcmp(max_before, max_after) == 0, "and memory.max is untouched (%s)", max_after);
    check(vmmem_scope_update(scope, bigger, 0, &error) == 0,
          "an update to a 256 MiB VM's envelope");
    diag(error);
    error = NULL;
    read_file("vmmem.slice/vmmem-api-hog.scope", "memory.max", max_after, sizeof(max_after));
    {
        char want[64];
        snprintf(want, sizeof(want), "%" PRIu64, vmmem_envelope_get_memory_max(bigger));
        check(strcmp(max_after, want) == 0, "is in force: memory.max %s", max_after);
    }
    read_file("vmmem.slice/vmmem-api-hog.scope", "memory.high", high, sizeof(high));
    check(strcmp(high, "max") == 0, "and memory.high is back to max (%s)", high);

    check(vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, &error) == 0,
          "destroy with kill takes the hog and the scope");
    diag(error);
    waitpid(pid, NULL, 0);
    close(out);
    check(!exists("vmmem.slice/vmmem-api-hog.scope"), "the scope is gone");
    vmmem_scope_free(scope);
    vmmem_envelope_free(hogged);
    vmmem_envelope_free(bigger);
    vmmem_envelope_free(tiny);
}

/* ---- 4. reopen after the owner exits ---- */

static void
test_reopen(void)
{
    vmmem_scope *scope = NULL;
    vmmem_error *error = NULL;
    int sync_pipe[2], go_pipe[2], status, r;
    char c = 0;
    pid_t owner;

    if (pipe(sync_pipe) < 0 || pipe(go_pipe) < 0)
        exit(2);
    owner = fork();
    if (owner == 0) {
        /* A manager: makes the scope, starts a VM-like child in it, then dies. */
        vmmem_scope *s = new_scope("api-reopen");
        char *argv[] = {(char *)self, "--hog", "8", NULL};
        int fd, out;
        char line[128];

        if (vmmem_scope_create(s, 0, NULL) < 0 || vmmem_scope_get_fd(s, 0, &fd, NULL) < 0 ||
            spawn_into(fd, argv, &out) <= 0)
            _exit(1);
        read_line(out, line, sizeof(line));
        read_line(out, line, sizeof(line));
        (void)!write(sync_pipe[1], "r", 1);
        (void)!read(go_pipe[0], &c, 1);
        _exit(0); /* the hog lives on: a VM outliving its manager */
    }
    (void)!read(sync_pipe[0], &c, 1);
    r = vmmem_scope_open("api-reopen", NULL, 0, &scope, &error);
    check(r == -EBUSY, "open while the owning manager lives is refused (-EBUSY): %s",
          error ? vmmem_error_get_message(error) : "no error");
    vmmem_error_free(error);
    error = NULL;
    (void)!write(go_pipe[1], "g", 1);
    waitpid(owner, &status, 0);
    r = vmmem_scope_open("api-reopen", NULL, 0, &scope, &error);
    check(r == 0, "after the owner exits, its scope is reopened by name");
    diag(error);
    error = NULL;
    if (r == 0) {
        vmmem_memory_events ev;
        uint64_t current = 0;
        unsigned removed = 99;

        r = vmmem_scope_read_usage(scope, &current, NULL, NULL, &error);
        check(r == 0 && current > 4 * MiB, "reads its usage: memory.current %" PRIu64 " MiB",
              (uint64_t)(current / MiB));
        diag(error);
        error = NULL;
        check(vmmem_scope_read_events(scope, 0, &ev, &error) == 0, "reads its events");
        diag(error);
        error = NULL;
        check(vmmem_scope_update(scope, small, 0, &error) == 0 &&
                  vmmem_scope_get_n_writes(scope) > 0,
              "updates it");
        diag(error);
        error = NULL;
        r = vmmem_gc(NULL, 0, &removed, NULL);
        check(r == 0 && removed == 0 && exists("vmmem.slice/vmmem-api-reopen.scope"),
              "gc leaves it (removed %u)", removed);
        check(vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, &error) == 0 &&
                  !exists("vmmem.slice/vmmem-api-reopen.scope"),
              "and destroys it, killing the orphaned VM");
        diag(error);
        vmmem_scope_free(scope);
    }
    scope = NULL;
    error = NULL;
    r = vmmem_scope_open("vmmem.slice/vmmem-api-reopen.scope", NULL, VMMEM_SCOPE_OPEN_PATH, &scope,
                         &error);
    check(r == -ENOENT, "opening a scope that is gone: -ENOENT (%s)",
          error ? vmmem_error_get_message(error) : "no error");
    vmmem_error_free(error);
}

/* ---- 5. the systemd backend (scope-api --systemd: systemd as PID 1) ---- */

/* The first line of a command's output, "" when it printed nothing. */
static void
command_line(const char *cmd, char *buf, size_t size)
{
    FILE *f = popen(cmd, "r");

    buf[0] = 0;
    if (f) {
        if (!fgets(buf, (int)size, f))
            buf[0] = 0;
        pclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
}

/* A child that waits on @go before it execs @argv: attached while it runs no code of ours. */
static pid_t
spawn_held(char *const argv[], int *ret_go, int *ret_stdout)
{
    int go[2], out[2];
    char c;
    pid_t pid;

    if (pipe2(go, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        exit(2);
    pid = fork();
    if (pid == 0) {
        if (read(go[0], &c, 1) != 1)
            _exit(126);
        dup2(out[1], 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(go[0]);
    close(out[1]);
    *ret_go = go[1];
    *ret_stdout = out[0];
    return pid;
}

static void
check_memory_max(const char *path, const char *unit, const vmmem_envelope *want, const char *what)
{
    char file[64], shown[64], cmd[256], expect[64];

    snprintf(expect, sizeof(expect), "%" PRIu64, vmmem_envelope_get_memory_max(want));
    read_file(path, "memory.max", file, sizeof(file));
    snprintf(cmd, sizeof(cmd), "systemctl show -P MemoryMax %s", unit);
    command_line(cmd, shown, sizeof(shown));
    check(strcmp(file, expect) == 0 && strcmp(shown, expect) == 0,
          "%s: memory.max %s, systemctl show MemoryMax=%s (want %s)", what, file, shown, expect);
}

/* A manager's lifecycle through systemd: start with a held child, update (SetUnitProperties,
 * so daemon-reload keeps it), a second child by clone3 into the scope's fd, reopen after the
 * first object is gone, gc, destroy. */
static void
test_systemd(void)
{
    vmmem_envelope *bigger = envelope_for("256M", NULL, NULL);
    vmmem_envelope *tiny = envelope_for("16M", NULL, "1M");
    const char *unit_path = "machine.slice/vmmem-api-sd.scope";
    vmmem_scope *scope = NULL;
    vmmem_error *error = NULL;
    char *argv[] = {(char *)self, "--hog", "48", NULL};
    char *argv2[] = {(char *)self, "--hog", "8", NULL};
    char line[256], want[256], before[64], after[64];
    int go = -1, out = -1, out2 = -1, fd = -1, status, r;
    uint64_t current = 0;
    unsigned removed = 99;
    pid_t pid, pid2 = -1;

    if (vmmem_scope_new(bigger, NULL, "api-sd", VMMEM_SCOPE_BACKEND_SYSTEMD, &scope, &error) < 0 ||
        vmmem_scope_create(scope, 0, &error) < 0) {
        diag(error);
        check(0, "create a scope through systemd");
        return;
    }
    check(strcmp(vmmem_scope_get_backend(scope), "systemd") == 0 &&
              strcmp(vmmem_scope_get_unit(scope), "vmmem-api-sd.scope") == 0,
          "backend %s, unit %s", vmmem_scope_get_backend(scope), vmmem_scope_get_unit(scope));
    r = vmmem_scope_get_fd(scope, 0, &fd, &error);
    check(r == -EBADF, "no cgroup fd before a process starts the unit (%d)", r);
    vmmem_error_free(error);
    error = NULL;

    pid = spawn_held(argv, &go, &out);
    r = vmmem_scope_attach_pid(scope, pid, 0, &error);
    check(r == 0, "the held child (pid %d) starts the unit", pid);
    diag(error);
    error = NULL;
    check(strcmp(vmmem_scope_get_path(scope), unit_path) == 0, "in %s",
          vmmem_scope_get_path(scope));
    (void)!write(go, "g", 1);
    close(go);
    read_line(out, line, sizeof(line));
    snprintf(want, sizeof(want), "0::/%s/vm", unit_path);
    check(strcmp(line, want) == 0, "the child runs in the scope's leaf: '%s'", line);
    read_line(out, line, sizeof(line));
    r = vmmem_scope_read_usage(scope, &current, NULL, NULL, &error);
    check(r == 0 && current > 40 * MiB, "memory.current %" PRIu64 " MiB after '%s'",
          (uint64_t)(current / MiB), line);
    diag(error);
    error = NULL;

    read_file(unit_path, "memory.max", before, sizeof(before));
    r = vmmem_scope_update(scope, tiny, 0, &error);
    check(r == -EBUSY, "an update under memory.current is refused: %s",
          error ? vmmem_error_get_message(error) : "no error");
    vmmem_error_free(error);
    error = NULL;
    read_file(unit_path, "memory.max", after, sizeof(after));
    check(strcmp(before, after) == 0, "and memory.max is untouched (%s)", after);
    r = vmmem_scope_update(scope, small, 0, &error);
    check(r == 0, "an update to a 64 MiB VM's envelope");
    diag(error);
    error = NULL;
    check_memory_max(unit_path, "vmmem-api-sd.scope", small, "after the update");
    check(system("systemctl daemon-reload") == 0, "systemctl daemon-reload");
    check_memory_max(unit_path, "vmmem-api-sd.scope", small, "after daemon-reload");

    r = vmmem_scope_get_fd(scope, 0, &fd, &error);
    check(r == 0, "the scope's fd once the unit runs");
    diag(error);
    error = NULL;
    if (r == 0) {
        pid2 = spawn_into(fd, argv2, &out2);
        close(fd);
        check(pid2 > 0, "clone3(CLONE_INTO_CGROUP) with it starts a second child");
        if (pid2 > 0) {
            read_line(out2, line, sizeof(line));
            check(strcmp(line, want) == 0, "born beside the first: '%s'", line);
        }
    }

    {
        vmmem_scope *other = NULL;
        r = vmmem_scope_open("api-sd", NULL, VMMEM_SCOPE_BACKEND_SYSTEMD, &other, &error);
        check(r == -EBUSY, "open while its maker holds it is refused (-EBUSY): %s",
              error ? vmmem_error_get_message(error) : "no error");
        vmmem_error_free(error);
        error = NULL;
        vmmem_scope_free(other);
    }
    scope = vmmem_scope_free(scope);
    command_line("systemctl is-active vmmem-api-sd.scope", before, sizeof(before));
    check(strcmp(before, "active") == 0, "the unit runs on without its maker's object (%s)",
          before);

    r = vmmem_scope_open("api-sd", NULL, VMMEM_SCOPE_BACKEND_SYSTEMD, &scope, &error);
    check(r == 0, "reopened by name");
    diag(error);
    error = NULL;
    if (r == 0) {
        check(strcmp(vmmem_scope_get_unit(scope), "vmmem-api-sd.scope") == 0 &&
                  strcmp(vmmem_scope_get_path(scope), unit_path) == 0,
              "as unit %s at %s", vmmem_scope_get_unit(scope), vmmem_scope_get_path(scope));
        r = vmmem_scope_read_usage(scope, &current, NULL, NULL, &error);
        check(r == 0 && current > 48 * MiB, "reads its usage: %" PRIu64 " MiB",
              (uint64_t)(current / MiB));
        diag(error);
        error = NULL;
        r = vmmem_scope_update(scope, bigger, 0, &error);
        check(r == 0, "updates it back to the 256 MiB VM's envelope");
        diag(error);
        error = NULL;
        check_memory_max(unit_path, "vmmem-api-sd.scope", bigger, "after the reopened update");
        r = vmmem_gc(NULL, VMMEM_SCOPE_BACKEND_SYSTEMD, &removed, &error);
        check(r == 0 && removed == 0 && exists(unit_path), "gc leaves a running unit (reset %u)",
              removed);
        diag(error);
        error = NULL;
        r = vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, &error);
        check(r == 0 && !exists(unit_path), "destroy with kill stops the unit");
        diag(error);
        error = NULL;
        scope = vmmem_scope_free(scope);
    }
    /* Not hang on a failure above: the children end here either way (a check says how). */
    if (exists(unit_path)) {
        kill(pid, SIGKILL);
        if (pid2 > 0)
            kill(pid2, SIGKILL);
    }
    waitpid(pid, &status, 0);
    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the first child was killed");
    if (pid2 > 0) {
        waitpid(pid2, &status, 0);
        check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "and the second");
    }
    command_line("systemctl is-active vmmem-api-sd.scope", before, sizeof(before));
    check(strcmp(before, "active") != 0, "the unit is no longer active (%s)", before);
    r = vmmem_scope_open("api-sd", NULL, VMMEM_SCOPE_BACKEND_SYSTEMD, &scope, &error);
    check(r == -ENOENT, "opening it now: -ENOENT (%s)",
          error ? vmmem_error_get_message(error) : "no error");
    vmmem_error_free(error);
    vmmem_scope_free(scope);
    close(out);
    if (out2 >= 0)
        close(out2);
    vmmem_envelope_free(bigger);
    vmmem_envelope_free(tiny);
}

static int
hog(const char *mib)
{
    size_t size = (size_t)strtoul(mib, NULL, 10) * MiB;
    char line[512] = "";
    FILE *f = fopen("/proc/self/cgroup", "r");
    char *mem;

    if (f) {
        if (!fgets(line, sizeof(line), f))
            line[0] = 0;
        fclose(f);
    }
    printf("%s", line);
    fflush(stdout);
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    for (size_t i = 0; i < size; i += 4096)
        mem[i] = 1;
    printf("touched %s MiB\n", mib);
    fflush(stdout);
    for (;;)
        pause();
}

/* --hold NAME: a manager that has made scope NAME and not started its VM yet (vm-agent: vmmemd
 * must leave such an empty scope alone).  Holds it until killed. */
static int
hold(const char *name)
{
    vmmem_envelope *e = envelope_for("64M", NULL, NULL);
    vmmem_scope *scope = NULL;

    if (vmmem_scope_new(e, NULL, name, 0, &scope, NULL) < 0 ||
        vmmem_scope_create(scope, 0, NULL) < 0)
        return 1;
    for (;;)
        pause();
}

int
main(int argc, char **argv)
{
    self = argv[0];
    if (argc == 3 && strcmp(argv[1], "--hog") == 0)
        return hog(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--hold") == 0)
        return hold(argv[2]);
    if (access(CG "/cgroup.subtree_control", W_OK) < 0) {
        fprintf(stderr, "scope-api: needs a writable cgroup v2 root: run it in the test VM\n");
        return 2;
    }
    cgroup_set_logger(host_logger, CGROUP_LOG_DEBUG, NULL);
    small = envelope_for("64M", NULL, NULL);
    if (argc == 2 && strcmp(argv[1], "--systemd") == 0) {
        test_systemd();
        vmmem_envelope_free(small);
        printf("1..%d\n", n_checks);
        return n_failed ? 1 : 0;
    }
    test_threads();
    test_a_then_b();
    test_clone_events_update();
    test_reopen();
    host_log_lines = 0;
    cgroup_log(CGROUP_LOG_ERROR, "scope-api: is my logger still there?\n");
    check(host_log_lines == 1,
          "libvmmem left the application's libcgroup logger in place (it got %d line)",
          host_log_lines);
    vmmem_envelope_free(small);
    printf("1..%d\n", n_checks);
    return n_failed ? 1 : 0;
}
