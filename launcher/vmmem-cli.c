/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmmem: the command-line tool around libvmmem.
 *   vmmem explain [--json] [OPTIONS] -- QEMU-ARGS...   what vmmem would do; touches nothing
 *   vmmem run [OPTIONS] -- QEMU-ARGS...                 run qemu in its envelope, report after
 *   vmmem gc [--parent P]                               remove empty scopes left behind
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

const char *program_name = "vmmem";

static char *arg_config;
static char *arg_name;
static char *arg_parent;
static char *arg_swap;
static char *arg_high;
static char *arg_qemu;
static gboolean arg_json;

static const GOptionEntry common_entries[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &arg_config,
     "Policy file (default: $VMMEM_CONFIG, else /etc/vmmem/vmmem.conf)", "FILE"},
    {"parent", 'p', 0, G_OPTION_ARG_STRING, &arg_parent,
     "Parent cgroup, relative to the cgroup2 root (default: vmmem.slice)", "CGROUP"},
    {NULL},
};

static const GOptionEntry launch_entries[] = {
    {"name", 'n', 0, G_OPTION_ARG_STRING, &arg_name, "Scope name (default: -name guest=, else pid)",
     "NAME"},
    {"swap", 0, 0, G_OPTION_ARG_STRING, &arg_swap, "Allow this much swap (memory.swap.max)",
     "SIZE"},
    {"high", 0, 0, G_OPTION_ARG_STRING, &arg_high,
     "memory.high as a fraction of memory.max: off, on (0.9) or 0 < F < 1", "FRACTION"},
    {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &arg_qemu, "The qemu binary to run", "PATH"},
    {NULL},
};

static const GOptionEntry explain_entries[] = {
    {"json", 'j', 0, G_OPTION_ARG_NONE, &arg_json, "Print the JSON contract (docs/json.md)", NULL},
    {NULL},
};

static vmmem_config *
config_from_options(void)
{
    vmmem_config *config = load_config(arg_config, running_privileged());
    const struct {
        const char *key, *value;
    } overrides[] = {
        {"parent", arg_parent}, {"swap", arg_swap}, {"high", arg_high}, {"qemu", arg_qemu}};
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
static void
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

static void
make_plan(int qemu_argc, char **qemu_argv, vmmem_config *config, unsigned scope_flags,
          vmmem_spec **ret_spec, vmmem_envelope **ret_envelope, vmmem_scope **ret_scope,
          char **ret_scope_error)
{
    vmmem_error *error = NULL;

    if (vmmem_spec_new_from_argv(qemu_argc, (const char *const *)qemu_argv, 0, ret_spec, &error) <
        0) {
        int index = vmmem_error_get_argv_index(error);
        if (index >= 0)
            die(1, "%s (qemu argument %d)", vmmem_error_get_message(error), index + 1);
        die_vmmem(1, error);
    }
    if (vmmem_envelope_new(*ret_spec, config, 0, ret_envelope, &error) < 0)
        die_vmmem(1, error);
    *ret_scope = NULL;
    if (!vmmem_spec_is_probe(*ret_spec) &&
        vmmem_scope_new(*ret_envelope, config, arg_name, scope_flags, ret_scope, &error) < 0) {
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

    if (vmmem_spec_is_probe(spec)) {
        printf("No guest RAM (a probe or query): qemu runs with no envelope.\n");
        return;
    }
    printf("VM %s: %u vCPU(s), guest RAM %s charged to memory, %s on hugetlbfs\n\n",
           vmmem_spec_get_name(spec) ? vmmem_spec_get_name(spec) : "(unnamed)",
           vmmem_spec_get_vcpus(spec), guest, huge);
    printf("Overhead by component:\n");
    for (size_t i = 0; i < n; i++) {
        const char *name, *source;
        uint64_t bytes;
        vmmem_envelope_get_component(envelope, i, &name, &bytes, &source);
        g_autofree char *b = format_size(bytes);
        printf("  %-12s %10s  %s\n", name, b, source);
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
    printf("  memory.oom.group  1 (the VM is killed whole)\n\n");
    if (!scope) {
        printf("Cgroup plan: no scope of its own: %s\n(inside a libvirt domain, vmmemd writes the "
               "envelope above on the domain cgroup instead)\n",
               scope_error);
        return;
    }
    printf("Cgroup plan (dry run, nothing was touched):\n");
    for (size_t i = 0; i < vmmem_scope_get_n_writes(scope); i++) {
        const char *file, *value;
        vmmem_scope_get_write(scope, i, &file, &value);
        printf("  /%s/%s = %s\n", vmmem_scope_get_path(scope), file, value);
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

    parse_options((const GOptionEntry *const[]){launch_entries, explain_entries, NULL}, &argc,
                  &argv, &qemu_argc, &qemu_argv);
    g_autoptr(vmmem_config) config = config_from_options();
    make_plan(qemu_argc, qemu_argv, config, VMMEM_SCOPE_DRY_RUN, &spec, &envelope, &scope,
              &scope_error);
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
spawn_qemu(const char *qemu, char **qemu_argv, int qemu_argc, int *ret_go, int *ret_report)
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

static int
wait_child(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            die(1, "waitpid: %s", strerror(errno));
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

static void
report_usage(vmmem_scope *scope, const vmmem_envelope *envelope, int status)
{
    uint64_t current, peak, kills;
    vmmem_error *error = NULL;

    if (vmmem_scope_read_usage(scope, &current, &peak, &kills, &error) < 0) {
        warn("cannot read usage: %s", vmmem_error_get_message(error));
        vmmem_error_free(error);
        return;
    }
    g_autofree char *p = format_size(peak);
    g_autofree char *m = format_size(vmmem_envelope_get_memory_max(envelope));
    fprintf(stderr, "%s: qemu exited with status %d; memory.peak %s of memory.max %s (%.1f%%)%s\n",
            program_name, status, p, m,
            100.0 * (double)peak / (double)vmmem_envelope_get_memory_max(envelope),
            kills ? "; it was OOM-killed" : "");
}

static int
cmd_run(int argc, char **argv)
{
    int qemu_argc, go, report, status, exec_errno;
    char **qemu_argv;
    vmmem_spec *spec;
    vmmem_envelope *envelope;
    vmmem_scope *scope;
    vmmem_error *error = NULL;

    parse_options((const GOptionEntry *const[]){launch_entries, NULL}, &argc, &argv, &qemu_argc,
                  &qemu_argv);
    g_autoptr(vmmem_config) config = config_from_options();
    const char *qemu = vmmem_config_get_qemu_binary(config);
    check_qemu_binary(qemu);
    make_plan(qemu_argc, qemu_argv, config, 0, &spec, &envelope, &scope, NULL);
    if (!scope)
        die(1, "this command line has no guest RAM (a probe or query); run qemu directly");
    if (vmmem_scope_create(scope, 0, &error) < 0)
        die_vmmem(1, error);
    print_envelope_line(stderr, envelope, vmmem_scope_get_path(scope));

    child_pid = spawn_qemu(qemu, qemu_argv, qemu_argc, &go, &report);
    if (vmmem_scope_attach_pid(scope, child_pid, 0, &error) < 0) {
        kill(child_pid, SIGKILL);
        wait_child(child_pid);
        vmmem_scope_destroy(scope, 0, NULL);
        die_vmmem(1, error);
    }
    signal(SIGINT, forward_signal);
    signal(SIGTERM, forward_signal);
    signal(SIGHUP, forward_signal);
    if (write(go, "x", 1) != 1)
        die(1, "cannot start qemu: %s", strerror(errno));
    close(go);
    if (read(report, &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno)) {
        wait_child(child_pid);
        vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, NULL);
        die(127, "cannot execute '%s': %s", qemu, strerror(exec_errno));
    }
    close(report);

    status = wait_child(child_pid);
    report_usage(scope, envelope, status);
    if (vmmem_scope_destroy(scope, VMMEM_SCOPE_DESTROY_KILL, &error) < 0) {
        warn("cannot remove cgroup '/%s': %s", vmmem_scope_get_path(scope),
             vmmem_error_get_message(error));
        vmmem_error_free(error);
    }
    vmmem_scope_free(scope);
    vmmem_envelope_free(envelope);
    vmmem_spec_free(spec);
    return status;
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

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"explain", cmd_explain, "Show the spec, overhead breakdown, envelope and cgroup plan"},
    {"run", cmd_run, "Run qemu in its envelope and report its peak usage when it exits"},
    {"gc", cmd_gc, "Remove empty vmmem scopes left behind by exited VMs"},
};

static void
usage(FILE *f)
{
    fprintf(f, "Usage: vmmem COMMAND [OPTION...] [-- QEMU-ARGS...]\n\nCommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'vmmem COMMAND --help' lists a command's options; see vmmem(1).\n");
}

int
main(int argc, char **argv)
{
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
