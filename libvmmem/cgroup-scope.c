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
    s->priv = backend->new_priv ? backend->new_priv() : NULL;
    s->actions = g_ptr_array_new_with_free_func(g_free);
    s->kept = g_ptr_array_new_with_free_func(g_free);
    return s;
}

CgroupScope *
cgroup_scope_free(CgroupScope *s)
{
    if (!s)
        return NULL;
    if (s->priv)
        s->backend->free_priv(s->priv);
    cgroup_plan_free(s->plan);
    g_ptr_array_unref(s->actions);
    g_ptr_array_unref(s->kept);
    g_free(s);
    return NULL;
}
