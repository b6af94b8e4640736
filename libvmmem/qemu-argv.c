/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "qemu-argv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct {
    const char *name;
    bool has_arg;
} QemuOption;

/* qemu-system-x86_64 7.2's option table (qemu_options[] in the Debian 1:7.2+dfsg build, which
 * is what `-help` prints plus the entries for other targets: qemu's lookup_opt() consumes their
 * argument before it refuses them, so splitting must too).  The few marked entries are not in
 * 7.2; they are here with the arity they have in the qemu that has them, so that a command line
 * written for another version splits the same way.  Sorted by strcmp() for bsearch(). */
static const QemuOption qemu_options[] = {
    {"D", true},
    {"L", true},
    {"M", true},
    {"S", false},
    {"accel", true},
    {"acpitable", true},
    {"action", true},
    {"add-fd", true},
    {"alt-grab", false}, /* before 7.2 */
    {"append", true},
    {"async-teardown", false},
    {"audio", true},
    {"audio-help", false},
    {"audiodev", true},
    {"bios", true},
    {"blockdev", true},
    {"boot", true},
    {"cdrom", true},
    {"chardev", true},
    {"chroot", true},
    {"compat", true},
    {"cpu", true},
    {"ctrl-grab", false}, /* before 7.2 */
    {"d", true},
    {"daemonize", false},
    {"debugcon", true},
    {"device", true},
    {"dfilter", true},
    {"display", true},
    {"drive", true},
    {"dtb", true},
    {"dump-vmstate", true},
    {"echr", true},
    {"enable-kvm", false},
    {"enable-sync-profile", false},
    {"fda", true},
    {"fdb", true},
    {"fsdev", true},
    {"full-screen", false},
    {"fw_cfg", true},
    {"g", true},
    {"gdb", true},
    {"global", true},
    {"h", false},
    {"hda", true},
    {"hdb", true},
    {"hdc", true},
    {"hdd", true},
    {"help", false},
    {"icount", true},
    {"incoming", true},
    {"initrd", true},
    {"iscsi", true},
    {"k", true},
    {"kernel", true},
    {"loadvm", true},
    {"m", true},
    {"machine", true},
    {"mem-path", true},
    {"mem-prealloc", false},
    {"mon", true},
    {"monitor", true},
    {"msg", true},
    {"mtdblock", true},
    {"name", true},
    {"net", true},
    {"netdev", true},
    {"nic", true},
    {"no-acpi", false},
    {"no-fd-bootchk", false},
    {"no-hpet", false},
    {"no-quit", false}, /* before 7.2 */
    {"no-reboot", false},
    {"no-shutdown", false},
    {"no-user-config", false},
    {"nodefaults", false},
    {"nodefconfig", false}, /* before 7.2 */
    {"nographic", false},
    {"numa", true},
    {"object", true},
    {"old-param", false},
    {"only-migratable", false},
    {"option-rom", true},
    {"overcommit", true},
    {"parallel", true},
    {"pflash", true},
    {"pidfile", true},
    {"plugin", true},
    {"portrait", false},
    {"preconfig", false},
    {"prom-env", true},
    {"qmp", true},
    {"qmp-pretty", true},
    {"qtest", true},
    {"qtest-log", true},
    {"readconfig", true},
    {"realtime", true}, /* before 7.2 */
    {"rotate", true},
    {"rtc", true},
    {"run-with", true}, /* after 7.2 */
    {"runas", true},
    {"s", false},
    {"sandbox", true},
    {"sd", true},
    {"seed", true},
    {"semihosting", false},
    {"semihosting-config", true},
    {"serial", true},
    {"set", true},
    {"singlestep", false},
    {"smbios", true},
    {"smp", true},
    {"snapshot", false},
    {"spice", true},
    {"tpmdev", true},
    {"trace", true},
    {"usb", false},
    {"usbdevice", true},
    {"uuid", true},
    {"version", false},
    {"vga", true},
    {"virtfs", true},
    {"vnc", true},
    {"watchdog-action", true},
    {"win2k-hack", false},
    {"xen-attach", false},
    {"xen-domid", true},
    {"xen-domid-restrict", false},
};

static int
compare_option(const void *key, const void *member)
{
    return strcmp(key, ((const QemuOption *)member)->name);
}

static const QemuOption *
lookup_option(const char *name)
{
    return bsearch(name, qemu_options, G_N_ELEMENTS(qemu_options), sizeof(qemu_options[0]),
                   compare_option);
}

bool
qemu_argv_lookup(const char *name, bool *ret_has_arg)
{
    const QemuOption *opt = lookup_option(name);

    if (!opt)
        return false;
    if (ret_has_arg)
        *ret_has_arg = opt->has_arg;
    return true;
}

/* Whether the option at argv[i] (named @name) swallows the next word. */
static bool
takes_argument(const char *name, int i, int argc, const char *const *argv)
{
    const QemuOption *opt = lookup_option(name);

    if (opt)
        return opt->has_arg;
    /* Unknown: a guess that never makes a following option disappear. */
    return i + 1 < argc && argv[i + 1][0] != '-';
}

int
qemu_argv_split(int argc, const char *const *argv, GArray **ret_args, GError **error)
{
    g_autoptr(GArray) args = NULL;

    if (argc < 0 || (argc > 0 && !argv))
        return vmmem_fail(error, EINVAL, "invalid argument vector");
    if (argc > QEMU_ARGV_MAX)
        return vmmem_fail(error, E2BIG, "too many arguments (%d, at most %d)", argc, QEMU_ARGV_MAX);
    for (int i = 0; i < argc; i++) {
        if (!argv[i])
            return vmmem_fail(error, EINVAL, "argument %d is NULL", i);
    }

    args = g_array_sized_new(FALSE, FALSE, sizeof(QemuArg), (guint)argc);
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];
        QemuArg a = {.index = i, .arg_index = -1};

        if (word[0] != '-') {
            /* qemu reads a bare word as the first hard disk image. */
            a.name = "hda";
            a.arg = word;
            a.arg_index = i;
        } else {
            a.name = word + (word[1] == '-' ? 2 : 1);
            if (takes_argument(a.name, i, argc, argv)) {
                if (i + 1 >= argc)
                    return vmmem_fail(error, EINVAL, "option '-%s' needs an argument", a.name);
                a.arg_index = ++i;
                a.arg = argv[i];
            }
        }
        g_array_append_val(args, a);
    }
    *ret_args = g_steal_pointer(&args);
    return 0;
}
