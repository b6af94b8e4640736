/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small JSON checker for the unit tests: well-formed RFC 8259 or not, nothing more. */
#include <inttypes.h>
#include <string.h>

#include "json-check.h"

static void
json_ws(const char **p)
{
    while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
        (*p)++;
}

static gboolean
json_string(const char **p)
{
    if (**p != '"')
        return FALSE;
    for ((*p)++; **p != '"'; (*p)++) {
        if ((unsigned char)**p < 0x20)
            return FALSE; /* control characters must be escaped (also catches the end) */
        if (**p != '\\')
            continue;
        (*p)++;
        if (**p == 'u') {
            for (int i = 0; i < 4; i++) {
                if (!g_ascii_isxdigit((*p)[1]))
                    return FALSE;
                (*p)++;
            }
        } else if (!**p || !strchr("\"\\/bfnrt", **p)) {
            return FALSE;
        }
    }
    (*p)++;
    return TRUE;
}

static gboolean
json_number(const char **p)
{
    const char *start = *p;

    if (**p == '-')
        (*p)++;
    if (**p == '0')
        (*p)++;
    else if (g_ascii_isdigit(**p))
        while (g_ascii_isdigit(**p))
            (*p)++;
    else
        return FALSE;
    if (**p == '.') {
        (*p)++;
        if (!g_ascii_isdigit(**p))
            return FALSE;
        while (g_ascii_isdigit(**p))
            (*p)++;
    }
    if (**p == 'e' || **p == 'E') {
        (*p)++;
        if (**p == '+' || **p == '-')
            (*p)++;
        if (!g_ascii_isdigit(**p))
            return FALSE;
        while (g_ascii_isdigit(**p))
            (*p)++;
    }
    return *p > start;
}

gboolean
json_value(const char **p, int depth)
{
    gboolean object;

    json_ws(p);
    if (depth > 16)
        return FALSE;
    if (**p == '"')
        return json_string(p);
    if (**p != '{' && **p != '[') {
        for (const char *const *lit = (const char *const[]){"true", "false", "null", NULL}; *lit;
             lit++) {
            if (g_str_has_prefix(*p, *lit)) {
                *p += strlen(*lit);
                return TRUE;
            }
        }
        return json_number(p);
    }
    object = **p == '{';
    (*p)++;
    json_ws(p);
    if (**p == (object ? '}' : ']')) {
        (*p)++;
        return TRUE;
    }
    for (;;) {
        if (object) {
            json_ws(p);
            if (!json_string(p))
                return FALSE;
            json_ws(p);
            if (**p != ':')
                return FALSE;
            (*p)++;
        }
        if (!json_value(p, depth + 1))
            return FALSE;
        json_ws(p);
        if (**p == ',') {
            (*p)++;
            continue;
        }
        if (**p != (object ? '}' : ']'))
            return FALSE;
        (*p)++;
        return TRUE;
    }
}

void
assert_json_valid(const char *json)
{
    const char *p = json;

    g_assert_true(g_utf8_validate(json, -1, NULL));
    g_assert_true(json_value(&p, 0));
    g_assert_cmpstr(p, ==, ""); /* one value, no trailing newline or garbage */
}

/* docs/json.md: top-level keys sit at two spaces of indentation, so "\n  \"key\": " matches the
 * top level only (the "vm" object's keys are at four). */
const char *
json_top_value(const char *json, const char *key)
{
    g_autofree char *needle = g_strdup_printf("\n  \"%s\": ", key);
    const char *hit = strstr(json, needle);

    g_assert_nonnull(hit);
    g_assert_null(strstr(hit + 1, needle)); /* exactly once */
    return hit + strlen(needle);
}

void
assert_json_u64_or_null(const char *json, const char *key, gboolean present, uint64_t v)
{
    const char *value = json_top_value(json, key);
    g_autofree char *expected = present ? g_strdup_printf("%" PRIu64, v) : g_strdup("null");

    g_assert_true(g_str_has_prefix(value, expected));
    g_assert_false(g_ascii_isdigit(value[strlen(expected)]));
}
