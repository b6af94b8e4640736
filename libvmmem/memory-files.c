/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "error.h"
#include "memory-files.h"

int
memory_keyed_value(const char *text, const char *key, uint64_t *ret_value)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    size_t klen = strlen(key);

    for (char **l = lines; *l; l++) {
        if (strncmp(*l, key, klen) == 0 && (*l)[klen] == ' ')
            return g_ascii_string_to_unsigned(*l + klen + 1, 10, 0, G_MAXUINT64, ret_value, NULL)
                       ? 0
                       : -EIO;
    }
    return -ENOENT;
}

int
memory_events_parse(const char *text, const char *what, vmmem_memory_events *ret_events,
                    GError **error)
{
    static const struct {
        const char *key;
        size_t offset;
        bool required;
    } keys[] = {
        {"low", offsetof(vmmem_memory_events, low), true},
        {"high", offsetof(vmmem_memory_events, high), true},
        {"max", offsetof(vmmem_memory_events, max), true},
        {"oom", offsetof(vmmem_memory_events, oom), true},
        {"oom_kill", offsetof(vmmem_memory_events, oom_kill), true},
        {"oom_group_kill", offsetof(vmmem_memory_events, oom_group_kill), false},
    };
    vmmem_memory_events ev = {0};

    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        int r = memory_keyed_value(text, keys[i].key, (uint64_t *)((char *)&ev + keys[i].offset));
        if (r < 0 && (r != -ENOENT || keys[i].required))
            return vmmem_fail(error, -r, "memory.events of '/%s': %s '%s'", what,
                              r == -ENOENT ? "no key" : "bad value for", keys[i].key);
    }
    *ret_events = ev;
    return 0;
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" */
static bool
parse_pressure_line(const char *line, vmmem_pressure *ret)
{
    char *end;
    vmmem_pressure p = {0};
    const char *at;

    if (!(at = strstr(line, "avg10=")))
        return false;
    p.avg10 = g_ascii_strtod(at + 6, &end);
    if (!(at = strstr(end, "avg60=")))
        return false;
    p.avg60 = g_ascii_strtod(at + 6, &end);
    if (!(at = strstr(end, "avg300=")))
        return false;
    p.avg300 = g_ascii_strtod(at + 7, &end);
    if (!(at = strstr(end, "total=")) ||
        !g_ascii_string_to_unsigned(at + 6, 10, 0, G_MAXUINT64, &p.total_us, NULL))
        return false;
    *ret = p;
    return true;
}

bool
memory_pressure_parse(const char *text, const char *which, vmmem_pressure *ret)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    for (char **l = lines; *l; l++) {
        if (g_str_has_prefix(*l, which) && parse_pressure_line(*l, ret))
            return true;
    }
    return false;
}

bool
memory_limit_parse(const char *text, uint64_t *ret_value)
{
    g_autofree char *t = g_strstrip(g_strdup(text));

    if (strcmp(t, "max") == 0) {
        *ret_value = UINT64_MAX;
        return true;
    }
    return g_ascii_string_to_unsigned(t, 10, 0, G_MAXUINT64, ret_value, NULL);
}
