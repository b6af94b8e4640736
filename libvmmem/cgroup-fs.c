/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroupfs backend (cgroup v2), through libcgroup 2.0.2 where it works and cgroup-util.c where
 * it does not (docs/cgroup-layout.md):
 *   libcgroup: mount discovery (cgroup_init), writing the limits (cgroup_modify_cgroup) and
 *              moving a process in (cgroup_attach_task_pid);
 *   direct:    v1/hybrid refusal, check-before-write of subtree_control, exclusive mkdir, the
 *              locks, read-back, cgroup.kill, rmdir (2.0.2's delete reports success on EBUSY),
 *              reopen, update's usage check, reads of the scope's files, inotify.
 *
 * Locks: the parent's flock is held only while a scope directory is made (or replaced) and
 * locked, and while gc lists the parent; each scope's own flock is held by its owner (the
 * vmmem_scope that made or reopened it) until destroy or free.  gc removes only empty scopes
 * whose lock it can take, so a scope between mkdir and attach (or a clone3 into it) is safe
 * without holding up the creation of any other scope.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "cgroup-util.h"
#include "error.h"

static const char *const scope_controllers[] = {"memory", "pids", NULL};

/* A scope's cgroupfs state (CgroupScope.priv). */
typedef struct {
    char *mount;   /* cgroup2 mount point */
    int root_fd;   /* the mount, every other fd is opened below it */
    int parent_fd; /* its flock is held only while the scope directory is made and locked */
    /* Holds the scope's own flock from mkdir (or reopen) to destroy or free: `vmmem gc` and a
     * second create of the same name leave a held scope alone, and creates of different scopes
     * never wait on each other.  Close-on-exec, so a launcher that execs qemu lets go. */
    int scope_fd;
    bool created; /* the scope directory is ours to remove */
    bool made_parent;
    char *origin; /* cgroup the caller left when it attached itself */
} FsScope;

static FsScope *
fs(const CgroupScope *s)
{
    return s->priv;
}

static void *
fs_new_priv(void)
{
    FsScope *f = g_new0(FsScope, 1);

    f->root_fd = f->parent_fd = f->scope_fd = -1;
    return f;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Closing the scope fd drops its lock; an empty scope itself stays for `vmmem gc` or the next
 * launch of the same name. */
static void
fs_free_priv(void *priv)
{
    FsScope *f = priv;

    close_fd(&f->scope_fd);
    close_fd(&f->parent_fd);
    close_fd(&f->root_fd);
    g_free(f->mount);
    g_free(f->origin);
    g_free(f);
}

/* The parent lock covers a mkdir and an flock, or one listing by gc: a wait this long means a
 * stuck holder. */
#define LOCK_TIMEOUT_MS 30000
#define KILL_TIMEOUT_MS 10000

/* libcgroup speaks ECG* codes; everything above it speaks errno. */
static int
fail_libcgroup(GError **error, int ecg, const char *what, const char *path)
{
    int e;

    switch (ecg) {
    case ECGOTHER:
        e = cgroup_get_last_errno();
        if (e <= 0)
            e = EIO;
        return vmmem_fail(error, e, "%s '/%s': %s", what, path, g_strerror(e));
    case ECGROUPNOTOWNER:
    case ECGROUPNOTALLOWED:
        e = EPERM;
        break;
    case ECGROUPNOTEXIST:
    case ECGROUPVALUENOTEXIST:
        e = ENOENT;
        break;
    case ECGROUPNOTMOUNTED:
    case ECGROUPSUBSYSNOTMOUNTED:
        e = ENOMEDIUM;
        break;
    case ECGINVAL:
        e = EINVAL;
        break;
    default:
        e = EIO;
        break;
    }
    return vmmem_fail(error, e, "%s '/%s': %s", what, path, cgroup_strerror(ecg));
}

/* Scope creation and gc exclude each other briefly through an flock on the parent directory. */
static int
lock_parent(int parent_fd, const char *parent, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)LOCK_TIMEOUT_MS * 1000;

    while (flock(parent_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK)
            return vmmem_fail(error, errno, "cannot lock cgroup '/%s': %s", parent,
                              g_strerror(errno));
        if (g_get_monotonic_time() > deadline)
            return vmmem_fail(error, ETIMEDOUT, "timed out waiting for the lock on cgroup '/%s'",
                              parent);
        g_usleep(1000);
    }
    return 0;
}

static void
unlock_parent(CgroupScope *s)
{
    if (fs(s)->parent_fd >= 0)
        (void)flock(fs(s)->parent_fd, LOCK_UN);
}

/* The scope's own lock, never waited for: a held scope belongs to someone else.  -EWOULDBLOCK
 * when it is held. */
static int
try_lock_scope(int fd)
{
    return flock(fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
}

/* Walks from the root to the parent, enabling memory and pids at every level so the scope gets
 * memory.* files.  Only the default parent may be created; a configured one must exist. */
static int
open_parent(CgroupScope *s, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(s->plan->parent, "/", -1);
    g_autoptr(GString) walked = g_string_new("");
    int fd = dup(fs(s)->root_fd), next, r;

    if (fd < 0)
        return vmmem_fail(error, errno, "dup: %s", g_strerror(errno));
    for (char **p = parts; *p; p++) {
        r = cg_enable_controllers(fd, walked->str, scope_controllers, error);
        if (r < 0)
            goto fail;
        g_string_append_printf(walked, "%s%s", walked->len ? "/" : "", *p);
        next = openat(fd, *p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (next < 0 && errno == ENOENT && s->plan->parent_is_default && !p[1]) {
            if (mkdirat(fd, *p, 0755) == 0) {
                fs(s)->made_parent = true;
            } else if (errno != EEXIST) {
                r = vmmem_fail(error, errno, "cannot create cgroup '/%s': %s", walked->str,
                               g_strerror(errno));
                goto fail;
            }
            next = openat(fd, *p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        }
        if (next < 0 && errno == ENOENT) {
            r = vmmem_fail(error, ENOENT, "parent cgroup '/%s' does not exist (no '/%s')",
                           s->plan->parent, walked->str);
            goto fail;
        }
        if (next < 0) {
            r = vmmem_fail(error, errno, "cannot open cgroup '/%s': %s", walked->str,
                           g_strerror(errno));
            goto fail;
        }
        close(fd);
        fd = next;
    }
    r = cg_enable_controllers(fd, s->plan->parent, scope_controllers, error);
    if (r < 0)
        goto fail;
    fs(s)->parent_fd = fd;
    return 0;
fail:
    close(fd);
    return r;
}

/* mkdir that fails on a live scope of the same name.  An empty one is a leftover of a VM that
 * exited (cgroup v2 has no release agent) or of a launcher killed before exec: it is replaced,
 * unless its lock is held (its owner is setting it up, or a clone3 is about to fill it). */
static int
make_scope_dir(CgroupScope *s, GError **error)
{
    bool empty;
    int fd, r;

    if (mkdirat(fs(s)->parent_fd, s->plan->scope, 0755) == 0)
        return 0;
    if (errno != EEXIST)
        return vmmem_fail(error, errno, "cannot create cgroup '/%s': %s", s->plan->path,
                          g_strerror(errno));
    r = cg_open_dir(fs(s)->parent_fd, s->plan->path, s->plan->scope, &fd, error);
    if (r < 0)
        return r;
    r = try_lock_scope(fd);
    if (r == -EWOULDBLOCK) {
        close(fd);
        return vmmem_fail(error, EEXIST,
                          "cgroup '/%s' belongs to another VM of that name being set up or "
                          "managed; choose another name",
                          s->plan->path);
    }
    if (r == 0)
        r = cg_is_empty(fd, s->plan->path, &empty, error);
    else
        r = vmmem_fail(error, -r, "cannot lock cgroup '/%s': %s", s->plan->path, g_strerror(-r));
    if (r == 0 && !empty)
        r = vmmem_fail(error, EEXIST,
                       "cgroup '/%s' already holds a running VM of that name; choose another "
                       "name",
                       s->plan->path);
    /* Removed while still locked, so nobody can take it over in between. */
    if (r == 0 && (unlinkat(fs(s)->parent_fd, s->plan->scope, AT_REMOVEDIR) < 0 ||
                   mkdirat(fs(s)->parent_fd, s->plan->scope, 0755) < 0))
        r = vmmem_fail(error, errno, "cannot replace stale cgroup '/%s': %s", s->plan->path,
                       g_strerror(errno));
    close(fd);
    return r;
}

static bool
write_applies(CgroupScope *s, const CgroupWrite *w)
{
    return !w->optional || faccessat(fs(s)->scope_fd, w->file, F_OK, 0) == 0;
}

/* libcgroup says that a write failed, not which: the first limit not in force is the one. */
static int
fail_write(CgroupScope *s, int ecg, GError **error)
{
    int e = ecg == ECGOTHER ? cgroup_get_last_errno() : 0;
    const char *why = e > 0 ? g_strerror(e) : cgroup_strerror(ecg);

    for (guint i = 0; i < s->plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(s->plan->writes, i);
        g_autofree char *got = NULL;

        if (!write_applies(s, w))
            continue;
        if (cg_read(fs(s)->scope_fd, s->plan->path, w->file, &got, NULL) < 0 ||
            strcmp(got, w->value) != 0)
            return vmmem_fail(error, e > 0 ? e : EIO, "cannot apply %s=%s to '/%s': %s", w->file,
                              w->value, s->plan->path, why);
    }
    return fail_libcgroup(error, ecg, "cannot write the limits of", s->plan->path);
}

static int
apply_writes(CgroupScope *s, GError **error)
{
    struct cgroup *cg = cgroup_new_cgroup(s->plan->path);
    struct cgroup_controller *mem;
    int r = 0;

    if (!cg)
        return vmmem_fail(error, ENOMEM, "cannot allocate a libcgroup object");
    mem = cgroup_add_controller(cg, "memory");
    for (guint i = 0; mem && i < s->plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(s->plan->writes, i);
        if (!write_applies(s, w))
            continue;
        if (faccessat(fs(s)->scope_fd, w->file, W_OK, 0) < 0) {
            r = vmmem_fail(error, errno == ENOENT ? ENOMEDIUM : errno,
                           "cannot apply %s=%s to '/%s': %s", w->file, w->value, s->plan->path,
                           errno == ENOENT ? "the kernel has no such file" : g_strerror(errno));
            break;
        }
        if (cgroup_add_value_string(mem, w->file, w->value) != 0) {
            r = vmmem_fail(error, EINVAL, "cannot queue %s=%s", w->file, w->value);
            break;
        }
    }
    if (!mem)
        r = vmmem_fail(error, ENOMEM, "cannot allocate a libcgroup controller");
    if (r == 0) {
        int ecg = cgroup_modify_cgroup(cg);
        if (ecg != 0)
            r = fail_write(s, ecg, error);
    }
    cgroup_free(&cg);
    return r;
}

/* A limit that is not in force is an error, whatever the write returned. */
static int
read_back(CgroupScope *s, GError **error)
{
    for (guint i = 0; i < s->plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(s->plan->writes, i);
        g_autofree char *got = NULL;
        int r;

        if (!write_applies(s, w))
            continue;
        r = cg_read(fs(s)->scope_fd, s->plan->path, w->file, &got, error);
        if (r < 0)
            return r;
        if (strcmp(got, w->value) != 0)
            return vmmem_fail(error, EIO, "%s of '/%s' reads back '%s', not '%s'", w->file,
                              s->plan->path, got, w->value);
    }
    return 0;
}

/* After the limits: a cgroup that carries the labels is one whose limits are in force. */
static int
apply_labels(CgroupScope *s, const GPtrArray *labels, GError **error)
{
    for (guint i = 0; i < labels->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(labels, i);

        if (fsetxattr(fs(s)->scope_fd, w->file, w->value, strlen(w->value), 0) < 0)
            return vmmem_fail(error, errno, "cannot set %s on cgroup '/%s': %s", w->file,
                              s->plan->path,
                              errno == EOPNOTSUPP ? "this kernel keeps no user.* attributes on "
                                                    "cgroupfs (Linux 5.7 does)"
                                                  : g_strerror(errno));
    }
    return 0;
}

/* What @labels' attributes hold now: "name", value-or-NULL pairs, to put back. */
static GPtrArray *
save_labels(CgroupScope *s, const GPtrArray *labels)
{
    GPtrArray *saved = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < labels->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(labels, i);
        char buf[256];
        ssize_t n = fgetxattr(fs(s)->scope_fd, w->file, buf, sizeof(buf) - 1);

        g_ptr_array_add(saved, g_strdup(w->file));
        g_ptr_array_add(saved, n >= 0 ? g_strndup(buf, (gsize)n) : NULL);
    }
    return saved;
}

static void
restore_labels(CgroupScope *s, const GPtrArray *saved)
{
    for (guint i = 0; i + 1 < saved->len; i += 2) {
        const char *name = g_ptr_array_index(saved, i), *value = g_ptr_array_index(saved, i + 1);

        if (value)
            (void)fsetxattr(fs(s)->scope_fd, name, value, strlen(value), 0);
        else
            (void)fremovexattr(fs(s)->scope_fd, name);
    }
}

/* Every fd goes, and with them both locks, so that the object can try again. */
static void
undo_create(CgroupScope *s)
{
    /* rmdir before the scope's lock goes: an unlocked empty scope is anybody's to reuse. */
    if (fs(s)->created)
        (void)unlinkat(fs(s)->parent_fd, s->plan->scope, AT_REMOVEDIR);
    fs(s)->created = false;
    if (fs(s)->scope_fd >= 0) {
        close(fs(s)->scope_fd);
        fs(s)->scope_fd = -1;
    }
    /* Fails harmlessly when a concurrent create has put its scope there meanwhile. */
    if (fs(s)->made_parent) {
        (void)unlinkat(fs(s)->root_fd, s->plan->parent, AT_REMOVEDIR);
        fs(s)->made_parent = false;
    }
    if (fs(s)->parent_fd >= 0) {
        close(fs(s)->parent_fd);
        fs(s)->parent_fd = -1;
    }
    if (fs(s)->root_fd >= 0) {
        close(fs(s)->root_fd);
        fs(s)->root_fd = -1;
    }
    g_clear_pointer(&fs(s)->mount, g_free);
}

/* Left in place on failure: a parent that passes protection on grants nothing by itself. */
static int
apply_parent_writes(CgroupScope *s, GError **error)
{
    for (guint i = 0; i < s->plan->parent_writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(s->plan->parent_writes, i);
        const char *file = w->file + strlen("../");
        g_autofree char *got = NULL;
        int r = cg_read(fs(s)->parent_fd, s->plan->parent, file, &got, error);

        if (r == 0 && strcmp(got, w->value) != 0)
            r = cg_write(fs(s)->parent_fd, s->plan->parent, file, w->value, error);
        if (r < 0)
            return r;
    }
    return 0;
}

static int
fs_create(CgroupScope *s, GError **error)
{
    int r;

    r = cg_open_unified_root(&fs(s)->mount, &fs(s)->root_fd, error);
    if (r < 0)
        return r;
    r = open_parent(s, error);
    if (r < 0)
        goto fail;
    r = lock_parent(fs(s)->parent_fd, s->plan->parent, error);
    if (r < 0)
        goto fail;
    r = apply_parent_writes(s, error);
    if (r < 0)
        goto fail;
    r = make_scope_dir(s, error);
    if (r < 0)
        goto fail;
    fs(s)->created = true;
    r = cg_open_dir(fs(s)->parent_fd, s->plan->path, s->plan->scope, &fs(s)->scope_fd, error);
    if (r < 0)
        goto fail;
    /* Nobody else can hold it yet: the directory is new and the parent is locked. */
    r = try_lock_scope(fs(s)->scope_fd);
    if (r < 0) {
        r = vmmem_fail(error, -r, "cannot lock cgroup '/%s': %s", s->plan->path, g_strerror(-r));
        goto fail;
    }
    unlock_parent(s);
    r = apply_writes(s, error);
    if (r < 0)
        goto fail;
    r = read_back(s, error);
    if (r < 0)
        goto fail;
    r = apply_labels(s, s->plan->labels, error);
    if (r < 0)
        goto fail;
    return 0;
fail:
    undo_create(s);
    return r;
}

/* Reads what the owner of an existing cgroup set, and takes out of the plan each limit it set
 * (kept) so the writes below touch only files still at their kernel default.  @originals gets
 * "file", "value" pairs for undo. */
static int
sort_out_kept(CgroupScope *s, GPtrArray *originals, GError **error)
{
    for (guint i = 0; i < s->plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(s->plan->writes, i);
        g_autofree char *now = NULL;
        int r;

        if (!write_applies(s, w))
            continue;
        if (faccessat(fs(s)->scope_fd, w->file, F_OK, 0) < 0)
            return vmmem_fail(error, ENOMEDIUM, "cannot apply %s=%s to '/%s': %s", w->file,
                              w->value, s->plan->path, "the kernel has no such file");
        r = cg_read(fs(s)->scope_fd, s->plan->path, w->file, &now, error);
        if (r < 0)
            return r;
        if (w->unset && strcmp(now, w->unset) != 0 && strcmp(now, w->value) != 0) {
            g_ptr_array_add(s->kept, g_strdup_printf("%s=%s", w->file, now));
            g_ptr_array_remove_index(s->plan->writes, i--);
            continue;
        }
        g_ptr_array_add(originals, g_strdup(w->file));
        g_ptr_array_add(originals, g_steal_pointer(&now));
    }
    return 0;
}

static int
fs_adopt(CgroupScope *s, GError **error)
{
    g_autoptr(GPtrArray) originals = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) labels = NULL;
    int r;

    if (!s->plan->existing)
        return vmmem_fail(error, EINVAL, "adopt needs a plan for an existing cgroup");
    r = cg_open_unified_root(&fs(s)->mount, &fs(s)->root_fd, error);
    if (r < 0)
        return r;
    r = cg_open_dir(fs(s)->root_fd, s->plan->path, s->plan->path, &fs(s)->scope_fd, error);
    if (r < 0)
        return r;
    labels = save_labels(s, s->plan->labels);
    r = sort_out_kept(s, originals, error);
    if (r == 0 && s->plan->writes->len > 0) {
        r = apply_writes(s, error);
        if (r == 0)
            r = read_back(s, error);
    }
    if (r == 0)
        r = apply_labels(s, s->plan->labels, error);
    if (r < 0) {
        /* Someone else's cgroup: put back what it had, newest first. */
        restore_labels(s, labels);
        for (guint i = originals->len; i >= 2; i -= 2)
            (void)cg_write(fs(s)->scope_fd, s->plan->path, g_ptr_array_index(originals, i - 2),
                           g_ptr_array_index(originals, i - 1), NULL);
        close(fs(s)->scope_fd);
        fs(s)->scope_fd = -1;
    }
    return r;
}

static int
fs_attach(CgroupScope *s, pid_t pid, GError **error)
{
    g_autofree char *now = NULL, *origin = NULL;
    struct cgroup *cg;
    int ecg, r;

    if (fs(s)->scope_fd < 0)
        return vmmem_fail(error, EBADF, "the scope was not created");
    if (pid == 0) {
        /* Remembered so that destroy can step back out if exec fails. */
        r = cg_pid_cgroup(0, &origin, error);
        if (r < 0)
            return r;
        pid = getpid();
    }
    cg = cgroup_new_cgroup(s->plan->path);
    if (!cg || !cgroup_add_controller(cg, "memory")) {
        cgroup_free(&cg);
        return vmmem_fail(error, ENOMEM, "cannot allocate a libcgroup object");
    }
    ecg = cgroup_attach_task_pid(cg, pid);
    cgroup_free(&cg);
    if (ecg != 0)
        return fail_libcgroup(error, ecg, "cannot move the process into", s->plan->path);
    r = cg_pid_cgroup(pid, &now, error);
    if (r < 0)
        return r;
    if (strcmp(now, s->plan->path) != 0)
        return vmmem_fail(error, EIO, "pid %d is in cgroup '/%s', not '/%s'", (int)pid, now,
                          s->plan->path);
    if (origin) {
        g_free(fs(s)->origin);
        fs(s)->origin = g_steal_pointer(&origin);
    }
    return 0;
}

/* The caller cannot rmdir a cgroup it sits in: it goes back where it came from first. */
static int
leave_scope(CgroupScope *s, GError **error)
{
    g_autofree char *now = NULL, *pid = NULL;
    int fd, r;

    if (!fs(s)->origin || cg_pid_cgroup(0, &now, NULL) < 0 || strcmp(now, s->plan->path) != 0)
        return 0;
    if (*fs(s)->origin) {
        r = cg_open_dir(fs(s)->root_fd, fs(s)->origin, fs(s)->origin, &fd, error);
        if (r < 0)
            return r;
    } else {
        fd = dup(fs(s)->root_fd);
    }
    pid = g_strdup_printf("%d", (int)getpid());
    r = cg_write(fd, fs(s)->origin, "cgroup.procs", pid, error);
    close(fd);
    return r;
}

static int
fs_destroy(CgroupScope *s, bool kill, GError **error)
{
    int r;

    if (fs(s)->scope_fd < 0)
        return vmmem_fail(error, EBADF, "the scope was not created");
    r = leave_scope(s, error);
    if (r < 0)
        return r;
    if (kill) {
        r = cg_kill_and_wait(fs(s)->scope_fd, s->plan->path, KILL_TIMEOUT_MS, error);
        if (r < 0)
            return r;
    }
    if (unlinkat(fs(s)->parent_fd, s->plan->scope, AT_REMOVEDIR) < 0)
        return vmmem_fail(error, errno, "cannot remove cgroup '/%s': %s", s->plan->path,
                          g_strerror(errno));
    close_fd(&fs(s)->scope_fd);
    fs(s)->created = false;
    return 0;
}

static int
fs_read_usage(CgroupScope *s, uint64_t *ret_current, uint64_t *ret_peak, uint64_t *ret_oom_kills,
              GError **error)
{
    g_autofree char *current = NULL, *peak = NULL;
    uint64_t c, p = 0, k;
    int r;

    if (fs(s)->scope_fd < 0)
        return vmmem_fail(error, EBADF, "the scope was not created");
    r = cg_read(fs(s)->scope_fd, s->plan->path, "memory.current", &current, error);
    if (r < 0)
        return r;
    if (!g_ascii_string_to_unsigned(current, 10, 0, G_MAXUINT64, &c, NULL))
        return vmmem_fail(error, EIO, "bad memory.current '%s'", current);
    /* memory.peak appeared in Linux 5.19. */
    if (cg_read(fs(s)->scope_fd, s->plan->path, "memory.peak", &peak, NULL) == 0)
        (void)g_ascii_string_to_unsigned(peak, 10, 0, G_MAXUINT64, &p, NULL);
    r = cg_read_keyed(fs(s)->scope_fd, s->plan->path, "memory.events", "oom_kill", &k, error);
    if (r < 0)
        return r;
    *ret_current = c;
    *ret_peak = p;
    *ret_oom_kills = k;
    return 0;
}

static int
fs_gc(const char *parent, unsigned *ret_removed, GError **error)
{
    g_autofree char *mount = NULL;
    unsigned removed = 0;
    int root_fd = -1, fd = -1, r;
    DIR *dir = NULL;
    struct dirent *de;

    r = cg_open_unified_root(&mount, &root_fd, error);
    if (r < 0)
        return r;
    fd = openat(root_fd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        r = errno == ENOENT ? 0
                            : vmmem_fail(error, errno, "cannot open cgroup '/%s': %s", parent,
                                         g_strerror(errno));
        goto out;
    }
    r = lock_parent(fd, parent, error);
    if (r < 0)
        goto out;
    dir = fdopendir(dup(fd));
    if (!dir) {
        r = vmmem_fail(error, errno, "cannot list cgroup '/%s': %s", parent, g_strerror(errno));
        goto out;
    }
    while ((de = readdir(dir))) {
        g_autofree char *what = g_strdup_printf("%s/%s", parent, de->d_name);
        bool empty;
        int sfd;

        if (de->d_type != DT_DIR || !cgroup_scope_name_is_ours(de->d_name))
            continue;
        if (cg_open_dir(fd, what, de->d_name, &sfd, NULL) < 0)
            continue;
        /* A held scope is being set up, or managed: not a leftover, however empty. */
        r = try_lock_scope(sfd);
        if (r == 0)
            r = cg_is_empty(sfd, what, &empty, NULL);
        if (r == 0 && empty && unlinkat(fd, de->d_name, AT_REMOVEDIR) == 0)
            removed++;
        close(sfd);
    }
    r = 0;
    *ret_removed = removed;
out:
    if (dir)
        closedir(dir);
    if (fd >= 0)
        close(fd);
    close(root_fd);
    return r;
}

static int
fs_open(CgroupScope *s, GError **error)
{
    int fd, r;

    r = cg_open_unified_root(&fs(s)->mount, &fs(s)->root_fd, error);
    if (r == 0)
        r = cg_open_dir(fs(s)->root_fd, s->plan->parent, s->plan->parent, &fs(s)->parent_fd, error);
    if (r == 0)
        r = cg_open_dir(fs(s)->parent_fd, s->plan->path, s->plan->scope, &fd, error);
    if (r < 0)
        goto fail;
    r = try_lock_scope(fd);
    if (r < 0) {
        close(fd);
        r = r == -EWOULDBLOCK
                ? vmmem_fail(error, EBUSY,
                             "cgroup '/%s' is held by its owner (another process, or another "
                             "object of this one)",
                             s->plan->path)
                : vmmem_fail(error, -r, "cannot lock cgroup '/%s': %s", s->plan->path,
                             g_strerror(-r));
        goto fail;
    }
    fs(s)->scope_fd = fd;
    fs(s)->created = true;
    return 0;
fail:
    undo_create(s);
    return r;
}

/* The new plan's memory.max against what the scope uses now.  The kernel would accept a lower
 * one and then reclaim and OOM-kill until usage fits: never what an update means. */
int
cgroup_fs_check_fits(CgroupScope *s, const CgroupPlan *plan, GError **error)
{
    g_autofree char *current = NULL;
    uint64_t cur, max;
    int r;

    for (guint i = 0; i < plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->writes, i);

        if (strcmp(w->file, "memory.max") != 0 || strcmp(w->value, "max") == 0)
            continue;
        if (!g_ascii_string_to_unsigned(w->value, 10, 0, G_MAXUINT64, &max, NULL))
            return vmmem_fail(error, EINVAL, "bad memory.max '%s' in the plan", w->value);
        r = cg_read(fs(s)->scope_fd, s->plan->path, "memory.current", &current, error);
        if (r < 0)
            return r;
        if (!g_ascii_string_to_unsigned(current, 10, 0, G_MAXUINT64, &cur, NULL))
            return vmmem_fail(error, EIO, "bad memory.current '%s'", current);
        if (max < cur)
            return vmmem_fail(error, EBUSY,
                              "memory.max %" G_GUINT64_FORMAT " would be under what cgroup '/%s' "
                              "uses now (memory.current %" G_GUINT64_FORMAT
                              "); shrink the VM first",
                              max, s->plan->path, cur);
    }
    return 0;
}

static int
fs_update(CgroupScope *s, CgroupPlan *plan, GError **error)
{
    g_autoptr(GPtrArray) originals = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) labels = NULL;
    CgroupPlan *old;
    int r;

    if (fs(s)->scope_fd < 0)
        r = vmmem_fail(error, EBADF, "the scope was not created");
    else
        r = cgroup_fs_check_fits(s, plan, error);
    if (r < 0) {
        cgroup_plan_free(plan);
        return r;
    }
    for (guint i = 0; i < plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->writes, i);
        g_autofree char *now = NULL;

        if (faccessat(fs(s)->scope_fd, w->file, F_OK, 0) < 0)
            continue; /* an optional write's missing file: apply_writes judges */
        r = cg_read(fs(s)->scope_fd, s->plan->path, w->file, &now, error);
        if (r < 0) {
            cgroup_plan_free(plan);
            return r;
        }
        g_ptr_array_add(originals, g_strdup(w->file));
        g_ptr_array_add(originals, g_steal_pointer(&now));
    }
    old = s->plan;
    s->plan = plan;
    labels = save_labels(s, plan->labels);
    r = apply_parent_writes(s, error);
    if (r == 0)
        r = apply_writes(s, error);
    if (r == 0)
        r = read_back(s, error);
    if (r == 0)
        r = apply_labels(s, plan->labels, error);
    if (r < 0) {
        restore_labels(s, labels);
        /* Back to the limits it had, newest first. */
        for (guint i = originals->len; i >= 2; i -= 2)
            (void)cg_write(fs(s)->scope_fd, old->path, g_ptr_array_index(originals, i - 2),
                           g_ptr_array_index(originals, i - 1), NULL);
        s->plan = old;
        cgroup_plan_free(plan);
        return r;
    }
    cgroup_plan_free(old);
    return 0;
}

static int
fs_get_fd(CgroupScope *s, int *ret_fd, GError **error)
{
    int fd;

    if (fs(s)->scope_fd < 0)
        return vmmem_fail(error, EBADF, "the scope was not created");
    /* A new open file description: the caller's copy must not carry the scope's lock. */
    fd = openat(fs(s)->scope_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return vmmem_fail(error, errno, "cannot open cgroup '/%s': %s", s->plan->path,
                          g_strerror(errno));
    *ret_fd = fd;
    return 0;
}

static int
fs_read_file(const CgroupScope *s, const char *file, char **ret_text, GError **error)
{
    if (fs(s)->scope_fd < 0)
        return vmmem_fail(error, EBADF, "the scope was not created");
    return cg_read_all(fs(s)->scope_fd, s->plan->path, file, ret_text, error);
}

static int
fs_watch(CgroupScope *s, const char *file, int *ret_fd, GError **error)
{
    g_autofree char *at = NULL;
    int fd;

    if (fs(s)->scope_fd < 0)
        return vmmem_fail(error, EBADF, "the scope was not created");
    fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return vmmem_fail(error, errno, "inotify: %s", g_strerror(errno));
    /* Through the scope's own fd, not its path: the path could have been replaced. */
    at = g_strdup_printf("/proc/self/fd/%d/%s", fs(s)->scope_fd, file);
    if (inotify_add_watch(fd, at, IN_MODIFY | IN_DONT_FOLLOW) < 0) {
        int e = errno;
        close(fd);
        return vmmem_fail(error, e, "cannot watch %s of '/%s': %s", file, s->plan->path,
                          g_strerror(e));
    }
    *ret_fd = fd;
    return 0;
}

const CgroupBackend cgroup_backend_fs = {
    .name = "cgroupfs",
    .new_priv = fs_new_priv,
    .free_priv = fs_free_priv,
    .create = fs_create,
    .adopt = fs_adopt,
    .attach = fs_attach,
    .destroy = fs_destroy,
    .read_usage = fs_read_usage,
    .gc = fs_gc,
    .open = fs_open,
    .update = fs_update,
    .get_fd = fs_get_fd,
    .read_file = fs_read_file,
    .watch = fs_watch,
};
