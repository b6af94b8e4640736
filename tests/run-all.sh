#!/bin/bash
# The README's test command: installs what is missing, then builds and runs every test.
#   0. clang-format check
#   1. -Werror build, unit tests (pure stages, table-driven) and the fuzz corpus replay
#   2. ASan/UBSan build (clang) and the same tests under it
#   3. a short libFuzzer run of the argv parser
#   4. install, then build examples/ against the installed vmmem.pc
#   5. the integration tests inside the real-kernel test VM (suite "vm"): real cgroup v2,
#      real qemu-system-x86_64.  A VM test that cannot run fails; a skip (no /dev/kvm in the
#      test VM) counts as a failure.
# Build folders: build-ci/, build-asan/, build-fuzz/ (override the prefix with VMMEM_CI_DIR).
# Ends with one line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=${VMMEM_CI_DIR:-$top}
fuzz_seconds=${VMMEM_FUZZ_SECONDS:-60}

if [[ $(id -u) -ne 0 ]]; then
    echo "run-all: run as root (it installs packages and boots the test VM)" >&2
    exit 2
fi
tests/install-deps.sh

passed=0
failed=0
count_meson() { # BUILD_DIR
    local log="$1/meson-logs/testlog.json" p f
    [[ -f $log ]] || { failed=$((failed + 1)); return; }
    p=$(jq -s '[.[] | select(.result == "OK" or .result == "EXPECTEDFAIL")] | length' "$log")
    f=$(jq -s '[.[] | select(.result != "OK" and .result != "EXPECTEDFAIL" and .result != "SKIP")] | length' "$log")
    s=$(jq -s '[.[] | select(.result == "SKIP")] | length' "$log")
    passed=$((passed + p))
    # A skipped test is a test that did not prove anything: it counts as failed.
    failed=$((failed + f + s))
}
step() { echo; echo "=== $* ==="; }
run() { # NAME CMD...: a step that is one test
    if "${@:2}"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "run-all: FAILED: $1" >&2; fi
}

step "clang-format: one style, owned by .clang-format"
# shellcheck disable=SC2046
run clang-format clang-format --dry-run --Werror $(git ls-files '*.c' '*.h')

step "gcc -Werror build, unit tests"
rm -rf "$out/build-ci" "$out/_stage"
# The default prefix, /usr/local: vm-libvirt-apparmor installs this build inside the test VM
# the way a user does, where vmmem's AppArmor rules expect it.
meson setup "$out/build-ci" --werror >/dev/null
meson compile -C "$out/build-ci"
meson test -C "$out/build-ci" --suite unit --print-errorlogs || true
count_meson "$out/build-ci"

step "clang ASan/UBSan build, unit tests"
rm -rf "$out/build-asan"
CC=clang meson setup "$out/build-asan" --werror -Db_sanitize=address,undefined -Db_lundef=false \
    -Dvm_tests=false >/dev/null
meson compile -C "$out/build-asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    G_SLICE=always-malloc meson test -C "$out/build-asan" --suite unit --print-errorlogs || true
count_meson "$out/build-asan"

step "libFuzzer: ${fuzz_seconds}s on the argv parser"
run fuzz tests/fuzz/run-fuzz.sh "$fuzz_seconds"

step "install (staged in a DESTDIR), build examples/ against the installed vmmem.pc"
meson install -C "$out/build-ci" --quiet --destdir "$out/_stage"
run example-against-pc examples/build-against-installed.sh "$out/_stage"

step "integration tests in the real-kernel test VM"
rm -f "$out/build-ci/meson-logs/testlog.json"
meson test -C "$out/build-ci" --suite vm --print-errorlogs --num-processes 1 || true
count_meson "$out/build-ci"

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
