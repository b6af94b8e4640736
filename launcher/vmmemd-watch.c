/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host agent half of vmmemd.  Idle means asleep: the only fds in the loop are inotify's and
 * the socket's, and a timer exists only between a change and the metrics write it schedules.
 *
 * Envelopes are found by the attributes vmmem sets once their limits are in force
 * (cgroup-plan.h, labels): at start, by a walk (status_collect()); later, by inotify on the
 * parents they appear in (vmmem's parent, libvirt's machine and machine.slice), whose
 * IN_ATTRIB for a child reports each attribute set on it.  The last one set is the overhead's:
 * when it is there, the envelope is whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "cgroup-plan.h"
#include "cgroup-util.h"
#include "common.h"
#include "error.h"
#include "host.h"
#include "memory-files.h"
#include "quote.h"
#include "status.h"
#include "vmmemd-watch.h"

/* libvirt's partitions: machine (no systemd) and machine.slice (systemd). */
static const char *const libvirt_parents[] = {"machine", "machine.slice"};

/* high and max events come in bursts while the kernel reclaims: one line per envelope and kind
 * in this long, the counts in it cumulative.  OOM kills are always logged. */
#define EVENT_LINE_WINDOW_US (10 * G_USEC_PER_SEC)
/* The kernel counts an OOM (memory.events oom) before the kills it makes (oom_kill, and
 * oom_group_kill for memory.oom.group), each a change of the file: the line waits this long so
 * that it has them all. */
#define OOM_LINE_DELAY_MS 20
/* PSI trigger (Documentation/accounting/psi.rst): poll wakes when tasks of the envelope were
 * stalled on memory ("some") for this long within the window.  Root may use any window from
 * 500 ms to 10 s; 100 ms in 1 s is a VM that lost a tenth of its time to reclaim. */
#define PSI_TRIGGER "some 100000 1000000"

/* A VM that keeps crossing memory.high gets one elastic grant at most this often: time for the
 * last one to take effect before the next is judged. */
#define ELASTIC_INTERVAL_US (2 * G_USEC_PER_SEC)
/* The attribute that carries an envelope's grants, so that a restarted vmmemd counts them. */
#define LABEL_GRANT "user.vmmem.grant"
/* A change is written to the metrics file this long after it, with any that follow. */
#define METRICS_DELAY_MS 200

typedef enum {
    WATCH_ROOT,    /* the cgroup2 root: a parent appearing */
    WATCH_PARENT,  /* a parent: envelopes appearing in it */
    WATCH_EVENTS,  /* an envelope's memory.events */
    WATCH_CGEVENTS /* an envelope's cgroup.events */
} WatchKind;

typedef struct {
    WatchKind kind;
    char *path; /* the parent's or the envelope's */
} WatchRef;

typedef struct {
    char *path, *name, *parent;
    bool ours; /* vmmem's own scope: removed when empty */
    int wd_events, wd_cgevents;
    vmmem_memory_events last;
    gint64 last_high_line, last_max_line;
    uint64_t logged_oom_kill; /* oom_kill as of the last OOM line */
    uint64_t overhead_budget; /* its user.vmmem.overhead */
    uint64_t granted;         /* elastic grants so far */
    int psi_fd;               /* memory.pressure with a trigger, or -1 (no PSI) */
    guint psi_source;
    gint64 last_psi_line;
    gint64 last_grant, last_refusal_line;
    guint oom_timer;
    struct Watcher *watcher;
} Tracked;

struct Watcher {
    char *mount;
    int root_fd, ifd;
    guint source, metrics_timer;
    char *parent;
    char *metrics_path;
    GHashTable *refs;    /* wd -> WatchRef* */
    GHashTable *tracked; /* path -> Tracked* */
    GHashTable *parents; /* path -> wd */
    uint64_t elastic_pool, elastic_step, elastic_ceiling;
    uint64_t pool_used; /* Σ granted */
};

static void
ref_free(gpointer p)
{
    WatchRef *r = p;
    g_free(r->path);
    g_free(r);
}

static void
tracked_free(gpointer p)
{
    Tracked *t = p;
    if (t->oom_timer)
        g_source_remove(t->oom_timer);
    if (t->psi_source)
        g_source_remove(t->psi_source);
    if (t->psi_fd >= 0)
        close(t->psi_fd);
    g_free(t->path);
    g_free(t->name);
    g_free(t->parent);
    g_free(t);
}

static int
add_watch(Watcher *w, const char *path, const char *file, uint32_t mask, WatchKind kind)
{
    g_autofree char *at = file ? g_strdup_printf("%s/%s/%s", w->mount, path, file)
                               : g_strdup_printf("%s/%s", w->mount, path);
    WatchRef *ref;
    int wd = inotify_add_watch(w->ifd, at, mask | IN_DONT_FOLLOW);

    if (wd < 0)
        return -errno;
    ref = g_new0(WatchRef, 1);
    ref->kind = kind;
    ref->path = g_strdup(path);
    g_hash_table_replace(w->refs, GINT_TO_POINTER(wd), ref);
    return wd;
}

static char *
label(Watcher *w, const char *path, const char *name)
{
    int fd = openat(w->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    char *value;

    if (fd < 0)
        return NULL;
    value = cg_read_label(fd, name);
    close(fd);
    return value;
}

static int
read_events(Watcher *w, const char *path, vmmem_memory_events *ret)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    int fd = openat(w->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW), r;

    if (fd < 0)
        return -errno;
    r = cg_read_all(fd, path, "memory.events", &text, &error);
    close(fd);
    if (r < 0)
        return r;
    return memory_events_parse(text, path, ret, NULL);
}

static uint64_t
read_value(Watcher *w, const char *path, const char *file)
{
    g_autofree char *text = NULL;
    uint64_t v = 0;
    int fd = openat(w->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return 0;
    if (cg_read(fd, path, file, &text, NULL) == 0)
        (void)memory_limit_parse(text, &v);
    close(fd);
    return v;
}

static void schedule_metrics(Watcher *w);

/* The trigger fired: one line per envelope in EVENT_LINE_WINDOW_US, with avg10 now. */
static gboolean
on_pressure(int fd, GIOCondition cond, gpointer data)
{
    Tracked *t = data;
    gint64 at = g_get_monotonic_time();
    char buf[512];
    ssize_t n;
    vmmem_pressure some = {0}, full = {0};

    if (cond & (G_IO_ERR | G_IO_NVAL)) {
        /* The cgroup went: the inotify side untracks it. */
        t->psi_source = 0;
        return G_SOURCE_REMOVE;
    }
    if (at - t->last_psi_line < EVENT_LINE_WINDOW_US)
        return G_SOURCE_CONTINUE;
    t->last_psi_line = at;
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[MAX(n, 0)] = '\0';
    (void)memory_pressure_parse(buf, "some ", &some);
    (void)memory_pressure_parse(buf, "full ", &full);
    warn("%s: memory pressure in /%s: tasks stalled on memory for over 10%% of a second; avg10 "
         "some %.2f%%, full %.2f%%",
         t->name, t->path, some.avg10, full.avg10);
    return G_SOURCE_CONTINUE;
}

/* A PSI trigger on the envelope's memory.pressure, where the kernel keeps PSI. */
static void
watch_pressure(Watcher *w, Tracked *t)
{
    g_autofree char *at = g_strdup_printf("%s/%s/memory.pressure", w->mount, t->path);
    int fd = open(at, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return;
    if (write(fd, PSI_TRIGGER, strlen(PSI_TRIGGER) + 1) < 0) {
        close(fd);
        return; /* PSI off (psi=0): EOPNOTSUPP */
    }
    t->psi_fd = fd;
    t->psi_source = g_unix_fd_add(fd, G_IO_PRI | G_IO_ERR, on_pressure, t);
}

static void on_memory_events(Watcher *w, Tracked *t);

/* @path: a labelled cgroup, complete (its last attribute is there).  @fresh: it appeared while
 * vmmemd watched, so every event it has counted is news (a VM OOM-killed in its first
 * milliseconds, before its watch existed); one found at start has a past that is not. */
static void
track(Watcher *w, const char *path, const char *parent, bool fresh)
{
    g_autofree char *vm = NULL, *max_text = NULL;
    const char *last = strrchr(path, '/');
    Tracked *t;

    if (g_hash_table_contains(w->tracked, path))
        return;
    t = g_new0(Tracked, 1);
    t->psi_fd = -1;
    t->watcher = w;
    t->path = g_strdup(path);
    t->parent = g_strdup(parent);
    last = last ? last + 1 : path;
    t->ours = cgroup_scope_name_is_ours(last);
    vm = label(w, path, CGROUP_LABEL_VM);
    t->name = quote_for_message(vm ? vm : last, 200);
    if (read_events(w, path, &t->last) < 0) {
        tracked_free(t);
        return;
    }
    t->logged_oom_kill = t->last.oom_kill;
    {
        g_autofree char *budget = label(w, path, CGROUP_LABEL_OVERHEAD);
        g_autofree char *grant = label(w, path, LABEL_GRANT);
        (void)g_ascii_string_to_unsigned(budget ? budget : "", 10, 0, G_MAXUINT64,
                                         &t->overhead_budget, NULL);
        /* A grant made before a restart still holds its share of the pool. */
        if (grant && g_ascii_string_to_unsigned(grant, 10, 0, G_MAXUINT64, &t->granted, NULL))
            w->pool_used += t->granted;
    }
    t->wd_events = add_watch(w, path, "memory.events", IN_MODIFY, WATCH_EVENTS);
    t->wd_cgevents = add_watch(w, path, "cgroup.events", IN_MODIFY, WATCH_CGEVENTS);
    if (t->wd_events < 0 || t->wd_cgevents < 0) {
        warn("%s: cannot watch /%s: %s", t->name, path,
             g_strerror(-MIN(t->wd_events, t->wd_cgevents)));
        if (t->wd_events >= 0)
            inotify_rm_watch(w->ifd, t->wd_events);
        if (t->wd_cgevents >= 0)
            inotify_rm_watch(w->ifd, t->wd_cgevents);
        tracked_free(t);
        return;
    }
    watch_pressure(w, t);
    max_text = vmmem_format_size(read_value(w, path, "memory.max"));
    warn("%s: watching /%s (memory.max %s)", t->name, path, max_text);
    g_hash_table_replace(w->tracked, t->path, t);
    if (fresh) {
        memset(&t->last, 0, sizeof(t->last));
        t->logged_oom_kill = 0;
        on_memory_events(w, t);
    }
    schedule_metrics(w);
}

static void
untrack(Watcher *w, Tracked *t)
{
    if (t->granted) {
        g_autofree char *g = vmmem_format_size(t->granted);
        w->pool_used -= MIN(t->granted, w->pool_used);
        g_autofree char *left =
            vmmem_format_size(w->elastic_pool - MIN(w->pool_used, w->elastic_pool));
        warn("%s: elastic: %s back to the pool, which has %s free", t->name, g, left);
    }
    /* The watches go with the directory (IN_IGNORED); removing them first is harmless. */
    if (t->wd_events >= 0)
        inotify_rm_watch(w->ifd, t->wd_events);
    if (t->wd_cgevents >= 0)
        inotify_rm_watch(w->ifd, t->wd_cgevents);
    g_hash_table_remove(w->refs, GINT_TO_POINTER(t->wd_events));
    g_hash_table_remove(w->refs, GINT_TO_POINTER(t->wd_cgevents));
    g_hash_table_remove(w->tracked, t->path);
    schedule_metrics(w);
}

/* A child of a parent: tracked once its last attribute (the overhead's) is set. */
static void
consider(Watcher *w, const char *parent, const char *child, bool fresh)
{
    g_autofree char *path = g_strdup_printf("%s/%s", parent, child);
    g_autofree char *overhead = NULL;

    if (g_hash_table_contains(w->tracked, path))
        return;
    overhead = label(w, path, CGROUP_LABEL_OVERHEAD);
    if (overhead)
        track(w, path, parent, fresh);
}

/* @fresh: the parent appeared while vmmemd watched (what is in it is news); false at start. */
static void
watch_parent(Watcher *w, const char *parent, bool fresh)
{
    g_autofree char *at = NULL;
    DIR *dir;
    struct dirent *de;
    int wd;

    if (g_hash_table_contains(w->parents, parent))
        return;
    wd = add_watch(w, parent, NULL, IN_CREATE | IN_ATTRIB | IN_ONLYDIR, WATCH_PARENT);
    if (wd < 0)
        return; /* not there (yet): the root's watch sees it appear */
    g_hash_table_replace(w->parents, g_strdup(parent), GINT_TO_POINTER(wd));
    /* What appeared before the watch did. */
    at = g_strdup_printf("%s/%s", w->mount, parent);
    if (!(dir = opendir(at)))
        return;
    while ((de = readdir(dir)))
        if (de->d_type == DT_DIR && de->d_name[0] != '.')
            consider(w, parent, de->d_name, fresh);
    closedir(dir);
}

static gboolean
log_oom(gpointer data)
{
    Tracked *t = data;
    Watcher *w = t->watcher;
    vmmem_memory_events now;
    g_autofree char *max = vmmem_format_size(read_value(w, t->path, "memory.max"));

    t->oom_timer = 0;
    if (read_events(w, t->path, &now) < 0)
        now = t->last;
    t->logged_oom_kill = now.oom_kill;
    warn("%s: OOM kill in /%s: oom %" G_GUINT64_FORMAT ", oom_kill %" G_GUINT64_FORMAT
         ", oom_group_kill %" G_GUINT64_FORMAT " (memory.max %s); `vmmem why %s` explains it",
         t->name, t->path, now.oom, now.oom_kill, now.oom_group_kill, max, t->name);
    return G_SOURCE_REMOVE;
}

static int
write_limit(Watcher *w, const char *path, const char *file, uint64_t value)
{
    g_autofree char *text = g_strdup_printf("%" G_GUINT64_FORMAT, value);
    int fd = openat(w->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW), r;

    if (fd < 0)
        return -errno;
    r = cg_write(fd, path, file, text, NULL);
    close(fd);
    return r;
}

/* Elastic overhead: an envelope that keeps crossing its memory.high gets memory.high and
 * memory.max raised by one step from the host's pool, up to its ceiling.  Limits only go up, so
 * never below usage; the grant goes back to the pool when the envelope ends. */
static void
maybe_grant(Watcher *w, Tracked *t, gint64 at)
{
    uint64_t high, max, ceiling, step;
    g_autofree char *grant = NULL;

    if (!w->elastic_pool || at - t->last_grant < ELASTIC_INTERVAL_US)
        return;
    high = read_value(w, t->path, "memory.high");
    max = read_value(w, t->path, "memory.max");
    if (high == 0 || high == UINT64_MAX || max == 0 || max == UINT64_MAX)
        return; /* no memory.high to cross: nothing to judge by */
    ceiling = w->elastic_ceiling ? w->elastic_ceiling : t->overhead_budget;
    step = MIN(w->elastic_step, ceiling - MIN(t->granted, ceiling));
    step = MIN(step, w->elastic_pool - MIN(w->pool_used, w->elastic_pool));
    step = step / 4096 * 4096;
    if (step == 0) {
        if (at - t->last_refusal_line >= EVENT_LINE_WINDOW_US) {
            g_autofree char *c = vmmem_format_size(ceiling);
            t->last_refusal_line = at;
            if (t->granted >= ceiling)
                warn("%s: elastic: no grant: it has its ceiling (%s)", t->name, c);
            else
                warn("%s: elastic: no grant: the pool is empty", t->name);
        }
        return;
    }
    /* memory.max first: memory.high above it would be meaningless for a moment. */
    if (write_limit(w, t->path, "memory.max", max + step) < 0) {
        warn("%s: elastic: cannot raise memory.max of /%s", t->name, t->path);
        return;
    }
    (void)write_limit(w, t->path, "memory.high", high + step);
    t->granted += step;
    w->pool_used += step;
    t->last_grant = at;
    grant = g_strdup_printf("%" G_GUINT64_FORMAT, t->granted);
    {
        g_autofree char *at_path = g_strdup_printf("%s/%s", w->mount, t->path);
        (void)lsetxattr(at_path, LABEL_GRANT, grant, strlen(grant), 0);
    }
    {
        g_autofree char *s = vmmem_format_size(step), *h0 = vmmem_format_size(high);
        g_autofree char *h1 = vmmem_format_size(high + step), *m0 = vmmem_format_size(max);
        g_autofree char *m1 = vmmem_format_size(max + step), *g = vmmem_format_size(t->granted);
        g_autofree char *c = vmmem_format_size(ceiling);
        g_autofree char *left = vmmem_format_size(w->elastic_pool - w->pool_used);
        warn("%s: elastic: +%s (memory.high %s -> %s, memory.max %s -> %s); granted %s of its "
             "%s ceiling, %s left in the pool",
             t->name, s, h0, h1, m0, m1, g, c, left);
    }
    schedule_metrics(w);
}

static void
log_events(Watcher *w, Tracked *t, const vmmem_memory_events *now)
{
    const vmmem_memory_events *was = &t->last;
    gint64 at = g_get_monotonic_time();

    /* One line per OOM: by the oom counter, or a kill that no OOM line has counted (the global
     * OOM killer's in this envelope). */
    if (!t->oom_timer && (now->oom > was->oom || now->oom_kill > t->logged_oom_kill))
        t->oom_timer = g_timeout_add(OOM_LINE_DELAY_MS, log_oom, t);
    /* The figures are read for a line only: a reclaim burst changes memory.events hundreds of
     * times, and most changes write nothing. */
    if (now->max > was->max && !t->oom_timer && at - t->last_max_line >= EVENT_LINE_WINDOW_US) {
        g_autofree char *current = vmmem_format_size(read_value(w, t->path, "memory.current"));
        g_autofree char *max = vmmem_format_size(read_value(w, t->path, "memory.max"));
        t->last_max_line = at;
        warn("%s: memory.max reached in /%s (max %" G_GUINT64_FORMAT "): memory.current %s of "
             "memory.max %s; the kernel reclaims to stay under it",
             t->name, t->path, now->max, current, max);
    }
    if (now->high > was->high)
        maybe_grant(w, t, at);
    if (now->high > was->high && at - t->last_high_line >= EVENT_LINE_WINDOW_US) {
        g_autofree char *current = vmmem_format_size(read_value(w, t->path, "memory.current"));
        g_autofree char *high = vmmem_format_size(read_value(w, t->path, "memory.high"));
        t->last_high_line = at;
        warn("%s: memory.high crossed in /%s (high %" G_GUINT64_FORMAT "): memory.current %s, "
             "memory.high %s; the kernel throttles and reclaims",
             t->name, t->path, now->high, current, high);
    }
    t->last = *now;
}

static void
on_memory_events(Watcher *w, Tracked *t)
{
    vmmem_memory_events now;

    if (read_events(w, t->path, &now) == 0)
        log_events(w, t, &now);
    schedule_metrics(w);
}

/* vmmem's own scope whose VM has exited: removed now, so that `vmmem gc` is only the fallback
 * (for a host without vmmemd).  gc's own rules apply: a scope held by its maker is left. */
static void
on_cgroup_events(Watcher *w, Tracked *t)
{
    g_autoptr(GError) error = NULL;
    unsigned removed = 0;
    uint64_t populated = 1;
    struct stat st;
    int fd;

    if (!t->ours)
        return;
    fd = openat(w->root_fd, t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    (void)cg_read_keyed(fd, t->path, "cgroup.events", "populated", &populated, NULL);
    close(fd);
    if (populated)
        return;
    if (cgroup_backend_fs.gc(t->parent, &removed, &error) < 0) {
        warn("%s: cannot remove the empty scope /%s: %s", t->name, t->path, error->message);
        return;
    }
    if (fstatat(w->root_fd, t->path, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
        warn("%s: its VM exited; removed the empty scope /%s", t->name, t->path);
        untrack(w, t);
    }
}

static Tracked *
tracked_by_path(Watcher *w, const char *path)
{
    return path ? g_hash_table_lookup(w->tracked, path) : NULL;
}

static void
handle(Watcher *w, const struct inotify_event *ev)
{
    WatchRef *ref = g_hash_table_lookup(w->refs, GINT_TO_POINTER(ev->wd));
    g_autofree char *path = NULL;
    Tracked *t;

    if (!ref)
        return;
    path = g_strdup(ref->path);
    if (ev->mask & IN_IGNORED) {
        /* The directory or file went: an envelope that ended (libvirt removed its domain). */
        g_hash_table_remove(w->refs, GINT_TO_POINTER(ev->wd));
        if (ref->kind == WATCH_PARENT)
            g_hash_table_remove(w->parents, path);
        else if ((t = tracked_by_path(w, path))) {
            if (t->wd_events == ev->wd)
                t->wd_events = -1;
            if (t->wd_cgevents == ev->wd)
                t->wd_cgevents = -1;
            untrack(w, t);
        }
        return;
    }
    switch (ref->kind) {
    case WATCH_ROOT:
        if (ev->len && (ev->mask & IN_ISDIR)) {
            for (size_t i = 0; i < G_N_ELEMENTS(libvirt_parents); i++)
                if (strcmp(ev->name, libvirt_parents[i]) == 0)
                    watch_parent(w, ev->name, true);
            if (strcmp(ev->name, w->parent) == 0)
                watch_parent(w, ev->name, true);
        }
        break;
    case WATCH_PARENT:
        if (ev->len && (ev->mask & IN_ISDIR))
            consider(w, path, ev->name, true);
        break;
    case WATCH_EVENTS:
        if ((t = tracked_by_path(w, path)))
            on_memory_events(w, t);
        break;
    case WATCH_CGEVENTS:
        if ((t = tracked_by_path(w, path)))
            on_cgroup_events(w, t);
        break;
    }
}

static gboolean
on_inotify(int fd, GIOCondition cond, gpointer data)
{
    Watcher *w = data;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            handle(w, ev);
            p += sizeof(*ev) + ev->len;
        }
    }
    return G_SOURCE_CONTINUE;
}

/* ---- metrics ---- */

/* A Prometheus label value: backslash, double quote and newline escaped; bytes that are not
 * UTF-8 replaced. */
static void
append_label(GString *out, const char *key, const char *value)
{
    g_autofree char *valid = g_utf8_make_valid(value, -1);

    g_string_append_printf(out, "%s=\"", key);
    for (const char *c = valid; *c; c++) {
        if (*c == '\\' || *c == '"')
            g_string_append_c(out, '\\');
        if (*c == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *c);
    }
    g_string_append_c(out, '"');
}

typedef struct {
    const char *name, *type, *help;
} Family;

static void
family(GString *out, const Family *f)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
}

static void
sample(GString *out, const char *name, const vmmem_status_envelope *e, const char *extra_key,
       const char *extra_value, const char *value)
{
    g_string_append_printf(out, "%s{", name);
    append_label(out, "vm", e->name);
    g_string_append_c(out, ',');
    append_label(out, "cgroup", e->path);
    if (extra_key) {
        g_string_append_c(out, ',');
        append_label(out, extra_key, extra_value);
    }
    g_string_append_printf(out, "} %s\n", value);
}

static void
sample_u64(GString *out, const char *name, const vmmem_status_envelope *e, uint64_t v)
{
    g_autofree char *text = g_strdup_printf("%" G_GUINT64_FORMAT, v);
    sample(out, name, e, NULL, NULL, text);
}

char *
watcher_metrics_text(const GArray *entries, uint64_t mem_total)
{
    static const Family host[] = {
        {"vmmem_host_memory_bytes", "gauge", "The host's RAM (MemTotal)."},
        {"vmmem_host_memory_max_sum_bytes", "gauge", "Sum of memory.max over the envelopes."},
        {"vmmem_envelopes", "gauge", "Envelopes on the host."},
    };
    static const struct {
        Family f;
        size_t offset; /* in vmmem_status_envelope, a uint64_t */
        size_t has;    /* offset of its has_* int, or 0: always */
    } figures[] = {
        {{"vmmem_guest_ram_bytes", "gauge", "Guest RAM the envelope was sized for."},
         offsetof(vmmem_status_envelope, guest_ram),
         0},
        {{"vmmem_overhead_budget_bytes", "gauge", "QEMU overhead the envelope was given."},
         offsetof(vmmem_status_envelope, overhead_budget),
         0},
        {{"vmmem_memory_max_bytes", "gauge", "memory.max."},
         offsetof(vmmem_status_envelope, memory_max),
         0},
        {{"vmmem_memory_current_bytes", "gauge", "memory.current."},
         offsetof(vmmem_status_envelope, memory_current),
         0},
        {{"vmmem_memory_peak_bytes", "gauge", "memory.peak."},
         offsetof(vmmem_status_envelope, memory_peak),
         offsetof(vmmem_status_envelope, has_memory_peak)},
        {{"vmmem_swap_current_bytes", "gauge", "memory.swap.current."},
         offsetof(vmmem_status_envelope, swap_current),
         offsetof(vmmem_status_envelope, has_swap_current)},
        {{"vmmem_guest_resident_bytes", "gauge", "Guest RAM resident in qemu's RAM mappings."},
         offsetof(vmmem_status_envelope, guest_resident),
         offsetof(vmmem_status_envelope, has_guest_resident)},
        {{"vmmem_overhead_used_bytes", "gauge",
          "memory.current without the resident guest RAM: the overhead in use."},
         offsetof(vmmem_status_envelope, overhead_used),
         offsetof(vmmem_status_envelope, has_guest_resident)},
        {{"vmmem_ksm_merging_pages", "gauge", "Pages of qemu that KSM merged."},
         offsetof(vmmem_status_envelope, ksm_merging_pages),
         offsetof(vmmem_status_envelope, has_ksm)},
    };
    static const Family high = {"vmmem_memory_high_bytes", "gauge", "memory.high, when set."};
    static const Family events = {"vmmem_memory_events_total", "counter",
                                  "memory.events: how often each boundary was hit."};
    static const Family psi = {"vmmem_memory_pressure_avg10_ratio", "gauge",
                               "memory.pressure avg10, as a ratio (some or full)."};
    GString *out = g_string_new(NULL);
    uint64_t sum = 0;

    for (guint i = 0; i < entries->len; i++)
        sum += g_array_index(entries, StatusEntry, i).pub.memory_max;
    family(out, &host[0]);
    g_string_append_printf(out, "%s %" G_GUINT64_FORMAT "\n", host[0].name, mem_total);
    family(out, &host[1]);
    g_string_append_printf(out, "%s %" G_GUINT64_FORMAT "\n", host[1].name, sum);
    family(out, &host[2]);
    g_string_append_printf(out, "%s %u\n", host[2].name, entries->len);

    for (size_t k = 0; k < G_N_ELEMENTS(figures); k++) {
        family(out, &figures[k].f);
        for (guint i = 0; i < entries->len; i++) {
            const vmmem_status_envelope *e = &g_array_index(entries, StatusEntry, i).pub;
            if (figures[k].has && !*(const int *)((const char *)e + figures[k].has))
                continue;
            sample_u64(out, figures[k].f.name, e,
                       *(const uint64_t *)((const char *)e + figures[k].offset));
        }
    }
    family(out, &high);
    for (guint i = 0; i < entries->len; i++) {
        const vmmem_status_envelope *e = &g_array_index(entries, StatusEntry, i).pub;
        if (e->memory_high != UINT64_MAX)
            sample_u64(out, high.name, e, e->memory_high);
    }
    family(out, &events);
    for (guint i = 0; i < entries->len; i++) {
        const vmmem_status_envelope *e = &g_array_index(entries, StatusEntry, i).pub;
        const struct {
            const char *name;
            uint64_t v;
        } ev[] = {{"low", e->events.low},           {"high", e->events.high},
                  {"max", e->events.max},           {"oom", e->events.oom},
                  {"oom_kill", e->events.oom_kill}, {"oom_group_kill", e->events.oom_group_kill}};
        for (size_t k = 0; k < G_N_ELEMENTS(ev); k++) {
            g_autofree char *v = g_strdup_printf("%" G_GUINT64_FORMAT, ev[k].v);
            sample(out, events.name, e, "event", ev[k].name, v);
        }
    }
    family(out, &psi);
    for (guint i = 0; i < entries->len; i++) {
        const vmmem_status_envelope *e = &g_array_index(entries, StatusEntry, i).pub;
        char some[G_ASCII_DTOSTR_BUF_SIZE], full[G_ASCII_DTOSTR_BUF_SIZE];
        if (!e->has_pressure)
            continue;
        g_ascii_dtostr(some, sizeof(some), e->pressure_some_avg10 / 100.0);
        g_ascii_dtostr(full, sizeof(full), e->pressure_full_avg10 / 100.0);
        sample(out, psi.name, e, "kind", "some", some);
        sample(out, psi.name, e, "kind", "full", full);
    }
    return g_string_free(out, false);
}

static gboolean
write_metrics(gpointer data)
{
    Watcher *w = data;
    g_autoptr(HostInfo) host = NULL;
    g_autoptr(GArray) entries = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;

    w->metrics_timer = 0;
    if (host_info_read(&host, &error) < 0 || status_collect(NULL, host, &entries, &error) < 0) {
        warn("metrics: %s", error->message);
        return G_SOURCE_REMOVE;
    }
    text = watcher_metrics_text(entries, host->physmem);
    /* node_exporter's textfile collector reads the file whole: replace it, never rewrite it. */
    if (!g_file_set_contents_full(w->metrics_path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                  &error))
        warn("metrics: %s", error->message);
    return G_SOURCE_REMOVE;
}

static void
schedule_metrics(Watcher *w)
{
    if (w->metrics_path && !w->metrics_timer)
        w->metrics_timer = g_timeout_add(METRICS_DELAY_MS, write_metrics, w);
}

int
watcher_start(const WatcherOptions *options, Watcher **ret_watcher, GError **error)
{
    g_autoptr(Watcher) w = g_new0(Watcher, 1);
    g_autoptr(GArray) entries = NULL;
    int r;

    w->root_fd = w->ifd = -1;
    w->refs = g_hash_table_new_full(NULL, NULL, NULL, ref_free);
    w->tracked = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, tracked_free);
    w->parents = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    w->parent = g_strdup(options->parent);
    w->elastic_pool = options->elastic_pool;
    w->elastic_step = options->elastic_step;
    w->elastic_ceiling = options->elastic_ceiling;
    w->metrics_path = g_strdup(options->metrics_path);
    r = cg_open_unified_root(&w->mount, &w->root_fd, error);
    if (r < 0)
        return r;
    w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->ifd < 0)
        return vmmem_fail(error, errno, "inotify: %s", g_strerror(errno));
    if (add_watch(w, "", NULL, IN_CREATE | IN_ONLYDIR, WATCH_ROOT) < 0)
        return vmmem_fail(error, errno, "cannot watch the cgroup2 root %s: %s", w->mount,
                          g_strerror(errno));
    /* Parents first, so that nothing made during the walk is missed; the walk then finds what
     * is anywhere else (a parent configured elsewhere before, a VM with --parent). */
    watch_parent(w, w->parent, false);
    for (size_t i = 0; i < G_N_ELEMENTS(libvirt_parents); i++)
        watch_parent(w, libvirt_parents[i], false);
    r = status_collect(NULL, NULL, &entries, error);
    if (r < 0)
        return r;
    for (guint i = 0; i < entries->len; i++) {
        const char *path = g_array_index(entries, StatusEntry, i).pub.path;
        g_autofree char *parent = g_path_get_dirname(path);
        track(w, path, parent, false);
    }
    w->source = g_unix_fd_add(w->ifd, G_IO_IN, on_inotify, w);
    schedule_metrics(w);
    *ret_watcher = g_steal_pointer(&w);
    return 0;
}

void
watcher_free(Watcher *w)
{
    if (!w)
        return;
    if (w->source)
        g_source_remove(w->source);
    if (w->metrics_timer)
        g_source_remove(w->metrics_timer);
    if (w->ifd >= 0)
        close(w->ifd);
    if (w->root_fd >= 0)
        close(w->root_fd);
    g_hash_table_destroy(w->refs);
    g_hash_table_destroy(w->tracked);
    g_hash_table_destroy(w->parents);
    g_free(w->mount);
    g_free(w->parent);
    g_free(w->metrics_path);
    g_free(w);
}
