/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "error.h"

#include <stdint.h>
#include <string.h>

#include "quote.h"

/* clang-format would space the quark's name into "vmmem - error - quark". */
/* clang-format off */
G_DEFINE_QUARK(vmmem-error-quark, vmmem_error)
/* clang-format on */

/* Messages quote hostile input (argv, config, names); whatever it holds, a message stays one
 * printable line, by the rule of every quoted value (quote.h), uncut. */
static char *
one_line(char *msg)
{
    char *line = quote_for_message(msg, SIZE_MAX);

    g_free(msg);
    return line;
}

int
vmmem_fail(GError **error, int errnum, const char *fmt, ...)
{
    va_list ap;

    /* A caller that passes errno after a call that did not set it must not take the host
     * process down: an unknown cause is an I/O error. */
    if (errnum <= 0)
        errnum = EIO;
    if (error) {
        va_start(ap, fmt);
        g_autofree char *msg = one_line(g_strdup_vprintf(fmt, ap));
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

static const struct {
    GFileError code;
    int errnum;
} file_errors[] = {
    {G_FILE_ERROR_NOENT, ENOENT},
    {G_FILE_ERROR_ACCES, EACCES},
    {G_FILE_ERROR_PERM, EPERM},
    {G_FILE_ERROR_ISDIR, EISDIR},
    {G_FILE_ERROR_NOTDIR, ENOTDIR},
    {G_FILE_ERROR_LOOP, ELOOP},
    {G_FILE_ERROR_NAMETOOLONG, ENAMETOOLONG},
    {G_FILE_ERROR_NOMEM, ENOMEM},
    {G_FILE_ERROR_NXIO, ENXIO},
    {G_FILE_ERROR_NODEV, ENODEV},
    {G_FILE_ERROR_MFILE, EMFILE},
    {G_FILE_ERROR_NFILE, ENFILE},
    {G_FILE_ERROR_ROFS, EROFS},
};

int
vmmem_errno_from_file_error(const GError *error)
{
    for (size_t i = 0; error->domain == G_FILE_ERROR && i < G_N_ELEMENTS(file_errors); i++) {
        if (error->code == (int)file_errors[i].code)
            return file_errors[i].errnum;
    }
    return EIO;
}
