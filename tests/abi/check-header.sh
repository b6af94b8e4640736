#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-header.sh INCLUDE-DIR
#
# The public header compiles on its own, warning-free under -pedantic, in the C dialects a
# consumer may build with and in C++ (the extern "C" block), without the build's own flags or
# -DVMMEM_COMPILATION: a manager includes <vmmem/vmmem.h> and nothing else.  $CC (default cc) and
# $CXX (default c++, skipped when missing) pick the compilers.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 INCLUDE-DIR" >&2
    exit 2
fi
inc=$1
cc=${CC:-cc}
cxx=${CXX:-c++}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ran=0

# The header first, so that anything it forgets to include shows; then a use of each kind of
# declaration it makes (types, constants, the cleanup helpers) so that they are compiled too.
cat >"$tmp/use.c" <<'EOT'
#include <vmmem/vmmem.h>

int vmmem_header_check(const vmmem_envelope *envelope);

int vmmem_header_check(const vmmem_envelope *envelope)
{
    vmmem_scope *none = NULL;
    vmmem_calibration *no_calibration = NULL;
    unsigned flags = VMMEM_CONFIG_IGNORE_ENV | VMMEM_CONFIG_NO_FILE | VMMEM_SCOPE_DRY_RUN |
                     VMMEM_SCOPE_CALIBRATE | VMMEM_SCOPE_DESTROY_KILL;

    vmmem_scope_freep(&none);
    vmmem_calibration_freep(&no_calibration);
    return vmmem_envelope_get_memory_high(envelope) == VMMEM_LIMIT_MAX && flags != 0;
}
EOT
cp "$tmp/use.c" "$tmp/use.cpp"

# Not C89 nor C++98: the header's enums end with a comma, which -pedantic refuses there.
check() {
    ran=$((ran + 1))
    if "$@" -Wall -Wextra -Werror -pedantic -fsyntax-only -I "$inc" 2>"$tmp/err"; then
        echo "ok: $*"
    else
        echo "FAIL: $*" >&2
        cat "$tmp/err" >&2
        fail=1
    fi
}

# $CC and $CXX may be commands with arguments ("ccache cc"): they are split on purpose.
# shellcheck disable=SC2086
{
    if command -v "${cc%% *}" >/dev/null 2>&1; then
        for std in c99 c11 c17; do
            check $cc -std=$std -Wstrict-prototypes -Wmissing-prototypes "$tmp/use.c"
        done
    fi
    if command -v "${cxx%% *}" >/dev/null 2>&1; then
        for std in c++11 c++17; do
            check $cxx -std=$std "$tmp/use.cpp"
        done
    fi
}

if [ "$ran" -eq 0 ]; then
    echo "SKIP: neither '$cc' nor '$cxx' is available"
    exit 77
fi
exit "$fail"
