/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvmmem through include/vmmem/vmmem.h only, the way a manager uses it: config, argv -> spec,
 * envelope and its JSON, scope plan, and the dry-run lifecycle.  The other unit tests pin the
 * numbers of each stage; this one pins the contract of the boundary: return values, errno, the
 * argv index of a refusal, one-line messages, out-parameters left alone on failure, NULL
 * handling, and getters that agree with each other and with the JSON.
 *
 * Nothing here may touch a cgroup: scopes are made with VMMEM_SCOPE_DRY_RUN, vmmem_gc() (which
 * has no dry run) is never called, and the lifecycle test checks that the process's cgroup, its
 * open fds and the cgroup2 tree are the same afterwards.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json-check.h"
#include "vmmem/vmmem.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_error, vmmem_error_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_config, vmmem_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_spec, vmmem_spec_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_envelope, vmmem_envelope_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_scope, vmmem_scope_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_calibration, vmmem_calibration_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vmmem_host, vmmem_host_free)

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ARGS   ((const char *const[]){NULL})

#define KiB UINT64_C(1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

#define DEFAULT_QEMU "/usr/bin/qemu-system-x86_64"

/* A 1 GiB KVM guest with no devices: qemu_base + vcpus 512 KiB + kernel_ram (test-overhead.c
 * "minimal kvm").  The library reads this machine's facts, and qemu_base
 * depends on its transparent huge page mode: 33 MiB with THP "always", else 20 MiB, and so does
 * kernel_ram.  So the
 * expectations are made at run time, from the same file; the rows name them. */
#define VM_1G(...)                                                                                 \
    ARGV("-accel", "kvm", "-m", "1G", "-nodefaults", "-display", "none", ##__VA_ARGS__)
enum {
    X_OVERHEAD_1G = 1, /* the overhead of VM_1G() */
    X_MAX_1G,          /* 1 GiB + that */
    X_HIGH_1G,         /* 0.9 x that, down to whole pages */
    X_HALF_MAX_1G,     /* 0.5 x that */
    X_RATIO_1G,        /* the overhead x 1.5, whole pages */
    X_RATIO_MAX_1G,    /* 1 GiB + that */
    X_LAST,
};

static uint64_t overhead_1g;

static gboolean
host_thp_always(void)
{
    g_autofree char *text = NULL;

    /* Unreadable counts as "always", as in host.c. */
    if (!g_file_get_contents("/sys/kernel/mm/transparent_hugepage/enabled", &text, NULL, NULL))
        return TRUE;
    return strstr(text, "[always]") != NULL;
}

/* The value a row's X_ placeholder stands for; any other value is itself. */
static uint64_t
expect(uint64_t v)
{
    uint64_t max = GiB + overhead_1g;

    switch (v) {
    case X_OVERHEAD_1G:
        return overhead_1g;
    case X_MAX_1G:
        return max;
    case X_HIGH_1G:
        return (uint64_t)(0.9 * (double)max) / (4 * KiB) * (4 * KiB);
    case X_HALF_MAX_1G:
        return max / 2;
    case X_RATIO_1G:
        return (overhead_1g * 3 / 2 + 4 * KiB - 1) / (4 * KiB) * (4 * KiB);
    case X_RATIO_MAX_1G:
        return GiB + expect(X_RATIO_1G);
    default:
        return v;
    }
}

#define OVERHEAD_1G expect(X_OVERHEAD_1G)
#define MAX_1G      expect(X_MAX_1G)

static int
count_args(const char *const *argv)
{
    int n = 0;

    while (argv[n])
        n++;
    return n;
}

/* Every error that crosses the boundary: a positive errno and one line of text without a
 * program-name prefix (the launchers add theirs). */
static void
assert_error_shape(const vmmem_error *e, int errnum)
{
    const char *msg = vmmem_error_get_message(e);

    g_assert_nonnull(e);
    g_assert_cmpint(vmmem_error_get_errno(e), ==, errnum);
    g_assert_nonnull(msg);
    g_assert_cmpstr(msg, !=, "");
    g_assert_null(strchr(msg, '\n'));
    g_assert_false(g_str_has_prefix(msg, "vmmem"));
}

/* ---- host facts the expectations depend on (read only) ---- */

typedef struct {
    GPtrArray *cgroup2_mounts; /* char* */
    /* cgroup2 mounted with memory_hugetlb_accounting: hugetlb RAM is then charged to memory. */
    gboolean hugetlb_in_memcg;
} HostMounts;

static HostMounts host;

static void
read_host_mounts(void)
{
    FILE *f = setmntent("/proc/self/mounts", "re");
    struct mntent *m;

    host.cgroup2_mounts = g_ptr_array_new_with_free_func(g_free);
    g_assert_nonnull(f);
    while ((m = getmntent(f))) {
        if (strcmp(m->mnt_type, "cgroup2") != 0)
            continue;
        g_ptr_array_add(host.cgroup2_mounts, g_strdup(m->mnt_dir));
        if (hasmntopt(m, "memory_hugetlb_accounting"))
            host.hugetlb_in_memcg = TRUE;
    }
    endmntent(f);
}

/* The checker (json-check.c) must be able to fail, or the JSON tests prove nothing. */
static void
test_json_checker(void)
{
    static const char *const good[] = {
        "{}",
        "[]",
        "{\"a\": [1, -2.5e3, true, false, null, \"\\u00e9\\n\"]}",
        "0",
    };
    static const char *const bad[] = {
        "",         "{",  "{\"a\" 1}", "{\"a\": 1,}",  "[1 2]",
        "\"a\nb\"", "01", "\"\\x\"",   "{\"a\": 1}\n", "{a: 1}",
        "nul",      "1.", "[]]",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
        assert_json_valid(good[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *p = bad[i];
        g_assert_false(json_value(&p, 0) && *p == '\0');
    }
}

/* ---- version, free functions ---- */

static void
test_version(void)
{
    g_autofree char *header =
        g_strdup_printf("%d.%d.%d", VMMEM_VERSION_MAJOR, VMMEM_VERSION_MINOR, VMMEM_VERSION_MICRO);

    g_assert_true(g_regex_match_simple("^[0-9]+\\.[0-9]+\\.[0-9]+$", vmmem_version(), 0, 0));
    /* The header and the library it is built with say the same version. */
    g_assert_cmpstr(header, ==, vmmem_version());
    g_assert_true(VMMEM_CHECK_VERSION(0, 1, 0));
    g_assert_true(VMMEM_CHECK_VERSION(VMMEM_VERSION_MAJOR, VMMEM_VERSION_MINOR, 0));
    g_assert_false(VMMEM_CHECK_VERSION(VMMEM_VERSION_MAJOR + 1, 0, 0));
    g_assert_false(VMMEM_CHECK_VERSION(VMMEM_VERSION_MAJOR, VMMEM_VERSION_MINOR + 1, 0));
}

static void
test_free_null(void)
{
    vmmem_free(NULL);
    g_assert_null(vmmem_error_free(NULL));
    g_assert_null(vmmem_config_free(NULL));
    g_assert_null(vmmem_spec_free(NULL));
    g_assert_null(vmmem_envelope_free(NULL));
    g_assert_null(vmmem_scope_free(NULL));
    g_assert_null(vmmem_calibration_free(NULL));
}

/* The header's own cleanup helpers, for callers that use __attribute__((cleanup)). */
static void
test_header_cleanup_helpers(void)
{
    __attribute__((cleanup(vmmem_config_freep))) vmmem_config *config = NULL;
    __attribute__((cleanup(vmmem_spec_freep))) vmmem_spec *spec = NULL;
    __attribute__((cleanup(vmmem_envelope_freep))) vmmem_envelope *envelope = NULL;
    __attribute__((cleanup(vmmem_scope_freep))) vmmem_scope *scope = NULL;
    __attribute__((cleanup(vmmem_error_freep))) vmmem_error *error = NULL;
    __attribute__((cleanup(vmmem_scope_freep))) vmmem_scope *never_set = NULL;

    g_assert_cmpint(
        vmmem_config_new(NULL, VMMEM_CONFIG_NO_FILE | VMMEM_CONFIG_IGNORE_ENV, &config, NULL), ==,
        0);
    g_assert_cmpint(vmmem_spec_new_from_argv(2, ARGV("-m", "12Q"), 0, &spec, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_spec_new_from_argv(0, NO_ARGS, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, config, 0, &envelope, NULL), ==, 0);
    g_assert_cmpint(vmmem_scope_new(envelope, config, "cleanup", VMMEM_SCOPE_DRY_RUN, &scope, NULL),
                    ==, 0);
    g_assert_null(never_set);
}

/* ---- config ---- */

typedef struct {
    const char *desc;
    const char *path; /* "@" stands for a temporary file holding @data */
    const char *data;
    unsigned flags;
    const char *env; /* $VMMEM_CONFIG for this row; NULL leaves the test's /dev/null */
    int err;
    const char *message; /* a piece of the message */
    const char *qemu;    /* expected vmmem_config_get_qemu_binary() */
} ConfigNewRow;

#define BOTH (VMMEM_CONFIG_NO_FILE | VMMEM_CONFIG_IGNORE_ENV)

static const ConfigNewRow config_new_rows[] = {
    {"env-dev-null", NULL, .qemu = DEFAULT_QEMU},
    {"no-file-ignore-env", NULL, .flags = BOTH, .env = "/nonexistent/vmmem.conf",
     .qemu = DEFAULT_QEMU},
    {"env-empty-is-unset", NULL, .flags = VMMEM_CONFIG_NO_FILE, .env = "", .qemu = DEFAULT_QEMU},
    {"env-missing", NULL, .env = "/nonexistent/vmmem.conf", .err = ENOENT,
     .message = "/nonexistent/vmmem.conf"},
    {"explicit-dev-null", "/dev/null", .qemu = DEFAULT_QEMU},
    {"explicit-missing", "/nonexistent/vmmem.conf", .err = ENOENT,
     .message = "/nonexistent/vmmem.conf"},
    /* An explicit path is read whatever the flags say. */
    {"explicit-missing-flags", "/nonexistent/vmmem.conf", .flags = BOTH, .err = ENOENT},
    {"explicit-directory", "/", .err = EISDIR},
    {"explicit-wins-over-env", "@", "[vmmem]\nqemu = /opt/qemu/bin/qemu\n",
     .env = "/nonexistent/vmmem.conf", .qemu = "/opt/qemu/bin/qemu"},
    {"env-file", NULL, "[vmmem]\nqemu = /opt/env/qemu\n", .env = "@", .qemu = "/opt/env/qemu"},
    {"file-unknown-key", "@", "[vmmem]\nratoi = 2\n", .err = EINVAL,
     .message = "[vmmem] ratoi = '2': unknown key"},
    {"file-unknown-group", "@", "[vmem]\nratio = 2\n", .err = EINVAL, .message = "[vmem]"},
    {"file-bad-value", "@", "[vm web1]\nratio = 0.5\n", .err = EINVAL,
     .message = "[vm web1] ratio = '0.5': must be between 1.0 and 1000"},
    {"file-global-only-key", "@", "[vm web1]\nparent = x\n", .err = EINVAL,
     .message = "only allowed in [vmmem]"},
    {"file-size-overflow", "@", "[vmmem]\nswap = 99999999999999999999G\n", .err = ERANGE},
    {"file-escaped-newline", "@", "[vmmem]\nratio = 1\\n2\n", .err = EINVAL},
    {"file-not-a-key-file", "@", "this is not a key file\n", .err = EINVAL},
};

static void
test_config_new(gconstpointer data)
{
    const ConfigNewRow *row = data;
    g_autofree char *tmp = NULL;
    vmmem_config *config = NULL;
    vmmem_error *error = NULL;
    const char *path = row->path;
    int r;

    if (row->data) {
        int fd = g_file_open_tmp("vmmem-test-XXXXXX.conf", &tmp, NULL);
        g_assert_cmpint(fd, >=, 0);
        g_assert_true(g_file_set_contents(tmp, row->data, -1, NULL));
        close(fd);
    }
    if (g_strcmp0(path, "@") == 0)
        path = tmp;
    if (row->env)
        g_setenv("VMMEM_CONFIG", strcmp(row->env, "@") == 0 ? tmp : row->env, TRUE);

    r = vmmem_config_new(path, row->flags, &config, &error);
    g_setenv("VMMEM_CONFIG", "/dev/null", TRUE);
    if (tmp)
        g_unlink(tmp);

    if (row->err) {
        g_assert_cmpint(r, ==, -row->err);
        g_assert_null(config);
        assert_error_shape(error, row->err);
        g_assert_cmpint(vmmem_error_get_argv_index(error), ==, -1);
        if (row->message)
            g_assert_nonnull(strstr(vmmem_error_get_message(error), row->message));
        vmmem_error_free(error);
        return;
    }
    g_assert_cmpint(r, ==, 0);
    g_assert_null(error);
    g_assert_nonnull(config);
    g_assert_cmpstr(vmmem_config_get_qemu_binary(config), ==, row->qemu);
    vmmem_config_free(config);
}

typedef struct {
    const char *key, *value;
    int err;
    const char *message; /* exact when it starts with "(override)", else a piece */
    const char *qemu;    /* the binary afterwards; NULL: unchanged (the default) */
} ConfigSetRow;

static const ConfigSetRow config_set_rows[] = {
    {"parent", "machine.slice/vmmem"},
    {"parent", "vmmem.slice"},
    {"swap", "512M"},
    {"swap", "0"},
    {"high", "on"},
    {"high", "off"},
    {"high", "0.5"},
    {"ratio", "1.5"},
    {"ratio", "1000"},
    {"overhead-min", "256M"},
    {"overhead-max", "0"},
    {"protect", "low"},
    {"protect", "min"},
    {"qemu", "/usr/local/bin/qemu-system-x86_64", .qemu = "/usr/local/bin/qemu-system-x86_64"},

    {"nope", "1", EINVAL, "(override): [vmmem] nope = '1': unknown key"},
    {"ratio[de]", "2", EINVAL, "unknown key"},
    {"", "1", EINVAL, "unknown key"},
    {"ratio", "0.5", EINVAL, "(override): [vmmem] ratio = '0.5': must be between 1.0 and 1000"},
    {"ratio", "1001", EINVAL, "must be between"},
    {"ratio", "inf", EINVAL, "not a decimal number"},
    {"ratio", "0x2", EINVAL, "not a decimal number"},
    {"ratio", "1,5", EINVAL, "not a decimal number"},
    {"ratio", " 1.5", EINVAL, "not a decimal number"},
    {"ratio", "1.5\n2", EINVAL, "ratio = '1.5\\x0a2'"},
    {"high", "1", EINVAL, "must be off, on or a fraction"},
    {"high", "0", EINVAL, "must be off, on or a fraction"},
    {"high", "max", EINVAL, "must be off, on or a fraction"},
    {"swap", "12Q", EINVAL, "not a size"},
    {"swap", "-1", EINVAL, "not a size"},
    {"swap", "99999999999999999999G", ERANGE, "does not fit in 64 bits"},
    {"overhead-max", "1G1", EINVAL, "not a size"},
    {"protect", "max", EINVAL, "must be off, low or min"},
    {"qemu", "qemu-system-x86_64", EINVAL, "must be an absolute path"},
    {"parent", "/vmmem.slice", EINVAL, "no leading '/'"},
    {"parent", "a/../b", EINVAL, "'..' component"},
    {"parent", "a//b", EINVAL, "empty"},
    {"parent", "", EINVAL, "empty"},
    {"parent", "a\x01", EINVAL, "control characters"},
};

static void
test_config_set(gconstpointer data)
{
    const ConfigSetRow *row = data;
    g_autoptr(vmmem_config) config = NULL;
    vmmem_error *error = NULL;
    int r;

    g_assert_cmpint(vmmem_config_new(NULL, BOTH, &config, NULL), ==, 0);
    r = vmmem_config_set(config, row->key, row->value, &error);
    /* A refused override changes nothing. */
    g_assert_cmpstr(vmmem_config_get_qemu_binary(config), ==, row->qemu ? row->qemu : DEFAULT_QEMU);
    if (!row->err) {
        g_assert_cmpint(r, ==, 0);
        g_assert_null(error);
        return;
    }
    g_assert_cmpint(r, ==, -row->err);
    assert_error_shape(error, row->err);
    g_assert_cmpint(vmmem_error_get_argv_index(error), ==, -1);
    if (g_str_has_prefix(row->message, "(override)"))
        g_assert_cmpstr(vmmem_error_get_message(error), ==, row->message);
    else
        g_assert_nonnull(strstr(vmmem_error_get_message(error), row->message));
    vmmem_error_free(error);
}

/* overhead-min above overhead-max is refused as a whole, and the policy before it stays. */
static void
test_config_set_atomic(void)
{
    g_autoptr(vmmem_config) config = NULL;
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    g_autoptr(vmmem_error) error = NULL;
    const char *const *argv = VM_1G();

    g_assert_cmpint(vmmem_config_new(NULL, BOTH, &config, NULL), ==, 0);
    g_assert_cmpint(vmmem_config_set(config, "overhead-min", "256M", NULL), ==, 0);
    g_assert_cmpint(vmmem_config_set(config, "overhead-max", "128M", &error), ==, -EINVAL);
    assert_error_shape(error, EINVAL);
    g_assert_nonnull(strstr(vmmem_error_get_message(error), "exceeds overhead-max"));

    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, config, 0, &envelope, NULL), ==, 0);
    g_assert_cmpuint(vmmem_envelope_get_overhead(envelope), ==, 256 * MiB);
}

/* [vm NAME] applies to that VM only, keyed by -name guest=NAME. */
static void
test_config_per_vm(void)
{
    static const struct {
        const char *name;
        uint64_t high, swap;
    } vms[] = {
        {"web1", X_HIGH_1G, 0},
        {"web2", VMMEM_LIMIT_MAX, 512 * MiB},
    };
    g_autofree char *path = NULL;
    g_autoptr(vmmem_config) config = NULL;
    int fd = g_file_open_tmp("vmmem-test-XXXXXX.conf", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(
        path, "[vmmem]\nswap = 512M\n\n[vm web1]\nhigh = on\nswap = 0\n", -1, NULL));
    g_assert_cmpint(vmmem_config_new(path, 0, &config, NULL), ==, 0);
    g_unlink(path);

    for (size_t i = 0; i < G_N_ELEMENTS(vms); i++) {
        g_autofree char *name = g_strdup_printf("guest=%s", vms[i].name);
        const char *const *argv = VM_1G("-name", name);
        g_autoptr(vmmem_spec) spec = NULL;
        g_autoptr(vmmem_envelope) envelope = NULL;

        g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
        g_assert_cmpint(vmmem_envelope_new(spec, config, 0, &envelope, NULL), ==, 0);
        g_assert_cmpuint(vmmem_envelope_get_memory_high(envelope), ==, expect(vms[i].high));
        g_assert_cmpuint(vmmem_envelope_get_swap_max(envelope), ==, vms[i].swap);
    }
}

/* vmmem_config_get(): the policy a VM gets, [vm NAME] over [vmmem] key by key. */
static const char config_get_file[] = "[vmmem]\n"
                                      "ratio = 1.25\n"
                                      "swap = 512M\n"
                                      "high = 0.85\n"
                                      "overhead-min = 64M\n"
                                      "policy = fail-open\n"
                                      "domain-env = ratio, swap\n"
                                      "profile = none\n"
                                      "\n"
                                      "[vm web1]\n"
                                      "high = off\n"
                                      "swap = 0\n"
                                      "ratio = 2.000001\n"
                                      "protect = min\n"
                                      "policy = strict\n"
                                      "seccomp = on\n";

static const struct {
    const char *name;
    const char *vm; /* NULL: [vmmem] */
    const char *key;
    const char *value; /* NULL: refused */
    int r;
} config_get_rows[] = {
    {"global-ratio", NULL, "ratio", "1.25", 0},
    {"vm-ratio", "web1", "ratio", "2.000001", 0},
    {"other-vm-ratio", "web2", "ratio", "1.25", 0},
    {"global-swap", NULL, "swap", "536870912", 0},
    {"vm-swap-off", "web1", "swap", "0", 0},
    {"global-high", NULL, "high", "0.85", 0},
    {"vm-high-off", "web1", "high", "off", 0},
    {"inherited-min", "web1", "overhead-min", "67108864", 0},
    {"overhead-max-none", NULL, "overhead-max", "0", 0},
    {"global-protect", NULL, "protect", "off", 0},
    {"vm-protect", "web1", "protect", "min", 0},
    {"global-policy", NULL, "policy", "fail-open", 0},
    {"vm-policy", "web1", "policy", "strict", 0},
    {"global-seccomp", NULL, "seccomp", "off", 0},
    {"vm-seccomp", "web1", "seccomp", "on", 0},
    {"domain-env", NULL, "domain-env", "swap,ratio", 0},
    {"global-key-for-vm", "web1", "domain-env", "swap,ratio", 0},
    {"profile-none", NULL, "profile", "none", 0},
    {"parent", NULL, "parent", "vmmem.slice", 0},
    {"protect-max", NULL, "protect-max", "0", 0},
    {"unknown-key", NULL, "rato", NULL, -ENOENT},
    {"group-name-not-key", NULL, "vm web1", NULL, -ENOENT},
};

static vmmem_config *
config_from_text(const char *text)
{
    g_autofree char *path = NULL;
    vmmem_config *config = NULL;
    int fd = g_file_open_tmp("vmmem-test-XXXXXX.conf", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    g_assert_cmpint(vmmem_config_new(path, 0, &config, NULL), ==, 0);
    g_unlink(path);
    return config;
}

static void
test_config_get(gconstpointer data)
{
    typeof(config_get_rows[0]) *row = data;
    g_autoptr(vmmem_config) config = config_from_text(config_get_file);
    vmmem_error *error = NULL;
    char *value = NULL;
    int r;

    r = vmmem_config_get(config, row->vm, row->key, &value, &error);
    g_assert_cmpint(r, ==, row->r);
    g_assert_cmpstr(value, ==, row->value);
    if (r < 0) {
        g_assert_nonnull(strstr(vmmem_error_get_message(error), row->key));
        vmmem_error_free(error);
    }
    vmmem_free(value);
}

/* What vmmem_config_get() gives, vmmem_config_set() takes back to the same setting: every key,
 * at its default and at a value set. */
static void
test_config_get_round_trip(void)
{
    static const char *const set[] = {
        "qemu",
        "/opt/qemu/bin/qemu-system-x86_64",
        "parent",
        "machine.slice/vms",
        "ratio",
        "1.000001",
        "overhead-min",
        "1G",
        "overhead-max",
        "3G",
        "high",
        "0.999999",
        "swap",
        "1",
        "protect",
        "low",
        "policy",
        "fail-open",
        "seccomp",
        "on",
        "helper-socket",
        "/run/x.sock",
        "profile",
        "/var/lib/vmmem/p.conf",
        "domain-env",
        "seccomp,qemu,policy",
        "protect-max",
        "2G",
        "backend",
        "systemd",
        "slice",
        "machine-vms.slice",
        NULL,
    };
    g_autoptr(vmmem_config) config = config_from_text("");

    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; set[i]; i += 2) {
            char *before = NULL, *after = NULL;

            g_assert_cmpint(vmmem_config_get(config, NULL, set[i], &before, NULL), ==, 0);
            g_assert_cmpint(vmmem_config_set(config, set[i], before, NULL), ==, 0);
            g_assert_cmpint(vmmem_config_get(config, NULL, set[i], &after, NULL), ==, 0);
            g_assert_cmpstr(after, ==, before);
            vmmem_free(before);
            vmmem_free(after);
        }
        /* The second pass round-trips values that are not the defaults. */
        for (size_t i = 0; pass == 0 && set[i]; i += 2)
            g_assert_cmpint(vmmem_config_set(config, set[i], set[i + 1], NULL), ==, 0);
    }
}

/* @set: key, value, ..., NULL; NULL for none. */
static void
apply_settings(vmmem_config *config, const char *const *set)
{
    for (size_t i = 0; set && set[i]; i += 2)
        g_assert_cmpint(vmmem_config_set(config, set[i], set[i + 1], NULL), ==, 0);
}

/* ---- argv -> spec ---- */

typedef struct {
    const char *desc;
    const char *const *argv;
    int err;
    int bad_index;
    uint64_t guest_ram;
    uint64_t hugetlb_ram;
    unsigned vcpus;
    const char *name;
    gboolean probe;
} SpecRow;

static const SpecRow spec_rows[] = {
    /* qemu's defaults: 128 MiB, one vCPU. */
    {"no-arguments", NO_ARGS, .guest_ram = 128 * MiB, .vcpus = 1},
    {"kvm-web1", ARGV("-name", "guest=web1", "-m", "2G", "-smp", "4", "-accel", "kvm"),
     .guest_ram = 2 * GiB, .vcpus = 4, .name = "web1"},
    {"bare-name", ARGV("-name", "web2", "-m", "512"), .guest_ram = 512 * MiB, .vcpus = 1,
     .name = "web2"},
    /* ",," is a literal comma; 214 MiB is what libvirt passes for 219136 KiB. */
    {"name-escape", ARGV("-name", "guest=foo=1,,bar=2,debug-threads=on", "-m", "214"),
     .guest_ram = 214 * MiB, .vcpus = 1, .name = "foo=1,bar=2"},
    {"smp-topology", ARGV("-m", "1G", "-smp", "8,sockets=2,cores=2,threads=2"), .guest_ram = GiB,
     .vcpus = 8},
    {"smp-maxcpus", ARGV("-m", "1G", "-smp", "2,maxcpus=8"), .guest_ram = GiB, .vcpus = 2},
    {"dimm-hotplug",
     ARGV("-m", "1G,slots=2,maxmem=4G", "-object", "memory-backend-ram,id=d0,size=1G", "-device",
          "pc-dimm,id=dimm0,memdev=d0"),
     .guest_ram = 2 * GiB, .vcpus = 1},
    /* memfd hugetlb=on is hugetlb whatever is mounted where. */
    {"memfd-hugetlb",
     ARGV("-m", "2G", "-object", "memory-backend-memfd,id=mem,size=2G,hugetlb=on,share=on",
          "-machine", "q35,memory-backend=mem", "-nodefaults"),
     .hugetlb_ram = 2 * GiB, .vcpus = 1},
    {"memfd-shared",
     ARGV("-m", "1G", "-object", "memory-backend-memfd,id=mem,size=1G,share=on", "-machine",
          "memory-backend=mem"),
     .guest_ram = GiB, .vcpus = 1},

    /* Probes make no guest RAM and are never refused. */
    {"probe-machine-none",
     ARGV("-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=kvm:tcg",
          "-qmp", "unix:/var/lib/libvirt/qemu/qmp.monitor,server=on,wait=off", "-pidfile",
          "/var/lib/libvirt/qemu/qmp.pid", "-daemonize"),
     .vcpus = 1, .probe = TRUE},
    {"probe-version", ARGV("-version"), .vcpus = 1, .probe = TRUE},
    {"probe-device-help", ARGV("-device", "help"), .vcpus = 1, .probe = TRUE},
    {"probe-bad-memory", ARGV("-m", "12Q", "-version"), .vcpus = 1, .probe = TRUE},

    {"refuse-m", ARGV("-m", "12Q"), EINVAL, 1},
    {"refuse-m-later", ARGV("-smp", "2", "-m", "12Q"), EINVAL, 3},
    {"refuse-m-size-key", ARGV("-name", "vm", "-m", "size=12Q"), EINVAL, 3},
    {"refuse-missing-argument", ARGV("-smp", "2", "-m"), EINVAL, 2},
    {"refuse-overflow", ARGV("-m", "99999999999999999999G"), ERANGE, 1},
    {"refuse-readconfig", ARGV("-m", "1G", "-readconfig", "/etc/qemu/vm.cfg"), EOPNOTSUPP, 3},
    {"refuse-memdev-missing", ARGV("-m", "1G", "-numa", "node,memdev=ram9"), EINVAL, 3},
    {"refuse-smp", ARGV("-smp", "two"), EINVAL, 1},
    {"refuse-first-of-two", ARGV("-m", "12Q", "-numa", "node,memdev=x"), EINVAL, 1},
};

static void
test_spec(gconstpointer data)
{
    const SpecRow *row = data;
    vmmem_spec *spec = NULL;
    vmmem_error *error = NULL;
    uint64_t guest = row->guest_ram, huge = row->hugetlb_ram;
    int r = vmmem_spec_new_from_argv(count_args(row->argv), row->argv, 0, &spec, &error);

    if (row->err) {
        g_assert_cmpint(r, ==, -row->err);
        g_assert_null(spec);
        assert_error_shape(error, row->err);
        g_assert_cmpint(vmmem_error_get_argv_index(error), ==, row->bad_index);
        /* The message names the offending option or its value, as qemu got it. */
        g_assert_true(strstr(vmmem_error_get_message(error), row->argv[row->bad_index]) ||
                      (row->bad_index > 0 &&
                       strstr(vmmem_error_get_message(error), row->argv[row->bad_index - 1])));
        vmmem_error_free(error);
        return;
    }
    g_assert_cmpint(r, ==, 0);
    g_assert_null(error);
    if (host.hugetlb_in_memcg) {
        guest += huge;
        huge = 0;
    }
    g_assert_cmpint(vmmem_spec_is_probe(spec), ==, row->probe);
    g_assert_cmpuint(vmmem_spec_get_guest_ram(spec), ==, guest);
    g_assert_cmpuint(vmmem_spec_get_hugetlb_ram(spec), ==, huge);
    g_assert_cmpuint(vmmem_spec_get_vcpus(spec), ==, row->vcpus);
    g_assert_cmpstr(vmmem_spec_get_name(spec), ==, row->name);
    g_assert_null(vmmem_spec_free(spec));
}

/* ---- envelope and JSON ---- */

typedef struct {
    const char *desc;
    const char *const *argv;
    const char *const *set; /* vmmem_config_set() key/value pairs */
    uint64_t overhead;      /* 0: not checked exactly */
    uint64_t memory_max;    /* 0: not checked exactly */
    uint64_t memory_high;   /* 0 means VMMEM_LIMIT_MAX */
    uint64_t swap_max;
    const char *last_component; /* NULL: not checked */
    gboolean probe;
} EnvelopeRow;

static const EnvelopeRow envelope_rows[] = {
    {"defaults", VM_1G(), NO_ARGS, X_OVERHEAD_1G, X_MAX_1G, .last_component = "kernel_ram"},
    {"high-on", VM_1G(), ARGV("high", "on"), X_OVERHEAD_1G, X_MAX_1G, X_HIGH_1G},
    {"high-fraction", VM_1G(), ARGV("high", "0.5"), X_OVERHEAD_1G, X_MAX_1G, X_HALF_MAX_1G},
    {"swap", VM_1G(), ARGV("swap", "512M"), X_OVERHEAD_1G, X_MAX_1G, .swap_max = 512 * MiB},
    /* Limits are whole 4 KiB pages: swap is rounded up. */
    {"swap-rounded", VM_1G(), ARGV("swap", "1000"), X_OVERHEAD_1G, X_MAX_1G, .swap_max = 4 * KiB},
    {"ratio", VM_1G(), ARGV("ratio", "1.5"), X_RATIO_1G, X_RATIO_MAX_1G,
     .last_component = "policy_ratio"},
    {"overhead-min", VM_1G(), ARGV("overhead-min", "256M"), 256 * MiB, GiB + 256 * MiB,
     .last_component = "policy_min"},
    {"overhead-max", VM_1G(), ARGV("overhead-max", "16M"), 16 * MiB, GiB + 16 * MiB,
     .last_component = "policy_max"},
    {"everything", VM_1G("-name", "guest=web1"),
     ARGV("high", "on", "swap", "1G", "protect", "min", "ratio", "1.5", "overhead-max", "32M"),
     /* 0.9 x 1107296256 = 996566630.4, down to 243302 pages. */
     32 * MiB, GiB + 32 * MiB, UINT64_C(996564992), GiB, "policy_max"},
    {"tcg-devices", ARGV("-accel", "tcg", "-m", "2G", "-smp", "2", "-vnc", ":0")},
    {"hugetlb", ARGV("-accel", "kvm", "-m", "2G", "-object",
                     "memory-backend-memfd,id=mem,size=2G,hugetlb=on,share=on", "-machine",
                     "q35,memory-backend=mem", "-nodefaults")},
    {"probe", ARGV("-machine", "none"), .probe = TRUE},
};

static void
assert_components(const vmmem_envelope *envelope, const EnvelopeRow *row)
{
    size_t n = vmmem_envelope_get_n_components(envelope);
    uint64_t sum = 0;
    const char *name = NULL, *source = NULL;
    uint64_t bytes = 0;

    for (size_t i = 0; i < n; i++) {
        g_assert_cmpint(vmmem_envelope_get_component(envelope, i, &name, &bytes, &source), ==, 0);
        g_assert_nonnull(name);
        g_assert_nonnull(source);
        g_assert_null(strchr(source, '\n'));
        g_assert_cmpuint(bytes % (4 * KiB), ==, 0);
        sum += bytes;
    }
    /* Every out-parameter may be NULL; past the end is ERANGE and writes nothing. */
    if (n > 0)
        g_assert_cmpint(vmmem_envelope_get_component(envelope, 0, NULL, NULL, NULL), ==, 0);
    name = "untouched";
    g_assert_cmpint(vmmem_envelope_get_component(envelope, n, &name, &bytes, &source), ==, -ERANGE);
    g_assert_cmpstr(name, ==, "untouched");

    if (row->probe) {
        g_assert_cmpuint(n, ==, 0);
        return;
    }
    g_assert_cmpuint(n, >=, 3);
    vmmem_envelope_get_component(envelope, 0, &name, NULL, NULL);
    g_assert_cmpstr(name, ==, "qemu_base");
    vmmem_envelope_get_component(envelope, n - 1, &name, &bytes, &source);
    if (row->last_component)
        g_assert_cmpstr(name, ==, row->last_component);
    if (strcmp(name, "policy_max") == 0) {
        /* The cap: 0 bytes, the others add up to the uncapped estimate, above the overhead. */
        g_assert_cmpuint(bytes, ==, 0);
        g_assert_nonnull(strstr(source, "capped"));
        g_assert_cmpuint(sum, >, vmmem_envelope_get_overhead(envelope));
    } else {
        g_assert_cmpuint(sum, ==, vmmem_envelope_get_overhead(envelope));
    }
}

static void
assert_json(const vmmem_envelope *envelope, const vmmem_spec *spec)
{
    static const char *const contract[] = {
        "vm",         "probe",       "guest_ram", "hugetlb_ram", "overhead",
        "memory_max", "memory_high", "swap_max",  "memory_low",  "memory_min",
        "oom_group",  "components",  "model",     "warnings",    "host",
    };
    g_autofree char *json = NULL;
    gboolean probe = vmmem_spec_is_probe(spec);
    uint64_t high = vmmem_envelope_get_memory_high(envelope);
    uint64_t swap = vmmem_envelope_get_swap_max(envelope);
    size_t n = vmmem_envelope_get_n_components(envelope);
    const char *value;

    g_assert_cmpint(vmmem_envelope_to_json(envelope, 0, &json, NULL), ==, 0);
    g_assert_nonnull(json);
    assert_json_valid(json);
    g_assert_true(g_str_has_prefix(json, "{\n"));
    for (size_t i = 0; i < G_N_ELEMENTS(contract); i++)
        json_top_value(json, contract[i]);

    value = json_top_value(json, "probe");
    g_assert_true(g_str_has_prefix(value, probe ? "true," : "false,"));
    assert_json_u64_or_null(json, "guest_ram", TRUE, vmmem_envelope_get_guest_ram(envelope));
    assert_json_u64_or_null(json, "hugetlb_ram", TRUE, vmmem_envelope_get_hugetlb_ram(envelope));
    assert_json_u64_or_null(json, "overhead", TRUE, vmmem_envelope_get_overhead(envelope));
    /* A limit vmmem does not set is null, never 0 or a sentinel. */
    assert_json_u64_or_null(json, "memory_max", !probe, vmmem_envelope_get_memory_max(envelope));
    assert_json_u64_or_null(json, "memory_high", !probe && high != VMMEM_LIMIT_MAX, high);
    assert_json_u64_or_null(json, "swap_max", !probe && swap != 0, swap);
    value = json_top_value(json, "oom_group");
    g_assert_true(g_str_has_prefix(value, probe ? "false," : "true,"));

    value = json_top_value(json, "components");
    if (n == 0)
        g_assert_true(g_str_has_prefix(value, "[],\n"));
    for (size_t i = 0; i < n; i++) {
        const char *name;
        g_autofree char *needle = NULL;

        vmmem_envelope_get_component(envelope, i, &name, NULL, NULL);
        needle = g_strdup_printf("\"name\": \"%s\"", name);
        g_assert_nonnull(strstr(value, needle));
    }
    /* No profile on the machine that runs the tests (VMMEM_CONFIG=/dev/null): the built-in
     * model, no warnings. */
    value = json_top_value(json, "model");
    g_assert_true(g_str_has_prefix(value, "{\n    \"version\": 2,\n    \"profile\": null\n  },"));
    value = json_top_value(json, "warnings");
    g_assert_true(g_str_has_prefix(value, "[],\n"));
    /* The host it planned for: this machine, as vmmem_host_new_local() reads it. */
    {
        g_autoptr(vmmem_host) local = NULL;
        g_autofree char *host_json = NULL, *indented = NULL;
        g_auto(GStrv) lines = NULL;

        g_assert_cmpint(vmmem_host_new_local(0, &local, NULL), ==, 0);
        g_assert_cmpint(vmmem_host_to_json(local, 0, &host_json, NULL), ==, 0);
        lines = g_strsplit(host_json, "\n", -1);
        indented = g_strjoinv("\n  ", lines);
        value = json_top_value(json, "host");
        g_assert_true(g_str_has_prefix(value, indented));
        g_assert_cmpstr(value + strlen(indented), ==, "\n}");
    }
    if (vmmem_spec_get_name(spec)) {
        g_autofree char *needle = g_strdup_printf("\"name\": \"%s\"", vmmem_spec_get_name(spec));
        g_assert_nonnull(strstr(json, needle));
    } else {
        g_assert_nonnull(strstr(json, "\"name\": null"));
    }
}

static void
test_envelope(gconstpointer data)
{
    const EnvelopeRow *row = data;
    g_autoptr(vmmem_config) config = NULL;
    g_autoptr(vmmem_spec) spec = NULL;
    vmmem_envelope *envelope = NULL;
    vmmem_error *error = NULL;
    uint64_t guest, overhead, max;

    g_assert_cmpint(vmmem_config_new(NULL, BOTH, &config, NULL), ==, 0);
    apply_settings(config, row->set);
    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(row->argv), row->argv, 0, &spec, NULL), ==,
                    0);
    g_assert_cmpint(vmmem_envelope_new(spec, config, 0, &envelope, &error), ==, 0);
    g_assert_null(error);

    guest = vmmem_envelope_get_guest_ram(envelope);
    overhead = vmmem_envelope_get_overhead(envelope);
    max = vmmem_envelope_get_memory_max(envelope);
    g_assert_cmpuint(guest, ==, vmmem_spec_get_guest_ram(spec));
    g_assert_cmpuint(vmmem_envelope_get_hugetlb_ram(envelope), ==,
                     vmmem_spec_get_hugetlb_ram(spec));
    if (row->probe) {
        g_assert_cmpuint(guest, ==, 0);
        g_assert_cmpuint(overhead, ==, 0);
        g_assert_cmpuint(max, ==, 0);
    } else {
        /* Hugetlb RAM is not part of memory.max (it has its own controller). */
        g_assert_cmpuint(max, ==, guest + overhead);
        g_assert_cmpuint(max % (4 * KiB), ==, 0);
        g_assert_cmpuint(overhead, >, 0);
        g_assert_cmpuint(vmmem_envelope_get_memory_high(envelope), ==,
                         row->memory_high ? expect(row->memory_high) : VMMEM_LIMIT_MAX);
        g_assert_cmpuint(vmmem_envelope_get_swap_max(envelope), ==, row->swap_max);
        g_assert_cmpint(vmmem_envelope_get_oom_group(envelope), ==, 1);
    }
    if (row->probe)
        g_assert_cmpint(vmmem_envelope_get_oom_group(envelope), ==, 0);
    /* protect = min|low: the guest RAM (whole pages here), in exactly one of the two. */
    {
        const char *protect = NULL;
        for (int i = 0; row->set && row->set[i] && row->set[i + 1]; i += 2)
            if (strcmp(row->set[i], "protect") == 0)
                protect = row->set[i + 1];
        g_assert_cmpuint(vmmem_envelope_get_memory_min(envelope), ==,
                         g_strcmp0(protect, "min") == 0 ? guest : 0);
        g_assert_cmpuint(vmmem_envelope_get_memory_low(envelope), ==,
                         g_strcmp0(protect, "low") == 0 ? guest : 0);
    }
    if (row->overhead)
        g_assert_cmpuint(overhead, ==, expect(row->overhead));
    if (row->memory_max)
        g_assert_cmpuint(max, ==, expect(row->memory_max));

    assert_components(envelope, row);
    assert_json(envelope, spec);
    vmmem_envelope_free(envelope);
}

/* A NULL config is the built-in defaults. */
static void
test_envelope_null_config(void)
{
    const char *const *argv = VM_1G();
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;

    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, NULL, 0, &envelope, NULL), ==, 0);
    g_assert_cmpuint(vmmem_envelope_get_memory_max(envelope), ==, MAX_1G);
    g_assert_cmpuint(vmmem_envelope_get_memory_high(envelope), ==, VMMEM_LIMIT_MAX);
    g_assert_cmpuint(vmmem_envelope_get_swap_max(envelope), ==, 0);
}

/* The envelope keeps what it needs of its spec: the caller may free the spec first. */
static void
test_envelope_outlives_spec(void)
{
    const char *const *argv = VM_1G("-name", "guest=web1");
    vmmem_spec *spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    g_autoptr(vmmem_scope) scope = NULL;
    g_autofree char *json = NULL;

    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, NULL, 0, &envelope, NULL), ==, 0);
    g_assert_null(vmmem_spec_free(spec));

    g_assert_cmpint(vmmem_envelope_to_json(envelope, 0, &json, NULL), ==, 0);
    assert_json_valid(json);
    g_assert_nonnull(strstr(json, "\"name\": \"web1\""));
    g_assert_cmpint(vmmem_scope_new(envelope, NULL, NULL, VMMEM_SCOPE_DRY_RUN, &scope, NULL), ==,
                    0);
    g_assert_cmpstr(vmmem_scope_get_path(scope), ==, "vmmem.slice/vmmem-web1.scope");
}

/* A VM name is bytes from argv; the JSON escapes it (docs/json.md, "Encoding"). */
static void
test_json_hostile_name(void)
{
    static const struct {
        const char *arg, *json;
    } rows[] = {
        {"guest=a\"b\\c", "\"name\": \"a\\\"b\\\\c\""},
        {"guest=x\x01y\x1fz\x7f", "\"name\": \"x\\u0001y\\u001fz\\u007f\""},
        {"guest=caf\xc3\xa9", "\"name\": \"caf\xc3\xa9\""},
        {"guest=\xff\xfe", "\"name\": \"\\ufffd\\ufffd\""},
        {"guest=a\nb", "\"name\": \"a\\u000ab\""},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        const char *const *argv = VM_1G("-name", rows[i].arg);
        g_autoptr(vmmem_spec) spec = NULL;
        g_autoptr(vmmem_envelope) envelope = NULL;
        g_autofree char *json = NULL;

        g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
        g_assert_cmpint(vmmem_envelope_new(spec, NULL, 0, &envelope, NULL), ==, 0);
        g_assert_cmpint(vmmem_envelope_to_json(envelope, 0, &json, NULL), ==, 0);
        assert_json_valid(json);
        g_assert_nonnull(strstr(json, rows[i].json));
    }
}

/* ---- scope plan ---- */

typedef struct {
    const char *desc;
    const char *const *argv;
    const char *const *set;
    const char *name; /* vmmem_scope_new()'s @name */
    /* NULL: "vmmem.slice/vmmem-pid-<getpid()>.scope"; "@RANDOM": "vm-" and 16 hex digits */
    const char *path;
    const char *const *writes; /* file, value, ... */
    int err;
    unsigned flags; /* more vmmem_scope_new() flags than VMMEM_SCOPE_DRY_RUN */
} ScopeRow;

/* "@MAX_1G" and "@HIGH_1G" stand for expect(X_MAX_1G) and expect(X_HIGH_1G). */
#define WRITES_1G                                                                                  \
    ARGV("memory.oom.group", "1", "memory.swap.max", "0", "memory.high", "max", "memory.max",      \
         "@MAX_1G")

/* One byte over the 200 that docs/cgroup-layout.md allows. */
#define NAME_20  "abcdefghijklmnopqrst"
#define NAME_201 NAME_20 NAME_20 NAME_20 NAME_20 NAME_20 NAME_20 NAME_20 NAME_20 NAME_20 NAME_20 "u"

static const ScopeRow scope_rows[] = {
    {"spec-name", VM_1G("-name", "guest=web1"), NO_ARGS, NULL, "vmmem.slice/vmmem-web1.scope",
     WRITES_1G},
    {"explicit-name-wins", VM_1G("-name", "guest=web1"), NO_ARGS, "db1",
     "vmmem.slice/vmmem-db1.scope", WRITES_1G},
    {"pid-fallback", VM_1G(), NO_ARGS, NULL, NULL, WRITES_1G, .flags = VMMEM_SCOPE_NAME_PID},
    /* A manager's unnamed VMs: each its own scope, never the manager's pid. */
    {"random-fallback", VM_1G(), NO_ARGS, NULL, "@RANDOM", WRITES_1G},
    {"pid-flag-spec-name-wins", VM_1G("-name", "guest=web1"), NO_ARGS, NULL,
     "vmmem.slice/vmmem-web1.scope", WRITES_1G, .flags = VMMEM_SCOPE_NAME_PID},
    {"escaped", VM_1G(), NO_ARGS, "my vm", "vmmem.slice/vmmem-my\\x20vm.scope", WRITES_1G},
    {"escaped-leading-dot", VM_1G(), NO_ARGS, ".hidden", "vmmem.slice/vmmem-\\x2ehidden.scope",
     WRITES_1G},
    {"parent", VM_1G("-name", "guest=web1"), ARGV("parent", "machine.slice/vmmem"), NULL,
     "machine.slice/vmmem/vmmem-web1.scope", WRITES_1G},
    /* oom.group first, protections, then from the softest limit to memory.max. */
    {"protect-min", VM_1G("-name", "guest=web1"),
     ARGV("high", "on", "swap", "512M", "protect", "min"), NULL, "vmmem.slice/vmmem-web1.scope",
     ARGV("../memory.min", "max", "memory.oom.group", "1", "memory.min", "1073741824",
          "memory.swap.max", "536870912", "memory.high", "@HIGH_1G", "memory.max", "@MAX_1G")},
    {"protect-low", VM_1G("-name", "guest=web1"), ARGV("protect", "low"), NULL,
     "vmmem.slice/vmmem-web1.scope",
     ARGV("../memory.low", "max", "memory.oom.group", "1", "memory.low", "1073741824",
          "memory.swap.max", "0", "memory.high", "max", "memory.max", "@MAX_1G")},

    {"hostile-slash", VM_1G(), NO_ARGS, "a/b", .err = EINVAL},
    {"hostile-dotdot", VM_1G(), NO_ARGS, "..", .err = EINVAL},
    {"hostile-dot", VM_1G(), NO_ARGS, ".", .err = EINVAL},
    {"hostile-empty", VM_1G(), NO_ARGS, "", .err = EINVAL},
    {"hostile-control", VM_1G(), NO_ARGS, "\x01", .err = EINVAL},
    {"hostile-newline", VM_1G(), NO_ARGS, "a\nb", .err = EINVAL},
    {"hostile-del", VM_1G(), NO_ARGS, "a\x7f", .err = EINVAL},
    {"hostile-too-long", VM_1G(), NO_ARGS, NAME_201, .err = EINVAL},
    {"hostile-spec-name", VM_1G("-name", "guest=../../x"), NO_ARGS, NULL, .err = EINVAL},
    {"probe-has-no-scope", ARGV("-machine", "none"), NO_ARGS, "probe", .err = EINVAL},
};

/* The scope's writes against @writes (file, value, ...); returns how many. */
static size_t
assert_writes(const vmmem_scope *scope, const char *const *writes)
{
    size_t n = vmmem_scope_get_n_writes(scope);
    const char *file, *value;

    g_assert_cmpuint(n, ==, (size_t)count_args(writes) / 2);
    for (size_t i = 0; i < n; i++) {
        const char *want = writes[2 * i + 1];
        g_autofree char *made = NULL;

        if (strcmp(want, "@MAX_1G") == 0)
            want = made = g_strdup_printf("%" G_GUINT64_FORMAT, expect(X_MAX_1G));
        else if (strcmp(want, "@HIGH_1G") == 0)
            want = made = g_strdup_printf("%" G_GUINT64_FORMAT, expect(X_HIGH_1G));
        g_assert_cmpint(vmmem_scope_get_write(scope, i, &file, &value), ==, 0);
        g_assert_cmpstr(file, ==, writes[2 * i]);
        g_assert_cmpstr(value, ==, want);
    }
    return n;
}

static void
test_scope(gconstpointer data)
{
    const ScopeRow *row = data;
    g_autoptr(vmmem_config) config = NULL;
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    g_autofree char *fallback = NULL;
    vmmem_scope *scope = NULL;
    vmmem_error *error = NULL;
    const char *file = "untouched", *value = "untouched";
    size_t n;
    int r;

    g_assert_cmpint(vmmem_config_new(NULL, BOTH, &config, NULL), ==, 0);
    apply_settings(config, row->set);
    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(row->argv), row->argv, 0, &spec, NULL), ==,
                    0);
    g_assert_cmpint(vmmem_envelope_new(spec, config, 0, &envelope, NULL), ==, 0);

    r = vmmem_scope_new(envelope, config, row->name, VMMEM_SCOPE_DRY_RUN | row->flags, &scope,
                        &error);
    if (row->err) {
        g_assert_cmpint(r, ==, -row->err);
        g_assert_null(scope);
        assert_error_shape(error, row->err);
        g_assert_cmpint(vmmem_error_get_argv_index(error), ==, -1);
        vmmem_error_free(error);
        return;
    }
    g_assert_cmpint(r, ==, 0);
    g_assert_null(error);

    if (!row->path)
        fallback = g_strdup_printf("vmmem.slice/vmmem-pid-%d.scope", (int)getpid());
    if (row->path && strcmp(row->path, "@RANDOM") == 0)
        g_assert_true(g_regex_match_simple("^vmmem\\.slice/vmmem-vm-[0-9a-f]{16}\\.scope$",
                                           vmmem_scope_get_path(scope), 0, 0));
    else
        g_assert_cmpstr(vmmem_scope_get_path(scope), ==, row->path ? row->path : fallback);

    n = assert_writes(scope, row->writes);
    g_assert_cmpint(vmmem_scope_get_write(scope, 0, NULL, NULL), ==, 0);
    file = value = "untouched";
    g_assert_cmpint(vmmem_scope_get_write(scope, n, &file, &value), ==, -ERANGE);
    g_assert_cmpstr(file, ==, "untouched");
    g_assert_cmpstr(value, ==, "untouched");
    g_assert_null(vmmem_scope_free(scope));
}

/* ---- the dry-run lifecycle touches nothing ---- */

static char *
read_self_cgroup(void)
{
    char *contents = NULL;

    g_assert_true(g_file_get_contents("/proc/self/cgroup", &contents, NULL, NULL));
    return contents;
}

static guint
count_open_fds(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    guint n = 0;

    g_assert_nonnull(dir);
    while (g_dir_read_name(dir))
        n++;
    return n;
}

/* Whether @path exists below any cgroup2 mount (a stat, nothing more). */
static gboolean
cgroup_exists(const char *path)
{
    for (guint i = 0; i < host.cgroup2_mounts->len; i++) {
        g_autofree char *full =
            g_build_filename(g_ptr_array_index(host.cgroup2_mounts, i), path, NULL);
        struct stat st;
        if (lstat(full, &st) == 0)
            return TRUE;
    }
    return FALSE;
}

/* Who makes the scope, chosen by flag over the config: the plan, the unit and its properties. */
static void
test_backends(void)
{
    const char *const *argv = VM_1G();
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    g_autoptr(vmmem_scope) fs = NULL, sd = NULL, cfg = NULL;
    g_autoptr(vmmem_config) config =
        config_from_text("[vmmem]\nbackend = systemd\nslice = vms.slice\n");
    g_autofree char *max = NULL;
    gboolean root = geteuid() == 0;
    const char *name, *value;
    gboolean seen_max = FALSE;

    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, NULL, 0, &envelope, NULL), ==, 0);
    max = g_strdup_printf("%" PRIu64, vmmem_envelope_get_memory_max(envelope));

    g_assert_cmpint(vmmem_scope_new(envelope, NULL, "web1",
                                    VMMEM_SCOPE_DRY_RUN | VMMEM_SCOPE_BACKEND_CGROUPFS, &fs, NULL),
                    ==, 0);
    g_assert_cmpstr(vmmem_scope_get_backend(fs), ==, "cgroupfs");
    g_assert_null(vmmem_scope_get_unit(fs));
    g_assert_cmpuint(vmmem_scope_get_n_properties(fs), ==, 0);
    g_assert_cmpint(vmmem_scope_get_property(fs, 0, &name, &value), ==, -ERANGE);
    g_assert_cmpstr(vmmem_scope_get_path(fs), ==, "vmmem.slice/vmmem-web1.scope");

    g_assert_cmpint(vmmem_scope_new(envelope, NULL, "web1",
                                    VMMEM_SCOPE_DRY_RUN | VMMEM_SCOPE_BACKEND_SYSTEMD, &sd, NULL),
                    ==, 0);
    g_assert_cmpstr(vmmem_scope_get_backend(sd), ==, root ? "systemd" : "systemd-user");
    g_assert_cmpstr(vmmem_scope_get_unit(sd), ==, "vmmem-web1.scope");
    if (root)
        g_assert_cmpstr(vmmem_scope_get_path(sd), ==, "machine.slice/vmmem-web1.scope");
    for (size_t i = 0; i < vmmem_scope_get_n_properties(sd); i++) {
        g_assert_cmpint(vmmem_scope_get_property(sd, i, &name, &value), ==, 0);
        if (strcmp(name, "MemoryMax") == 0) {
            g_assert_cmpstr(value, ==, max);
            seen_max = TRUE;
        }
    }
    g_assert_true(seen_max);

    /* The config's backend and slice; a flag would win over them. */
    g_assert_cmpint(vmmem_scope_new(envelope, config, "web1", VMMEM_SCOPE_DRY_RUN, &cfg, NULL), ==,
                    0);
    g_assert_nonnull(vmmem_scope_get_unit(cfg));
    g_assert_cmpint(vmmem_scope_get_property(cfg, 1, &name, &value), ==, 0);
    g_assert_cmpstr(name, ==, "Slice");
    g_assert_cmpstr(value, ==, "vms.slice");

    g_assert_cmpint(vmmem_scope_new(envelope, NULL, "web1",
                                    VMMEM_SCOPE_DRY_RUN | VMMEM_SCOPE_BACKEND_CGROUPFS |
                                        VMMEM_SCOPE_BACKEND_SYSTEMD,
                                    &sd, NULL),
                    ==, -EINVAL);
    g_assert_null(vmmem_scope_get_backend(NULL));
    g_assert_null(vmmem_scope_get_unit(NULL));
    g_assert_cmpuint(vmmem_scope_get_n_properties(NULL), ==, 0);
}

static void
test_dry_run_lifecycle(void)
{
    const char *const *argv = VM_1G();
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    g_autoptr(vmmem_scope) scope = NULL;
    g_autofree char *name = g_strdup_printf("public-api-test-%d", (int)getpid());
    g_autofree char *cgroup_before = read_self_cgroup();
    g_autofree char *cgroup_after = NULL;
    gboolean parent_before = cgroup_exists("vmmem.slice");
    guint fds_before = count_open_fds();
    uint64_t current = 1, peak = 1, kills = 1;
    vmmem_error *error = NULL;

    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, NULL, 0, &envelope, NULL), ==, 0);
    g_assert_cmpint(vmmem_scope_new(envelope, NULL, name, VMMEM_SCOPE_DRY_RUN, &scope, NULL), ==,
                    0);
    g_assert_false(cgroup_exists(vmmem_scope_get_path(scope)));

    /* The state guard: nothing before create. */
    g_assert_cmpint(vmmem_scope_attach_pid(scope, 0, 0, &error), ==, -EBADF);
    g_assert_nonnull(strstr(vmmem_error_get_message(error), "was not created"));
    g_clear_pointer(&error, vmmem_error_free);
    g_assert_cmpint(vmmem_scope_create(scope, 0, &error), ==, 0);
    g_assert_cmpint(vmmem_scope_create(scope, 0, &error), ==, -EALREADY);
    g_assert_nonnull(strstr(vmmem_error_get_message(error), "was already created by this object"));
    g_clear_pointer(&error, vmmem_error_free);
    g_assert_cmpint(vmmem_scope_attach_pid(scope, 0, 0, &error), ==, 0);
    g_assert_cmpint(vmmem_scope_attach_pid(scope, getpid(), 0, &error), ==, 0);
    g_assert_cmpint(vmmem_scope_read_usage(scope, &current, &peak, &kills, &error), ==, 0);
    g_assert_cmpuint(current, ==, 0);
    g_assert_cmpuint(peak, ==, 0);
    g_assert_cmpuint(kills, ==, 0);
    g_assert_cmpint(vmmem_scope_read_usage(scope, NULL, NULL, NULL, &error), ==, 0);
    /* A dry run has no cgroup to hand out, read or watch. */
    {
        vmmem_memory_events ev;
        int fd;
        g_assert_cmpint(vmmem_scope_get_fd(scope, 0, &fd, &error), ==, -ENOTSUP);
        g_clear_pointer(&error, vmmem_error_free);
        g_assert_cmpint(vmmem_scope_read_events(scope, 0, &ev, &error), ==, -ENOTSUP);
        g_clear_pointer(&error, vmmem_error_free);
        g_assert_cmpint(vmmem_scope_get_events_fd(scope, 0, &fd, &error), ==, -ENOTSUP);
        g_clear_pointer(&error, vmmem_error_free);
    }
    g_assert_cmpint(vmmem_scope_update(scope, envelope, 0, &error), ==, 0);
    g_assert_cmpint(vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, &error), ==, 0);
    g_assert_null(error);
    g_assert_cmpint(vmmem_scope_destroy(scope, 0, &error), ==, -EBADF);
    g_assert_nonnull(strstr(vmmem_error_get_message(error), "was destroyed"));
    g_clear_pointer(&error, vmmem_error_free);
    g_assert_cmpint(vmmem_scope_create(scope, 0, &error), ==, -EALREADY);
    g_clear_pointer(&error, vmmem_error_free);

    cgroup_after = read_self_cgroup();
    g_assert_cmpstr(cgroup_after, ==, cgroup_before);
    g_assert_cmpuint(count_open_fds(), ==, fds_before);
    g_assert_false(cgroup_exists(vmmem_scope_get_path(scope)));
    g_assert_cmpint(cgroup_exists("vmmem.slice"), ==, parent_before);
}

/* ---- reopen and update: plans, through the dry-run backend ---- */

typedef struct {
    const char *desc;
    const char *name;
    unsigned flags;
    const char *path; /* NULL: refused with -EINVAL */
} OpenRow;

static const OpenRow open_rows[] = {
    {"by-name", "web1", 0, "vmmem.slice/vmmem-web1.scope"},
    {"by-name-escaped", "my vm", 0, "vmmem.slice/vmmem-my\\x20vm.scope"},
    {"by-path", "machine.slice/x/vmmem-db.scope", VMMEM_SCOPE_OPEN_PATH,
     "machine.slice/x/vmmem-db.scope"},
    {"name-with-slash", "a/b", 0, NULL},
    {"path-not-ours", "system.slice/sshd.service", VMMEM_SCOPE_OPEN_PATH, NULL},
    {"path-no-parent", "vmmem-db.scope", VMMEM_SCOPE_OPEN_PATH, NULL},
    {"path-dotdot", "vmmem.slice/../vmmem-db.scope", VMMEM_SCOPE_OPEN_PATH, NULL},
    {"path-absolute", "/vmmem.slice/vmmem-db.scope", VMMEM_SCOPE_OPEN_PATH, NULL},
    {"path-bare-affixes", "vmmem.slice/vmmem-.scope", VMMEM_SCOPE_OPEN_PATH, NULL},
};

static void
test_open(gconstpointer data)
{
    const OpenRow *row = data;
    g_autoptr(vmmem_scope) scope = NULL;
    vmmem_error *error = NULL;
    int r = vmmem_scope_open(row->name, NULL, row->flags | VMMEM_SCOPE_DRY_RUN, &scope, &error);

    if (!row->path) {
        g_assert_cmpint(r, ==, -EINVAL);
        g_assert_null(scope);
        assert_error_shape(error, EINVAL);
        vmmem_error_free(error);
        return;
    }
    g_assert_cmpint(r, ==, 0);
    g_assert_cmpstr(vmmem_scope_get_path(scope), ==, row->path);
    g_assert_cmpuint(vmmem_scope_get_n_writes(scope), ==, 0);
    /* Open means live: a create on top is refused. */
    g_assert_cmpint(vmmem_scope_create(scope, 0, &error), ==, -EALREADY);
    vmmem_error_free(error);
}

static void
test_open_misuse(void)
{
    vmmem_scope *scope = NULL;

    g_assert_cmpint(vmmem_scope_open(NULL, NULL, VMMEM_SCOPE_DRY_RUN, &scope, NULL), ==, -EINVAL);
    g_assert_cmpint(vmmem_scope_open("x", NULL, VMMEM_SCOPE_DRY_RUN, NULL, NULL), ==, -EINVAL);
    g_assert_cmpint(vmmem_scope_open("x", NULL, VMMEM_SCOPE_CALIBRATE, &scope, NULL), ==, -EINVAL);
    g_assert_null(scope);
}

/* Unnamed VMs of one process never share a scope. */
static void
test_unnamed_scopes_differ(void)
{
    const char *const *argv = VM_1G();
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, NULL, 0, &envelope, NULL), ==, 0);
    for (int i = 0; i < 64; i++) {
        g_autoptr(vmmem_scope) scope = NULL;
        g_assert_cmpint(vmmem_scope_new(envelope, NULL, NULL, VMMEM_SCOPE_DRY_RUN, &scope, NULL),
                        ==, 0);
        g_assert_true(g_hash_table_add(seen, g_strdup(vmmem_scope_get_path(scope))));
    }
}

typedef struct {
    const char *desc;
    const char *const *set;
    const char *const *writes; /* file, value, ... as update writes them */
} UpdateRow;

static const UpdateRow update_rows[] = {
    /* Protection off: memory.min and memory.low go back to 0, not left as they were. */
    {"no-protection", NO_ARGS,
     ARGV("memory.oom.group", "1", "memory.min", "0", "memory.low", "0", "memory.swap.max", "0",
          "memory.high", "max", "memory.max", "@MAX_1G")},
    {"protect-min", ARGV("protect", "min"),
     ARGV("../memory.min", "max", "memory.oom.group", "1", "memory.min", "1073741824", "memory.low",
          "0", "memory.swap.max", "0", "memory.high", "max", "memory.max", "@MAX_1G")},
};

static void
test_update_plan(gconstpointer data)
{
    const UpdateRow *row = data;
    const char *const *argv = VM_1G("-name", "guest=web1");
    g_autoptr(vmmem_config) config = NULL;
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    g_autoptr(vmmem_scope) scope = NULL;

    g_assert_cmpint(vmmem_config_new(NULL, BOTH, &config, NULL), ==, 0);
    apply_settings(config, row->set);
    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, config, 0, &envelope, NULL), ==, 0);
    g_assert_cmpint(vmmem_scope_open("web1", config, VMMEM_SCOPE_DRY_RUN, &scope, NULL), ==, 0);
    g_assert_cmpint(vmmem_scope_update(scope, envelope, 0, NULL), ==, 0);
    assert_writes(scope, row->writes);
}

/* ---- the host a plan is for ---- */

#define HOST_JSON(physmem, kvm, mounts)                                                            \
    "{\"physmem\": " physmem ", \"kernel_release\": \"6.1.0-57-amd64\", \"thp\": \"always\", "     \
    "\"has_kvm\": " kvm ", \"hugetlbfs_mounts\": " mounts ", \"hugetlb_memcg\": false}"

typedef struct {
    const char *desc;
    const char *json;
    const char *error; /* NULL: accepted; else a piece of the message */
} HostRow;

static const HostRow host_rows[] = {
    {"full", HOST_JSON("68719476736", "true", "[\"/dev/hugepages\", \"/mnt/huge1g\"]")},
    {"no-mounts", HOST_JSON("1073741824", "false", "[]")},
    {"optional-keys-left-out",
     "{\"physmem\": 1073741824, \"kernel_release\": \"x\", \"thp\": \"never\", \"has_kvm\": true}"},
    {"missing-physmem", "{\"kernel_release\": \"x\", \"thp\": \"never\", \"has_kvm\": true}",
     "'physmem' is missing"},
    {"zero-physmem", HOST_JSON("0", "true", "[]"), "'physmem' is '0', not a byte count"},
    {"negative-physmem", HOST_JSON("-1", "true", "[]"), "not a byte count"},
    {"bad-thp",
     "{\"physmem\": 1, \"kernel_release\": \"x\", \"thp\": \"sometimes\", \"has_kvm\": true}",
     "'thp' is 'sometimes', not always, madvise or never"},
    {"kvm-not-bool", HOST_JSON("1", "\"yes\"", "[]"), "not true or false"},
    {"relative-mount", HOST_JSON("1", "true", "[\"dev/hugepages\"]"), "not an absolute path"},
    {"unknown-key", "{\"physmem\": 1, \"ram\": 2}", "unknown key 'ram'"},
    {"twice",
     "{\"physmem\": 1, \"physmem\": 2, \"kernel_release\": \"x\", \"thp\": \"never\", "
     "\"has_kvm\": true}",
     "'physmem' is given twice"},
    {"not-json", "physmem=1", "not an object"},
};

static void
test_host(gconstpointer data)
{
    const HostRow *row = data;
    g_autoptr(vmmem_host) parsed = NULL, again = NULL;
    g_autofree char *json = NULL, *json2 = NULL;
    vmmem_error *error = NULL;
    int r = vmmem_host_new_from_json(row->json, 0, &parsed, &error);

    if (row->error) {
        g_assert_cmpint(r, ==, -EINVAL);
        g_assert_null(parsed);
        assert_error_shape(error, EINVAL);
        if (!strstr(vmmem_error_get_message(error), row->error))
            g_error("'%s' does not say '%s'", vmmem_error_get_message(error), row->error);
        vmmem_error_free(error);
        return;
    }
    g_assert_cmpint(r, ==, 0);
    /* Round trip: what `vmmem host --json` prints reads back to the same facts. */
    g_assert_cmpint(vmmem_host_to_json(parsed, 0, &json, NULL), ==, 0);
    assert_json_valid(json);
    g_assert_cmpint(vmmem_host_new_from_json(json, 0, &again, NULL), ==, 0);
    g_assert_cmpint(vmmem_host_to_json(again, 0, &json2, NULL), ==, 0);
    g_assert_cmpstr(json, ==, json2);
}

/* The same command line planned for two hosts: qemu sizes TCG's cache from host RAM (an eighth
 * of it, at most 1 GiB on x86_64 QEMU 7.2), /dev/kvm decides "-accel kvm:tcg", and the explain
 * JSON names the host it planned for. */
static void
test_plan_for_host(void)
{
    const char *const *argv = ARGV("-m", "1G", "-accel", "kvm:tcg", "-nodefaults");
    g_autoptr(vmmem_host) big = NULL, small_tcg = NULL;
    g_autoptr(vmmem_spec) on_big = NULL, on_small = NULL;
    g_autoptr(vmmem_envelope) e_big = NULL, e_small = NULL;
    g_autofree char *json = NULL;

    g_assert_cmpint(vmmem_host_new_from_json(HOST_JSON("68719476736", "true", "[]"), 0, &big, NULL),
                    ==, 0);
    g_assert_cmpint(
        vmmem_host_new_from_json(HOST_JSON("2147483648", "false", "[]"), 0, &small_tcg, NULL), ==,
        0);
    g_assert_cmpuint(vmmem_host_get_physmem(big), ==, UINT64_C(64) << 30);
    g_assert_cmpint(vmmem_spec_new_for_host(count_args(argv), argv, big, 0, &on_big, NULL), ==, 0);
    g_assert_cmpint(vmmem_spec_new_for_host(count_args(argv), argv, small_tcg, 0, &on_small, NULL),
                    ==, 0);
    g_assert_cmpint(vmmem_envelope_new(on_big, NULL, 0, &e_big, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(on_small, NULL, 0, &e_small, NULL), ==, 0);
    /* KVM there: no translation cache; TCG on the small host: a 256 MiB one. */
    g_assert_cmpuint(vmmem_envelope_get_overhead(e_small), >,
                     vmmem_envelope_get_overhead(e_big) + (UINT64_C(256) << 20));
    g_assert_cmpint(vmmem_envelope_to_json(e_small, 0, &json, NULL), ==, 0);
    g_assert_nonnull(strstr(json, "\"host\": {\n    \"physmem\": 2147483648,"));
    g_assert_nonnull(strstr(json, "\"has_kvm\": false"));
}

/* ---- calibration ---- */

/* The calibration scope's plan, and a calibration whose samples cannot read a dry-run scope:
 * nothing here touches a cgroup. */
static void
test_calibration(void)
{
    const char *const *argv = VM_1G("-name", "guest=cal");
    const char *const *probe = ARGV("-machine", "none");
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_spec) probe_spec = NULL;
    g_autoptr(vmmem_envelope) probe_envelope = NULL;
    g_autoptr(vmmem_scope) scope = NULL;
    g_autoptr(vmmem_calibration) cal = NULL;
    g_autoptr(vmmem_error) error = NULL;
    g_autoptr(vmmem_config) config = NULL;
    g_autofree char *max = g_strdup_printf("%" PRIu64, 2 * GiB);
    vmmem_calibration *none = NULL;
    vmmem_envelope *envelope = NULL;
    g_autofree char *json = NULL;
    static const char *const files[] = {"memory.oom.group", "memory.swap.max", "memory.high",
                                        "memory.max"};
    const char *values[] = {"1", "0", "max", max};
    const char *name = NULL, *file, *value;
    uint64_t at = 1, at_ms = 1, mx = 1;

    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, NULL, 0, &envelope, NULL), ==, 0);
    /* The policy's high and swap stay out of the calibration scope. */
    g_assert_cmpint(
        vmmem_config_new(NULL, VMMEM_CONFIG_IGNORE_ENV | VMMEM_CONFIG_NO_FILE, &config, NULL), ==,
        0);
    g_assert_cmpint(vmmem_config_set(config, "high", "on", NULL), ==, 0);
    g_assert_cmpint(vmmem_config_set(config, "swap", "1G", NULL), ==, 0);
    g_assert_cmpint(vmmem_scope_new(envelope, config, NULL,
                                    VMMEM_SCOPE_CALIBRATE | VMMEM_SCOPE_DRY_RUN, &scope, NULL),
                    ==, 0);
    g_assert_cmpstr(vmmem_scope_get_path(scope), ==, "vmmem.slice/vmmem-cal.scope");
    g_assert_cmpuint(vmmem_scope_get_n_writes(scope), ==, G_N_ELEMENTS(files));
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_assert_cmpint(vmmem_scope_get_write(scope, i, &file, &value), ==, 0);
        g_assert_cmpstr(file, ==, files[i]);
        g_assert_cmpstr(value, ==, values[i]);
    }

    g_assert_cmpint(vmmem_calibration_new(envelope, 1, &cal, NULL), ==, -EINVAL);
    g_assert_cmpint(vmmem_calibration_new(envelope, 0, &cal, NULL), ==, 0);
    /* The calibration keeps the envelope it needs for its JSON. */
    g_assert_null(vmmem_envelope_free(envelope));
    g_assert_cmpuint(vmmem_calibration_get_n_samples(cal), ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_must_fit_peak(cal, &at_ms), ==, 0);
    g_assert_cmpuint(at_ms, ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_peak_overhead(cal), ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_n_parts(cal), ==, 10);
    g_assert_cmpint(vmmem_calibration_get_part(cal, 0, &name, &at, &mx), ==, 0);
    g_assert_cmpstr(name, ==, "anon");
    g_assert_cmpint(vmmem_calibration_get_part(cal, 1, &name, NULL, NULL), ==, 0);
    g_assert_cmpstr(name, ==, "tcg_cache");
    g_assert_cmpint(vmmem_calibration_get_part(cal, 9, &name, NULL, NULL), ==, 0);
    g_assert_cmpstr(name, ==, "shmem");
    g_assert_cmpint(vmmem_calibration_get_part(cal, 10, &name, NULL, NULL), ==, -ERANGE);
    g_assert_cmpstr(name, ==, "shmem");

    /* A dry-run scope has nothing to read. */
    g_assert_cmpint(vmmem_scope_create(scope, 0, NULL), ==, 0);
    g_assert_cmpint(vmmem_calibration_sample(cal, scope, 0, 0, &error), ==, -EINVAL);
    g_assert_null(error);
    g_assert_cmpint(vmmem_calibration_sample(cal, scope, getpid(), 0, &error), ==, -ENOTSUP);
    assert_error_shape(error, ENOTSUP);
    g_clear_pointer(&error, vmmem_error_free);
    g_assert_cmpint(vmmem_calibration_finish(cal, scope, 0, 0, &error), ==, -ENOTSUP);
    assert_error_shape(error, ENOTSUP);
    g_clear_pointer(&error, vmmem_error_free);
    g_assert_cmpint(vmmem_calibration_finish(cal, scope, 256, 0, NULL), ==, -EINVAL);
    g_assert_cmpuint(vmmem_calibration_get_n_samples(cal), ==, 0);

    g_assert_cmpint(vmmem_calibration_to_json(cal, 0, &json, NULL), ==, 0);
    assert_json_valid(json);
    assert_json_u64_or_null(json, "samples", TRUE, 0);
    assert_json_u64_or_null(json, "memory_peak", FALSE, 0);
    g_assert_nonnull(strstr(json, "\n  \"finished\": false,\n"));
    {
        g_autofree char *line =
            g_strdup_printf("\n    \"overhead\": %" G_GUINT64_FORMAT ",\n", OVERHEAD_1G);
        g_assert_nonnull(strstr(json, line));
    }
    g_assert_nonnull(strstr(json, "\"name\": \"cal\""));

    /* A probe has no guest RAM to calibrate. */
    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(probe), probe, 0, &probe_spec, NULL), ==,
                    0);
    g_assert_cmpint(vmmem_envelope_new(probe_spec, NULL, 0, &probe_envelope, NULL), ==, 0);
    g_assert_cmpint(vmmem_calibration_new(probe_envelope, 0, &none, &error), ==, -EINVAL);
    assert_error_shape(error, EINVAL);
    g_assert_null(none);
}

/* ---- basis, warnings, host profiles ---- */

/* Every component says what its constant rests on; with no profile on this machine, never
 * "profile". */
static void
test_component_basis(void)
{
    const char *const *argv = VM_1G("-accel", "tcg", "-smp", "2", "-vnc", ":0");
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    g_autoptr(vmmem_config) config = NULL;
    const char *basis = "untouched", *name;
    size_t n;

    g_assert_cmpint(vmmem_config_new(NULL, 0, &config, NULL), ==, 0);
    g_assert_cmpint(vmmem_config_set(config, "ratio", "1.5", NULL), ==, 0);
    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, config, 0, &envelope, NULL), ==, 0);
    n = vmmem_envelope_get_n_components(envelope);
    g_assert_cmpuint(n, >=, 6);
    for (size_t i = 0; i < n; i++) {
        g_assert_cmpint(vmmem_envelope_get_component(envelope, i, &name, NULL, NULL), ==, 0);
        g_assert_cmpint(vmmem_envelope_get_component_basis(envelope, i, &basis), ==, 0);
        if (strcmp(name, "tcg_tb") == 0)
            g_assert_cmpstr(basis, ==, "qemu");
        else if (strcmp(name, "policy_ratio") == 0)
            g_assert_cmpstr(basis, ==, "policy");
        else
            g_assert_cmpstr(basis, ==, "measured");
    }
    basis = "untouched";
    g_assert_cmpint(vmmem_envelope_get_component_basis(envelope, n, &basis), ==, -ERANGE);
    g_assert_cmpstr(basis, ==, "untouched");
    g_assert_cmpint(vmmem_envelope_get_component_basis(NULL, 0, &basis), ==, -EINVAL);
    g_assert_cmpint(vmmem_envelope_get_component_basis(envelope, 0, NULL), ==, 0);
    g_assert_cmpuint(vmmem_envelope_get_n_warnings(envelope), ==, 0);
    g_assert_null(vmmem_envelope_get_warning(envelope, 0));
    g_assert_cmpuint(vmmem_envelope_get_n_warnings(NULL), ==, 0);
    g_assert_null(vmmem_envelope_get_warning(NULL, 0));
}

/* A profile that cannot be used never stops an envelope: the built-in model stands, and the
 * reason is one warning line each time. */
static void
test_profile_warnings(void)
{
    static const struct {
        const char *desc;
        const char *text; /* NULL: the file does not exist */
        gboolean explicit_path;
        const char *needle; /* NULL: no warning */
    } cases[] = {
        {"missing default", NULL, FALSE, NULL},
        {"missing named", NULL, TRUE, "cannot read it"},
        {"not a key file", "\x01\x02 garbage", TRUE, "not used"},
        {"another model",
         "[profile]\nformat=1\nmodel=1\ncreated=2026-12-01T00:00:00Z\nupdated=2026-12-01T00:00:"
         "00Z\n"
         "qemu=/usr/bin/qemu-system-x86_64\nqemu-version=v\nqemu-build-id=00\nkernel=k\n",
         TRUE, "not used"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *dir = g_dir_make_tmp("vmmem-profile-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "profile.conf", NULL);
        g_autofree char *conf_path = g_build_filename(dir, "vmmem.conf", NULL);
        g_autofree char *conf = g_strdup_printf("[vmmem]\nprofile = %s\n", path);
        const char *const *argv = VM_1G();
        g_autoptr(vmmem_config) config = NULL;
        g_autoptr(vmmem_spec) spec = NULL;
        g_autoptr(vmmem_envelope) envelope = NULL;
        const char *basis;

        g_test_message("%s", cases[i].desc);
        if (cases[i].text)
            g_assert_true(g_file_set_contents(path, cases[i].text, -1, NULL));
        if (cases[i].explicit_path) {
            g_assert_true(g_file_set_contents(conf_path, conf, -1, NULL));
            g_assert_cmpint(vmmem_config_new(conf_path, 0, &config, NULL), ==, 0);
        }
        g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
        g_assert_cmpint(vmmem_envelope_new(spec, config, 0, &envelope, NULL), ==, 0);
        g_assert_cmpuint(vmmem_envelope_get_overhead(envelope), ==, OVERHEAD_1G);
        g_assert_cmpint(vmmem_envelope_get_component_basis(envelope, 0, &basis), ==, 0);
        g_assert_cmpstr(basis, ==, "measured");
        if (!cases[i].needle) {
            g_assert_cmpuint(vmmem_envelope_get_n_warnings(envelope), ==, 0);
        } else {
            const char *w;

            g_assert_cmpuint(vmmem_envelope_get_n_warnings(envelope), ==, 1);
            w = vmmem_envelope_get_warning(envelope, 0);
            g_assert_nonnull(strstr(w, cases[i].needle));
            g_assert_nonnull(strstr(w, path));
            g_assert_null(strchr(w, '\n'));
        }
        g_unlink(path);
        g_unlink(conf_path);
        g_rmdir(dir);
    }
}

/* save_profile refuses what it cannot fit, with one line, and writes nothing. */
static void
test_save_profile_refusals(void)
{
    const char *const *kvm = VM_1G();
    const char *const *tcg = ARGV("-accel", "tcg", "-m", "256", "-nodefaults");
    g_autofree char *dir = g_dir_make_tmp("vmmem-profile-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "profile.conf", NULL);
    g_autoptr(vmmem_config) none = NULL;

    g_assert_cmpint(vmmem_config_new(NULL, 0, &none, NULL), ==, 0);
    g_assert_cmpint(vmmem_config_set(none, "profile", "none", NULL), ==, 0);
    for (int tcg_vm = 0; tcg_vm < 2; tcg_vm++) {
        const char *const *argv = tcg_vm ? tcg : kvm;
        g_autoptr(vmmem_spec) spec = NULL;
        g_autoptr(vmmem_envelope) envelope = NULL;
        g_autoptr(vmmem_calibration) cal = NULL;
        vmmem_error *error = NULL;

        g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
        g_assert_cmpint(vmmem_envelope_new(spec, NULL, 0, &envelope, NULL), ==, 0);
        g_assert_cmpint(vmmem_calibration_new(envelope, 0, &cal, NULL), ==, 0);
        /* Not finished (and, for the TCG VM, TCG): refused. */
        g_assert_cmpint(vmmem_calibration_save_profile(cal, NULL, path, 0, &error), ==, -EINVAL);
        assert_error_shape(error, EINVAL);
        g_assert_nonnull(strstr(vmmem_error_get_message(error), "not finished"));
        g_clear_pointer(&error, vmmem_error_free);
        /* profile = none and no path: nowhere to write. */
        g_assert_cmpint(vmmem_calibration_save_profile(cal, none, NULL, 0, &error), ==, -EINVAL);
        assert_error_shape(error, EINVAL);
        g_assert_nonnull(strstr(vmmem_error_get_message(error), "profile = none"));
        g_clear_pointer(&error, vmmem_error_free);
        g_assert_cmpint(vmmem_calibration_save_profile(cal, NULL, path, 1, &error), ==, -EINVAL);
        vmmem_error_free(error);
        g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    }
    g_assert_cmpint(vmmem_calibration_save_profile(NULL, NULL, path, 0, NULL), ==, -EINVAL);
    g_rmdir(dir);
}

/* ---- NULL arguments ---- */

static void
test_null_arguments(void)
{
    g_autoptr(vmmem_config) config = NULL;
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    g_autoptr(vmmem_scope) scope = NULL;
    const char *const *argv = VM_1G();
    vmmem_spec *no_spec = NULL;
    vmmem_calibration *cal = NULL;
    vmmem_error *error = NULL;
    char *json = NULL;
    uint64_t u;

    g_assert_cmpint(vmmem_config_new(NULL, BOTH, &config, NULL), ==, 0);
    g_assert_cmpint(vmmem_spec_new_from_argv(count_args(argv), argv, 0, &spec, NULL), ==, 0);
    g_assert_cmpint(vmmem_envelope_new(spec, config, 0, &envelope, NULL), ==, 0);
    g_assert_cmpint(vmmem_scope_new(envelope, config, "web1", VMMEM_SCOPE_DRY_RUN, &scope, NULL),
                    ==, 0);

    g_assert_cmpint(vmmem_config_new(NULL, BOTH, NULL, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_config_set(NULL, "ratio", "1", &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_config_set(config, NULL, "1", &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_config_set(config, "ratio", NULL, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_spec_new_from_argv(-1, NO_ARGS, 0, &no_spec, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_spec_new_from_argv(1, NULL, 0, &no_spec, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_spec_new_from_argv(0, NO_ARGS, 0, NULL, &error), ==, -EINVAL);
    g_assert_null(no_spec);
    g_assert_cmpint(vmmem_envelope_new(NULL, config, 0, &envelope, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_envelope_new(spec, config, 0, NULL, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_envelope_get_component(NULL, 0, NULL, &u, NULL), ==, -EINVAL);
    g_assert_cmpint(vmmem_envelope_to_json(NULL, 0, &json, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_envelope_to_json(envelope, 0, NULL, &error), ==, -EINVAL);
    g_assert_null(json);
    g_assert_cmpint(vmmem_scope_new(NULL, config, "x", VMMEM_SCOPE_DRY_RUN, &scope, &error), ==,
                    -EINVAL);
    g_assert_cmpint(vmmem_scope_new(envelope, config, "x", VMMEM_SCOPE_DRY_RUN, NULL, &error), ==,
                    -EINVAL);
    g_assert_cmpint(vmmem_scope_get_write(NULL, 0, NULL, NULL), ==, -EINVAL);
    g_assert_cmpint(vmmem_scope_create(NULL, 0, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_scope_attach_pid(NULL, 0, 0, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_scope_attach_pid(scope, -1, 0, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_scope_destroy(NULL, 0, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_scope_read_usage(NULL, &u, &u, &u, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_calibration_new(NULL, 0, &cal, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_calibration_new(envelope, 0, NULL, &error), ==, -EINVAL);
    g_assert_null(cal);
    g_assert_cmpint(vmmem_calibration_sample(NULL, scope, 1, 0, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_calibration_finish(NULL, scope, 0, 0, &error), ==, -EINVAL);
    g_assert_cmpint(vmmem_calibration_get_part(NULL, 0, NULL, NULL, NULL), ==, -EINVAL);
    g_assert_cmpint(vmmem_calibration_to_json(NULL, 0, &json, &error), ==, -EINVAL);
    /* Since 0.5. */
    {
        vmmem_status *status = NULL;
        vmmem_admission adm;
        vmmem_envelope *fitted = NULL;
        char *text = NULL, *m = NULL;

        g_assert_cmpint(vmmem_status_new(NULL, 0, NULL, &error), ==, -EINVAL);
        g_assert_cmpint(vmmem_status_new(NULL, 1, &status, &error), ==, -EINVAL);
        g_assert_null(status);
        g_assert_cmpuint(vmmem_status_get_n_envelopes(NULL), ==, 0);
        g_assert_null(vmmem_status_get_envelope(NULL, 0));
        g_assert_cmpuint(vmmem_status_get_mem_total(NULL), ==, 0);
        g_assert_cmpint(vmmem_status_to_json(NULL, 0, &json, &error), ==, -EINVAL);
        g_assert_null(vmmem_status_free(NULL));
        g_assert_cmpint(vmmem_admission_check(NULL, config, 0, &adm, &error), ==, -EINVAL);
        g_assert_cmpint(vmmem_admission_check(envelope, config, 0, NULL, &error), ==, -EINVAL);
        g_assert_cmpint(vmmem_admission_check(envelope, config, 2, &adm, &error), ==, -EINVAL);
        g_assert_null(vmmem_admission_to_string(NULL));
        g_assert_cmpint(vmmem_why(NULL, NULL, config, 0, &text, &error), ==, -EINVAL);
        g_assert_cmpint(vmmem_why("web1", NULL, config, 0, NULL, &error), ==, -EINVAL);
        g_assert_cmpint(vmmem_why("web1", NULL, config, 1, &text, &error), ==, -EINVAL);
        g_assert_null(text);
        g_assert_cmpint(vmmem_fit(1, NULL, NULL, config, GiB, 0, &fitted, &m, &error), ==, -EINVAL);
        g_assert_cmpint(vmmem_fit(count_args(argv), argv, NULL, config, GiB, 0, NULL, &m, &error),
                        ==, -EINVAL);
        g_assert_cmpint(
            vmmem_fit(count_args(argv), argv, NULL, config, GiB, 4, &fitted, &m, &error), ==,
            -EINVAL);
        g_assert_null(fitted);
        g_assert_cmpint(vmmem_parse_size(NULL, 1, &u), ==, -EINVAL);
        g_assert_cmpint(vmmem_parse_size("1G", 1, NULL), ==, -EINVAL);
    }
    /* The header does not say whether these fill *reterr (today they do not): either way the
     * caller can free what it got. */
    vmmem_error_free(error);

    /* The objects above are untouched by the refused calls. */
    g_assert_cmpstr(vmmem_scope_get_path(scope), ==, "vmmem.slice/vmmem-web1.scope");
    g_assert_cmpuint(vmmem_envelope_get_memory_max(envelope), ==, MAX_1G);

    /* Getters on NULL: nothing to report, and "no limit" for memory.high. */
    g_assert_cmpint(vmmem_error_get_errno(NULL), ==, 0);
    g_assert_null(vmmem_error_get_message(NULL));
    g_assert_cmpint(vmmem_error_get_argv_index(NULL), ==, -1);
    g_assert_null(vmmem_config_get_qemu_binary(NULL));
    g_assert_cmpint(vmmem_spec_is_probe(NULL), ==, 0);
    g_assert_null(vmmem_spec_get_name(NULL));
    g_assert_cmpuint(vmmem_spec_get_guest_ram(NULL), ==, 0);
    g_assert_cmpuint(vmmem_spec_get_hugetlb_ram(NULL), ==, 0);
    g_assert_cmpuint(vmmem_spec_get_vcpus(NULL), ==, 0);
    g_assert_cmpuint(vmmem_envelope_get_guest_ram(NULL), ==, 0);
    g_assert_cmpuint(vmmem_envelope_get_hugetlb_ram(NULL), ==, 0);
    g_assert_cmpuint(vmmem_envelope_get_overhead(NULL), ==, 0);
    g_assert_cmpuint(vmmem_envelope_get_memory_max(NULL), ==, 0);
    g_assert_cmpuint(vmmem_envelope_get_memory_high(NULL), ==, VMMEM_LIMIT_MAX);
    g_assert_cmpuint(vmmem_envelope_get_swap_max(NULL), ==, 0);
    g_assert_cmpuint(vmmem_envelope_get_n_components(NULL), ==, 0);
    g_assert_null(vmmem_scope_get_path(NULL));
    g_assert_cmpuint(vmmem_scope_get_n_writes(NULL), ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_n_samples(NULL), ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_n_skipped(NULL), ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_duration_ms(NULL), ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_must_fit_peak(NULL, &u), ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_n_parts(NULL), ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_reclaimable_peak(NULL), ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_guest_peak(NULL), ==, 0);
    g_assert_cmpuint(vmmem_calibration_get_memory_peak(NULL), ==, 0);
}

/* ---- registration ---- */

#define ADD_ROWS(prefix, rows, field, func)                                                        \
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {                                              \
        g_autofree char *path = g_strdup_printf("%s/%s", prefix, rows[i].field);                   \
        g_test_add_data_func(path, &rows[i], func);                                                \
    }

int
main(int argc, char **argv)
{
    /* Hermetic whatever the caller's environment: never the host's /etc/vmmem/vmmem.conf. */
    g_setenv("VMMEM_CONFIG", "/dev/null", TRUE);
    g_test_init(&argc, &argv, NULL);
    /* kernel_ram: 3 MiB per GiB with THP "always" (below 8 GiB), else 4.5. */
    overhead_1g =
        host_thp_always() ? 33 * MiB + 512 * KiB + 3 * MiB : 20 * MiB + 512 * KiB + 4718592;
    read_host_mounts();

    g_test_add_func("/public-api/json-checker", test_json_checker);
    g_test_add_func("/public-api/version", test_version);
    g_test_add_func("/public-api/free-null", test_free_null);
    g_test_add_func("/public-api/header-cleanup-helpers", test_header_cleanup_helpers);
    g_test_add_func("/public-api/null-arguments", test_null_arguments);
    ADD_ROWS("/public-api/config-new", config_new_rows, desc, test_config_new);
    for (size_t i = 0; i < G_N_ELEMENTS(config_set_rows); i++) {
        /* '/' would nest the test path. */
        g_autofree char *shown =
            g_strdelimit(g_strescape(config_set_rows[i].value, NULL), "/", '_');
        g_autofree char *path =
            g_strdup_printf("/public-api/config-set/%s=%s", config_set_rows[i].key, shown);
        g_test_add_data_func(path, &config_set_rows[i], test_config_set);
    }
    g_test_add_func("/public-api/config-set-atomic", test_config_set_atomic);
    g_test_add_func("/public-api/config-per-vm", test_config_per_vm);
    ADD_ROWS("/public-api/config-get", config_get_rows, name, test_config_get);
    g_test_add_func("/public-api/backends", test_backends);
    g_test_add_func("/public-api/config-get-round-trip", test_config_get_round_trip);
    ADD_ROWS("/public-api/spec", spec_rows, desc, test_spec);
    ADD_ROWS("/public-api/envelope", envelope_rows, desc, test_envelope);
    g_test_add_func("/public-api/envelope-null-config", test_envelope_null_config);
    g_test_add_func("/public-api/envelope-outlives-spec", test_envelope_outlives_spec);
    g_test_add_func("/public-api/json-hostile-name", test_json_hostile_name);
    ADD_ROWS("/public-api/scope", scope_rows, desc, test_scope);
    g_test_add_func("/public-api/dry-run-lifecycle", test_dry_run_lifecycle);
    for (size_t i = 0; i < G_N_ELEMENTS(open_rows); i++) {
        g_autofree char *path = g_strdup_printf("/public-api/open/%s", open_rows[i].desc);
        g_test_add_data_func(path, &open_rows[i], test_open);
    }
    g_test_add_func("/public-api/open-misuse", test_open_misuse);
    for (size_t i = 0; i < G_N_ELEMENTS(host_rows); i++) {
        g_autofree char *path = g_strdup_printf("/public-api/host/%s", host_rows[i].desc);
        g_test_add_data_func(path, &host_rows[i], test_host);
    }
    g_test_add_func("/public-api/plan-for-host", test_plan_for_host);
    g_test_add_func("/public-api/unnamed-scopes-differ", test_unnamed_scopes_differ);
    for (size_t i = 0; i < G_N_ELEMENTS(update_rows); i++) {
        g_autofree char *path = g_strdup_printf("/public-api/update-plan/%s", update_rows[i].desc);
        g_test_add_data_func(path, &update_rows[i], test_update_plan);
    }
    g_test_add_func("/public-api/calibration", test_calibration);
    g_test_add_func("/public-api/component-basis", test_component_basis);
    g_test_add_func("/public-api/profile-warnings", test_profile_warnings);
    g_test_add_func("/public-api/save-profile-refusals", test_save_profile_refusals);

    int r = g_test_run();
    g_ptr_array_unref(host.cgroup2_mounts);
    return r;
}
