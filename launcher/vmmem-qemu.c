/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmmem-qemu: a drop-in for qemu-system-x86_64.  It puts itself into the VM's envelope and
 * execs the real qemu with the same argv, environment, fds and umask, so qemu keeps this PID.
 * Settings come from the config file and VMMEM_* variables (docs/launcher.md): libvirt owns
 * argv.
 *
 * Three cases, told apart before anything is touched:
 *   a capability probe   exec'd untouched: no envelope, nothing created, nothing printed;
 *   a libvirt domain     libvirt already placed us in the domain cgroup, whose files are root's:
 *                        vmmemd applies the envelope there (docs/libvirt.md);
 *   anything else        a scope of our own under the configured parent (docs/launcher.md).
 */
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "common.h"
#include "error.h"
#include "libvirt-domain.h"
#include "seccomp-filter.h"
#include "vmmemd-proto.h"

const char *program_name = "vmmem-qemu";

static bool
quiet(bool privileged)
{
    return !privileged && g_strcmp0(getenv("VMMEM_QUIET"), "1") == 0;
}

/* What the launcher itself decides for a VM, through the public policy getter as a manager
 * linking libvmmem would read it. */
typedef struct {
    bool strict;  /* policy = strict: an envelope that cannot be applied stops the VM */
    bool seccomp; /* the filter before exec */
} ExecPolicy;

static char *
config_value(const vmmem_config *config, const char *vm_name, const char *key)
{
    vmmem_error *error = NULL;
    char *value = NULL;

    if (vmmem_config_get(config, vm_name, key, &value, &error) < 0)
        die_vmmem(1, error);
    return value;
}

static void
exec_policy_for(const vmmem_config *config, const char *vm_name, ExecPolicy *ret_policy)
{
    g_autofree char *policy = config_value(config, vm_name, "policy");
    g_autofree char *seccomp = config_value(config, vm_name, "seccomp");

    ret_policy->strict = strcmp(policy, "fail-open") != 0;
    ret_policy->seccomp = strcmp(seccomp, "on") == 0;
}

/* The last steps for every VM (not the probe): the optional filter, no privilege of ours left. */
static void
prepare_exec(const ExecPolicy *policy)
{
    g_autoptr(GError) error = NULL;

    drop_privileges();
    if (policy->seccomp && seccomp_filter_install(0, &error) < 0)
        die(1, "cannot install the seccomp filter: %s", error->message);
}

/* Inside a libvirt domain the environment is the domain XML's (<qemu:env>), and whoever may
 * define a domain need not be trusted with the host's policy: root's file is the one read
 * (VMMEM_CONFIG is ignored), and it lists the variables that count (domain-env, none by
 * default). */
static vmmem_config *
load_domain_config(void)
{
    g_auto(GStrv) allowed = NULL;
    vmmem_config *config = NULL;
    vmmem_error *error = NULL;

    if (vmmem_config_new(NULL, VMMEM_CONFIG_IGNORE_ENV, &config, &error) < 0)
        die_vmmem(1, error);
    {
        g_autofree char *domain_env = config_value(config, NULL, "domain-env");
        allowed = g_strsplit(domain_env, ",", -1);
    }
    for (const LauncherEnvKey *k = launcher_env_keys; k->variable; k++) {
        const char *value = getenv(k->variable);

        if (!value || !*value || !g_strv_contains((const char *const *)allowed, k->key))
            continue;
        if (vmmem_config_set(config, k->key, value, &error) < 0)
            die(1, "%s: %s", k->variable, vmmem_error_get_message(error));
    }
    return config;
}

/* Exec failed while inside our scope: step out, remove it, report. */
static void fail_exec(vmmem_scope *scope, const char *qemu, int errnum) __attribute__((noreturn));

static void
fail_exec(vmmem_scope *scope, const char *qemu, int errnum)
{
    vmmem_error *error = NULL;

    if (scope && vmmem_scope_destroy(scope, 0, &error) < 0)
        warn("cannot remove cgroup '/%s': %s", vmmem_scope_get_path(scope),
             vmmem_error_get_message(error));
    die(127, "cannot execute '%s': %s", qemu, strerror(errnum));
}

/* Is this process inside a libvirt qemu domain cgroup?  The path says so first; the cgroupfs
 * must then agree (docs/libvirt.md), or the names alone could fool us.  NULL with *@ret_problem
 * when we cannot even tell (a MAC policy that hides /proc/self/cgroup): guessing "not libvirt"
 * would only fail later with a misleading reason. */
static LibvirtDomain *
detect_libvirt_domain(char **ret_problem)
{
    g_autofree char *text = NULL, *path = NULL, *mount = NULL;
    g_autoptr(LibvirtDomain) domain = NULL;
    g_autoptr(GError) error = NULL;
    int root_fd;

    if (!g_file_get_contents("/proc/self/cgroup", &text, NULL, &error)) {
        *ret_problem = g_strdup_printf("cannot read '/proc/self/cgroup': %s",
                                       g_strerror(vmmem_errno_from_file_error(error)));
        return NULL;
    }
    /* No "0::" line: no cgroup v2 at all, which the own-scope path reports in its words. */
    if (cg_parse_proc_cgroup(text, &path, NULL) < 0 ||
        libvirt_domain_from_cgroup(path, &domain) == 0)
        return NULL;
    if (cg_open_unified_root(&mount, &root_fd, &error) == 0) {
        (void)libvirt_domain_confirm(root_fd, domain, false, &error);
        close(root_fd);
    }
    if (error)
        *ret_problem = g_strdup(error->message);
    return g_steal_pointer(&domain);
}

static int fail_reason(char **ret_reason, int errnum, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int
fail_reason(char **ret_reason, int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    *ret_reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return -errnum;
}

/* One message from vmmemd: the hello (1), a reply (0), or -errno with *@ret_reason. */
static int
receive(int fd, const char *socket_path, VmmemdReply *reply, char **ret_reason)
{
    ssize_t n = recv(fd, reply, sizeof(*reply), MSG_TRUNC);
    const VmmemdHello *hello = (const VmmemdHello *)reply;

    if (n < 0) {
        int e = errno == EAGAIN ? ETIMEDOUT : errno;
        return fail_reason(ret_reason, e, "no answer from vmmemd at %s: %s", socket_path,
                           g_strerror(e));
    }
    if (n == (ssize_t)sizeof(*hello) && hello->magic == VMMEMD_HELLO_MAGIC &&
        hello->version == VMMEMD_VERSION)
        return 1;
    if (n != (ssize_t)sizeof(*reply) || reply->magic != VMMEMD_MAGIC)
        return fail_reason(ret_reason, EPROTO, "malformed answer from vmmemd at %s", socket_path);
    reply->message[sizeof(reply->message) - 1] = '\0';
    reply->warning[sizeof(reply->warning) - 1] = '\0';
    if (reply->status < 0)
        return fail_reason(ret_reason, -reply->status, "vmmemd: %s", reply->message);
    return 0;
}

/* Asks vmmemd (vmmemd-proto.h); 0 with its reply, or -errno with *@ret_reason. */
static int
ask_helper(const char *socket_path, VmmemdReply *reply, char **ret_reason)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = VMMEMD_TIMEOUT_MS / 1000};
    VmmemdRequest req = {.magic = VMMEMD_MAGIC, .version = VMMEMD_VERSION};
    int fd, r;

    g_strlcpy(addr.sun_path, socket_path, sizeof(addr.sun_path));
    /* CLOEXEC: qemu must not inherit a channel to the root helper. */
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail_reason(ret_reason, errno, "socket: %s", g_strerror(errno));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        r = fail_reason(ret_reason, errno, "cannot reach vmmemd at %s: %s", socket_path,
                        g_strerror(errno));
        goto out;
    }
    r = receive(fd, socket_path, reply, ret_reason);
    if (r != 1)
        goto out;
    if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req)) {
        int e = errno ? errno : EIO;
        r = fail_reason(ret_reason, e, "cannot send to vmmemd at %s: %s", socket_path,
                        g_strerror(e));
        goto out;
    }
    r = receive(fd, socket_path, reply, ret_reason);
    if (r == 1)
        r = fail_reason(ret_reason, EPROTO, "malformed answer from vmmemd at %s", socket_path);
out:
    close(fd);
    return r;
}

/* strict: the one-line reason, and qemu does not start.  fail-open: the same line as a warning,
 * and qemu starts unconfined. */
static void
envelope_failed(const ExecPolicy *policy, const char *reason)
{
    if (policy->strict)
        die(1, "%s", reason);
    warn("warning: %s; starting without an envelope (policy fail-open)", reason);
}

static void run_libvirt_domain(vmmem_config *config, LibvirtDomain *domain, char *problem,
                               const char *qemu, int argc, char **argv, bool privileged)
    __attribute__((noreturn));

/* libvirt has placed us and will move our threads into vcpuN/iothreadN later: we create nothing
 * and move nothing; vmmemd writes the domain cgroup's memory files. */
static void
run_libvirt_domain(vmmem_config *config, LibvirtDomain *domain, char *problem, const char *qemu,
                   int argc, char **argv, bool privileged)
{
    g_autoptr(vmmem_spec) spec = NULL;
    g_autofree char *reason = problem, *helper_socket = NULL;
    vmmem_error *error = NULL;
    VmmemdReply reply = {0};
    gint64 start;
    ExecPolicy policy;
    int r = 0;

    /* Parsed here too: the probe check, and the VM name for its [vm NAME] policy. */
    if (vmmem_spec_new_from_argv(argc - 1, (const char *const *)argv + 1, 0, &spec, &error) < 0) {
        if (!reason)
            reason = g_strdup(vmmem_error_get_message(error));
        vmmem_error_free(error);
    } else if (vmmem_spec_is_probe(spec)) {
        drop_privileges();
        execv(qemu, argv);
        die(127, "cannot execute '%s': %s", qemu, strerror(errno));
    }
    /* A [vm NAME] policy only for the domain's own name: argv's is the XML's to claim. */
    if (spec && !reason) {
        g_autoptr(GError) bad_name = NULL;
        if (libvirt_domain_check_name(domain, vmmem_spec_get_name(spec), &bad_name) < 0)
            reason = g_strdup(bad_name->message);
    }
    exec_policy_for(config, spec && !reason ? vmmem_spec_get_name(spec) : NULL, &policy);

    start = g_get_monotonic_time();
    helper_socket = config_value(config, NULL, "helper-socket");
    if (!reason && (r = ask_helper(helper_socket, &reply, &reason)) == 0) {
        /* How long the domain start waited for vmmemd: what a starved helper would show. */
        if (!quiet(privileged))
            fprintf(stderr, "%s: %s (vmmemd answered in %" G_GINT64_FORMAT " ms)\n", program_name,
                    reply.message, (g_get_monotonic_time() - start) / 1000);
        if (reply.warning[0])
            warn("warning: %s", reply.warning);
    } else {
        g_autofree char *where =
            g_strdup_printf("%s (libvirt domain cgroup /%s)", reason, domain->domain);
        /* vmmemd's admission refused it: the host's answer, not a failure (admit()). */
        if (r == -EDQUOT)
            die(1, "%s", where);
        envelope_failed(&policy, where);
    }
    prepare_exec(&policy);
    execv(qemu, argv);
    die(127, "cannot execute '%s': %s", qemu, strerror(errno));
}

/* Our own scope, made and entered; NULL with *@ret_reason when the envelope cannot be applied
 * (then nothing is left behind). */
static vmmem_scope *
enter_own_scope(vmmem_config *config, vmmem_spec *spec, bool dry_run, bool privileged,
                char **ret_reason)
{
    g_autoptr(vmmem_envelope) envelope = NULL;
    vmmem_scope *scope = NULL;
    vmmem_error *error = NULL;

    if (vmmem_envelope_new(spec, config, 0, &envelope, &error) < 0)
        goto fail;
    if (!dry_run)
        admit(envelope, config);
    if (vmmem_scope_new(envelope, config, NULL,
                        VMMEM_SCOPE_NAME_PID | (dry_run ? VMMEM_SCOPE_DRY_RUN : 0), &scope,
                        &error) < 0 ||
        vmmem_scope_create(scope, 0, &error) < 0)
        goto fail;
    if (vmmem_scope_attach_pid(scope, 0, 0, &error) < 0) {
        vmmem_error *cleanup = NULL;
        if (vmmem_scope_destroy(scope, 0, &cleanup) < 0)
            warn("cannot remove cgroup '/%s': %s", vmmem_scope_get_path(scope),
                 vmmem_error_get_message(cleanup));
        vmmem_error_free(cleanup);
        goto fail;
    }
    if (!quiet(privileged)) {
        print_warnings(envelope);
        print_envelope_line(stderr, envelope, vmmem_scope_get_path(scope));
    }
    return scope;
fail:
    *ret_reason = g_strdup(vmmem_error_get_message(error));
    vmmem_error_free(error);
    vmmem_scope_free(scope);
    return NULL;
}

int
main(int argc, char **argv)
{
    bool privileged = running_privileged();
    g_autoptr(LibvirtDomain) domain = NULL;
    g_autofree char *reason = NULL, *problem = NULL;
    vmmem_config *config;
    vmmem_spec *spec = NULL;
    vmmem_scope *scope = NULL;
    vmmem_error *error = NULL;
    const char *qemu;
    ExecPolicy policy;
    bool dry_run;

    quiet_libcgroup();
    dry_run = !privileged && g_strcmp0(getenv("VMMEM_DRY_RUN"), "1") == 0;
    domain = detect_libvirt_domain(&problem);
    config = domain && !dry_run ? load_domain_config() : load_config(NULL, privileged);
    qemu = vmmem_config_get_qemu_binary(config);
    check_qemu_binary(qemu);
    if (domain && !dry_run)
        run_libvirt_domain(config, domain, g_steal_pointer(&problem), qemu, argc, argv, privileged);
    if (domain)
        g_clear_pointer(&problem, g_free); /* a dry run: our own scope's plan, on paper */

    if (vmmem_spec_new_from_argv(argc - 1, (const char *const *)argv + 1, 0, &spec, &error) < 0) {
        exec_policy_for(config, NULL, &policy);
        /* The first thing that went wrong: the parse may fail for the same cause (a MAC policy
         * that also hides /proc/self/mounts, which it reads for hugetlbfs). */
        reason = problem ? g_steal_pointer(&problem) : g_strdup(vmmem_error_get_message(error));
        vmmem_error_free(error);
        envelope_failed(&policy, reason);
    } else if (vmmem_spec_is_probe(spec)) {
        /* No guest RAM: no envelope, nothing left behind, and qemu gets exactly what libvirt
         * gave us (the probe runs with CAP_DAC_OVERRIDE on purpose). */
        drop_privileges();
        execv(qemu, argv);
        die(127, "cannot execute '%s': %s", qemu, strerror(errno));
    } else {
        exec_policy_for(config, vmmem_spec_get_name(spec), &policy);
        if (problem)
            reason = g_steal_pointer(&problem);
        else
            scope = enter_own_scope(config, spec, dry_run, privileged, &reason);
        if (!scope)
            envelope_failed(&policy, reason);
    }

    prepare_exec(&policy);
    execv(qemu, argv);
    fail_exec(scope, qemu, errno);
}
