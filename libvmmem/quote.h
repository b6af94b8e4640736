/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Text from a command line or a file, fit for a one-line message: control bytes (and, in text
 * that is not UTF-8, every byte above 0x7f) as \xNN, cut to at most @max bytes with "..." at
 * the end, never inside a UTF-8 character.  The one quoting rule of every message that shows
 * what the user gave. */
char *quote_for_message(const char *text, size_t max);

/* The usual @max: a value or an option, with room for the rest of the line. */
#define QUOTE_MAX 80
