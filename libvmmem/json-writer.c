/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json-writer.h"

void
json_writer_init(JsonWriter *w)
{
    w->out = g_string_new(NULL);
    w->depth = 0;
    w->first = true;
}

char *
json_writer_finish(JsonWriter *w)
{
    return g_string_free(g_steal_pointer(&w->out), FALSE);
}

/* Members are written with the separator of the one before them, so the last needs no fixup. */
static void
next_line(JsonWriter *w)
{
    g_string_append_printf(w->out, "%s\n%*s", w->first ? "" : ",", (int)(2 * w->depth), "");
    w->first = false;
}

static void
begin(JsonWriter *w, char open)
{
    g_string_append_c(w->out, open);
    w->depth++;
    w->first = true;
}

static void
end(JsonWriter *w, char close)
{
    w->depth--;
    /* An empty one stays on its line: "[]". */
    if (!w->first)
        g_string_append_printf(w->out, "\n%*s", (int)(2 * w->depth), "");
    g_string_append_c(w->out, close);
    w->first = false;
}

void
json_begin_object(JsonWriter *w)
{
    begin(w, '{');
}

void
json_end_object(JsonWriter *w)
{
    end(w, '}');
}

void
json_begin_array(JsonWriter *w)
{
    begin(w, '[');
}

void
json_end_array(JsonWriter *w)
{
    end(w, ']');
}

void
json_key(JsonWriter *w, const char *key)
{
    next_line(w);
    json_string(w, key);
    g_string_append(w->out, ": ");
}

void
json_element(JsonWriter *w)
{
    next_line(w);
}

void
json_u64(JsonWriter *w, uint64_t v)
{
    g_string_append_printf(w->out, "%" G_GUINT64_FORMAT, v);
}

void
json_ratio(JsonWriter *w, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    /* Locale-independent: a decimal comma would not be JSON. */
    g_string_append(w->out, g_ascii_formatd(buf, sizeof(buf), "%.2f", v));
}

void
json_bool(JsonWriter *w, bool v)
{
    g_string_append(w->out, v ? "true" : "false");
}

void
json_null(JsonWriter *w)
{
    g_string_append(w->out, "null");
}

void
json_string(JsonWriter *w, const char *s)
{
    GString *out = w->out;

    if (!s) {
        json_null(w);
        return;
    }
    g_string_append_c(out, '"');
    for (const char *p = s; *p;) {
        unsigned char c = (unsigned char)*p;
        const char *next;

        if (c == '"' || c == '\\') {
            g_string_append_printf(out, "\\%c", c);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            g_string_append_printf(out, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            g_string_append_c(out, (char)c);
            p++;
        } else if (g_utf8_get_char_validated(p, -1) < (gunichar)-2) {
            next = g_utf8_next_char(p);
            g_string_append_len(out, p, next - p);
            p = next;
        } else {
            /* A VM name is bytes; JSON is UTF-8. */
            g_string_append(out, "\\ufffd");
            p++;
        }
    }
    g_string_append_c(out, '"');
}

void
json_member_u64(JsonWriter *w, const char *key, uint64_t v)
{
    json_key(w, key);
    json_u64(w, v);
}

void
json_member_u64_or_null(JsonWriter *w, const char *key, bool on, uint64_t v)
{
    json_key(w, key);
    if (on)
        json_u64(w, v);
    else
        json_null(w);
}

void
json_member_ratio_or_null(JsonWriter *w, const char *key, bool on, double v)
{
    json_key(w, key);
    if (on)
        json_ratio(w, v);
    else
        json_null(w);
}

void
json_member_bool(JsonWriter *w, const char *key, bool v)
{
    json_key(w, key);
    json_bool(w, v);
}

void
json_member_str(JsonWriter *w, const char *key, const char *v)
{
    json_key(w, key);
    json_string(w, v);
}
