/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "quote.h"

#include <glib.h>
#include <stdbool.h>
#include <string.h>

char *
quote_for_message(const char *text, size_t max)
{
    size_t len = strlen(text), keep = len;
    bool cut = len > max, utf8;
    GString *s;

    if (cut) {
        keep = max - 3;
        /* Do not split a UTF-8 sequence: back up to the start of the character. */
        while (keep > 0 && ((guchar)text[keep] & 0xc0) == 0x80)
            keep--;
    }
    /* Messages are UTF-8; bytes that are not are shown escaped like control bytes. */
    utf8 = g_utf8_validate(text, (gssize)keep, NULL);
    s = g_string_sized_new(keep + 8);
    for (size_t i = 0; i < keep; i++) {
        guchar c = (guchar)text[i];

        if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
            g_string_append_printf(s, "\\x%02x", c);
        else
            g_string_append_c(s, (char)c);
    }
    if (cut)
        g_string_append(s, "...");
    return g_string_free(s, FALSE);
}
