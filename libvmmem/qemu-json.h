/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/* A JSON object option value (qemu accepts one for -object, -device, -blockdev, -netdev,
 * -audiodev), flattened the way qemu-opts.h describes: *ret_pairs holds key, value, key,
 * value... (owned strings).  Malformed text: -EINVAL with a message quoting @text. */
int qemu_json_flatten(const char *text, GPtrArray **ret_pairs, GError **error);
