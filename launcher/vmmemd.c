/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmmemd: the root side of vmmem-qemu under libvirt (docs/libvirt.md).  libvirt execs the
 * launcher as its qemu user with no capabilities, already placed in a domain cgroup whose files
 * belong to root.  The launcher asks; vmmemd looks at the asking process itself (SO_PEERCRED,
 * then /proc/PID/{cgroup,cmdline,environ}), computes the envelope with root's config, and writes
 * only the memory files of that process's own libvirt domain cgroup.  Nothing in the request is
 * trusted because the request carries nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "cgroup-plan.h"
#include "cgroup-util.h"
#include "common.h"
#include "config.h"
#include "envelope.h"
#include "error.h"
#include "host.h"
#include "libvirt-domain.h"
#include "vm-spec.h"
#include "vmmemd-proto.h"

const char *program_name = "vmmemd";

/* A requester gets this long to send its request; each one is served in its own child, so a
 * client that connects and stays silent holds up nobody else. */
#define REQUEST_TIMEOUT_S 2
/* Bounds the children a local user can make us fork by opening connections. */
#define MAX_CHILDREN 64
/* libvirt's command lines run to a few KiB; this is far above any real one. */
#define PROC_READ_MAX (1u << 20)

static char *opt_socket;
static char *opt_config;

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

static int
load_config_for(char **environ_v, Config **ret_config, GError **error)
{
    g_autoptr(Config) config = config_new_default();
    const char *path = opt_config ? opt_config : VMMEM_DEFAULT_CONFIG_PATH;
    int r;

    /* Read at each request: a config change applies to the next VM without a restart. */
    r = config_load_file(config, path, error);
    if (r == -ENOENT && !opt_config) {
        g_clear_error(error);
        r = 0;
    }
    if (r < 0)
        return r;
    for (const LauncherEnvKey *k = launcher_env_keys; k->variable; k++) {
        const char *value = k->from_domain ? g_environ_getenv(environ_v, k->variable) : NULL;
        g_autoptr(GError) cause = NULL;

        if (value && *value && config_set(config, k->key, value, &cause) < 0)
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

/* The disk images and kernel the requester's command line names, read with its eyes: only
 * what its uid and groups (/proc/PID/status) may read, so that its envelope says nothing of
 * files it could not read itself. */
static int
probe_files_as(int procfd, const struct ucred *cred, HostInfo *host, const VmSpec *spec,
               GError **error)
{
    g_autofree char *status = NULL;
    g_autoptr(GArray) groups = g_array_new(FALSE, FALSE, sizeof(gid_t));
    g_auto(GStrv) lines = NULL;
    HostCreds as = {.uid = cred->uid, .gid = cred->gid};
    int r = read_proc_file(procfd, "status", &status, NULL, error);

    if (r < 0)
        return r;
    lines = g_strsplit(status, "\n", -1);
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
    as.groups = (const gid_t *)groups->data;
    as.n_groups = groups->len;
    host_info_probe_files(host, spec, &as);
    return 0;
}

static int
serve(const struct ucred *cred, VmmemdReply *reply, GError **error)
{
    g_autofree char *proc = g_strdup_printf("/proc/%d", (int)cred->pid);
    g_autofree char *cgroup_text = NULL, *cgroup = NULL, *cmdline = NULL, *environ_data = NULL;
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
    g_autofree char *mount = NULL;
    size_t cmdline_len = 0, environ_len = 0;
    int pidfd = -1, procfd = -1, root_fd = -1, bad_index = -1, r;
    struct stat st;

    /* The pidfd tells us below whether the process we read is still the one that asked. */
    pidfd = (int)syscall(SYS_pidfd_open, cred->pid, 0);
    if (pidfd < 0)
        return vmmem_fail(error, ESRCH, "pid %d is gone", (int)cred->pid);
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
    if (r < 0)
        goto out;
    r = cg_parse_proc_cgroup(cgroup_text, &cgroup, error);
    if (r < 0)
        goto out;
    if (libvirt_domain_from_cgroup(cgroup, &domain) == 0) {
        g_autofree char *shown = g_strescape(cgroup, NULL);
        r = vmmem_fail(error, EPERM,
                       "pid %d is in cgroup '/%s', not in a libvirt qemu domain cgroup; vmmemd "
                       "applies envelopes to libvirt domains only",
                       (int)cred->pid, shown);
        goto out;
    }
    r = read_proc_file(procfd, "cmdline", &cmdline, &cmdline_len, error);
    if (r == 0)
        r = read_proc_file(procfd, "environ", &environ_data, &environ_len, error);
    if (r < 0)
        goto out;
    /* Signal 0 only checks: ESRCH means gone.  EPERM (no CAP_KILL over another uid, as in the
     * shipped unit) still proves the process is there. */
    if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 && errno == ESRCH) {
        r = vmmem_fail(error, ESRCH, "pid %d exited while its request was read", (int)cred->pid);
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
    r = load_config_for(environ_v, &config, error);
    if (r < 0)
        goto out;
    r = host_info_read(&host, error);
    if (r < 0)
        goto out;
    r = vm_spec_parse((int)g_strv_length(argv) - 1, (const char *const *)argv + 1, host, &spec,
                      &bad_index, error);
    if (r < 0)
        goto out;
    r = probe_files_as(procfd, cred, host, spec, error);
    if (r < 0)
        goto out;
    if (spec->probe) {
        r = vmmem_fail(error, EINVAL, "pid %d runs a capability probe, which has no envelope",
                       (int)cred->pid);
        goto out;
    }
    warnings = g_ptr_array_new_with_free_func(g_free);
    profile = envelope_read_profile(config, host, warnings);
    r = envelope_compute(spec, host, config, profile, g_steal_pointer(&warnings), &envelope, error);
    if (r < 0)
        goto out;
    r = cgroup_plan_new_existing(envelope, domain->domain, &plan, error);
    if (r < 0)
        goto out;
    scope = cgroup_scope_new(&cgroup_backend_fs, g_steal_pointer(&plan));
    r = scope->backend->adopt(scope, error);
    if (r < 0)
        goto out;
    describe(scope, envelope, reply);
out:
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

static void
handle_connection(int fd)
{
    struct timeval tv = {.tv_sec = REQUEST_TIMEOUT_S};
    struct ucred cred;
    socklen_t len = sizeof(cred);
    VmmemdRequest req;
    VmmemdReply reply = {.magic = VMMEMD_MAGIC};
    g_autoptr(GError) error = NULL;
    ssize_t n;

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return;
    n = recv(fd, &req, sizeof(req), MSG_TRUNC);
    if (n < 0)
        return; /* silent or gone: nothing to answer */
    if (n != (ssize_t)sizeof(req) || req.magic != VMMEMD_MAGIC || req.version != VMMEMD_VERSION ||
        req.flags != 0) {
        reply.status = -EPROTO;
        g_strlcpy(reply.message, "malformed request", sizeof(reply.message));
    } else if (serve(&cred, &reply, &error) < 0) {
        reply.status = -vmmem_error_errno(error);
        g_strlcpy(reply.message, error->message, sizeof(reply.message));
    }
    one_line(reply.message);
    one_line(reply.warning);
    if (reply.status < 0)
        warn("pid %d uid %u: refused: %s", (int)cred.pid, (unsigned)cred.uid, reply.message);
    else
        warn("pid %d uid %u: %s%s%s", (int)cred.pid, (unsigned)cred.uid, reply.message,
             reply.warning[0] ? "; warning: " : "", reply.warning);
    (void)send(fd, &reply, sizeof(reply), MSG_NOSIGNAL);
}

/* systemd socket activation (sd_listen_fds(3) protocol, without linking libsystemd). */
static int
activated_socket(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    int type = 0;
    socklen_t len = sizeof(type);

    if (!pid || !fds || g_ascii_strtoll(pid, NULL, 10) != getpid())
        return -1;
    if (strcmp(fds, "1") != 0)
        die(1, "expected exactly one socket from systemd, got LISTEN_FDS=%s", fds);
    if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
        die(1, "the socket from systemd is not a SOCK_SEQPACKET UNIX socket");
    (void)fcntl(3, F_SETFD, FD_CLOEXEC);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return 3;
}

static int
bound_socket(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_autofree char *dir = g_path_get_dirname(path);
    struct stat st;
    int fd;

    if (!g_path_is_absolute(path) || strlen(path) >= sizeof(addr.sun_path))
        die(1, "socket path '%s' must be absolute and shorter than %zu bytes", path,
            sizeof(addr.sun_path));
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        die(1, "cannot create '%s': %s", dir, strerror(errno));
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die(1, "socket: %s", strerror(errno));
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            die(1, "'%s' exists and is not a socket", path);
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
            die(1, "another vmmemd already listens on '%s'", path);
        if (unlink(path) < 0)
            die(1, "cannot remove stale socket '%s': %s", path, strerror(errno));
        close(fd);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die(1, "socket: %s", strerror(errno));
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        die(1, "cannot bind '%s': %s", path, strerror(errno));
    /* Anyone may ask: who may be served is decided per request, from the asker's cgroup. */
    if (chmod(path, 0666) < 0)
        die(1, "cannot chmod '%s': %s", path, strerror(errno));
    if (listen(fd, 64) < 0)
        die(1, "listen: %s", strerror(errno));
    return fd;
}

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    stop = sig;
}

int
main(int argc, char **argv)
{
    GOptionEntry entries[] = {
        {"socket", 's', 0, G_OPTION_ARG_FILENAME, &opt_socket,
         "Listen on PATH (default " VMMEM_DEFAULT_HELPER_SOCKET ")", "PATH"},
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
         "Read PATH (default " VMMEM_DEFAULT_CONFIG_PATH " if it exists)", "PATH"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- apply vmmem envelopes to libvirt domains");
    g_autoptr(GError) error = NULL;
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: accept() returns */
    bool made_socket = false;
    unsigned children = 0;
    int listen_fd;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error))
        die(2, "%s", error->message);
    if (argc > 1)
        die(2, "unexpected argument '%s'", argv[1]);
    if (geteuid() != 0)
        die(1, "must run as root: it writes root-owned cgroup files");
    if (opt_config) {
        g_autoptr(Config) check = config_new_default();
        if (config_load_file(check, opt_config, &error) < 0)
            die(1, "%s", error->message);
    }
    umask(022);
    listen_fd = activated_socket();
    if (listen_fd < 0) {
        listen_fd = bound_socket(opt_socket ? opt_socket : VMMEM_DEFAULT_HELPER_SOCKET);
        made_socket = true;
    }
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    warn("listening on %s", made_socket ? (opt_socket ? opt_socket : VMMEM_DEFAULT_HELPER_SOCKET)
                                        : "the socket from systemd");

    while (!stop) {
        pid_t pid;
        int fd;

        while (children > 0 && waitpid(-1, NULL, children >= MAX_CHILDREN ? 0 : WNOHANG) > 0)
            children--;
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED)
                warn("accept: %s", strerror(errno));
            continue;
        }
        /* One child per request: a slow or hostile client, or a parser crash, stays in it. */
        pid = fork();
        if (pid == 0) {
            close(listen_fd);
            handle_connection(fd);
            _exit(0);
        }
        if (pid < 0)
            warn("fork: %s", strerror(errno));
        else
            children++;
        close(fd);
    }
    if (made_socket)
        (void)unlink(opt_socket ? opt_socket : VMMEM_DEFAULT_HELPER_SOCKET);
    return 0;
}
