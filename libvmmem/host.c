/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host.h"

#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

#define MOUNTS_FILE    "/proc/self/mounts"
#define MOUNT_LINE_MAX 65536

HostInfo *
host_info_new(uint64_t physmem, bool has_kvm, const char *const *hugetlbfs_mounts)
{
    HostInfo *host = g_new0(HostInfo, 1);
    static const char *const none[] = {NULL};

    host->physmem = physmem;
    host->has_kvm = has_kvm;
    host->hugetlbfs_mounts = g_strdupv((char **)(hugetlbfs_mounts ? hugetlbfs_mounts : none));
    return host;
}

HostInfo *
host_info_free(HostInfo *host)
{
    if (host) {
        g_strfreev(host->hugetlbfs_mounts);
        g_free(host);
    }
    return NULL;
}

/* Length of @mount without trailing slashes, so that "/dev/hugepages/" and "/" work. */
static size_t
mount_prefix_len(const char *mount)
{
    size_t len = strlen(mount);

    while (len > 0 && mount[len - 1] == '/')
        len--;
    return len;
}

/* @path is @mount or below it. */
static bool
path_is_under(const char *path, const char *mount)
{
    size_t len = mount_prefix_len(mount);

    if (mount[0] != '/' || strncmp(path, mount, len) != 0)
        return false;
    return path[len] == '\0' || path[len] == '/';
}

bool
host_info_path_is_hugetlbfs(const HostInfo *host, const char *path)
{
    if (!host || !path || !host->hugetlbfs_mounts)
        return false;
    for (char **m = host->hugetlbfs_mounts; *m; m++) {
        if (path_is_under(path, *m))
            return true;
    }
    return false;
}

static int
read_physmem(uint64_t *ret, GError **error)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);

    if (pages <= 0 || page_size <= 0)
        return vmmem_fail(error, EIO, "cannot determine the host's memory size");
    if (!g_uint64_checked_mul(ret, (uint64_t)pages, (uint64_t)page_size))
        return vmmem_fail(error, ERANGE, "host memory size does not fit in 64 bits");
    return 0;
}

/* A later mount on or above a hugetlbfs mount point hides it: whatever qemu opens there is on
 * the new filesystem. */
static void
drop_hidden(GPtrArray *hugetlbfs, const char *mount_dir)
{
    for (guint i = hugetlbfs->len; i-- > 0;) {
        if (path_is_under(g_ptr_array_index(hugetlbfs, i), mount_dir))
            g_ptr_array_remove_index(hugetlbfs, i);
    }
}

static void
scan_mounts(FILE *f, GPtrArray *hugetlbfs, bool *ret_hugetlb_memcg)
{
    struct mntent entry;
    /* Roomy: container overlay mounts carry long option strings. */
    g_autofree char *buf = g_malloc(MOUNT_LINE_MAX);

    *ret_hugetlb_memcg = false;
    while (getmntent_r(f, &entry, buf, MOUNT_LINE_MAX)) {
        drop_hidden(hugetlbfs, entry.mnt_dir);
        if (strcmp(entry.mnt_type, "hugetlbfs") == 0)
            g_ptr_array_add(hugetlbfs, g_strdup(entry.mnt_dir));
        else if (strcmp(entry.mnt_type, "cgroup2") == 0 &&
                 hasmntopt(&entry, "memory_hugetlb_accounting"))
            *ret_hugetlb_memcg = true;
    }
}

int
host_info_read(HostInfo **ret_host, GError **error)
{
    g_autoptr(HostInfo) host = g_new0(HostInfo, 1);
    g_autoptr(GPtrArray) hugetlbfs = g_ptr_array_new_with_free_func(g_free);
    FILE *f;
    int r;

    r = read_physmem(&host->physmem, error);
    if (r < 0)
        return r;
    host->has_kvm = access("/dev/kvm", F_OK) == 0;

    f = setmntent(MOUNTS_FILE, "re");
    if (!f) {
        int errsv = errno;
        return vmmem_fail(error, errsv, "cannot read '%s': %s", MOUNTS_FILE, g_strerror(errsv));
    }
    scan_mounts(f, hugetlbfs, &host->hugetlb_memcg);
    endmntent(f);

    g_ptr_array_add(hugetlbfs, NULL);
    host->hugetlbfs_mounts = (char **)g_ptr_array_free(g_steal_pointer(&hugetlbfs), FALSE);
    *ret_host = g_steal_pointer(&host);
    return 0;
}
