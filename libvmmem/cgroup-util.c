/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cgroup-util.h"

#include <fcntl.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "error.h"

#define CG_READ_MAX 4096

/* "/vmmem.slice/memory.max" for messages; @what is a cgroup path without the leading '/', ""
 * for the root. */
static char *
where(const char *what, const char *file)
{
    return g_strdup_printf("/%s%s%s", what, *what && file ? "/" : "", file ? file : "");
}

bool
cg_word_list_contains(const char *list, const char *word)
{
    g_auto(GStrv) words = g_strsplit_set(list, " \n", -1);

    return g_strv_contains((const char *const *)words, word);
}

/* libcgroup's logger is the process's, not ours: the host application may have set its own.
 * Failures reach us as return codes either way (the launchers silence it: launcher/common.c). */
static gpointer
init_libcgroup(gpointer data)
{
    return GINT_TO_POINTER(cgroup_init());
}

/* cgroup_init() builds a process-wide mount table and is not safe to run twice concurrently. */
static int
libcgroup_init_once(void)
{
    static GOnce once = G_ONCE_INIT;

    return GPOINTER_TO_INT(g_once(&once, init_libcgroup, NULL));
}

int
cg_open_unified_root(char **ret_mount, int *ret_fd, GError **error)
{
    g_autofree char *controllers = NULL;
    char *mount = NULL;
    struct statfs sfs;
    int r, fd;

    r = libcgroup_init_once();
    if (r != 0)
        return vmmem_fail(error, ENOMEDIUM, "no usable cgroup hierarchy is mounted (%s)",
                          cgroup_strerror(r));
    r = cgroup_get_subsys_mount_point("memory", &mount);
    if (r != 0 || !mount)
        return vmmem_fail(error, ENOMEDIUM,
                          "the memory cgroup controller is not available (the kernel was booted "
                          "with cgroup_disable=memory, or built without CONFIG_MEMCG)");
    g_autofree char *mnt = mount;

    fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return vmmem_fail(error, errno, "cannot open cgroup mount '%s': %s", mnt,
                          g_strerror(errno));
    if (fstatfs(fd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
        close(fd);
        return vmmem_fail(error, ENOMEDIUM,
                          "the memory controller is on a cgroup v1 hierarchy ('%s'); vmmem needs "
                          "cgroup v2 with memory (boot with systemd.unified_cgroup_hierarchy=1)",
                          mnt);
    }
    r = cg_read(fd, "", "cgroup.controllers", &controllers, error);
    if (r < 0) {
        close(fd);
        return r;
    }
    if (!cg_word_list_contains(controllers, "memory")) {
        close(fd);
        return vmmem_fail(error, ENOMEDIUM,
                          "the cgroup v2 hierarchy at '%s' has no memory controller (the kernel "
                          "was booted with cgroup_disable=memory, or built without CONFIG_MEMCG)",
                          mnt);
    }
    *ret_mount = g_steal_pointer(&mnt);
    *ret_fd = fd;
    return 0;
}

int
cg_parse_proc_cgroup(const char *text, char **ret_path, GError **error)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    for (char **l = lines; *l; l++) {
        /* libcgroup 2.0.2's cgroup_get_current_controller_path() cannot parse this line. */
        if (g_str_has_prefix(*l, "0::/")) {
            const char *path = *l + strlen("0::/");
            if (g_str_has_suffix(path, " (deleted)"))
                return vmmem_fail(error, ENOENT, "the cgroup was removed");
            *ret_path = g_strdup(path);
            return 0;
        }
    }
    return vmmem_fail(error, ENOMEDIUM, "no cgroup v2 entry (\"0::\" line)");
}

int
cg_pid_cgroup(pid_t pid, char **ret_path, GError **error)
{
    g_autofree char *file =
        pid ? g_strdup_printf("/proc/%d/cgroup", (int)pid) : g_strdup("/proc/self/cgroup");
    g_autofree char *contents = NULL;
    g_autoptr(GError) local = NULL;
    int r;

    if (!g_file_get_contents(file, &contents, NULL, &local)) {
        int e = vmmem_errno_from_file_error(local);

        return vmmem_fail(error, e == ENOENT ? ESRCH : e, "cannot read '%s': %s", file,
                          g_strerror(e));
    }
    r = cg_parse_proc_cgroup(contents, ret_path, &local);
    if (r < 0)
        return vmmem_fail(error, -r, "'%s': %s", file, local->message);
    return 0;
}

int
cg_open_dir(int dirfd, const char *what, const char *path, int *ret_fd, GError **error)
{
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        g_autofree char *shown = where(what, NULL);
        return vmmem_fail(error, errno, "cannot open cgroup '%s': %s", shown, g_strerror(errno));
    }
    *ret_fd = fd;
    return 0;
}

/* Reads @file below @dirfd: up to @max bytes, or the whole file when @max is 0. */
static int
read_at(int dirfd, const char *what, const char *file, size_t max, char **ret_value, GError **error)
{
    g_autoptr(GString) buf = g_string_sized_new(max ? max : CG_READ_MAX);
    g_autofree char *path = where(what, file);
    ssize_t n;
    int fd;

    fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return vmmem_fail(error, errno, "cannot open '%s': %s", path, g_strerror(errno));
    do {
        size_t room = max ? max - buf->len : CG_READ_MAX;
        g_string_set_size(buf, buf->len + room);
        n = read(fd, buf->str + buf->len - room, room);
        g_string_set_size(buf, buf->len - room + MAX(n, 0));
    } while (n > 0 && (!max || buf->len < max));
    if (n < 0) {
        int e = errno;
        close(fd);
        return vmmem_fail(error, e, "cannot read '%s': %s", path, g_strerror(e));
    }
    close(fd);
    *ret_value = g_string_free(g_steal_pointer(&buf), FALSE);
    return 0;
}

int
cg_read(int dirfd, const char *what, const char *file, char **ret_value, GError **error)
{
    char *value;
    int r;

    r = read_at(dirfd, what, file, CG_READ_MAX - 1, &value, error);
    if (r < 0)
        return r;
    *ret_value = g_strchomp(value);
    return 0;
}

int
cg_read_all(int dirfd, const char *what, const char *file, char **ret_value, GError **error)
{
    return read_at(dirfd, what, file, 0, ret_value, error);
}

int
cg_write(int dirfd, const char *what, const char *file, const char *value, GError **error)
{
    size_t len = strlen(value);
    ssize_t n;
    int fd, e;

    g_autofree char *path = where(what, file);

    fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return vmmem_fail(error, errno, "cannot open '%s': %s", path, g_strerror(errno));
    /* cgroupfs takes a value in one write(); a short write is a failure, never retried. */
    n = write(fd, value, len);
    e = errno;
    close(fd);
    if (n < 0)
        return vmmem_fail(error, e, "cannot write '%s' to '%s': %s", value, path, g_strerror(e));
    if ((size_t)n != len)
        return vmmem_fail(error, EIO, "short write of '%s' to '%s'", value, path);
    return 0;
}

int
cg_read_keyed(int dirfd, const char *what, const char *file, const char *key, uint64_t *ret_value,
              GError **error)
{
    g_autofree char *contents = NULL;
    size_t klen = strlen(key);
    int r;

    r = cg_read(dirfd, what, file, &contents, error);
    if (r < 0)
        return r;
    g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (strncmp(*l, key, klen) == 0 && (*l)[klen] == ' ') {
            if (!g_ascii_string_to_unsigned(*l + klen + 1, 10, 0, G_MAXUINT64, ret_value, NULL))
                break;
            return 0;
        }
    }
    g_autofree char *path = where(what, file);
    return vmmem_fail(error, ENODATA, "'%s' has no '%s'", path, key);
}

int
cg_enable_controllers(int dirfd, const char *what, const char *const *controllers, GError **error)
{
    g_autofree char *available = NULL, *enabled = NULL;
    g_autoptr(GString) missing = g_string_new(NULL);
    int r;

    r = cg_read(dirfd, what, "cgroup.subtree_control", &enabled, error);
    if (r < 0)
        return r;
    r = cg_read(dirfd, what, "cgroup.controllers", &available, error);
    if (r < 0)
        return r;
    for (const char *const *c = controllers; *c; c++) {
        if (cg_word_list_contains(enabled, *c))
            continue;
        if (!cg_word_list_contains(available, *c))
            return vmmem_fail(error, ENOMEDIUM,
                              "controller '%s' is not available in cgroup '/%s' (its parent does "
                              "not delegate it)",
                              *c, what);
        g_string_append_printf(missing, "%s+%s", missing->len ? " " : "", *c);
    }
    if (missing->len == 0)
        return 0;
    r = cg_write(dirfd, what, "cgroup.subtree_control", missing->str, error);
    if (r == -EBUSY) {
        g_clear_error(error);
        return vmmem_fail(error, EBUSY,
                          "cannot enable '%s' in cgroup '/%s': it holds processes of its own "
                          "(cgroup v2 no-internal-process rule)",
                          missing->str, what);
    }
    return r;
}

int
cg_is_empty(int dirfd, const char *what, bool *ret_empty, GError **error)
{
    uint64_t populated;
    int r;

    r = cg_read_keyed(dirfd, what, "cgroup.events", "populated", &populated, error);
    if (r < 0)
        return r;
    if (populated) {
        *ret_empty = false;
        return 0;
    }
    /* An unpopulated cgroup may still have (empty) children, which rmdir refuses. */
    uint64_t descendants;
    r = cg_read_keyed(dirfd, what, "cgroup.stat", "nr_descendants", &descendants, error);
    if (r < 0)
        return r;
    *ret_empty = descendants == 0;
    return 0;
}

int
cg_kill_and_wait(int dirfd, const char *what, unsigned timeout_ms, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    uint64_t populated;
    int r;

    r = cg_write(dirfd, what, "cgroup.kill", "1", error);
    if (r < 0)
        return r;
    for (;;) {
        r = cg_read_keyed(dirfd, what, "cgroup.events", "populated", &populated, error);
        if (r < 0)
            return r;
        if (!populated)
            return 0;
        if (g_get_monotonic_time() > deadline)
            return vmmem_fail(error, ETIMEDOUT, "cgroup '/%s' still has processes after kill",
                              what);
        g_usleep(2000);
    }
}

char *
cg_read_label(int dirfd, const char *name)
{
    char buf[1024];
    ssize_t n = fgetxattr(dirfd, name, buf, sizeof(buf) - 1);

    return n >= 0 ? g_strndup(buf, (gsize)n) : NULL;
}
