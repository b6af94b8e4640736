/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)

/* The page every limit is kept in: cgroup v2 rounds memory.* writes to the base page, 4 KiB on
 * x86_64, which is the only target vmmem plans for.  The one definition of the library. */
#define PAGE_BYTES (4 * KiB)

/* Parses a size the way qemu's qemu_strtosz() does: a decimal number, optionally with a fraction
 * ("1.5G"), optionally followed by one suffix B, K, M, G, T, P or E (either case, powers of 1024).
 * A number without suffix is multiplied by @default_unit (1 for -object size=, MiB for -m and
 * -numa mem=).  Leading/trailing junk, negative numbers and empty strings give -EINVAL; results
 * that do not fit in 64 bits give -ERANGE.  Like qemu, "0x1F" is read as hex (no fraction, no
 * suffix: times @default_unit), a fraction needs a unit above bytes ("1.5" with @default_unit 1
 * is -EINVAL), and fractions round to the nearest byte. */
int vmmem_parse_size(const char *text, uint64_t default_unit, uint64_t *ret);

/* "512 MiB", "1.5 GiB": for messages and explain output.  Returns a newly allocated string. */
char *vmmem_format_size(uint64_t bytes);
