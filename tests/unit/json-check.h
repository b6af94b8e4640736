/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdint.h>

/* Whether *p starts with one well-formed JSON value (RFC 8259); *p is moved past it. */
gboolean json_value(const char **p, int depth);
/* @json is one well-formed value, UTF-8, with nothing after it. */
void assert_json_valid(const char *json);
/* docs/json.md: top-level keys sit at two spaces of indentation, so "\n  \"key\": " matches the
 * top level only.  The text after it; the key must be there exactly once. */
const char *json_top_value(const char *json, const char *key);
void assert_json_u64_or_null(const char *json, const char *key, gboolean present, uint64_t v);
