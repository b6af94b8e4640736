/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <glib.h>

/* Internal errors travel as GError in the VMMEM_ERROR domain whose code is a positive errno.
 * Fallible internal functions return 0 or -errno and fill @error; the public boundary turns the
 * GError into a vmmem_error (vmmem.c). */
#define VMMEM_ERROR (vmmem_error_quark())
GQuark vmmem_error_quark(void);

/* Sets *error (if @error) and returns -@errnum, so callers can write
 * `return vmmem_fail(error, EINVAL, "...")`. */
int vmmem_fail(GError **error, int errnum, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* The errno carried by @error, EIO when it is not ours. */
int vmmem_error_errno(const GError *error);

/* The errno behind a G_FILE_ERROR (g_file_get_contents()), EIO for any other.  Callers word the
 * message themselves: GLib's says "open" for every failure and quotes the path its own way. */
int vmmem_errno_from_file_error(const GError *error);
