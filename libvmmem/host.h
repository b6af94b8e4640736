/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "json-writer.h"

/* The kernel's transparent huge page mode (/sys/kernel/mm/transparent_hugepage/enabled). */
typedef enum {
    /* Debian's and most distributions' default: qemu's own heap, malloc arenas and stacks get
     * 2 MiB pages too, at fault time and from khugepaged. */
    HOST_THP_ALWAYS,
    HOST_THP_MADVISE, /* only what is madvised: guest RAM, TCG's buffer */
    HOST_THP_NEVER,
} HostThp;

/* What qemu will find in a file the command line names (host_info_probe_files()). */
typedef enum {
    HOST_FILE_OTHER,
    HOST_FILE_QCOW2,
    HOST_FILE_BZIMAGE, /* a Linux boot image: qemu reads it whole into memory and keeps it */
    HOST_FILE_ELF,     /* qemu maps the segments, but reads the symbol tables into memory */
} HostFileKind;

typedef struct {
    HostFileKind kind;
    uint64_t size;         /* the file's size */
    uint64_t virtual_size; /* qcow2: the disk's size */
    unsigned cluster_bits; /* qcow2 */
    bool extended_l2;      /* qcow2: 16-byte L2 entries (subclusters) */
    char *backing;         /* qcow2: its backing file as qemu will open it, or NULL */
    uint64_t symbols;      /* ELF: bytes of .symtab and .strtab */
} HostFile;

/* Facts about the host that the pure stages need, read once (host_info_read) or made up by
 * tests (host_info_new). */
typedef struct {
    uint64_t physmem;        /* host RAM, bytes: qemu sizes the TCG cache from it */
    char *kernel_release;    /* uname -r: a host profile is for one kernel */
    HostThp thp;             /* unreadable: HOST_THP_ALWAYS, the costlier */
    bool has_kvm;            /* /dev/kvm exists: resolves "-accel kvm:tcg" style fallbacks */
    char **hugetlbfs_mounts; /* mount points of hugetlbfs, NULL-terminated */
    bool hugetlb_memcg;      /* cgroup2 mounted with memory_hugetlb_accounting (Linux >= 6.7) */
    GHashTable *files;       /* path -> HostFile*: what host_info_probe_files() could read */
} HostInfo;

HostInfo *host_info_new(uint64_t physmem, bool has_kvm, const char *const *hugetlbfs_mounts);
int host_info_read(HostInfo **ret_host, GError **error);
/* The facts, not the files read. */
HostInfo *host_info_copy(const HostInfo *host);
HostInfo *host_info_free(HostInfo *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostInfo, host_info_free)

/* Reads the headers of the files @spec names whose contents size the overhead (-kernel, the
 * disk images and their qcow2 backing chains) into @host->files.  A file that cannot be read is
 * left out: the model then budgets what any such file may cost.  Reads, never writes; follows
 * at most 16 backing files per image. */
struct VmSpec;
/* Whose eyes to read the files with: a root helper reading for a less privileged requester
 * (vmmemd) reads only what the requester's uid and groups may, by the mode bits along the
 * path, so that its envelope tells nothing of files the requester could not read itself. */
typedef struct {
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t n_groups;
    /* Optional: opens @path for reading as host_open_as() does, elsewhere (vmmemd asks a
     * process that kept the capability to read others' files, so that the one parsing the
     * headers holds none).  An fd, or -1. */
    int (*open_file)(const char *path, void *data);
    void *open_data;
} HostCreds;
/* @path opened read-only if @as may read it: its canonical path, each folder on the way
 * searchable and the file readable by @as's uid and groups by the mode bits, opened O_NOFOLLOW.
 * An fd, or -1. */
int host_open_as(const char *path, const HostCreds *as);
/* @as: NULL to read whatever this process may read. */
void host_info_probe_files(HostInfo *host, const struct VmSpec *spec, const HostCreds *as);
/* The facts about @path, or NULL when it was not read. */
const HostFile *host_info_file(const HostInfo *host, const char *path);
/* Records facts for @path (tests, and for planning for another host). */
void host_info_add_file(HostInfo *host, const char *path, const HostFile *file);

/* The GNU build ID of the ELF executable at @path, in hex (what a host profile was measured
 * with: cheaper to check on every launch than running qemu -version).  -ENOENT, -EACCES...
 * when it cannot be read; -ENODATA when it is not a 64-bit ELF file with a build ID. */
int host_read_build_id(const char *path, char **ret_hex, GError **error);

/* @path is @dir or below it, as strings (a '/' boundary; trailing slashes of @dir ignored; @dir
 * absolute).  The one such test of the library. */
bool host_path_is_under(const char *path, const char *dir);
/* True when @path is on one of the host's hugetlbfs mounts (string prefix at a '/' boundary; the
 * path is not resolved, it is the one qemu will open). */
bool host_info_path_is_hugetlbfs(const HostInfo *host, const char *path);

/* systemd is this machine's PID 1 (sd_booted()'s test: /run/systemd/system exists): it owns
 * the cgroup tree, and the systemd backend is the default. */
bool host_local_systemd_booted(void);

/* "always", "madvise", "never". */
const char *host_thp_name(HostThp thp);
/* The host JSON (docs/json.md): physmem, kernel_release, thp, has_kvm, hugetlbfs_mounts,
 * hugetlb_memcg.  Files are not part of it: a plan for another host budgets what any file may
 * cost. */
void host_info_json_write(JsonWriter *w, const HostInfo *host);
char *host_info_to_json(const HostInfo *host);
/* Parses it back: the first four keys are required, an unknown or repeated key, a value of the
 * wrong kind or a relative mount point is -EINVAL.  (A mount point holding a comma cannot be
 * given: the array arrives joined with commas.) */
int host_info_from_json(const char *text, HostInfo **ret_host, GError **error);
