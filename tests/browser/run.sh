#!/bin/bash
# Browser tests: Debian's Chromium (driven by npm playwright-core) against
# the real system. Usage: tests/browser/run.sh [BUILD_DIR]
# VALGRIND=1 runs chat-send and chat-gateway under valgrind, as
# tests/integration/run.sh does.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/asan}
CHAT_BUILD_DIR=$(cd "$build" && pwd) || {
    echo "no build folder: $build"
    echo "0 passed, 1 failed"
    exit 1
}
export CHAT_BUILD_DIR
out=$root/tests/out/browser
mkdir -p "$out"
rm -f "$out"/*.png

# shellcheck source=tests/lib/valgrind.sh
. "$root/tests/lib/valgrind.sh"
[ "${VALGRIND:-0}" = 1 ] && valgrind_begin "$root/tests/out" browser

log=$out/tap.log
(cd "$root/tests" && node --test --test-reporter=tap --test-concurrency=1 \
    "$here"/*.test.js) 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

pass=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
fail=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
pass=${pass:-0}
fail=${fail:-0}
# node itself failing (no summary) is a failure too.
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1
fi
if [ "${VALGRIND:-0}" = 1 ]; then
    fail=$((fail + $(valgrind_verdict "$root/tests/out" browser)))
fi
echo "screenshots: $out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
