/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The seccomp filter vmmem-qemu loads before it execs qemu.  A filter cannot be removed, so every
 * subtest forks a child that installs it, probes, and _exit()s with what it saw (the errno of a
 * probe, or one of the CHILD_* codes); the parent asserts.
 *
 * Each probe is a call that is harmless when nothing filters it (a path that does not exist,
 * flags the kernel rejects, a grandchild that exits at once), so that /seccomp/unfiltered can run
 * the same probes without the filter and show that the EPERM/ENOSYS under the filter comes from
 * the filter, not from the kernel refusing an unprivileged caller anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "seccomp-filter.h"

/* Child exit codes above every errno. */
enum {
    CHILD_OK = 0,
    CHILD_INSTALL_FAILED = 200,
    CHILD_UNEXPECTED = 201,
    CHILD_GRANDCHILD = 202,
};

#define NOWHERE "/nonexistent/vmmem-test-seccomp"

/* -1: whatever the caller's privileges, the call fails with something else than EPERM when not
 * filtered.  HOST_POLICY: the host may refuse it too (lockdown, modules or kexec disabled, Yama,
 * user namespaces turned off), so the unfiltered run only reports it.  Otherwise the capability
 * the kernel checks first. */
#define HOST_POLICY         (-2)
#define CAP_DAC_READ_SEARCH 2
#define CAP_SYS_ADMIN       21

typedef struct {
    const char *name;
    long (*call)(void);
    int filtered; /* errno under the filter */
    int cap;
} Probe;

/* The probe's errno, 0 when the call succeeded. */
static int
probe_errno(const Probe *p)
{
    errno = 0;
    if (p->call() < 0)
        return errno ? errno : CHILD_UNEXPECTED;
    return 0;
}

/* A process-creating probe that got through: the grandchild leaves at once, the child reaps it. */
static long
reap(long pid)
{
    int status;

    if (pid == 0)
        _exit(CHILD_GRANDCHILD);
    if (pid > 0)
        waitpid((pid_t)pid, &status, __WALL);
    return pid;
}

static long
call_clone3(void)
{
    struct clone_args args = {.exit_signal = SIGCHLD};

    return reap(syscall(SYS_clone3, &args, sizeof(args)));
}

static long
clone_with(unsigned long flags)
{
    return reap(syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0));
}

static long
call_clone_newns(void)
{
    return clone_with(CLONE_NEWNS);
}

static long
call_clone_newcgroup(void)
{
    return clone_with(CLONE_NEWCGROUP);
}

static long
call_clone_newuts(void)
{
    return clone_with(CLONE_NEWUTS);
}

static long
call_clone_newipc(void)
{
    return clone_with(CLONE_NEWIPC);
}

static long
call_clone_newuser(void)
{
    return clone_with(CLONE_NEWUSER);
}

static long
call_clone_newpid(void)
{
    return clone_with(CLONE_NEWPID);
}

static long
call_clone_newnet(void)
{
    return clone_with(CLONE_NEWNET);
}

/* With several bits, the first rule that matches decides; any of them must. */
static long
call_clone_newnet_newipc(void)
{
    return clone_with(CLONE_NEWNET | CLONE_NEWIPC);
}

/* clone(2) reads this bit as part of the exit signal (0x91), and creates the process. */
static long
call_clone_newtime(void)
{
    return clone_with(CLONE_NEWTIME);
}

static long
call_unshare(void)
{
    return unshare(CLONE_NEWUSER);
}

static long
call_setns(void)
{
    return setns(-1, 0);
}

static long
call_mount(void)
{
    return mount("none", NOWHERE, "tmpfs", 0, NULL);
}

static long
call_umount2(void)
{
    return umount2(NOWHERE, 0);
}

static long
call_pivot_root(void)
{
    return syscall(SYS_pivot_root, NOWHERE "/new", NOWHERE "/old");
}

static long
call_move_mount(void)
{
    return syscall(SYS_move_mount, -1, "", -1, "", ~0u);
}

static long
call_open_tree(void)
{
    return syscall(SYS_open_tree, AT_FDCWD, NOWHERE, 0);
}

static long
call_fsopen(void)
{
    return syscall(SYS_fsopen, "vmmem-no-such-fs", 0);
}

static long
call_fsconfig(void)
{
    return syscall(SYS_fsconfig, -1, 0 /* FSCONFIG_SET_FLAG */, "ro", NULL, 0);
}

static long
call_fsmount(void)
{
    return syscall(SYS_fsmount, -1, ~0u, 0);
}

static long
call_fspick(void)
{
    return syscall(SYS_fspick, AT_FDCWD, NOWHERE, 0);
}

static long
call_mount_setattr(void)
{
    return syscall(SYS_mount_setattr, AT_FDCWD, NOWHERE, 0, NULL, 0);
}

static long
call_bpf(void)
{
    return syscall(SYS_bpf, 0x7fffffff, NULL, 0);
}

static long
call_perf_event_open(void)
{
    struct perf_event_attr attr = {
        .type = PERF_TYPE_SOFTWARE,
        .size = sizeof(attr),
        .config = PERF_COUNT_SW_DUMMY,
    };

    /* Unknown flags: refused before anything is opened. */
    return syscall(SYS_perf_event_open, &attr, 0, -1, -1, ~0ul);
}

static long
call_ptrace(void)
{
    return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static long
call_process_vm_readv(void)
{
    return process_vm_readv(getpid(), NULL, 0, NULL, 0, 0);
}

static long
call_process_vm_writev(void)
{
    return process_vm_writev(getpid(), NULL, 0, NULL, 0, 0);
}

static long
call_pidfd_getfd(void)
{
    return syscall(SYS_pidfd_getfd, -1, 0, 0);
}

static long
call_process_madvise(void)
{
    return syscall(SYS_process_madvise, -1, NULL, 0, 0, 0);
}

static long
call_kcmp(void)
{
    return syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, -1, -1);
}

static long
call_swapon(void)
{
    return swapon(NOWHERE, 0);
}

static long
call_swapoff(void)
{
    return swapoff(NOWHERE);
}

static long
call_kexec_load(void)
{
    /* Too many segments and an unknown flag: refused before any image is looked at. */
    return syscall(SYS_kexec_load, 0ul, 1000000ul, NULL, 0x8000ul);
}

static long
call_kexec_file_load(void)
{
    return syscall(SYS_kexec_file_load, -1, -1, 0ul, NULL, 0x80000000ul);
}

static long
call_init_module(void)
{
    /* Shorter than an ELF header. */
    return syscall(SYS_init_module, "", 0ul, "");
}

static long
call_finit_module(void)
{
    return syscall(SYS_finit_module, -1, "", 0);
}

static long
call_delete_module(void)
{
    return syscall(SYS_delete_module, "vmmem_no_such_module", 0);
}

static long
call_open_by_handle_at(void)
{
    return syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0);
}

static const Probe probes[] = {
    {"clone3", call_clone3, ENOSYS, -1},
    {"clone-newns", call_clone_newns, EPERM, CAP_SYS_ADMIN},
    {"clone-newcgroup", call_clone_newcgroup, EPERM, CAP_SYS_ADMIN},
    {"clone-newuts", call_clone_newuts, EPERM, CAP_SYS_ADMIN},
    {"clone-newipc", call_clone_newipc, EPERM, CAP_SYS_ADMIN},
    {"clone-newuser", call_clone_newuser, EPERM, HOST_POLICY},
    {"clone-newpid", call_clone_newpid, EPERM, CAP_SYS_ADMIN},
    {"clone-newnet", call_clone_newnet, EPERM, CAP_SYS_ADMIN},
    {"clone-newnet-newipc", call_clone_newnet_newipc, EPERM, CAP_SYS_ADMIN},
    {"clone-newtime", call_clone_newtime, EPERM, -1},
    {"unshare", call_unshare, EPERM, HOST_POLICY},
    {"setns", call_setns, EPERM, -1},
    {"mount", call_mount, EPERM, -1},
    {"umount2", call_umount2, EPERM, -1},
    {"pivot_root", call_pivot_root, EPERM, CAP_SYS_ADMIN},
    {"move_mount", call_move_mount, EPERM, CAP_SYS_ADMIN},
    {"open_tree", call_open_tree, EPERM, -1},
    {"fsopen", call_fsopen, EPERM, CAP_SYS_ADMIN},
    {"fsconfig", call_fsconfig, EPERM, -1},
    {"fsmount", call_fsmount, EPERM, CAP_SYS_ADMIN},
    {"fspick", call_fspick, EPERM, CAP_SYS_ADMIN},
    {"mount_setattr", call_mount_setattr, EPERM, -1},
    {"bpf", call_bpf, EPERM, -1},
    {"perf_event_open", call_perf_event_open, EPERM, -1},
    {"ptrace", call_ptrace, EPERM, HOST_POLICY},
    {"process_vm_readv", call_process_vm_readv, EPERM, -1},
    {"process_vm_writev", call_process_vm_writev, EPERM, -1},
    {"pidfd_getfd", call_pidfd_getfd, EPERM, -1},
    {"process_madvise", call_process_madvise, EPERM, -1},
    {"kcmp", call_kcmp, EPERM, -1},
    {"swapon", call_swapon, EPERM, CAP_SYS_ADMIN},
    {"swapoff", call_swapoff, EPERM, CAP_SYS_ADMIN},
    {"kexec_load", call_kexec_load, EPERM, HOST_POLICY},
    {"kexec_file_load", call_kexec_file_load, EPERM, HOST_POLICY},
    {"init_module", call_init_module, EPERM, HOST_POLICY},
    {"finit_module", call_finit_module, EPERM, HOST_POLICY},
    {"delete_module", call_delete_module, EPERM, HOST_POLICY},
    {"open_by_handle_at", call_open_by_handle_at, EPERM, CAP_DAC_READ_SEARCH},
};

/* Runs @fn in a forked child; returns its wait status. */
static int
in_child(int (*fn)(const void *), const void *data)
{
    pid_t pid;
    int status;

    fflush(NULL);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0)
        _exit(fn(data));
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    return status;
}

/* The exit code of @fn in a child, which must have exited. */
static int
child_code(int (*fn)(const void *), const void *data)
{
    int status = in_child(fn, data);

    if (WIFSIGNALED(status))
        g_test_message("child killed by signal %d (%s)", WTERMSIG(status),
                       g_strsignal(WTERMSIG(status)));
    g_assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int
install(void)
{
    g_autoptr(GError) error = NULL;

    if (seccomp_filter_install(0, &error) != 0) {
        g_printerr("seccomp_filter_install: %s\n", error ? error->message : "(no message)");
        return -1;
    }
    return 0;
}

/* The value of "KEY:\t..." in /proc/self/status, in @base; -1 when absent. */
static long long
status_field(const char *key, unsigned base)
{
    g_autofree char *text = NULL;
    g_autofree char *needle = g_strdup_printf("\n%s:\t", key);
    const char *p;

    if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL))
        return -1;
    p = strstr(text, needle);
    if (!p)
        return -1;
    return g_ascii_strtoll(p + strlen(needle), NULL, base);
}

static int
child_probe_filtered(const void *data)
{
    if (install() < 0)
        return CHILD_INSTALL_FAILED;
    return probe_errno(data);
}

static void
test_denied(gconstpointer data)
{
    const Probe *p = data;

    g_assert_cmpint(child_code(child_probe_filtered, p), ==, p->filtered);
}

static int
child_probe_unfiltered(const void *data)
{
    return probe_errno(data);
}

static bool
has_capability(int cap)
{
    long long eff = status_field("CapEff", 16);

    return eff >= 0 && (eff & (1ll << cap));
}

static void
test_unfiltered(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(probes); i++) {
        const Probe *p = &probes[i];
        int code = child_code(child_probe_unfiltered, p);

        g_test_message("%s without the filter: %s", p->name,
                       code == 0 ? "succeeded" : g_strerror(code));
        g_assert_cmpint(code, <, CHILD_INSTALL_FAILED);
        if (p->cap == HOST_POLICY || (p->cap >= 0 && !has_capability(p->cap)))
            continue;
        g_assert_cmpint(code, !=, p->filtered);
    }
}

static int
child_bad_flags(const void *data)
{
    g_autoptr(GError) error = NULL;
    long long filters = status_field("Seccomp_filters", 10);
    int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);

    if (seccomp_filter_install(1, &error) != -EINVAL)
        return CHILD_UNEXPECTED;
    if (!g_error_matches(error, VMMEM_ERROR, EINVAL) || strchr(error->message, '\n'))
        return CHILD_UNEXPECTED + 1;
    /* Refused before anything was set or loaded. */
    if (filters < 0 || status_field("Seccomp_filters", 10) != filters ||
        prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != nnp)
        return CHILD_UNEXPECTED + 2;
    if (seccomp_filter_install(0x80000000u, NULL) != -EINVAL)
        return CHILD_UNEXPECTED + 3;
    return CHILD_OK;
}

static void
test_bad_flags(void)
{
    g_assert_cmpint(child_code(child_bad_flags, NULL), ==, CHILD_OK);
}

static int
child_status(const void *data)
{
    g_autofree char *text = NULL;

    if (install() < 0)
        return CHILD_INSTALL_FAILED;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return CHILD_UNEXPECTED;
    if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL))
        return CHILD_UNEXPECTED + 1;
    if (!strstr(text, "\nSeccomp:\t2\n"))
        return CHILD_UNEXPECTED + 2;
    return CHILD_OK;
}

static void
test_status(void)
{
    g_assert_cmpint(child_code(child_status, NULL), ==, CHILD_OK);
}

static int
child_fork(const void *data)
{
    pid_t pid;
    int status;

    if (install() < 0)
        return CHILD_INSTALL_FAILED;
    pid = fork();
    if (pid < 0)
        return errno;
    if (pid == 0)
        _exit(42);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 42)
        return CHILD_UNEXPECTED;
    /* The clone a plain fork makes, raw, flags and all. */
    if (clone_with(0) <= 0)
        return errno ? errno : CHILD_UNEXPECTED + 1;
    return CHILD_OK;
}

static void
test_fork(void)
{
    g_assert_cmpint(child_code(child_fork, NULL), ==, CHILD_OK);
}

static void *
thread_main(void *arg)
{
    return arg;
}

/* glibc 2.34+ creates threads with clone3 and falls back to clone on ENOSYS only. */
static int
spawn_thread(void)
{
    static int token;
    pthread_t thread;
    void *ret = NULL;
    int r;

    r = pthread_create(&thread, NULL, thread_main, &token);
    if (r != 0)
        return r;
    r = pthread_join(thread, &ret);
    if (r != 0)
        return r;
    return ret == &token ? CHILD_OK : CHILD_UNEXPECTED;
}

static int
child_thread(const void *data)
{
    if (install() < 0)
        return CHILD_INSTALL_FAILED;
    return spawn_thread();
}

static void
test_thread(void)
{
    g_assert_cmpint(child_code(child_thread, NULL), ==, CHILD_OK);
}

/* qemu's -sandbox loads its own filter on top of this one. */
static int
child_stacked(const void *data)
{
    long long before = status_field("Seccomp_filters", 10);
    int r;

    if (before < 0)
        return CHILD_UNEXPECTED;
    if (install() < 0 || install() < 0)
        return CHILD_INSTALL_FAILED;
    if (status_field("Seccomp_filters", 10) != before + 2)
        return CHILD_UNEXPECTED + 1;
    r = spawn_thread();
    if (r != CHILD_OK)
        return r;
    r = probe_errno(&probes[0]);
    if (r != ENOSYS)
        return r ? r : CHILD_UNEXPECTED + 2;
    return CHILD_OK;
}

static void
test_stacked(void)
{
    g_assert_cmpint(child_code(child_stacked, NULL), ==, CHILD_OK);
}

/* getpid through the i386 entry point: the same process, another syscall table. */
static long
getpid_i386(void)
{
    long ret;

    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    return ret;
}

static int
child_i386(const void *data)
{
    /* The kill dumps core; nothing to dump here. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (data && install() < 0)
        return CHILD_INSTALL_FAILED;
    return getpid_i386() == getpid() ? CHILD_OK : CHILD_UNEXPECTED;
}

static int
child_x32(const void *data)
{
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (install() < 0)
        return CHILD_INSTALL_FAILED;
    syscall(0x40000000 | SYS_getpid);
    return CHILD_UNEXPECTED;
}

static void
assert_sigsys(int status)
{
    if (WIFEXITED(status))
        g_test_message("child exited with %d, not killed", WEXITSTATUS(status));
    g_assert_true(WIFSIGNALED(status));
    g_assert_cmpint(WTERMSIG(status), ==, SIGSYS);
}

static void
test_bad_arch_i386(void)
{
    int status = in_child(child_i386, NULL);

    /* Without IA32 emulation int 0x80 never reaches seccomp: nothing to show. */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != CHILD_OK) {
        g_test_skip("no i386 syscall entry in this kernel");
        return;
    }
    assert_sigsys(in_child(child_i386, GINT_TO_POINTER(1)));
}

static void
test_bad_arch_x32(void)
{
    assert_sigsys(in_child(child_x32, NULL));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/seccomp/bad-flags", test_bad_flags);
    g_test_add_func("/seccomp/status", test_status);
    for (size_t i = 0; i < G_N_ELEMENTS(probes); i++) {
        g_autofree char *path = g_strdup_printf("/seccomp/denied/%s", probes[i].name);
        g_test_add_data_func(path, &probes[i], test_denied);
    }
    g_test_add_func("/seccomp/unfiltered", test_unfiltered);
    g_test_add_func("/seccomp/fork", test_fork);
    g_test_add_func("/seccomp/pthread", test_thread);
    g_test_add_func("/seccomp/stacked", test_stacked);
    g_test_add_func("/seccomp/bad-arch/i386", test_bad_arch_i386);
    g_test_add_func("/seccomp/bad-arch/x32", test_bad_arch_x32);
    return g_test_run();
}
