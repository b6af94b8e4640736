/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host policy: key files and overrides in, Policy values or a one-line refusal out. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "size.h"

static void
test_defaults(void)
{
    g_autoptr(Config) c = config_new_default();
    Policy p;

    g_assert_null(c->path);
    g_assert_cmpstr(c->qemu_binary, ==, VMMEM_DEFAULT_QEMU);
    g_assert_cmpstr(c->parent, ==, VMMEM_DEFAULT_PARENT);
    config_policy_for(c, "anything", &p);
    g_assert_cmpfloat(p.ratio, ==, 1.0);
    g_assert_cmpuint(p.overhead_min, ==, 0);
    g_assert_cmpuint(p.overhead_max, ==, 0);
    g_assert_cmpfloat(p.high_fraction, ==, 0);
    g_assert_cmpuint(p.swap, ==, 0);
    g_assert_cmpint(p.protect, ==, PROTECT_OFF);
    config_policy_for(NULL, NULL, &p);
    g_assert_cmpfloat(p.ratio, ==, 1.0);
}

/* One key at a time, in [vmmem]: the text and the Policy it gives. */
typedef struct {
    const char *key;
    const char *value;
    double ratio;
    uint64_t overhead_min, overhead_max, swap;
    double high;
    ProtectMode protect;
} GoodRow;

static const GoodRow good_rows[] = {
    {"ratio", "1", .ratio = 1.0},
    {"ratio", "1.5", .ratio = 1.5},
    {"ratio", "2.25", .ratio = 2.25},
    {"ratio", "1.0000004", .ratio = 1.0}, /* 6 decimals */
    {"ratio", "1.0000005", .ratio = 1.000001},
    {"ratio", "1e1", .ratio = 10.0},
    {"ratio", "1000", .ratio = 1000.0},
    {"overhead-min", "268435456", .ratio = 1, .overhead_min = 256 * MiB},
    {"overhead-min", "256M", .ratio = 1, .overhead_min = 256 * MiB},
    {"overhead-min", "0", .ratio = 1},
    {"overhead-max", "1G", .ratio = 1, .overhead_max = GiB},
    {"overhead-max", "1.5G", .ratio = 1, .overhead_max = GiB + 512 * MiB},
    {"swap", "512M", .ratio = 1, .swap = 512 * MiB},
    {"swap", "4096", .ratio = 1, .swap = 4096},
    {"swap", "0", .ratio = 1},
    {"high", "off", .ratio = 1, .high = 0},
    {"high", "on", .ratio = 1, .high = VMMEM_DEFAULT_HIGH_FRACTION},
    {"high", "0.75", .ratio = 1, .high = 0.75},
    {"high", "0.999999", .ratio = 1, .high = 0.999999},
    {"protect", "off", .ratio = 1, .protect = PROTECT_OFF},
    {"protect", "low", .ratio = 1, .protect = PROTECT_LOW},
    {"protect", "min", .ratio = 1, .protect = PROTECT_MIN},
};

static void
check_policy(const Policy *p, const GoodRow *row)
{
    g_assert_cmpfloat_with_epsilon(p->ratio, row->ratio, 1e-12);
    g_assert_cmpuint(p->overhead_min, ==, row->overhead_min);
    g_assert_cmpuint(p->overhead_max, ==, row->overhead_max);
    g_assert_cmpuint(p->swap, ==, row->swap);
    g_assert_cmpfloat_with_epsilon(p->high_fraction, row->high, 1e-12);
    g_assert_cmpint(p->protect, ==, row->protect);
}

static void
test_good(gconstpointer data)
{
    const GoodRow *row = data;
    g_autoptr(Config) from_file = config_new_default();
    g_autoptr(Config) from_set = config_new_default();
    g_autoptr(Config) per_vm = config_new_default();
    g_autofree char *global = g_strdup_printf("[vmmem]\n%s = %s\n", row->key, row->value);
    g_autofree char *vm = g_strdup_printf("[vm web1]\n%s = %s\n", row->key, row->value);
    GError *error = NULL;
    Policy p;

    g_assert_cmpint(config_load_data(from_file, global, &error), ==, 0);
    g_assert_no_error(error);
    config_policy_for(from_file, NULL, &p);
    check_policy(&p, row);

    g_assert_cmpint(config_set(from_set, row->key, row->value, &error), ==, 0);
    g_assert_no_error(error);
    config_policy_for(from_set, "web1", &p);
    check_policy(&p, row);

    /* In a [vm NAME] group the key applies to that VM alone. */
    g_assert_cmpint(config_load_data(per_vm, vm, &error), ==, 0);
    g_assert_no_error(error);
    config_policy_for(per_vm, "web1", &p);
    check_policy(&p, row);
}

/* A key file (or an override when key is set) and the start of the message it must give. */
typedef struct {
    const char *desc;
    const char *data;
    const char *set_key;
    int expect;
    const char *message;
} BadRow;

static const BadRow bad_rows[] = {
    {"syntax", "ratio = 2\n", NULL, -EINVAL, "(config data): "},
    {"unknown group", "[vmm]\nratio = 2\n", NULL, -EINVAL, "(config data): unknown group [vmm]"},
    {"vm group without a name", "[vm ]\nratio = 2\n", NULL, -EINVAL,
     "(config data): unknown group [vm ]"},
    {"unknown key", "[vmmem]\nratoi = 2\n", NULL, -EINVAL,
     "(config data): [vmmem] ratoi = '2': unknown key"},
    {"localized key", "[vmmem]\nratio[de] = 2\n", NULL, -EINVAL,
     "(config data): [vmmem] ratio[de] = '2': unknown key"},
    {"qemu in a vm group", "[vm a]\nqemu = /usr/bin/qemu\n", NULL, -EINVAL,
     "(config data): [vm a] qemu = '/usr/bin/qemu': only allowed in [vmmem]"},
    {"parent in a vm group", "[vm a]\nparent = x.slice\n", NULL, -EINVAL,
     "(config data): [vm a] parent = 'x.slice': only allowed in [vmmem]"},
    {"unknown key in a vm group", "[vm a]\nswapp = 1G\n", NULL, -EINVAL,
     "(config data): [vm a] swapp = '1G': unknown key"},
    {"ratio below 1", "[vmmem]\nratio = 0.5\n", NULL, -EINVAL,
     "(config data): [vmmem] ratio = '0.5': must be between 1.0 and 1000"},
    {"ratio above 1000", "[vmmem]\nratio = 1000.1\n", NULL, -EINVAL,
     "(config data): [vmmem] ratio = '1000.1': must be between"},
    {"ratio nan", "[vmmem]\nratio = nan\n", NULL, -EINVAL,
     "(config data): [vmmem] ratio = 'nan': not a decimal number"},
    {"ratio inf", "[vmmem]\nratio = inf\n", NULL, -EINVAL, "(config data): [vmmem] ratio = 'inf'"},
    {"ratio hex", "[vmmem]\nratio = 0x2\n", NULL, -EINVAL, "(config data): [vmmem] ratio = '0x2'"},
    {"ratio comma", "[vmmem]\nratio = 1,5\n", NULL, -EINVAL,
     "(config data): [vmmem] ratio = '1,5': not a decimal number"},
    {"ratio empty", "[vmmem]\nratio =\n", NULL, -EINVAL, "(config data): [vmmem] ratio = ''"},
    {"ratio negative", "[vmmem]\nratio = -2\n", NULL, -EINVAL,
     "(config data): [vmmem] ratio = '-2'"},
    {"inline comment", "[vmmem]\nratio = 1.5 # more\n", NULL, -EINVAL,
     "(config data): [vmmem] ratio = '1.5 # more'"},
    {"high 1", "[vmmem]\nhigh = 1\n", NULL, -EINVAL,
     "(config data): [vmmem] high = '1': must be off, on or a fraction"},
    {"high 0", "[vmmem]\nhigh = 0\n", NULL, -EINVAL, "(config data): [vmmem] high = '0'"},
    {"high rounds to 0", "[vmmem]\nhigh = 0.0000001\n", NULL, -EINVAL,
     "(config data): [vmmem] high = '0.0000001'"},
    {"high rounds to 1", "[vmmem]\nhigh = 0.9999999\n", NULL, -EINVAL,
     "(config data): [vmmem] high = '0.9999999'"},
    {"high yes", "[vmmem]\nhigh = yes\n", NULL, -EINVAL, "(config data): [vmmem] high = 'yes'"},
    {"protect", "[vmmem]\nprotect = max\n", NULL, -EINVAL,
     "(config data): [vmmem] protect = 'max': must be off, low or min"},
    {"size junk", "[vmmem]\nswap = 12Q\n", NULL, -EINVAL,
     "(config data): [vmmem] swap = '12Q': not a size"},
    {"size negative", "[vmmem]\noverhead-min = -1\n", NULL, -EINVAL,
     "(config data): [vmmem] overhead-min = '-1'"},
    {"size too big", "[vmmem]\noverhead-max = 99999999999999999999\n", NULL, -ERANGE,
     "(config data): [vmmem] overhead-max = '99999999999999999999': does not fit"},
    {"qemu relative", "[vmmem]\nqemu = qemu-system-x86_64\n", NULL, -EINVAL,
     "(config data): [vmmem] qemu = 'qemu-system-x86_64': must be an absolute path"},
    {"parent absolute", "[vmmem]\nparent = /vmmem.slice\n", NULL, -EINVAL,
     "(config data): [vmmem] parent = '/vmmem.slice': "},
    {"parent dotdot", "[vmmem]\nparent = a/../b\n", NULL, -EINVAL,
     "(config data): [vmmem] parent = 'a/../b': "},
    {"min above max", "[vmmem]\noverhead-min = 2G\noverhead-max = 1G\n", NULL, -EINVAL,
     "(config data): [vmmem] overhead-min (2147483648) exceeds overhead-max (1073741824)"},
    {"min above max in a vm", "[vmmem]\noverhead-max = 1G\n[vm big]\noverhead-min = 2G\n", NULL,
     -EINVAL, "(config data): [vm big] overhead-min (2147483648) exceeds overhead-max"},
    {"escaped newline stays on one line", "[vmmem]\nratio = 1\\n2\n", NULL, -EINVAL,
     "(config data): [vmmem] ratio = '1\\x0a2': not a decimal number"},
    {"admission", "[vmmem]\nadmission = maybe\n", NULL, -EINVAL,
     "(config data): [vmmem] admission = 'maybe': must be off, warn or strict"},
    {"admission in a vm group", "[vm a]\nadmission = strict\n", NULL, -EINVAL,
     "(config data): [vm a] admission = 'strict': only allowed in [vmmem]"},
    {"backend", "[vmmem]\nbackend = libcgroup\n", NULL, -EINVAL,
     "(config data): [vmmem] backend = 'libcgroup': must be auto, cgroupfs or systemd"},
    {"backend in a vm group", "[vm a]\nbackend = systemd\n", NULL, -EINVAL,
     "(config data): [vm a] backend = 'systemd': only allowed in [vmmem]"},
    {"slice without .slice", "[vmmem]\nslice = machine\n", NULL, -EINVAL,
     "(config data): [vmmem] slice = 'machine': 'machine' is not a slice unit name"},
    {"slice with a path", "[vmmem]\nslice = a/b.slice\n", NULL, -EINVAL,
     "(config data): [vmmem] slice = 'a/b.slice': 'a/b.slice' is not a slice unit name"},
    {"root slice", "[vmmem]\nslice = -.slice\n", NULL, -EINVAL,
     "(config data): [vmmem] slice = '-.slice': '-.slice' is not a slice unit name"},
    {"host-reserve 100%", "[vmmem]\nhost-reserve = 100%\n", NULL, -EINVAL,
     "(config data): [vmmem] host-reserve = '100%': a share of the host's RAM must be 0% to 99%"},
    {"host-reserve %", "[vmmem]\nhost-reserve = %\n", NULL, -EINVAL,
     "(config data): [vmmem] host-reserve = '%': not a size"},
    {"host-reserve -1%", "[vmmem]\nhost-reserve = -1%\n", NULL, -EINVAL,
     "(config data): [vmmem] host-reserve = '-1%'"},
    {"overcommit below 1", "[vmmem]\novercommit = 0.9\n", NULL, -EINVAL,
     "(config data): [vmmem] overcommit = '0.9': must be between 1.0 and 100"},
    {"overcommit in a vm group", "[vm a]\novercommit = 2\n", NULL, -EINVAL,
     "(config data): [vm a] overcommit = '2': only allowed in [vmmem]"},
    {"set unknown key", "x", "ratoi", -EINVAL, "(override): [vmmem] ratoi = 'x': unknown key"},
    {"set bad value", "0.5", "ratio", -EINVAL, "(override): [vmmem] ratio = '0.5'"},
};

static void
test_bad(gconstpointer data)
{
    const BadRow *row = data;
    g_autoptr(Config) c = config_new_default();
    g_autoptr(GError) error = NULL;
    Policy p;
    int r;

    if (row->set_key)
        r = config_set(c, row->set_key, row->data, &error);
    else
        r = config_load_data(c, row->data, &error);
    g_assert_cmpint(r, ==, row->expect);
    g_assert_error(error, VMMEM_ERROR, -row->expect);
    if (!g_str_has_prefix(error->message, row->message))
        g_error("message '%s' does not start with '%s'", error->message, row->message);
    g_assert_null(strchr(error->message, '\n'));
    /* Nothing of a refused file or override takes effect. */
    config_policy_for(c, "big", &p);
    g_assert_cmpfloat(p.ratio, ==, 1.0);
    g_assert_cmpuint(p.overhead_max, ==, 0);
    g_assert_cmpstr(c->parent, ==, VMMEM_DEFAULT_PARENT);
    g_assert_cmpint(g_hash_table_size(c->vm_policies), ==, 0);
}

static const char full_file[] = "# a comment\n"
                                "[vmmem]\n"
                                "qemu = /opt/qemu/bin/qemu-system-x86_64\n"
                                "parent = machine.slice/vms\n"
                                "ratio = 1.5\n"
                                "overhead-min = 128M\n"
                                "overhead-max = 4G\n"
                                "high = on\n"
                                "swap = 1G\n"
                                "protect = low\n"
                                "\n"
                                "[vm web1]\n"
                                "ratio = 2\n"
                                "protect = min\n"
                                "\n"
                                "[vm db 2]\n"
                                "high = off\n"
                                "swap = 0\n";

/* The launch keys: policy and seccomp per VM, the helper socket for the host only. */
static void
test_launch_keys(void)
{
    g_autoptr(Config) c = config_new_default();
    g_autoptr(GError) error = NULL;
    Policy p;

    config_policy_for(c, "x", &p);
    g_assert_true(p.strict); /* failing to apply memory.max is an error unless asked otherwise */
    g_assert_false(p.seccomp);
    g_assert_cmpstr(c->helper_socket, ==, VMMEM_DEFAULT_HELPER_SOCKET);

    g_assert_cmpint(config_load_data(c,
                                     "[vmmem]\npolicy = fail-open\nseccomp = on\n"
                                     "helper-socket = /run/x/h.sock\n"
                                     "[vm web1]\npolicy = strict\nseccomp = off\n",
                                     &error),
                    ==, 0);
    g_assert_no_error(error);
    config_policy_for(c, "other", &p);
    g_assert_false(p.strict);
    g_assert_true(p.seccomp);
    config_policy_for(c, "web1", &p);
    g_assert_true(p.strict);
    g_assert_false(p.seccomp);
    g_assert_cmpstr(c->helper_socket, ==, "/run/x/h.sock");

    g_assert_cmpint(config_set(c, "policy", "lenient", &error), ==, -EINVAL);
    g_assert_cmpstr(error->message, ==,
                    "(override): [vmmem] policy = 'lenient': must be strict or fail-open");
    g_clear_error(&error);
    g_assert_cmpint(config_set(c, "seccomp", "yes", &error), ==, -EINVAL);
    g_clear_error(&error);
    g_assert_cmpint(config_set(c, "helper-socket", "rel/sock", &error), ==, -EINVAL);
    g_clear_error(&error);
    g_assert_cmpint(config_load_data(c, "[vm a]\nhelper-socket = /x\n", &error), ==, -EINVAL);
    g_assert_true(strstr(error->message, "only allowed in [vmmem]") != NULL);
    g_clear_error(&error);
    {
        g_autofree char *long_path = g_strnfill(120, 'a');
        long_path[0] = '/';
        g_assert_cmpint(config_set(c, "helper-socket", long_path, &error), ==, -EINVAL);
        g_clear_error(&error);
    }
    /* Refusals changed nothing. */
    config_policy_for(c, "other", &p);
    g_assert_false(p.strict);
    g_assert_cmpstr(c->helper_socket, ==, "/run/x/h.sock");
}

static void
test_full_file(void)
{
    g_autoptr(Config) c = config_new_default();
    g_autoptr(GError) error = NULL;
    Policy p;

    g_assert_cmpint(config_load_data(c, full_file, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpstr(c->qemu_binary, ==, "/opt/qemu/bin/qemu-system-x86_64");
    g_assert_cmpstr(c->parent, ==, "machine.slice/vms");

    config_policy_for(c, NULL, &p);
    check_policy(&p, &(GoodRow){.ratio = 1.5,
                                .overhead_min = 128 * MiB,
                                .overhead_max = 4 * GiB,
                                .high = 0.9,
                                .swap = GiB,
                                .protect = PROTECT_LOW});
    config_policy_for(c, "other", &p);
    check_policy(&p, &(GoodRow){.ratio = 1.5,
                                .overhead_min = 128 * MiB,
                                .overhead_max = 4 * GiB,
                                .high = 0.9,
                                .swap = GiB,
                                .protect = PROTECT_LOW});
    /* Only the keys a [vm NAME] group sets differ. */
    config_policy_for(c, "web1", &p);
    check_policy(&p, &(GoodRow){.ratio = 2,
                                .overhead_min = 128 * MiB,
                                .overhead_max = 4 * GiB,
                                .high = 0.9,
                                .swap = GiB,
                                .protect = PROTECT_MIN});
    config_policy_for(c, "db 2", &p);
    check_policy(&p, &(GoodRow){.ratio = 1.5,
                                .overhead_min = 128 * MiB,
                                .overhead_max = 4 * GiB,
                                .high = 0,
                                .swap = 0,
                                .protect = PROTECT_LOW});
}

/* A [vm NAME] group inherits what it does not set, even when [vmmem] changes later. */
static void
test_vm_inherits_later_changes(void)
{
    g_autoptr(Config) c = config_new_default();
    g_autoptr(GError) error = NULL;
    Policy p;

    g_assert_cmpint(config_load_data(c, "[vm web1]\nratio = 2\n", &error), ==, 0);
    g_assert_cmpint(config_set(c, "swap", "1G", &error), ==, 0);
    g_assert_cmpint(config_set(c, "ratio", "3", &error), ==, 0);
    g_assert_no_error(error);
    config_policy_for(c, "web1", &p);
    g_assert_cmpfloat(p.ratio, ==, 2.0);
    g_assert_cmpuint(p.swap, ==, GiB);
    config_policy_for(c, "web2", &p);
    g_assert_cmpfloat(p.ratio, ==, 3.0);

    /* A second file overlays the first, group by group and key by key. */
    g_assert_cmpint(config_load_data(c, "[vm web1]\nswap = 2G\n", &error), ==, 0);
    config_policy_for(c, "web1", &p);
    g_assert_cmpfloat(p.ratio, ==, 2.0);
    g_assert_cmpuint(p.swap, ==, 2 * GiB);
}

/* An override that would make a [vm NAME] group inconsistent is refused as a whole. */
static void
test_set_checks_vm_groups(void)
{
    g_autoptr(Config) c = config_new_default();
    g_autoptr(GError) error = NULL;
    Policy p;

    g_assert_cmpint(config_load_data(c, "[vm big]\noverhead-min = 2G\n", &error), ==, 0);
    g_assert_cmpint(config_set(c, "overhead-max", "1G", &error), ==, -EINVAL);
    g_assert_true(g_str_has_prefix(error->message, "(override): [vm big] overhead-min"));
    config_policy_for(c, NULL, &p);
    g_assert_cmpuint(p.overhead_max, ==, 0);
}

static void
test_set_global_keys(void)
{
    g_autoptr(Config) c = config_new_default();
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(config_set(c, "qemu", "/usr/local/bin/qemu-system-x86_64", &error), ==, 0);
    g_assert_cmpint(config_set(c, "parent", "custom.slice", &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpstr(c->qemu_binary, ==, "/usr/local/bin/qemu-system-x86_64");
    g_assert_cmpstr(c->parent, ==, "custom.slice");
    g_assert_cmpint(config_set(c, "parent", "", &error), ==, -EINVAL);
    g_assert_cmpstr(c->parent, ==, "custom.slice");
}

static void
test_copy(void)
{
    g_autoptr(Config) c = config_new_default();
    g_autoptr(Config) copy = NULL;
    Policy p;

    g_assert_cmpint(config_load_data(c, full_file, NULL), ==, 0);
    copy = config_copy(c);
    g_clear_pointer(&c, config_free);
    g_assert_cmpstr(copy->parent, ==, "machine.slice/vms");
    config_policy_for(copy, "web1", &p);
    g_assert_cmpfloat(p.ratio, ==, 2.0);
    g_assert_cmpint(p.protect, ==, PROTECT_MIN);
}

static void
test_load_file(void)
{
    g_autoptr(Config) c = config_new_default();
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmmem-test-config-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "vmmem.conf", NULL);
    g_autofree char *bad = g_build_filename(dir, "bad.conf", NULL);
    g_autofree char *missing = g_build_filename(dir, "missing.conf", NULL);
    g_autofree char *prefix = NULL, *expected = NULL;

    g_assert_true(g_file_set_contents(path, "[vmmem]\nswap = 1G\n", -1, NULL));
    g_assert_true(g_file_set_contents(bad, "[vmmem]\nswap = lots\n", -1, NULL));

    g_assert_cmpint(config_load_file(c, path, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpstr(c->path, ==, path);
    g_assert_cmpuint(c->defaults.swap, ==, GiB);

    /* The message names the file. */
    g_assert_cmpint(config_load_file(c, bad, &error), ==, -EINVAL);
    prefix = g_strdup_printf("%s: [vmmem] swap = 'lots': ", bad);
    g_assert_true(g_str_has_prefix(error->message, prefix));
    g_assert_cmpstr(c->path, ==, path);
    g_clear_error(&error);

    g_assert_cmpint(config_load_file(c, missing, &error), ==, -ENOENT);
    g_assert_error(error, VMMEM_ERROR, ENOENT);
    expected = g_strdup_printf("cannot read '%s': %s", missing, g_strerror(ENOENT));
    g_assert_cmpstr(error->message, ==, expected);
    g_clear_error(&error);
    g_clear_pointer(&expected, g_free);

    g_assert_cmpint(config_load_file(c, dir, &error), ==, -EISDIR);
    expected = g_strdup_printf("cannot read '%s': %s", dir, g_strerror(EISDIR));
    g_assert_cmpstr(error->message, ==, expected);
    g_clear_error(&error);

    /* The test environment points VMMEM_CONFIG at /dev/null: an empty policy. */
    g_assert_cmpint(config_load_file(c, "/dev/null", &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpuint(c->defaults.swap, ==, GiB);

    g_assert_cmpint(g_unlink(path), ==, 0);
    g_assert_cmpint(g_unlink(bad), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* FILE, then FILE.d/\*.conf in lexical order, each over the ones before; a bad drop-in fails
 * the whole load and changes nothing. */
static void
test_dropins(void)
{
    g_autoptr(Config) c = config_new_default();
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmmem-test-dropin-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "vmmem.conf", NULL);
    g_autofree char *d = g_build_filename(dir, "vmmem.conf.d", NULL);
    g_autofree char *a = g_build_filename(d, "10-a.conf", NULL);
    g_autofree char *b = g_build_filename(d, "20-b.conf", NULL);
    g_autofree char *skipped = g_build_filename(d, "30-c.conf.dpkg-old", NULL);
    g_autofree char *bad = g_build_filename(d, "40-bad.conf", NULL);
    Policy p;

    g_assert_cmpint(config_load_path(c, path, false, &error), ==, -ENOENT);
    g_clear_error(&error);
    g_assert_cmpint(config_load_path(c, path, true, &error), ==, 0);

    g_assert_cmpint(g_mkdir(d, 0755), ==, 0);
    g_assert_true(g_file_set_contents(path, "[vmmem]\nswap = 1G\nratio = 2\n", -1, NULL));
    g_assert_true(g_file_set_contents(b, "[vmmem]\nratio = 3\n[vm x]\nswap = 3G\n", -1, NULL));
    g_assert_true(g_file_set_contents(a, "[vmmem]\nratio = 1.5\nswap = 2G\n", -1, NULL));
    g_assert_true(g_file_set_contents(skipped, "[vmmem]\nratio = 9\n", -1, NULL));
    g_assert_cmpint(config_load_path(c, path, false, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpfloat(c->defaults.ratio, ==, 3.0);
    g_assert_cmpuint(c->defaults.swap, ==, 2 * GiB);
    config_policy_for(c, "x", &p);
    g_assert_cmpuint(p.swap, ==, 3 * GiB);

    /* Drop-ins alone, without the main file. */
    g_assert_cmpint(g_unlink(path), ==, 0);
    g_clear_pointer(&c, config_free);
    c = config_new_default();
    g_assert_cmpint(config_load_path(c, path, false, &error), ==, 0);
    g_assert_cmpfloat(c->defaults.ratio, ==, 3.0);

    g_assert_true(g_file_set_contents(bad, "[vmmem]\nratio = lots\n", -1, NULL));
    g_clear_pointer(&c, config_free);
    c = config_new_default();
    g_assert_cmpint(config_load_path(c, path, true, &error), ==, -EINVAL);
    g_assert_true(g_str_has_prefix(error->message, bad));
    g_assert_cmpfloat(c->defaults.ratio, ==, 1.0);

    for (const char *const *f = (const char *const[]){a, b, skipped, bad, NULL}; *f; f++)
        g_assert_cmpint(g_unlink(*f), ==, 0);
    g_assert_cmpint(g_rmdir(d), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void
test_admission_keys(void)
{
    g_autoptr(Config) c = config_new_default();

    g_assert_cmpint(c->admission, ==, ADMISSION_WARN);
    g_assert_cmpfloat(c->overcommit, ==, 1.0);
    g_assert_cmpuint(c->reserve_bytes, ==, 0);
    g_assert_cmpuint(c->reserve_pct, ==, 0);
    g_assert_cmpint(config_load_data(c,
                                     "[vmmem]\nadmission = strict\nhost-reserve = 10%\n"
                                     "overcommit = 1.5\n",
                                     NULL),
                    ==, 0);
    g_assert_cmpint(c->admission, ==, ADMISSION_STRICT);
    g_assert_cmpuint(c->reserve_pct, ==, 10);
    g_assert_cmpfloat(c->overcommit, ==, 1.5);
    /* A size replaces a share, and the other way round. */
    g_assert_cmpint(config_set(c, "host-reserve", "2G", NULL), ==, 0);
    g_assert_cmpuint(c->reserve_pct, ==, 0);
    g_assert_cmpuint(c->reserve_bytes, ==, 2 * GiB);
}

static void
test_backend_keys(void)
{
    g_autoptr(Config) c = config_new_default();

    g_assert_cmpint(c->backend, ==, BACKEND_AUTO);
    g_assert_cmpstr(c->slice, ==, "machine.slice");
    g_assert_cmpint(
        config_load_data(c, "[vmmem]\nbackend = cgroupfs\nslice = vms-lab.slice\n", NULL), ==, 0);
    g_assert_cmpint(c->backend, ==, BACKEND_CGROUPFS);
    g_assert_cmpstr(c->slice, ==, "vms-lab.slice");
    g_assert_cmpint(config_set(c, "backend", "systemd", NULL), ==, 0);
    g_assert_cmpint(c->backend, ==, BACKEND_SYSTEMD);
    /* A refused value leaves the setting as it was. */
    g_assert_cmpint(config_set(c, "slice", "x", NULL), ==, -EINVAL);
    g_assert_cmpstr(c->slice, ==, "vms-lab.slice");
}

static void
test_domain_env(void)
{
    g_autoptr(Config) c = config_new_default();
    g_autoptr(GError) error = NULL;

    g_assert_cmpuint(c->domain_env, ==, 0);
    g_assert_cmpint(config_load_data(c, "[vmmem]\ndomain-env = swap, ratio\n", NULL), ==, 0);
    g_assert_cmpuint(c->domain_env, ==, DOMAIN_ENV_SWAP | DOMAIN_ENV_RATIO);
    g_assert_cmpint(config_load_data(c, "[vmmem]\ndomain-env = none\n", NULL), ==, 0);
    g_assert_cmpuint(c->domain_env, ==, 0);
    g_assert_cmpint(config_load_data(c, "[vmmem]\ndomain-env = parent\n", &error), ==, -EINVAL);
    g_clear_error(&error);
    g_assert_cmpint(config_load_data(c, "[vm a]\ndomain-env = swap\n", &error), ==, -EINVAL);
    g_assert_nonnull(strstr(error->message, "only allowed in [vmmem]"));
    g_clear_error(&error);
    g_assert_cmpint(config_load_data(c, "[vmmem]\nprotect-max = 4G\n", NULL), ==, 0);
    g_assert_cmpuint(c->protect_max, ==, 4 * GiB);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/config/dropins", test_dropins);
    g_test_add_func("/config/domain-env", test_domain_env);
    g_test_add_func("/config/admission-keys", test_admission_keys);
    g_test_add_func("/config/backend-keys", test_backend_keys);
    g_test_add_func("/config/defaults", test_defaults);
    for (size_t i = 0; i < G_N_ELEMENTS(good_rows); i++) {
        g_autofree char *path =
            g_strdup_printf("/config/good/%s=%s", good_rows[i].key, good_rows[i].value);
        g_test_add_data_func(path, &good_rows[i], test_good);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad_rows); i++) {
        g_autofree char *path = g_strdup_printf("/config/bad/%s", bad_rows[i].desc);
        g_test_add_data_func(path, &bad_rows[i], test_bad);
    }
    g_test_add_func("/config/full-file", test_full_file);
    g_test_add_func("/config/launch-keys", test_launch_keys);
    g_test_add_func("/config/vm-inherits-later-changes", test_vm_inherits_later_changes);
    g_test_add_func("/config/set-checks-vm-groups", test_set_checks_vm_groups);
    g_test_add_func("/config/set-global-keys", test_set_global_keys);
    g_test_add_func("/config/copy", test_copy);
    g_test_add_func("/config/load-file", test_load_file);
    return g_test_run();
}
