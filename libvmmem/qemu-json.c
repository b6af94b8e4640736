/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "qemu-json.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "error.h"
#include "quote.h"

/* The JSON form of an option value (qemu's -object '{...}').  Strict RFC 8259 with two limits
 * of our own: no \u0000 (values end up as C strings) and at most JSON_MAX_DEPTH open containers,
 * so a hostile command line cannot run the recursion deep. */
#define JSON_MAX_DEPTH 32

typedef enum {
    JSON_NULL,
    JSON_SCALAR, /* string, number, true, false: kept as text */
    JSON_OBJECT,
    JSON_ARRAY,
} JsonKind;

typedef struct JsonNode JsonNode;
struct JsonNode {
    JsonKind kind;
    char *key;           /* member name when inside an object */
    char *text;          /* JSON_SCALAR */
    GPtrArray *children; /* JsonNode*, JSON_OBJECT and JSON_ARRAY */
};

typedef struct {
    const char *text;
    const char *p;
    unsigned depth;
    GError **error;
} JsonParser;

static void
json_node_free(gpointer p)
{
    JsonNode *node = p;

    if (!node)
        return;
    g_free(node->key);
    g_free(node->text);
    if (node->children)
        g_ptr_array_unref(node->children);
    g_free(node);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(JsonNode, json_node_free)

static JsonNode *
json_node_new(JsonKind kind)
{
    JsonNode *node = g_new0(JsonNode, 1);

    node->kind = kind;
    if (kind == JSON_OBJECT || kind == JSON_ARRAY)
        node->children = g_ptr_array_new_with_free_func(json_node_free);
    return node;
}

static int
json_fail_at(JsonParser *j, const char *at, const char *what)
{
    g_autofree char *q = quote_for_message(j->text, QUOTE_MAX);

    return vmmem_fail(j->error, EINVAL, "invalid JSON '%s': %s at offset %td", q, what,
                      at - j->text);
}

static int
json_fail(JsonParser *j, const char *what)
{
    return json_fail_at(j, j->p, what);
}

static void
skip_space(JsonParser *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
        j->p++;
}

/* Skips @c (after blanks) if it is next. */
static bool
accept(JsonParser *j, char c)
{
    skip_space(j);
    if (*j->p != c)
        return false;
    j->p++;
    return true;
}

static int parse_value(JsonParser *j, JsonNode **ret_node);

static int
parse_hex4(JsonParser *j, gunichar *ret)
{
    gunichar v = 0;

    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(j->p[i]);

        if (d < 0)
            return json_fail(j, "invalid \\u escape");
        v = v << 4 | (gunichar)d;
    }
    j->p += 4;
    *ret = v;
    return 0;
}

/* After "\u": one code point, joining a UTF-16 surrogate pair. */
static int
parse_unicode_escape(JsonParser *j, GString *out)
{
    const char *start = j->p - 2;
    gunichar c, low;
    char buf[6];
    int r;

    r = parse_hex4(j, &c);
    if (r < 0)
        return r;
    if (c >= 0xdc00 && c <= 0xdfff)
        return json_fail_at(j, start, "lone low surrogate");
    if (c >= 0xd800 && c <= 0xdbff) {
        if (j->p[0] != '\\' || j->p[1] != 'u')
            return json_fail_at(j, start, "lone high surrogate");
        j->p += 2;
        r = parse_hex4(j, &low);
        if (r < 0)
            return r;
        if (low < 0xdc00 || low > 0xdfff)
            return json_fail_at(j, start, "lone high surrogate");
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
    }
    if (c == 0)
        return json_fail_at(j, start, "\\u0000 is not allowed");
    g_string_append_len(out, buf, g_unichar_to_utf8(c, buf));
    return 0;
}

/* Single-character escapes: the character after the backslash and what it stands for. */
static const char json_escapes[][2] = {
    {'"', '"'},  {'\\', '\\'}, {'/', '/'},  {'b', '\b'},
    {'f', '\f'}, {'n', '\n'},  {'r', '\r'}, {'t', '\t'},
};

static int
parse_escape(JsonParser *j, GString *out)
{
    char c = j->p[1];

    if (c == '\0')
        return json_fail(j, "unterminated string");
    j->p += 2;
    if (c == 'u')
        return parse_unicode_escape(j, out);
    for (size_t i = 0; i < G_N_ELEMENTS(json_escapes); i++) {
        if (c == json_escapes[i][0]) {
            g_string_append_c(out, json_escapes[i][1]);
            return 0;
        }
    }
    return json_fail_at(j, j->p - 2, "invalid escape");
}

/* At the opening quote. */
static int
parse_string(JsonParser *j, char **ret)
{
    g_autoptr(GString) s = g_string_new(NULL);
    const char *start = j->p;
    int r;

    j->p++;
    while (*j->p != '"') {
        guchar c = (guchar)*j->p;

        if (c == '\0')
            return json_fail_at(j, start, "unterminated string");
        if (c < 0x20)
            return json_fail(j, "control character in string");
        if (c == '\\') {
            r = parse_escape(j, s);
            if (r < 0)
                return r;
            continue;
        }
        g_string_append_c(s, (char)c);
        j->p++;
    }
    j->p++;
    *ret = g_string_free(g_steal_pointer(&s), FALSE);
    return 0;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, kept as written so that sizes stay exact. */
static int
parse_number(JsonParser *j, char **ret)
{
    const char *start = j->p, *p = j->p;
    size_t n;

    if (*p == '-')
        p++;
    n = strspn(p, "0123456789");
    if (n == 0 || (n > 1 && *p == '0'))
        return json_fail_at(j, start, "invalid number");
    p += n;
    if (*p == '.') {
        n = strspn(++p, "0123456789");
        if (n == 0)
            return json_fail_at(j, start, "invalid number");
        p += n;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        n = strspn(p, "0123456789");
        if (n == 0)
            return json_fail_at(j, start, "invalid number");
        p += n;
    }
    j->p = p;
    *ret = g_strndup(start, (gsize)(p - start));
    return 0;
}

static const struct {
    const char *word;
    JsonKind kind;
} json_literals[] = {
    {"true", JSON_SCALAR},
    {"false", JSON_SCALAR},
    {"null", JSON_NULL},
};

static int
parse_literal(JsonParser *j, JsonNode **ret_node)
{
    for (size_t i = 0; i < G_N_ELEMENTS(json_literals); i++) {
        size_t len = strlen(json_literals[i].word);

        if (strncmp(j->p, json_literals[i].word, len) == 0) {
            JsonNode *node = json_node_new(json_literals[i].kind);

            if (node->kind == JSON_SCALAR)
                node->text = g_strdup(json_literals[i].word);
            j->p += len;
            *ret_node = node;
            return 0;
        }
    }
    return json_fail(j, *j->p ? "unexpected character" : "unexpected end");
}

static int
enter(JsonParser *j)
{
    if (++j->depth > JSON_MAX_DEPTH)
        return json_fail(j, "nesting deeper than 32");
    j->p++;
    return 0;
}

static int
parse_member(JsonParser *j, JsonNode *object)
{
    g_autofree char *key = NULL;
    const char *start;
    JsonNode *value;
    int r;

    skip_space(j);
    start = j->p;
    if (*j->p != '"')
        return json_fail(j, "expected a member name");
    r = parse_string(j, &key);
    if (r < 0)
        return r;
    if (*key == '\0')
        return json_fail_at(j, start, "empty key");
    if (!accept(j, ':'))
        return json_fail(j, "expected ':'");
    r = parse_value(j, &value);
    if (r < 0)
        return r;
    value->key = g_steal_pointer(&key);
    g_ptr_array_add(object->children, value);
    return 0;
}

static int
parse_object(JsonParser *j, JsonNode **ret_node)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_OBJECT);
    int r = enter(j);

    if (r < 0)
        return r;
    if (!accept(j, '}')) {
        do {
            r = parse_member(j, node);
            if (r < 0)
                return r;
        } while (accept(j, ','));
        if (!accept(j, '}'))
            return json_fail(j, *j->p ? "expected ',' or '}'" : "unterminated object");
    }
    j->depth--;
    *ret_node = g_steal_pointer(&node);
    return 0;
}

static int
parse_array(JsonParser *j, JsonNode **ret_node)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_ARRAY);
    JsonNode *element;
    int r = enter(j);

    if (r < 0)
        return r;
    if (!accept(j, ']')) {
        do {
            r = parse_value(j, &element);
            if (r < 0)
                return r;
            g_ptr_array_add(node->children, element);
        } while (accept(j, ','));
        if (!accept(j, ']'))
            return json_fail(j, *j->p ? "expected ',' or ']'" : "unterminated array");
    }
    j->depth--;
    *ret_node = g_steal_pointer(&node);
    return 0;
}

static int
parse_scalar(JsonParser *j, int (*parse)(JsonParser *, char **), JsonNode **ret_node)
{
    char *text = NULL;
    int r = parse(j, &text);

    if (r < 0)
        return r;
    *ret_node = json_node_new(JSON_SCALAR);
    (*ret_node)->text = text;
    return 0;
}

static int
parse_value(JsonParser *j, JsonNode **ret_node)
{
    skip_space(j);
    if (*j->p == '-' || g_ascii_isdigit(*j->p))
        return parse_scalar(j, parse_number, ret_node);
    switch (*j->p) {
    case '{':
        return parse_object(j, ret_node);
    case '[':
        return parse_array(j, ret_node);
    case '"':
        return parse_scalar(j, parse_string, ret_node);
    default:
        return parse_literal(j, ret_node);
    }
}

/* Takes @key and @value. */
static void
append_pair(GPtrArray *pairs, char *key, char *value)
{
    g_ptr_array_add(pairs, key);
    g_ptr_array_add(pairs, value);
}

static char *
join_key(const char *prefix, const char *key)
{
    return prefix ? g_strconcat(prefix, ".", key, NULL) : g_strdup(key);
}

static bool
all_scalars(const JsonNode *array)
{
    for (guint i = 0; i < array->children->len; i++) {
        const JsonNode *e = g_ptr_array_index(array->children, i);

        if (e->kind != JSON_SCALAR && e->kind != JSON_NULL)
            return false;
    }
    return true;
}

/* "host-nodes":[0,1] -> host-nodes=0,1; nulls are dropped like everywhere else, and an array
 * with nothing left gives no key at all. */
static void
flatten_scalar_array(const JsonNode *array, const char *key, GPtrArray *pairs)
{
    g_autoptr(GString) joined = g_string_new(NULL);
    bool any = false;

    for (guint i = 0; i < array->children->len; i++) {
        const JsonNode *e = g_ptr_array_index(array->children, i);

        if (e->kind != JSON_SCALAR)
            continue;
        if (any)
            g_string_append_c(joined, ',');
        g_string_append(joined, e->text);
        any = true;
    }
    if (any)
        append_pair(pairs, g_strdup(key), g_string_free(g_steal_pointer(&joined), FALSE));
}

/* qemu's qdict_flatten(): nested members become "a.b", and an array that holds containers has
 * no comma form, so its elements become "a.0", "a.1", ... */
static void
flatten(const JsonNode *node, const char *key, GPtrArray *pairs)
{
    switch (node->kind) {
    case JSON_NULL:
        break;
    case JSON_SCALAR:
        append_pair(pairs, g_strdup(key), g_strdup(node->text));
        break;
    case JSON_OBJECT:
        for (guint i = 0; i < node->children->len; i++) {
            const JsonNode *member = g_ptr_array_index(node->children, i);
            g_autofree char *k = join_key(key, member->key);

            flatten(member, k, pairs);
        }
        break;
    case JSON_ARRAY:
        if (all_scalars(node)) {
            flatten_scalar_array(node, key, pairs);
            break;
        }
        for (guint i = 0; i < node->children->len; i++) {
            g_autofree char *index = g_strdup_printf("%u", i);
            g_autofree char *k = join_key(key, index);

            flatten(g_ptr_array_index(node->children, i), k, pairs);
        }
        break;
    }
}

int
qemu_json_flatten(const char *text, GPtrArray **ret_pairs, GError **error)
{
    g_autoptr(GPtrArray) pairs = g_ptr_array_new_with_free_func(g_free);
    JsonParser j = {.text = text, .p = text, .error = error};
    g_autoptr(JsonNode) root = NULL;
    const char *bad;
    int r;

    if (!g_utf8_validate(text, -1, &bad))
        return json_fail_at(&j, bad, "invalid UTF-8");
    skip_space(&j);
    if (*j.p != '{')
        return json_fail(&j, "not an object");
    r = parse_value(&j, &root);
    if (r < 0)
        return r;
    skip_space(&j);
    if (*j.p != '\0')
        return json_fail(&j, "trailing garbage");
    flatten(root, NULL, pairs);
    *ret_pairs = g_steal_pointer(&pairs);
    return 0;
}
