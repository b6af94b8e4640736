/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public scope API: stages 5-6 behind vmmem_scope, and the state that keeps a scope's calls
 * in order (plan, then create or open, then the rest). */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "config.h"
#include "error.h"
#include "host.h"
#include "memory-files.h"
#include "vmmem-private.h"
#include "vmmem/vmmem.h"

#define SCOPE_BACKEND_FLAGS (VMMEM_SCOPE_BACKEND_CGROUPFS | VMMEM_SCOPE_BACKEND_SYSTEMD)
#define SCOPE_NEW_FLAGS                                                                            \
    (VMMEM_SCOPE_DRY_RUN | VMMEM_SCOPE_CALIBRATE | VMMEM_SCOPE_NAME_PID | SCOPE_BACKEND_FLAGS)
#define SCOPE_OPEN_FLAGS (VMMEM_SCOPE_DRY_RUN | VMMEM_SCOPE_OPEN_PATH | SCOPE_BACKEND_FLAGS)

/* Who makes the scope: the caller's flag, else the config's backend, else (auto) systemd where
 * it is PID 1: its manager, or the caller's own user manager when the caller is not root. */
static CgroupManager
manager_for(unsigned flags, const Config *config)
{
    BackendChoice choice = config->backend;

    if (flags & VMMEM_SCOPE_BACKEND_CGROUPFS)
        choice = BACKEND_CGROUPFS;
    else if (flags & VMMEM_SCOPE_BACKEND_SYSTEMD)
        choice = BACKEND_SYSTEMD;
    if (choice == BACKEND_AUTO)
        choice = host_local_systemd_booted() ? BACKEND_SYSTEMD : BACKEND_CGROUPFS;
    if (choice == BACKEND_CGROUPFS)
        return CGROUP_MANAGER_FS;
    return geteuid() == 0 ? CGROUP_MANAGER_SYSTEMD : CGROUP_MANAGER_SYSTEMD_USER;
}

static const CgroupBackend *
backend_for(unsigned flags, CgroupManager manager)
{
    if (flags & VMMEM_SCOPE_DRY_RUN)
        return &cgroup_backend_dryrun;
    return manager == CGROUP_MANAGER_FS ? &cgroup_backend_fs : &cgroup_backend_systemd;
}

/* The plan of a scope of @manager's. */
static int
hand_to(CgroupPlan *plan, CgroupManager manager, const Config *config, GError **error)
{
    if (manager == CGROUP_MANAGER_FS)
        return 0;
    return cgroup_plan_use_systemd(plan, manager, config->slice, geteuid(), error);
}

/* getrandom(), not GLib's generator: a manager's forked children share that one's state. */
static int
random_vm_name(char **ret_name, GError **error)
{
    uint64_t v;

    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        return vmmem_fail(error, errno ? errno : EIO, "getrandom: %s", g_strerror(errno));
    *ret_name = g_strdup_printf("vm-%016" G_GINT64_MODIFIER "x", (guint64)v);
    return 0;
}

/* What vmmem_scope_get_property() lists: the unit's properties as the plan has them now. */
static void
refresh_properties(vmmem_scope *s)
{
    g_clear_pointer(&s->properties, g_ptr_array_unref);
    if (s->scope->plan->manager != CGROUP_MANAGER_FS)
        s->properties = cgroup_plan_systemd_properties(s->scope->plan);
}

/* The calls that need a cgroup: one made by create or found by open, not yet destroyed. */
static int
require_live(const vmmem_scope *s, GError **error)
{
    switch (s->state) {
    case SCOPE_LIVE:
        return 0;
    case SCOPE_PLANNED:
        return vmmem_fail(error, EBADF, "the scope '/%s' was not created", s->scope->plan->path);
    case SCOPE_GONE:
    default:
        return vmmem_fail(error, EBADF, "the scope '/%s' was destroyed", s->scope->plan->path);
    }
}

int
vmmem_scope_new(const vmmem_envelope *envelope, const vmmem_config *config, const char *name,
                unsigned flags, vmmem_scope **ret_scope, vmmem_error **reterr)
{
    g_autoptr(Config) defaults = NULL;
    g_autofree char *fallback = NULL;
    g_autoptr(CgroupPlan) plan = NULL;
    CgroupManager manager;
    GError *error = NULL;

    return_val_if_fail(envelope && ret_scope && !(flags & ~(unsigned)SCOPE_NEW_FLAGS) &&
                           (flags & SCOPE_BACKEND_FLAGS) != SCOPE_BACKEND_FLAGS,
                       -EINVAL);
    if (!config)
        defaults = config_new_default();
    manager = manager_for(flags, config ? config->config : defaults);
    if (!name)
        name = envelope->envelope->vm_name;
    if (!name && (flags & VMMEM_SCOPE_NAME_PID))
        name = fallback = g_strdup_printf("pid-%d", (int)getpid());
    if (!name) {
        if (random_vm_name(&fallback, &error) < 0)
            return export_error(error, -1, reterr);
        name = fallback;
    }
    if (((flags & VMMEM_SCOPE_CALIBRATE) ? cgroup_plan_new_calibrate : cgroup_plan_new)(
            envelope->envelope, config ? config->config : defaults, name, &plan, &error) < 0 ||
        hand_to(plan, manager, config ? config->config : defaults, &error) < 0)
        return export_error(error, -1, reterr);
    *ret_scope = g_new0(vmmem_scope, 1);
    (*ret_scope)->scope = cgroup_scope_new(backend_for(flags, manager), g_steal_pointer(&plan));
    (*ret_scope)->state = SCOPE_PLANNED;
    (*ret_scope)->events_fd = -1;
    refresh_properties(*ret_scope);
    return 0;
}

const char *
vmmem_scope_get_path(const vmmem_scope *s)
{
    return s ? s->scope->plan->path : NULL;
}

size_t
vmmem_scope_get_n_writes(const vmmem_scope *s)
{
    return s ? s->scope->plan->parent_writes->len + s->scope->plan->writes->len : 0;
}

int
vmmem_scope_get_write(const vmmem_scope *s, size_t index, const char **ret_file,
                      const char **ret_value)
{
    const CgroupWrite *w;

    return_val_if_fail(s, -EINVAL);
    if (index >= vmmem_scope_get_n_writes(s))
        return -ERANGE;
    if (index < s->scope->plan->parent_writes->len)
        w = g_ptr_array_index(s->scope->plan->parent_writes, index);
    else
        w = g_ptr_array_index(s->scope->plan->writes, index - s->scope->plan->parent_writes->len);
    if (ret_file)
        *ret_file = w->file;
    if (ret_value)
        *ret_value = w->value;
    return 0;
}

int
vmmem_scope_create(vmmem_scope *s, unsigned flags, vmmem_error **reterr)
{
    GError *error = NULL;

    return_val_if_fail(s && flags == 0, -EINVAL);
    if (s->state != SCOPE_PLANNED)
        return export_error(
            g_error_new(VMMEM_ERROR, EALREADY, "the scope '/%s' was already %s by this object",
                        s->scope->plan->path,
                        s->state == SCOPE_LIVE ? "created" : "created and destroyed"),
            -1, reterr);
    if (s->scope->backend->create(s->scope, &error) < 0)
        return export_error(error, -1, reterr);
    s->state = SCOPE_LIVE;
    return 0;
}

int
vmmem_scope_attach_pid(vmmem_scope *s, pid_t pid, unsigned flags, vmmem_error **reterr)
{
    GError *error = NULL;

    return_val_if_fail(s && pid >= 0 && flags == 0, -EINVAL);
    if (require_live(s, &error) < 0 || s->scope->backend->attach(s->scope, pid, &error) < 0)
        return export_error(error, -1, reterr);
    return 0;
}

int
vmmem_scope_destroy(vmmem_scope *s, unsigned flags, vmmem_error **reterr)
{
    GError *error = NULL;

    return_val_if_fail(s && !(flags & ~(unsigned)VMMEM_SCOPE_DESTROY_KILL), -EINVAL);
    if (require_live(s, &error) < 0 ||
        s->scope->backend->destroy(s->scope, flags & VMMEM_SCOPE_DESTROY_KILL, &error) < 0)
        return export_error(error, -1, reterr);
    s->state = SCOPE_GONE;
    return 0;
}

int
vmmem_scope_read_usage(const vmmem_scope *s, uint64_t *ret_current, uint64_t *ret_peak,
                       uint64_t *ret_oom_kills, vmmem_error **reterr)
{
    uint64_t c, p, k;
    GError *error = NULL;

    return_val_if_fail(s, -EINVAL);
    if (s->scope->backend->read_usage(s->scope, &c, &p, &k, &error) < 0)
        return export_error(error, -1, reterr);
    if (ret_current)
        *ret_current = c;
    if (ret_peak)
        *ret_peak = p;
    if (ret_oom_kills)
        *ret_oom_kills = k;
    return 0;
}

vmmem_scope *
vmmem_scope_free(vmmem_scope *s)
{
    if (s) {
        if (s->events_fd >= 0)
            close(s->events_fd);
        cgroup_scope_free(s->scope);
        if (s->properties)
            g_ptr_array_unref(s->properties);
        g_free(s);
    }
    return NULL;
}

int
vmmem_scope_get_fd(const vmmem_scope *s, unsigned flags, int *ret_fd, vmmem_error **reterr)
{
    GError *error = NULL;
    int fd;

    return_val_if_fail(s && ret_fd && flags == 0, -EINVAL);
    if (require_live(s, &error) < 0 || s->scope->backend->get_fd(s->scope, &fd, &error) < 0)
        return export_error(error, -1, reterr);
    *ret_fd = fd;
    return 0;
}

int
vmmem_scope_open(const char *name, const vmmem_config *config, unsigned flags,
                 vmmem_scope **ret_scope, vmmem_error **reterr)
{
    g_autoptr(Config) defaults = NULL;
    g_autoptr(CgroupScope) scope = NULL;
    g_autoptr(CgroupPlan) plan = NULL;
    CgroupManager manager;
    GError *error = NULL;

    return_val_if_fail(name && ret_scope && !(flags & ~(unsigned)SCOPE_OPEN_FLAGS) &&
                           (flags & SCOPE_BACKEND_FLAGS) != SCOPE_BACKEND_FLAGS,
                       -EINVAL);
    if (!config)
        defaults = config_new_default();
    manager = manager_for(flags, config ? config->config : defaults);
    if (cgroup_plan_new_open(config ? config->config : defaults, name,
                             flags & VMMEM_SCOPE_OPEN_PATH, &plan, &error) < 0 ||
        hand_to(plan, manager, config ? config->config : defaults, &error) < 0)
        return export_error(error, -1, reterr);
    scope = cgroup_scope_new(backend_for(flags, manager), g_steal_pointer(&plan));
    if (scope->backend->open(scope, &error) < 0)
        return export_error(error, -1, reterr);
    *ret_scope = g_new0(vmmem_scope, 1);
    (*ret_scope)->scope = g_steal_pointer(&scope);
    (*ret_scope)->state = SCOPE_LIVE;
    (*ret_scope)->events_fd = -1;
    return 0;
}

int
vmmem_scope_update(vmmem_scope *s, const vmmem_envelope *envelope, unsigned flags,
                   vmmem_error **reterr)
{
    CgroupPlan *plan = NULL;
    GError *error = NULL;

    return_val_if_fail(s && envelope && flags == 0, -EINVAL);
    if (require_live(s, &error) < 0 ||
        cgroup_plan_new_update(envelope->envelope, s->scope->plan, &plan, &error) < 0 ||
        s->scope->backend->update(s->scope, plan, &error) < 0)
        return export_error(error, -1, reterr);
    refresh_properties(s);
    return 0;
}

static void
drain(int fd)
{
    char buf[4096];

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

int
vmmem_scope_read_events(vmmem_scope *s, unsigned flags, vmmem_memory_events *ret_events,
                        vmmem_error **reterr)
{
    vmmem_memory_events ev = {0};
    g_autofree char *text = NULL;
    GError *error = NULL;

    return_val_if_fail(s && ret_events && flags == 0, -EINVAL);
    if (require_live(s, &error) < 0)
        return export_error(error, -1, reterr);
    /* Emptied before the read: a change after it leaves the fd readable. */
    if (s->events_fd >= 0)
        drain(s->events_fd);
    if (s->scope->backend->read_file(s->scope, "memory.events", &text, &error) < 0)
        return export_error(error, -1, reterr);
    if (memory_events_parse(text, s->scope->plan->path, &ev, &error) < 0)
        return export_error(error, -1, reterr);
    *ret_events = ev;
    return 0;
}

int
vmmem_scope_get_events_fd(vmmem_scope *s, unsigned flags, int *ret_fd, vmmem_error **reterr)
{
    GError *error = NULL;

    return_val_if_fail(s && ret_fd && flags == 0, -EINVAL);
    if (require_live(s, &error) < 0)
        return export_error(error, -1, reterr);
    if (s->events_fd < 0 &&
        s->scope->backend->watch(s->scope, "memory.events", &s->events_fd, &error) < 0)
        return export_error(error, -1, reterr);
    *ret_fd = s->events_fd;
    return 0;
}

int
vmmem_scope_read_stat(const vmmem_scope *s, const char *key, uint64_t *ret_value,
                      vmmem_error **reterr)
{
    g_autofree char *text = NULL;
    GError *error = NULL;
    uint64_t v;
    int r;

    return_val_if_fail(s && key && ret_value, -EINVAL);
    if (require_live(s, &error) < 0 ||
        s->scope->backend->read_file(s->scope, "memory.stat", &text, &error) < 0)
        return export_error(error, -1, reterr);
    r = memory_keyed_value(text, key, &v);
    if (r < 0)
        return export_error(g_error_new(VMMEM_ERROR, -r, "memory.stat of '/%s': %s '%s'",
                                        s->scope->plan->path,
                                        r == -ENOENT ? "no key" : "bad value for", key),
                            -1, reterr);
    *ret_value = v;
    return 0;
}

int
vmmem_scope_read_pressure(const vmmem_scope *s, unsigned flags, vmmem_pressure *ret_pressure,
                          vmmem_error **reterr)
{
    const char *which = (flags & VMMEM_PRESSURE_FULL) ? "full " : "some ";
    g_autofree char *text = NULL;
    GError *error = NULL;

    return_val_if_fail(s && ret_pressure && !(flags & ~(unsigned)VMMEM_PRESSURE_FULL), -EINVAL);
    if (require_live(s, &error) < 0)
        return export_error(error, -1, reterr);
    if (s->scope->backend->read_file(s->scope, "memory.pressure", &text, &error) < 0) {
        /* Missing with CONFIG_PSI off; unreadable (EOPNOTSUPP) when booted psi=0. */
        if (vmmem_error_errno(error) == ENOENT || vmmem_error_errno(error) == EOPNOTSUPP) {
            g_clear_error(&error);
            error = g_error_new(VMMEM_ERROR, EOPNOTSUPP,
                                "the kernel keeps no memory pressure figures for '/%s' (boot "
                                "with psi=1)",
                                s->scope->plan->path);
        }
        return export_error(error, -1, reterr);
    }
    if (memory_pressure_parse(text, which, ret_pressure))
        return 0;
    return export_error(g_error_new(VMMEM_ERROR, EIO, "memory.pressure of '/%s' has no %sline",
                                    s->scope->plan->path, which),
                        -1, reterr);
}

int
vmmem_gc(const vmmem_config *config, unsigned flags, unsigned *ret_removed, vmmem_error **reterr)
{
    g_autoptr(Config) defaults = NULL;
    GError *error = NULL;
    unsigned removed = 0;
    const Config *c;

    return_val_if_fail(!(flags & ~(unsigned)SCOPE_BACKEND_FLAGS) &&
                           (flags & SCOPE_BACKEND_FLAGS) != SCOPE_BACKEND_FLAGS,
                       -EINVAL);
    if (!config)
        defaults = config_new_default();
    c = config ? config->config : defaults;
    /* Scopes made on cgroupfs, before or beside systemd's, and systemd's failed units. */
    if (cgroup_backend_fs.gc(c->parent, &removed, &error) < 0)
        return export_error(error, -1, reterr);
    if (manager_for(flags, c) != CGROUP_MANAGER_FS) {
        unsigned reset = 0;
        if (cgroup_backend_systemd.gc(c->slice, &reset, &error) < 0)
            return export_error(error, -1, reterr);
        removed += reset;
    }
    if (ret_removed)
        *ret_removed = removed;
    return 0;
}

const char *
vmmem_scope_get_backend(const vmmem_scope *s)
{
    return s ? cgroup_manager_name(s->scope->plan->manager) : NULL;
}

const char *
vmmem_scope_get_unit(const vmmem_scope *s)
{
    return s && s->scope->plan->manager != CGROUP_MANAGER_FS ? s->scope->plan->scope : NULL;
}

size_t
vmmem_scope_get_n_properties(const vmmem_scope *s)
{
    return s && s->properties ? s->properties->len : 0;
}

int
vmmem_scope_get_property(const vmmem_scope *s, size_t index, const char **ret_name,
                         const char **ret_value)
{
    const CgroupWrite *w;

    return_val_if_fail(s, -EINVAL);
    if (index >= vmmem_scope_get_n_properties(s))
        return -ERANGE;
    w = g_ptr_array_index(s->properties, index);
    if (ret_name)
        *ret_name = w->file;
    if (ret_value)
        *ret_value = w->value;
    return 0;
}
