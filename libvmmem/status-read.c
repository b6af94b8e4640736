/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `vmmem status`, the half that reads the system: it finds the envelopes in the cgroup2 tree by
 * the attributes vmmem sets when it applies limits (cgroup-plan.h, labels), and reads each
 * one's memory files and its qemu's /proc files whole, for status.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "calibrate.h"
#include "cgroup-plan.h"
#include "cgroup-util.h"
#include "error.h"
#include "host.h"
#include "quote.h"
#include "status.h"
#include "vm-spec.h"
#include "vmmem-private.h"

/* Deeper than any layout vmmem, libvirt or systemd make (machine.slice/machine-x.scope/libvirt/
 * emulator is 4): a bound on the walk, not a limit anyone meets. */
#define STATUS_MAX_DEPTH 16

struct vmmem_status {
    GArray *entries; /* StatusEntry */
    uint64_t mem_total;
};

/* Files that may be missing on this kernel or this cgroup: NULL, no error. */
static int
read_optional(int dfd, const char *path, const char *file, char **ret_text, GError **error)
{
    g_autoptr(GError) local = NULL;
    int r = cg_read_all(dfd, path, file, ret_text, &local);

    if (r < 0 && (-r == ENOENT || -r == EOPNOTSUPP || -r == ENODEV)) {
        *ret_text = NULL;
        return 0;
    }
    if (r < 0)
        g_propagate_error(error, g_steal_pointer(&local));
    return r;
}

/* The pids in the cgroup and below it (libvirt puts qemu in the domain's emulator/ child). */
static void
collect_pids(int dfd, int depth, GArray *pids)
{
    g_autofree char *procs = NULL;
    DIR *dir;
    struct dirent *de;
    int fd;

    if (cg_read_all(dfd, "", "cgroup.procs", &procs, NULL) == 0) {
        g_auto(GStrv) lines = g_strsplit(procs, "\n", -1);
        for (char **l = lines; *l; l++) {
            guint64 pid;
            if (g_ascii_string_to_unsigned(*l, 10, 1, G_MAXINT32, &pid, NULL)) {
                pid_t p = (pid_t)pid;
                g_array_append_val(pids, p);
            }
        }
    }
    if (depth >= 4 || (fd = dup(dfd)) < 0)
        return;
    if (!(dir = fdopendir(fd))) {
        close(fd);
        return;
    }
    while ((de = readdir(dir))) {
        int child;
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        child = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child >= 0) {
            collect_pids(child, depth + 1, pids);
            close(child);
        }
    }
    closedir(dir);
}

static char *
read_proc(pid_t pid, const char *file, gsize *ret_len)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/%s", (int)pid, file);
    char *text = NULL;

    return g_file_get_contents(path, &text, ret_len, NULL) ? text : NULL;
}

/* qemu among the pids: the process named qemu-* (comm), else the first one. */
static pid_t
find_qemu(const GArray *pids)
{
    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = g_array_index(pids, pid_t, i);
        g_autofree char *comm = read_proc(pid, "comm", NULL);
        if (comm && g_str_has_prefix(comm, "qemu"))
            return pid;
    }
    return pids->len ? g_array_index(pids, pid_t, 0) : 0;
}

/* qemu's guest RAM blocks, from its own command line, to find them in its smaps; NULL when
 * that line cannot be read or parsed (the resident guest RAM is then unknown). */
static GPtrArray *
qemu_layout(pid_t pid, const HostInfo *host)
{
    gsize len = 0;
    g_autofree char *cmdline = read_proc(pid, "cmdline", &len);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(VmSpec) spec = NULL;
    GPtrArray *layout = NULL;

    if (!cmdline || len == 0 || cmdline[len - 1] != '\0')
        return NULL;
    for (gsize at = 0; at < len; at += strlen(cmdline + at) + 1)
        g_ptr_array_add(argv, cmdline + at);
    if (argv->len < 1 ||
        vm_spec_parse((int)argv->len - 1, (const char *const *)argv->pdata + 1, host, &spec, NULL,
                      NULL) < 0 ||
        cal_layout_from_spec(spec, &layout, NULL) < 0)
        return NULL;
    return layout;
}

/* 1 and *@ret_texts for an envelope; 0 when it vanished while read (its VM exited).  @host NULL:
 * the limits, usage and pids only (admission), not qemu's /proc files. */
static int
read_envelope(int dfd, const char *path, const HostInfo *host, StatusTexts *ret_texts,
              GError **error)
{
    g_auto(StatusTexts) t = {0};
    g_autoptr(GArray) pids = g_array_new(false, false, sizeof(pid_t));
    int r;

    t.path = g_strdup(path);
    t.label_vm = cg_read_label(dfd, CGROUP_LABEL_VM);
    t.label_guest_ram = cg_read_label(dfd, CGROUP_LABEL_GUEST_RAM);
    t.label_overhead = cg_read_label(dfd, CGROUP_LABEL_OVERHEAD);
    if ((r = cg_read_all(dfd, path, "memory.max", &t.max, error)) < 0 ||
        (r = cg_read_all(dfd, path, "memory.high", &t.high, error)) < 0 ||
        (r = cg_read_all(dfd, path, "memory.current", &t.current, error)) < 0 ||
        (r = cg_read_all(dfd, path, "memory.events", &t.events, error)) < 0 ||
        (r = read_optional(dfd, path, "memory.peak", &t.peak, error)) < 0 ||
        (r = read_optional(dfd, path, "memory.swap.current", &t.swap_current, error)) < 0 ||
        (r = read_optional(dfd, path, "memory.pressure", &t.pressure, error)) < 0)
        /* A removed cgroup's files read ENODEV through an fd still open on it. */
        return -r == ENOENT || -r == ENODEV ? (g_clear_error(error), 0) : r;
    collect_pids(dfd, 0, pids);
    /* Without @host, any process will do: whether the envelope holds one. */
    t.qemu_pid = host ? find_qemu(pids) : (pids->len ? g_array_index(pids, pid_t, 0) : 0);
    if (t.qemu_pid > 0 && host) {
        t.qemu_smaps = read_proc(t.qemu_pid, "smaps", NULL);
        t.ksm_merging_pages = read_proc(t.qemu_pid, "ksm_merging_pages", NULL);
        t.layout = qemu_layout(t.qemu_pid, host);
    }
    *ret_texts = t;
    memset(&t, 0, sizeof(t));
    return 1;
}

static bool
matches(const StatusEntry *e, const char *filter)
{
    guint64 pid;

    if (!filter)
        return true;
    if (g_ascii_string_to_unsigned(filter, 10, 1, G_MAXINT32, &pid, NULL))
        return e->pub.qemu_pid == (pid_t)pid;
    return strcmp(e->name, filter) == 0;
}

static int
walk(int dfd, const char *path, int depth, const HostInfo *host, const char *filter,
     GArray *entries, GError **error)

{
    DIR *dir;
    struct dirent *de;
    int fd, r = 0;

    if (depth > STATUS_MAX_DEPTH || (fd = dup(dfd)) < 0)
        return 0;
    if (!(dir = fdopendir(fd))) {
        close(fd);
        return 0;
    }
    while (r >= 0 && (de = readdir(dir))) {
        g_autofree char *child_path = NULL;
        g_autofree char *label = NULL;
        int child;

        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        child = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0)
            continue; /* gone meanwhile, or not ours to read */
        child_path = *path ? g_strconcat(path, "/", de->d_name, NULL) : g_strdup(de->d_name);
        label = cg_read_label(child, CGROUP_LABEL_GUEST_RAM);
        if (label) {
            g_auto(StatusTexts) t = {0};
            StatusEntry e = {0};
            /* An envelope's children (libvirt's emulator/, vcpuN/) are part of it. */
            r = read_envelope(child, child_path, host, &t, error);
            if (r > 0) {
                r = status_entry_from_texts(&t, &e, error);
                if (r == 0 && matches(&e, filter))
                    g_array_append_val(entries, e);
                else
                    status_entry_clear(&e);
            }
        } else {
            r = walk(child, child_path, depth + 1, host, filter, entries, error);
        }
        close(child);
    }
    closedir(dir);
    return r < 0 ? r : 0;
}

static void
entry_clear(gpointer p)
{
    status_entry_clear(p);
}

int
status_collect(const char *filter, const HostInfo *host, GArray **ret_entries, GError **error)
{
    g_autofree char *mount = NULL;
    g_autoptr(GArray) entries = g_array_new(false, true, sizeof(StatusEntry));
    int root_fd = -1, r;

    g_array_set_clear_func(entries, entry_clear);
    if (filter && !*filter)
        return vmmem_fail(error, EINVAL, "an empty VM name or pid");
    r = cg_open_unified_root(&mount, &root_fd, error);
    if (r < 0)
        return r;
    r = walk(root_fd, "", 0, host, filter, entries, error);
    close(root_fd);
    if (r < 0)
        return r;
    if (filter && entries->len == 0) {
        g_autofree char *quoted = quote_for_message(filter, 200);
        return vmmem_fail(error, ENOENT,
                          "no envelope of a VM named or with qemu pid '%s' on this host", quoted);
    }
    *ret_entries = g_steal_pointer(&entries);
    return 0;
}

int
vmmem_status_new(const char *filter, unsigned flags, vmmem_status **ret_status,
                 vmmem_error **reterr)
{
    g_autoptr(HostInfo) host = NULL;
    GArray *entries = NULL;
    GError *error = NULL;

    return_val_if_fail(ret_status && flags == 0, -EINVAL);
    if (host_info_read(&host, &error) < 0 || status_collect(filter, host, &entries, &error) < 0)
        return export_error(error, -1, reterr);
    *ret_status = g_new0(vmmem_status, 1);
    (*ret_status)->entries = entries;
    (*ret_status)->mem_total = host->physmem;
    return 0;
}

size_t
vmmem_status_get_n_envelopes(const vmmem_status *status)
{
    return status ? status->entries->len : 0;
}

const vmmem_status_envelope *
vmmem_status_get_envelope(const vmmem_status *status, size_t index)
{
    if (!status || index >= status->entries->len)
        return NULL;
    return &g_array_index(status->entries, StatusEntry, index).pub;
}

uint64_t
vmmem_status_get_mem_total(const vmmem_status *status)
{
    return status ? status->mem_total : 0;
}

int
vmmem_status_to_json(const vmmem_status *status, unsigned flags, char **ret_json,
                     vmmem_error **reterr)
{
    return_val_if_fail(status && ret_json && flags == 0, -EINVAL);
    *ret_json = status_to_json(status->entries, status->mem_total);
    return 0;
}

vmmem_status *
vmmem_status_free(vmmem_status *status)
{
    if (status) {
        g_array_unref(status->entries);
        g_free(status);
    }
    return NULL;
}
