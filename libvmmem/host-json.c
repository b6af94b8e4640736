/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A host's facts as JSON (docs/json.md, "The host JSON"): what `vmmem host --json` prints on one
 * machine and `vmmem explain --host FILE` plans with on another.  Pure. */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "host.h"
#include "qemu-json.h"
#include "quote.h"

static const char *const thp_names[] = {
    [HOST_THP_ALWAYS] = "always",
    [HOST_THP_MADVISE] = "madvise",
    [HOST_THP_NEVER] = "never",
};

const char *
host_thp_name(HostThp thp)
{
    return thp_names[thp];
}

void
host_info_json_write(JsonWriter *w, const HostInfo *host)
{
    json_begin_object(w);
    json_member_u64(w, "physmem", host->physmem);
    json_member_str(w, "kernel_release", host->kernel_release);
    json_member_str(w, "thp", host_thp_name(host->thp));
    json_member_bool(w, "has_kvm", host->has_kvm);
    json_key(w, "hugetlbfs_mounts");
    json_begin_array(w);
    for (char **m = host->hugetlbfs_mounts; m && *m; m++) {
        json_element(w);
        json_string(w, *m);
    }
    json_end_array(w);
    json_member_bool(w, "hugetlb_memcg", host->hugetlb_memcg);
    json_end_object(w);
}

char *
host_info_to_json(const HostInfo *host)
{
    JsonWriter w;

    json_writer_init(&w);
    host_info_json_write(&w, host);
    return json_writer_finish(&w);
}

static int
bad_value(const char *key, const char *value, const char *want, GError **error)
{
    g_autofree char *q = quote_for_message(value, QUOTE_MAX);

    return vmmem_fail(error, EINVAL, "host JSON: '%s' is '%s', not %s", key, q, want);
}

static int
parse_bool(const char *key, const char *value, bool *ret, GError **error)
{
    if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
        *ret = value[0] == 't';
        return 0;
    }
    return bad_value(key, value, "true or false", error);
}

static int
set_member(HostInfo *host, const char *key, const char *value, unsigned *seen, GError **error)
{
    /* The first four are host_info_from_json()'s required[], in order. */
    enum { PHYSMEM = 1, KERNEL = 2, THP = 4, KVM = 8, MOUNTS = 16, MEMCG = 32 };
    unsigned bit;
    int r = 0;

    if (strcmp(key, "physmem") == 0) {
        bit = PHYSMEM;
        if (!g_ascii_string_to_unsigned(value, 10, 1, G_MAXUINT64, &host->physmem, NULL))
            r = bad_value(key, value, "a byte count", error);
    } else if (strcmp(key, "kernel_release") == 0) {
        bit = KERNEL;
        g_free(host->kernel_release);
        host->kernel_release = g_strdup(value);
    } else if (strcmp(key, "thp") == 0) {
        size_t i = 0;

        bit = THP;
        while (i < G_N_ELEMENTS(thp_names) && strcmp(value, thp_names[i]) != 0)
            i++;
        if (i == G_N_ELEMENTS(thp_names))
            r = bad_value(key, value, "always, madvise or never", error);
        else
            host->thp = (HostThp)i;
    } else if (strcmp(key, "has_kvm") == 0) {
        bit = KVM;
        r = parse_bool(key, value, &host->has_kvm, error);
    } else if (strcmp(key, "hugetlb_memcg") == 0) {
        bit = MEMCG;
        r = parse_bool(key, value, &host->hugetlb_memcg, error);
    } else if (strcmp(key, "hugetlbfs_mounts") == 0) {
        /* The flattening joined the array's strings with commas. */
        bit = MOUNTS;
        g_strfreev(host->hugetlbfs_mounts);
        host->hugetlbfs_mounts = g_strsplit(value, ",", -1);
        for (char **m = host->hugetlbfs_mounts; r == 0 && *m; m++) {
            if ((*m)[0] != '/')
                r = bad_value(key, *m, "an absolute path", error);
        }
    } else {
        g_autofree char *q = quote_for_message(key, QUOTE_MAX);
        return vmmem_fail(error, EINVAL, "host JSON: unknown key '%s'", q);
    }
    if (r == 0 && (*seen & bit))
        r = vmmem_fail(error, EINVAL, "host JSON: '%s' is given twice", key);
    *seen |= bit;
    return r;
}

int
host_info_from_json(const char *text, HostInfo **ret_host, GError **error)
{
    static const char *const required[] = {"physmem", "kernel_release", "thp", "has_kvm"};
    g_autoptr(GPtrArray) pairs = NULL;
    g_autoptr(HostInfo) host = host_info_new(0, false, NULL);
    unsigned seen = 0;
    int r;

    r = qemu_json_flatten(text, &pairs, error);
    if (r < 0)
        return r;
    for (guint i = 0; i < pairs->len; i += 2) {
        r = set_member(host, g_ptr_array_index(pairs, i), g_ptr_array_index(pairs, i + 1), &seen,
                       error);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(required); i++) {
        if (!(seen & (1u << i)))
            return vmmem_fail(error, EINVAL, "host JSON: '%s' is missing", required[i]);
    }
    *ret_host = g_steal_pointer(&host);
    return 0;
}
