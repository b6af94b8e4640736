/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvirt placement from a cgroup path, and the plan for an existing cgroup. */
#include <glib.h>
#include <string.h>

#include "cgroup-backend.h"
#include "cgroup-plan.h"
#include "cgroup-util.h"
#include "envelope.h"
#include "error.h"
#include "libvirt-domain.h"
#include "size.h"

typedef struct {
    const char *path;
    const char *domain; /* NULL: not a libvirt domain */
    const char *machine;
    bool systemd;
    bool in_emulator;
} PlacementRow;

static const PlacementRow placement_rows[] = {
    /* What libvirt 9.0 does without systemd (testbed.md) and with it (libvirt docs/cgroups.rst). */
    {"/machine/qemu-1-t1.libvirt-qemu/emulator", "machine/qemu-1-t1.libvirt-qemu", "qemu-1-t1",
     false, true},
    {"/machine/qemu-1-t1.libvirt-qemu", "machine/qemu-1-t1.libvirt-qemu", "qemu-1-t1", false,
     false},
    {"machine/qemu-12-my-vm.2.libvirt-qemu/emulator", "machine/qemu-12-my-vm.2.libvirt-qemu",
     "qemu-12-my-vm.2", false, true},
    {"/machine/prod.partition/qemu-3-db.libvirt-qemu/emulator",
     "machine/prod.partition/qemu-3-db.libvirt-qemu", "qemu-3-db", false, true},
    {"/machine.slice/machine-qemu\\x2d1\\x2dt1.scope/libvirt/emulator",
     "machine.slice/machine-qemu\\x2d1\\x2dt1.scope/libvirt", "qemu-1-t1", true, true},
    {"/machine.slice/machine-qemu\\x2d1\\x2dt1.scope/libvirt",
     "machine.slice/machine-qemu\\x2d1\\x2dt1.scope/libvirt", "qemu-1-t1", true, false},
    /* libvirt before 7.1: no nested "libvirt" directory. */
    {"/machine.slice/machine-qemu\\x2d4\\x2dweb.scope/emulator",
     "machine.slice/machine-qemu\\x2d4\\x2dweb.scope", "qemu-4-web", true, true},
    {"/machine.slice/machine-prod.slice/machine-qemu\\x2d2\\x2dx.scope/libvirt/emulator",
     "machine.slice/machine-prod.slice/machine-qemu\\x2d2\\x2dx.scope/libvirt", "qemu-2-x", true,
     true},
    /* A domain name with nothing libvirt keeps (".." or "日本"): no name part at all. */
    {"/machine/qemu-5.libvirt-qemu/emulator", "machine/qemu-5.libvirt-qemu", "qemu-5", false, true},
    {"/machine.slice/machine-qemu\\x2d5.scope/libvirt/emulator",
     "machine.slice/machine-qemu\\x2d5.scope/libvirt", "qemu-5", true, true},
    /* Not libvirt domains. */
    {"/", NULL},
    {"", NULL},
    {"/vmmem.slice/vmmem-t1.scope", NULL},
    {"/machine", NULL},
    {"/machine/qemu-1-t1.libvirt-qemu/vcpu0", NULL},
    {"/machine/qemu-1-t1.libvirt-qemu/emulator/x", NULL},
    {"/machine/qemu-1-t1.libvirt-lxc", NULL},
    {"/machine/qemu-x-t1.libvirt-qemu", NULL},
    {"/machine/qemu-1-.libvirt-qemu", NULL},
    {"/machine/qemu-.libvirt-qemu", NULL},
    {"/machine/qemu-1x.libvirt-qemu", NULL},
    {"/machine/lxc-1-t1.libvirt-qemu", NULL},
    {"/machine/other/qemu-1-t1.libvirt-qemu", NULL},
    {"/machine/../machine/qemu-1-t1.libvirt-qemu", NULL},
    {"/user.slice/machine/qemu-1-t1.libvirt-qemu", NULL},
    {"/user.slice/user-1000.slice/machine.slice/machine-qemu\\x2d1\\x2dt1.scope/libvirt", NULL},
    {"/machine.slice/machine-qemu\\x2d1\\x2dt1.scope/payload", NULL},
    {"/machine.slice/machine-lxc\\x2d1\\x2dt1.scope/libvirt", NULL},
    {"/machine.slice/qemu-1-t1.libvirt-qemu", NULL},
    {"/machine/machine-qemu\\x2d1\\x2dt1.scope/libvirt", NULL},
};

static void
test_placement(gconstpointer data)
{
    const PlacementRow *row = data;
    g_autoptr(LibvirtDomain) d = NULL;
    int r = libvirt_domain_from_cgroup(row->path, &d);

    if (!row->domain) {
        g_assert_cmpint(r, ==, 0);
        g_assert_null(d);
        return;
    }
    g_assert_cmpint(r, ==, 1);
    g_assert_cmpstr(d->domain, ==, row->domain);
    g_assert_cmpstr(d->machine, ==, row->machine);
    g_assert_cmpint(d->systemd, ==, row->systemd);
    g_assert_cmpint(d->in_emulator, ==, row->in_emulator);
}

static void
test_proc_cgroup(void)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(
        cg_parse_proc_cgroup("0::/machine/qemu-1-t1.libvirt-qemu/emulator\n", &path, &error), ==,
        0);
    g_assert_cmpstr(path, ==, "machine/qemu-1-t1.libvirt-qemu/emulator");
    g_clear_pointer(&path, g_free);
    /* A hybrid host lists v1 hierarchies first. */
    g_assert_cmpint(cg_parse_proc_cgroup("12:memory:/x\n1:name=systemd:/y\n0::/z\n", &path, &error),
                    ==, 0);
    g_assert_cmpstr(path, ==, "z");
    g_clear_pointer(&path, g_free);
    g_assert_cmpint(cg_parse_proc_cgroup("12:memory:/x\n", &path, &error), ==, -ENOMEDIUM);
    g_clear_error(&error);
    g_assert_cmpint(cg_parse_proc_cgroup("0::/gone (deleted)\n", &path, &error), ==, -ENOENT);
    g_assert_null(path);
}

/* libvirt's machine names (virDomainDriverGenerateMachineName(), libvirt 9.0). */
static const struct {
    unsigned id;
    const char *name, *machine;
} machine_rows[] = {
    {1, "t1", "qemu-1-t1"},
    {3, "..", "qemu-3"},
    {7, "db_1", "qemu-7-db1"},
    {7, "-a..b--c-", "qemu-7-a.b-c"},
    {2, "日本", "qemu-2"},
    {12, "web.example.com", "qemu-12-web.example.com"},
    {5, "0123456789012345678901234567890123456789012345678901234567890123456789",
     "qemu-5-012345678901234567890123456789012345678901234567890123456"}, /* 64 bytes */
};

static void
test_machine_names(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(machine_rows); i++) {
        g_autofree char *m = libvirt_machine_name(machine_rows[i].id, machine_rows[i].name);
        g_assert_cmpstr(m, ==, machine_rows[i].machine);
    }
}

/* A domain's argv may claim any name; only its own machine name's passes. */
static void
test_check_name(void)
{
    g_autoptr(LibvirtDomain) d = NULL, s = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(libvirt_domain_from_cgroup("/machine/qemu-4-evil.libvirt-qemu/emulator", &d),
                    ==, 1);
    g_assert_cmpint(libvirt_domain_check_name(d, "evil", NULL), ==, 0);
    g_assert_cmpint(libvirt_domain_check_name(d, "other", &error), ==, -EPERM);
    g_assert_cmpstr(error->message, ==,
                    "-name 'other' is not the name of libvirt machine 'qemu-4-evil' (it would be "
                    "'qemu-4-other')");
    g_clear_error(&error);
    g_assert_cmpint(libvirt_domain_check_name(d, NULL, &error), ==, -EPERM);
    g_clear_error(&error);
    g_assert_cmpint(libvirt_domain_check_name(d, "e_v_i_l", NULL), ==, 0);
    g_assert_cmpint(
        libvirt_domain_from_cgroup(
            "/machine.slice/machine-qemu\\x2d9\\x2ddb\\x2d1.scope/libvirt/emulator", &s),
        ==, 1);
    g_assert_cmpint(libvirt_domain_check_name(s, "db-1", NULL), ==, 0);
    g_assert_cmpint(libvirt_domain_check_name(s, "db-2", NULL), ==, -EPERM);
}

static Envelope *
sample_envelope(uint64_t swap)
{
    Envelope *e = g_new0(Envelope, 1);

    e->guest_ram = 256 * MiB;
    e->overhead = 620 * MiB;
    e->memory_max = 876 * MiB;
    e->memory_high = UINT64_MAX;
    e->swap_max = swap;
    e->oom_group = true;
    return e;
}

/* Same writes as a scope of our own, each knowing the kernel default it may replace. */
static void
test_plan_existing(void)
{
    g_autoptr(Envelope) e = sample_envelope(0);
    g_autoptr(CgroupPlan) plan = NULL;
    g_autoptr(GError) error = NULL;
    static const struct {
        const char *file, *value, *unset;
        bool optional;
    } expect[] = {
        {"memory.oom.group", "1", "0", false},
        {"memory.swap.max", "0", "max", true},
        {"memory.high", "max", "max", false},
        {"memory.max", "918552576", "max", false},
    };

    g_assert_cmpint(
        cgroup_plan_new_existing(e, "machine/qemu-1-t1.libvirt-qemu", "t1", &plan, &error), ==, 0);
    g_assert_true(plan->existing);
    g_assert_null(plan->parent);
    g_assert_null(plan->scope);
    g_assert_cmpstr(plan->path, ==, "machine/qemu-1-t1.libvirt-qemu");
    g_assert_cmpuint(plan->writes->len, ==, G_N_ELEMENTS(expect));
    for (guint i = 0; i < plan->writes->len; i++) {
        const CgroupWrite *w = g_ptr_array_index(plan->writes, i);
        g_assert_cmpstr(w->file, ==, expect[i].file);
        g_assert_cmpstr(w->value, ==, expect[i].value);
        g_assert_cmpstr(w->unset, ==, expect[i].unset);
        g_assert_cmpint(w->optional, ==, expect[i].optional);
    }
    /* What `vmmem status` reads back: the name, the guest RAM, the overhead budget. */
    g_assert_cmpuint(plan->labels->len, ==, 3);
    g_assert_cmpstr(((CgroupWrite *)g_ptr_array_index(plan->labels, 0))->file, ==, "user.vmmem.vm");
    g_assert_cmpstr(((CgroupWrite *)g_ptr_array_index(plan->labels, 0))->value, ==, "t1");
    {
        g_autofree char *ram = g_strdup_printf("%" G_GUINT64_FORMAT, e->guest_ram);
        g_autofree char *overhead = g_strdup_printf("%" G_GUINT64_FORMAT, e->overhead);
        g_assert_cmpstr(((CgroupWrite *)g_ptr_array_index(plan->labels, 1))->file, ==,
                        "user.vmmem.guest_ram");
        g_assert_cmpstr(((CgroupWrite *)g_ptr_array_index(plan->labels, 1))->value, ==, ram);
        g_assert_cmpstr(((CgroupWrite *)g_ptr_array_index(plan->labels, 2))->file, ==,
                        "user.vmmem.overhead");
        g_assert_cmpstr(((CgroupWrite *)g_ptr_array_index(plan->labels, 2))->value, ==, overhead);
    }
}

static void
test_plan_existing_refusals(void)
{
    g_autoptr(Envelope) e = sample_envelope(0);
    g_autoptr(Envelope) probe = g_new0(Envelope, 1);
    g_autoptr(CgroupPlan) plan = NULL;
    g_autoptr(GError) error = NULL;
    static const char *const bad[] = {"", "/machine/x", "machine/../etc", "machine//x", "a/./b"};

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_cmpint(cgroup_plan_new_existing(e, bad[i], NULL, &plan, &error), ==, -EINVAL);
        g_assert_null(plan);
        g_clear_error(&error);
    }
    probe->probe = true;
    g_assert_cmpint(cgroup_plan_new_existing(probe, "machine/x", NULL, &plan, &error), ==, -EINVAL);
}

static void
test_dryrun_adopt(void)
{
    g_autoptr(Envelope) e = sample_envelope(512 * MiB);
    g_autoptr(CgroupPlan) plan = NULL;
    g_autoptr(CgroupScope) scope = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(
        cgroup_plan_new_existing(e, "machine/qemu-1-t1.libvirt-qemu", "t1", &plan, &error), ==, 0);
    scope = cgroup_scope_new(&cgroup_backend_dryrun, g_steal_pointer(&plan));
    g_assert_cmpint(scope->backend->adopt(scope, &error), ==, 0);
    g_assert_cmpuint(scope->actions->len, ==, 7);
    g_assert_cmpstr(g_ptr_array_index(scope->actions, 4), ==,
                    "set attribute user.vmmem.vm = t1 on machine/qemu-1-t1.libvirt-qemu");
    g_assert_cmpstr(g_ptr_array_index(scope->actions, 3), ==,
                    "write machine/qemu-1-t1.libvirt-qemu/memory.max = 918552576 (if it still "
                    "holds max)");
    g_assert_cmpstr(g_ptr_array_index(scope->actions, 1), ==,
                    "write machine/qemu-1-t1.libvirt-qemu/memory.swap.max = 536870912 (if it "
                    "still holds max)");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(placement_rows); i++) {
        g_autofree char *name = g_strdup_printf("/libvirt-domain/placement/%zu", i);
        g_test_add_data_func(name, &placement_rows[i], test_placement);
    }
    g_test_add_func("/libvirt-domain/proc-cgroup", test_proc_cgroup);
    g_test_add_func("/libvirt-domain/machine-names", test_machine_names);
    g_test_add_func("/libvirt-domain/check-name", test_check_name);
    g_test_add_func("/libvirt-domain/plan-existing", test_plan_existing);
    g_test_add_func("/libvirt-domain/plan-existing-refusals", test_plan_existing_refusals);
    g_test_add_func("/libvirt-domain/dryrun-adopt", test_dryrun_adopt);
    return g_test_run();
}
