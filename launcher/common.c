/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common.h"

#include <errno.h>
#include <glib.h>
#include <grp.h>
#include <inttypes.h>
#include <libcgroup.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void vwarn(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void
vwarn(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", program_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void
discard_libcgroup_log(void *userdata, int level, const char *fmt, va_list ap)
{
}

void
quiet_libcgroup(void)
{
    cgroup_set_logger(discard_libcgroup_log, CGROUP_LOG_ERROR, NULL);
}

void
die(int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
    exit(status);
}

void
warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
}

void
die_vmmem(int status, vmmem_error *error)
{
    die(status, "%s", error ? vmmem_error_get_message(error) : "unknown error");
}

bool
running_privileged(void)
{
    return getauxval(AT_SECURE) != 0;
}

/* Launcher settings cannot travel in argv (libvirt owns it), so they come from here. */
const LauncherEnvKey launcher_env_keys[] = {
    {"VMMEM_QEMU", "qemu", false},
    {"VMMEM_PARENT", "parent", false},
    {"VMMEM_SWAP", "swap", true},
    {"VMMEM_HIGH", "high", true},
    {"VMMEM_RATIO", "ratio", true},
    {"VMMEM_POLICY", "policy", false},
    {"VMMEM_SECCOMP", "seccomp", false},
    {"VMMEM_HELPER_SOCKET", "helper-socket", false},
    {NULL, NULL, false},
};

vmmem_config *
load_config(const char *path, bool privileged)
{
    vmmem_config *config = NULL;
    vmmem_error *error = NULL;

    if (vmmem_config_new(path, privileged ? VMMEM_CONFIG_IGNORE_ENV : 0, &config, &error) < 0)
        die_vmmem(1, error);
    for (const LauncherEnvKey *k = launcher_env_keys; !privileged && k->variable; k++) {
        const char *value = getenv(k->variable);
        if (value && *value && vmmem_config_set(config, k->key, value, &error) < 0)
            die(1, "%s: %s", k->variable, vmmem_error_get_message(error));
    }
    return config;
}

void
check_qemu_binary(const char *qemu)
{
    struct stat q, self;

    if (!qemu || qemu[0] != '/')
        die(1, "the qemu binary must be an absolute path, not '%s'", qemu ? qemu : "");
    if (stat(qemu, &q) < 0)
        die(127, "cannot execute '%s': %s", qemu, strerror(errno));
    if (!S_ISREG(q.st_mode))
        die(127, "cannot execute '%s': not a regular file", qemu);
    if (stat("/proc/self/exe", &self) == 0 && self.st_dev == q.st_dev && self.st_ino == q.st_ino)
        die(1,
            "the configured qemu '%s' is %s itself; point 'qemu' in the config at the real "
            "binary",
            qemu, program_name);
}

void
drop_privileges(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2] = {{0}};
    uid_t uid = getuid();
    gid_t gid = getgid();

    /* Nothing was granted to this launcher: what the caller passed stays, on purpose (libvirt
     * raises CAP_SYS_RAWIO for rawio disks and CAP_DAC_OVERRIDE for its probe). */
    if (!running_privileged() && geteuid() == uid && getegid() == gid)
        return;
    if (setgroups(0, NULL) < 0 && errno != EPERM)
        die(1, "cannot drop supplementary groups: %s", strerror(errno));
    if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        die(1, "cannot drop privileges: %s", strerror(errno));
    if (uid == 0 && !running_privileged())
        return; /* real root launching qemu as root */
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (syscall(SYS_capset, &hdr, data) < 0)
        die(1, "cannot drop capabilities: %s", strerror(errno));
}

/* The library's: explain's columns and its sources print a size the same way. */
char *
format_size(uint64_t bytes)
{
    return vmmem_format_size(bytes);
}

void
print_envelope_line(FILE *f, const vmmem_envelope *envelope, const char *path)
{
    g_autofree char *guest = format_size(vmmem_envelope_get_guest_ram(envelope));
    g_autofree char *over = format_size(vmmem_envelope_get_overhead(envelope));
    g_autofree char *max = format_size(vmmem_envelope_get_memory_max(envelope));

    fprintf(f, "%s: memory.max %s (guest %s + overhead %s) in /%s\n", program_name, max, guest,
            over, path);
}

void
print_warnings(const vmmem_envelope *envelope)
{
    for (size_t i = 0; i < vmmem_envelope_get_n_warnings(envelope); i++)
        warn("warning: %s", vmmem_envelope_get_warning(envelope, i));
}

/* Admission (docs/config.md): a refusal stops the VM whatever the launch policy, since it is the
 * host's answer, not a failure to apply the envelope.  A check that cannot be made stops it
 * under admission = strict and is a warning otherwise. */
void
admit(const vmmem_envelope *envelope, const vmmem_config *config)
{
    vmmem_admission admission;
    vmmem_error *error = NULL;
    int r = vmmem_admission_check(envelope, config, 0, &admission, &error);

    if (r == -EDQUOT)
        die_vmmem(1, error);
    /* No usable cgroup v2 here: making the envelope fails next, with this reason, once. */
    if (r < 0 && vmmem_error_get_errno(error) == ENOMEDIUM) {
        vmmem_error_free(error);
        return;
    }
    if (r < 0) {
        g_autofree char *mode = NULL;
        if (vmmem_config_get(config, NULL, "admission", &mode, NULL) < 0 ||
            strcmp(mode, "strict") == 0)
            die(1, "admission cannot be checked (admission = strict): %s",
                vmmem_error_get_message(error));
        warn("warning: admission not checked: %s", vmmem_error_get_message(error));
        vmmem_error_free(error);
        return;
    }
    if (!admission.fits) {
        g_autofree char *why = vmmem_admission_to_string(&admission);
        warn("warning: admission: the host is full, starting anyway (admission = warn): %s", why);
    }
}
