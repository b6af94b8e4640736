#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: tests/fuzz/run-fuzz.sh [SECONDS]
#
# Builds fuzz-qemu-argv in its own clang tree (build-fuzz, or $FUZZ_BUILDDIR) with the whole
# library instrumented, then fuzzes for SECONDS (default 60) on a scratch copy of the seed corpus,
# so the checked-in corpus only changes by hand.  Exits non-zero on any crash, leak or sanitizer
# report; the input that did it is kept under $FUZZ_BUILDDIR/fuzz-artifacts/.
set -eu

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS]" >&2
    exit 2
    ;;
esac

src=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${FUZZ_BUILDDIR:-$src/build-fuzz}

if [ ! -f "$builddir/build.ninja" ]; then
    # fuzzer-no-link on everything: libFuzzer's coverage feedback has to come from the parsers.
    CC=clang meson setup "$builddir" "$src" \
        -Dfuzzing=true \
        -Dvm_tests=false \
        -Db_sanitize=address,undefined \
        -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link
fi
meson compile -C "$builddir" tests/fuzz/fuzz-qemu-argv tests/fuzz/fuzz-oom-report

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$src/tests/fuzz/corpus" "$work/corpus"
cp -R "$src/tests/fuzz/corpus-oom" "$work/corpus-oom"
artifacts=$builddir/fuzz-artifacts
mkdir -p "$artifacts"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export G_DEBUG=fatal-warnings

"$builddir/tests/fuzz/fuzz-qemu-argv" \
    -max_total_time="$seconds" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    "$work/corpus"

# The OOM report parser (`vmmem why --kmsg`), a quarter of the time.
"$builddir/tests/fuzz/fuzz-oom-report" \
    -max_total_time="$(((seconds + 3) / 4))" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    "$work/corpus-oom"
