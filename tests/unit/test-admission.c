/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Admission (libvmmem/admission.c), pure: a new envelope against the running ones, the host
 * reserve and MemTotal, with guest RAM counted ÷ overcommit and the overhead whole.  Rows are
 * written from the rule in docs/config.md, "Admission", not from the code.
 */
#include <glib.h>
#include <string.h>

#include "admission.h"
#include "size.h"
#include "status.h"

typedef struct {
    uint64_t memory_max, guest_ram;
    pid_t pid; /* 0: an exited VM's empty scope */
    const char *path;
} Running;

typedef struct {
    const char *what;
    const char *config;
    uint64_t mem_total;
    Running running[4];
    uint64_t new_max, new_guest;
    /* expected */
    size_t n;
    uint64_t reserve, committed, request, available, capacity;
    int fits;
} Row;

/* clang-format off */
static const Row rows[] = {
    {"empty host", "[vmmem]\n", 16 * GiB, {{0}}, 1 * GiB + 100 * MiB, 1 * GiB,
     0, 0, 0, GiB + 100 * MiB, 16 * GiB, 14, 1},
    {"two running", "[vmmem]\n", 4 * GiB,
     {{GiB + 64 * MiB, GiB, 100, "vmmem.slice/vmmem-a.scope"},
      {512 * MiB + 40 * MiB, 512 * MiB, 200, "machine/qemu-1-b.libvirt-qemu"}},
     2 * GiB + 80 * MiB, 2 * GiB,
     2, 0, GiB + 64 * MiB + 552 * MiB, 2 * GiB + 80 * MiB, 4 * GiB - GiB - 616 * MiB, 1, 1},
    {"exactly full fits", "[vmmem]\nhost-reserve = 1G\n", 4 * GiB,
     {{2 * GiB, 2 * GiB - 100 * MiB, 100, "x/a"}}, GiB, 900 * MiB,
     1, GiB, 2 * GiB, GiB, GiB, 1, 1},
    {"one byte over", "[vmmem]\nhost-reserve = 1G\n", 4 * GiB,
     {{2 * GiB, 2 * GiB - 100 * MiB, 100, "x/a"}}, GiB + 1, 900 * MiB,
     1, GiB, 2 * GiB, GiB + 1, GiB, 0, 0},
    {"empty scopes hold nothing", "[vmmem]\n", 4 * GiB,
     {{2 * GiB, GiB, 0, "x/gone"}, {3 * GiB, GiB, 0, "x/gone2"}}, GiB, 900 * MiB,
     0, 0, 0, GiB, 4 * GiB, 4, 1},
    {"the domain itself is not counted", "[vmmem]\n", 4 * GiB,
     {{2 * GiB, GiB, 100, "machine/qemu-1-self.libvirt-qemu"}}, GiB, 900 * MiB,
     0, 0, 0, GiB, 4 * GiB, 4, 1},
    {"share of MemTotal", "[vmmem]\nhost-reserve = 10%\n", 10 * GiB, {{0}}, GiB, 900 * MiB,
     0, GiB, 0, GiB, 9 * GiB, 9, 1},
    /* Guest RAM at a half; the overhead whole, never discounted. */
    {"overcommit 2", "[vmmem]\novercommit = 2\n", 4 * GiB,
     {{3 * GiB + 128 * MiB, 3 * GiB, 100, "x/a"}}, 2 * GiB + 100 * MiB, 2 * GiB,
     1, 0, 1536 * MiB + 128 * MiB, GiB + 100 * MiB, 4 * GiB - 1664 * MiB, 2, 1},
    /* Rounded up: 1 byte of guest RAM at overcommit 3 counts 1. */
    {"overcommit rounds up", "[vmmem]\novercommit = 3\n", 1 * GiB, {{0}}, 1 + 4096, 1,
     0, 0, 0, 4097, GiB, GiB / 4097, 1},
    {"full host", "[vmmem]\nhost-reserve = 2G\n", 2 * GiB, {{0}}, MiB, MiB,
     0, 2 * GiB, 0, MiB, 0, 0, 0},
};
/* clang-format on */

static void
test_row(gconstpointer data)
{
    const Row *row = data;
    g_autoptr(Config) config = config_new_default();
    g_autoptr(GArray) entries = g_array_new(false, true, sizeof(StatusEntry));
    Envelope e = {.memory_max = row->new_max, .guest_ram = row->new_guest};
    vmmem_admission a;

    g_assert_cmpint(config_load_data(config, row->config, NULL), ==, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(row->running) && row->running[i].path; i++) {
        StatusEntry s = {0};
        s.pub.memory_max = row->running[i].memory_max;
        s.pub.guest_ram = row->running[i].guest_ram;
        s.pub.qemu_pid = row->running[i].pid;
        s.pub.path = row->running[i].path;
        g_array_append_val(entries, s);
    }
    admission_compute(&e, config, entries, "machine/qemu-1-self.libvirt-qemu", row->mem_total, &a);
    g_assert_cmpuint(a.n_envelopes, ==, row->n);
    g_assert_cmpuint(a.reserve, ==, row->reserve);
    g_assert_cmpuint(a.committed, ==, row->committed);
    g_assert_cmpuint(a.request, ==, row->request);
    g_assert_cmpuint(a.available, ==, row->available);
    g_assert_cmpuint(a.capacity, ==, row->capacity);
    g_assert_cmpint(a.fits, ==, row->fits);
    g_assert_cmpuint(a.mem_total, ==, row->mem_total);
}

static void
test_charge(void)
{
    /* The overhead is never overcommitted: a VM of all overhead takes it whole. */
    g_assert_cmpuint(admission_charge(100 * MiB, 0, 2.0), ==, 100 * MiB);
    /* Guest RAM above memory.max (hugetlb-backed RAM is not in it) counts no more than max. */
    g_assert_cmpuint(admission_charge(100 * MiB, 200 * MiB, 1.0), ==, 100 * MiB);
    g_assert_cmpuint(admission_charge(3 * GiB, 2 * GiB, 1.5), ==, GiB + (2 * GiB * 2 + 2) / 3);
}

static void
test_describe(void)
{
    vmmem_admission a = {.mem_total = 4 * GiB,
                         .reserve = GiB,
                         .overcommit = 1.0,
                         .n_envelopes = 2,
                         .committed = 2 * GiB,
                         .request = 1536 * MiB,
                         .available = GiB};
    g_autofree char *s = vmmem_admission_to_string(&a);

    g_assert_cmpstr(s, ==,
                    "this VM takes 1.5 GiB; 2 running envelope(s) take 2 GiB and host-reserve "
                    "keeps 1 GiB of the host's 4 GiB, leaving 1 GiB");
    a.overcommit = 1.5;
    g_free(s);
    s = vmmem_admission_to_string(&a);
    g_assert_nonnull(strstr(s, ", guest RAM counted / 1.5 (overcommit)"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        g_autofree char *path = g_strdup_printf("/admission/%s", rows[i].what);
        g_test_add_data_func(path, &rows[i], test_row);
    }
    g_test_add_func("/admission/charge", test_charge);
    g_test_add_func("/admission/describe", test_describe);
    return g_test_run();
}
