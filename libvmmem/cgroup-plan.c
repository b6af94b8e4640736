/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage 5: the scope's path and the ordered writes that set its limits.  Pure. */
#include <limits.h>
#include <string.h>

#include "cgroup-plan.h"
#include "error.h"
#include "quote.h"
#include "size.h"

#define SCOPE_PREFIX "vmmem-"
#define SCOPE_SUFFIX ".scope"
#define VM_NAME_MAX  200

/* A calibration measures what the VM uses, so its scope must not shape that: room for four
 * times the model's overhead, and at least 1 GiB, beyond guest RAM.  A VM that fills even this
 * is reported as such (memory.events), not measured. */
#define CALIBRATE_OVERHEAD_FACTOR 4
#define CALIBRATE_ROOM_MIN        GiB

static bool
is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static bool
has_control(const char *s)
{
    for (; *s; s++) {
        if (is_control((unsigned char)*s))
            return true;
    }
    return false;
}

/* systemd's unit-name escaping (unit_name_escape()) minus its '-' rule: '-' is systemd's slice
 * separator but means nothing here.  '\' is always escaped, so no raw name can spell out the
 * escape of another, and the mapping stays one to one. */
static bool
passes_through(unsigned char c, bool leading)
{
    if (leading && c == '.')
        return false; /* a hidden directory */
    return g_ascii_isalnum(c) || c == ':' || c == '_' || c == '.' || c == '-';
}

int
cgroup_plan_scope_name(const char *vm_name, char **ret_scope, GError **error)
{
    g_autoptr(GString) scope = NULL;
    size_t len = vm_name ? strlen(vm_name) : 0;

    if (len == 0)
        return vmmem_fail(error, EINVAL, "the VM name is empty");
    if (len > VM_NAME_MAX)
        return vmmem_fail(error, EINVAL, "the VM name is longer than %d bytes", VM_NAME_MAX);
    if (strcmp(vm_name, ".") == 0 || strcmp(vm_name, "..") == 0)
        return vmmem_fail(error, EINVAL, "'%s' is not a usable VM name", vm_name);
    if (strchr(vm_name, '/'))
        return vmmem_fail(error, EINVAL, "invalid VM name '%s': it contains '/'", vm_name);
    if (has_control(vm_name)) {
        g_autofree char *shown = quote_for_message(vm_name, QUOTE_MAX);
        return vmmem_fail(error, EINVAL, "invalid VM name '%s': it contains control characters",
                          shown);
    }

    scope = g_string_new(SCOPE_PREFIX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)vm_name[i];
        if (passes_through(c, i == 0))
            g_string_append_c(scope, (char)c);
        else
            g_string_append_printf(scope, "\\x%02x", c);
    }
    g_string_append(scope, SCOPE_SUFFIX);
    /* Escaping can quadruple a name; the cgroup is one directory entry. */
    if (scope->len > NAME_MAX)
        return vmmem_fail(error, EINVAL, "the VM name is too long once escaped (%zu > %d bytes)",
                          scope->len, NAME_MAX);
    *ret_scope = g_string_free(g_steal_pointer(&scope), FALSE);
    return 0;
}

bool
cgroup_scope_name_is_ours(const char *name)
{
    return g_str_has_prefix(name, SCOPE_PREFIX) && g_str_has_suffix(name, SCOPE_SUFFIX) &&
           strlen(name) > strlen(SCOPE_PREFIX SCOPE_SUFFIX);
}

int
cgroup_plan_check_parent(const char *parent, GError **error)
{
    g_auto(GStrv) parts = NULL;

    if (!parent || !*parent)
        return vmmem_fail(error, EINVAL, "the cgroup parent is empty");
    if (has_control(parent)) {
        g_autofree char *shown = quote_for_message(parent, QUOTE_MAX);
        return vmmem_fail(error, EINVAL, "the cgroup parent '%s' contains control characters",
                          shown);
    }
    if (strlen(parent) >= PATH_MAX)
        return vmmem_fail(error, EINVAL, "the cgroup parent is longer than %d bytes", PATH_MAX - 1);
    if (parent[0] == '/')
        return vmmem_fail(error, EINVAL,
                          "the cgroup parent '%s' must be relative to the cgroup2 mount "
                          "(no leading '/')",
                          parent);
    parts = g_strsplit(parent, "/", -1);
    for (size_t i = 0; parts[i]; i++) {
        if (!*parts[i] || strcmp(parts[i], ".") == 0 || strcmp(parts[i], "..") == 0)
            return vmmem_fail(error, EINVAL,
                              "the cgroup parent '%s' has an empty, '.' or '..' component", parent);
        if (strlen(parts[i]) > NAME_MAX)
            return vmmem_fail(error, EINVAL,
                              "the cgroup parent '%s' has a component longer than %d bytes", parent,
                              NAME_MAX);
    }
    return 0;
}

static void
cgroup_write_free(gpointer p)
{
    CgroupWrite *w = p;

    g_free(w->file);
    g_free(w->value);
    g_free(w);
}

CgroupPlan *
cgroup_plan_free(CgroupPlan *plan)
{
    if (plan) {
        g_free(plan->parent);
        g_free(plan->slice);
        g_free(plan->scope);
        g_free(plan->path);
        if (plan->writes)
            g_ptr_array_unref(plan->writes);
        if (plan->parent_writes)
            g_ptr_array_unref(plan->parent_writes);
        if (plan->labels)
            g_ptr_array_unref(plan->labels);
        g_free(plan);
    }
    return NULL;
}

/* Takes @value. */
static void
add_write(GPtrArray *writes, const char *file, char *value, bool optional)
{
    CgroupWrite *w = g_new0(CgroupWrite, 1);

    w->file = g_strdup(file);
    w->value = value;
    w->optional = optional;
    g_ptr_array_add(writes, w);
}

static char *
bytes_or_max(uint64_t v)
{
    return v == UINT64_MAX ? g_strdup("max") : g_strdup_printf("%" G_GUINT64_FORMAT, v);
}

/* Order: oom.group first, so that a VM is never in a state where the OOM killer may take one of
 * its threads alone; protections; then the limits from the softest to memory.max.  Every limit
 * is written even when off so that a reused scope carries no stale value. */
static void
plan_writes(CgroupPlan *plan, const Envelope *e, bool reset_protection)
{
    add_write(plan->writes, "memory.oom.group", g_strdup(e->oom_group ? "1" : "0"), false);
    if (e->memory_min || reset_protection)
        add_write(plan->writes, "memory.min", bytes_or_max(e->memory_min), false);
    if (e->memory_low || reset_protection)
        add_write(plan->writes, "memory.low", bytes_or_max(e->memory_low), false);
    /* Without swap accounting the file is missing and there is no swap to limit. */
    add_write(plan->writes, "memory.swap.max", bytes_or_max(e->swap_max), e->swap_max == 0);
    add_write(plan->writes, "memory.high", bytes_or_max(e->memory_high), false);
    add_write(plan->writes, "memory.max", g_strdup_printf("%" G_GUINT64_FORMAT, e->memory_max),
              false);
}

/* @vm_name NULL: the VM's label is not written (an update keeps the one the scope has). */
static void
plan_labels(CgroupPlan *plan, const Envelope *e, const char *vm_name)
{
    if (vm_name)
        add_write(plan->labels, CGROUP_LABEL_VM, g_strdup(vm_name), false);
    add_write(plan->labels, CGROUP_LABEL_GUEST_RAM,
              g_strdup_printf("%" G_GUINT64_FORMAT, e->guest_ram), false);
    add_write(plan->labels, CGROUP_LABEL_OVERHEAD,
              g_strdup_printf("%" G_GUINT64_FORMAT, e->overhead), false);
}

static void
plan_parent_writes(CgroupPlan *plan, const Envelope *e)
{
    if (e->memory_min)
        add_write(plan->parent_writes, "../memory.min", g_strdup("max"), false);
    if (e->memory_low)
        add_write(plan->parent_writes, "../memory.low", g_strdup("max"), false);
}

/* @limits: the envelope whose limits the scope gets; @envelope: the one its labels describe. */
static int
new_scope_plan(const Envelope *limits, const Envelope *envelope, const Config *config,
               const char *vm_name, CgroupPlan **ret_plan, GError **error)
{
    g_autoptr(CgroupPlan) plan = NULL;
    const char *parent = config ? config->parent : VMMEM_DEFAULT_PARENT;
    g_autofree char *scope = NULL;
    int r;

    if (limits->probe)
        return vmmem_fail(error, EINVAL, "a probe command line has no envelope and no scope");
    r = cgroup_plan_check_parent(parent, error);
    if (r < 0)
        return r;
    r = cgroup_plan_scope_name(vm_name, &scope, error);
    if (r < 0)
        return r;

    plan = g_new0(CgroupPlan, 1);
    plan->parent = g_strdup(parent);
    plan->parent_is_default = strcmp(parent, VMMEM_DEFAULT_PARENT) == 0;
    plan->path = g_strconcat(parent, "/", scope, NULL);
    plan->scope = g_steal_pointer(&scope);
    plan->writes = g_ptr_array_new_with_free_func(cgroup_write_free);
    plan->parent_writes = g_ptr_array_new_with_free_func(cgroup_write_free);
    plan->labels = g_ptr_array_new_with_free_func(cgroup_write_free);
    plan_writes(plan, limits, false);
    if (plan->parent_is_default)
        plan_parent_writes(plan, limits);
    plan_labels(plan, envelope, vm_name);
    *ret_plan = g_steal_pointer(&plan);
    return 0;
}

int
cgroup_plan_new(const Envelope *envelope, const Config *config, const char *vm_name,
                CgroupPlan **ret_plan, GError **error)
{
    return new_scope_plan(envelope, envelope, config, vm_name, ret_plan, error);
}

/* Whole 4 KiB pages; -ERANGE past 64 bits. */
static int
calibrate_max(const Envelope *envelope, uint64_t *ret_max, GError **error)
{
    uint64_t room, sum, max;

    if (!g_uint64_checked_mul(&room, envelope->overhead, CALIBRATE_OVERHEAD_FACTOR))
        room = UINT64_MAX;
    room = MAX(room, CALIBRATE_ROOM_MIN);
    if (!g_uint64_checked_add(&sum, envelope->guest_ram, room) ||
        !overhead_round_up_page(sum, &max))
        return vmmem_fail(error, ERANGE,
                          "the calibration memory.max (guest RAM + room) does not fit in 64 bits");
    *ret_max = max;
    return 0;
}

int
cgroup_plan_new_calibrate(const Envelope *envelope, const Config *config, const char *vm_name,
                          CgroupPlan **ret_plan, GError **error)
{
    /* Only the limits differ; the policy's high, swap and protection do not apply. */
    Envelope limits = {.probe = envelope->probe,
                       .guest_ram = envelope->guest_ram,
                       .memory_high = UINT64_MAX,
                       .oom_group = true};
    int r;

    if (!envelope->probe) {
        r = calibrate_max(envelope, &limits.memory_max, error);
        if (r < 0)
            return r;
    }
    return new_scope_plan(&limits, envelope, config, vm_name, ret_plan, error);
}

/* Kernel defaults of a new cgroup (cgroup-v2.rst): limits "max", protections 0, oom.group 0. */
static const char *
unset_value(const char *file)
{
    if (strcmp(file, "memory.min") == 0 || strcmp(file, "memory.low") == 0 ||
        strcmp(file, "memory.oom.group") == 0)
        return "0";
    return "max";
}

int
cgroup_plan_new_existing(const Envelope *envelope, const char *path, const char *vm_name,
                         CgroupPlan **ret_plan, GError **error)
{
    g_autoptr(CgroupPlan) plan = NULL;
    int r;

    if (envelope->probe)
        return vmmem_fail(error, EINVAL, "a probe command line has no envelope");
    r = cgroup_plan_check_parent(path, error);
    if (r < 0)
        return r;
    plan = g_new0(CgroupPlan, 1);
    plan->existing = true;
    plan->path = g_strdup(path);
    plan->writes = g_ptr_array_new_with_free_func(cgroup_write_free);
    plan->parent_writes = g_ptr_array_new_with_free_func(cgroup_write_free);
    plan->labels = g_ptr_array_new_with_free_func(cgroup_write_free);
    plan_writes(plan, envelope, false);
    for (guint i = 0; i < plan->writes->len; i++) {
        CgroupWrite *w = g_ptr_array_index(plan->writes, i);
        w->unset = unset_value(w->file);
    }
    plan_labels(plan, envelope, vm_name);
    *ret_plan = g_steal_pointer(&plan);
    return 0;
}

/* The scope's place, and no writes yet. */
static CgroupPlan *
plan_at(const char *parent, const char *scope)
{
    CgroupPlan *plan = g_new0(CgroupPlan, 1);

    plan->parent = g_strdup(parent);
    plan->parent_is_default = strcmp(parent, VMMEM_DEFAULT_PARENT) == 0;
    plan->scope = g_strdup(scope);
    plan->path = g_strconcat(parent, "/", scope, NULL);
    plan->writes = g_ptr_array_new_with_free_func(cgroup_write_free);
    plan->parent_writes = g_ptr_array_new_with_free_func(cgroup_write_free);
    plan->labels = g_ptr_array_new_with_free_func(cgroup_write_free);
    return plan;
}

int
cgroup_plan_new_open(const Config *config, const char *name, bool is_path, CgroupPlan **ret_plan,
                     GError **error)
{
    g_autofree char *scope = NULL, *parent = NULL;
    const char *slash;
    int r;

    if (!is_path) {
        parent = g_strdup(config ? config->parent : VMMEM_DEFAULT_PARENT);
        r = cgroup_plan_scope_name(name, &scope, error);
        if (r < 0)
            return r;
    } else {
        r = cgroup_plan_check_parent(name, error);
        if (r < 0)
            return r;
        slash = strrchr(name, '/');
        if (!slash)
            return vmmem_fail(error, EINVAL,
                              "'%s' is not a scope path (PARENT/vmmem-NAME.scope, relative to "
                              "the cgroup2 mount)",
                              name);
        parent = g_strndup(name, (size_t)(slash - name));
        scope = g_strdup(slash + 1);
        if (!cgroup_scope_name_is_ours(scope))
            return vmmem_fail(error, EINVAL, "'%s' is not a vmmem scope (vmmem-NAME.scope)", name);
    }
    r = cgroup_plan_check_parent(parent, error);
    if (r < 0)
        return r;
    *ret_plan = plan_at(parent, scope);
    return 0;
}

int
cgroup_plan_new_update(const Envelope *envelope, const CgroupPlan *current, CgroupPlan **ret_plan,
                       GError **error)
{
    CgroupPlan *plan;

    if (envelope->probe)
        return vmmem_fail(error, EINVAL, "a probe command line has no envelope");
    if (current->existing)
        return vmmem_fail(error, EINVAL, "only vmmem's own scopes can be updated");
    plan = plan_at(current->parent, current->scope);
    plan->manager = current->manager;
    plan->slice = g_strdup(current->slice);
    plan->uid = current->uid;
    plan_writes(plan, envelope, true);
    if (plan->parent_is_default)
        plan_parent_writes(plan, envelope);
    plan_labels(plan, envelope, NULL);
    *ret_plan = plan;
    return 0;
}

/* ---- systemd: the same scope as a transient unit ---- */

const char *
cgroup_manager_name(CgroupManager manager)
{
    switch (manager) {
    case CGROUP_MANAGER_SYSTEMD:
        return "systemd";
    case CGROUP_MANAGER_SYSTEMD_USER:
        return "systemd-user";
    case CGROUP_MANAGER_FS:
    default:
        return "cgroupfs";
    }
}

int
cgroup_plan_check_slice(const char *slice, GError **error)
{
    g_autofree char *shown = quote_for_message(slice ? slice : "", QUOTE_MAX);
    size_t n = slice ? strlen(slice) : 0;
    const char *stem_end;

    if (n <= strlen(".slice") || n > NAME_MAX || !g_str_has_suffix(slice, ".slice"))
        return vmmem_fail(error, EINVAL, "'%s' is not a slice unit name (NAME.slice)", shown);
    stem_end = slice + n - strlen(".slice");
    for (const char *c = slice; c < stem_end; c++) {
        bool word = g_ascii_isalnum(*c) || *c == ':' || *c == '_' || *c == '.';
        /* '-' nests slices ("a-b.slice" sits in "a.slice"): never first, last or doubled. */
        bool dash_ok = *c == '-' && c > slice && c + 1 < stem_end && c[1] != '-';
        if (!word && !dash_ok)
            return vmmem_fail(error, EINVAL,
                              "'%s' is not a slice unit name: use letters, digits, ':', '_', '.' "
                              "and single inner '-'",
                              shown);
    }
    return 0;
}

/* "a-b-c.slice" -> "a.slice/a-b.slice/a-b-c.slice": where systemd puts the slice's cgroup. */
static char *
slice_path(const char *slice)
{
    GString *path = g_string_new(NULL);
    const char *end = slice + strlen(slice) - strlen(".slice");

    for (const char *c = slice; c <= end; c++) {
        if (c == end || *c == '-') {
            if (path->len)
                g_string_append_c(path, '/');
            g_string_append_len(path, slice, c - slice);
            g_string_append(path, ".slice");
        }
    }
    return g_string_free(path, FALSE);
}

int
cgroup_plan_use_systemd(CgroupPlan *plan, CgroupManager manager, const char *slice, uid_t uid,
                        GError **error)
{
    g_autofree char *in_slice = NULL;
    int r;

    g_assert(manager != CGROUP_MANAGER_FS && !plan->existing);
    r = cgroup_plan_check_slice(slice, error);
    if (r < 0)
        return r;
    in_slice = slice_path(slice);
    g_free(plan->parent);
    if (manager == CGROUP_MANAGER_SYSTEMD_USER)
        plan->parent = g_strdup_printf("user.slice/user-%u.slice/user@%u.service/%s", (unsigned)uid,
                                       (unsigned)uid, in_slice);
    else
        plan->parent = g_steal_pointer(&in_slice);
    g_free(plan->path);
    plan->path = g_strconcat(plan->parent, "/", plan->scope, NULL);
    plan->parent_is_default = false;
    g_ptr_array_set_size(plan->parent_writes, 0);
    plan->manager = manager;
    g_free(plan->slice);
    plan->slice = g_strdup(slice);
    plan->uid = uid;
    return 0;
}

static const struct {
    const char *file, *property;
} memory_properties[] = {
    {"memory.min", "MemoryMin"},          {"memory.low", "MemoryLow"},
    {"memory.swap.max", "MemorySwapMax"}, {"memory.high", "MemoryHigh"},
    {"memory.max", "MemoryMax"},
};

static const char *
property_of(const char *file)
{
    for (size_t i = 0; i < G_N_ELEMENTS(memory_properties); i++) {
        if (strcmp(file, memory_properties[i].file) == 0)
            return memory_properties[i].property;
    }
    return NULL;
}

bool
cgroup_plan_file_is_property(const char *file)
{
    return property_of(file) != NULL;
}

GPtrArray *
cgroup_plan_systemd_properties(const CgroupPlan *plan)
{
    GPtrArray *props = g_ptr_array_new_with_free_func(cgroup_write_free);

    add_write(props, "Description", g_strdup_printf("vmmem envelope %s", plan->scope), false);
    add_write(props, "Slice", g_strdup(plan->slice), false);
    /* The scope's inside is vmmem's.  systemd 252 has no OOMPolicy= for scopes and writes
     * memory.oom.group = 0 on the scope's own cgroup at every daemon-reload (seen in the test
     * VM), so the VM's processes live in a leaf below it whose memory.oom.group is 1: the
     * kernel kills the whole group at the highest such cgroup under the one out of memory. */
    add_write(props, "Delegate", g_strdup("yes"), false);
    /* A scope whose VM was OOM-killed ends "failed": it must go all the same. */
    add_write(props, "CollectMode", g_strdup("inactive-or-failed"), false);
    add_write(props, "MemoryAccounting", g_strdup("yes"), false);
    for (guint i = 0; i < plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->writes, i);
        const char *prop = property_of(w->file);

        if (prop)
            add_write(props, prop, g_strdup(strcmp(w->value, "max") == 0 ? "infinity" : w->value),
                      false);
    }
    return props;
}

static CgroupWrite *
write_copy(const CgroupWrite *w)
{
    CgroupWrite *c = g_memdup2(w, sizeof(*w));

    c->file = g_strdup(w->file);
    c->value = g_strdup(w->value);
    return c;
}

CgroupPlan *
cgroup_plan_new_labels(const CgroupPlan *plan, const char *path)
{
    const char *slash = strrchr(path, '/');
    g_autofree char *parent = slash ? g_strndup(path, (size_t)(slash - path)) : g_strdup("");
    CgroupPlan *d = plan_at(parent, slash ? slash + 1 : path);

    for (guint i = 0; i < plan->labels->len; i++)
        g_ptr_array_add(d->labels, write_copy(g_ptr_array_index(plan->labels, i)));
    return d;
}
