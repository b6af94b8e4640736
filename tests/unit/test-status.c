/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vmmem status`, the pure half (libvmmem/status.c): one envelope's files in, its figures out,
 * and the status JSON.  The qemu rows use a recording of a real KVM guest in the test VM
 * (tests/unit/data/calibrate/kvm-256/sample-006, see test-calibrate.c): its resident guest RAM,
 * 96468992 bytes, was checked there against an independent reading of the same smaps.
 */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "calibrate.h"
#include "json-check.h"
#include "size.h"
#include "status.h"

#define SAMPLE_CURRENT  200237056
#define SAMPLE_RESIDENT 96468992

static char *
data_file(const char *file)
{
    g_autofree char *path =
        g_test_build_filename(G_TEST_DIST, "unit", "data", "calibrate", "kvm-256", file, NULL);
    char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

static GPtrArray *
kvm_256_layout(void)
{
    const char *const argv[] = {"-machine", "q35", "-accel", "kvm", "-cpu", "host", "-m", "256"};
    g_autoptr(HostInfo) host = host_info_new(16 * GiB, true, NULL);
    g_autoptr(VmSpec) spec = NULL;
    GPtrArray *layout = NULL;

    g_assert_cmpint(vm_spec_parse(G_N_ELEMENTS(argv), argv, host, &spec, NULL, NULL), ==, 0);
    g_assert_cmpint(cal_layout_from_spec(spec, &layout, NULL), ==, 0);
    return layout;
}

#define EVENTS "low 0\nhigh 7\nmax 3\noom 0\noom_kill 0\noom_group_kill 0\n"
#define PSI                                                                                        \
    "some avg10=1.50 avg60=0.40 avg300=0.10 total=123456\n"                                        \
    "full avg10=0.25 avg60=0.05 avg300=0.01 total=2345\n"

/* Everything a Linux 6.1 host shows root. */
static void
full_texts(StatusTexts *t)
{
    t->path = g_strdup("vmmem.slice/vmmem-web1.scope");
    t->label_vm = g_strdup("web1");
    t->label_guest_ram = g_strdup("268435456");
    t->label_overhead = g_strdup("36700160");
    t->max = g_strdup("305135616\n");
    t->high = g_strdup("max\n");
    t->current = data_file("sample-006/memory.current");
    t->peak = g_strdup("210000000\n");
    t->swap_current = g_strdup("4096\n");
    t->events = g_strdup(EVENTS);
    t->pressure = g_strdup(PSI);
    t->qemu_pid = 142;
    t->qemu_smaps = data_file("sample-006/smaps.142");
    t->ksm_merging_pages = g_strdup("12\n");
    t->layout = kvm_256_layout();
}

static void
test_full(void)
{
    g_auto(StatusTexts) t = {0};
    StatusEntry e = {0};
    g_autoptr(GError) error = NULL;
    const vmmem_status_envelope *p = &e.pub;

    full_texts(&t);
    g_assert_cmpint(status_entry_from_texts(&t, &e, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpstr(p->name, ==, "web1");
    g_assert_cmpstr(p->path, ==, "vmmem.slice/vmmem-web1.scope");
    g_assert_cmpstr(p->kind, ==, "scope");
    g_assert_cmpint(p->qemu_pid, ==, 142);
    g_assert_cmpuint(p->guest_ram, ==, 268435456);
    g_assert_cmpuint(p->overhead_budget, ==, 36700160);
    g_assert_cmpuint(p->memory_max, ==, 305135616);
    g_assert_cmpuint(p->memory_high, ==, VMMEM_LIMIT_MAX);
    g_assert_cmpuint(p->memory_current, ==, SAMPLE_CURRENT);
    g_assert_true(p->has_memory_peak);
    g_assert_cmpuint(p->memory_peak, ==, 210000000);
    g_assert_true(p->has_swap_current);
    g_assert_cmpuint(p->swap_current, ==, 4096);
    g_assert_cmpuint(p->events.high, ==, 7);
    g_assert_cmpuint(p->events.max, ==, 3);
    g_assert_true(p->has_pressure);
    g_assert_cmpfloat(p->pressure_some_avg10, ==, 1.50);
    g_assert_cmpfloat(p->pressure_full_avg10, ==, 0.25);
    g_assert_true(p->has_ksm);
    g_assert_cmpuint(p->ksm_merging_pages, ==, 12);
    g_assert_true(p->has_guest_resident);
    g_assert_cmpuint(p->guest_resident, ==, SAMPLE_RESIDENT);
    g_assert_cmpuint(p->overhead_used, ==, SAMPLE_CURRENT - SAMPLE_RESIDENT);
    status_entry_clear(&e);
}

/* Not root (no smaps), an old kernel (no memory.peak, no ksm file), no swap accounting, no PSI,
 * a libvirt domain cgroup labelled without a VM name: figures unknown, not errors. */
static void
test_unknowns(void)
{
    g_auto(StatusTexts) t = {0};
    StatusEntry e = {0};
    g_autoptr(GArray) entries = g_array_new(false, true, sizeof(StatusEntry));
    g_autofree char *json = NULL;

    t.path = g_strdup("machine/qemu-1-t1.libvirt-qemu");
    t.label_guest_ram = g_strdup("134217728");
    t.label_overhead = g_strdup("33554432");
    t.max = g_strdup("167772160");
    t.high = g_strdup("150994944");
    t.current = g_strdup("100000000");
    t.events = g_strdup("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
    g_assert_cmpint(status_entry_from_texts(&t, &e, NULL), ==, 0);
    g_assert_cmpstr(e.pub.name, ==, "qemu-1-t1.libvirt-qemu");
    g_assert_cmpstr(e.pub.kind, ==, "cgroup");
    g_assert_cmpint(e.pub.qemu_pid, ==, 0);
    g_assert_cmpuint(e.pub.memory_high, ==, 150994944);
    g_assert_false(e.pub.has_memory_peak || e.pub.has_swap_current || e.pub.has_pressure ||
                   e.pub.has_ksm || e.pub.has_guest_resident);
    g_assert_cmpuint(e.pub.events.oom_group_kill, ==, 0);

    g_array_append_val(entries, e);
    json = status_to_json(entries, 8 * GiB);
    assert_json_valid(json);
    g_assert_nonnull(strstr(json, "\"memory_max_sum\": 167772160"));
    g_assert_nonnull(strstr(json, "\"qemu_pid\": null"));
    g_assert_nonnull(strstr(json, "\"memory_high\": 150994944"));
    g_assert_nonnull(strstr(json, "\"memory_peak\": null"));
    g_assert_nonnull(strstr(json, "\"guest_resident\": null"));
    g_assert_nonnull(strstr(json, "\"overhead_used\": null"));
    g_assert_nonnull(strstr(json, "\"overhead_used_ratio\": null"));
    g_assert_nonnull(strstr(json, "\"pressure_some_avg10\": null"));
    g_assert_nonnull(strstr(json, "\"ksm_merging_pages\": null"));
    status_entry_clear(&g_array_index(entries, StatusEntry, 0));
}

/* A file that does not hold what the kernel writes there: one line naming it. */
typedef struct {
    const char *what;
    size_t offset; /* of the text in StatusTexts */
    const char *value;
    const char *message;
} BadRow;

static const BadRow bad_rows[] = {
    {"guest RAM label", offsetof(StatusTexts, label_guest_ram), "12x",
     "user.vmmem.guest_ram of '/vmmem.slice/vmmem-web1.scope' is not a number"},
    {"no guest RAM label", offsetof(StatusTexts, label_guest_ram), NULL,
     "user.vmmem.guest_ram of '/vmmem.slice/vmmem-web1.scope' is not a number"},
    {"overhead label", offsetof(StatusTexts, label_overhead), "",
     "user.vmmem.overhead of '/vmmem.slice/vmmem-web1.scope' is not a number"},
    {"memory.max", offsetof(StatusTexts, max), "-1",
     "memory.max of '/vmmem.slice/vmmem-web1.scope' is not a number"},
    {"memory.current", offsetof(StatusTexts, current), "max\n",
     "memory.current of '/vmmem.slice/vmmem-web1.scope' is not a number"},
    {"memory.peak", offsetof(StatusTexts, peak), "lots",
     "memory.peak of '/vmmem.slice/vmmem-web1.scope' is not a number"},
    {"memory.events", offsetof(StatusTexts, events), "low 0\nhigh 0\n",
     "memory.events of '/vmmem.slice/vmmem-web1.scope': no key 'max'"},
    {"no memory.events", offsetof(StatusTexts, events), NULL,
     "'/vmmem.slice/vmmem-web1.scope' has no memory.events"},
};

static void
test_bad(gconstpointer data)
{
    const BadRow *row = data;
    g_auto(StatusTexts) t = {0};
    StatusEntry e = {0};
    g_autoptr(GError) error = NULL;
    char **slot;

    full_texts(&t);
    slot = (char **)((char *)&t + row->offset);
    g_free(*slot);
    *slot = g_strdup(row->value);
    g_assert_cmpint(status_entry_from_texts(&t, &e, &error), ==, -EBADMSG);
    g_assert_cmpstr(error->message, ==, row->message);
}

/* A PSI file without the line wanted, a ksm file that is not a number: unknown, no error. */
static void
test_odd_optional(void)
{
    g_auto(StatusTexts) t = {0};
    StatusEntry e = {0};

    full_texts(&t);
    g_free(t.pressure);
    t.pressure = g_strdup("garbage\n");
    g_free(t.ksm_merging_pages);
    t.ksm_merging_pages = g_strdup("many\n");
    g_free(t.qemu_smaps);
    t.qemu_smaps = g_strdup(""); /* qemu exited between the reads */
    g_assert_cmpint(status_entry_from_texts(&t, &e, NULL), ==, 0);
    g_assert_false(e.pub.has_pressure || e.pub.has_ksm || e.pub.has_guest_resident);
    status_entry_clear(&e);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/status/full", test_full);
    g_test_add_func("/status/unknowns", test_unknowns);
    g_test_add_func("/status/odd-optional", test_odd_optional);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_rows); i++) {
        g_autofree char *path = g_strdup_printf("/status/bad/%s", bad_rows[i].what);
        g_test_add_data_func(path, &bad_rows[i], test_bad);
    }
    return g_test_run();
}
