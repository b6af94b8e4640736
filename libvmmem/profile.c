/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host profiles (docs/profile.md): measurements of this host's VMs in, the model terms fitted to
 * them out.  Pure, but for profile_for_host() at the end. */
#include <math.h>
#include <string.h>

#include "error.h"
#include "host.h"
#include "profile.h"
#include "size.h"

#define GROUP_PROFILE     "profile"
#define GROUP_MEASUREMENT "measurement "
#define GROUP_TERM        "term "

const char *const profile_term_names[PROFILE_N_TERMS] = {
    [PROFILE_QEMU_BASE] = "qemu_base",
    [PROFILE_VCPUS] = "vcpus",
    [PROFILE_KERNEL_RAM] = "kernel_ram",
};

/* The key that holds each term's value in a [term NAME] group, and what it is per. */
static const char *const term_keys[PROFILE_N_TERMS] = {
    [PROFILE_QEMU_BASE] = "bytes",
    [PROFILE_VCPUS] = "bytes-per-vcpu",
    [PROFILE_KERNEL_RAM] = "bytes-per-gib",
};

static void
measurement_clear(gpointer p)
{
    ProfileMeasurement *m = p;

    g_free(m->date);
    g_free(m->command);
}

Profile *
profile_new(int model, const char *qemu_path, const char *qemu_version, const char *qemu_build_id,
            const char *kernel, const char *now)
{
    Profile *p = g_new0(Profile, 1);

    p->model = model;
    p->created = g_strdup(now);
    p->updated = g_strdup(now);
    p->qemu_path = g_strdup(qemu_path);
    p->qemu_version = g_strdup(qemu_version);
    p->qemu_build_id = g_strdup(qemu_build_id);
    p->kernel = g_strdup(kernel);
    p->measurements = g_array_new(FALSE, TRUE, sizeof(ProfileMeasurement));
    g_array_set_clear_func(p->measurements, measurement_clear);
    p->notes = g_ptr_array_new_with_free_func(g_free);
    return p;
}

Profile *
profile_free(Profile *p)
{
    if (p) {
        g_free(p->created);
        g_free(p->updated);
        g_free(p->qemu_path);
        g_free(p->qemu_version);
        g_free(p->qemu_build_id);
        g_free(p->kernel);
        g_array_unref(p->measurements);
        g_ptr_array_unref(p->notes);
        g_free(p);
    }
    return NULL;
}

/* ---- the fit ---- */

/* What a measurement asks of the fitted terms: the measured peak with headroom, less the terms
 * the profile does not fit. */
static double
target(const ProfileMeasurement *m)
{
    double need = (double)m->peak * (100 + PROFILE_HEADROOM_PERCENT) / 100.0;

    return need > (double)m->other ? need - (double)m->other : 0.0;
}

/* The coefficient of each term in a measurement's prediction. */
static void
coefficients(const ProfileMeasurement *m, double ret[PROFILE_N_TERMS])
{
    ret[PROFILE_QEMU_BASE] = 1.0;
    ret[PROFILE_VCPUS] = m->vcpus;
    ret[PROFILE_KERNEL_RAM] = (double)m->guest_ram / (double)GiB;
}

/* Solves the k x k system @a x = @b (row-major, k <= 3) by Gaussian elimination with partial
 * pivoting; false when it is singular. */
static bool
solve(double a[3][3], double b[3], int k, double x[3])
{
    for (int c = 0; c < k; c++) {
        int piv = c;
        for (int r = c + 1; r < k; r++)
            if (fabs(a[r][c]) > fabs(a[piv][c]))
                piv = r;
        if (fabs(a[piv][c]) < 1e-9)
            return false;
        for (int j = 0; j < k; j++) {
            double t = a[c][j];
            a[c][j] = a[piv][j];
            a[piv][j] = t;
        }
        double t = b[c];
        b[c] = b[piv];
        b[piv] = t;
        for (int r = 0; r < k; r++) {
            if (r == c)
                continue;
            double f = a[r][c] / a[c][c];
            for (int j = 0; j < k; j++)
                a[r][j] -= f * a[c][j];
            b[r] -= f * b[c];
        }
    }
    for (int c = 0; c < k; c++)
        x[c] = b[c] / a[c][c];
    return true;
}

/* A term is fitted only where the measurements vary in what it scales with: two vCPU counts for
 * vcpus, guest RAM sizes at least 512 MiB apart for kernel_ram.  The others keep @builtin. */
static void
choose_free(const Profile *p, bool free_terms[PROFILE_N_TERMS])
{
    unsigned vmin = UINT_MAX, vmax = 0;
    uint64_t rmin = UINT64_MAX, rmax = 0;

    for (guint i = 0; i < p->measurements->len; i++) {
        const ProfileMeasurement *m = &g_array_index(p->measurements, ProfileMeasurement, i);
        vmin = MIN(vmin, m->vcpus);
        vmax = MAX(vmax, m->vcpus);
        rmin = MIN(rmin, m->guest_ram);
        rmax = MAX(rmax, m->guest_ram);
    }
    free_terms[PROFILE_QEMU_BASE] = p->measurements->len > 0;
    free_terms[PROFILE_VCPUS] = vmax > vmin;
    free_terms[PROFILE_KERNEL_RAM] = rmax >= rmin + 512 * MiB;
}

/* The smallest terms (by the sum of the predictions) under which every measurement's peak,
 * with headroom, fits: a linear programme with at most three unknowns, solved at its vertices.
 * Terms not free keep @x's values. */
static void
fit_lp(const Profile *p, const bool free_terms[PROFILE_N_TERMS], double x[PROFILE_N_TERMS])
{
    int idx[PROFILE_N_TERMS], k = 0;
    guint m = p->measurements->len;
    guint n_rows = m + PROFILE_N_TERMS;
    double best_obj = INFINITY, best[PROFILE_N_TERMS];

    for (int t = 0; t < PROFILE_N_TERMS; t++)
        if (free_terms[t])
            idx[k++] = t;
    memcpy(best, x, sizeof(best));
    /* Rows: the measurements' constraints, then x_t >= 0 for each free term. */
    for (guint r0 = 0; r0 < n_rows; r0++)
        for (guint r1 = (k > 1 ? r0 + 1 : r0); r1 < (k > 1 ? n_rows : r0 + 1); r1++)
            for (guint r2 = (k > 2 ? r1 + 1 : r1); r2 < (k > 2 ? n_rows : r1 + 1); r2++) {
                guint rows[3] = {r0, r1, r2};
                double a[3][3] = {{0}}, b[3] = {0}, sol[3], cand[PROFILE_N_TERMS], obj = 0;
                bool ok = true;

                for (int i = 0; i < k; i++) {
                    if (rows[i] < m) {
                        const ProfileMeasurement *pm =
                            &g_array_index(p->measurements, ProfileMeasurement, rows[i]);
                        double c[PROFILE_N_TERMS], fixed = 0;
                        coefficients(pm, c);
                        for (int t = 0; t < PROFILE_N_TERMS; t++)
                            if (!free_terms[t])
                                fixed += c[t] * x[t];
                        for (int j = 0; j < k; j++)
                            a[i][j] = c[idx[j]];
                        b[i] = target(pm) - fixed;
                    } else {
                        int t = (int)(rows[i] - m);
                        if (!free_terms[t]) {
                            ok = false;
                            break;
                        }
                        for (int j = 0; j < k; j++)
                            a[i][j] = idx[j] == t;
                        b[i] = 0;
                    }
                }
                if (!ok || !solve(a, b, k, sol))
                    continue;
                memcpy(cand, x, sizeof(cand));
                for (int j = 0; j < k; j++)
                    cand[idx[j]] = sol[j];
                for (int j = 0; j < k && ok; j++)
                    ok = cand[idx[j]] >= -1e-6;
                for (guint i = 0; i < m && ok; i++) {
                    const ProfileMeasurement *pm =
                        &g_array_index(p->measurements, ProfileMeasurement, i);
                    double c[PROFILE_N_TERMS], pred = 0;
                    coefficients(pm, c);
                    for (int t = 0; t < PROFILE_N_TERMS; t++)
                        pred += c[t] * cand[t];
                    ok = pred >= target(pm) - 1.0;
                    obj += pred;
                }
                if (ok && obj < best_obj) {
                    best_obj = obj;
                    memcpy(best, cand, sizeof(best));
                }
            }
    memcpy(x, best, sizeof(best));
}

/* Whole bytes, base in pages; then base goes up until rounding leaves no measurement short. */
static void
round_terms(const Profile *p, const double x[PROFILE_N_TERMS], uint64_t ret[PROFILE_N_TERMS])
{
    for (int t = 0; t < PROFILE_N_TERMS; t++)
        ret[t] = x[t] <= 0 ? 0 : (uint64_t)ceil(x[t]);
    for (guint i = 0; i < p->measurements->len; i++) {
        const ProfileMeasurement *pm = &g_array_index(p->measurements, ProfileMeasurement, i);
        double c[PROFILE_N_TERMS], pred = 0;
        coefficients(pm, c);
        for (int t = 0; t < PROFILE_N_TERMS; t++)
            pred += c[t] * (double)ret[t];
        if (pred < target(pm))
            ret[PROFILE_QEMU_BASE] += (uint64_t)ceil(target(pm) - pred);
    }
    ret[PROFILE_QEMU_BASE] = (ret[PROFILE_QEMU_BASE] + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
}

static void
fit(Profile *p, const uint64_t builtin[PROFILE_N_TERMS])
{
    bool free_terms[PROFILE_N_TERMS];
    double x[PROFILE_N_TERMS];

    choose_free(p, free_terms);
    for (int t = 0; t < PROFILE_N_TERMS; t++) {
        x[t] = (double)builtin[t];
        p->fitted[t] = free_terms[t];
        p->raised[t] = false;
    }
    if (p->measurements->len > 0) {
        fit_lp(p, free_terms, x);
        round_terms(p, x, p->term);
    } else {
        memcpy(p->term, builtin, sizeof(p->term));
    }
}

void
profile_add(Profile *p, const ProfileMeasurement *m, const char *now,
            const uint64_t builtin[PROFILE_N_TERMS])
{
    ProfileMeasurement copy = *m;

    if (p->measurements->len >= PROFILE_MAX_MEASUREMENTS)
        g_array_remove_index(p->measurements, 0);
    copy.date = g_strdup(m->date);
    copy.command = g_strdup(m->command);
    g_array_append_val(p->measurements, copy);
    g_free(p->updated);
    p->updated = g_strdup(now);
    fit(p, builtin);
}

/* ---- the key file ---- */

static int
fail_key(GError **error, const char *path, const char *group, const char *key, const char *why)
{
    return vmmem_fail(error, EINVAL, "%s: [%s] %s: %s", path, group, key, why);
}

static int
get_string(GKeyFile *kf, const char *path, const char *group, const char *key, char **ret,
           GError **error)
{
    g_autoptr(GError) local = NULL;
    char *v = g_key_file_get_string(kf, group, key, &local);

    if (!v)
        return fail_key(error, path, group, key, "missing");
    *ret = v;
    return 0;
}

static int
get_u64(GKeyFile *kf, const char *path, const char *group, const char *key, uint64_t max,
        uint64_t *ret, GError **error)
{
    g_autofree char *v = NULL;
    int r = get_string(kf, path, group, key, &v, error);

    if (r < 0)
        return r;
    if (!g_ascii_string_to_unsigned(v, 10, 0, max, ret, NULL))
        return fail_key(error, path, group, key, "not a whole number in range");
    return 0;
}

static int
parse_measurement(GKeyFile *kf, const char *path, const char *group, ProfileMeasurement *m,
                  GError **error)
{
    uint64_t vcpus;
    int r;

    if ((r = get_string(kf, path, group, "date", &m->date, error)) < 0 ||
        (r = get_string(kf, path, group, "command", &m->command, error)) < 0 ||
        (r = get_u64(kf, path, group, "guest-ram", UINT64_MAX / 2, &m->guest_ram, error)) < 0 ||
        (r = get_u64(kf, path, group, "vcpus", 4096, &vcpus, error)) < 0 ||
        (r = get_u64(kf, path, group, "other-terms", UINT64_MAX / 2, &m->other, error)) < 0 ||
        (r = get_u64(kf, path, group, "peak-overhead", UINT64_MAX / 4, &m->peak, error)) < 0)
        return r;
    if (vcpus == 0)
        return fail_key(error, path, group, "vcpus", "must be at least 1");
    m->vcpus = (unsigned)vcpus;
    return 0;
}

static int
find_term(const char *name)
{
    for (int t = 0; t < PROFILE_N_TERMS; t++)
        if (strcmp(name, profile_term_names[t]) == 0)
            return t;
    return -1;
}

/* A hand-written [term NAME] value: taken where it raises the fit, noted where it would lower
 * it below what the measurements support. */
static int
apply_term_group(Profile *p, GKeyFile *kf, const char *path, const char *group, GError **error)
{
    const char *name = group + strlen(GROUP_TERM);
    int t = find_term(name);
    uint64_t v;
    int r;

    if (t < 0)
        return vmmem_fail(error, EINVAL,
                          "%s: [%s]: a profile sets qemu_base, vcpus or kernel_ram only", path,
                          group);
    r = get_u64(kf, path, group, term_keys[t], UINT64_MAX / 4, &v, error);
    if (r < 0)
        return r;
    if (v >= p->term[t]) {
        p->raised[t] = v > p->term[t];
        p->term[t] = v;
        return 0;
    }
    g_ptr_array_add(p->notes,
                    g_strdup_printf("%s: [%s] %s = %" G_GUINT64_FORMAT
                                    " is below what %s support (%" G_GUINT64_FORMAT "): not taken",
                                    path, group, term_keys[t], v,
                                    p->fitted[t] ? "its measurements" : "no measurement",
                                    p->term[t]));
    return 0;
}

int
profile_parse(const char *path, const char *text, const uint64_t builtin[PROFILE_N_TERMS],
              Profile **ret_profile, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;
    g_autoptr(Profile) p = NULL;
    g_auto(GStrv) groups = NULL;
    uint64_t format, model;
    char *created = NULL, *updated = NULL, *qpath = NULL, *qver = NULL, *qid = NULL, *kernel = NULL;
    int r;

    if (!g_key_file_load_from_data(kf, text, (gsize)-1, G_KEY_FILE_NONE, &local))
        return vmmem_fail(error, EBADMSG, "%s: not a key file: %s", path, local->message);
    if ((r = get_u64(kf, path, GROUP_PROFILE, "format", G_MAXINT, &format, error)) < 0)
        return r;
    if (format != PROFILE_FORMAT)
        return fail_key(error, path, GROUP_PROFILE, "format", "not a format this vmmem reads");
    if ((r = get_u64(kf, path, GROUP_PROFILE, "model", G_MAXINT, &model, error)) < 0 ||
        (r = get_string(kf, path, GROUP_PROFILE, "created", &created, error)) < 0 ||
        (r = get_string(kf, path, GROUP_PROFILE, "updated", &updated, error)) < 0 ||
        (r = get_string(kf, path, GROUP_PROFILE, "qemu", &qpath, error)) < 0 ||
        (r = get_string(kf, path, GROUP_PROFILE, "qemu-version", &qver, error)) < 0 ||
        (r = get_string(kf, path, GROUP_PROFILE, "qemu-build-id", &qid, error)) < 0 ||
        (r = get_string(kf, path, GROUP_PROFILE, "kernel", &kernel, error)) < 0) {
        g_free(created), g_free(updated), g_free(qpath), g_free(qver), g_free(qid);
        g_free(kernel);
        return r;
    }
    p = profile_new((int)model, qpath, qver, qid, kernel, created);
    g_free(p->updated);
    p->updated = updated;
    g_free(created), g_free(qpath), g_free(qver), g_free(qid), g_free(kernel);

    groups = g_key_file_get_groups(kf, NULL);
    for (char **g = groups; *g; g++) {
        ProfileMeasurement m = {0};

        if (strcmp(*g, GROUP_PROFILE) == 0 || g_str_has_prefix(*g, GROUP_TERM))
            continue;
        if (!g_str_has_prefix(*g, GROUP_MEASUREMENT))
            return vmmem_fail(error, EINVAL, "%s: [%s]: unknown group", path, *g);
        r = parse_measurement(kf, path, *g, &m, error);
        if (r < 0) {
            measurement_clear(&m);
            return r;
        }
        if (p->measurements->len >= PROFILE_MAX_MEASUREMENTS)
            g_array_remove_index(p->measurements, 0);
        g_array_append_val(p->measurements, m);
    }
    fit(p, builtin);
    for (char **g = groups; *g; g++) {
        if (g_str_has_prefix(*g, GROUP_TERM) && (r = apply_term_group(p, kf, path, *g, error)) < 0)
            return r;
    }
    *ret_profile = g_steal_pointer(&p);
    return 0;
}

char *
profile_to_text(const Profile *p)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();

    g_key_file_set_comment(kf, NULL, NULL,
                           " vmmem host profile: the overheads `vmmem calibrate --save-profile` "
                           "measured on\n this host, and the model terms fitted to them "
                           "(docs/profile.md).  The [term] values are\n derived from the "
                           "measurements; a larger hand-written value raises a term, a smaller "
                           "one\n is not taken.",
                           NULL);
    g_key_file_set_integer(kf, GROUP_PROFILE, "format", PROFILE_FORMAT);
    g_key_file_set_integer(kf, GROUP_PROFILE, "model", p->model);
    g_key_file_set_string(kf, GROUP_PROFILE, "created", p->created);
    g_key_file_set_string(kf, GROUP_PROFILE, "updated", p->updated);
    g_key_file_set_string(kf, GROUP_PROFILE, "qemu", p->qemu_path);
    g_key_file_set_string(kf, GROUP_PROFILE, "qemu-version", p->qemu_version);
    g_key_file_set_string(kf, GROUP_PROFILE, "qemu-build-id", p->qemu_build_id);
    g_key_file_set_string(kf, GROUP_PROFILE, "kernel", p->kernel);
    for (int t = 0; t < PROFILE_N_TERMS; t++) {
        g_autofree char *group = g_strconcat(GROUP_TERM, profile_term_names[t], NULL);
        g_autofree char *v = g_strdup_printf("%" G_GUINT64_FORMAT, p->term[t]);

        g_key_file_set_value(kf, group, term_keys[t], v);
        g_key_file_set_string(kf, group, "basis",
                              p->raised[t]   ? "raised by hand"
                              : p->fitted[t] ? "fitted to the measurements"
                                             : "built-in (the measurements do not vary in it)");
    }
    for (guint i = 0; i < p->measurements->len; i++) {
        const ProfileMeasurement *m = &g_array_index(p->measurements, ProfileMeasurement, i);
        g_autofree char *group = g_strdup_printf(GROUP_MEASUREMENT "%u", i + 1);
        g_autofree char *ram = g_strdup_printf("%" G_GUINT64_FORMAT, m->guest_ram);
        g_autofree char *other = g_strdup_printf("%" G_GUINT64_FORMAT, m->other);
        g_autofree char *peak = g_strdup_printf("%" G_GUINT64_FORMAT, m->peak);

        g_key_file_set_string(kf, group, "date", m->date);
        g_key_file_set_string(kf, group, "command", m->command);
        g_key_file_set_value(kf, group, "guest-ram", ram);
        g_key_file_set_integer(kf, group, "vcpus", (int)m->vcpus);
        g_key_file_set_value(kf, group, "other-terms", other);
        g_key_file_set_value(kf, group, "peak-overhead", peak);
    }
    return g_key_file_to_data(kf, NULL, NULL);
}

char *
profile_mismatch(const Profile *p, int model, const char *qemu_build_id, const char *kernel)
{
    if (p->model != model)
        return g_strdup_printf("it fits model v%d, this vmmem's is v%d", p->model, model);
    if (g_strcmp0(p->qemu_build_id, qemu_build_id) != 0)
        return g_strdup_printf("it was measured with another qemu (%s, build %.12s), not build "
                               "%.12s",
                               p->qemu_version, p->qemu_build_id,
                               qemu_build_id ? qemu_build_id : "unknown");
    if (g_strcmp0(p->kernel, kernel) != 0)
        return g_strdup_printf("it was measured under kernel %s, this is %s", p->kernel,
                               kernel ? kernel : "unknown");
    return NULL;
}

char *
profile_describe(const Profile *p)
{
    /* "QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22" */
    const char *v = strstr(p->qemu_version, "version ");
    g_autofree char *version = g_strdup(v ? v + strlen("version ") : p->qemu_version);

    g_strdelimit(version, " ", '\0');
    return g_strdup_printf("host profile %.10s, %u measurement(s), qemu %s, kernel %s", p->updated,
                           p->measurements->len, version, p->kernel);
}

/* ---- the profile of this host ---- */

Profile *
profile_for_host(const char *path, bool explicit, const char *qemu_binary, const char *kernel,
                 int model, const uint64_t builtin[PROFILE_N_TERMS], GPtrArray *warnings)
{
    g_autoptr(GError) cause = NULL;
    g_autoptr(Profile) p = NULL;
    g_autofree char *text = NULL, *build_id = NULL, *why = NULL;

    if (!path)
        return NULL;
    if (!g_file_get_contents(path, &text, NULL, &cause)) {
        int e = vmmem_errno_from_file_error(cause);
        if (e != ENOENT || explicit)
            g_ptr_array_add(warnings, g_strdup_printf("profile '%s' not used: cannot read it: %s",
                                                      path, g_strerror(e)));
        return NULL;
    }
    g_clear_error(&cause);
    if (profile_parse(path, text, builtin, &p, &cause) < 0) {
        g_ptr_array_add(warnings, g_strdup_printf("profile not used: %s", cause->message));
        return NULL;
    }
    g_clear_error(&cause);
    /* An unreadable qemu has no build ID to match: the profile cannot be shown to be its. */
    (void)host_read_build_id(qemu_binary, &build_id, NULL);
    why = profile_mismatch(p, model, build_id, kernel);
    if (why) {
        g_ptr_array_add(warnings, g_strdup_printf("profile '%s' not used: %s; run vmmem calibrate "
                                                  "--save-profile again",
                                                  path, why));
        return NULL;
    }
    for (guint i = 0; i < p->notes->len; i++)
        g_ptr_array_add(warnings, g_strdup(g_ptr_array_index(p->notes, i)));
    return g_steal_pointer(&p);
}
