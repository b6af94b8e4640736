/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <unistd.h>

#include "cgroup-backend.h"

CgroupScope *
cgroup_scope_new(const CgroupBackend *backend, CgroupPlan *plan)
{
    CgroupScope *s = g_new0(CgroupScope, 1);

    s->backend = backend;
    s->plan = plan;
    s->root_fd = s->parent_fd = s->scope_fd = s->watch_fd = -1;
    s->actions = g_ptr_array_new_with_free_func(g_free);
    s->kept = g_ptr_array_new_with_free_func(g_free);
    return s;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

CgroupScope *
cgroup_scope_free(CgroupScope *s)
{
    if (!s)
        return NULL;
    /* Closing the scope fd drops its lock; an empty scope itself stays for `vmmem gc` or the
     * next launch of the same name. */
    close_fd(&s->watch_fd);
    close_fd(&s->scope_fd);
    close_fd(&s->parent_fd);
    close_fd(&s->root_fd);
    cgroup_plan_free(s->plan);
    g_free(s->mount);
    g_free(s->origin);
    g_ptr_array_unref(s->actions);
    g_ptr_array_unref(s->kept);
    g_free(s);
    return NULL;
}
