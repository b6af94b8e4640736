/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmmemd: the root side of vmmem-qemu under libvirt (docs/libvirt.md).  libvirt execs the
 * launcher as its qemu user with no capabilities, already placed in a domain cgroup whose files
 * belong to root.  The launcher asks; vmmemd looks at the asking process itself and writes only
 * the memory files of that process's own libvirt domain cgroup (vmmemd-serve.c).
 *
 * This file is the gate in front of that work.  One GLib main loop, one thread: it accepts,
 * looks at the peer (SO_PEERCRED, then its /proc/PID/cgroup, which anyone may read) before it
 * spends a child on it, and bounds the children per uid, per domain and in all, each with a
 * hard deadline.  Signals arrive through a signalfd, so SIGTERM stops it at once and SIGCHLD
 * reaps without a handler; the process stays single-threaded, which keeps fork() safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "common.h"
#include "config.h"
#include "error.h"
#include "quote.h"
#include "libvirt-domain.h"
#include "vmmemd-proto.h"
#include "vmmemd-serve.h"
#include "vmmemd-http.h"
#include "vmmemd-watch.h"

const char *program_name = "vmmemd";

/* The socket's group: Debian's libvirt-qemu user is in it (qemu.conf "user"), and libvirt
 * starts qemu with that user's supplementary groups. */
#define VMMEMD_DEFAULT_SOCKET_GROUP "libvirt-qemu"

/* Children at once: in all, per uid (libvirt runs every domain as one qemu user by default, so
 * this is the number of domains that may start at the same moment), per domain (a domain asks
 * once per start; a second is a retry, a third is a process in it that is not the launcher). */
#define MAX_CHILDREN            64
#define MAX_CHILDREN_PER_UID    32
#define MAX_CHILDREN_PER_DOMAIN 2
/* A child that has not finished by then is killed: the hello exchange has its own 2 s, and
 * the work after it is a few reads and writes. */
#define CHILD_DEADLINE_S 5
/* Refusals logged per window; the rest are counted into one line. */
#define REFUSAL_LOG_BURST    10
#define REFUSAL_LOG_WINDOW_S 10
/* Connections taken per wake-up, so that a flood cannot keep signals and deadlines waiting. */
#define ACCEPT_BATCH 256

static char *opt_socket;
static char *opt_metrics_file;
static int opt_metrics_port;
static char *opt_config;
static char *opt_socket_group;

typedef struct {
    pid_t pid;
    uid_t uid;
    char *domain;
    guint deadline;
} Child;

typedef struct {
    GMainLoop *loop;
    int listen_fd;
    GHashTable *children;   /* pid -> Child* */
    GHashTable *per_uid;    /* uid -> count */
    GHashTable *per_domain; /* domain cgroup path -> count */
    VmmemdServeOptions serve;
    /* Refusal log rate limit. */
    gint64 window_start;
    unsigned logged, suppressed;
} Daemon;

static void
child_free(Child *c)
{
    if (c->deadline)
        g_source_remove(c->deadline);
    g_free(c->domain);
    g_free(c);
}

static unsigned
count_get(GHashTable *t, gconstpointer key)
{
    return GPOINTER_TO_UINT(g_hash_table_lookup(t, key));
}

static void
count_add(GHashTable *t, gpointer key, int delta, bool key_owned)
{
    unsigned n = count_get(t, key) + (unsigned)delta;

    if (n == 0)
        g_hash_table_remove(t, key);
    else
        g_hash_table_replace(t, key_owned ? key : g_strdup(key), GUINT_TO_POINTER(n));
}

static void G_GNUC_PRINTF(2, 3) log_refusal(Daemon *d, const char *fmt, ...)
{
    gint64 now = g_get_monotonic_time();
    va_list ap;

    if (now - d->window_start >= (gint64)REFUSAL_LOG_WINDOW_S * G_USEC_PER_SEC) {
        if (d->suppressed)
            warn("%u more refusals in the last %d s were not logged", d->suppressed,
                 REFUSAL_LOG_WINDOW_S);
        d->window_start = now;
        d->logged = d->suppressed = 0;
    }
    if (d->logged >= REFUSAL_LOG_BURST) {
        d->suppressed++;
        return;
    }
    d->logged++;
    va_start(ap, fmt);
    {
        g_autofree char *line = g_strdup_vprintf(fmt, ap);
        warn("%s", line);
    }
    va_end(ap);
}

/* The peer's cgroup from /proc/PID/cgroup: world-readable, no capability needed.  The pid may
 * already be someone else's; that only decides whether a child is spent, and the child proves
 * who asked before it acts (vmmemd-serve.c). */
static LibvirtDomain *
peer_domain(pid_t pid, char **ret_cgroup)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/cgroup", (int)pid);
    g_autofree char *text = NULL;
    LibvirtDomain *domain = NULL;

    *ret_cgroup = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL) ||
        cg_parse_proc_cgroup(text, ret_cgroup, NULL) < 0)
        return NULL;
    (void)libvirt_domain_from_cgroup(*ret_cgroup, &domain);
    return domain;
}

static gboolean
on_deadline(gpointer data)
{
    Child *c = data;

    /* Not yet reaped, so the pid is still this child's. */
    (void)kill(c->pid, SIGKILL);
    warn("pid %d: request for /%s took longer than %d s; killed", (int)c->pid, c->domain,
         CHILD_DEADLINE_S);
    c->deadline = 0;
    return G_SOURCE_REMOVE;
}

static void
spawn_child(Daemon *d, int fd, const struct ucred *cred, const LibvirtDomain *domain)
{
    Child *c;
    pid_t pid = fork();

    if (pid == 0) {
        sigset_t all;

        sigfillset(&all);
        /* The worker reads what a domain sent: it keeps nothing of the parent's but its own
         * connection (not the socket, the signalfd, the agent's inotify and PSI triggers, the
         * HTTP listener). */
        if (fd > 3)
            (void)syscall(SYS_close_range, 3u, (unsigned)fd - 1, 0u);
        (void)syscall(SYS_close_range, (unsigned)fd + 1, ~0u, 0u);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &all, NULL);
        vmmemd_serve_connection(fd, cred, &d->serve);
        _exit(0);
    }
    if (pid < 0) {
        log_refusal(d, "fork: %s", strerror(errno));
        vmmemd_refuse(fd, EAGAIN, "vmmemd cannot fork");
        return;
    }
    c = g_new0(Child, 1);
    c->pid = pid;
    c->uid = cred->uid;
    c->domain = g_strdup(domain->domain);
    c->deadline = g_timeout_add_seconds(CHILD_DEADLINE_S, on_deadline, c);
    g_hash_table_insert(d->children, GINT_TO_POINTER(pid), c);
    count_add(d->per_uid, GUINT_TO_POINTER(cred->uid), 1, true);
    count_add(d->per_domain, c->domain, 1, false);
}

/* Decides, without a child, whether this peer is worth one. */
static void
gate(Daemon *d, int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    g_autoptr(LibvirtDomain) domain = NULL;
    g_autofree char *cgroup = NULL, *msg = NULL;
    int errnum = EPERM;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return;
    domain = peer_domain(cred.pid, &cgroup);
    if (!domain) {
        g_autofree char *shown = quote_for_message(cgroup ? cgroup : "?", QUOTE_MAX);
        msg = g_strdup_printf("pid %d is in cgroup '/%s', not in a libvirt qemu domain cgroup; "
                              "vmmemd applies envelopes to libvirt domains only",
                              (int)cred.pid, shown);
    } else if (g_hash_table_size(d->children) >= MAX_CHILDREN ||
               count_get(d->per_uid, GUINT_TO_POINTER(cred.uid)) >= MAX_CHILDREN_PER_UID ||
               count_get(d->per_domain, domain->domain) >= MAX_CHILDREN_PER_DOMAIN) {
        errnum = EBUSY;
        msg = g_strdup_printf("too many requests at once (for /%s, from uid %u, or in all)",
                              domain->domain, (unsigned)cred.uid);
    } else {
        spawn_child(d, fd, &cred, domain);
        return;
    }
    log_refusal(d, "pid %d uid %u: refused: %s", (int)cred.pid, (unsigned)cred.uid, msg);
    vmmemd_refuse(fd, errnum, msg);
}

static gboolean
on_listen(gint listen_fd, GIOCondition cond, gpointer data)
{
    Daemon *d = data;

    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_refusal(d, "accept: %s", strerror(errno));
            break;
        }
        gate(d, fd);
        close(fd);
    }
    return G_SOURCE_CONTINUE;
}

static void
reap(Daemon *d)
{
    pid_t pid;
    int status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        Child *c = g_hash_table_lookup(d->children, GINT_TO_POINTER(pid));

        if (!c)
            continue;
        if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
            warn("pid %d: the worker for /%s died of signal %d", (int)pid, c->domain,
                 WTERMSIG(status));
        count_add(d->per_uid, GUINT_TO_POINTER(c->uid), -1, true);
        count_add(d->per_domain, c->domain, -1, false);
        g_hash_table_remove(d->children, GINT_TO_POINTER(pid));
    }
}

static gboolean
on_signal(gint sfd, GIOCondition cond, gpointer data)
{
    Daemon *d = data;
    struct signalfd_siginfo si;

    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            reap(d);
        } else {
            warn("signal %u: stopping", si.ssi_signo);
            g_main_loop_quit(d->loop);
        }
    }
    return G_SOURCE_CONTINUE;
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

static gid_t
socket_gid(void)
{
    const char *name = opt_socket_group ? opt_socket_group : VMMEMD_DEFAULT_SOCKET_GROUP;
    struct group *g = getgrnam(name);

    if (!g)
        die(1,
            "group '%s' does not exist: give --socket-group the group of libvirt's qemu user "
            "(the 'group' of qemu.conf)",
            name);
    return g->gr_gid;
}

static int
bound_socket(const char *path, gid_t gid)
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
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        die(1, "socket: %s", strerror(errno));
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            die(1, "'%s' exists and is not a socket", path);
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 || errno == EAGAIN)
            die(1, "another vmmemd already listens on '%s'", path);
        if (unlink(path) < 0)
            die(1, "cannot remove stale socket '%s': %s", path, strerror(errno));
        close(fd);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            die(1, "socket: %s", strerror(errno));
    }
    /* Born 0600, then opened to the qemu user's group only: no one else may even connect. */
    {
        mode_t old = umask(0177);
        int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
        umask(old);
        if (r < 0)
            die(1, "cannot bind '%s': %s", path, strerror(errno));
    }
    if (chown(path, 0, gid) < 0 || chmod(path, 0660) < 0)
        die(1, "cannot give '%s' to group %u, mode 0660: %s", path, (unsigned)gid, strerror(errno));
    if (listen(fd, SOMAXCONN) < 0)
        die(1, "listen: %s", strerror(errno));
    return fd;
}

int
main(int argc, char **argv)
{
    GOptionEntry entries[] = {
        {"socket", 's', 0, G_OPTION_ARG_FILENAME, &opt_socket,
         "Listen on PATH (default " VMMEM_DEFAULT_HELPER_SOCKET ")", "PATH"},
        {"socket-group", 'g', 0, G_OPTION_ARG_STRING, &opt_socket_group,
         "The socket's group: libvirt's qemu group (default " VMMEMD_DEFAULT_SOCKET_GROUP ")",
         "GROUP"},
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
         "Read PATH and PATH.d/*.conf (default " VMMEM_DEFAULT_CONFIG_PATH " if it exists)",
         "PATH"},
        {"metrics-listen", 'l', 0, G_OPTION_ARG_INT, &opt_metrics_port,
         "Serve the metrics over HTTP on 127.0.0.1:PORT, read at each scrape", "PORT"},
        {"metrics-file", 'm', 0, G_OPTION_ARG_FILENAME, &opt_metrics_file,
         "Keep Prometheus metrics of every envelope in PATH (node_exporter's textfile collector)",
         "PATH"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- apply vmmem envelopes to libvirt domains");
    g_autoptr(GError) error = NULL;
    g_autoptr(GMainLoop) loop = NULL;
    g_autoptr(Watcher) watcher = NULL;
    g_autoptr(GSocketService) http = NULL;
    Daemon d = {0};
    bool made_socket = false;
    sigset_t mask;
    int sfd;

    quiet_libcgroup();
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error))
        die(2, "%s", error->message);
    if (argc > 1)
        die(2, "unexpected argument '%s'", argv[1]);
    if (geteuid() != 0)
        die(1, "must run as root: it writes root-owned cgroup files");
    d.serve.config_path = opt_config ? opt_config : VMMEM_DEFAULT_CONFIG_PATH;
    d.serve.config_explicit = opt_config != NULL;
    g_autofree char *parent = NULL;
    WatcherOptions wo = {0};
    {
        g_autoptr(Config) check = config_new_default();
        if (config_load_path(check, d.serve.config_path, !opt_config, &error) < 0)
            die(1, "%s", error->message);
        parent = g_strdup(check->parent);
        /* Read once: a new pool needs a restart (the grants made are counted again then). */
        wo.elastic_pool = check->elastic_pool;
        wo.elastic_step = check->elastic_step;
        wo.elastic_ceiling = check->elastic_ceiling;
    }
    /* The agent keeps one fd per envelope (its PSI trigger): the soft limit's 1,024 would cap it
     * near a thousand VMs.  Up to the hard limit (systemd's default: 524,288). */
    {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    if (opt_metrics_file && !g_path_is_absolute(opt_metrics_file))
        die(2, "--metrics-file: '%s' is not an absolute path", opt_metrics_file);
    umask(022);

    /* Blocked before anything can arrive: they are read from the signalfd only. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        die(1, "signalfd: %s", strerror(errno));

    d.listen_fd = activated_socket();
    if (d.listen_fd < 0) {
        d.listen_fd =
            bound_socket(opt_socket ? opt_socket : VMMEM_DEFAULT_HELPER_SOCKET, socket_gid());
        made_socket = true;
    } else if (fcntl(d.listen_fd, F_SETFL, fcntl(d.listen_fd, F_GETFL) | O_NONBLOCK) < 0) {
        die(1, "cannot make the socket from systemd non-blocking: %s", strerror(errno));
    }

    loop = g_main_loop_new(NULL, FALSE);
    d.loop = loop;
    d.children = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)child_free);
    d.per_uid = g_hash_table_new(NULL, NULL);
    d.per_domain = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    d.window_start = g_get_monotonic_time();
    g_unix_fd_add(sfd, G_IO_IN, on_signal, &d);
    g_unix_fd_add(d.listen_fd, G_IO_IN, on_listen, &d);
    wo.parent = parent;
    wo.metrics_path = opt_metrics_file;
    if (watcher_start(&wo, &watcher, &error) < 0)
        die(1, "cannot watch the envelopes: %s", error->message);
    if (opt_metrics_port && metrics_http_start((unsigned)opt_metrics_port, &http, &error) < 0)
        die(1, "%s", error->message);
    warn("listening on %s", made_socket ? (opt_socket ? opt_socket : VMMEM_DEFAULT_HELPER_SOCKET)
                                        : "the socket from systemd");
    g_main_loop_run(loop);

    if (made_socket)
        (void)unlink(opt_socket ? opt_socket : VMMEM_DEFAULT_HELPER_SOCKET);
    /* Children in flight finish on their own deadline's worth of time: they hold nothing of
     * ours, and a half-written envelope is theirs to report. */
    g_hash_table_destroy(d.children);
    g_hash_table_destroy(d.per_uid);
    g_hash_table_destroy(d.per_domain);
    return 0;
}
