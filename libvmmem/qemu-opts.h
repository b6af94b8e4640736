/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* The value of one qemu option (-object, -device, -m, -smp, -machine, ...) as an ordered list of
 * key/value strings, whichever syntax it came in:
 *   - QemuOpts "k=v,k2=v2", where ",," is a literal comma, a leading bare value belongs to the
 *     option's implied key ("-m 2G" is size=2G, "-machine q35" is type=q35) and a bare "flag"
 *     elsewhere means flag=on ("noflag" is not special-cased);
 *   - JSON "{...}" (qemu accepts it for -object, -device, -blockdev, -netdev, -audiodev): nested
 *     objects are flattened with dots ("cache":{"direct":true} -> cache.direct=true), arrays of
 *     scalars become the values joined with commas, numbers keep their decimal text, true/false
 *     become "true"/"false", null is dropped.  An array holding objects or arrays is indexed
 *     like qemu's qdict_flatten() ("children":[{"driver":"raw"}] -> children.0.driver=raw);
 *     empty objects and arrays give no key.
 * Keys keep their order; a key may repeat (-numa node,cpus=0-1,cpus=3). */
typedef struct {
    char *key;
    char *value;
} QemuOpt;

typedef struct {
    GPtrArray *items; /* QemuOpt*, owned */
    bool json;
} QemuOpts;

/* @implied_key: the key of a leading bare value, or NULL if the option has none.
 * Malformed text (unbalanced JSON, a JSON value that is not an object, trailing garbage, empty
 * key) gives -EINVAL with a message quoting @text. Nesting deeper than 32 gives -EINVAL. */
int qemu_opts_parse(const char *text, const char *implied_key, QemuOpts **ret_opts, GError **error);
/* Empty, QemuOpts syntax. */
QemuOpts *qemu_opts_new(void);
QemuOpts *qemu_opts_free(QemuOpts *opts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuOpts, qemu_opts_free)

/* The last value given for @key (qemu's "last one wins"), or NULL. */
const char *qemu_opts_get(const QemuOpts *opts, const char *key);

/* Size-valued key: see vmmem_parse_size().  Absent key: *ret = @dflt, returns 0. */
int qemu_opts_get_size(const QemuOpts *opts, const char *key, uint64_t default_unit, uint64_t dflt,
                       uint64_t *ret, GError **error);
/* on/off/yes/no/true/false (qemu's qapi_bool_parse).  Absent key: *ret = @dflt. */
int qemu_opts_get_bool(const QemuOpts *opts, const char *key, bool dflt, bool *ret, GError **error);
/* Unsigned decimal integer.  Absent key: *ret = @dflt. */
int qemu_opts_get_uint(const QemuOpts *opts, const char *key, uint64_t dflt, uint64_t *ret,
                       GError **error);

/* Takes ownership of @key and @value. */
void qemu_opts_append(QemuOpts *opts, char *key, char *value);
