/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "error.h"
#include "qemu-opts.h"
#include "quote.h"
#include "size.h"

#define MAX_PAIRS 16

typedef struct {
    const char *text;
    const char *implied;
    /* key, value, key, value, ..., NULL */
    const char *kv[2 * MAX_PAIRS + 1];
} OptsCase;

typedef struct {
    const char *text;
    const char *implied;
    /* substring of the message */
    const char *message;
} BadCase;

static void
check_opts(const OptsCase *cases, size_t n, bool json)
{
    for (size_t i = 0; i < n; i++) {
        const OptsCase *c = &cases[i];
        g_autoptr(QemuOpts) opts = NULL;
        g_autoptr(GError) error = NULL;
        guint pairs = 0;

        g_autofree char *shown = c->text ? g_strescape(c->text, NULL) : NULL;

        g_test_message("%s", shown);
        g_assert_cmpint(qemu_opts_parse(c->text, c->implied, &opts, &error), ==, 0);
        g_assert_no_error(error);
        g_assert_cmpint(opts->json, ==, json);
        while (c->kv[2 * pairs])
            pairs++;
        g_assert_cmpuint(opts->items->len, ==, pairs);
        for (guint k = 0; k < pairs; k++) {
            const QemuOpt *opt = g_ptr_array_index(opts->items, k);

            g_assert_cmpstr(opt->key, ==, c->kv[2 * k]);
            g_assert_cmpstr(opt->value, ==, c->kv[2 * k + 1]);
        }
    }
}

static void
check_bad(const BadCase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const BadCase *c = &cases[i];
        QemuOpts *opts = (QemuOpts *)&cases; /* must stay untouched */
        g_autoptr(GError) error = NULL;

        g_autofree char *shown = c->text ? g_strescape(c->text, NULL) : NULL;

        g_test_message("%s", shown);
        g_assert_cmpint(qemu_opts_parse(c->text, c->implied, &opts, &error), ==, -EINVAL);
        g_assert_true(opts == (QemuOpts *)&cases);
        g_assert_error(error, VMMEM_ERROR, EINVAL);
        g_assert_nonnull(strstr(error->message, c->message));
        g_assert_null(strchr(error->message, '\n'));
    }
}

static void
test_keyvalue(void)
{
    static const OptsCase cases[] = {
        {"", NULL, {NULL}},
        {"a=1", NULL, {"a", "1", NULL}},
        {"a=1,b=2", NULL, {"a", "1", "b", "2", NULL}},
        {"a=1,b=2,", NULL, {"a", "1", "b", "2", NULL}},
        {"a=", NULL, {"a", "", NULL}},
        {"a=,b=", NULL, {"a", "", "b", "", NULL}},
        {"a=x=y", NULL, {"a", "x=y", NULL}},
        {"id=ram0,size=1G,host-nodes=0-1,policy=bind",
         NULL,
         {"id", "ram0", "size", "1G", "host-nodes", "0-1", "policy", "bind", NULL}},
        {"path=/tmp/a b,share=on", NULL, {"path", "/tmp/a b", "share", "on", NULL}},
        {"a.b.c=1", NULL, {"a.b.c", "1", NULL}},
    };

    check_opts(cases, G_N_ELEMENTS(cases), false);
}

static void
test_commas(void)
{
    static const OptsCase cases[] = {
        {"guest=foo=1,,bar=2,debug-threads=on",
         NULL,
         {"guest", "foo=1,bar=2", "debug-threads", "on", NULL}},
        {"a=1,,2", NULL, {"a", "1,2", NULL}},
        {"a=1,,", NULL, {"a", "1,", NULL}},
        {"a=,,", NULL, {"a", ",", NULL}},
        {"a=1,,,b=2", NULL, {"a", "1,", "b", "2", NULL}},
        {"a=1,,,,b=2", NULL, {"a", "1,,b=2", NULL}},
        {"a=x,,,,,,y", NULL, {"a", "x,,,y", NULL}},
        {"file=/img/a,,b.qcow2,if=none", NULL, {"file", "/img/a,b.qcow2", "if", "none", NULL}},
        {"web,,1,debug-threads=on", "guest", {"guest", "web,1", "debug-threads", "on", NULL}},
    };

    check_opts(cases, G_N_ELEMENTS(cases), false);
}

static void
test_implied(void)
{
    static const OptsCase cases[] = {
        {"2G", "size", {"size", "2G", NULL}},
        {"2G,slots=4,maxmem=8G", "size", {"size", "2G", "slots", "4", "maxmem", "8G", NULL}},
        {"size=2G", "size", {"size", "2G", NULL}},
        {"q35,accel=kvm", "type", {"type", "q35", "accel", "kvm", NULL}},
        {"slots=4,2G", "size", {"slots", "4", "2G", "on", NULL}},
        {"q35,usb", "type", {"type", "q35", "usb", "on", NULL}},
        {"web", "guest", {"guest", "web", NULL}},
        {",slots=2", "size", {"size", "", "slots", "2", NULL}},
        {"4", "cpus", {"cpus", "4", NULL}},
        /* Without an implied key a bare word is a flag, even first. */
        {"q35", NULL, {"q35", "on", NULL}},
        {"node,mem=1G", NULL, {"node", "on", "mem", "1G", NULL}},
        {"timestamp,guest-name", NULL, {"timestamp", "on", "guest-name", "on", NULL}},
        /* "no" prefixes are not special. */
        {"nowait", NULL, {"nowait", "on", NULL}},
        {"a=1,flag", "x", {"a", "1", "flag", "on", NULL}},
    };

    check_opts(cases, G_N_ELEMENTS(cases), false);
}

static void
test_repeated(void)
{
    static const OptsCase cases[] = {
        {"node,cpus=0-1,cpus=3", NULL, {"node", "on", "cpus", "0-1", "cpus", "3", NULL}},
        {"a=1,a=2,a=3", NULL, {"a", "1", "a", "2", "a", "3", NULL}},
    };
    g_autoptr(QemuOpts) opts = NULL;

    check_opts(cases, G_N_ELEMENTS(cases), false);

    g_assert_cmpint(qemu_opts_parse("a=1,b=x,a=2,a=3,b=y", NULL, &opts, NULL), ==, 0);
    g_assert_cmpstr(qemu_opts_get(opts, "a"), ==, "3");
    g_assert_cmpstr(qemu_opts_get(opts, "b"), ==, "y");
    g_assert_null(qemu_opts_get(opts, "c"));
    g_assert_null(qemu_opts_get(opts, "A"));
}

static void
test_bad_keyvalue(void)
{
    static const BadCase cases[] = {
        {"=1", NULL, "invalid option '=1': empty key"},
        {"a=1,=2", NULL, "invalid option 'a=1,=2': empty key"},
        {",a=1", NULL, "invalid option ',a=1': empty key"},
        {"a,,b", NULL, "empty key"},
        {"2G,=x", "size", "empty key"},
        {NULL, NULL, "missing option value"},
    };

    check_bad(cases, G_N_ELEMENTS(cases));
}

static void
test_json(void)
{
    static const OptsCase cases[] = {
        {"{}", NULL, {NULL}},
        {" \t\n{ } \n", NULL, {NULL}},
        {"{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram0\",\"size\":1073741824}",
         NULL,
         {"qom-type", "memory-backend-ram", "id", "ram0", "size", "1073741824", NULL}},
        /* Numbers stay text: no double in between. */
        {"{\"size\":1099511627776}", NULL, {"size", "1099511627776", NULL}},
        {"{\"size\":18446744073709551615}", NULL, {"size", "18446744073709551615", NULL}},
        {"{\"size\":99999999999999999999999}", NULL, {"size", "99999999999999999999999", NULL}},
        {"{\"a\":-0,\"b\":1.5,\"c\":2e10,\"d\":-3.25E-2,\"e\":0}",
         NULL,
         {"a", "-0", "b", "1.5", "c", "2e10", "d", "-3.25E-2", "e", "0", NULL}},
        {"{\"share\":true,\"prealloc\":false,\"x\":null}",
         NULL,
         {"share", "true", "prealloc", "false", NULL}},
        {"{\"driver\":\"file\",\"cache\":{\"direct\":true,\"no-flush\":false}}",
         NULL,
         {"driver", "file", "cache.direct", "true", "cache.no-flush", "false", NULL}},
        {"{\"a\":{\"b\":{\"c\":{\"d\":\"deep\"}}}}", NULL, {"a.b.c.d", "deep", NULL}},
        {"{\"a\":{},\"b\":1}", NULL, {"b", "1", NULL}},
        {"{\"host-nodes\":[1,2,3],\"policy\":\"bind\"}",
         NULL,
         {"host-nodes", "1,2,3", "policy", "bind", NULL}},
        {"{\"host-nodes\":[0]}", NULL, {"host-nodes", "0", NULL}},
        {"{\"l\":[]}", NULL, {NULL}},
        {"{\"l\":[null,1,null,\"x\"]}", NULL, {"l", "1,x", NULL}},
        {"{\"l\":[null]}", NULL, {NULL}},
        {"{\"l\":[true,false]}", NULL, {"l", "true,false", NULL}},
        /* An array that holds containers is indexed, like qdict_flatten(). */
        {"{\"children\":[{\"driver\":\"raw\"},{\"driver\":\"qcow2\",\"file\":{\"filename\":\"a\"}}]"
         "}",
         NULL,
         {"children.0.driver", "raw", "children.1.driver", "qcow2", "children.1.file.filename", "a",
          NULL}},
        {"{\"m\":[[1,2],3]}", NULL, {"m.0", "1,2", "m.1", "3", NULL}},
        {"{\"a\":1,\"a\":2}", NULL, {"a", "1", "a", "2", NULL}},
        {"{\"a.b\":1}", NULL, {"a.b", "1", NULL}},
        {"{ \"a\" : [ 1 , 2 ] , \"b\" : { \"c\" : \"d\" } }", NULL, {"a", "1,2", "b.c", "d", NULL}},
        /* The implied key means nothing to JSON. */
        {"{\"size\":\"2G\"}", "size", {"size", "2G", NULL}},
        {"{\"s\":\"a,b\"}", NULL, {"s", "a,b", NULL}},
    };

    check_opts(cases, G_N_ELEMENTS(cases), true);
}

static void
test_json_strings(void)
{
    static const OptsCase cases[] = {
        {"{\"s\":\"\"}", NULL, {"s", "", NULL}},
        {"{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", NULL, {"s", "\"\\/\b\f\n\r\t", NULL}},
        {"{\"s\":\"\\u0041\\u00e9\\u20AC\"}", NULL, {"s", "A\xc3\xa9\xe2\x82\xac", NULL}},
        /* U+1F600 as a surrogate pair. */
        {"{\"s\":\"\\ud83d\\ude00\"}", NULL, {"s", "\xf0\x9f\x98\x80", NULL}},
        {"{\"s\":\"\\uDBFF\\uDFFF\"}", NULL, {"s", "\xf4\x8f\xbf\xbf", NULL}},
        {"{\"s\":\"\\u0001\"}", NULL, {"s", "\x01", NULL}},
        {"{\"s\":\"caf\xc3\xa9\"}", NULL, {"s", "caf\xc3\xa9", NULL}},
        {"{\"\\u0069d\":\"x\"}", NULL, {"id", "x", NULL}},
        {"{\"s\":\"a=b,c=d\"}", NULL, {"s", "a=b,c=d", NULL}},
    };

    check_opts(cases, G_N_ELEMENTS(cases), true);
}

static char *
nested(unsigned depth)
{
    GString *s = g_string_new("{\"a\":");

    for (unsigned i = 1; i < depth; i++)
        g_string_append(s, "[");
    g_string_append(s, "1");
    for (unsigned i = 1; i < depth; i++)
        g_string_append(s, "]");
    g_string_append(s, "}");
    return g_string_free(s, FALSE);
}

static void
test_json_depth(void)
{
    g_autofree char *ok = nested(32);
    g_autofree char *deep = nested(33);
    g_autofree char *very_deep = nested(100000);
    g_autoptr(QemuOpts) opts = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(qemu_opts_parse(ok, NULL, &opts, NULL), ==, 0);
    g_assert_cmpuint(opts->items->len, ==, 1);
    g_assert_cmpint(qemu_opts_parse(deep, NULL, &opts, &error), ==, -EINVAL);
    g_assert_error(error, VMMEM_ERROR, EINVAL);
    g_assert_nonnull(strstr(error->message, "nesting deeper than 32 at offset 36"));
    g_clear_error(&error);
    g_assert_cmpint(qemu_opts_parse(very_deep, NULL, &opts, &error), ==, -EINVAL);
    g_assert_nonnull(strstr(error->message, "nesting deeper than 32"));
}

static void
test_bad_json(void)
{
    static const BadCase cases[] = {
        {"{", NULL, "invalid JSON '{': expected a member name at offset 1"},
        {"{\"a\":1", NULL, "invalid JSON '{\"a\":1': unterminated object at offset 6"},
        {"{\"a\":[1,2}", NULL, "expected ',' or ']' at offset 9"},
        {"{\"a\":1]", NULL, "expected ',' or '}' at offset 6"},
        {"{\"a\":\"x}", NULL, "unterminated string at offset 5"},
        {"{\"a\":1} x", NULL, "trailing garbage at offset 8"},
        {"{\"a\":1}{}", NULL, "trailing garbage at offset 7"},
        {"{\"a\" 1}", NULL, "expected ':' at offset 5"},
        {"{\"a\":}", NULL, "unexpected character at offset 5"},
        {"{\"a\":", NULL, "unexpected end at offset 5"},
        {"{\"a\":1,}", NULL, "expected a member name at offset 7"},
        {"{a:1}", NULL, "expected a member name at offset 1"},
        {"{'a':1}", NULL, "expected a member name"},
        {"{\"\":1}", NULL, "empty key at offset 1"},
        {"{\"a\":{\"\":1}}", NULL, "empty key at offset 6"},
        {"{\"a\":tru}", NULL, "unexpected character"},
        {"{\"a\":True}", NULL, "unexpected character"},
        {"{\"a\":01}", NULL, "invalid number at offset 5"},
        {"{\"a\":1.}", NULL, "invalid number"},
        {"{\"a\":.5}", NULL, "unexpected character"},
        {"{\"a\":-}", NULL, "invalid number"},
        {"{\"a\":1e}", NULL, "invalid number"},
        {"{\"a\":+1}", NULL, "unexpected character"},
        {"{\"a\":0x10}", NULL, "expected ',' or '}'"},
        {"{\"a\":NaN}", NULL, "unexpected character"},
        {"{\"a\":\"\\x\"}", NULL, "invalid escape at offset 6"},
        {"{\"a\":\"\\u12\"}", NULL, "invalid \\u escape"},
        {"{\"a\":\"\\u12G4\"}", NULL, "invalid \\u escape"},
        {"{\"a\":\"\\ud83d\"}", NULL, "lone high surrogate at offset 6"},
        {"{\"a\":\"\\ud83dx\"}", NULL, "lone high surrogate"},
        {"{\"a\":\"\\ud83d\\u0041\"}", NULL, "lone high surrogate"},
        {"{\"a\":\"\\ude00\"}", NULL, "lone low surrogate"},
        {"{\"a\":\"\\u0000\"}", NULL, "\\u0000 is not allowed"},
        {"{\"a\":\"x\ny\"}", NULL, "control character in string at offset 7"},
        {"{\"a\":\"\\", NULL, "unterminated string"},
        {"{\"a\":\"\xff\"}", NULL, "invalid UTF-8 at offset 6"},
        {"{\"a\":\"\xc3\"}", NULL, "invalid UTF-8"},
        {"{\"a\":1,\"a\":[1,{\"b\":}]}", NULL, "unexpected character at offset 19"},
        /* A message stays on one line. */
        {"{\"a\":\n1,\n}", NULL, "invalid JSON '{\"a\":\\x0a1,\\x0a}'"},
    };

    check_bad(cases, G_N_ELEMENTS(cases));
}

/* Only an object starts the JSON syntax: anything else is key=value text. */
static void
test_json_detection(void)
{
    static const OptsCase cases[] = {
        {"[1,2]", "size", {"size", "[1", "2]", "on", NULL}},
        {"\"a\"", "size", {"size", "\"a\"", NULL}},
        {"x={\"a\":1}", NULL, {"x", "{\"a\":1}", NULL}},
    };

    check_opts(cases, G_N_ELEMENTS(cases), false);
}

static void
test_quote(void)
{
    g_autofree char *long_text = g_strnfill(200, 'x');
    g_autofree char *q = quote_for_message(long_text, QUOTE_MAX);
    g_autofree char *utf8 = NULL;
    g_autofree char *qu = NULL;
    g_autofree char *qb = quote_for_message("a\x01\x7f\xff", QUOTE_MAX);
    GString *s = g_string_new("");

    g_assert_cmpuint(strlen(q), ==, 80);
    g_assert_true(g_str_has_suffix(q, "xxx..."));

    /* Never cut inside a UTF-8 character. */
    for (int i = 0; i < 60; i++)
        g_string_append(s, "\xc3\xa9");
    utf8 = g_string_free(s, FALSE);
    qu = quote_for_message(utf8, QUOTE_MAX);
    g_assert_true(g_str_has_suffix(qu, "..."));
    g_assert_true(g_utf8_validate(qu, -1, NULL));
    g_assert_cmpstr(qb, ==, "a\\x01\\x7f\\xff");

    g_free(q);
    q = quote_for_message("short", QUOTE_MAX);
    g_assert_cmpstr(q, ==, "short");
}

static void
test_long_message(void)
{
    g_autofree char *word = g_strnfill(300, 'a');
    g_autofree char *text = g_strdup_printf("%s,=x", word);
    g_autoptr(QemuOpts) opts = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(qemu_opts_parse(text, NULL, &opts, &error), ==, -EINVAL);
    g_assert_cmpuint(strlen(error->message), <, 120);
    g_assert_nonnull(strstr(error->message, "...': empty key"));
}

typedef struct {
    const char *value;
    int ret;
    uint64_t result;
} UintCase;

static void
test_get_size(void)
{
    static const UintCase cases[] = {
        {"2G", 0, 2 * GiB},         {"2048", 0, 2 * GiB},
        {"1.5G", 0, GiB + GiB / 2}, {"12Q", -EINVAL, 0},
        {"", -EINVAL, 0},           {"-1", -EINVAL, 0},
        {"16E", -ERANGE, 0},        {"17592186044416", -ERANGE, 0},
        {"1099511627776B", 0, TiB},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf("size=%s", cases[i].value);
        g_autoptr(QemuOpts) opts = NULL;
        g_autoptr(GError) error = NULL;
        uint64_t v = 7;

        g_assert_cmpint(qemu_opts_parse(text, NULL, &opts, NULL), ==, 0);
        g_assert_cmpint(qemu_opts_get_size(opts, "size", MiB, 1, &v, &error), ==, cases[i].ret);
        if (cases[i].ret == 0) {
            g_assert_no_error(error);
            g_assert_cmpuint(v, ==, cases[i].result);
        } else {
            g_assert_error(error, VMMEM_ERROR, -cases[i].ret);
            g_assert_cmpuint(v, ==, 7);
        }
    }
}

static void
test_get_messages(void)
{
    g_autoptr(QemuOpts) opts = NULL;
    g_autoptr(GError) error = NULL;
    uint64_t v = 0;
    bool b = false;

    g_assert_cmpint(
        qemu_opts_parse("size=12Q,big=16E,n=x1,h=99999999999999999999,s=maybe", NULL, &opts, NULL),
        ==, 0);
    g_assert_cmpint(qemu_opts_get_size(opts, "size", 1, 0, &v, &error), ==, -EINVAL);
    g_assert_cmpstr(error->message, ==, "invalid size 'size=12Q'");
    g_clear_error(&error);
    g_assert_cmpint(qemu_opts_get_size(opts, "big", 1, 0, &v, &error), ==, -ERANGE);
    g_assert_cmpstr(error->message, ==, "size 'big=16E' does not fit in 64 bits");
    g_clear_error(&error);
    g_assert_cmpint(qemu_opts_get_uint(opts, "n", 0, &v, &error), ==, -EINVAL);
    g_assert_cmpstr(error->message, ==,
                    "invalid number 'n=x1' (expected an unsigned decimal integer)");
    g_clear_error(&error);
    g_assert_cmpint(qemu_opts_get_uint(opts, "h", 0, &v, &error), ==, -ERANGE);
    g_assert_cmpstr(error->message, ==, "number 'h=99999999999999999999' does not fit in 64 bits");
    g_clear_error(&error);
    g_assert_cmpint(qemu_opts_get_bool(opts, "s", false, &b, &error), ==, -EINVAL);
    g_assert_cmpstr(error->message, ==,
                    "invalid boolean 's=maybe' (expected on/off, yes/no or true/false)");
}

static void
test_get_defaults(void)
{
    g_autoptr(QemuOpts) opts = NULL;
    uint64_t v = 0;
    bool b = false;

    g_assert_cmpint(qemu_opts_parse("x=1", NULL, &opts, NULL), ==, 0);
    g_assert_cmpint(qemu_opts_get_size(opts, "size", MiB, 128 * MiB, &v, NULL), ==, 0);
    g_assert_cmpuint(v, ==, 128 * MiB);
    g_assert_cmpint(qemu_opts_get_uint(opts, "cpus", 1, &v, NULL), ==, 0);
    g_assert_cmpuint(v, ==, 1);
    g_assert_cmpint(qemu_opts_get_bool(opts, "share", true, &b, NULL), ==, 0);
    g_assert_true(b);
    g_assert_cmpint(qemu_opts_get_bool(opts, "share", false, &b, NULL), ==, 0);
    g_assert_false(b);
}

static void
test_get_bool(void)
{
    static const struct {
        const char *value;
        int ret;
        bool result;
    } cases[] = {
        {"on", 0, true},    {"yes", 0, true},     {"true", 0, true},       {"off", 0, false},
        {"no", 0, false},   {"false", 0, false},  {"y", -EINVAL, 0},       {"n", -EINVAL, 0},
        {"ON", -EINVAL, 0}, {"True", -EINVAL, 0}, {"1", -EINVAL, 0},       {"0", -EINVAL, 0},
        {"", -EINVAL, 0},   {"on ", -EINVAL, 0},  {"enabled", -EINVAL, 0},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf("share=%s", cases[i].value);
        g_autoptr(QemuOpts) opts = NULL;
        g_autoptr(GError) error = NULL;
        bool b = !cases[i].result;

        g_assert_cmpint(qemu_opts_parse(text, NULL, &opts, NULL), ==, 0);
        g_assert_cmpint(qemu_opts_get_bool(opts, "share", false, &b, &error), ==, cases[i].ret);
        if (cases[i].ret == 0)
            g_assert_cmpint(b, ==, cases[i].result);
        else
            g_assert_error(error, VMMEM_ERROR, EINVAL);
    }
}

static void
test_get_uint(void)
{
    static const UintCase cases[] = {
        {"0", 0, 0},
        {"4", 0, 4},
        {"0004", 0, 4},
        {"18446744073709551615", 0, UINT64_MAX},
        {"18446744073709551616", -ERANGE, 0},
        {"99999999999999999999", -ERANGE, 0},
        {"", -EINVAL, 0},
        {"-1", -EINVAL, 0},
        {"+1", -EINVAL, 0},
        {" 1", -EINVAL, 0},
        {"1 ", -EINVAL, 0},
        {"0x10", -EINVAL, 0},
        {"1K", -EINVAL, 0},
        {"1.0", -EINVAL, 0},
        {"99999999999999999999x", -EINVAL, 0},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf("{\"cpus\":\"%s\"}", cases[i].value);
        g_autoptr(QemuOpts) opts = NULL;
        g_autoptr(GError) error = NULL;
        uint64_t v = 7;

        g_assert_cmpint(qemu_opts_parse(text, NULL, &opts, NULL), ==, 0);
        g_assert_cmpint(qemu_opts_get_uint(opts, "cpus", 1, &v, &error), ==, cases[i].ret);
        if (cases[i].ret == 0) {
            g_assert_cmpuint(v, ==, cases[i].result);
        } else {
            g_assert_error(error, VMMEM_ERROR, -cases[i].ret);
            g_assert_cmpuint(v, ==, 7);
        }
    }
}

/* A JSON number is its text, so a getter sees the same as from key=value. */
static void
test_get_json_numbers(void)
{
    g_autoptr(QemuOpts) opts = NULL;
    uint64_t v = 0;
    bool b = false;

    g_assert_cmpint(
        qemu_opts_parse("{\"size\":1099511627776,\"share\":true,\"n\":3}", NULL, &opts, NULL), ==,
        0);
    g_assert_cmpint(qemu_opts_get_size(opts, "size", 1, 0, &v, NULL), ==, 0);
    g_assert_cmpuint(v, ==, TiB);
    g_assert_cmpint(qemu_opts_get_bool(opts, "share", false, &b, NULL), ==, 0);
    g_assert_true(b);
    g_assert_cmpint(qemu_opts_get_uint(opts, "n", 0, &v, NULL), ==, 0);
    g_assert_cmpuint(v, ==, 3);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-opts/keyvalue", test_keyvalue);
    g_test_add_func("/qemu-opts/commas", test_commas);
    g_test_add_func("/qemu-opts/implied", test_implied);
    g_test_add_func("/qemu-opts/repeated", test_repeated);
    g_test_add_func("/qemu-opts/bad-keyvalue", test_bad_keyvalue);
    g_test_add_func("/qemu-opts/json", test_json);
    g_test_add_func("/qemu-opts/json-strings", test_json_strings);
    g_test_add_func("/qemu-opts/json-depth", test_json_depth);
    g_test_add_func("/qemu-opts/bad-json", test_bad_json);
    g_test_add_func("/qemu-opts/json-detection", test_json_detection);
    g_test_add_func("/qemu-opts/quote", test_quote);
    g_test_add_func("/qemu-opts/long-message", test_long_message);
    g_test_add_func("/qemu-opts/get-size", test_get_size);
    g_test_add_func("/qemu-opts/get-messages", test_get_messages);
    g_test_add_func("/qemu-opts/get-defaults", test_get_defaults);
    g_test_add_func("/qemu-opts/get-bool", test_get_bool);
    g_test_add_func("/qemu-opts/get-uint", test_get_uint);
    g_test_add_func("/qemu-opts/get-json-numbers", test_get_json_numbers);
    return g_test_run();
}
