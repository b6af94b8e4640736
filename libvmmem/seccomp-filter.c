/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "seccomp-filter.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>

#include "error.h"

typedef struct {
    const char *name;
    int errnum;
} DeniedSyscall;

/* By name, not SCMP_SYS(): a syscall newer than the installed libseccomp (or absent from the
 * native arch) is skipped instead of failing the whole filter and with it the VM start.  Such a
 * syscall then stays allowed, as it is without the filter. */
static const DeniedSyscall denied[] = {
    /* glibc's pthread_create and posix_spawn try clone3 first and fall back to clone only on
     * ENOSYS (EPERM would fail them).  clone3 hides its flags behind a pointer a filter cannot
     * read, so the namespace check below could not cover it. */
    {"clone3", ENOSYS},

    /* Escapes from the envelope: a new or joined namespace, or a changed mount table, would give
     * qemu another view of the cgroup tree and of the files it was confined to.  chroot stays
     * allowed: qemu's own -chroot uses it and it confines rather than escapes. */
    {"unshare", EPERM},
    {"setns", EPERM},
    {"mount", EPERM},
    {"umount2", EPERM},
    {"pivot_root", EPERM},
    {"move_mount", EPERM},
    {"open_tree", EPERM},
    {"fsopen", EPERM},
    {"fsconfig", EPERM},
    {"fsmount", EPERM},
    {"fspick", EPERM},
    {"mount_setattr", EPERM},

    /* Kernel attack surface qemu does not need.  bpf: virtio-net's eBPF RSS falls back to
     * steering inside qemu when it cannot load its program. */
    {"bpf", EPERM},
    {"perf_event_open", EPERM},
    {"swapon", EPERM},
    {"swapoff", EPERM},
    {"kexec_load", EPERM},
    {"kexec_file_load", EPERM},
    {"init_module", EPERM},
    {"finit_module", EPERM},
    {"delete_module", EPERM},

    /* Cross-process access: reading or writing another process's memory, taking its file
     * descriptors (pidfd_getfd: another qemu's disk images and monitor sockets), steering its
     * memory (process_madvise), comparing its resources (kcmp), or opening files by handle past
     * the directory permissions, all reach outside what this VM owns.  What seccomp cannot see
     * is an open() of /proc/PID/mem: a path behind a pointer.  That takes AppArmor (libvirt's
     * per-domain profiles allow no ptrace between domains), SELinux's per-domain labels,
     * Yama's ptrace_scope >= 1, or a uid per domain (docs/libvirt.md). */
    {"ptrace", EPERM},
    {"process_vm_readv", EPERM},
    {"process_vm_writev", EPERM},
    {"pidfd_getfd", EPERM},
    {"process_madvise", EPERM},
    {"kcmp", EPERM},
    {"open_by_handle_at", EPERM},
};

/* clone(2) itself must stay (threads, fork), so only a namespace flag is refused, one masked
 * compare per bit since any one of them is enough.  CLONE_NEWTIME overlaps clone(2)'s exit-signal
 * byte (a time namespace needs clone3 or unshare) and no signal number has that bit: refusing it
 * costs nothing and leaves no bit of the set out. */
static const unsigned long clone_namespace_flags[] = {
    CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
    CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET, CLONE_NEWTIME,
};

int
seccomp_filter_install(unsigned flags, GError **error)
{
    scmp_filter_ctx ctx;
    int clone_nr;
    int r;

    if (flags != 0)
        return vmmem_fail(error, EINVAL, "seccomp filter: unknown flags 0x%x", flags);

    /* The default bad-arch action kills: a syscall through another ABI of this x86_64 kernel
     * (i386 via int 0x80, x32) would bypass every rule keyed on native numbers. */
    ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return vmmem_fail(error, ENOMEM, "seccomp filter: cannot create the filter context");

    /* Without no_new_privs the kernel refuses a filter from an unprivileged process; libseccomp
     * sets it by default, said here so that no default can change it.  SYSRAWRC: the kernel's
     * errno for messages rather than libseccomp's -ECANCELED. */
    r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
    if (r >= 0)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
    if (r < 0) {
        seccomp_release(ctx);
        return vmmem_fail(error, -r, "seccomp filter: cannot set filter attributes: %s",
                          g_strerror(-r));
    }

    for (size_t i = 0; i < G_N_ELEMENTS(denied); i++) {
        /* Negative: unknown to libseccomp, or a pseudo-syscall absent from x86_64. */
        int nr = seccomp_syscall_resolve_name(denied[i].name);

        if (nr < 0)
            continue;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(denied[i].errnum), nr, 0);
        if (r < 0) {
            seccomp_release(ctx);
            return vmmem_fail(error, -r, "seccomp filter: cannot add a rule for %s: %s",
                              denied[i].name, g_strerror(-r));
        }
    }

    clone_nr = seccomp_syscall_resolve_name("clone");
    for (size_t i = 0; clone_nr >= 0 && i < G_N_ELEMENTS(clone_namespace_flags); i++) {
        unsigned long bit = clone_namespace_flags[i];

        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), clone_nr, 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit));
        if (r < 0) {
            seccomp_release(ctx);
            return vmmem_fail(error, -r, "seccomp filter: cannot add a rule for clone: %s",
                              g_strerror(-r));
        }
    }

    r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r < 0)
        return vmmem_fail(error, -r, "seccomp filter: cannot load the filter: %s", g_strerror(-r));
    return 0;
}
