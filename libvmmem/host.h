/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Facts about the host that the pure stages need, read once (host_info_read) or made up by
 * tests (host_info_new). */
typedef struct {
    uint64_t physmem;        /* host RAM, bytes: qemu sizes the TCG cache from it */
    bool has_kvm;            /* /dev/kvm exists: resolves "-accel kvm:tcg" style fallbacks */
    char **hugetlbfs_mounts; /* mount points of hugetlbfs, NULL-terminated */
    bool hugetlb_memcg;      /* cgroup2 mounted with memory_hugetlb_accounting (Linux >= 6.7) */
} HostInfo;

HostInfo *host_info_new(uint64_t physmem, bool has_kvm, const char *const *hugetlbfs_mounts);
int host_info_read(HostInfo **ret_host, GError **error);
HostInfo *host_info_free(HostInfo *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostInfo, host_info_free)

/* True when @path is on one of the host's hugetlbfs mounts (string prefix at a '/' boundary; the
 * path is not resolved, it is the one qemu will open). */
bool host_info_path_is_hugetlbfs(const HostInfo *host, const char *path);
