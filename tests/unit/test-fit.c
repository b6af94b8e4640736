/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vmmem fit` (libvmmem/fit.c): the -m rewrite, table-driven, and vmmem_fit() checked by its
 * definition rather than by figures: the size it returns fits the budget and 1 MiB more does
 * not, on a host given as JSON so that the rows do not depend on this machine.
 */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "fit.h"
#include "size.h"
#include "vmmem/vmmem.h"

#define MAX_ARGS 24

typedef struct {
    const char *what;
    const char *argv[MAX_ARGS];
    uint64_t mib;
    const char *m;             /* the -m argument used */
    const char *out[MAX_ARGS]; /* the new argv */
} RewriteRow;

/* clang-format off */
static const RewriteRow rewrite_rows[] = {
    {"no -m", {"-accel", "kvm"}, 3584, "3584M", {"-accel", "kvm", "-m", "3584M"}},
    {"bare size", {"-m", "512", "-smp", "2"}, 1000, "size=1000M", {"-m", "size=1000M", "-smp", "2"}},
    {"double dash", {"--m", "512M"}, 64, "size=64M", {"--m", "size=64M"}},
    {"slots and maxmem kept", {"-m", "size=1G,slots=4,maxmem=8G"}, 2048,
     "size=2048M,slots=4,maxmem=8G", {"-m", "size=2048M,slots=4,maxmem=8G"}},
    {"size after the others", {"-m", "slots=2,maxmem=4G,size=1G"}, 1500,
     "size=1500M,slots=2,maxmem=4G", {"-m", "size=1500M,slots=2,maxmem=4G"}},
    {"the last -m", {"-m", "1G", "-name", "a", "-m", "2G"}, 700, "size=700M",
     {"-m", "1G", "-name", "a", "-m", "size=700M"}},
    /* -m's argument is an argv word of its own: a -name that looks like one is left alone. */
    {"a -name of -m", {"-name", "-m", "-m", "1G"}, 10, "size=10M", {"-name", "-m", "-m", "size=10M"}},
};
/* clang-format on */

static int
count(const char *const *v)
{
    int n = 0;
    while (v[n])
        n++;
    return n;
}

static void
test_rewrite(gconstpointer data)
{
    const RewriteRow *row = data;
    g_autoptr(GPtrArray) out = NULL;
    g_autofree char *m = NULL;
    g_autoptr(GError) error = NULL;
    int n = count(row->argv);

    g_assert_cmpint(fit_rewrite_m(n, row->argv, row->mib, &out, &m, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpstr(m, ==, row->m);
    g_assert_cmpint((int)out->len - 1, ==, count(row->out));
    for (guint i = 0; i + 1 < out->len; i++)
        g_assert_cmpstr(g_ptr_array_index(out, i), ==, row->out[i]);
    g_assert_null(g_ptr_array_index(out, out->len - 1));
}

static void
test_rewrite_refusals(void)
{
    const char *const json[] = {"-m", "{\"size\": 1}"};
    const char *const dangling[] = {"-accel", "kvm", "-m"};
    g_autoptr(GPtrArray) out = NULL;
    g_autofree char *m = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(fit_rewrite_m(2, json, 1, &out, &m, &error), ==, -EINVAL);
    g_clear_error(&error);
    g_assert_cmpint(fit_rewrite_m(3, dangling, 1, &out, &m, &error), ==, -EINVAL);
    g_assert_null(out);
}

#define HOST_JSON                                                                                  \
    "{\"physmem\": 17179869184, \"kernel_release\": \"6.1.0-57-amd64\", \"thp\": \"always\", "     \
    "\"has_kvm\": true, \"hugetlbfs_mounts\": [], \"hugetlb_memcg\": false}"

typedef struct {
    const char *what;
    const char *argv[MAX_ARGS];
    uint64_t budget;
} FitRow;

/* clang-format off */
static const FitRow fit_rows[] = {
    {"kvm 4 GiB", {"-machine", "q35", "-accel", "kvm", "-m", "1G", "-smp", "2"}, 4 * GiB},
    {"kvm 1 GiB, maxmem", {"-machine", "q35", "-accel", "kvm", "-m", "512,slots=4,maxmem=8G"}, GiB},
    {"kvm, odd budget", {"-accel", "kvm", "-m", "1G", "-device", "virtio-gpu-pci"}, 777 * MiB + 12345},
    {"no -m", {"-accel", "kvm"}, 2 * GiB},
    /* TCG: its translation cache (host RAM / 8) is part of every envelope. */
    {"tcg", {"-accel", "tcg", "-m", "256"}, 4 * GiB},
};
/* clang-format on */

static uint64_t
memory_max_at(const FitRow *row, const vmmem_host *host, uint64_t mib)
{
    g_autoptr(GPtrArray) out = NULL;
    g_autofree char *m = NULL;
    vmmem_spec *spec = NULL;
    vmmem_envelope *e = NULL;
    uint64_t max;

    g_assert_cmpint(fit_rewrite_m(count(row->argv), row->argv, mib, &out, &m, NULL), ==, 0);
    g_assert_cmpint(vmmem_spec_new_for_host((int)out->len - 1, (const char *const *)out->pdata,
                                            host, 0, &spec, NULL),
                    ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, NULL, 0, &e, NULL), ==, 0);
    max = vmmem_envelope_get_memory_max(e);
    vmmem_envelope_free(e);
    vmmem_spec_free(spec);
    return max;
}

static void
test_fit(gconstpointer data)
{
    const FitRow *row = data;
    vmmem_host *host = NULL;
    vmmem_envelope *e = NULL;
    char *m = NULL;
    uint64_t mib;

    g_assert_cmpint(vmmem_host_new_from_json(HOST_JSON, 0, &host, NULL), ==, 0);
    g_assert_cmpint(
        vmmem_fit(count(row->argv), row->argv, host, NULL, row->budget, 0, &e, &m, NULL), ==, 0);
    mib = vmmem_envelope_get_guest_ram(e) / MiB;
    g_assert_cmpuint(vmmem_envelope_get_guest_ram(e), ==, mib * MiB);
    g_assert_cmpuint(vmmem_envelope_get_memory_max(e), <=, row->budget);
    g_assert_cmpuint(memory_max_at(row, host, mib), ==, vmmem_envelope_get_memory_max(e));
    /* The largest: one MiB more is over the budget, unless maxmem stops it. */
    if (!strstr(m, "maxmem"))
        g_assert_cmpuint(memory_max_at(row, host, mib + 1), >, row->budget);
    vmmem_free(m);
    vmmem_envelope_free(e);
    vmmem_host_free(host);
}

static void
test_fit_refusals(void)
{
    const char *const backend[] = {"-machine", "q35,memory-backend=m",
                                   "-accel",   "kvm",
                                   "-m",       "512",
                                   "-object",  "memory-backend-ram,id=m,size=512M"};
    const char *const probe[] = {"-machine", "none"};
    const char *const kvm[] = {"-accel", "kvm", "-m", "1G"};
    const char *const maxmem[] = {"-accel", "kvm", "-m", "1G,slots=1,maxmem=2G"};
    vmmem_host *host = NULL;
    vmmem_envelope *e = NULL;
    vmmem_error *error = NULL;
    char *m = NULL;

    g_assert_cmpint(vmmem_host_new_from_json(HOST_JSON, 0, &host, NULL), ==, 0);
    g_assert_cmpint(vmmem_fit(8, backend, host, NULL, 4 * GiB, 0, &e, &m, &error), ==, -EINVAL);
    g_assert_nonnull(strstr(vmmem_error_get_message(error), "does not follow -m"));
    vmmem_error_free(error);
    error = NULL;
    g_assert_cmpint(vmmem_fit(2, probe, host, NULL, 4 * GiB, 0, &e, &m, &error), ==, -EINVAL);
    vmmem_error_free(error);
    error = NULL;
    g_assert_cmpint(vmmem_fit(4, kvm, host, NULL, 1 * MiB, 0, &e, &m, &error), ==, -ENOSPC);
    g_assert_nonnull(strstr(vmmem_error_get_message(error), "does not hold even a 1 MiB guest"));
    vmmem_error_free(error);
    g_assert_cmpint(vmmem_fit(4, kvm, host, NULL, 4 * GiB, 1, &e, &m, NULL), ==, -EINVAL);
    g_assert_null(e);
    /* maxmem caps the size: a huge budget gets -m at maxmem. */
    g_assert_cmpint(vmmem_fit(4, maxmem, host, NULL, 64 * GiB, 0, &e, &m, NULL), ==, 0);
    g_assert_cmpuint(vmmem_envelope_get_guest_ram(e), ==, 2 * GiB);
    g_assert_cmpstr(m, ==, "size=2048M,slots=1,maxmem=2G");
    vmmem_free(m);
    vmmem_envelope_free(e);
    vmmem_host_free(host);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(rewrite_rows); i++) {
        g_autofree char *path = g_strdup_printf("/fit/rewrite/%s", rewrite_rows[i].what);
        g_test_add_data_func(path, &rewrite_rows[i], test_rewrite);
    }
    g_test_add_func("/fit/rewrite/refusals", test_rewrite_refusals);
    for (size_t i = 0; i < G_N_ELEMENTS(fit_rows); i++) {
        g_autofree char *path = g_strdup_printf("/fit/%s", fit_rows[i].what);
        g_test_add_data_func(path, &fit_rows[i], test_fit);
    }
    g_test_add_func("/fit/refusals", test_fit_refusals);
    return g_test_run();
}
