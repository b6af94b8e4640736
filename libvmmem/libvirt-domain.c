/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "error.h"
#include "quote.h"
#include "libvirt-domain.h"

LibvirtDomain *
libvirt_domain_free(LibvirtDomain *d)
{
    if (d) {
        g_free(d->domain);
        g_free(d->machine);
        g_free(d);
    }
    return NULL;
}

/* "qemu-" digits ["-" name]: libvirt's virDomainDriverGenerateMachineName() for the qemu
 * driver.  The name part keeps only [A-Za-z0-9-.] of the domain name, without leading or
 * trailing '.' and '-', so a domain called ".." or "日本" has none: "qemu-3". */
static bool
is_machine_name(const char *s)
{
    const char *p;

    if (!g_str_has_prefix(s, "qemu-"))
        return false;
    p = s + strlen("qemu-");
    if (!g_ascii_isdigit(*p))
        return false;
    while (g_ascii_isdigit(*p))
        p++;
    return p[0] == '\0' || (p[0] == '-' && p[1] != '\0');
}

/* machine-qemu\x2d1\x2dt1.scope -> qemu-1-t1 (systemd's unit-name escaping of '-'). */
static char *
machine_from_scope(const char *component)
{
    g_autofree char *inner = NULL;
    GString *out;

    if (!g_str_has_prefix(component, "machine-") || !g_str_has_suffix(component, ".scope"))
        return NULL;
    inner = g_strndup(component + strlen("machine-"),
                      strlen(component) - strlen("machine-") - strlen(".scope"));
    out = g_string_new(NULL);
    for (const char *p = inner; *p; p++) {
        if (p[0] == '\\' && p[1] == 'x' && g_ascii_isxdigit(p[2]) && g_ascii_isxdigit(p[3])) {
            g_string_append_c(out,
                              (char)(g_ascii_xdigit_value(p[2]) * 16 + g_ascii_xdigit_value(p[3])));
            p += 3;
        } else {
            g_string_append_c(out, *p);
        }
    }
    if (!is_machine_name(out->str)) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}

char *
libvirt_machine_name(unsigned id, const char *name)
{
    GString *out = g_string_new(NULL);
    bool skip = true;

    g_string_printf(out, "qemu-%u-", id);
    for (const char *p = name; *p; p++) {
        if (out->len >= 64)
            break;
        if (*p == '.' || *p == '-') {
            if (!skip) {
                g_string_append_c(out, *p);
                skip = true;
            }
            continue;
        }
        if (!g_ascii_isalnum(*p))
            continue;
        g_string_append_c(out, *p);
        skip = false;
    }
    while (out->len > 0 && (out->str[out->len - 1] == '-' || out->str[out->len - 1] == '.'))
        g_string_truncate(out, out->len - 1);
    return g_string_free(out, FALSE);
}

int
libvirt_domain_check_name(const LibvirtDomain *d, const char *argv_name, GError **error)
{
    g_autofree char *expected = NULL, *shown = NULL;
    guint64 id;

    /* is_machine_name() has checked "qemu-" digits. */
    id = g_ascii_strtoull(d->machine + strlen("qemu-"), NULL, 10);
    if (!argv_name)
        return vmmem_fail(error, EPERM,
                          "the command line has no -name, but libvirt names machine '%s'",
                          d->machine);
    expected = libvirt_machine_name((unsigned)id, argv_name);
    if (id > G_MAXUINT || strcmp(expected, d->machine) != 0) {
        shown = quote_for_message(argv_name, QUOTE_MAX);
        return vmmem_fail(error, EPERM,
                          "-name '%s' is not the name of libvirt machine '%s' (it would be '%s')",
                          shown, d->machine, expected);
    }
    return 0;
}

/* What may follow the domain component: nothing, or libvirt's emulator cgroup. */
static bool
tail_ok(char **rest, bool *ret_in_emulator)
{
    if (!rest[0]) {
        *ret_in_emulator = false;
        return true;
    }
    if (strcmp(rest[0], "emulator") == 0 && !rest[1]) {
        *ret_in_emulator = true;
        return true;
    }
    return false;
}

int
libvirt_domain_from_cgroup(const char *cgroup, LibvirtDomain **ret_domain)
{
    g_auto(GStrv) parts = NULL;
    g_autofree char *machine = NULL;
    bool systemd, in_emulator;
    size_t n, end;

    *ret_domain = NULL;
    while (*cgroup == '/')
        cgroup++;
    parts = g_strsplit(cgroup, "/", -1);
    n = g_strv_length(parts);
    if (n < 2)
        return 0;
    if (strcmp(parts[0], "machine") == 0)
        systemd = false;
    else if (strcmp(parts[0], "machine.slice") == 0)
        systemd = true;
    else
        return 0;

    for (size_t i = 1; i < n; i++) {
        const char *c = parts[i];

        if (!*c || strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
            return 0;
        if (!systemd && g_str_has_suffix(c, ".libvirt-qemu")) {
            machine = g_strndup(c, strlen(c) - strlen(".libvirt-qemu"));
            if (!is_machine_name(machine))
                return 0;
            end = i + 1;
            break;
        }
        if (systemd && (machine = machine_from_scope(c))) {
            /* libvirt >= 7.1 nests its own "libvirt" directory inside machined's scope. */
            end = i + 1;
            if (parts[end] && strcmp(parts[end], "libvirt") == 0)
                end++;
            break;
        }
        /* Custom partitions: "P.partition" without systemd, "machine-P.slice" with it. */
        if (!(systemd ? g_str_has_suffix(c, ".slice") : g_str_has_suffix(c, ".partition")))
            return 0;
    }
    if (!machine || !tail_ok(parts + end, &in_emulator))
        return 0;

    LibvirtDomain *d = g_new0(LibvirtDomain, 1);
    g_free(parts[end]);
    parts[end] = NULL; /* the vector now ends at the domain component */
    d->domain = g_strjoinv("/", parts);
    d->machine = g_steal_pointer(&machine);
    d->systemd = systemd;
    d->in_emulator = in_emulator;
    *ret_domain = d;
    return 1;
}

int
libvirt_domain_confirm(int root_fd, const LibvirtDomain *d, bool require_root_owned, GError **error)
{
    g_autofree char *type = NULL;
    struct stat st;
    int fd, r = 0;

    fd = openat(root_fd, d->domain, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return vmmem_fail(error, errno, "cannot open libvirt domain cgroup '/%s': %s", d->domain,
                          g_strerror(errno));
    if (fstat(fd, &st) < 0) {
        r = vmmem_fail(error, errno, "cannot stat '/%s': %s", d->domain, g_strerror(errno));
        goto out;
    }
    if (require_root_owned && st.st_uid != 0) {
        r = vmmem_fail(error, EPERM,
                       "cgroup '/%s' looks like a libvirt domain but belongs to uid %u, not root",
                       d->domain, (unsigned)st.st_uid);
        goto out;
    }
    if (faccessat(fd, "memory.max", F_OK, 0) < 0) {
        r = vmmem_fail(error, ENOMEDIUM,
                       "libvirt domain cgroup '/%s' has no memory.max (memory controller not "
                       "enabled for it)",
                       d->domain);
        goto out;
    }
    if (d->in_emulator) {
        int efd;
        r = cg_open_dir(fd, d->domain, "emulator", &efd, error);
        if (r < 0)
            goto out;
        r = cg_read(efd, d->domain, "cgroup.type", &type, error);
        close(efd);
        if (r < 0)
            goto out;
        /* libvirt makes emulator threaded (cpu/cpuset only); a domain-type child would mean
         * someone else's layout that merely reuses the names. */
        if (strcmp(type, "threaded") != 0)
            r = vmmem_fail(error, ENOENT,
                           "'/%s/emulator' is a '%s' cgroup, not libvirt's threaded emulator "
                           "cgroup",
                           d->domain, type);
    }
out:
    close(fd);
    return r;
}
