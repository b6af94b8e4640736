/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The error helpers: one printable line whatever the input, an errno always, never an abort. */
#include <errno.h>
#include <glib.h>

#include "error.h"

static void
test_quark_name(void)
{
    g_assert_cmpstr(g_quark_to_string(VMMEM_ERROR), ==, "vmmem-error-quark");
}

/* errno after a call that did not set it is 0: the host process must not abort on it. */
static void
test_errno_zero(void)
{
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(vmmem_fail(&error, 0, "cannot %s", "guess"), ==, -EIO);
    g_assert_error(error, VMMEM_ERROR, EIO);
    g_assert_cmpint(vmmem_fail(NULL, -3, "negative"), ==, -EIO);
}

static void
test_one_line(void)
{
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(vmmem_fail(&error, EINVAL, "bad '%s'", "a\nb\x7f"), ==, -EINVAL);
    g_assert_cmpstr(error->message, ==, "bad 'a\\x0ab\\x7f'");
    g_assert_cmpint(vmmem_error_errno(error), ==, EINVAL);
    g_assert_cmpint(vmmem_error_errno(NULL), ==, EIO);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/error/quark-name", test_quark_name);
    g_test_add_func("/error/errno-zero", test_errno_zero);
    g_test_add_func("/error/one-line", test_one_line);
    return g_test_run();
}
