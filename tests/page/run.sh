#!/bin/bash
# Unit tests of the page's pure JavaScript (htdocs/core/*.js) under
# node:test: no server, no browser. Usage: tests/page/run.sh
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/tests/out
mkdir -p "$out"
log=$out/page.tap.$$

node --test --test-reporter=tap "$here"/*.test.js 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

pass=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
fail=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
rm -f "$log"
pass=${pass:-0}
fail=${fail:-0}
# node itself failing (no summary) is a failure too.
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
