/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>

#include "size.h"

#define PiB (UINT64_C(1) << 50)
#define EiB (UINT64_C(1) << 60)

typedef struct {
    const char *text;
    uint64_t unit;
    int ret;
    uint64_t bytes;
} SizeCase;

static void
check_sizes(const SizeCase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const SizeCase *c = &cases[i];
        uint64_t v = 0xdeadbeef;
        int r;

        g_test_message("\"%s\" unit %" G_GUINT64_FORMAT, c->text, c->unit);
        r = vmmem_parse_size(c->text, c->unit, &v);
        g_assert_cmpint(r, ==, c->ret);
        if (r == 0)
            g_assert_cmpuint(v, ==, c->bytes);
        else
            g_assert_cmpuint(v, ==, 0xdeadbeef);
    }
}

static void
test_suffixes(void)
{
    static const SizeCase cases[] = {
        {"0", 1, 0, 0},          {"123", 1, 0, 123},        {"1B", 1, 0, 1},
        {"1b", 1, 0, 1},         {"1K", 1, 0, KiB},         {"1k", 1, 0, KiB},
        {"1M", 1, 0, MiB},       {"1m", 1, 0, MiB},         {"1G", 1, 0, GiB},
        {"1g", 1, 0, GiB},       {"1T", 1, 0, TiB},         {"1t", 1, 0, TiB},
        {"1P", 1, 0, PiB},       {"1p", 1, 0, PiB},         {"1E", 1, 0, EiB},
        {"1e", 1, 0, EiB},       {"512M", 1, 0, 512 * MiB}, {"4096k", 1, 0, 4 * MiB},
        {"007G", 1, 0, 7 * GiB}, {"2G", MiB, 0, 2 * GiB},   {"512B", MiB, 0, 512},
    };

    check_sizes(cases, G_N_ELEMENTS(cases));
}

static void
test_default_unit(void)
{
    static const SizeCase cases[] = {
        {"1024", MiB, 0, GiB},
        {"1", MiB, 0, MiB},
        {"0", MiB, 0, 0},
        {"4096", 1, 0, 4096},
        {"3", KiB, 0, 3 * KiB},
        {"10", 1000, 0, 10000},
        {"0x10", MiB, 0, 16 * MiB},
        {"0X1f", 1, 0, 31},
        {"0x", 1, -EINVAL, 0},
        {"0x1G", 1, -EINVAL, 0},
        {"0x1.5", MiB, -EINVAL, 0},
        {"0x1g", 1, -EINVAL, 0},
        {"0xfffffffffffffffff", 1, -ERANGE, 0},
        {"0x1000000000000", MiB, -ERANGE, 0},
    };

    check_sizes(cases, G_N_ELEMENTS(cases));
}

static void
test_fractions(void)
{
    static const SizeCase cases[] = {
        {"1.5G", 1, 0, GiB + 512 * MiB},
        {"1.5g", 1, 0, GiB + 512 * MiB},
        {"0.5K", 1, 0, 512},
        {"0.25M", 1, 0, 256 * KiB},
        {"1.5", MiB, 0, MiB + 512 * KiB},
        {"1.0", 1, 0, 1},
        {"1.000", 1, 0, 1},
        {"1.", MiB, 0, MiB},
        {"1.K", 1, 0, KiB},
        /* 0.1 KiB = 102.4 bytes; 0.0005 KiB = 0.512 bytes: rounded half up. */
        {"0.1K", 1, 0, 102},
        {"0.0005K", 1, 0, 1},
        {"0.00048828125K", 1, 0, 1},
        {"0.000488281249K", 1, 0, 0},
        {"2.75T", 1, 0, 2 * TiB + 768 * GiB},
        {"15.5E", 1, 0, 15 * EiB + EiB / 2},
        {"0.999999999999999999999E", 1, 0, EiB},
        /* No fraction of a byte. */
        {"1.5", 1, -EINVAL, 0},
        {"1.5B", 1, -EINVAL, 0},
        {"1.5b", MiB, -EINVAL, 0},
        {".5G", 1, -EINVAL, 0},
        {"1.5e3", 1, -EINVAL, 0},
        {"1..5G", 1, -EINVAL, 0},
        {"1.5.G", 1, -EINVAL, 0},
    };

    check_sizes(cases, G_N_ELEMENTS(cases));
}

static void
test_invalid(void)
{
    static const SizeCase cases[] = {
        {"", 1, -EINVAL, 0},
        {"G", 1, -EINVAL, 0},
        {"12Q", 1, -EINVAL, 0},
        {"-1", 1, -EINVAL, 0},
        {"-1G", 1, -EINVAL, 0},
        {"+1", 1, -EINVAL, 0},
        {" 1G", 1, -EINVAL, 0},
        {"1G ", 1, -EINVAL, 0},
        {"1 G", 1, -EINVAL, 0},
        {"1GB", 1, -EINVAL, 0},
        {"1KiB", 1, -EINVAL, 0},
        {"1GG", 1, -EINVAL, 0},
        {"abc", 1, -EINVAL, 0},
        {"1,5G", 1, -EINVAL, 0},
        {"1e3", 1, -EINVAL, 0},
        {"inf", 1, -EINVAL, 0},
        {"1\n", 1, -EINVAL, 0},
        /* Junk wins over range: the text is not a size at all. */
        {"99999999999999999999Q", 1, -EINVAL, 0},
        {"1", 0, -EINVAL, 0},
    };

    check_sizes(cases, G_N_ELEMENTS(cases));
}

static void
test_overflow(void)
{
    static const SizeCase cases[] = {
        {"18446744073709551615", 1, 0, UINT64_MAX},
        {"18446744073709551615B", 1, 0, UINT64_MAX},
        {"18446744073709551616", 1, -ERANGE, 0},
        {"99999999999999999999", 1, -ERANGE, 0},
        {"99999999999999999999999999999999999999999", 1, -ERANGE, 0},
        {"18446744073709551615k", 1, -ERANGE, 0},
        {"18014398509481983k", 1, 0, UINT64_MAX - 1023},
        {"18014398509481984k", 1, -ERANGE, 0},
        {"17592186044415M", 1, 0, UINT64_MAX - MiB + 1},
        {"17592186044416M", 1, -ERANGE, 0},
        {"17592186044416", MiB, -ERANGE, 0},
        {"17179869183G", 1, 0, UINT64_MAX - GiB + 1},
        {"17179869184G", 1, -ERANGE, 0},
        {"16E", 1, -ERANGE, 0},
        {"15E", 1, 0, 15 * EiB},
        {"15.9999999999999999999E", 1, -ERANGE, 0},
        {"15.999999999999999999E", 1, 0, UINT64_MAX},
        {"16383.9999999P", 1, 0, UINT64_MAX - 112589990},
        {"16384P", 1, -ERANGE, 0},
        {"16777216T", 1, -ERANGE, 0},
        {"17179869184", GiB, -ERANGE, 0},
    };

    check_sizes(cases, G_N_ELEMENTS(cases));
}

static void
test_format(void)
{
    static const struct {
        uint64_t bytes;
        const char *text;
    } cases[] = {
        {0, "0 B"},
        {1, "1 B"},
        {123, "123 B"},
        {1023, "1023 B"},
        {KiB, "1 KiB"},
        {1536, "1.5 KiB"},
        {1025, "1.0 KiB"},
        {1034, "1.01 KiB"},
        {512 * MiB, "512 MiB"},
        {GiB + 512 * MiB, "1.5 GiB"},
        {GiB + 256 * MiB, "1.25 GiB"},
        {GiB + 100 * MiB, "1.1 GiB"},
        {2 * GiB, "2 GiB"},
        {3 * TiB, "3 TiB"},
        {PiB, "1 PiB"},
        {EiB, "1 EiB"},
        {15 * EiB, "15 EiB"},
        {GiB - 1, "1.0 GiB"},
        {MiB - 1, "1.0 MiB"},
        {1023 * MiB + 1, "1023.0 MiB"},
        {UINT64_MAX, "16.0 EiB"},
        {8 * GiB + 3 * MiB, "8.0 GiB"},
        {8 * GiB + 30 * MiB, "8.03 GiB"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *s = vmmem_format_size(cases[i].bytes);

        g_assert_cmpstr(s, ==, cases[i].text);
    }
}

/* Whatever format prints without a fraction parses back to the same bytes. */
static void
test_roundtrip(void)
{
    static const uint64_t values[] = {0, 1, 4096, 512 * MiB, 3 * GiB, 7 * TiB, 2 * PiB, 15 * EiB};

    for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
        g_autofree char *s = vmmem_format_size(values[i]);
        g_autofree char *compact = NULL;
        char **parts = g_strsplit(s, " ", 2);
        uint64_t v;

        compact = g_strdup_printf("%s%c", parts[0], parts[1][0]);
        g_strfreev(parts);
        g_assert_cmpint(vmmem_parse_size(compact, 1, &v), ==, 0);
        g_assert_cmpuint(v, ==, values[i]);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/size/suffixes", test_suffixes);
    g_test_add_func("/size/default-unit", test_default_unit);
    g_test_add_func("/size/fractions", test_fractions);
    g_test_add_func("/size/invalid", test_invalid);
    g_test_add_func("/size/overflow", test_overflow);
    g_test_add_func("/size/format", test_format);
    g_test_add_func("/size/roundtrip", test_roundtrip);
    return g_test_run();
}
