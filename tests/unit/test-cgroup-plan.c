/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup plan: scope names (hostile ones included), parent paths, and the ordered writes. */
#include <glib.h>
#include <string.h>

#include "cgroup-plan.h"
#include "error.h"
#include "size.h"

typedef struct {
    const char *name;
    const char *scope; /* NULL: refused with -EINVAL */
} NameRow;

static const NameRow name_rows[] = {
    {"web1", "vmmem-web1.scope"},
    {"my-vm", "vmmem-my-vm.scope"},
    {"a.b_c:d", "vmmem-a.b_c:d.scope"},
    {"pid-123", "vmmem-pid-123.scope"},
    {"a b", "vmmem-a\\x20b.scope"},
    {".hidden", "vmmem-\\x2ehidden.scope"},
    {"..a", "vmmem-\\x2e.a.scope"},
    {"a..", "vmmem-a...scope"},
    /* A name that spells an escape cannot collide with the name it escapes. */
    {"x\\x20y", "vmmem-x\\x5cx20y.scope"},
    {"\\", "vmmem-\\x5c.scope"},
    {"caf\xc3\xa9", "vmmem-caf\\xc3\\xa9.scope"},
    {"\xff", "vmmem-\\xff.scope"},
    {"a*b?c[d]", "vmmem-a\\x2ab\\x3fc\\x5bd\\x5d.scope"},
    {"$(rm -rf)", "vmmem-\\x24\\x28rm\\x20-rf\\x29.scope"},
    {"", NULL},
    {".", NULL},
    {"..", NULL},
    {"../x", NULL},
    {"a/b", NULL},
    {"/", NULL},
    {"\n", NULL},
    {"a\tb", NULL},
    {"a\x7f", NULL},
    {"a\x1b[31m", NULL},
};

static void
test_name(gconstpointer data)
{
    const NameRow *row = data;
    g_autofree char *scope = NULL;
    g_autoptr(GError) error = NULL;
    int r = cgroup_plan_scope_name(row->name, &scope, &error);

    if (row->scope) {
        g_assert_no_error(error);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpstr(scope, ==, row->scope);
    } else {
        g_assert_cmpint(r, ==, -EINVAL);
        g_assert_error(error, VMMEM_ERROR, EINVAL);
        g_assert_null(scope);
        g_assert_null(strchr(error->message, '\n'));
    }
}

static void
test_name_null(void)
{
    g_autofree char *scope = NULL;

    g_assert_cmpint(cgroup_plan_scope_name(NULL, &scope, NULL), ==, -EINVAL);
    g_assert_null(scope);
}

static void
test_name_lengths(void)
{
    g_autofree char *max = g_strnfill(200, 'a');
    g_autofree char *over = g_strnfill(201, 'a');
    g_autoptr(GString) wide = g_string_new(NULL);
    g_autoptr(GString) fits = g_string_new(NULL);
    g_autofree char *scope = NULL;

    g_assert_cmpint(cgroup_plan_scope_name(max, &scope, NULL), ==, 0);
    g_assert_cmpuint(strlen(scope), ==, 212);
    g_clear_pointer(&scope, g_free);
    g_assert_cmpint(cgroup_plan_scope_name(over, &scope, NULL), ==, -EINVAL);

    /* 100 two-byte characters: 200 bytes, but 800 once escaped, beyond NAME_MAX. */
    for (int i = 0; i < 100; i++)
        g_string_append(wide, "\xc3\xa9");
    g_assert_cmpint(cgroup_plan_scope_name(wide->str, &scope, NULL), ==, -EINVAL);
    g_assert_null(scope);

    /* 60 escaped bytes (240) + prefix and suffix (12) = 252: still one directory entry. */
    for (int i = 0; i < 30; i++)
        g_string_append(fits, "\xc3\xa9");
    g_assert_cmpint(cgroup_plan_scope_name(fits->str, &scope, NULL), ==, 0);
    g_assert_cmpuint(strlen(scope), ==, 252);
}

/* Different names, different scopes: every pair of accepted rows. */
static void
test_names_distinct(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(name_rows); i++) {
        char *scope = NULL;
        if (!name_rows[i].scope)
            continue;
        g_assert_cmpint(cgroup_plan_scope_name(name_rows[i].name, &scope, NULL), ==, 0);
        g_assert_false(g_hash_table_contains(seen, scope));
        g_hash_table_add(seen, scope);
    }
}

typedef struct {
    const char *parent;
    bool ok;
} ParentRow;

static const ParentRow parent_rows[] = {
    {"vmmem.slice", true}, {"machine.slice/vms", true},
    {"a/b/c", true},       {"a-b.slice", true},
    {"", false},           {"/vmmem.slice", false},
    {"/", false},          {"a//b", false},
    {"a/", false},         {"./a", false},
    {"a/./b", false},      {"a/../b", false},
    {"..", false},         {"a\nb", false},
    {"a\x7f", false},
};

static void
test_parent(gconstpointer data)
{
    const ParentRow *row = data;
    g_autoptr(GError) error = NULL;
    int r = cgroup_plan_check_parent(row->parent, &error);

    if (row->ok) {
        g_assert_no_error(error);
        g_assert_cmpint(r, ==, 0);
    } else {
        g_assert_cmpint(r, ==, -EINVAL);
        g_assert_error(error, VMMEM_ERROR, EINVAL);
    }
}

static void
test_parent_lengths(void)
{
    g_autofree char *long_part = g_strnfill(256, 'a');
    g_autofree char *max_part = g_strnfill(255, 'a');

    g_assert_cmpint(cgroup_plan_check_parent(NULL, NULL), ==, -EINVAL);
    g_assert_cmpint(cgroup_plan_check_parent(max_part, NULL), ==, 0);
    g_assert_cmpint(cgroup_plan_check_parent(long_part, NULL), ==, -EINVAL);
}

typedef struct {
    const char *file;
    const char *value;
    bool optional;
} WriteRow;

typedef struct {
    const char *desc;
    Envelope envelope;
    WriteRow writes[8];
} PlanRow;

/* Every limit and a protection: the plan's longest list of writes. */
#define ENVELOPE_EVERYTHING                                                                        \
    {                                                                                              \
        .guest_ram = GiB, .memory_max = 1159979008, .memory_high = 1043980288,                     \
        .swap_max = 1073741824, .memory_low = GiB, .oom_group = true                               \
    }

static const PlanRow plan_rows[] = {
    {
        "defaults",
        {.guest_ram = GiB, .memory_max = 1159979008, .memory_high = UINT64_MAX, .oom_group = true},
        {{"memory.oom.group", "1", false},
         {"memory.swap.max", "0", true},
         {"memory.high", "max", false},
         {"memory.max", "1159979008", false}},
    },
    {
        "everything",
        ENVELOPE_EVERYTHING,
        {{"memory.oom.group", "1", false},
         {"memory.low", "1073741824", false},
         {"memory.swap.max", "1073741824", false},
         {"memory.high", "1043980288", false},
         {"memory.max", "1159979008", false}},
    },
    {
        "protect min",
        {.guest_ram = GiB,
         .memory_max = 1159979008,
         .memory_high = UINT64_MAX,
         .memory_min = GiB,
         .oom_group = true},
        {{"memory.oom.group", "1", false},
         {"memory.min", "1073741824", false},
         {"memory.swap.max", "0", true},
         {"memory.high", "max", false},
         {"memory.max", "1159979008", false}},
    },
};

static void
test_plan(gconstpointer data)
{
    const PlanRow *row = data;
    g_autoptr(Config) config = config_new_default();
    g_autoptr(CgroupPlan) plan = NULL;
    g_autoptr(GError) error = NULL;
    size_t n = 0;

    g_assert_cmpint(cgroup_plan_new(&row->envelope, config, "web1", &plan, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpstr(plan->parent, ==, "vmmem.slice");
    g_assert_true(plan->parent_is_default);
    g_assert_cmpstr(plan->scope, ==, "vmmem-web1.scope");
    g_assert_cmpstr(plan->path, ==, "vmmem.slice/vmmem-web1.scope");
    while (n < G_N_ELEMENTS(row->writes) && row->writes[n].file)
        n++;
    g_assert_cmpuint(plan->writes->len, ==, n);
    for (size_t i = 0; i < n; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->writes, i);
        g_assert_cmpstr(w->file, ==, row->writes[i].file);
        g_assert_cmpstr(w->value, ==, row->writes[i].value);
        g_assert_cmpint(w->optional, ==, row->writes[i].optional);
    }
    /* vmmem's own parent passes a protection on; nothing else is written there. */
    g_assert_cmpuint(plan->parent_writes->len, ==,
                     (row->envelope.memory_min ? 1 : 0) + (row->envelope.memory_low ? 1 : 0));
    for (guint i = 0; i < plan->parent_writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->parent_writes, i);
        g_assert_cmpstr(w->file, ==, row->envelope.memory_min ? "../memory.min" : "../memory.low");
        g_assert_cmpstr(w->value, ==, "max");
    }
}

static void
test_plan_parent(void)
{
    g_autoptr(Config) config = config_new_default();
    g_autoptr(CgroupPlan) plan = NULL;
    g_autoptr(CgroupPlan) plan2 = NULL;
    Envelope e = {
        .guest_ram = GiB, .memory_max = 2 * GiB, .memory_high = UINT64_MAX, .memory_min = GiB};

    g_assert_cmpint(config_set(config, "parent", "machine.slice/vms", NULL), ==, 0);
    g_assert_cmpint(cgroup_plan_new(&e, config, "a b", &plan, NULL), ==, 0);
    g_assert_cmpstr(plan->parent, ==, "machine.slice/vms");
    g_assert_false(plan->parent_is_default);
    g_assert_cmpstr(plan->path, ==, "machine.slice/vms/vmmem-a\\x20b.scope");
    /* A parent vmmem does not own is never written: its ancestors are its owner's to set. */
    g_assert_cmpuint(plan->parent_writes->len, ==, 0);

    /* No config: the default parent. */
    g_assert_cmpint(cgroup_plan_new(&e, NULL, "b", &plan2, NULL), ==, 0);
    g_assert_cmpstr(plan2->path, ==, "vmmem.slice/vmmem-b.scope");
    g_assert_true(plan2->parent_is_default);
}

static void
test_plan_refusals(void)
{
    g_autoptr(Config) config = config_new_default();
    g_autoptr(GError) error = NULL;
    CgroupPlan *plan = NULL;
    Envelope probe = {.probe = true};
    Envelope e = {.guest_ram = GiB, .memory_max = 2 * GiB, .memory_high = UINT64_MAX};

    g_assert_cmpint(cgroup_plan_new(&probe, config, "web1", &plan, &error), ==, -EINVAL);
    g_assert_error(error, VMMEM_ERROR, EINVAL);
    g_assert_null(plan);
    g_clear_error(&error);

    g_assert_cmpint(cgroup_plan_new(&e, config, "../escape", &plan, &error), ==, -EINVAL);
    g_assert_null(plan);
    g_clear_error(&error);

    /* A parent that bypassed config_set() is still checked. */
    g_free(config->parent);
    config->parent = g_strdup("../..");
    g_assert_cmpint(cgroup_plan_new(&e, config, "web1", &plan, &error), ==, -EINVAL);
    g_assert_null(plan);
}

typedef struct {
    const char *slice;
    const char *path; /* the system manager's scope path; NULL: refused */
} SliceRow;

static const SliceRow slice_rows[] = {
    {"machine.slice", "machine.slice/vmmem-web1.scope"},
    {"vms.slice", "vms.slice/vmmem-web1.scope"},
    {"machine-vms.slice", "machine.slice/machine-vms.slice/vmmem-web1.scope"},
    {"a-b-c.slice", "a.slice/a-b.slice/a-b-c.slice/vmmem-web1.scope"},
    {"a:b_c.d.slice", "a:b_c.d.slice/vmmem-web1.scope"},
    {"-.slice", NULL},
    {".slice", NULL},
    {"machine", NULL},
    {"machine.scope", NULL},
    {"-machine.slice", NULL},
    {"machine-.slice", NULL},
    {"a--b.slice", NULL},
    {"a/b.slice", NULL},
    {"a b.slice", NULL},
    {"a\\x2fb.slice", NULL},
    {"", NULL},
};

static void
test_slice(gconstpointer data)
{
    const SliceRow *row = data;
    Envelope e = {.guest_ram = GiB, .memory_max = 1159979008, .memory_high = UINT64_MAX};
    g_autoptr(Config) config = config_new_default();
    g_autoptr(CgroupPlan) plan = NULL;
    g_autoptr(GError) error = NULL;
    int r;

    g_assert_cmpint(cgroup_plan_new(&e, config, "web1", &plan, NULL), ==, 0);
    r = cgroup_plan_use_systemd(plan, CGROUP_MANAGER_SYSTEMD, row->slice, 0, &error);
    if (!row->path) {
        g_assert_cmpint(r, ==, -EINVAL);
        g_assert_error(error, VMMEM_ERROR, EINVAL);
        g_assert_cmpint(cgroup_plan_check_slice(row->slice, NULL), ==, -EINVAL);
        return;
    }
    g_assert_no_error(error);
    g_assert_cmpint(r, ==, 0);
    g_assert_cmpstr(plan->path, ==, row->path);
    g_assert_cmpstr(plan->slice, ==, row->slice);
    g_assert_cmpint(plan->manager, ==, CGROUP_MANAGER_SYSTEMD);
}

typedef struct {
    const char *desc;
    Envelope envelope;
    CgroupManager manager;
    uid_t uid;
    const char *path;
    WriteRow properties[12]; /* file = the property; optional unused */
    const char *delegated[3];
} SystemdRow;

static const SystemdRow systemd_rows[] = {
    {
        "defaults",
        {.guest_ram = GiB, .memory_max = 1159979008, .memory_high = UINT64_MAX, .oom_group = true},
        CGROUP_MANAGER_SYSTEMD,
        0,
        "machine.slice/vmmem-web1.scope",
        {{"Description", "vmmem envelope vmmem-web1.scope"},
         {"Slice", "machine.slice"},
         {"Delegate", "yes"},
         {"CollectMode", "inactive-or-failed"},
         {"MemoryAccounting", "yes"},
         {"MemorySwapMax", "0"},
         {"MemoryHigh", "infinity"},
         {"MemoryMax", "1159979008"}},
        {"memory.oom.group"},
    },
    {
        "user, everything",
        ENVELOPE_EVERYTHING,
        CGROUP_MANAGER_SYSTEMD_USER,
        1000,
        "user.slice/user-1000.slice/user@1000.service/machine.slice/vmmem-web1.scope",
        {{"Description", "vmmem envelope vmmem-web1.scope"},
         {"Slice", "machine.slice"},
         {"Delegate", "yes"},
         {"CollectMode", "inactive-or-failed"},
         {"MemoryAccounting", "yes"},
         {"MemoryLow", "1073741824"},
         {"MemorySwapMax", "1073741824"},
         {"MemoryHigh", "1043980288"},
         {"MemoryMax", "1159979008"}},
        {"memory.oom.group"},
    },
};

static void
test_systemd_plan(gconstpointer data)
{
    const SystemdRow *row = data;
    g_autoptr(Config) config = config_new_default();
    g_autoptr(CgroupPlan) plan = NULL, delegated = NULL;
    g_autoptr(GPtrArray) props = NULL;
    size_t n = 0;

    /* Protection on vmmem's own default parent would write there: not under systemd. */
    g_assert_cmpint(cgroup_plan_new(&row->envelope, config, "web1", &plan, NULL), ==, 0);
    g_assert_cmpint(
        cgroup_plan_use_systemd(plan, row->manager, VMMEM_DEFAULT_SLICE, row->uid, NULL), ==, 0);
    g_assert_cmpstr(plan->path, ==, row->path);
    g_assert_cmpuint(plan->parent_writes->len, ==, 0);
    g_assert_false(plan->parent_is_default);
    props = cgroup_plan_systemd_properties(plan);
    while (n < G_N_ELEMENTS(row->properties) && row->properties[n].file)
        n++;
    g_assert_cmpuint(props->len, ==, n);
    for (size_t i = 0; i < n; i++) {
        const CgroupWrite *w = g_ptr_array_index(props, i);
        g_assert_cmpstr(w->file, ==, row->properties[i].file);
        g_assert_cmpstr(w->value, ==, row->properties[i].value);
    }
    /* What is no property vmmem writes itself, into the delegated scope's leaf. */
    n = 0;
    for (guint i = 0; i < plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->writes, i);
        if (!cgroup_plan_file_is_property(w->file))
            g_assert_cmpstr(w->file, ==, row->delegated[n++]);
    }
    g_assert_null(row->delegated[n]);
    /* The labels go on the unit's own cgroup, with no writes: systemd holds the limits. */
    delegated = cgroup_plan_new_labels(plan, "x.slice/vmmem-web1.scope");
    g_assert_cmpstr(delegated->path, ==, "x.slice/vmmem-web1.scope");
    g_assert_cmpuint(delegated->writes->len, ==, 0);
    g_assert_cmpuint(delegated->labels->len, ==, plan->labels->len);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(name_rows); i++) {
        g_autofree char *shown = g_strescape(name_rows[i].name, NULL);
        g_autofree char *path = NULL;
        /* GTest paths are '/'-separated and printable. */
        g_strdelimit(shown, "/", '|');
        path = g_strdup_printf("/cgroup-plan/name/%zu-%s", i, shown);
        g_test_add_data_func(path, &name_rows[i], test_name);
    }
    g_test_add_func("/cgroup-plan/name-null", test_name_null);
    g_test_add_func("/cgroup-plan/name-lengths", test_name_lengths);
    g_test_add_func("/cgroup-plan/names-distinct", test_names_distinct);
    for (size_t i = 0; i < G_N_ELEMENTS(parent_rows); i++) {
        g_autofree char *shown = g_strescape(parent_rows[i].parent, NULL);
        g_autofree char *path = NULL;
        g_strdelimit(shown, "/", '|');
        path = g_strdup_printf("/cgroup-plan/parent/%zu-%s", i, shown);
        g_test_add_data_func(path, &parent_rows[i], test_parent);
    }
    g_test_add_func("/cgroup-plan/parent-lengths", test_parent_lengths);
    for (size_t i = 0; i < G_N_ELEMENTS(plan_rows); i++) {
        g_autofree char *path = g_strdup_printf("/cgroup-plan/plan/%s", plan_rows[i].desc);
        g_test_add_data_func(path, &plan_rows[i], test_plan);
    }
    g_test_add_func("/cgroup-plan/plan-parent", test_plan_parent);
    g_test_add_func("/cgroup-plan/plan-refusals", test_plan_refusals);
    for (size_t i = 0; i < G_N_ELEMENTS(slice_rows); i++) {
        g_autofree char *shown = g_strescape(slice_rows[i].slice, NULL);
        g_autofree char *path = NULL;
        g_strdelimit(shown, "/", '|');
        path = g_strdup_printf("/cgroup-plan/slice/%zu-%s", i, shown);
        g_test_add_data_func(path, &slice_rows[i], test_slice);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(systemd_rows); i++) {
        g_autofree char *path = g_strdup_printf("/cgroup-plan/systemd/%s", systemd_rows[i].desc);
        g_test_add_data_func(path, &systemd_rows[i], test_systemd_plan);
    }
    return g_test_run();
}
