/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* The JSON that vmmem hands out (docs/json.md, "Encoding"): pretty-printed with two-space
 * indentation, members in the order written, no trailing newline.  Every document is built
 * through this writer so that the explain and calibrate contracts format alike and an envelope
 * can be nested in a calibration as it stands. */

typedef struct {
    GString *out;
    unsigned depth;
    bool first; /* nothing written yet in the innermost object or array */
} JsonWriter;

/* Starts a document; json_writer_finish() hands back its text (free with g_free()). */
void json_writer_init(JsonWriter *w);
char *json_writer_finish(JsonWriter *w);

void json_begin_object(JsonWriter *w);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w);
void json_end_array(JsonWriter *w);

/* The next member of an object: call one value function (or begin_*) after it. */
void json_key(JsonWriter *w, const char *key);
/* The next element of an array. */
void json_element(JsonWriter *w);

void json_u64(JsonWriter *w, uint64_t v);
/* Fixed-point with two decimals ("1.49"); the callers' ratios need no more. */
void json_ratio(JsonWriter *w, double v);
void json_bool(JsonWriter *w, bool v);
void json_null(JsonWriter *w);
/* RFC 8259 escaping; NULL is written as null; a byte that is not valid UTF-8 as \ufffd. */
void json_string(JsonWriter *w, const char *s);

/* Members: key and value in one call. */
void json_member_u64(JsonWriter *w, const char *key, uint64_t v);
/* @v, or null when @on is false. */
void json_member_u64_or_null(JsonWriter *w, const char *key, bool on, uint64_t v);
/* json_ratio(@v), or null when @on is false. */
void json_member_ratio_or_null(JsonWriter *w, const char *key, bool on, double v);
void json_member_bool(JsonWriter *w, const char *key, bool v);
void json_member_str(JsonWriter *w, const char *key, const char *v);
