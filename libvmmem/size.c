/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "size.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <string.h>

#include "vmmem/vmmem.h" /* vmmem_format_size() is public too */

/* Byte multipliers by suffix letter, both cases (qemu's suffix_mul()). */
static const struct {
    char suffix;
    unsigned shift;
} size_suffixes[] = {
    {'B', 0}, {'K', 10}, {'M', 20}, {'G', 30}, {'T', 40}, {'P', 50}, {'E', 60},
};

static bool
suffix_multiplier(char c, uint64_t *ret_mul)
{
    for (size_t i = 0; i < G_N_ELEMENTS(size_suffixes); i++) {
        if (g_ascii_toupper(c) == size_suffixes[i].suffix) {
            *ret_mul = UINT64_C(1) << size_suffixes[i].shift;
            return true;
        }
    }
    return false;
}

/* Decimal digits to a number; -ERANGE past 64 bits.  The caller has checked they are digits. */
static int
parse_decimal(const char *s, size_t n, uint64_t *ret)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        if (!g_uint64_checked_mul(&v, v, 10) || !g_uint64_checked_add(&v, v, s[i] - '0'))
            return -ERANGE;
    }
    *ret = v;
    return 0;
}

static int
parse_hex(const char *s, size_t n, uint64_t *ret)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        if (v >> 60)
            return -ERANGE;
        v = v << 4 | (uint64_t)g_ascii_xdigit_value(s[i]);
    }
    *ret = v;
    return 0;
}

/* round(0.DIGITS * mul), half up, computed exactly: qemu goes through a double, which is within
 * a byte of this, and a decimal fraction has no reason to depend on float rounding.  The digits
 * are multiplied by 2*mul from the right; what carries out of the leftmost digit is
 * floor(2 * fraction * mul), so one more bit gives the rounding. */
static uint64_t
scale_fraction(const char *digits, size_t n, uint64_t mul)
{
    unsigned __int128 twice = (unsigned __int128)mul * 2, carry = 0;

    for (size_t i = n; i-- > 0;)
        carry = ((unsigned __int128)(digits[i] - '0') * twice + carry) / 10;
    return (uint64_t)((carry + 1) / 2);
}

/* "0x1F": qemu reparses a number that starts with 0x as hex, with neither fraction nor suffix. */
static int
parse_hex_size(const char *text, uint64_t default_unit, uint64_t *ret)
{
    const char *digits = text + 2;
    size_t n = 0;
    uint64_t v;
    int r;

    while (g_ascii_isxdigit(digits[n]))
        n++;
    if (n == 0 || digits[n] != '\0')
        return -EINVAL;
    r = parse_hex(digits, n, &v);
    if (r < 0)
        return r;
    if (!g_uint64_checked_mul(&v, v, default_unit))
        return -ERANGE;
    *ret = v;
    return 0;
}

int
vmmem_parse_size(const char *text, uint64_t default_unit, uint64_t *ret)
{
    const char *p, *frac = NULL;
    size_t n_int, n_frac = 0;
    uint64_t mul = default_unit, whole, result;
    int r;

    if (!text || !ret || default_unit == 0)
        return -EINVAL;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        return parse_hex_size(text, default_unit, ret);

    /* Check the whole syntax first so that junk is -EINVAL even when the number is too big. */
    n_int = strspn(text, "0123456789");
    if (n_int == 0)
        return -EINVAL;
    p = text + n_int;
    if (*p == '.') {
        /* "1.K" is 1 KiB in qemu: the digits after the point are optional. */
        frac = p + 1;
        n_frac = strspn(frac, "0123456789");
        p = frac + n_frac;
    }
    if (*p != '\0' && suffix_multiplier(*p, &mul))
        p++;
    if (*p != '\0')
        return -EINVAL;

    /* Trailing zeros change nothing; dropping them lets "1.0" pass with a byte unit. */
    while (n_frac > 0 && frac[n_frac - 1] == '0')
        n_frac--;
    /* Like qemu: a fraction of a byte cannot be asked for. */
    if (n_frac > 0 && mul == 1)
        return -EINVAL;

    r = parse_decimal(text, n_int, &whole);
    if (r < 0)
        return r;
    if (!g_uint64_checked_mul(&result, whole, mul))
        return -ERANGE;
    if (n_frac > 0 && !g_uint64_checked_add(&result, result, scale_fraction(frac, n_frac, mul)))
        return -ERANGE;
    *ret = result;
    return 0;
}

char *
vmmem_format_size(uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    unsigned u = 0;
    uint64_t whole, rest, hundredths;

    while (u + 1 < G_N_ELEMENTS(units) && bytes >> (10 * (u + 1)) != 0)
        u++;
    whole = bytes >> (10 * u);
    rest = bytes - (whole << (10 * u));
    if (rest == 0)
        return g_strdup_printf("%" G_GUINT64_FORMAT " %s", whole, units[u]);

    /* rest != 0 means u >= 1; round half up to hundredths of the unit. */
    hundredths =
        (uint64_t)(((unsigned __int128)rest * 100 + (UINT64_C(1) << (10 * u - 1))) >> (10 * u));
    /* 1023.999 MiB reads better as 1.0 GiB than as 1024.0 MiB. */
    if (whole + hundredths / 100 == 1024 && u + 1 < G_N_ELEMENTS(units)) {
        u++;
        whole = 1;
        hundredths = 0;
    }
    whole += hundredths / 100;
    hundredths %= 100;
    /* Not exact, so at least one decimal, even when it rounds to .0. */
    if (hundredths % 10 == 0)
        return g_strdup_printf("%" G_GUINT64_FORMAT ".%" G_GUINT64_FORMAT " %s", whole,
                               hundredths / 10, units[u]);
    return g_strdup_printf("%" G_GUINT64_FORMAT ".%02" G_GUINT64_FORMAT " %s", whole, hundredths,
                           units[u]);
}
