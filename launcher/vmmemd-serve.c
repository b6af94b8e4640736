/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One request, in a child of vmmemd (vmmemd.c decided the peer is worth a child): prove which
 * process asked, read what it runs from /proc, give up the capabilities those reads needed,
 * then parse, compute the envelope with root's config and write it on the process's own
 * libvirt domain cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "admission.h"
#include "cgroup-backend.h"
#include "cgroup-plan.h"
#include "cgroup-util.h"
#include "common.h"
#include "config.h"
#include "envelope.h"
#include "error.h"
#include "host.h"
#include "libvirt-domain.h"
#include "quote.h"
#include "status.h"
#include "vm-spec.h"
#include "vmmemd-proto.h"
#include "vmmemd-serve.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif

/* libvirt's command lines run to a few KiB; this is far above any real one. */
#define PROC_READ_MAX (1u << 20)

static int
read_proc_file(int procfd, const char *name, char **ret_data, size_t *ret_len, GError **error)
{
    g_autofree char *buf = g_malloc(PROC_READ_MAX + 1);
    size_t len = 0;
    ssize_t n;
    int fd = openat(procfd, name, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return vmmem_fail(error, errno == ENOENT ? ESRCH : errno, "cannot read /proc/PID/%s: %s",
                          name, g_strerror(errno));
    while (len < PROC_READ_MAX && (n = read(fd, buf + len, PROC_READ_MAX - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (len == PROC_READ_MAX)
        return vmmem_fail(error, E2BIG, "/proc/PID/%s is larger than %u bytes", name,
                          PROC_READ_MAX);
    buf[len] = '\0';
    *ret_data = g_steal_pointer(&buf);
    if (ret_len)
        *ret_len = len;
    return 0;
}

/* NUL-separated /proc/PID/cmdline or environ into a vector. */
static char **
split_nul(const char *data, size_t len)
{
    GPtrArray *v = g_ptr_array_new();

    for (size_t off = 0; off < len; off += strlen(data + off) + 1)
        g_ptr_array_add(v, g_strdup(data + off));
    g_ptr_array_add(v, NULL);
    return (char **)g_ptr_array_free(v, FALSE);
}

/* Root's config, plus those of the domain's VMMEM_* variables root lists in domain-env. */
static int
load_config_for(const VmmemdServeOptions *opts, char **environ_v, Config **ret_config,
                GError **error)
{
    g_autoptr(Config) config = config_new_default();
    int r;

    /* Read at each request: a config change applies to the next VM without a restart. */
    r = config_load_path(config, opts->config_path, !opts->config_explicit, error);
    if (r < 0)
        return r;
    for (const LauncherEnvKey *k = launcher_env_keys; k->variable; k++) {
        const char *value = g_environ_getenv(environ_v, k->variable);
        g_autoptr(GError) cause = NULL;

        if (!k->from_domain || !(config->domain_env & config_domain_env_bit(k->key)) || !value ||
            !*value)
            continue;
        if (config_set(config, k->key, value, &cause) < 0)
            return vmmem_fail(error, vmmem_error_errno(cause), "%s: %s", k->variable,
                              cause->message);
    }
    *ret_config = g_steal_pointer(&config);
    return 0;
}

static char *
kept_value(CgroupScope *scope, const char *file)
{
    for (guint i = 0; i < scope->kept->len; i++) {
        const char *k = g_ptr_array_index(scope->kept, i);
        if (g_str_has_prefix(k, file) && k[strlen(file)] == '=')
            return g_strdup(k + strlen(file) + 1);
    }
    return NULL;
}

/* The reply's lines: what is in force, and a warning when libvirt's own hard limit is tighter
 * than the envelope. */
static void
describe(CgroupScope *scope, const Envelope *e, VmmemdReply *reply)
{
    g_autofree char *max = format_size(e->memory_max);
    g_autofree char *guest = format_size(e->guest_ram);
    g_autofree char *over = format_size(e->overhead);
    g_autofree char *hard = kept_value(scope, "memory.max");
    g_autoptr(GString) msg = g_string_new(NULL);
    guint64 hard_bytes = 0;

    if (hard) {
        g_autofree char *shown = NULL;
        (void)g_ascii_string_to_unsigned(hard, 10, 0, G_MAXUINT64, &hard_bytes, NULL);
        shown = format_size(hard_bytes);
        g_string_append_printf(msg,
                               "memory.max %s kept from libvirt's memtune (vmmem computes %s: "
                               "guest %s + overhead %s) in /%s",
                               shown, max, guest, over, scope->plan->path);
        if (hard_bytes < e->memory_max)
            g_snprintf(reply->warning, sizeof(reply->warning),
                       "libvirt's memtune hard_limit (%s) is below vmmem's envelope (%s); the VM "
                       "may be OOM-killed",
                       shown, max);
    } else {
        g_string_append_printf(msg, "memory.max %s (guest %s + overhead %s) in /%s", max, guest,
                               over, scope->plan->path);
    }
    for (guint i = 0; i < scope->kept->len; i++) {
        const char *k = g_ptr_array_index(scope->kept, i);
        if (!g_str_has_prefix(k, "memory.max="))
            g_string_append_printf(msg, "; kept libvirt's %s", k);
    }
    /* The domain log has room for one warning: the memtune one matters more. */
    if (!reply->warning[0] && e->warnings->len > 0)
        g_strlcpy(reply->warning, g_ptr_array_index(e->warnings, 0), sizeof(reply->warning));
    g_strlcpy(reply->message, msg->str, sizeof(reply->message));
}

/* memory.min and memory.low take effect only as far as every ancestor grants them too, and
 * libvirt's partitions (machine.slice, machine) belong to libvirt or systemd, not to vmmem: say
 * so when one of them grants less, rather than leave a protection that does nothing. */
static char *
ungranted_protection(int root_fd, const char *path, const Envelope *e)
{
    const char *file = e->memory_min ? "memory.min" : "memory.low";
    uint64_t want = e->memory_min ? e->memory_min : e->memory_low;
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    g_autoptr(GString) at = g_string_new(NULL);

    if (!want)
        return NULL;
    for (char **p = parts; p[0] && p[1]; p++) {
        g_autofree char *value = NULL;
        guint64 v = G_MAXUINT64;
        int fd;

        g_string_append_printf(at, "%s%s", at->len ? "/" : "", *p);
        if (cg_open_dir(root_fd, at->str, at->str, &fd, NULL) < 0)
            return NULL;
        if (cg_read(fd, at->str, file, &value, NULL) == 0 && strcmp(value, "max") != 0)
            (void)g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &v, NULL);
        close(fd);
        if (v < want)
            return g_strdup_printf("%s takes no effect: /%s grants %" G_GUINT64_FORMAT
                                   " (raise it there; with systemd, Memory%s= on %s; "
                                   "docs/libvirt.md)",
                                   file, at->str, v, e->memory_min ? "Min" : "Low", *p);
    }
    return NULL;
}

/* ---- capabilities, and the opener ---- */

/* The disk images and kernel the command line names are read with the requester's eyes
 * (host_open_as(): its uid and groups, by the mode bits), but opening a file of another uid takes
 * CAP_DAC_READ_SEARCH.  So before anything hostile is parsed the worker forks an opener that
 * keeps that capability and does one thing: take a path, open it as host_open_as() says, pass
 * back the fd.  The worker then drops every capability for good, and parses the command line,
 * the environment and the file headers with none. */
typedef struct {
    int sock;
    pid_t pid;
} Opener;

static void opener_loop(int sock, const HostCreds *as) __attribute__((noreturn));

static void
opener_loop(int sock, const HostCreds *as)
{
    char path[PATH_MAX + 1];
    ssize_t n;

    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    while ((n = recv(sock, path, sizeof(path) - 1, 0)) > 0) {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int))];
        } control;
        char ok = 1;
        struct iovec iov = {.iov_base = &ok, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        int fd;

        path[n] = '\0';
        fd = strlen(path) == (size_t)n ? host_open_as(path, as) : -1;
        if (fd >= 0) {
            struct cmsghdr *c;

            memset(&control, 0, sizeof(control));
            msg.msg_control = control.buf;
            msg.msg_controllen = sizeof(control.buf);
            c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &fd, sizeof(int));
        } else {
            ok = 0;
        }
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (fd >= 0)
            close(fd);
        if (n < 0)
            break;
    }
    _exit(0);
}

/* HostCreds.open_file for the worker: the opener's fd, or -1. */
static int
opener_open(const char *path, void *data)
{
    const Opener *o = data;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    char ok = 0;
    struct iovec iov = {.iov_base = &ok, .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    int fd = -1;

    if (strlen(path) > PATH_MAX || send(o->sock, path, strlen(path), MSG_NOSIGNAL) < 0 ||
        recvmsg(o->sock, &msg, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&fd, CMSG_DATA(c), sizeof(int));
    if (!ok && fd >= 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* The requester's uid, gid and groups, from /proc/PID/status (the kernel's own lines). */
static void
creds_from_status(const char *status, const struct ucred *cred, GArray *groups, HostCreds *ret)
{
    g_auto(GStrv) lines = g_strsplit(status, "\n", -1);

    for (char **l = lines; *l; l++) {
        g_auto(GStrv) ids = NULL;
        if (!g_str_has_prefix(*l, "Groups:"))
            continue;
        ids = g_strsplit_set(*l + strlen("Groups:"), " \t", -1);
        for (char **id = ids; *id; id++) {
            guint64 gid;
            if (**id && g_ascii_string_to_unsigned(*id, 10, 0, G_MAXUINT32 - 1, &gid, NULL)) {
                gid_t g = (gid_t)gid;
                g_array_append_val(groups, g);
            }
        }
    }
    *ret = (HostCreds){.uid = cred->uid,
                       .gid = cred->gid,
                       .groups = (const gid_t *)groups->data,
                       .n_groups = groups->len};
}

/* After the /proc reads: the opener forked with CAP_DAC_READ_SEARCH alone, then this process
 * without any capability, effective or permitted, so that none can come back. */
static int
drop_all_but_opener(const HostCreds *as, Opener *ret_opener, GError **error)
{
    int sv[2], r;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return vmmem_fail(error, errno, "socketpair: %s", g_strerror(errno));
    pid = fork();
    if (pid < 0) {
        r = errno;
        close(sv[0]);
        close(sv[1]);
        return vmmem_fail(error, r, "cannot fork the opener: %s", g_strerror(r));
    }
    if (pid == 0) {
        uint64_t eff, prm, keep;

        close(sv[0]);
        if (caps_get(&eff, &prm) < 0)
            _exit(1);
        keep = prm & CAP_BIT(CAP_DAC_READ_SEARCH);
        if (caps_set(keep, keep) < 0)
            _exit(1);
        opener_loop(sv[1], as);
    }
    close(sv[1]);
    ret_opener->sock = sv[0];
    ret_opener->pid = pid;
    r = caps_set(0, 0);
    if (r < 0)
        return vmmem_fail(error, -r, "cannot drop capabilities: %s", g_strerror(-r));
    return 0;
}

static void
opener_stop(Opener *o)
{
    if (o->sock >= 0)
        close(o->sock);
    if (o->pid > 0)
        (void)waitpid(o->pid, NULL, 0);
    o->sock = -1;
    o->pid = 0;
}

/* ---- who asked ---- */

/* A pidfd of the process that connected.  SO_PEERPIDFD (Linux 6.5) names the connector itself;
 * before it, the pid number from SO_PEERCRED may already belong to another process, and
 * await_request() proves it does not. */
static int
peer_pidfd(int fd, const struct ucred *cred, GError **error)
{
    socklen_t len = sizeof(int);
    int pidfd = -1;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0) {
        g_autofree char *path = g_strdup_printf("/proc/self/fdinfo/%d", pidfd);
        g_autofree char *info = NULL;
        const char *p;

        /* The number to read /proc with: the pidfd's own, which is -1 once it has exited. */
        if (g_file_get_contents(path, &info, NULL, NULL) && (p = strstr(info, "\nPid:\t")) &&
            g_ascii_strtoll(p + strlen("\nPid:\t"), NULL, 10) == cred->pid)
            return pidfd;
        close(pidfd);
        return vmmem_fail(error, ESRCH, "pid %d exited before it was served", (int)cred->pid);
    }
    pidfd = (int)syscall(SYS_pidfd_open, cred->pid, 0);
    if (pidfd < 0)
        return vmmem_fail(error, ESRCH, "pid %d is gone", (int)cred->pid);
    return pidfd;
}

/* Says hello and reads the request, with the credentials the kernel attaches to it.  The pidfd
 * is held first, and anything the peer sent before the hello is refused: so the request was
 * sent while the pidfd's process held pid @cred->pid, and since that process is checked to be
 * alive afterwards (serve()), no other process can have had that number in between. */
static int
await_request(int fd, const struct ucred *cred, GError **error)
{
    VmmemdHello hello = {.magic = VMMEMD_HELLO_MAGIC, .version = VMMEMD_VERSION};
    VmmemdRequest req;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct iovec iov = {.iov_base = &req, .iov_len = sizeof(req)};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    const struct ucred *sent = NULL;
    char probe;
    int one = 1;
    ssize_t n;

    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
        return vmmem_fail(error, errno, "SO_PASSCRED: %s", g_strerror(errno));
    if (recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) >= 0)
        return vmmem_fail(error, EPROTO, "the request came before vmmemd's hello");
    if (send(fd, &hello, sizeof(hello), MSG_NOSIGNAL) != (ssize_t)sizeof(hello))
        return vmmem_fail(error, errno ? errno : EIO, "cannot say hello: %s", g_strerror(errno));
    n = recvmsg(fd, &msg, MSG_TRUNC | MSG_CMSG_CLOEXEC);
    if (n < 0)
        return vmmem_fail(error, errno == EAGAIN ? ETIMEDOUT : errno, "no request: %s",
                          g_strerror(errno == EAGAIN ? ETIMEDOUT : errno));
    if (n != (ssize_t)sizeof(req) || req.magic != VMMEMD_MAGIC || req.version != VMMEMD_VERSION ||
        req.flags != 0)
        return vmmem_fail(error, EPROTO, "malformed request");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
            c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
            sent = (const struct ucred *)CMSG_DATA(c);
        else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            for (int *f = (int *)CMSG_DATA(c); (char *)(f + 1) <= (char *)c + c->cmsg_len; f++)
                close(*f);
    }
    if (!sent || sent->pid != cred->pid || sent->uid != cred->uid)
        return vmmem_fail(error, EPERM,
                          "the request was not sent by pid %d, which connected (sent by pid %d)",
                          (int)cred->pid, sent ? (int)sent->pid : 0);
    return 0;
}

/* Admission for the domain (docs/config.md): refused under admission = strict (-EDQUOT, which
 * the launcher takes as final whatever its policy), *@ret_warning under warn. */
static int
admit_domain(const Envelope *envelope, const Config *config, const HostInfo *host,
             const char *domain, char **ret_warning, GError **error)
{
    g_autoptr(GArray) entries = NULL;
    g_autofree char *why = NULL;
    vmmem_admission a;
    int r;

    if (config->admission == ADMISSION_OFF)
        return 0;
    r = status_collect(NULL, NULL, &entries, error);
    if (r < 0) {
        if (config->admission == ADMISSION_STRICT)
            return vmmem_fail(error, EDQUOT, "admission cannot be checked (admission = strict): %s",
                              (*error)->message);
        g_clear_error(error);
        return 0;
    }
    admission_compute(envelope, config, entries, domain, host->physmem, &a);
    if (a.fits)
        return 0;
    why = vmmem_admission_to_string(&a);
    if (config->admission == ADMISSION_STRICT)
        return vmmem_fail(error, EDQUOT, "admission refused (admission = strict): %s", why);
    *ret_warning =
        g_strdup_printf("admission: the host is full, starting anyway (admission = warn): %s", why);
    return 0;
}

/* ---- the request ---- */

static int
serve(int fd, const VmmemdServeOptions *opts, const struct ucred *cred, VmmemdReply *reply,
      GError **error)
{
    g_autofree char *proc = g_strdup_printf("/proc/%d", (int)cred->pid);
    g_autofree char *cgroup_text = NULL, *cgroup = NULL, *cmdline = NULL, *environ_data = NULL;
    g_autofree char *status = NULL;
    g_auto(GStrv) argv = NULL, environ_v = NULL;
    g_autoptr(LibvirtDomain) domain = NULL;
    g_autoptr(Config) config = NULL;
    g_autoptr(HostInfo) host = NULL;
    g_autoptr(VmSpec) spec = NULL;
    g_autoptr(Envelope) envelope = NULL;
    g_autoptr(GPtrArray) warnings = NULL;
    Profile *profile;
    g_autoptr(CgroupPlan) plan = NULL;
    g_autoptr(CgroupScope) scope = NULL;
    g_autofree char *mount = NULL, *admission_warning = NULL;
    size_t cmdline_len = 0, environ_len = 0;
    int pidfd, procfd = -1, root_fd = -1, bad_index = -1, r;
    g_autoptr(GArray) groups = g_array_new(FALSE, FALSE, sizeof(gid_t));
    Opener opener = {.sock = -1};
    HostCreds as;
    struct stat st;

    pidfd = peer_pidfd(fd, cred, error);
    if (pidfd < 0)
        return pidfd;
    r = await_request(fd, cred, error);
    if (r < 0)
        goto out;
    procfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0) {
        r = vmmem_fail(error, ESRCH, "pid %d is gone", (int)cred->pid);
        goto out;
    }
    if (fstat(procfd, &st) < 0 || st.st_uid != cred->uid) {
        r = vmmem_fail(error, EPERM, "pid %d is not owned by the connecting uid %u", (int)cred->pid,
                       (unsigned)cred->uid);
        goto out;
    }
    r = read_proc_file(procfd, "cgroup", &cgroup_text, NULL, error);
    if (r == 0)
        r = read_proc_file(procfd, "cmdline", &cmdline, &cmdline_len, error);
    if (r == 0)
        r = read_proc_file(procfd, "environ", &environ_data, &environ_len, error);
    if (r == 0)
        r = read_proc_file(procfd, "status", &status, NULL, error);
    if (r < 0)
        goto out;
    /* Signal 0 only checks: ESRCH means gone.  EPERM (no CAP_KILL over another uid, as in the
     * shipped unit) still proves the process is there, and so that everything above was read
     * from the process that asked. */
    if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 && errno == ESRCH) {
        r = vmmem_fail(error, ESRCH, "pid %d exited while its request was read", (int)cred->pid);
        goto out;
    }
    creds_from_status(status, cred, groups, &as);
    r = drop_all_but_opener(&as, &opener, error);
    if (r < 0)
        goto out;
    as.open_file = opener_open;
    as.open_data = &opener;

    r = cg_parse_proc_cgroup(cgroup_text, &cgroup, error);
    if (r < 0)
        goto out;
    if (libvirt_domain_from_cgroup(cgroup, &domain) == 0) {
        g_autofree char *shown = quote_for_message(cgroup, QUOTE_MAX);
        r = vmmem_fail(error, EPERM,
                       "pid %d is in cgroup '/%s', not in a libvirt qemu domain cgroup; vmmemd "
                       "applies envelopes to libvirt domains only",
                       (int)cred->pid, shown);
        goto out;
    }
    argv = split_nul(cmdline, cmdline_len);
    environ_v = split_nul(environ_data, environ_len);
    if (!argv[0]) {
        r = vmmem_fail(error, EINVAL, "pid %d has an empty command line", (int)cred->pid);
        goto out;
    }

    r = cg_open_unified_root(&mount, &root_fd, error);
    if (r < 0)
        goto out;
    r = libvirt_domain_confirm(root_fd, domain, true, error);
    if (r < 0)
        goto out;
    r = load_config_for(opts, environ_v, &config, error);
    if (r < 0)
        goto out;
    r = host_info_read(&host, error);
    if (r < 0)
        goto out;
    r = vm_spec_parse((int)g_strv_length(argv) - 1, (const char *const *)argv + 1, host, &spec,
                      &bad_index, error);
    if (r < 0)
        goto out;
    if (spec->probe) {
        r = vmmem_fail(error, EINVAL, "pid %d runs a capability probe, which has no envelope",
                       (int)cred->pid);
        goto out;
    }
    /* Its [vm NAME] policy is looked up by -name: only by its own. */
    r = libvirt_domain_check_name(domain, spec->name, error);
    if (r < 0)
        goto out;
    /* Read with the requester's eyes, so that its envelope tells nothing of files it could not
     * read itself. */
    host_info_probe_files(host, spec, &as);
    warnings = g_ptr_array_new_with_free_func(g_free);
    profile = envelope_read_profile(config, host, warnings);
    r = envelope_compute(spec, host, config, profile, g_steal_pointer(&warnings), &envelope, error);
    if (r < 0)
        goto out;
    r = admit_domain(envelope, config, host, domain->domain, &admission_warning, error);
    if (r < 0)
        goto out;
    r = cgroup_plan_new_existing(envelope, domain->domain, spec->name, &plan, error);
    if (r < 0)
        goto out;
    scope = cgroup_scope_new(&cgroup_backend_fs, g_steal_pointer(&plan));
    r = scope->backend->adopt(scope, error);
    if (r < 0)
        goto out;
    describe(scope, envelope, reply);
    {
        g_autofree char *ungranted = ungranted_protection(root_fd, domain->domain, envelope);
        const char *const extra[] = {admission_warning, ungranted};
        /* The reply has one warning line; more go after the message. */
        for (size_t i = 0; i < G_N_ELEMENTS(extra); i++) {
            if (extra[i] && !reply->warning[0])
                g_strlcpy(reply->warning, extra[i], sizeof(reply->warning));
            else if (extra[i]) {
                g_autofree char *more = g_strdup_printf("; warning: %s", extra[i]);
                g_strlcat(reply->message, more, sizeof(reply->message));
            }
        }
    }
out:
    opener_stop(&opener);
    if (root_fd >= 0)
        close(root_fd);
    if (procfd >= 0)
        close(procfd);
    close(pidfd);
    return r;
}

static void
one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

void
vmmemd_serve_connection(int fd, const struct ucred *cred, const VmmemdServeOptions *opts)
{
    struct timeval tv = {.tv_sec = VMMEMD_REQUEST_TIMEOUT_S};
    VmmemdReply reply = {.magic = VMMEMD_MAGIC};
    g_autoptr(GError) error = NULL;

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (serve(fd, opts, cred, &reply, &error) < 0) {
        reply.status = -vmmem_error_errno(error);
        g_strlcpy(reply.message, error->message, sizeof(reply.message));
    }
    one_line(reply.message);
    one_line(reply.warning);
    if (reply.status < 0)
        warn("pid %d uid %u: refused: %s", (int)cred->pid, (unsigned)cred->uid, reply.message);
    else
        warn("pid %d uid %u: %s%s%s", (int)cred->pid, (unsigned)cred->uid, reply.message,
             reply.warning[0] ? "; warning: " : "", reply.warning);
    (void)send(fd, &reply, sizeof(reply), MSG_NOSIGNAL);
}

void
vmmemd_refuse(int fd, int errnum, const char *message)
{
    VmmemdReply reply = {.magic = VMMEMD_MAGIC, .status = -errnum};

    g_strlcpy(reply.message, message, sizeof(reply.message));
    one_line(reply.message);
    (void)send(fd, &reply, sizeof(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
}
