/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host profiles (libvmmem/profile.c): the key file in and out, the fit of qemu_base, vcpus and
 * kernel_ram to the measurements (exact bytes), what a hand-written value may and may not do,
 * and which host a profile applies to.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "error.h"
#include "profile.h"
#include "size.h"

/* The model's built-in values in these tests: 30 MiB, 1 MiB per vCPU, 4 MiB per GiB. */
static const uint64_t builtin[PROFILE_N_TERMS] = {30 * MiB, 1 * MiB, 4 * MiB};

#define NOW "2026-12-03T10:00:00Z"

static Profile *
new_profile(void)
{
    return profile_new(2, "/usr/bin/qemu-system-x86_64", "QEMU emulator version 7.2.22 (Debian)",
                       "abc123", "6.1.0-57-amd64", NOW);
}

static void
add(Profile *p, uint64_t ram, unsigned vcpus, uint64_t other, uint64_t peak)
{
    ProfileMeasurement m = {.date = NOW,
                            .command = "-m 1G",
                            .guest_ram = ram,
                            .vcpus = vcpus,
                            .other = other,
                            .peak = peak};

    profile_add(p, &m, NOW, builtin);
}

/* A measurement asks for peak x 1.1 - other from the fitted terms. */
static uint64_t
target(uint64_t peak, uint64_t other)
{
    return (uint64_t)((double)peak * 1.1 + 0.999999) - other;
}

static uint64_t
page_up(uint64_t v)
{
    return (v + 4095) & ~(uint64_t)4095;
}

/* One measurement moves qemu_base only, up or down: the others keep their built-in value. */
static void
test_fit_one(void)
{
    g_autoptr(Profile) up = new_profile();
    g_autoptr(Profile) down = new_profile();

    /* 1 GiB, 2 vCPUs, 8 MiB of other terms, 60 MiB measured: base = 66 - 8 - 2 - 4 = 52 MiB. */
    add(up, GiB, 2, 8 * MiB, 60 * MiB);
    g_assert_true(up->fitted[PROFILE_QEMU_BASE]);
    g_assert_false(up->fitted[PROFILE_VCPUS]);
    g_assert_false(up->fitted[PROFILE_KERNEL_RAM]);
    g_assert_cmpuint(up->term[PROFILE_VCPUS], ==, 1 * MiB);
    g_assert_cmpuint(up->term[PROFILE_KERNEL_RAM], ==, 4 * MiB);
    g_assert_cmpuint(up->term[PROFILE_QEMU_BASE], ==,
                     page_up(target(60 * MiB, 8 * MiB) - 2 * MiB - 4 * MiB));

    /* A lighter VM than the model thought: 20 MiB measured lowers base to 16 MiB. */
    add(down, GiB, 2, 0, 20 * MiB);
    g_assert_cmpuint(down->term[PROFILE_QEMU_BASE], ==, page_up(target(20 * MiB, 0) - 6 * MiB));
    g_assert_cmpuint(down->term[PROFILE_QEMU_BASE], <, builtin[PROFILE_QEMU_BASE]);
}

/* Measurements that differ in vCPUs fit the per-vCPU term, in RAM the per-GiB term; every
 * measurement still fits with its headroom. */
static void
test_fit_slopes(void)
{
    g_autoptr(Profile) p = new_profile();
    uint64_t want_v, want_s;

    add(p, GiB, 1, 0, 30 * MiB);
    add(p, GiB, 9, 0, 46 * MiB);
    add(p, 3 * GiB, 1, 0, 40 * MiB);
    g_assert_true(p->fitted[PROFILE_VCPUS]);
    g_assert_true(p->fitted[PROFILE_KERNEL_RAM]);
    /* (46 - 30) x 1.1 / 8 and (40 - 30) x 1.1 / 2, within a byte of rounding. */
    want_v = (uint64_t)(16.0 * MiB * 1.1 / 8);
    want_s = (uint64_t)(10.0 * MiB * 1.1 / 2);
    g_assert_cmpuint(p->term[PROFILE_VCPUS], >=, want_v - 1);
    g_assert_cmpuint(p->term[PROFILE_VCPUS], <=, want_v + 1);
    g_assert_cmpuint(p->term[PROFILE_KERNEL_RAM], >=, want_s - 1);
    g_assert_cmpuint(p->term[PROFILE_KERNEL_RAM], <=, want_s + 1);
    for (guint i = 0; i < p->measurements->len; i++) {
        const ProfileMeasurement *m = &g_array_index(p->measurements, ProfileMeasurement, i);
        uint64_t pred = p->term[PROFILE_QEMU_BASE] + m->vcpus * p->term[PROFILE_VCPUS] +
                        m->guest_ram / GiB * p->term[PROFILE_KERNEL_RAM] + m->other;
        g_assert_cmpuint(pred, >=, target(m->peak, 0));
    }
    g_assert_cmpuint(p->term[PROFILE_QEMU_BASE] % 4096, ==, 0);
}

static void
test_roundtrip(void)
{
    g_autoptr(Profile) p = new_profile();
    g_autoptr(Profile) back = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL, *again = NULL;

    add(p, GiB, 2, 8 * MiB, 60 * MiB);
    add(p, 2 * GiB, 4, 8 * MiB, 70 * MiB);
    text = profile_to_text(p);
    g_assert_nonnull(strstr(text, "[profile]\nformat=1\nmodel=2\n"));
    g_assert_nonnull(strstr(text, "\n[measurement 2]\ndate=" NOW "\n"));
    g_assert_cmpint(profile_parse("p.conf", text, builtin, &back, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpuint(back->measurements->len, ==, 2);
    for (int t = 0; t < PROFILE_N_TERMS; t++) {
        g_assert_cmpuint(back->term[t], ==, p->term[t]);
        g_assert_false(back->raised[t]);
    }
    g_assert_cmpuint(back->notes->len, ==, 0);
    again = profile_to_text(back);
    g_assert_cmpstr(again, ==, text);
}

/* A hand-written value above the fit raises the term; one below is not taken, and said so. */
static void
test_hand_values(void)
{
    g_autoptr(Profile) p = new_profile();
    g_autoptr(Profile) raised = NULL, lowered = NULL, bare = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL, *up = NULL, *low = NULL, *none = NULL;
    uint64_t fitted;
    char *at;

    add(p, GiB, 2, 8 * MiB, 60 * MiB);
    fitted = p->term[PROFILE_QEMU_BASE];
    text = profile_to_text(p);
    at = strstr(text, "[term qemu_base]\nbytes=");
    g_assert_nonnull(at);

    up = g_strdup_printf("%.*s[term qemu_base]\nbytes=%" G_GUINT64_FORMAT "%s", (int)(at - text),
                         text, fitted + MiB, strchr(at + 24, '\n'));
    g_assert_cmpint(profile_parse("p.conf", up, builtin, &raised, &error), ==, 0);
    g_assert_cmpuint(raised->term[PROFILE_QEMU_BASE], ==, fitted + MiB);
    g_assert_true(raised->raised[PROFILE_QEMU_BASE]);
    g_assert_cmpuint(raised->notes->len, ==, 0);

    low = g_strdup_printf("%.*s[term qemu_base]\nbytes=%" G_GUINT64_FORMAT "%s", (int)(at - text),
                          text, fitted - MiB, strchr(at + 24, '\n'));
    g_assert_cmpint(profile_parse("p.conf", low, builtin, &lowered, &error), ==, 0);
    g_assert_cmpuint(lowered->term[PROFILE_QEMU_BASE], ==, fitted);
    g_assert_cmpuint(lowered->notes->len, ==, 1);
    g_assert_nonnull(strstr(g_ptr_array_index(lowered->notes, 0), "[term qemu_base] bytes = "));
    g_assert_nonnull(strstr(g_ptr_array_index(lowered->notes, 0), "its measurements"));

    /* No measurement: the built-in value is what a hand-written one may not go below. */
    none = g_strdup("[profile]\nformat=1\nmodel=2\ncreated=x\nupdated=x\nqemu=/q\n"
                    "qemu-version=v\nqemu-build-id=b\nkernel=k\n[term vcpus]\n"
                    "bytes-per-vcpu=1000\n[term kernel_ram]\nbytes-per-gib=8388608\n");
    g_assert_cmpint(profile_parse("p.conf", none, builtin, &bare, &error), ==, 0);
    g_assert_cmpuint(bare->term[PROFILE_VCPUS], ==, builtin[PROFILE_VCPUS]);
    g_assert_cmpuint(bare->term[PROFILE_KERNEL_RAM], ==, 8 * MiB);
    g_assert_true(bare->raised[PROFILE_KERNEL_RAM]);
    g_assert_cmpuint(bare->notes->len, ==, 1);
    g_assert_nonnull(strstr(g_ptr_array_index(bare->notes, 0), "no measurement"));
}

typedef struct {
    const char *desc, *text, *error;
} BadRow;

#define HEAD                                                                                       \
    "[profile]\nformat=1\nmodel=2\ncreated=x\nupdated=x\nqemu=/q\nqemu-version=v\n"                \
    "qemu-build-id=b\nkernel=k\n"

static const BadRow bad_rows[] = {
    {"not a key file", "this is not\n", "p.conf: not a key file"},
    {"another format", "[profile]\nformat=2\n", "[profile] format: not a format this vmmem reads"},
    {"missing key", "[profile]\nformat=1\nmodel=2\n", "[profile] created: missing"},
    {"unknown group", HEAD "[cache]\nx=1\n", "[cache]: unknown group"},
    {"unknown term", HEAD "[term video]\nbytes=1\n",
     "a profile sets qemu_base, vcpus or kernel_ram"},
    {"bad number", HEAD "[term qemu_base]\nbytes=12x\n",
     "[term qemu_base] bytes: not a whole number in range"},
    {"zero vcpus",
     HEAD "[measurement 1]\ndate=d\ncommand=c\nguest-ram=1\nvcpus=0\nother-terms=0\n"
          "peak-overhead=1\n",
     "[measurement 1] vcpus: must be at least 1"},
    {"measurement without its peak",
     HEAD "[measurement 1]\ndate=d\ncommand=c\nguest-ram=1\nvcpus=1\nother-terms=0\n",
     "[measurement 1] peak-overhead: missing"},
};

static void
test_bad(gconstpointer data)
{
    const BadRow *row = data;
    g_autoptr(Profile) p = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(profile_parse("p.conf", row->text, builtin, &p, &error), <, 0);
    g_assert_null(p);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, row->error));
    g_assert_null(strchr(error->message, '\n'));
}

static void
test_mismatch(void)
{
    g_autoptr(Profile) p = new_profile();
    g_autofree char *model = profile_mismatch(p, 3, "abc123", "6.1.0-57-amd64");
    g_autofree char *qemu = profile_mismatch(p, 2, "def456", "6.1.0-57-amd64");
    g_autofree char *kernel = profile_mismatch(p, 2, "abc123", "6.1.0-58-amd64");
    g_autofree char *unknown = profile_mismatch(p, 2, NULL, "6.1.0-57-amd64");

    g_assert_null(profile_mismatch(p, 2, "abc123", "6.1.0-57-amd64"));
    g_assert_cmpstr(model, ==, "it fits model v2, this vmmem's is v3");
    g_assert_nonnull(strstr(qemu, "another qemu (QEMU emulator version 7.2.22 (Debian), build "
                                  "abc123), not build def456"));
    g_assert_cmpstr(kernel, ==,
                    "it was measured under kernel 6.1.0-57-amd64, this is 6.1.0-58-amd64");
    g_assert_nonnull(strstr(unknown, "not build unknown"));
}

/* The newest PROFILE_MAX_MEASUREMENTS are kept. */
static void
test_cap(void)
{
    g_autoptr(Profile) p = new_profile();

    for (unsigned i = 0; i < PROFILE_MAX_MEASUREMENTS + 5; i++)
        add(p, GiB, 1, 0, (20 + i) * MiB);
    g_assert_cmpuint(p->measurements->len, ==, PROFILE_MAX_MEASUREMENTS);
    g_assert_cmpuint(g_array_index(p->measurements, ProfileMeasurement, 0).peak, ==, 25 * MiB);
}

/* Reading the profile of this host: which cases warn, and which profile applies. */
static void
test_for_host(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmmem-profile-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "profile.conf", NULL);
    g_autofree char *missing = g_build_filename(dir, "none.conf", NULL);
    g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(Profile) p = new_profile();
    g_autoptr(Profile) got = NULL;
    g_autofree char *text = NULL;

    /* The default path without a file: nothing to say.  An explicit one: a warning. */
    g_assert_null(profile_for_host(missing, false, "/bin/true", "k", 2, builtin, w));
    g_assert_cmpuint(w->len, ==, 0);
    g_assert_null(profile_for_host(missing, true, "/bin/true", "k", 2, builtin, w));
    g_assert_cmpuint(w->len, ==, 1);
    g_assert_nonnull(strstr(g_ptr_array_index(w, 0), "cannot read it: No such file"));

    /* A profile for another qemu build: not used, and said so. */
    add(p, GiB, 1, 0, 40 * MiB);
    text = profile_to_text(p);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    g_assert_null(profile_for_host(path, false, "/bin/true", "6.1.0-57-amd64", 2, builtin, w));
    g_assert_cmpuint(w->len, ==, 2);
    g_assert_nonnull(strstr(g_ptr_array_index(w, 1), "not used: it was measured with another "
                                                     "qemu"));
    g_assert_nonnull(strstr(g_ptr_array_index(w, 1), "--save-profile"));

    /* A broken file: not used either. */
    g_assert_true(g_file_set_contents(path, "[profile]\nformat=1\n", -1, NULL));
    g_assert_null(profile_for_host(path, false, "/bin/true", "k", 2, builtin, w));
    g_assert_cmpuint(w->len, ==, 3);
    g_assert_nonnull(strstr(g_ptr_array_index(w, 2), "profile not used: "));

    g_unlink(path);
    g_rmdir(dir);
    (void)got;
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/fit/one", test_fit_one);
    g_test_add_func("/profile/fit/slopes", test_fit_slopes);
    g_test_add_func("/profile/roundtrip", test_roundtrip);
    g_test_add_func("/profile/hand-values", test_hand_values);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_rows); i++) {
        g_autofree char *path = g_strdup_printf("/profile/bad/%s", bad_rows[i].desc);
        g_test_add_data_func(path, &bad_rows[i], test_bad);
    }
    g_test_add_func("/profile/mismatch", test_mismatch);
    g_test_add_func("/profile/cap", test_cap);
    g_test_add_func("/profile/for-host", test_for_host);
    return g_test_run();
}
