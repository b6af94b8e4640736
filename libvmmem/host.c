/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "error.h"
#include "vm-spec.h"

#define MOUNTS_FILE    "/proc/self/mounts"
#define THP_FILE       "/sys/kernel/mm/transparent_hugepage/enabled"
#define MOUNT_LINE_MAX 65536

HostInfo *
host_info_new(uint64_t physmem, bool has_kvm, const char *const *hugetlbfs_mounts)
{
    HostInfo *host = g_new0(HostInfo, 1);
    static const char *const none[] = {NULL};

    host->physmem = physmem;
    host->kernel_release = g_strdup("");
    host->has_kvm = has_kvm;
    host->hugetlbfs_mounts = g_strdupv((char **)(hugetlbfs_mounts ? hugetlbfs_mounts : none));
    return host;
}

HostInfo *
host_info_copy(const HostInfo *host)
{
    HostInfo *copy =
        host_info_new(host->physmem, host->has_kvm, (const char *const *)host->hugetlbfs_mounts);

    g_free(copy->kernel_release);
    copy->kernel_release = g_strdup(host->kernel_release);
    copy->thp = host->thp;
    copy->hugetlb_memcg = host->hugetlb_memcg;
    return copy;
}

HostInfo *
host_info_free(HostInfo *host)
{
    if (host) {
        g_strfreev(host->hugetlbfs_mounts);
        g_free(host->kernel_release);
        g_clear_pointer(&host->files, g_hash_table_unref);
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

bool
host_local_systemd_booted(void)
{
    struct stat st;

    return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

bool
host_path_is_under(const char *path, const char *mount)
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
        if (host_path_is_under(path, *m))
            return true;
    }
    return false;
}

/* "always [madvise] never": the bracketed word is the mode. */
static HostThp
read_thp(void)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents(THP_FILE, &text, NULL, NULL))
        return HOST_THP_ALWAYS;
    if (strstr(text, "[madvise]"))
        return HOST_THP_MADVISE;
    if (strstr(text, "[never]"))
        return HOST_THP_NEVER;
    return HOST_THP_ALWAYS;
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
        if (host_path_is_under(g_ptr_array_index(hugetlbfs, i), mount_dir))
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
    struct utsname uts;
    FILE *f;
    int r;

    r = read_physmem(&host->physmem, error);
    if (r < 0)
        return r;
    host->kernel_release = g_strdup(uname(&uts) == 0 ? uts.release : "");
    host->thp = read_thp();
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

/* Notes are small; a PT_NOTE segment larger than this is no build ID's. */
#define NOTES_MAX (64 * 1024)

static bool
read_at(int fd, void *buf, size_t len, off_t off)
{
    return pread(fd, buf, len, off) == (ssize_t)len;
}

/* The NT_GNU_BUILD_ID note among the notes in @buf, in hex, or NULL. */
static char *
build_id_in_notes(const unsigned char *buf, size_t len)
{
    size_t off = 0;

    while (off + sizeof(Elf64_Nhdr) <= len) {
        Elf64_Nhdr nh;
        size_t name_len, desc_len;

        memcpy(&nh, buf + off, sizeof(nh));
        off += sizeof(nh);
        name_len = ((size_t)nh.n_namesz + 3) & ~(size_t)3;
        desc_len = ((size_t)nh.n_descsz + 3) & ~(size_t)3;
        if (name_len > len - off || desc_len > len - off - name_len)
            return NULL;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(buf + off, "GNU", 4) == 0 &&
            nh.n_descsz > 0 && nh.n_descsz <= 64) {
            GString *hex = g_string_new(NULL);
            for (size_t i = 0; i < nh.n_descsz; i++)
                g_string_append_printf(hex, "%02x", buf[off + name_len + i]);
            return g_string_free(hex, FALSE);
        }
        off += name_len + desc_len;
    }
    return NULL;
}

int
host_read_build_id(const char *path, char **ret_hex, GError **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    Elf64_Ehdr eh;
    char *hex = NULL;

    if (fd < 0) {
        int errsv = errno;
        return vmmem_fail(error, errsv, "cannot read '%s': %s", path, g_strerror(errsv));
    }
    if (!read_at(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        eh.e_phnum > 256) {
        close(fd);
        return vmmem_fail(error, ENODATA, "'%s' is not a 64-bit ELF executable", path);
    }
    for (unsigned i = 0; i < eh.e_phnum && !hex; i++) {
        Elf64_Phdr ph;
        g_autofree unsigned char *notes = NULL;

        if (!read_at(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))))
            break;
        if (ph.p_type != PT_NOTE || ph.p_filesz == 0 || ph.p_filesz > NOTES_MAX)
            continue;
        notes = g_malloc(ph.p_filesz);
        if (read_at(fd, notes, ph.p_filesz, (off_t)ph.p_offset))
            hex = build_id_in_notes(notes, ph.p_filesz);
    }
    close(fd);
    if (!hex)
        return vmmem_fail(error, ENODATA, "'%s' has no GNU build ID", path);
    *ret_hex = hex;
    return 0;
}

/* ---- files the command line names ---- */

#define BACKING_CHAIN_MAX 16
/* qcow2 header fields (docs/interop/qcow2.txt), big-endian. */
#define QCOW2_MAGIC            0x514649fbu
#define QCOW2_INCOMPAT_EXTL2   (UINT64_C(1) << 4)
#define QCOW2_BACKING_NAME_MAX 1023

static void
host_file_free(gpointer p)
{
    HostFile *f = p;

    g_free(f->backing);
    g_free(f);
}

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* qemu opens a relative backing file name relative to the image's folder. */
static char *
backing_path(const char *image, const char *name)
{
    g_autofree char *dir = NULL;

    if (g_path_is_absolute(name))
        return g_strdup(name);
    dir = g_path_get_dirname(image);
    return g_build_filename(dir, name, NULL);
}

static void
probe_qcow2(int fd, const unsigned char *h, size_t len, const char *path, HostFile *f)
{
    uint64_t backing_off = be64(h + 8);
    uint32_t backing_len = be32(h + 16), version = be32(h + 4);
    char name[QCOW2_BACKING_NAME_MAX + 1];

    if (len < 72 || (version != 2 && version != 3))
        return;
    f->kind = HOST_FILE_QCOW2;
    f->cluster_bits = be32(h + 20);
    f->virtual_size = be64(h + 24);
    f->extended_l2 = version == 3 && len >= 80 && (be64(h + 72) & QCOW2_INCOMPAT_EXTL2);
    if (backing_off && backing_len && backing_len <= QCOW2_BACKING_NAME_MAX &&
        read_at(fd, name, backing_len, (off_t)backing_off)) {
        name[backing_len] = '\0';
        /* "json:{...}" and protocols are not files to read here. */
        if (!strchr(name, ':'))
            f->backing = backing_path(path, name);
    }
}

/* .symtab and .strtab: qemu's ELF loader reads them into memory for its disassembler. */
static void
probe_elf(int fd, HostFile *f)
{
    Elf64_Ehdr eh;

    f->kind = HOST_FILE_ELF;
    if (!read_at(fd, &eh, sizeof(eh), 0) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum > 4096)
        return;
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        if (!read_at(fd, &sh, sizeof(sh), (off_t)(eh.e_shoff + (uint64_t)i * sizeof(sh))))
            return;
        if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_STRTAB && i != eh.e_shstrndx))
            f->symbols += sh.sh_size;
    }
}

static bool
in_groups(const HostCreds *as, gid_t gid)
{
    if (gid == as->gid)
        return true;
    for (size_t i = 0; i < as->n_groups; i++)
        if (as->groups[i] == gid)
            return true;
    return false;
}

/* The permission @bits (4 read, 1 search) that @st's mode grants @as. */
static bool
mode_grants(const struct stat *st, const HostCreds *as, unsigned bits)
{
    if (st->st_uid == as->uid)
        return ((st->st_mode >> 6) & bits) == bits;
    if (in_groups(as, st->st_gid))
        return ((st->st_mode >> 3) & bits) == bits;
    return (st->st_mode & bits) == bits;
}

/* Every folder on the way searchable by @as, the file readable: by mode bits, which is what
 * they grant unless an ACL or a security module says otherwise. */
static bool
readable_by(const char *canonical, const HostCreds *as)
{
    g_autofree char *dir = g_strdup(canonical);
    struct stat st;

    for (char *slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (stat(dir, &st) != 0 || !mode_grants(&st, as, 1))
            return false;
        *slash = '/';
    }
    return stat(canonical, &st) == 0 && mode_grants(&st, as, 4);
}

int
host_open_as(const char *path, const HostCreds *as)
{
    g_autofree char *canonical = realpath(path, NULL);

    if (!canonical || !readable_by(canonical, as))
        return -1;
    return open(canonical, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
}

static HostFile *
probe_file(const char *path, const HostCreds *as)
{
    unsigned char h[1024];
    struct stat st;
    HostFile *f;
    ssize_t n;
    int fd;

    if (as && as->open_file)
        fd = as->open_file(path, as->open_data);
    else if (as)
        fd = host_open_as(path, as);
    else {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    }
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }
    f = g_new0(HostFile, 1);
    f->size = (uint64_t)st.st_size;
    n = pread(fd, h, sizeof(h), 0);
    if (n >= 72 && be32(h) == QCOW2_MAGIC)
        probe_qcow2(fd, h, (size_t)n, path, f);
    else if (n >= SELFMAG && memcmp(h, ELFMAG, SELFMAG) == 0)
        probe_elf(fd, f);
    /* The Linux boot protocol's "HdrS" at 0x202 (Documentation/x86/boot.rst). */
    else if (n >= 0x206 && memcmp(h + 0x202, "HdrS", 4) == 0)
        f->kind = HOST_FILE_BZIMAGE;
    close(fd);
    return f;
}

static void
probe_chain(HostInfo *host, const char *path, const HostCreds *as)
{
    g_autofree char *next = g_strdup(path);

    for (int depth = 0; next && depth <= BACKING_CHAIN_MAX; depth++) {
        HostFile *f;
        char *cur = g_steal_pointer(&next);

        if (g_hash_table_contains(host->files, cur) || !(f = probe_file(cur, as))) {
            g_free(cur);
            return;
        }
        next = g_strdup(f->backing);
        g_hash_table_insert(host->files, cur, f);
    }
}

static void
ensure_files(HostInfo *host)
{
    if (!host->files)
        host->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, host_file_free);
}

void
host_info_probe_files(HostInfo *host, const VmSpec *spec, const HostCreds *as)
{
    ensure_files(host);
    if (spec->kernel)
        probe_chain(host, spec->kernel, as);
    for (guint i = 0; spec->disks && i < spec->disks->len; i++) {
        const VmDisk *d = g_ptr_array_index(spec->disks, i);
        if (d->path)
            probe_chain(host, d->path, as);
    }
}

const HostFile *
host_info_file(const HostInfo *host, const char *path)
{
    return host && host->files && path ? g_hash_table_lookup(host->files, path) : NULL;
}

void
host_info_add_file(HostInfo *host, const char *path, const HostFile *file)
{
    HostFile *copy = g_memdup2(file, sizeof(*file));

    copy->backing = g_strdup(file->backing);
    ensure_files(host);
    g_hash_table_insert(host->files, g_strdup(path), copy);
}
