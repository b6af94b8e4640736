/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "error.h"
#include "qemu-argv.h"
#include "qemu-catalog.h"

#define MAX_WORDS 12

typedef struct {
    const char *name;
    const char *arg;
    int index;
    int arg_index;
} Expect;

typedef struct {
    const char *argv[MAX_WORDS + 1]; /* NULL-terminated */
    Expect expect[MAX_WORDS + 1];    /* ends at name NULL */
} SplitCase;

static int
count_words(const char *const *argv)
{
    int n = 0;

    while (argv[n])
        n++;
    return n;
}

static void
check_split(const SplitCase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const SplitCase *c = &cases[i];
        int argc = count_words(c->argv);
        g_autofree char *shown = g_strjoinv(" ", (char **)c->argv);
        g_autoptr(GArray) args = NULL;
        g_autoptr(GError) error = NULL;
        guint expected = 0;

        g_test_message("%s", shown);
        g_assert_cmpint(qemu_argv_split(argc, c->argv, &args, &error), ==, 0);
        g_assert_no_error(error);
        while (c->expect[expected].name)
            expected++;
        g_assert_cmpuint(args->len, ==, expected);
        for (guint k = 0; k < expected; k++) {
            const QemuArg *a = &g_array_index(args, QemuArg, k);
            const Expect *e = &c->expect[k];

            g_assert_cmpstr(a->name, ==, e->name);
            g_assert_cmpstr(a->arg, ==, e->arg);
            g_assert_cmpint(a->index, ==, e->index);
            g_assert_cmpint(a->arg_index, ==, e->arg_index);
            /* Arguments are argv's own strings, not copies. */
            if (a->arg_index >= 0)
                g_assert_true(a->arg == c->argv[a->arg_index]);
        }
    }
}

static void
test_options(void)
{
    static const SplitCase cases[] = {
        {{NULL}, {{NULL}}},
        {{"-m", "2G", NULL}, {{"m", "2G", 0, 1}, {NULL}}},
        {{"-enable-kvm", "-m", "1024", "-smp", "4", NULL},
         {{"enable-kvm", NULL, 0, -1}, {"m", "1024", 1, 2}, {"smp", "4", 3, 4}, {NULL}}},
        {{"-S", "-nographic", "-nodefaults", "-no-user-config", "-daemonize", "-snapshot", NULL},
         {{"S", NULL, 0, -1},
          {"nographic", NULL, 1, -1},
          {"nodefaults", NULL, 2, -1},
          {"no-user-config", NULL, 3, -1},
          {"daemonize", NULL, 4, -1},
          {"snapshot", NULL, 5, -1},
          {NULL}}},
        {{"-machine", "q35", "-M", "pc", "-accel", "kvm", "-cpu", "host", NULL},
         {{"machine", "q35", 0, 1},
          {"M", "pc", 2, 3},
          {"accel", "kvm", 4, 5},
          {"cpu", "host", 6, 7},
          {NULL}}},
        {{"-name", "guest=web1,debug-threads=on", "-object",
          "{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram0\",\"size\":1073741824}", NULL},
         {{"name", "guest=web1,debug-threads=on", 0, 1},
          {"object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram0\",\"size\":1073741824}", 2,
           3},
          {NULL}}},
        /* A known option takes the next word whatever it looks like. */
        {{"-append", "-console=ttyS0", "-m", "-1", NULL},
         {{"append", "-console=ttyS0", 0, 1}, {"m", "-1", 2, 3}, {NULL}}},
        {{"-mem-prealloc", "-mem-path", "/dev/hugepages", "-no-reboot", "-no-shutdown", NULL},
         {{"mem-prealloc", NULL, 0, -1},
          {"mem-path", "/dev/hugepages", 1, 2},
          {"no-reboot", NULL, 3, -1},
          {"no-shutdown", NULL, 4, -1},
          {NULL}}},
        {{"-h", "-help", "-version", "-s", "-d", "int", "-D", "/tmp/log", "-L", ".", NULL},
         {{"h", NULL, 0, -1},
          {"help", NULL, 1, -1},
          {"version", NULL, 2, -1},
          {"s", NULL, 3, -1},
          {"d", "int", 4, 5},
          {"D", "/tmp/log", 6, 7},
          {"L", ".", 8, 9},
          {NULL}}},
        /* 7.2 has -async-teardown as a flag; -run-with came later. */
        {{"-async-teardown", "-run-with", "async-teardown=on", NULL},
         {{"async-teardown", NULL, 0, -1}, {"run-with", "async-teardown=on", 1, 2}, {NULL}}},
        {{"-realtime", "mlock=on", "-no-quit", "-alt-grab", "-ctrl-grab", "-nodefconfig", NULL},
         {{"realtime", "mlock=on", 0, 1},
          {"no-quit", NULL, 2, -1},
          {"alt-grab", NULL, 3, -1},
          {"ctrl-grab", NULL, 4, -1},
          {"nodefconfig", NULL, 5, -1},
          {NULL}}},
        {{"-set", "device.x.y=1", "-global", "kvm-pit.lost_tick_policy=delay", "-msg",
          "timestamp=on", NULL},
         {{"set", "device.x.y=1", 0, 1},
          {"global", "kvm-pit.lost_tick_policy=delay", 2, 3},
          {"msg", "timestamp=on", 4, 5},
          {NULL}}},
    };

    check_split(cases, G_N_ELEMENTS(cases));
}

static void
test_double_dash(void)
{
    static const SplitCase cases[] = {
        {{"--m", "2G", NULL}, {{"m", "2G", 0, 1}, {NULL}}},
        {{"--enable-kvm", "--machine", "q35", "-smp", "2", NULL},
         {{"enable-kvm", NULL, 0, -1}, {"machine", "q35", 1, 2}, {"smp", "2", 3, 4}, {NULL}}},
        {{"--preconfig", "--nodefaults", NULL},
         {{"preconfig", NULL, 0, -1}, {"nodefaults", NULL, 1, -1}, {NULL}}},
        /* Only one extra dash is dropped, like qemu's lookup_opt(). */
        {{"---m", "2G", NULL}, {{"-m", "2G", 0, 1}, {NULL}}},
    };

    check_split(cases, G_N_ELEMENTS(cases));
}

static void
test_bare_words(void)
{
    static const SplitCase cases[] = {
        {{"disk.img", NULL}, {{"hda", "disk.img", 0, 0}, {NULL}}},
        {{"-enable-kvm", "/var/lib/images/a.qcow2", "-m", "1G", NULL},
         {{"enable-kvm", NULL, 0, -1},
          {"hda", "/var/lib/images/a.qcow2", 1, 1},
          {"m", "1G", 2, 3},
          {NULL}}},
        {{"a.img", "b.img", NULL}, {{"hda", "a.img", 0, 0}, {"hda", "b.img", 1, 1}, {NULL}}},
        {{"", NULL}, {{"hda", "", 0, 0}, {NULL}}},
        {{"-snapshot", "disk.img", NULL},
         {{"snapshot", NULL, 0, -1}, {"hda", "disk.img", 1, 1}, {NULL}}},
    };

    check_split(cases, G_N_ELEMENTS(cases));
}

static void
test_unknown(void)
{
    static const SplitCase cases[] = {
        {{"-frobnicate", "x", "-m", "1G", NULL},
         {{"frobnicate", "x", 0, 1}, {"m", "1G", 2, 3}, {NULL}}},
        {{"-frobnicate", "-m", "1G", NULL},
         {{"frobnicate", NULL, 0, -1}, {"m", "1G", 1, 2}, {NULL}}},
        {{"-m", "1G", "-frobnicate", NULL},
         {{"m", "1G", 0, 1}, {"frobnicate", NULL, 2, -1}, {NULL}}},
        {{"--frobnicate", "x", NULL}, {{"frobnicate", "x", 0, 1}, {NULL}}},
        {{"-frobnicate", "", NULL}, {{"frobnicate", "", 0, 1}, {NULL}}},
        /* Option names are case-sensitive: -s and -S, -d and -D are different options. */
        {{"-MACHINE", "q35", NULL}, {{"MACHINE", "q35", 0, 1}, {NULL}}},
        {{"-", "x", NULL}, {{"", "x", 0, 1}, {NULL}}},
        {{"--", "-S", NULL}, {{"", NULL, 0, -1}, {"S", NULL, 1, -1}, {NULL}}},
        {{"-m=2G", NULL}, {{"m=2G", NULL, 0, -1}, {NULL}}},
    };

    check_split(cases, G_N_ELEMENTS(cases));
}

typedef struct {
    const char *argv[MAX_WORDS + 1];
    const char *message;
} BadCase;

static void
test_missing_argument(void)
{
    static const BadCase cases[] = {
        {{"-m", NULL}, "option '-m' needs an argument"},
        {{"-enable-kvm", "--object", NULL}, "option '-object' needs an argument"},
        {{"-m", "1G", "-smp", NULL}, "option '-smp' needs an argument"},
        {{"-S", "-M", NULL}, "option '-M' needs an argument"},
        {{"-drive", "file=a.img", "-device", NULL}, "option '-device' needs an argument"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GArray *args = (GArray *)&cases; /* must stay untouched */
        g_autoptr(GError) error = NULL;

        g_assert_cmpint(qemu_argv_split(count_words(cases[i].argv), cases[i].argv, &args, &error),
                        ==, -EINVAL);
        g_assert_true(args == (GArray *)&cases);
        g_assert_error(error, VMMEM_ERROR, EINVAL);
        g_assert_cmpstr(error->message, ==, cases[i].message);
    }
}

static void
test_too_many(void)
{
    g_autofree const char **argv = g_new(const char *, QEMU_ARGV_MAX + 2);
    g_autoptr(GArray) args = NULL;
    g_autoptr(GError) error = NULL;

    for (int i = 0; i < QEMU_ARGV_MAX + 1; i++)
        argv[i] = i % 2 ? "1G" : "-m";
    argv[QEMU_ARGV_MAX + 1] = NULL;

    g_assert_cmpint(qemu_argv_split(QEMU_ARGV_MAX + 1, argv, &args, &error), ==, -E2BIG);
    g_assert_error(error, VMMEM_ERROR, E2BIG);
    g_assert_null(args);
    g_clear_error(&error);

    g_assert_cmpint(qemu_argv_split(QEMU_ARGV_MAX, argv, &args, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpuint(args->len, ==, QEMU_ARGV_MAX / 2);
    g_assert_cmpint(g_array_index(args, QemuArg, args->len - 1).arg_index, ==, QEMU_ARGV_MAX - 1);
}

static void
test_bad_vector(void)
{
    const char *argv[] = {"-m", NULL, "x"};
    g_autoptr(GArray) args = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(qemu_argv_split(-1, argv, &args, &error), ==, -EINVAL);
    g_clear_error(&error);
    g_assert_cmpint(qemu_argv_split(3, argv, &args, &error), ==, -EINVAL);
    g_assert_cmpstr(error->message, ==, "argument 1 is NULL");
    g_clear_error(&error);
    g_assert_cmpint(qemu_argv_split(0, NULL, &args, &error), ==, 0);
    g_assert_cmpuint(args->len, ==, 0);
}

/* Every option of qemu-system-x86_64 7.2, in qemu_options[] order (not sorted): extracted from
 * the binary.  A table that bsearch() cannot walk would lose some of them. */
static const struct {
    const char *name;
    bool has_arg;
} qemu_72_options[] = {
    {"h", false},
    {"help", false},
    {"version", false},
    {"machine", true},
    {"M", true},
    {"cpu", true},
    {"accel", true},
    {"smp", true},
    {"numa", true},
    {"add-fd", true},
    {"set", true},
    {"global", true},
    {"boot", true},
    {"m", true},
    {"mem-path", true},
    {"mem-prealloc", false},
    {"k", true},
    {"audio-help", false},
    {"audio", true},
    {"audiodev", true},
    {"device", true},
    {"name", true},
    {"uuid", true},
    {"fda", true},
    {"fdb", true},
    {"hda", true},
    {"hdb", true},
    {"hdc", true},
    {"hdd", true},
    {"cdrom", true},
    {"blockdev", true},
    {"drive", true},
    {"mtdblock", true},
    {"sd", true},
    {"snapshot", false},
    {"fsdev", true},
    {"virtfs", true},
    {"iscsi", true},
    {"usb", false},
    {"usbdevice", true},
    {"display", true},
    {"nographic", false},
    {"spice", true},
    {"portrait", false},
    {"rotate", true},
    {"vga", true},
    {"full-screen", false},
    {"g", true},
    {"vnc", true},
    {"win2k-hack", false},
    {"no-fd-bootchk", false},
    {"no-acpi", false},
    {"no-hpet", false},
    {"acpitable", true},
    {"smbios", true},
    {"netdev", true},
    {"nic", true},
    {"net", true},
    {"chardev", true},
    {"tpmdev", true},
    {"bios", true},
    {"pflash", true},
    {"kernel", true},
    {"append", true},
    {"initrd", true},
    {"dtb", true},
    {"compat", true},
    {"fw_cfg", true},
    {"serial", true},
    {"parallel", true},
    {"monitor", true},
    {"qmp", true},
    {"qmp-pretty", true},
    {"mon", true},
    {"debugcon", true},
    {"pidfile", true},
    {"singlestep", false},
    {"preconfig", false},
    {"S", false},
    {"overcommit", true},
    {"gdb", true},
    {"s", false},
    {"d", true},
    {"D", true},
    {"dfilter", true},
    {"seed", true},
    {"L", true},
    {"enable-kvm", false},
    {"xen-domid", true},
    {"xen-attach", false},
    {"xen-domid-restrict", false},
    {"no-reboot", false},
    {"no-shutdown", false},
    {"action", true},
    {"loadvm", true},
    {"daemonize", false},
    {"option-rom", true},
    {"rtc", true},
    {"icount", true},
    {"watchdog-action", true},
    {"echr", true},
    {"incoming", true},
    {"only-migratable", false},
    {"nodefaults", false},
    {"chroot", true},
    {"runas", true},
    {"prom-env", true},
    {"semihosting", false},
    {"semihosting-config", true},
    {"old-param", false},
    {"sandbox", true},
    {"readconfig", true},
    {"no-user-config", false},
    {"trace", true},
    {"plugin", true},
    {"qtest", true},
    {"qtest-log", true},
    {"async-teardown", false},
    {"msg", true},
    {"dump-vmstate", true},
    {"enable-sync-profile", false},
    {"object", true},
};

static void
test_table(void)
{
    static const char *const unknown[] = {
        "",        "-",  "hdachs",   "no-kvm", "sdl",     "curses", "tb-size", "watchdog",
        "Machine", "mm", "machine ", "objec",  "objects", "a",      "zzz",
    };
    bool has_arg;

    for (size_t i = 0; i < G_N_ELEMENTS(qemu_72_options); i++) {
        g_test_message("-%s", qemu_72_options[i].name);
        has_arg = !qemu_72_options[i].has_arg;
        g_assert_true(qemu_catalog_option(qemu_72_options[i].name, &has_arg));
        g_assert_cmpint(has_arg, ==, qemu_72_options[i].has_arg);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(unknown); i++)
        g_assert_false(qemu_catalog_option(unknown[i], &has_arg));
    g_assert_true(qemu_catalog_option("object", NULL));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-argv/options", test_options);
    g_test_add_func("/qemu-argv/double-dash", test_double_dash);
    g_test_add_func("/qemu-argv/bare-words", test_bare_words);
    g_test_add_func("/qemu-argv/unknown", test_unknown);
    g_test_add_func("/qemu-argv/missing-argument", test_missing_argument);
    g_test_add_func("/qemu-argv/too-many", test_too_many);
    g_test_add_func("/qemu-argv/bad-vector", test_bad_vector);
    g_test_add_func("/qemu-argv/table", test_table);
    return g_test_run();
}
