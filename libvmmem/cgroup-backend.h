/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup-plan.h"
#include "config.h"

/* Stage 6: the only code that touches the system.  One table per backend, chosen once
 * (crun's libcrun_cgroup_manager, libvirt's virCgroupBackend). */

typedef struct CgroupScope CgroupScope;

typedef struct {
    const char *name;
    /* The backend's own state of a scope (fds, D-Bus objects), made with the scope and freed
     * with it: CgroupScope.priv.  NULL: none. */
    void *(*new_priv)(void);
    void (*free_priv)(void *priv);
    /* Create the scope and apply the plan; on failure leave nothing behind. */
    int (*create)(CgroupScope *scope, GError **error);
    /* Existing plans: apply to the cgroup someone else made, keeping their limits (listed in
     * scope->kept); on failure restore what was changed. */
    int (*adopt)(CgroupScope *scope, GError **error);
    /* Move @pid (already resolved, never 0) into the scope. */
    int (*attach)(CgroupScope *scope, pid_t pid, GError **error);
    int (*destroy)(CgroupScope *scope, bool kill, GError **error);
    int (*read_usage)(CgroupScope *scope, uint64_t *ret_current, uint64_t *ret_peak,
                      uint64_t *ret_oom_kills, GError **error);
    /* Remove empty scopes under @parent that no process holds (see lock below). */
    int (*gc)(const char *parent, unsigned *ret_removed, GError **error);
    /* Reopen the existing scope at plan->path (a manager that restarted) and lock it as its
     * owner; -EBUSY while another object or process holds it. */
    int (*open)(CgroupScope *scope, GError **error);
    /* Apply @plan's writes to the live scope, after its own; @plan is taken, and becomes the
     * scope's on success.  Never sets memory.max under memory.current. */
    int (*update)(CgroupScope *scope, CgroupPlan *plan, GError **error);
    /* A new O_DIRECTORY|O_CLOEXEC fd on the scope, the caller's to close. */
    int (*get_fd)(CgroupScope *scope, int *ret_fd, GError **error);
    /* The whole text of one of the scope's files. */
    int (*read_file)(const CgroupScope *scope, const char *file, char **ret_text, GError **error);
    /* An inotify fd (non-blocking) that becomes readable when @file of the scope changes. */
    int (*watch)(CgroupScope *scope, const char *file, int *ret_fd, GError **error);
} CgroupBackend;

struct CgroupScope {
    const CgroupBackend *backend;
    CgroupPlan *plan;
    void *priv;      /* the backend's (new_priv): nobody else looks inside */
    GPtrArray *kept; /* adopt: "memory.max=536870912" for each limit left as its owner set it */

    /* dry-run backend: what would have been done, one line each */
    GPtrArray *actions;
};

extern const CgroupBackend cgroup_backend_fs;
extern const CgroupBackend cgroup_backend_dryrun;
extern const CgroupBackend cgroup_backend_systemd;

/* @plan's memory.max against what the cgroupfs scope @s uses now: -EBUSY with a message when it
 * is below (the kernel would reclaim and OOM-kill until usage fit).  Any backend's update. */
int cgroup_fs_check_fits(CgroupScope *s, const CgroupPlan *plan, GError **error);

/* Takes ownership of @plan. */
CgroupScope *cgroup_scope_new(const CgroupBackend *backend, CgroupPlan *plan);
CgroupScope *cgroup_scope_free(CgroupScope *scope);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CgroupScope, cgroup_scope_free)
