/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What vmmem-qemu adds over exec'ing qemu directly.
 *
 *   bench-launcher VMMEM_QEMU STUB_QEMU [RUNS]
 *
 * Each run forks and execs a stub qemu that exits at once, either directly or through
 * vmmem-qemu with the same (libvirt-shaped) argv.  The launcher runs with VMMEM_DRY_RUN=1 unless
 * BENCH_REAL_CGROUPS=1 (inside the test VM), so by default the figure is the part outside the
 * kernel's cgroup work: config, parsing, model, plan, the extra exec.  Also times the pure
 * pipeline in-process.  Prints medians and 90th percentiles; the target is a median <= 1 ms.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmmem/vmmem.h"

static const char *const qemu_args[] = {
    "-name",
    "guest=bench,debug-threads=on",
    "-S",
    "-machine",
    "pc-q35-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram",
    "-accel",
    "tcg",
    "-cpu",
    "qemu64",
    "-m",
    "1024",
    "-object",
    "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":1073741824}",
    "-overcommit",
    "mem-lock=off",
    "-smp",
    "2,sockets=2,cores=1,threads=1",
    "-uuid",
    "c7a5fdbd-edaf-9455-926a-d65c16db1809",
    "-display",
    "none",
    "-no-user-config",
    "-nodefaults",
    "-chardev",
    "socket,id=charmonitor,fd=27,server=on,wait=off",
    "-mon",
    "chardev=charmonitor,id=monitor,mode=control",
    "-rtc",
    "base=utc",
    "-no-shutdown",
    "-boot",
    "strict=on",
    "-object",
    "{\"qom-type\":\"iothread\",\"id\":\"iothread1\"}",
    "-blockdev",
    "{\"driver\":\"file\",\"filename\":\"/var/lib/libvirt/images/b.qcow2\",\"node-name\":"
    "\"libvirt-1-storage\"}",
    "-blockdev",
    "{\"node-name\":\"libvirt-1-format\",\"driver\":\"qcow2\",\"file\":\"libvirt-1-storage\"}",
    "-device",
    "{\"driver\":\"virtio-blk-pci\",\"drive\":\"libvirt-1-format\",\"id\":\"vd0\"}",
    "-netdev",
    "{\"type\":\"user\",\"id\":\"hostnet0\"}",
    "-device",
    "{\"driver\":\"virtio-net-pci\",\"netdev\":\"hostnet0\",\"id\":\"net0\"}",
    "-vnc",
    "127.0.0.1:0",
    "-device",
    "{\"driver\":\"VGA\",\"id\":\"video0\"}",
    "-sandbox",
    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    "-msg",
    "timestamp=on",
    NULL};

static double
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double last_user_us, last_sys_us;

static double
tv_us(struct timeval tv)
{
    return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
}

/* Wall time of one fork+exec+wait; the child's user and system CPU time go to last_*_us. */
static double
time_exec(const char *binary)
{
    g_autofree const char **argv = g_new0(const char *, G_N_ELEMENTS(qemu_args) + 1);
    double start = now_us();
    struct rusage ru;
    int status;
    pid_t pid;

    argv[0] = binary;
    memcpy(argv + 1, qemu_args, sizeof(qemu_args));
    pid = fork();
    if (pid == 0) {
        execv(binary, (char **)argv);
        _exit(127);
    }
    wait4(pid, &status, 0, &ru);
    last_user_us = tv_us(ru.ru_utime);
    last_sys_us = tv_us(ru.ru_stime);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench-launcher: '%s' failed (status 0x%x)\n", binary, status);
        exit(1);
    }
    return now_us() - start;
}

static double
time_pipeline(void)
{
    double start = now_us();
    vmmem_spec *spec = NULL;
    vmmem_envelope *envelope = NULL;
    vmmem_scope *scope = NULL;

    if (vmmem_spec_new_from_argv(G_N_ELEMENTS(qemu_args) - 1, qemu_args, 0, &spec, NULL) < 0 ||
        vmmem_envelope_new(spec, NULL, 0, &envelope, NULL) < 0 ||
        vmmem_scope_new(envelope, NULL, NULL, VMMEM_SCOPE_DRY_RUN, &scope, NULL) < 0) {
        fprintf(stderr, "bench-launcher: the pipeline failed on the benchmark argv\n");
        exit(1);
    }
    vmmem_scope_free(scope);
    vmmem_envelope_free(envelope);
    vmmem_spec_free(spec);
    return now_us() - start;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void
report(const char *what, double *samples, int n)
{
    qsort(samples, n, sizeof(double), cmp_double);
    printf("%-52s median %8.1f us   p90 %8.1f us   (n=%d)\n", what, samples[n / 2],
           samples[n * 9 / 10], n);
}

int
main(int argc, char **argv)
{
    int runs = argc > 3 ? atoi(argv[3]) : 500;
    g_autofree double *direct = g_new(double, runs);
    g_autofree double *wrapped = g_new(double, runs);
    g_autofree double *added = g_new(double, runs);
    g_autofree double *pipeline = g_new(double, runs);
    g_autofree double *added_user = g_new(double, runs);
    g_autofree double *added_sys = g_new(double, runs);

    if (argc < 3 || runs < 10) {
        fprintf(stderr, "usage: bench-launcher VMMEM_QEMU STUB_QEMU [RUNS>=10]\n");
        return 2;
    }
    g_setenv("VMMEM_QEMU", argv[2], TRUE);
    g_setenv("VMMEM_QUIET", "1", TRUE);
    g_setenv("VMMEM_CONFIG", "/dev/null", TRUE);
    if (g_strcmp0(g_getenv("BENCH_REAL_CGROUPS"), "1") != 0)
        g_setenv("VMMEM_DRY_RUN", "1", TRUE);

    for (int i = 0; i < runs; i++) {
        /* Interleaved, so drift on a busy machine hits both sides alike. */
        double user, sys;
        direct[i] = time_exec(argv[2]);
        user = last_user_us;
        sys = last_sys_us;
        wrapped[i] = time_exec(argv[1]);
        added[i] = wrapped[i] - direct[i];
        added_user[i] = last_user_us - user;
        added_sys[i] = last_sys_us - sys;
        pipeline[i] = time_pipeline();
    }
    printf("vmmem-qemu launch overhead (%s cgroup work), %d runs:\n",
           g_getenv("VMMEM_DRY_RUN") ? "without" : "with real", runs);
    report("exec stub qemu directly", direct, runs);
    report("exec stub qemu through vmmem-qemu", wrapped, runs);
    report("added by vmmem-qemu, wall", added, runs);
    report("added by vmmem-qemu, user CPU (target <= 1000 us)", added_user, runs);
    report("added by vmmem-qemu, system CPU (exec, mmap)", added_sys, runs);
    report("parse+model+plan in-process", pipeline, runs);
    return 0;
}
