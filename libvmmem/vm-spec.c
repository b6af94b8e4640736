/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vm-spec-internal.h"

/* Stage 2.  Each option goes through one table entry; what needs the whole command line (which
 * backend is the main RAM, the -smp topology, the accelerator, -blockdev graphs, qemu's default
 * devices) is settled once every option has been seen, as qemu itself does.  This file drives it
 * and holds what every handler uses; the handlers live by family in vm-spec-*.c. */

void
spec_accel_choice_free(AccelChoice *c)
{
    g_free(c->name);
    g_free(c);
}

static void
numa_node_free(NumaNode *n)
{
    g_free(n->memdev);
    g_free(n);
}

static void
mem_ref_free(MemRef *r)
{
    g_free(r->backend_id);
    g_free(r);
}

void
spec_block_node_free(BlockNode *b)
{
    g_free(b->node_name);
    g_free(b->driver);
    g_free(b->file);
    g_free(b->filename);
    g_free(b);
}

void
spec_mem_backend_free(VmMemBackend *b)
{
    g_free(b->id);
    g_free(b->qom_type);
    g_free(b->mem_path);
    g_free(b);
}

static void
disk_free(VmDisk *d)
{
    g_free(d->node_name);
    g_free(d->format);
    g_free(d->path);
    g_free(d);
}

static void
video_free(VmVideo *v)
{
    g_free(v->model);
    g_free(v);
}

VmSpec *
vm_spec_free(VmSpec *spec)
{
    if (!spec)
        return NULL;
    g_free(spec->name);
    g_free(spec->probe_reason);
    g_free(spec->machine);
    g_free(spec->mem_path);
    g_free(spec->kernel);
    g_clear_pointer(&spec->backends, g_ptr_array_unref);
    g_clear_pointer(&spec->disks, g_ptr_array_unref);
    g_clear_pointer(&spec->videos, g_ptr_array_unref);
    g_free(spec);
    return NULL;
}

static VmSpec *
vm_spec_new(void)
{
    VmSpec *spec = g_new0(VmSpec, 1);

    spec->backends = g_ptr_array_new_with_free_func((GDestroyNotify)spec_mem_backend_free);
    spec->disks = g_ptr_array_new_with_free_func((GDestroyNotify)disk_free);
    spec->videos = g_ptr_array_new_with_free_func((GDestroyNotify)video_free);
    return spec;
}

static void
parse_state_clear(ParseState *st)
{
    g_free(st->mem_path);
    g_free(st->machine_memdev);
    g_free(st->machine_accel);
    g_clear_pointer(&st->accels, g_ptr_array_unref);
    g_clear_pointer(&st->numa, g_ptr_array_unref);
    g_clear_pointer(&st->mem_refs, g_ptr_array_unref);
    g_clear_pointer(&st->blocks, g_ptr_array_unref);
    g_clear_pointer(&st->backend_srcs, g_ptr_array_unref);
    g_clear_pointer(&st->backend_ids, g_hash_table_unref);
    g_clear_pointer(&st->block_names, g_hash_table_unref);
    vm_spec_free(st->spec);
}

/* ---- messages ---- */

/* Text from argv, on one line and cut short: a message stays one readable line whatever the
 * command line holds. */
static void
append_quoted(GString *s, const char *text, size_t max)
{
    g_autofree char *q = quote_for_message(text, max);

    g_string_append(s, q);
}

static char *
quote_text(const char *text, size_t max)
{
    GString *s = g_string_new(NULL);

    append_quoted(s, text, max);
    return g_string_free(s, FALSE);
}

/* The option as the user typed it. */
char *
spec_quote_arg(const QemuArg *a)
{
    GString *s = g_string_new("-");

    append_quoted(s, a->name, QUOTE_MAX);
    if (a->arg) {
        g_string_append_c(s, ' ');
        append_quoted(s, a->arg, QUOTE_MAX);
    }
    return g_string_free(s, FALSE);
}

static int
arg_index_of(const QemuArg *a)
{
    if (!a)
        return -1;
    return a->arg_index >= 0 ? a->arg_index : a->index;
}

/* vmmem_fail() that also remembers which argument is at fault. */
int
spec_refuse(ParseState *st, const QemuArg *at, GError **error, int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    st->fail_index = arg_index_of(at);
    return vmmem_fail(error, errnum, "%s", msg);
}

/* spec_refuse() with " in '<the argument>'" after the message. */
int
spec_refuse_in(ParseState *st, const QemuArg *at, GError **error, int errnum, const char *fmt, ...)
{
    g_autofree char *quoted = spec_quote_arg(at);
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return spec_refuse(st, at, error, errnum, "%s in '%s'", msg, quoted);
}

/* Wraps a lower layer's message (qemu-opts) with the option it came from. */
static int
refuse_wrapped(ParseState *st, const QemuArg *at, GError **error, GError *cause)
{
    /* The lower layer may quote the whole (multi-KB) text again. */
    g_autofree char *reason = quote_text(cause->message, 4 * QUOTE_MAX);

    return spec_refuse_in(st, at, error, vmmem_error_errno(cause), "%s", reason);
}

/* ---- value helpers ---- */

int
spec_parse_opts(ParseState *st, const char *implied_key, QemuOpts **ret_opts, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (qemu_opts_parse(st->cur->arg ? st->cur->arg : "", implied_key, ret_opts, &local) < 0)
        return refuse_wrapped(st, st->cur, error, local);
    return 0;
}

int
spec_size_value(ParseState *st, const char *key, const char *text, uint64_t default_unit,
                uint64_t *ret, GError **error)
{
    g_autofree char *value = NULL;
    int r;

    r = vmmem_parse_size(text, default_unit, ret);
    if (r == 0)
        return 0;
    value = quote_text(text, QUOTE_MAX);
    if (r == -ERANGE)
        return spec_refuse_in(st, st->cur, error, ERANGE, "%s '%s' is out of range", key, value);
    return spec_refuse_in(st, st->cur, error, EINVAL, "invalid size '%s'", value);
}

/* A size-valued key of the current option; *ret untouched when absent. */
int
spec_opt_size(ParseState *st, const QemuOpts *opts, const char *key, uint64_t default_unit,
              uint64_t *ret, GError **error)
{
    const char *text = qemu_opts_get(opts, key);

    return text ? spec_size_value(st, key, text, default_unit, ret, error) : 0;
}

int
spec_opt_bool(ParseState *st, const QemuOpts *opts, const char *key, bool dflt, bool *ret,
              GError **error)
{
    g_autoptr(GError) local = NULL;

    if (qemu_opts_get_bool(opts, key, dflt, ret, &local) < 0)
        return refuse_wrapped(st, st->cur, error, local);
    return 0;
}

int
spec_opt_uint(ParseState *st, const QemuOpts *opts, const char *key, uint64_t dflt, uint64_t *ret,
              GError **error)
{
    g_autoptr(GError) local = NULL;

    if (qemu_opts_get_uint(opts, key, dflt, ret, &local) < 0)
        return refuse_wrapped(st, st->cur, error, local);
    return 0;
}

/* qdev integer properties go through qemu_strtou64(..., base 0): 0x prefixes are fine. */
int
spec_opt_qdev_uint(ParseState *st, const QemuOpts *opts, const char *key, uint64_t *ret,
                   GError **error)
{
    const char *text = qemu_opts_get(opts, key);
    g_autofree char *value = NULL;
    char *end = NULL;

    if (!text)
        return 0;
    errno = 0;
    if (g_ascii_isdigit(text[0]))
        *ret = g_ascii_strtoull(text, &end, 0);
    if (end && *end == '\0' && errno == 0)
        return 0;
    value = quote_text(text, QUOTE_MAX);
    return spec_refuse_in(st, st->cur, error, errno == ERANGE ? ERANGE : EINVAL,
                          "invalid number '%s' (%s)", value, key);
}

static bool
is_help(const char *value)
{
    return g_strcmp0(value, "help") == 0 || g_strcmp0(value, "?") == 0;
}

/* How pages of a file at @path are charged.  /tmp is left out on purpose: it is tmpfs on some
 * hosts and a disk directory on others, and page cache is the cheaper guess to get wrong. */
VmRamKind
spec_kind_of_path(const HostInfo *host, const char *path)
{
    if (host && host_info_path_is_hugetlbfs(host, path))
        return VM_RAM_HUGETLB;
    if (host_path_is_under(path, "/dev/shm") || host_path_is_under(path, "/run"))
        return VM_RAM_SHMEM;
    return VM_RAM_FILE;
}

/* ---- the option table ---- */

typedef enum {
    HELP_NONE,
    HELP_ALWAYS, /* the option itself prints and exits: -version */
    HELP_VALUE,  /* "help" or "?" as the whole value: -cpu help */
    HELP_OPTS,   /* ... or as any bare comma-separated word: -device e1000,help */
    HELP_MODEL,  /* HELP_OPTS, and model=help lists NIC models: -nic user,model=help */
} HelpKind;

typedef int (*OptionHandler)(ParseState *st, GError **error);

typedef struct {
    const char *name;
    OptionHandler handler; /* NULL: only its help queries matter */
    HelpKind help;
} OptionInfo;

static const OptionInfo option_table[] = {
    {"m", spec_handle_m, HELP_NONE},
    {"mem-path", spec_handle_mem_path, HELP_NONE},
    {"mem-prealloc", spec_handle_mem_prealloc, HELP_NONE},
    {"overcommit", spec_handle_overcommit, HELP_NONE},
    {"realtime", spec_handle_realtime, HELP_NONE},
    {"object", spec_handle_object, HELP_OPTS},
    {"machine", spec_handle_machine, HELP_OPTS},
    {"M", spec_handle_machine, HELP_OPTS},
    {"accel", spec_handle_accel, HELP_OPTS},
    {"enable-kvm", spec_handle_enable_kvm, HELP_NONE},
    {"smp", spec_handle_smp, HELP_NONE},
    {"numa", spec_handle_numa, HELP_NONE},
    {"name", spec_handle_name, HELP_NONE},
    {"drive", spec_handle_drive, HELP_NONE},
    {"blockdev", spec_handle_blockdev, HELP_NONE},
    {"hda", spec_handle_disk_path, HELP_NONE},
    {"hdb", spec_handle_disk_path, HELP_NONE},
    {"hdc", spec_handle_disk_path, HELP_NONE},
    {"hdd", spec_handle_disk_path, HELP_NONE},
    {"cdrom", spec_handle_disk_path, HELP_NONE},
    {"kernel", spec_handle_kernel, HELP_NONE},
    {"netdev", spec_handle_netdev, HELP_OPTS},
    {"nic", spec_handle_nic, HELP_MODEL},
    {"net", spec_handle_net, HELP_MODEL},
    {"device", spec_handle_device, HELP_OPTS},
    {"global", spec_handle_global, HELP_NONE},
    {"vga", spec_handle_vga, HELP_VALUE},
    {"vnc", spec_handle_vnc, HELP_NONE},
    {"spice", spec_handle_spice, HELP_NONE},
    {"display", spec_handle_display, HELP_OPTS},
    {"nographic", spec_handle_nographic, HELP_NONE},
    {"daemonize", spec_handle_daemonize, HELP_NONE},
    {"nodefaults", spec_handle_nodefaults, HELP_NONE},
    {"readconfig", spec_handle_readconfig, HELP_NONE},
    {"version", NULL, HELP_ALWAYS},
    {"help", NULL, HELP_ALWAYS},
    {"h", NULL, HELP_ALWAYS},
    {"audio-help", NULL, HELP_ALWAYS},
    {"cpu", NULL, HELP_VALUE},
    {"d", NULL, HELP_VALUE},
    {"L", NULL, HELP_VALUE},
    {"trace", NULL, HELP_OPTS},
    {"chardev", NULL, HELP_OPTS},
    {"audiodev", NULL, HELP_OPTS},
    {"audio", NULL, HELP_OPTS},
    {"tpmdev", NULL, HELP_OPTS},
};

const char *
vm_spec_option_unknown_to_splitter(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(option_table); i++) {
        if (!qemu_catalog_option(option_table[i].name, NULL))
            return option_table[i].name;
    }
    return NULL;
}

static const OptionInfo *
find_option(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(option_table); i++)
        if (strcmp(name, option_table[i].name) == 0)
            return &option_table[i];
    return NULL;
}

/* Splits at single commas (",," is a literal comma) and looks for a bare help word. */
static bool
opts_ask_help(const char *value, bool model_too)
{
    g_autoptr(GString) word = g_string_new(NULL);

    if (value[0] == '{')
        return false;
    for (const char *p = value;; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(word, ',');
            p++;
            continue;
        }
        if (*p == ',' || *p == '\0') {
            if (is_help(word->str) ||
                (model_too && g_str_has_prefix(word->str, "model=") && is_help(word->str + 6)))
                return true;
            g_string_truncate(word, 0);
            if (*p == '\0')
                return false;
            continue;
        }
        g_string_append_c(word, *p);
    }
}

static bool
asks_help(const OptionInfo *info, const char *value)
{
    switch (info->help) {
    case HELP_ALWAYS:
        return true;
    case HELP_VALUE:
        return is_help(value);
    case HELP_OPTS:
        return value && opts_ask_help(value, false);
    case HELP_MODEL:
        return value && opts_ask_help(value, true);
    case HELP_NONE:
        break;
    }
    return false;
}

static void
mark_probe(ParseState *st, const QemuArg *a)
{
    if (st->spec->probe)
        return;
    st->spec->probe = true;
    st->spec->probe_reason = spec_quote_arg(a);
}

/* Every option is parsed even after a refusal: a later one may still make this a probe,
 * which passes through whatever else the command line says. */
static void
parse_args(ParseState *st, const GArray *args, GError **first_error, int *first_index)
{
    for (guint i = 0; i < args->len; i++) {
        const QemuArg *a = &g_array_index(args, QemuArg, i);
        const OptionInfo *info = find_option(a->name);
        g_autoptr(GError) local = NULL;

        if (!info)
            continue;
        if (asks_help(info, a->arg))
            mark_probe(st, a);
        if (!info->handler)
            continue;
        st->cur = a;
        if (info->handler(st, &local) < 0 && !*first_error) {
            *first_error = g_steal_pointer(&local);
            *first_index = st->fail_index;
        }
    }
    st->cur = NULL;
}

static int
finish(ParseState *st, GError **error)
{
    int r;

    r = spec_finish_smp(st, error);
    if (r < 0)
        return r;
    spec_finish_accel(st);
    spec_finish_blockdevs(st);
    spec_finish_defaults(st);
    /* A probe makes no guest RAM. */
    if (st->spec->probe)
        return 0;
    return spec_finish_memory(st, error);
}

static int
split_argv(int argc, const char *const *argv, GArray **ret_args, int *ret_bad_index, GError **error)
{
    int r = qemu_argv_split(argc, argv, ret_args, error);
    bool option_at_end = argc > 0 && argv && argv[argc - 1] && argv[argc - 1][0] == '-';

    /* Blame the last word when it is an option left without its argument. */
    if (r < 0 && ret_bad_index)
        *ret_bad_index = r == -EINVAL && option_at_end ? argc - 1 : -1;
    return r;
}

int
vm_spec_parse(int argc, const char *const *argv, const HostInfo *host, VmSpec **ret_spec,
              int *ret_bad_index, GError **error)
{
    g_autoptr(GArray) args = NULL;
    g_autoptr(GError) first_error = NULL;
    int first_index = -1;
    ParseState st = {
        .spec = vm_spec_new(),
        .host = host,
        .fail_index = -1,
        .accels = g_ptr_array_new_with_free_func((GDestroyNotify)spec_accel_choice_free),
        .numa = g_ptr_array_new_with_free_func((GDestroyNotify)numa_node_free),
        .mem_refs = g_ptr_array_new_with_free_func((GDestroyNotify)mem_ref_free),
        .blocks = g_ptr_array_new_with_free_func((GDestroyNotify)spec_block_node_free),
        .backend_srcs = g_ptr_array_new(),
        .backend_ids = g_hash_table_new(g_str_hash, g_str_equal),
        .block_names = g_hash_table_new(g_str_hash, g_str_equal),
    };
    int r;

    r = split_argv(argc, argv, &args, ret_bad_index, error);
    if (r < 0)
        goto out;
    parse_args(&st, args, &first_error, &first_index);
    spec_check_machine_none(&st);
    /* A probe must always pass through: nothing on its command line is refused. */
    if (st.spec->probe)
        g_clear_error(&first_error);
    if (!first_error && finish(&st, &first_error) < 0)
        first_index = st.fail_index;
    if (st.spec->probe)
        g_clear_error(&first_error);
    if (first_error) {
        r = -vmmem_error_errno(first_error);
        if (ret_bad_index)
            *ret_bad_index = first_index;
        g_propagate_error(error, g_steal_pointer(&first_error));
        goto out;
    }
    *ret_spec = g_steal_pointer(&st.spec);
out:
    parse_state_clear(&st);
    return r;
}
