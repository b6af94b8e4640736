/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * envelopes N: N idle envelopes for the vmmemd benchmark (bench/agent/agent.py), made through
 * libvmmem like any manager's: scope "bench-I" with its memory limits and its labels, and in
 * it one sleeping process.  On SIGUSR1 a process touches 2 MiB more, which is how the benchmark
 * makes one envelope cross its memory.high.  Prints "I PID" per envelope, then "ready", and
 * keeps them until its stdin closes; then it kills the processes and removes the scopes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmmem/vmmem.h"

#define TOUCH_BYTES (2u << 20)

/* Kept, so that the compiler cannot drop an allocation nobody reads. */
static char *volatile touched;

static void
touch(int sig)
{
    char *p = malloc(TOUCH_BYTES);
    (void)sig;
    if (p)
        memset(p, 1, TOUCH_BYTES);
    touched = p;
}

static void
child(void)
{
    signal(SIGUSR1, touch);
    for (;;)
        pause();
}

int
main(int argc, char **argv)
{
    const char *const qemu_argv[] = {"-machine", "q35", "-accel", "kvm", "-m", "64"};
    int n = argc == 2 ? atoi(argv[1]) : 0;
    vmmem_spec *spec = NULL;
    vmmem_envelope *envelope = NULL;
    vmmem_scope **scopes;
    pid_t *pids;
    vmmem_error *error = NULL;
    char line[16];

    if (n <= 0) {
        fprintf(stderr, "usage: envelopes N\n");
        return 2;
    }
    /* Each scope object holds its directory (its lock) and its parent's: 3 fds apiece. */
    {
        struct rlimit rl = {.rlim_cur = 65536, .rlim_max = 65536};
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            perror("envelopes: setrlimit");
    }
    if (vmmem_spec_new_from_argv(6, qemu_argv, 0, &spec, &error) < 0 ||
        vmmem_envelope_new(spec, NULL, 0, &envelope, &error) < 0) {
        fprintf(stderr, "envelopes: %s\n", vmmem_error_get_message(error));
        return 1;
    }
    scopes = calloc((size_t)n, sizeof(*scopes));
    pids = calloc((size_t)n, sizeof(*pids));
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "bench-%d", i);
        if (vmmem_scope_new(envelope, NULL, name, 0, &scopes[i], &error) < 0 ||
            vmmem_scope_create(scopes[i], 0, &error) < 0) {
            fprintf(stderr, "envelopes: %s\n", vmmem_error_get_message(error));
            return 1;
        }
        pids[i] = fork();
        if (pids[i] == 0)
            child();
        if (vmmem_scope_attach_pid(scopes[i], pids[i], 0, &error) < 0) {
            fprintf(stderr, "envelopes: %s\n", vmmem_error_get_message(error));
            return 1;
        }
        printf("%d %d\n", i, (int)pids[i]);
    }
    printf("ready\n");
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin))
        ;
    for (int i = 0; i < n; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
        vmmem_scope_destroy(scopes[i], 0, NULL);
        vmmem_scope_free(scopes[i]);
    }
    vmmem_envelope_free(envelope);
    vmmem_spec_free(spec);
    return 0;
}
