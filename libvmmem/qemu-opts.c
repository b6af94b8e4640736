/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "qemu-opts.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "qemu-json.h"
#include "quote.h"
#include "size.h"

/* Long enough to recognise the option in a message, short enough to keep it on one line. */

static void
qemu_opt_free(gpointer p)
{
    QemuOpt *opt = p;

    g_free(opt->key);
    g_free(opt->value);
    g_free(opt);
}

QemuOpts *
qemu_opts_new(void)
{
    QemuOpts *opts = g_new0(QemuOpts, 1);

    opts->items = g_ptr_array_new_with_free_func(qemu_opt_free);
    return opts;
}

QemuOpts *
qemu_opts_free(QemuOpts *opts)
{
    if (opts) {
        g_ptr_array_unref(opts->items);
        g_free(opts);
    }
    return NULL;
}

void
qemu_opts_append(QemuOpts *opts, char *key, char *value)
{
    QemuOpt *opt = g_new(QemuOpt, 1);

    opt->key = key;
    opt->value = value;
    g_ptr_array_add(opts->items, opt);
}

/* A value up to the next lone ',': ",," stands for one comma (qemu's get_opt_value()). */
static char *
read_value(const char **pp)
{
    GString *value = g_string_new(NULL);
    const char *p = *pp;

    for (;;) {
        size_t len = strcspn(p, ",");

        g_string_append_len(value, p, (gssize)len);
        p += len;
        if (p[0] != ',' || p[1] != ',')
            break;
        g_string_append_c(value, ',');
        p += 2;
    }
    *pp = p;
    return g_string_free(value, FALSE);
}

static int
fail_empty_key(const char *text, GError **error)
{
    g_autofree char *q = quote_for_message(text, QUOTE_MAX);

    return vmmem_fail(error, EINVAL, "invalid option '%s': empty key", q);
}

/* The QemuOpts syntax, as qemu's opts_do_parse() reads it (without its "noflag" = flag=off). */
static int
parse_keyvalue(const char *text, const char *implied_key, QemuOpts *opts, GError **error)
{
    const char *p = text;

    for (bool first = true; *p; first = false) {
        size_t len = strcspn(p, "=,");

        if (p[len] == '=') {
            if (len == 0)
                return fail_empty_key(text, error);
            char *key = g_strndup(p, len);
            p += len + 1;
            qemu_opts_append(opts, key, read_value(&p));
        } else if (first && implied_key) {
            qemu_opts_append(opts, g_strdup(implied_key), read_value(&p));
        } else {
            if (len == 0)
                return fail_empty_key(text, error);
            qemu_opts_append(opts, g_strndup(p, len), g_strdup("on"));
            p += len;
        }
        if (*p == ',')
            p++;
    }
    return 0;
}

static bool
looks_like_json(const char *text)
{
    while (g_ascii_isspace(*text))
        text++;
    return *text == '{';
}

static int
append_json(QemuOpts *opts, const char *text, GError **error)
{
    g_autoptr(GPtrArray) pairs = NULL;
    int r = qemu_json_flatten(text, &pairs, error);

    for (guint i = 0; r == 0 && i < pairs->len; i += 2)
        qemu_opts_append(opts, g_steal_pointer(&pairs->pdata[i]),
                         g_steal_pointer(&pairs->pdata[i + 1]));
    return r;
}

int
qemu_opts_parse(const char *text, const char *implied_key, QemuOpts **ret_opts, GError **error)
{
    g_autoptr(QemuOpts) opts = NULL;
    int r;

    if (!text)
        return vmmem_fail(error, EINVAL, "missing option value");

    opts = qemu_opts_new();
    opts->json = looks_like_json(text);
    if (opts->json)
        r = append_json(opts, text, error);
    else
        r = parse_keyvalue(text, implied_key, opts, error);
    if (r < 0)
        return r;
    *ret_opts = g_steal_pointer(&opts);
    return 0;
}

const char *
qemu_opts_get(const QemuOpts *opts, const char *key)
{
    for (guint i = opts->items->len; i-- > 0;) {
        const QemuOpt *opt = g_ptr_array_index(opts->items, i);

        if (strcmp(opt->key, key) == 0)
            return opt->value;
    }
    return NULL;
}

/* "key=value" quoted for a message. */
static char *
quote_pair(const char *key, const char *value)
{
    g_autofree char *pair = g_strconcat(key, "=", value, NULL);

    return quote_for_message(pair, QUOTE_MAX);
}

int
qemu_opts_get_size(const QemuOpts *opts, const char *key, uint64_t default_unit, uint64_t dflt,
                   uint64_t *ret, GError **error)
{
    const char *value = qemu_opts_get(opts, key);
    g_autofree char *q = NULL;
    uint64_t v;
    int r;

    if (!value) {
        *ret = dflt;
        return 0;
    }
    r = vmmem_parse_size(value, default_unit, &v);
    if (r == 0) {
        *ret = v;
        return 0;
    }
    q = quote_pair(key, value);
    if (r == -ERANGE)
        return vmmem_fail(error, ERANGE, "size '%s' does not fit in 64 bits", q);
    return vmmem_fail(error, EINVAL, "invalid size '%s'", q);
}

/* qemu's qapi_bool_parse() words. */
static const struct {
    const char *word;
    bool value;
} bool_words[] = {
    {"on", true}, {"yes", true}, {"true", true}, {"off", false}, {"no", false}, {"false", false},
};

int
qemu_opts_get_bool(const QemuOpts *opts, const char *key, bool dflt, bool *ret, GError **error)
{
    const char *value = qemu_opts_get(opts, key);
    g_autofree char *q = NULL;

    if (!value) {
        *ret = dflt;
        return 0;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bool_words); i++) {
        if (strcmp(value, bool_words[i].word) == 0) {
            *ret = bool_words[i].value;
            return 0;
        }
    }
    q = quote_pair(key, value);
    return vmmem_fail(error, EINVAL, "invalid boolean '%s' (expected on/off, yes/no or true/false)",
                      q);
}

/* Digits only: no sign, no blanks, no base prefix. */
static int
parse_uint(const char *text, uint64_t *ret)
{
    uint64_t v = 0;

    if (*text == '\0')
        return -EINVAL;
    for (const char *p = text; *p; p++) {
        if (!g_ascii_isdigit(*p))
            return -EINVAL;
    }
    for (const char *p = text; *p; p++) {
        if (!g_uint64_checked_mul(&v, v, 10) || !g_uint64_checked_add(&v, v, *p - '0'))
            return -ERANGE;
    }
    *ret = v;
    return 0;
}

int
qemu_opts_get_uint(const QemuOpts *opts, const char *key, uint64_t dflt, uint64_t *ret,
                   GError **error)
{
    const char *value = qemu_opts_get(opts, key);
    g_autofree char *q = NULL;
    uint64_t v;
    int r;

    if (!value) {
        *ret = dflt;
        return 0;
    }
    r = parse_uint(value, &v);
    if (r == 0) {
        *ret = v;
        return 0;
    }
    q = quote_pair(key, value);
    if (r == -ERANGE)
        return vmmem_fail(error, ERANGE, "number '%s' does not fit in 64 bits", q);
    return vmmem_fail(error, EINVAL, "invalid number '%s' (expected an unsigned decimal integer)",
                      q);
}
