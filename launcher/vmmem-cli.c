/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmmem: the command-line tool around libvmmem.
 *   vmmem explain [--json] [OPTIONS] -- QEMU-ARGS...   what vmmem would do; touches nothing
 *   vmmem run [OPTIONS] -- QEMU-ARGS...                 run qemu in its envelope, report after
 *   vmmem calibrate [--json] [OPTIONS] -- QEMU-ARGS...  run qemu with room, measure its overhead
 *   vmmem gc [--parent P]                               remove empty scopes left behind
 *   vmmem status [--json] [NAME|PID]                    every envelope on this host
 *   vmmem fit --budget SIZE [--json] -- QEMU-ARGS...    the largest -m that fits SIZE
 *   vmmem capacity [--json] -- QEMU-ARGS...             how many more such VMs fit here
 *   vmmem why [--kmsg FILE] NAME|PID                    why a VM was OOM-killed
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "vmmem-cli.h"

const char *program_name = "vmmem";

static char *arg_config;
static char *arg_name;
static char *arg_parent;
static char *arg_backend;
static char *arg_slice;
static char *arg_swap;
static char *arg_high;
static char *arg_qemu;
gboolean arg_json;
static char *arg_duration;
static char *arg_interval;
static gboolean arg_dry_run;
static char *arg_host;

static const GOptionEntry common_entries[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &arg_config,
     "Policy file (default: $VMMEM_CONFIG, else /etc/vmmem/vmmem.conf)", "FILE"},
    {"parent", 'p', 0, G_OPTION_ARG_STRING, &arg_parent,
     "Parent cgroup, relative to the cgroup2 root (default: vmmem.slice)", "CGROUP"},
    {"backend", 0, 0, G_OPTION_ARG_STRING, &arg_backend,
     "Who makes the scope: auto (systemd where it is PID 1), cgroupfs or systemd", "BACKEND"},
    {"slice", 0, 0, G_OPTION_ARG_STRING, &arg_slice,
     "The systemd backend's slice for the scope (default: machine.slice)", "SLICE"},
    {NULL},
};

static const GOptionEntry scope_entries[] = {
    {"name", 'n', 0, G_OPTION_ARG_STRING, &arg_name, "Scope name (default: -name guest=, else pid)",
     "NAME"},
    {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &arg_qemu, "The qemu binary to run", "PATH"},
    {NULL},
};

const GOptionEntry limit_entries[] = {
    {"swap", 0, 0, G_OPTION_ARG_STRING, &arg_swap, "Allow this much swap (memory.swap.max)",
     "SIZE"},
    {"high", 0, 0, G_OPTION_ARG_STRING, &arg_high,
     "memory.high as a fraction of memory.max: off, on (0.9) or 0 < F < 1", "FRACTION"},
    {NULL},
};

const GOptionEntry host_entries[] = {
    {"host", 0, 0, G_OPTION_ARG_FILENAME, &arg_host,
     "Plan for the host FILE describes (`vmmem host --json` there), not this one", "FILE"},
    {NULL},
};

const GOptionEntry json_entries[] = {
    {"json", 'j', 0, G_OPTION_ARG_NONE, &arg_json, "Print the JSON contract (docs/json.md)", NULL},
    {NULL},
};

static gboolean arg_save_profile;
static char *arg_profile_path;

static gboolean
take_save_profile(const char *name, const char *value, gpointer data, GError **error)
{
    arg_save_profile = TRUE;
    g_free(arg_profile_path);
    arg_profile_path = g_strdup(value);
    return TRUE;
}

static const GOptionEntry calibrate_entries[] = {
    {"save-profile", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, take_save_profile,
     "Add the measurement to the host profile and fit its terms (default: the config's profile, "
     "/var/lib/vmmem/profile.conf)",
     "PATH"},
    {"duration", 'd', 0, G_OPTION_ARG_STRING, &arg_duration,
     "Stop qemu after S seconds (SIGTERM, SIGKILL 10 s later); default: until it exits", "S"},
    {"interval", 'i', 0, G_OPTION_ARG_STRING, &arg_interval,
     "Sample every MS milliseconds, 10 to 10000 (default 100)", "MS"},
    {"dry-run", 0, 0, G_OPTION_ARG_NONE, &arg_dry_run,
     "Print the calibration scope's plan; start nothing, touch nothing", NULL},
    {NULL},
};

vmmem_config *
config_from_options(void)
{
    vmmem_config *config = load_config(arg_config, running_privileged());
    const struct {
        const char *key, *value;
    } overrides[] = {{"parent", arg_parent}, {"swap", arg_swap},       {"high", arg_high},
                     {"qemu", arg_qemu},     {"backend", arg_backend}, {"slice", arg_slice}};
    vmmem_error *error = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(overrides); i++) {
        if (overrides[i].value &&
            vmmem_config_set(config, overrides[i].key, overrides[i].value, &error) < 0)
            die(1, "--%s: %s", overrides[i].key, vmmem_error_get_message(error));
    }
    return config;
}

/* Options before "--" are ours, everything after it is qemu's, untouched.  @extra: NULL for a
 * command that takes no qemu arguments. */
void
parse_options(const GOptionEntry *const *extra, int *argc, char ***argv, int *ret_qemu_argc,
              char ***ret_qemu_argv)
{
    g_autoptr(GOptionContext) ctx = NULL;
    g_autoptr(GError) gerr = NULL;
    int split = *argc;

    for (int i = 1; i < *argc; i++) {
        if (strcmp((*argv)[i], "--") == 0) {
            split = i;
            break;
        }
    }
    *ret_qemu_argc = split < *argc ? *argc - split - 1 : 0;
    *ret_qemu_argv = split < *argc ? *argv + split + 1 : *argv + *argc;
    *argc = split;

    g_autofree char *prgname = g_strdup_printf("vmmem %s", (*argv)[0]);
    g_set_prgname(prgname); /* "Usage: vmmem explain [OPTION...]" */
    ctx = g_option_context_new(extra ? "-- QEMU-ARGS..." : NULL);
    g_option_context_add_main_entries(ctx, common_entries, NULL);
    for (; extra && *extra; extra++)
        g_option_context_add_main_entries(ctx, *extra, NULL);
    if (!g_option_context_parse(ctx, argc, argv, &gerr))
        die(2, "%s", gerr->message);
    if (*argc > 1)
        die(2, "unexpected argument '%s' (qemu's arguments go after '--')", (*argv)[1]);
    if (!extra && *ret_qemu_argc > 0)
        die(2, "'%s' takes no qemu arguments", (*argv)[0]);
}

/* --host FILE's host, or NULL for this one. */
vmmem_host *
host_from_options(void)
{
    g_autofree char *json = NULL;
    g_autoptr(GError) gerr = NULL;
    vmmem_host *host = NULL;
    vmmem_error *error = NULL;

    if (!arg_host)
        return NULL;
    if (!g_file_get_contents(arg_host, &json, NULL, &gerr))
        die(1, "--host: %s", gerr->message);
    if (vmmem_host_new_from_json(json, 0, &host, &error) < 0)
        die(1, "--host %s: %s", arg_host, vmmem_error_get_message(error));
    return host;
}

void
make_plan(int qemu_argc, char **qemu_argv, vmmem_config *config, unsigned scope_flags,
          vmmem_spec **ret_spec, vmmem_envelope **ret_envelope, vmmem_scope **ret_scope,
          char **ret_scope_error)
{
    g_autoptr(vmmem_host) host = host_from_options();
    vmmem_error *error = NULL;

    if (vmmem_spec_new_for_host(qemu_argc, (const char *const *)qemu_argv, host, 0, ret_spec,
                                &error) < 0) {
        int index = vmmem_error_get_argv_index(error);
        if (index >= 0)
            die(1, "%s (qemu argument %d)", vmmem_error_get_message(error), index + 1);
        die_vmmem(1, error);
    }
    if (vmmem_envelope_new(*ret_spec, config, 0, ret_envelope, &error) < 0)
        die_vmmem(1, error);
    print_warnings(*ret_envelope);
    *ret_scope = NULL;
    if (!vmmem_spec_is_probe(*ret_spec) &&
        vmmem_scope_new(*ret_envelope, config, arg_name, scope_flags | VMMEM_SCOPE_NAME_PID,
                        ret_scope, &error) < 0) {
        /* explain: the envelope stands without a scope of our own (under libvirt the VM gets
         * none, and its name need not make a usable scope name). */
        if (ret_scope_error) {
            *ret_scope_error = g_strdup(vmmem_error_get_message(error));
            vmmem_error_free(error);
            return;
        }
        die_vmmem(1, error);
    }
}

/* systemd makes the scope and holds its limits; vmmem writes only inside the delegated scope. */
static void
print_systemd_plan(const vmmem_scope *scope)
{
    bool user = strcmp(vmmem_scope_get_backend(scope), "systemd-user") == 0;
    bool protected = false;

    printf("Backend: systemd (%s, over D-Bus): transient unit %s, started with qemu's pid\n",
           user ? "your user manager, no root needed" : "the system manager",
           vmmem_scope_get_unit(scope));
    printf("Unit properties (dry run, nothing was touched):\n");
    for (size_t i = 0; i < vmmem_scope_get_n_properties(scope); i++) {
        const char *name, *value;
        vmmem_scope_get_property(scope, i, &name, &value);
        printf("  %s=%s\n", name, value);
        protected |= strcmp(name, "MemoryMin") == 0 || strcmp(name, "MemoryLow") == 0;
    }
    printf("  PIDs=<qemu's pid>\n");
    printf("Then in the delegated scope: qemu moves into its leaf /%s/vm, and there:\n",
           vmmem_scope_get_path(scope));
    for (size_t i = 0; i < vmmem_scope_get_n_writes(scope); i++) {
        const char *file, *value;
        vmmem_scope_get_write(scope, i, &file, &value);
        if (strcmp(file, "memory.oom.group") == 0)
            printf("  %s = %s (the VM dies whole; systemd 252 has no OOMPolicy= for scopes)\n",
                   file, value);
    }
    if (protected)
        printf("Note: the protection takes effect only as far as the slice and every slice above "
               "it grant it (their MemoryMin=/MemoryLow=, DefaultMemoryMin=/Low=)\n");
}

static void
print_explain(const vmmem_spec *spec, const vmmem_envelope *envelope, const vmmem_scope *scope,
              const char *scope_error)
{
    size_t n = vmmem_envelope_get_n_components(envelope);
    uint64_t high = vmmem_envelope_get_memory_high(envelope);
    uint64_t swap = vmmem_envelope_get_swap_max(envelope);
    g_autofree char *guest = format_size(vmmem_envelope_get_guest_ram(envelope));
    g_autofree char *huge = format_size(vmmem_envelope_get_hugetlb_ram(envelope));
    g_autofree char *over = format_size(vmmem_envelope_get_overhead(envelope));
    g_autofree char *max = format_size(vmmem_envelope_get_memory_max(envelope));
    bool protected = false, passed_on = false;

    if (vmmem_spec_is_probe(spec)) {
        printf("No guest RAM (a probe or query): qemu runs with no envelope.\n");
        return;
    }
    printf("VM %s: %u vCPU(s), guest RAM %s charged to memory, %s on hugetlbfs\n\n",
           vmmem_spec_get_name(spec) ? vmmem_spec_get_name(spec) : "(unnamed)",
           vmmem_spec_get_vcpus(spec), guest, huge);
    printf("Overhead by component:\n");
    for (size_t i = 0; i < n; i++) {
        const char *name, *source, *basis;
        uint64_t bytes;
        vmmem_envelope_get_component_basis(envelope, i, &basis);
        vmmem_envelope_get_component(envelope, i, &name, &bytes, &source);
        g_autofree char *b = format_size(bytes);
        printf("  %-12s %10s  [%s] %s\n", name, b, basis, source);
    }
    printf("  %-12s %10s\n\n", "total", over);
    printf("Envelope:\n");
    printf("  memory.max        %" PRIu64 " (%s = guest RAM + overhead)\n",
           vmmem_envelope_get_memory_max(envelope), max);
    if (high == VMMEM_LIMIT_MAX)
        printf("  memory.high       max (off)\n");
    else
        printf("  memory.high       %" PRIu64 "\n", high);
    printf("  memory.swap.max   %" PRIu64 "%s\n", swap, swap ? "" : " (no swap)");
    if (vmmem_envelope_get_memory_min(envelope))
        printf("  memory.min        %" PRIu64 " (guest RAM protected from reclaim)\n",
               vmmem_envelope_get_memory_min(envelope));
    if (vmmem_envelope_get_memory_low(envelope))
        printf("  memory.low        %" PRIu64 " (guest RAM reclaimed last)\n",
               vmmem_envelope_get_memory_low(envelope));
    printf("  memory.oom.group  1 (the VM is killed whole)\n\n");
    if (!scope) {
        printf("Cgroup plan: no scope of its own: %s\n(inside a libvirt domain, vmmemd writes the "
               "envelope above on the domain cgroup instead)\n",
               scope_error);
        return;
    }
    if (vmmem_scope_get_unit(scope)) {
        print_systemd_plan(scope);
        return;
    }
    printf("Backend: cgroupfs (vmmem writes the cgroup files itself)\n");
    printf("Cgroup plan (dry run, nothing was touched):\n");
    for (size_t i = 0; i < vmmem_scope_get_n_writes(scope); i++) {
        const char *file, *value;
        vmmem_scope_get_write(scope, i, &file, &value);
        if (g_str_has_prefix(file, "../")) {
            g_autofree char *parent = g_path_get_dirname(vmmem_scope_get_path(scope));
            printf("  /%s/%s = %s\n", parent, file + strlen("../"), value);
            passed_on = true;
        } else {
            printf("  /%s/%s = %s\n", vmmem_scope_get_path(scope), file, value);
            protected |= strcmp(file, "memory.min") == 0 || strcmp(file, "memory.low") == 0;
        }
    }
    /* A protection is only as good as the ancestors' (docs/cgroup-layout.md). */
    if (protected && !passed_on) {
        g_autofree char *parent = g_path_get_dirname(vmmem_scope_get_path(scope));
        printf("Note: the protection takes effect only as far as /%s and every cgroup above it "
               "grant it (memory.min/low there); vmmem sets that only on its own vmmem.slice\n",
               parent);
    }
}

static int
cmd_explain(int argc, char **argv)
{
    int qemu_argc;
    char **qemu_argv;
    vmmem_spec *spec;
    vmmem_envelope *envelope;
    vmmem_scope *scope;
    g_autofree char *scope_error = NULL;

    parse_options((const GOptionEntry *const[]){scope_entries, limit_entries, host_entries,
                                                json_entries, NULL},
                  &argc, &argv, &qemu_argc, &qemu_argv);
    g_autoptr(vmmem_config) config = config_from_options();
    make_plan(qemu_argc, qemu_argv, config, VMMEM_SCOPE_DRY_RUN, &spec, &envelope, &scope,
              &scope_error);
    if (arg_host && !arg_json)
        printf("Planned for the host %s describes, not this one (its files are not read: the "
               "model budgets what any file may cost).\n\n",
               arg_host);
    if (arg_json) {
        g_autofree char *json = NULL;
        vmmem_envelope_to_json(envelope, 0, &json, NULL);
        printf("%s\n", json);
    } else {
        print_explain(spec, envelope, scope, scope_error);
    }
    vmmem_scope_free(scope);
    vmmem_envelope_free(envelope);
    vmmem_spec_free(spec);
    return 0;
}

static pid_t child_pid;

static void
forward_signal(int sig)
{
    if (child_pid > 0)
        kill(child_pid, sig);
}

/* The child waits on @go until the parent has moved it into the scope, so qemu allocates
 * nothing outside the envelope; @report (close-on-exec) carries errno if exec fails. */
static pid_t
spawn_qemu(const char *qemu, char **qemu_argv, int qemu_argc, bool stdout_to_stderr, int *ret_go,
           int *ret_report)
{
    int go[2], report[2];
    pid_t pid;

    if (pipe2(go, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0)
        die(1, "pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        die(1, "fork: %s", strerror(errno));
    if (pid == 0) {
        char byte, **argv = g_new0(char *, qemu_argc + 2);
        int e;
        argv[0] = (char *)qemu;
        memcpy(argv + 1, qemu_argv, sizeof(char *) * qemu_argc);
        if (read(go[0], &byte, 1) != 1)
            _exit(127);
        drop_privileges();
        if (stdout_to_stderr && dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
            _exit(127);
        execv(qemu, argv);
        e = errno;
        (void)!write(report[1], &e, sizeof(e));
        _exit(127);
    }
    close(go[0]);
    close(report[1]);
    *ret_go = go[1];
    *ret_report = report[0];
    return pid;
}

/* As a shell reports it: the exit code, or 128 + the signal. */
static int
exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

static int
wait_child(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            die(1, "waitpid: %s", strerror(errno));
    }
    return exit_code(status);
}

/* What the scope last said while qemu ran in it (wait_qemu). */
typedef struct {
    bool valid;
    uint64_t peak, kills;
} UsageSample;

/* A systemd unit's cgroup goes with its last process: systemd stops the empty scope and removes
 * it, racing the read after waitpid (a user manager often wins).  So while qemu runs in a unit,
 * its usage is read every USAGE_SAMPLE_S seconds (a poll timeout on qemu's pidfd, no signal:
 * GDBus's thread could take one), and the last reading stands in when the final one comes too
 * late. */
#define USAGE_SAMPLE_S 1

static void
sample_usage(const vmmem_scope *scope, UsageSample *last)
{
    uint64_t current, peak, kills;

    if (vmmem_scope_read_usage(scope, &current, &peak, &kills, NULL) == 0)
        *last = (UsageSample){.valid = true, .peak = peak, .kills = kills};
}

static int
wait_qemu(pid_t pid, const vmmem_scope *scope, UsageSample *last)
{
    int fd = vmmem_scope_get_unit(scope) ? pidfd_open(pid, 0) : -1;

    *last = (UsageSample){0};
    while (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, USAGE_SAMPLE_S * 1000);

        if (n == 0)
            sample_usage(scope, last);
        else if (n > 0 || errno != EINTR)
            break; /* exited, or no pidfd to wait on: waitpid alone */
    }
    if (fd >= 0)
        close(fd);
    return wait_child(pid);
}

static void
report_usage(vmmem_scope *scope, const vmmem_envelope *envelope, int status,
             const UsageSample *last)
{
    uint64_t current, peak, kills;
    vmmem_error *error = NULL;
    const char *when = "";

    if (vmmem_scope_read_usage(scope, &current, &peak, &kills, &error) < 0) {
        if (!last->valid) {
            warn("cannot read usage: %s", vmmem_error_get_message(error));
            vmmem_error_free(error);
            return;
        }
        vmmem_error_free(error);
        peak = last->peak;
        kills = last->kills;
        when = " (read while it ran: systemd removed the scope with qemu)";
    }
    g_autofree char *p = format_size(peak);
    g_autofree char *m = format_size(vmmem_envelope_get_memory_max(envelope));
    fprintf(stderr,
            "%s: qemu exited with status %d; memory.peak %s of memory.max %s (%.1f%%)%s%s\n",
            program_name, status, p, m,
            100.0 * (double)peak / (double)vmmem_envelope_get_memory_max(envelope), when,
            kills ? "; it was OOM-killed" : "");
}

/* Starts qemu inside @scope (created) and installs @on_signal for SIGINT, SIGTERM and SIGHUP
 * once it is there.  Anything that fails removes the scope and exits. */
static pid_t
start_qemu(const char *qemu, char **qemu_argv, int qemu_argc, vmmem_scope *scope,
           bool stdout_to_stderr, void (*on_signal)(int))
{
    int go, report, exec_errno;
    vmmem_error *error = NULL;

    child_pid = spawn_qemu(qemu, qemu_argv, qemu_argc, stdout_to_stderr, &go, &report);
    if (vmmem_scope_attach_pid(scope, child_pid, 0, &error) < 0) {
        kill(child_pid, SIGKILL);
        wait_child(child_pid);
        vmmem_scope_destroy(scope, 0, NULL);
        die_vmmem(1, error);
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    if (write(go, "x", 1) != 1) {
        int e = errno;
        kill(child_pid, SIGKILL);
        wait_child(child_pid);
        vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, NULL);
        die(1, "cannot start qemu: %s", strerror(e));
    }
    close(go);
    if (read(report, &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno)) {
        wait_child(child_pid);
        vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, NULL);
        die(127, "cannot execute '%s': %s", qemu, strerror(exec_errno));
    }
    close(report);
    return child_pid;
}

static void
remove_scope(vmmem_scope *scope)
{
    vmmem_error *error = NULL;

    if (vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, &error) < 0) {
        warn("cannot remove cgroup '/%s': %s", vmmem_scope_get_path(scope),
             vmmem_error_get_message(error));
        vmmem_error_free(error);
    }
}

static int
cmd_run(int argc, char **argv)
{
    int qemu_argc, status;
    char **qemu_argv;
    vmmem_spec *spec;
    vmmem_envelope *envelope;
    vmmem_scope *scope;
    vmmem_error *error = NULL;
    UsageSample last;

    parse_options((const GOptionEntry *const[]){scope_entries, limit_entries, NULL}, &argc, &argv,
                  &qemu_argc, &qemu_argv);
    g_autoptr(vmmem_config) config = config_from_options();
    const char *qemu = vmmem_config_get_qemu_binary(config);
    check_qemu_binary(qemu);
    make_plan(qemu_argc, qemu_argv, config, 0, &spec, &envelope, &scope, NULL);
    if (!scope)
        die(1, "this command line has no guest RAM (a probe or query); run qemu directly");
    admit(envelope, config);
    if (vmmem_scope_create(scope, 0, &error) < 0)
        die_vmmem(1, error);
    print_envelope_line(stderr, envelope, vmmem_scope_get_path(scope));

    start_qemu(qemu, qemu_argv, qemu_argc, scope, false, forward_signal);
    status = wait_qemu(child_pid, scope, &last);
    report_usage(scope, envelope, status, &last);
    remove_scope(scope);
    vmmem_scope_free(scope);
    vmmem_envelope_free(envelope);
    vmmem_spec_free(spec);
    return status;
}

/* ---- calibrate ---- */

#define INTERVAL_MS_DEFAULT 100
#define INTERVAL_MS_MIN     10
#define INTERVAL_MS_MAX     10000
#define DURATION_S_MAX      (366 * 24 * 3600)
/* How long qemu gets to exit after SIGTERM when --duration ends the run. */
#define KILL_AFTER_US (10 * G_USEC_PER_SEC)

/* Signals wake the sampling loop through this pipe: a child that exits (SIGCHLD) ends it at
 * once, and so does a stop signal, which no sample may delay. */
static int wake_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_signal;

static void
wake(int sig)
{
    int saved = errno;

    if (sig != SIGCHLD)
        stop_signal = sig;
    (void)!write(wake_pipe[1], "x", 1);
    errno = saved;
}

static uint64_t
parse_whole(const char *option, const char *text, uint64_t min, uint64_t max, const char *unit)
{
    guint64 v;

    if (!g_ascii_string_to_unsigned(text, 10, min, max, &v, NULL))
        die(2, "--%s: '%s' is not a whole number of %s from %" PRIu64 " to %" PRIu64, option, text,
            unit, min, max);
    return v;
}

static void
print_calibration_plan(const vmmem_envelope *envelope, const vmmem_scope *scope)
{
    g_autofree char *over = format_size(vmmem_envelope_get_overhead(envelope));

    printf("Calibration scope (dry run, nothing was touched): room for the VM to show what it "
           "uses\n");
    for (size_t i = 0; i < vmmem_scope_get_n_writes(scope); i++) {
        const char *file, *value;
        vmmem_scope_get_write(scope, i, &file, &value);
        printf("  /%s/%s = %s\n", vmmem_scope_get_path(scope), file, value);
    }
    printf("\nvmmem's budget for this VM: overhead %s ('vmmem explain' shows its parts)\n", over);
}

/* Samples until qemu exits; returns its exit code.  --duration: SIGTERM when it is over,
 * SIGKILL 10 s later (*ret_stopped: either was sent).  Returns -1 when a stop signal came, with
 * *ret_error unset, or when a sample failed, with *ret_error set. */
static int
sample_until_exit(vmmem_calibration *cal, const vmmem_scope *scope, pid_t pid, uint64_t interval_ms,
                  uint64_t duration_s, bool *ret_stopped, vmmem_error **ret_error)
{
    gint64 step = (gint64)interval_ms * 1000, now = g_get_monotonic_time(), next = now;
    gint64 term_at = duration_s ? now + (gint64)duration_s * G_USEC_PER_SEC : G_MAXINT64;
    gint64 kill_at = G_MAXINT64;

    for (;;) {
        struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};
        gint64 wait_us;
        char drain[64];
        int status;

        if (waitpid(pid, &status, WNOHANG) == pid)
            return exit_code(status);
        if (stop_signal)
            return -1;
        now = g_get_monotonic_time();
        if (now >= term_at) {
            kill(pid, SIGTERM);
            *ret_stopped = true;
            term_at = G_MAXINT64;
            kill_at = now + KILL_AFTER_US;
        }
        if (now >= kill_at) {
            kill(pid, SIGKILL);
            kill_at = G_MAXINT64;
        }
        if (now >= next) {
            if (vmmem_calibration_sample(cal, scope, pid, 0, ret_error) < 0)
                return -1;
            /* Behind (a slow sample): the next one a whole interval on, never a burst. */
            next = MAX(next + step, g_get_monotonic_time());
            continue;
        }
        wait_us = MIN(next, MIN(term_at, kill_at)) - now;
        (void)poll(&pfd, 1, (int)((wait_us + 999) / 1000));
        while (read(wake_pipe[0], drain, sizeof(drain)) > 0)
            ;
    }
}

static void
print_calibration(const vmmem_calibration *cal, const vmmem_envelope *envelope,
                  const vmmem_scope *scope, int status, uint64_t interval_ms)
{
    uint64_t at_ms, must_fit = vmmem_calibration_get_must_fit_peak(cal, &at_ms);
    uint64_t peak = vmmem_calibration_get_peak_overhead(cal);
    uint64_t budget = vmmem_envelope_get_overhead(envelope);
    g_autofree char *p = format_size(must_fit);
    g_autofree char *po = format_size(peak);
    g_autofree char *reclaim = format_size(vmmem_calibration_get_reclaimable_peak(cal));
    g_autofree char *mpeak = format_size(vmmem_calibration_get_memory_peak(cal));
    g_autofree char *guest = format_size(vmmem_calibration_get_guest_peak(cal));
    g_autofree char *ram = format_size(vmmem_envelope_get_guest_ram(envelope));
    g_autofree char *b = format_size(budget);

    printf("Calibrated /%s: %zu samples every %" PRIu64 " ms (%zu skipped) over %.1f s; qemu "
           "exited with status %d\n\n",
           vmmem_scope_get_path(scope), vmmem_calibration_get_n_samples(cal), interval_ms,
           vmmem_calibration_get_n_skipped(cal),
           (double)vmmem_calibration_get_duration_ms(cal) / 1000.0, status);
    printf("Peak must-fit overhead: %s at %.1f s (beyond guest RAM, not reclaimable without "
           "swap)\n",
           p, (double)at_ms / 1000.0);
    printf("  %-14s %10s  %s\n", "part", "at peak", "its own largest");
    for (size_t i = 0; i < vmmem_calibration_get_n_parts(cal); i++) {
        const char *name;
        uint64_t at, max;
        vmmem_calibration_get_part(cal, i, &name, &at, &max);
        g_autofree char *a = format_size(at);
        g_autofree char *m = format_size(max);
        printf("  %-14s %10s  %s\n", name, a, m);
    }
    if (peak > must_fit)
        printf("\nBetween two samples it was higher: memory.current and memory.peak bound the "
               "overhead from below at %s, the VM's peak overhead\n",
               po);
    printf("\nReclaimable peak: %s of page cache outside guest RAM (qemu's files, buffered "
           "I/O)\n",
           reclaim);
    printf("memory.peak: %s, guest RAM resident peak %s of %s\n\n", mpeak, guest, ram);
    if (peak > 0)
        printf("vmmem's budget: overhead %s = %.2f x the peak overhead\n", b,
               (double)budget / (double)peak);
    else
        printf("vmmem's budget: overhead %s (the peak overhead is 0)\n", b);
    for (size_t i = 0; i < vmmem_envelope_get_n_components(envelope); i++) {
        const char *name;
        uint64_t bytes;
        vmmem_envelope_get_component(envelope, i, &name, &bytes, NULL);
        g_autofree char *c = format_size(bytes);
        printf("  %-14s %10s\n", name, c);
    }
}

/* Ends a calibration that will not report: qemu and the scope go, then one line. */
static void abandon(vmmem_scope *scope, int status, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4) G_GNUC_NORETURN;

static void
abandon(vmmem_scope *scope, int status, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    remove_scope(scope);
    die(status, "%s", msg);
}

/* The measurement into the host profile, then what the model makes of this VM with it. */
static void
save_profile(const vmmem_calibration *cal, vmmem_config *config, int qemu_argc, char **qemu_argv)
{
    const char *path = arg_profile_path;
    g_autoptr(vmmem_spec) spec = NULL;
    g_autoptr(vmmem_envelope) envelope = NULL;
    vmmem_error *error = NULL;
    int r;

    r = vmmem_calibration_save_profile(cal, config, path, 0, &error);
    if (r < 0)
        die_vmmem(1, error);
    if (path && vmmem_config_set(config, "profile", path, &error) < 0)
        die_vmmem(1, error);
    if (vmmem_spec_new_from_argv(qemu_argc, (const char *const *)qemu_argv, 0, &spec, &error) < 0 ||
        vmmem_envelope_new(spec, config, 0, &envelope, &error) < 0)
        die_vmmem(1, error);
    print_warnings(envelope);
    g_autofree char *over = format_size(vmmem_envelope_get_overhead(envelope));
    fprintf(stderr,
            "%s: %s the host profile %s; with it this VM's overhead budget is %s "
            "(vmmem explain shows each term and its basis)\n",
            program_name, r == 1 ? "started" : "added the measurement to",
            path ? path : "/var/lib/vmmem/profile.conf", over);
}

static int
cmd_calibrate(int argc, char **argv)
{
    int qemu_argc, status, r;
    bool ours;
    char **qemu_argv;
    vmmem_spec *spec;
    vmmem_envelope *envelope;
    vmmem_scope *scope;
    vmmem_error *error = NULL;
    g_autoptr(vmmem_calibration) cal = NULL;
    uint64_t interval_ms = INTERVAL_MS_DEFAULT, duration_s = 0;
    bool stopped = false;
    pid_t pid;

    parse_options(
        (const GOptionEntry *const[]){scope_entries, json_entries, calibrate_entries, NULL}, &argc,
        &argv, &qemu_argc, &qemu_argv);
    if (arg_interval)
        interval_ms =
            parse_whole("interval", arg_interval, INTERVAL_MS_MIN, INTERVAL_MS_MAX, "milliseconds");
    if (arg_duration)
        duration_s = parse_whole("duration", arg_duration, 1, DURATION_S_MAX, "seconds");
    if (arg_dry_run && arg_json)
        die(2, "--dry-run prints a plan, not JSON: leave out --json");
    if (arg_profile_path && !g_path_is_absolute(arg_profile_path))
        die(2, "--save-profile: '%s' is not an absolute path", arg_profile_path);
    g_autoptr(vmmem_config) config = config_from_options();
    const char *qemu = vmmem_config_get_qemu_binary(config);
    if (!arg_dry_run)
        check_qemu_binary(qemu);
    make_plan(qemu_argc, qemu_argv, config,
              VMMEM_SCOPE_CALIBRATE | (arg_dry_run ? VMMEM_SCOPE_DRY_RUN : 0), &spec, &envelope,
              &scope, NULL);
    if (!scope)
        die(1, "this command line has no guest RAM (a probe or query): nothing to calibrate");
    if (vmmem_calibration_new(envelope, 0, &cal, &error) < 0)
        die_vmmem(1, error);
    if (arg_dry_run) {
        print_calibration_plan(envelope, scope);
        return 0;
    }
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        die(1, "pipe: %s", strerror(errno));
    signal(SIGCHLD, wake);
    if (vmmem_scope_create(scope, 0, &error) < 0)
        die_vmmem(1, error);

    /* stdout is the report's, the JSON's above all: qemu's own output goes to stderr. */
    pid = start_qemu(qemu, qemu_argv, qemu_argc, scope, true, wake);
    status = sample_until_exit(cal, scope, pid, interval_ms, duration_s, &stopped, &error);
    if (status < 0) {
        kill(pid, SIGKILL);
        wait_child(pid);
        if (error) {
            g_autofree char *msg = g_strdup(vmmem_error_get_message(error));
            vmmem_error_free(error);
            abandon(scope, 1, "%s", msg);
        }
        abandon(scope, 128 + stop_signal, "stopped by SIG%s: qemu killed, no report",
                sigabbrev_np(stop_signal));
    }
    /* The ceiling reached says more than the exit status of a qemu killed for it.  Else a
     * qemu that failed (or never started its guest) ran no workload worth a report; one that
     * --duration stopped is ours, even when it had no handler for SIGTERM yet, or had to be
     * killed. */
    ours = status == 0 || (stopped && (status == 128 + SIGTERM || status == 128 + SIGKILL));
    r = vmmem_calibration_finish(cal, scope, status, 0, &error);
    if (r < 0 && (r == -ENOSPC || ours)) {
        g_autofree char *msg = g_strdup(vmmem_error_get_message(error));
        vmmem_error_free(error);
        abandon(scope, 1, "%s", msg);
    }
    if (!ours)
        abandon(scope, 1, "qemu exited with status %d: no report (its own messages say why)",
                status);
    remove_scope(scope);
    if (arg_json) {
        g_autofree char *json = NULL;
        vmmem_calibration_to_json(cal, 0, &json, NULL);
        printf("%s\n", json);
    } else {
        print_calibration(cal, envelope, scope, status, interval_ms);
    }
    if (arg_save_profile)
        save_profile(cal, config, qemu_argc, qemu_argv);
    vmmem_scope_free(scope);
    vmmem_envelope_free(envelope);
    vmmem_spec_free(spec);
    return 0;
}

static int
cmd_gc(int argc, char **argv)
{
    int qemu_argc;
    char **qemu_argv;
    unsigned removed = 0;
    vmmem_error *error = NULL;

    parse_options(NULL, &argc, &argv, &qemu_argc, &qemu_argv);
    g_autoptr(vmmem_config) config = config_from_options();
    if (vmmem_gc(config, 0, &removed, &error) < 0)
        die_vmmem(1, error);
    printf("removed %u empty scope(s)\n", removed);
    return 0;
}

/* The host JSON (docs/json.md) of this machine, for planning here or elsewhere. */
static int
cmd_host(int argc, char **argv)
{
    int qemu_argc;
    char **qemu_argv;
    g_autoptr(vmmem_host) host = NULL;
    g_autofree char *json = NULL;
    vmmem_error *error = NULL;

    parse_options((const GOptionEntry *const[]){json_entries, NULL}, &argc, &argv, &qemu_argc,
                  &qemu_argv);
    if (qemu_argc > 0)
        die(2, "'host' takes no qemu arguments");
    if (vmmem_host_new_local(0, &host, &error) < 0 ||
        vmmem_host_to_json(host, 0, &json, &error) < 0)
        die_vmmem(1, error);
    printf("%s\n", json);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"explain", cmd_explain, "Show the spec, overhead breakdown, envelope and cgroup plan"},
    {"run", cmd_run, "Run qemu in its envelope and report its peak usage when it exits"},
    {"calibrate", cmd_calibrate,
     "Run qemu with room to spare, measure its real overhead, compare it with the budget"},
    {"gc", cmd_gc, "Remove empty vmmem scopes left behind by exited VMs"},
    {"host", cmd_host, "Print this machine's facts as JSON, to plan for it elsewhere (--host)"},
    {"why", cmd_why, "Why a VM was OOM-killed, from the kernel's report and its envelope"},
    {"capacity", cmd_capacity, "How many more VMs like this one the host holds (admission)"},
    {"fit", cmd_fit, "The largest -m whose envelope fits a budget (--budget SIZE)"},
    {"status", cmd_status, "Every envelope on this host: limits, usage, overhead, events"},
};

static void
usage(FILE *f)
{
    fprintf(f, "Usage: vmmem COMMAND [OPTION...] [-- QEMU-ARGS...]\n\nCommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'vmmem COMMAND --help' lists a command's options; see vmmem(1).\n");
}

int
main(int argc, char **argv)
{
    quiet_libcgroup();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("vmmem %s\n", vmmem_version());
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    die(2, "unknown command '%s' (try 'vmmem --help')", argv[1]);
}
