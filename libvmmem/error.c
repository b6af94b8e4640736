/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "error.h"

G_DEFINE_QUARK(vmmem-error-quark, vmmem_error)

int
vmmem_fail(GError **error, int errnum, const char *fmt, ...)
{
    va_list ap;

    g_assert(errnum > 0);
    if (error) {
        va_start(ap, fmt);
        g_autofree char *msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        g_set_error_literal(error, VMMEM_ERROR, errnum, msg);
    }
    return -errnum;
}

int
vmmem_error_errno(const GError *error)
{
    if (error && error->domain == VMMEM_ERROR && error->code > 0)
        return error->code;
    return EIO;
}
