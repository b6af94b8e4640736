/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The systemd backend.  Where systemd is PID 1 it owns the cgroup tree (its single-writer rule,
 * docs/cgroup-layout.md), so the scope is a transient scope unit that systemd makes and whose
 * limits it holds, across daemon-reload: StartTransientUnit over D-Bus (GDBus; no libsystemd),
 * in the configured slice of the system manager, or of the calling user's manager, whose
 * delegated subtree needs no root.  A scope unit needs its first process to exist, so create
 * checks what it can and attach starts the unit with the process.  Once the unit runs, its
 * cgroup is read (and its delegated part written) through the cgroupfs backend. */
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "cgroup-util.h"
#include "error.h"
#include "quote.h"

#define SD_SERVICE "org.freedesktop.systemd1"
#define SD_PATH    "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
/* A scope's start job only moves processes; one that takes this long has a stuck manager. */
#define JOB_TIMEOUT_MS  30000
#define CALL_TIMEOUT_MS 30000

typedef struct {
    GDBusConnection *bus;
    bool peer;       /* systemd's private socket: no bus daemon, no names */
    char *manager;   /* "the system manager", "the user manager of uid 1000": for messages */
    CgroupScope *fs; /* the unit's cgroup through the cgroupfs backend, once it runs */
} SdScope;

static SdScope *
sd(const CgroupScope *s)
{
    return s->priv;
}

static void *
sd_new_priv(void)
{
    return g_new0(SdScope, 1);
}

static void
sd_free_priv(void *priv)
{
    SdScope *d = priv;

    cgroup_scope_free(d->fs);
    g_clear_object(&d->bus); /* shared: it stays open for the next scope */
    g_free(d->manager);
    g_free(d);
}

static bool
is_user(const CgroupPlan *plan)
{
    return plan->manager == CGROUP_MANAGER_SYSTEMD_USER;
}

/* A D-Bus error as one line: "Unit vmmem-a.scope was already loaded ...", without GDBus's
 * "GDBus.Error:org.freedesktop...:" prefix. */
static const char *
dbus_message(GError *e)
{
    if (g_dbus_error_is_remote_error(e))
        g_dbus_error_strip_remote_error(e);
    return e->message;
}

static bool
remote_error_is(const GError *e, const char *name)
{
    g_autofree char *remote = g_dbus_error_get_remote_error(e);
    return remote && strcmp(remote, name) == 0;
}

/* One connection to each address for the whole life of the process, as libsystemd keeps a
 * default bus: a manager that keeps many VMs does not hold a connection to PID 1 for each.  It
 * is also what works: after a first connection of the process to systemd 252's private socket,
 * the first call of a later one (GLib 2.74) now and then got no answer at all until its timeout,
 * whether the first was still open or already closed (scope-api --systemd, in 3 of 5 and then 2
 * of 6 runs in the test VM); a process with one connection never has. */
static GMutex shared_lock;
static GHashTable *shared; /* address -> its GDBusConnection */

static GDBusConnection *
shared_connection(const char *address, GDBusConnectionFlags flags, GError **error)
{
    GDBusConnection *c;

    g_mutex_lock(&shared_lock);
    if (!shared)
        shared = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
    c = g_hash_table_lookup(shared, address);
    if (c && !g_dbus_connection_is_closed(c)) {
        g_object_ref(c);
    } else {
        /* None yet, or closed under us: systemd re-executed, or dbus-daemon restarted. */
        c = g_dbus_connection_new_for_address_sync(address, flags, NULL, NULL, error);
        if (c)
            g_hash_table_replace(shared, g_strdup(address), g_object_ref(c));
    }
    g_mutex_unlock(&shared_lock);
    return c;
}

/* The manager's private socket first: it needs no dbus-daemon and skips its hop (systemctl does
 * the same as root); then the bus.  The paths are fixed, never taken from the environment: a
 * launcher may run with privileges the environment's author lacks. */
static int
sd_connect(CgroupScope *s, GError **error)
{
    const CgroupPlan *p = s->plan;
    g_autofree char *private = NULL, *bus = NULL;
    g_autoptr(GError) e1 = NULL, e2 = NULL;

    if (sd(s)->bus)
        return 0;
    if (is_user(p)) {
        private = g_strdup_printf("unix:path=/run/user/%u/systemd/private", (unsigned)p->uid);
        bus = g_strdup_printf("unix:path=/run/user/%u/bus", (unsigned)p->uid);
        sd(s)->manager = g_strdup_printf("the user manager of uid %u", (unsigned)p->uid);
    } else {
        private = g_strdup("unix:path=/run/systemd/private");
        bus = g_strdup("unix:path=/run/dbus/system_bus_socket");
        sd(s)->manager = g_strdup("the system manager");
    }
    sd(s)->bus = shared_connection(private, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, &e1);
    if (sd(s)->bus) {
        sd(s)->peer = true;
        return 0;
    }
    sd(s)->bus = shared_connection(bus,
                                   G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                   &e2);
    if (sd(s)->bus)
        return 0;
    return vmmem_fail(error, EHOSTUNREACH, "cannot reach %s over D-Bus (%s: %s; %s: %s)%s",
                      sd(s)->manager, private + strlen("unix:path="), e1->message,
                      bus + strlen("unix:path="), e2->message,
                      is_user(p) ? "; a user needs a running user manager (loginctl "
                                   "enable-linger USER, or a login session)"
                                 : "");
}

static GVariant *
sd_call(CgroupScope *s, const char *path, const char *iface, const char *method, GVariant *args,
        const char *reply_type, GError **error)
{
    return g_dbus_connection_call_sync(
        sd(s)->bus, sd(s)->peer ? NULL : SD_SERVICE, path, iface, method, args,
        G_VARIANT_TYPE(reply_type), G_DBUS_CALL_FLAGS_NO_AUTO_START, CALL_TIMEOUT_MS, NULL, error);
}

/* A manager method that answers nothing: whether it succeeded, for best-effort calls. */
static bool
sd_call_void(CgroupScope *s, const char *method, GVariant *args)
{
    g_autoptr(GVariant) reply = sd_call(s, SD_PATH, SD_MANAGER, method, args, "()", NULL);
    return reply != NULL;
}

/* The unit's object path; -ENOENT without a message when systemd has no such unit. */
static int
get_unit(CgroupScope *s, char **ret_path, GError **error)
{
    g_autoptr(GError) e = NULL;
    g_autoptr(GVariant) reply =
        sd_call(s, SD_PATH, SD_MANAGER, "GetUnit", g_variant_new("(s)", s->plan->scope), "(o)", &e);

    if (!reply) {
        if (remote_error_is(e, "org.freedesktop.systemd1.NoSuchUnit"))
            return -ENOENT;
        return vmmem_fail(error, EIO, "%s: GetUnit %s: %s", sd(s)->manager, s->plan->scope,
                          dbus_message(e));
    }
    g_variant_get(reply, "(o)", ret_path);
    return 0;
}

/* JobRemoved signals seen while a job runs, job path -> result: the signal may come before the
 * reply that names the job. */
typedef struct {
    GHashTable *removed;
    bool timed_out;
} JobWatch;

static void
job_watch_free(gpointer p)
{
    JobWatch *w = p;

    g_hash_table_unref(w->removed);
    g_free(w);
}

static void
on_job_removed(GDBusConnection *c, const char *sender, const char *path, const char *iface,
               const char *signal, GVariant *params, gpointer data)
{
    JobWatch *w = data;
    const char *job, *unit, *result;
    guint32 id;

    if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(uoss)")))
        return;
    g_variant_get(params, "(u&o&s&s)", &id, &job, &unit, &result);
    g_hash_table_replace(w->removed, g_strdup(job), g_strdup(result));
}

static gboolean
on_job_timeout(gpointer data)
{
    ((JobWatch *)data)->timed_out = true;
    return G_SOURCE_REMOVE;
}

/* Calls @method, which queues a job and returns its path, and waits for that job's end:
 * *ret_result is systemd's word for it ("done", "failed", "dependency", ...).  The calling
 * thread's main context is left alone: the wait runs in a context of its own. */
static int
run_job(CgroupScope *s, const char *method, GVariant *args, char **ret_result, GError **error)
{
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_autoptr(GVariant) reply = NULL;
    g_autoptr(GError) e = NULL;
    g_autofree char *job = NULL;
    JobWatch *w = g_new0(JobWatch, 1);
    GSource *timeout;
    guint sub;
    int r = 0;

    w->removed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_main_context_push_thread_default(ctx);
    sub = g_dbus_connection_signal_subscribe(
        sd(s)->bus, sd(s)->peer ? NULL : SD_SERVICE, SD_MANAGER, "JobRemoved", SD_PATH, NULL,
        G_DBUS_SIGNAL_FLAGS_NONE, on_job_removed, w, job_watch_free);
    /* On the bus, systemd sends job signals to the job's own client; Subscribe makes sure. */
    if (!sd(s)->peer)
        (void)sd_call_void(s, "Subscribe", NULL);
    reply = sd_call(s, SD_PATH, SD_MANAGER, method, args, "(o)", &e);
    if (!reply) {
        /* Named before dbus_message() strips the name from the message. */
        int err = remote_error_is(e, "org.freedesktop.systemd1.UnitExists")   ? EEXIST
                  : remote_error_is(e, "org.freedesktop.systemd1.NoSuchUnit") ? ENOENT
                                                                              : EIO;
        r = vmmem_fail(error, err, "%s", dbus_message(e));
        goto out;
    }
    g_variant_get(reply, "(o)", &job);
    timeout = g_timeout_source_new(JOB_TIMEOUT_MS);
    g_source_set_callback(timeout, on_job_timeout, w, NULL);
    g_source_attach(timeout, ctx);
    while (!g_hash_table_contains(w->removed, job) && !w->timed_out)
        g_main_context_iteration(ctx, TRUE);
    g_source_destroy(timeout);
    g_source_unref(timeout);
    if (w->timed_out)
        r = vmmem_fail(error, ETIMEDOUT, "%s did not finish job %s for %s in %d s", sd(s)->manager,
                       job, s->plan->scope, JOB_TIMEOUT_MS / 1000);
    else
        *ret_result = g_strdup(g_hash_table_lookup(w->removed, job));
out:
    g_dbus_connection_signal_unsubscribe(sd(s)->bus, sub);
    g_main_context_pop_thread_default(ctx);
    return r;
}

/* The unit's cgroup, relative to the cgroup2 mount, from the manager. */
static int
query_unit_cgroup(CgroupScope *s, char **ret_path, GError **error)
{
    g_autoptr(GVariant) reply = NULL, value = NULL;
    g_autofree char *unit_path = NULL;
    g_autoptr(GError) e = NULL;
    const char *cg;
    int r;

    r = get_unit(s, &unit_path, error);
    if (r == -ENOENT)
        return vmmem_fail(error, ENOENT, "%s has no unit %s", sd(s)->manager, s->plan->scope);
    if (r < 0)
        return r;
    reply =
        sd_call(s, unit_path, "org.freedesktop.DBus.Properties", "Get",
                g_variant_new("(ss)", "org.freedesktop.systemd1.Scope", "ControlGroup"), "(v)", &e);
    if (!reply)
        return vmmem_fail(error, EIO, "%s: the ControlGroup of %s: %s", sd(s)->manager,
                          s->plan->scope, dbus_message(e));
    g_variant_get(reply, "(v)", &value);
    if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING) ||
        *(cg = g_variant_get_string(value, NULL)) != '/')
        return vmmem_fail(error, EIO, "%s: %s has no cgroup (is it running?)", sd(s)->manager,
                          s->plan->scope);
    *ret_path = g_strdup(cg + 1);
    return 0;
}

/* Where the unit that @pid just started in sits: its /proc cgroup, two round trips cheaper
 * than asking, when it names the unit (nothing else may have moved @pid yet); else the
 * manager's word. */
static int
started_unit_cgroup(CgroupScope *s, pid_t pid, char **ret_path, GError **error)
{
    g_autofree char *path = NULL;

    if (cg_pid_cgroup(pid, &path, NULL) == 0 && g_str_has_suffix(path, s->plan->scope) &&
        (strlen(path) == strlen(s->plan->scope) ||
         path[strlen(path) - strlen(s->plan->scope) - 1] == '/')) {
        *ret_path = g_steal_pointer(&path);
        return 0;
    }
    return query_unit_cgroup(s, ret_path, error);
}

/* The unit's cgroup at @path through the cgroupfs backend, opened and locked. */
static int
open_unit_cgroup(CgroupScope *s, const char *path, GError **error)
{
    g_autoptr(CgroupScope) fs = NULL;
    CgroupPlan *plan;
    int r;

    r = cgroup_plan_new_open(NULL, path, true, &plan, error);
    if (r < 0)
        return r;
    fs = cgroup_scope_new(&cgroup_backend_fs, plan);
    r = cgroup_backend_fs.open(fs, error);
    if (r < 0)
        return r;
    /* The plan names where the cgroup really is (a user manager's root is its own). */
    g_free(s->plan->parent);
    s->plan->parent = g_strdup(plan->parent);
    g_free(s->plan->path);
    s->plan->path = g_strdup(plan->path);
    sd(s)->fs = g_steal_pointer(&fs);
    return 0;
}

/* Before anything starts: a manager whose cgroup offers no memory controller, or a user manager
 * that may not hand controllers down (its cgroup.subtree_control is root's), would run the unit
 * and drop its limits with a line in its journal. */
static int
check_delegation(CgroupScope *s, GError **error)
{
    g_autoptr(GVariant) reply = NULL, value = NULL;
    g_autofree char *controllers = NULL;
    g_autofree char *mount = NULL;
    g_autoptr(GError) e = NULL;
    const char *cg = NULL;
    int root_fd, fd = -1, r;
    bool delegated;

    /* The root, PID 1's, offers memory or this fails with why. */
    r = cg_open_unified_root(&mount, &root_fd, error);
    if (r < 0 || !is_user(s->plan)) {
        if (r == 0)
            close(root_fd);
        return r;
    }
    reply = sd_call(s, SD_PATH, "org.freedesktop.DBus.Properties", "Get",
                    g_variant_new("(ss)", SD_MANAGER, "ControlGroup"), "(v)", &e);
    if (!reply)
        r = vmmem_fail(error, EIO, "%s: its ControlGroup: %s", sd(s)->manager, dbus_message(e));
    else
        g_variant_get(reply, "(v)", &value);
    if (r == 0 && (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING) ||
                   *(cg = g_variant_get_string(value, NULL)) != '/' || !cg[1]))
        r = vmmem_fail(error, EIO, "%s reports no cgroup of its own", sd(s)->manager);
    if (r == 0)
        r = cg_open_dir(root_fd, cg + 1, cg + 1, &fd, error);
    close(root_fd);
    if (r < 0)
        return r;
    r = cg_read(fd, cg + 1, "cgroup.controllers", &controllers, error);
    delegated = faccessat(fd, "cgroup.subtree_control", W_OK, AT_EACCESS) == 0;
    close(fd);
    if (r < 0)
        return r;
    if (!delegated || !cg_word_list_contains(controllers, "memory"))
        return vmmem_fail(error, EPERM,
                          "%s has no memory controller delegated (its cgroup %s offers '%s'%s): "
                          "give user@.service Delegate=pids memory (systemctl edit "
                          "user@.service as root), then start the user manager again",
                          sd(s)->manager, cg, controllers,
                          delegated ? "" : " and is not delegated");
    return 0;
}

/* The name is not asked for here: StartTransientUnit refuses a clash itself, atomically. */
static int
sd_create(CgroupScope *s, GError **error)
{
    int r = sd_connect(s, error);

    return r < 0 ? r : check_delegation(s, error);
}

/* MemoryMax=, MemoryHigh= ...: a byte count or "infinity", what update may change. */
static bool
is_limit_property(const char *name)
{
    return g_str_has_prefix(name, "Memory") && strcmp(name, "MemoryAccounting") != 0;
}

static GVariant *
properties(const CgroupPlan *plan, pid_t pid)
{
    g_autoptr(GPtrArray) props = cgroup_plan_systemd_properties(plan);
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("a(sv)"));
    for (guint i = 0; i < props->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(props, i);
        GVariant *v;

        if (is_limit_property(w->file))
            v = g_variant_new_uint64(strcmp(w->value, "infinity") == 0
                                         ? G_MAXUINT64
                                         : g_ascii_strtoull(w->value, NULL, 10));
        else if (strcmp(w->value, "yes") == 0)
            v = g_variant_new_boolean(TRUE);
        else
            v = g_variant_new_string(w->value);
        g_variant_builder_add(&b, "(sv)", w->file, v);
    }
    g_variant_builder_add(&b, "(sv)", "PIDs",
                          g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, &(guint32){(guint32)pid},
                                                    1, sizeof(guint32)));
    return g_variant_builder_end(&b);
}

/* Every limit systemd holds, as the kernel has it now. */
static int
read_back(CgroupScope *s, const CgroupPlan *plan, GError **error)
{
    for (guint i = 0; i < plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->writes, i);
        g_autofree char *got = NULL;
        g_autoptr(GError) e = NULL;

        if (!cgroup_plan_file_is_property(w->file))
            continue;
        if (cgroup_backend_fs.read_file(sd(s)->fs, w->file, &got, &e) < 0) {
            if (w->optional && g_error_matches(e, VMMEM_ERROR, ENOENT))
                continue;
            int err = vmmem_error_errno(e);
            g_propagate_error(error, g_steal_pointer(&e));
            return -err;
        }
        if (strcmp(g_strchomp(got), w->value) != 0)
            return vmmem_fail(error, EIO, "%s of '/%s' reads back '%s', not '%s'", w->file,
                              s->plan->path, got, w->value);
    }
    return 0;
}

/* The leaf of the delegated scope, made when missing; its fd in *ret_fd. */
static int
open_leaf(CgroupScope *s, int *ret_fd, GError **error)
{
    g_autofree char *leaf = g_strconcat(s->plan->path, "/" CGROUP_SYSTEMD_LEAF, NULL);
    int fd, r;

    r = cgroup_backend_fs.get_fd(sd(s)->fs, &fd, error);
    if (r < 0)
        return r;
    if (mkdirat(fd, CGROUP_SYSTEMD_LEAF, 0755) < 0 && errno != EEXIST)
        r = vmmem_fail(error, errno, "cannot make cgroup '/%s': %s", leaf, g_strerror(errno));
    else
        r = cg_open_dir(fd, leaf, CGROUP_SYSTEMD_LEAF, ret_fd, error);
    close(fd);
    return r;
}

/* @pid (NULL: none) into the leaf, whose memory then counts on its own, then the writes that
 * are no property.  Each is read back. */
static int
apply_leaf(CgroupScope *s, const CgroupPlan *plan, pid_t pid, GError **error)
{
    g_autofree char *leaf = g_strconcat(s->plan->path, "/" CGROUP_SYSTEMD_LEAF, NULL);
    int fd, scope_fd = -1, r;

    r = open_leaf(s, &fd, error);
    if (r < 0)
        return r;
    if (pid) {
        g_autofree char *text = g_strdup_printf("%d", (int)pid);
        r = cg_write(fd, leaf, "cgroup.procs", text, error);
        if (r == 0)
            r = cgroup_backend_fs.get_fd(sd(s)->fs, &scope_fd, error);
        /* The scope is empty now: it may hand its controllers down. */
        if (r == 0)
            r = cg_enable_controllers(scope_fd, s->plan->path,
                                      (const char *const[]){"memory", "pids", NULL}, error);
    }
    for (guint i = 0; r == 0 && i < plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->writes, i);
        g_autofree char *got = NULL;

        if (cgroup_plan_file_is_property(w->file))
            continue;
        r = cg_write(fd, leaf, w->file, w->value, error);
        if (r == 0)
            r = cg_read(fd, leaf, w->file, &got, error);
        if (r == 0 && strcmp(got, w->value) != 0)
            r = vmmem_fail(error, EIO, "%s of '/%s' reads back '%s', not '%s'", w->file, leaf, got,
                           w->value);
    }
    if (scope_fd >= 0)
        close(scope_fd);
    close(fd);
    return r;
}

/* The delegated part: the leaf, the labels on the scope, then every limit read back. */
static int
finish_scope(CgroupScope *s, const CgroupPlan *plan, pid_t pid, GError **error)
{
    int r = apply_leaf(s, plan, pid, error);

    if (r == 0)
        r = cgroup_backend_fs.update(sd(s)->fs, cgroup_plan_new_labels(plan, s->plan->path), error);
    return r < 0 ? r : read_back(s, plan, error);
}

static int
stop_unit(CgroupScope *s, GError **error)
{
    g_autofree char *result = NULL;
    g_autoptr(GError) e = NULL;
    int r = run_job(s, "StopUnit", g_variant_new("(ss)", s->plan->scope, "replace"), &result, &e);

    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        g_propagate_error(error, g_steal_pointer(&e));
        return r;
    }
    if (strcmp(result, "done") != 0)
        return vmmem_fail(error, EIO, "%s could not stop %s: its job ended '%s'", sd(s)->manager,
                          s->plan->scope, result);
    return 0;
}

/* Whether the calling process sits in the unit's cgroup or below: stopping the unit would kill
 * it. */
static bool
caller_inside(const CgroupScope *s)
{
    g_autofree char *now = NULL;
    size_t n = strlen(s->plan->path);

    return cg_pid_cgroup(0, &now, NULL) == 0 && strncmp(now, s->plan->path, n) == 0 &&
           (now[n] == '\0' || now[n] == '/');
}

/* Undoes a start that got no further: the unit goes with @pid, unless that is the caller (a
 * launcher: it exits on the error, and systemd collects the empty scope). */
static void
undo_start(CgroupScope *s, pid_t pid)
{
    if (pid != getpid())
        (void)stop_unit(s, NULL);
    g_clear_pointer(&sd(s)->fs, cgroup_scope_free);
}

static int
sd_attach(CgroupScope *s, pid_t pid, GError **error)
{
    g_autofree char *result = NULL, *path = NULL;
    g_autoptr(GError) e = NULL;
    int r;

    if (!sd(s)->bus)
        return vmmem_fail(error, EBADF, "the scope was not created");
    if (pid == 0)
        pid = getpid();
    if (sd(s)->fs) {
        /* A running unit takes more processes through the manager, which may move them. */
        g_autoptr(GError) why = NULL;
        g_autoptr(GVariant) reply = sd_call(
            s, SD_PATH, SD_MANAGER, "AttachProcessesToUnit",
            g_variant_new("(ss@au)", s->plan->scope, "/" CGROUP_SYSTEMD_LEAF,
                          g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, &(guint32){(guint32)pid},
                                                    1, sizeof(guint32))),
            "()", &why);
        return reply ? 0
                     : vmmem_fail(error, EIO, "%s cannot move pid %d into %s: %s", sd(s)->manager,
                                  (int)pid, s->plan->scope, dbus_message(why));
    }
    r = run_job(s, "StartTransientUnit",
                g_variant_new("(ss@a(sv)@a(sa(sv)))", s->plan->scope, "fail",
                              properties(s->plan, pid),
                              g_variant_new_array(G_VARIANT_TYPE("(sa(sv))"), NULL, 0)),
                &result, &e);
    if (r == -EEXIST)
        return vmmem_fail(error, EEXIST,
                          "%s has a unit %s already: a VM of that name runs, or its unit is "
                          "loaded (systemctl%s status %s)",
                          sd(s)->manager, s->plan->scope, is_user(s->plan) ? " --user" : "",
                          s->plan->scope);
    if (r < 0)
        return vmmem_fail(error, -r, "%s cannot start %s: %s", sd(s)->manager, s->plan->scope,
                          e->message);
    if (strcmp(result, "done") != 0) {
        r = vmmem_fail(error, EIO, "%s could not start %s: its job ended '%s' (journalctl%s -u %s)",
                       sd(s)->manager, s->plan->scope, result, is_user(s->plan) ? " --user" : "",
                       s->plan->scope);
        undo_start(s, pid);
        return r;
    }
    r = started_unit_cgroup(s, pid, &path, error);
    if (r == 0)
        r = open_unit_cgroup(s, path, error);
    if (r == 0)
        r = finish_scope(s, s->plan, pid, error);
    if (r < 0)
        undo_start(s, pid);
    return r;
}

static int
require_started(const CgroupScope *s, GError **error)
{
    if (sd(s)->fs)
        return 0;
    return vmmem_fail(error, EBADF,
                      "the unit %s is not running: systemd makes the scope when its first process "
                      "joins (attach one)",
                      s->plan->scope);
}

static int
sd_destroy(CgroupScope *s, bool kill, GError **error)
{
    bool empty = true;
    int r;

    if (!sd(s)->bus)
        return vmmem_fail(error, EBADF, "the scope was not created");
    if (!sd(s)->fs)
        return 0; /* never started: nothing to remove */
    /* The caller's own unit goes when the caller exits (CollectMode=inactive-or-failed). */
    if (caller_inside(s)) {
        g_clear_pointer(&sd(s)->fs, cgroup_scope_free);
        return 0;
    }
    if (!kill) {
        g_autofree char *events = NULL;
        r = cgroup_backend_fs.read_file(sd(s)->fs, "cgroup.events", &events, NULL);
        empty = r < 0 || strstr(events, "populated 0") != NULL;
    }
    if (!empty)
        return vmmem_fail(error, EBUSY, "cannot remove %s: processes still run in it",
                          s->plan->scope);
    if (kill)
        (void)sd_call_void(s, "KillUnit", g_variant_new("(ssi)", s->plan->scope, "all", SIGKILL));
    r = stop_unit(s, error);
    if (r < 0)
        return r;
    g_clear_pointer(&sd(s)->fs, cgroup_scope_free);
    return 0;
}

static int
sd_read_usage(CgroupScope *s, uint64_t *ret_current, uint64_t *ret_peak, uint64_t *ret_oom_kills,
              GError **error)
{
    int r = require_started(s, error);
    return r < 0 ? r
                 : cgroup_backend_fs.read_usage(sd(s)->fs, ret_current, ret_peak, ret_oom_kills,
                                                error);
}

/* Units of vmmem's that ended failed and are still loaded (a unit made before
 * CollectMode=inactive-or-failed, or by hand): reset, which lets systemd unload them. */
static int
sd_gc(const char *parent, unsigned *ret_removed, GError **error)
{
    g_autoptr(CgroupPlan) plan = g_new0(CgroupPlan, 1);
    g_autoptr(CgroupScope) s = NULL;
    g_autoptr(GVariant) reply = NULL, units = NULL;
    GVariantIter iter;
    g_autoptr(GError) e = NULL;
    const char *name;
    unsigned removed = 0;
    int r;

    plan->manager = geteuid() == 0 ? CGROUP_MANAGER_SYSTEMD : CGROUP_MANAGER_SYSTEMD_USER;
    plan->uid = geteuid();
    plan->scope = g_strdup("vmmem-*.scope");
    s = cgroup_scope_new(&cgroup_backend_systemd, g_steal_pointer(&plan));
    r = sd_connect(s, error);
    if (r < 0)
        return r;
    reply = sd_call(s, SD_PATH, SD_MANAGER, "ListUnitsByPatterns",
                    g_variant_new("(@as@as)", g_variant_new_strv((const char *[]){"failed"}, 1),
                                  g_variant_new_strv((const char *[]){"vmmem-*.scope"}, 1)),
                    "(a(ssssssouso))", &e);
    if (!reply)
        return vmmem_fail(error, EIO, "%s: ListUnitsByPatterns: %s", sd(s)->manager,
                          dbus_message(e));
    units = g_variant_get_child_value(reply, 0);
    g_variant_iter_init(&iter, units);
    while (g_variant_iter_next(&iter, "(&s&s&s&s&s&s&ou&s&o)", &name, NULL, NULL, NULL, NULL, NULL,
                               NULL, NULL, NULL, NULL)) {
        if (sd_call_void(s, "ResetFailedUnit", g_variant_new("(s)", name)))
            removed++;
    }
    *ret_removed = removed;
    return 0;
}

static int
sd_open(CgroupScope *s, GError **error)
{
    g_autofree char *path = NULL;
    int r = sd_connect(s, error);

    if (r == 0)
        r = query_unit_cgroup(s, &path, error);
    if (r == 0)
        r = open_unit_cgroup(s, path, error);
    return r;
}

static int
set_properties(CgroupScope *s, const CgroupPlan *plan, GError **error)
{
    g_autoptr(GVariant) all = properties(plan, 0);
    g_autoptr(GVariant) reply = NULL;
    g_autoptr(GError) e = NULL;
    GVariantBuilder b;
    GVariantIter iter;
    const char *name;
    GVariant *v;

    /* Only the limits: the rest is fixed at start. */
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(sv)"));
    g_variant_iter_init(&iter, all);
    while (g_variant_iter_next(&iter, "(&s@v)", &name, &v)) {
        if (is_limit_property(name))
            g_variant_builder_add(&b, "(s@v)", name, v);
        g_variant_unref(v);
    }
    reply = sd_call(s, SD_PATH, SD_MANAGER, "SetUnitProperties",
                    g_variant_new("(sb@a(sv))", s->plan->scope, TRUE, g_variant_builder_end(&b)),
                    "()", &e);
    if (!reply)
        return vmmem_fail(error, EIO, "%s cannot set the limits of %s: %s", sd(s)->manager,
                          s->plan->scope, dbus_message(e));
    return 0;
}

static int
sd_update(CgroupScope *s, CgroupPlan *plan, GError **error)
{
    int r = require_started(s, error);

    if (r == 0)
        r = cgroup_fs_check_fits(sd(s)->fs, plan, error);
    if (r < 0) {
        cgroup_plan_free(plan);
        return r;
    }
    g_free(plan->parent);
    plan->parent = g_strdup(s->plan->parent);
    g_free(plan->path);
    plan->path = g_strdup(s->plan->path);
    r = set_properties(s, plan, error);
    if (r == 0)
        r = finish_scope(s, plan, 0, error);
    if (r < 0) {
        (void)set_properties(s, s->plan, NULL); /* back to the limits it had */
        cgroup_plan_free(plan);
        return r;
    }
    cgroup_plan_free(s->plan);
    s->plan = plan;
    return 0;
}

/* The leaf, where the VM's processes live: the scope hands its controllers down, so the kernel
 * refuses processes in it, and a clone3(CLONE_INTO_CGROUP) child belongs beside qemu. */
static int
sd_get_fd(CgroupScope *s, int *ret_fd, GError **error)
{
    int r = require_started(s, error);
    return r < 0 ? r : open_leaf(s, ret_fd, error);
}

static int
sd_read_file(const CgroupScope *s, const char *file, char **ret_text, GError **error)
{
    int r = require_started(s, error);
    return r < 0 ? r : cgroup_backend_fs.read_file(sd(s)->fs, file, ret_text, error);
}

static int
sd_watch(CgroupScope *s, const char *file, int *ret_fd, GError **error)
{
    int r = require_started(s, error);
    return r < 0 ? r : cgroup_backend_fs.watch(sd(s)->fs, file, ret_fd, error);
}

static int
sd_adopt(CgroupScope *s, GError **error)
{
    return vmmem_fail(error, ENOTSUP, "the systemd backend makes scopes; it adopts none");
}

const CgroupBackend cgroup_backend_systemd = {
    .name = "systemd",
    .new_priv = sd_new_priv,
    .free_priv = sd_free_priv,
    .create = sd_create,
    .adopt = sd_adopt,
    .attach = sd_attach,
    .destroy = sd_destroy,
    .read_usage = sd_read_usage,
    .gc = sd_gc,
    .open = sd_open,
    .update = sd_update,
    .get_fd = sd_get_fd,
    .read_file = sd_read_file,
    .watch = sd_watch,
};
