#!/usr/bin/env bash
# Integration tests: every tests/integration/*.test.js against the real
# system (redis-server, chat-send, chat-gateway, lighttpd) built in BUILD_DIR.
#
#   tests/integration/run.sh BUILD_DIR
#
# Environment:
#   VALGRIND=1     run chat-send and chat-gateway under valgrind; the run
#                  fails if any valgrind log reports an error or a definite
#                  leak (logs in tests/out/valgrind.integration.<pid>.log)
#   TEST_FILTER    a regular expression: only test files whose name matches
#   TEST_SKIP      a regular expression: leave out test files whose name matches
#   CHAT_TEST_CONCURRENCY  test files run at once (1: ASan servers on two
#                  cores, and several files time things)
#
# Ends with exactly one line "N passed, N failed"; exits non-zero on any
# failure.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD_DIR=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
OUT_DIR=$ROOT/tests/out
mkdir -p "$OUT_DIR"

export CHAT_BUILD_DIR=$BUILD_DIR
export CHAT_OUT_DIR=$OUT_DIR

for bin in chat-send chat-gateway; do
    if [ ! -x "$BUILD_DIR/$bin" ]; then
        echo "missing $BUILD_DIR/$bin (build it first: make BUILD=... servers)" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
done

# shellcheck source=tests/lib/valgrind.sh
. "$ROOT/tests/lib/valgrind.sh"
[ "${VALGRIND:-0}" = 1 ] && valgrind_begin "$OUT_DIR" integration

files=()
for f in tests/integration/*.test.js; do
    [ -e "$f" ] || continue
    if [ -n "${TEST_FILTER:-}" ] && ! [[ $(basename "$f") =~ $TEST_FILTER ]]; then
        continue
    fi
    if [ -n "${TEST_SKIP:-}" ] && [[ $(basename "$f") =~ $TEST_SKIP ]]; then
        continue
    fi
    files+=("$f")
done
if [ ${#files[@]} -eq 0 ]; then
    echo "no integration tests found" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

# Sanitizer reports written during this run are ours to judge.
asan_before=$(find "$OUT_DIR" -maxdepth 1 -name 'asan.*' | wc -l)

# The human-readable spec report goes to the terminal; the TAP report,
# whose "# pass N" / "# fail N" summary is the count, goes to a file.
# Per run, so that two runs at once cannot read each other's counts.
tap=$OUT_DIR/integration.$$.tap
rm -f "$tap"
rc=0
node --test --test-concurrency="${CHAT_TEST_CONCURRENCY:-1}" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    "${files[@]}" || rc=$?

pass=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$tap" 2>/dev/null | tail -n 1)
fail=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$tap" 2>/dev/null | tail -n 1)
cancelled=$(sed -nE 's/^# cancelled ([0-9]+)$/\1/p' "$tap" 2>/dev/null | tail -n 1)
pass=${pass:-0}
if [ -z "$fail" ]; then
    echo "node --test printed no summary (exit $rc)" >&2
    fail=1
fi
# A test cut off by its timeout is reported as cancelled, not failed.
fail=$((fail + ${cancelled:-0}))
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    echo "node --test exited with $rc" >&2
    fail=1
fi

asan_after=$(find "$OUT_DIR" -maxdepth 1 -name 'asan.*' | wc -l)
if [ "$asan_after" -gt "$asan_before" ]; then
    echo "sanitizer reports in $OUT_DIR:" >&2
    find "$OUT_DIR" -maxdepth 1 -name 'asan.*' -exec cat {} + >&2
    fail=$((fail + 1))
fi

if [ "${VALGRIND:-0}" = 1 ]; then
    fail=$((fail + $(valgrind_verdict "$OUT_DIR" integration)))
fi

mv -f "$tap" "$OUT_DIR/integration.tap" 2>/dev/null || true
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
