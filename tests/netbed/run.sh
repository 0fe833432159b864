#!/usr/bin/env bash
# The multi-node bed and its drills (tests/netbed/main.js), as root:
# every part on its own network namespace, clock and resolver, faults
# injected between them. Ends with one line "N passed, N failed".
#
#   tests/netbed/run.sh BUILD_DIR [DRILL...]    e.g. build/asan 4  or  build/asan presence
#
# Environment:
#   NETBED_HOLD=S   keep the bed up S seconds after each drill (to look around)
#
# The unit tests of the bed's pure parts (tests/netbed/unit/*.test.js) run
# first; the runner's output is also kept in tests/out/netbed.out and
# every server's log in tests/out/netbed/NODE.PART.log. One run at a time per machine (a lock in /run); whatever a dead
# run left (namespaces cnb-*, /etc/netns/cnb-*, their processes) is
# removed before, and the run refuses to start if that fails. The same
# sweep runs after the drills, also when this script is interrupted.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BUILD_DIR=$(cd "${1:?usage: run.sh BUILD_DIR [DRILL...]}" && pwd) || exit 1
shift
OUT_DIR=$ROOT/tests/out
mkdir -p "$OUT_DIR"

fail_early() {
    echo "$*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail_early "the bed needs root (network and time namespaces)"
for bin in chat-send chat-gateway; do
    [ -x "$BUILD_DIR/$bin" ] || fail_early "missing $BUILD_DIR/$bin (build it first)"
done
for tool in ip iptables-restore tc unshare lighttpd redis-server redis-cli curl getent; do
    command -v "$tool" >/dev/null || fail_early "missing $tool (./build.sh test installs it)"
done
[ -d tests/node_modules/ws ] || fail_early "tests/node_modules missing: run (cd tests && npm ci)"

exec 9>/run/chat-netbed.lock
flock -w 300 9 || fail_early "another netbed run held /run/chat-netbed.lock for 5 minutes"

PASS=0
FAIL=0
add_counts() {
    # $1: output whose last line is "N passed, N failed"
    local line
    line=$(tail -n 1 <<<"$1")
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        PASS=$((PASS + BASH_REMATCH[1]))
        FAIL=$((FAIL + BASH_REMATCH[2]))
        return 0
    fi
    return 1
}

tap=$OUT_DIR/netbed-unit.$$.tap
node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" tests/netbed/unit/*.test.js
unit_rc=$?
unit_pass=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$tap" | tail -n 1)
unit_fail=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$tap" | tail -n 1)
rm -f "$tap"
PASS=$((PASS + ${unit_pass:-0}))
FAIL=$((FAIL + ${unit_fail:-1}))
[ "$unit_rc" -ne 0 ] && [ "${unit_fail:-1}" -eq 0 ] && FAIL=$((FAIL + 1))

asan_before=$(find "$OUT_DIR" -maxdepth 1 -name 'asan.*' | wc -l)
log=$OUT_DIR/netbed.out
: >"$log"
node tests/netbed/main.js "$BUILD_DIR" "$OUT_DIR" "$@" >"$log" 2>&1 &
runner=$!
tail -n +1 -f --pid="$runner" "$log" &
tailer=$!
stop_runner() {
    # A non-interactive shell starts background jobs with SIGINT ignored,
    # so the runner gets SIGTERM; its handler removes the bed.
    kill -TERM "$runner" 2>/dev/null
}
trap stop_runner INT TERM
wait "$runner"
rc=$?
# A trapped signal ends the wait early: wait for the runner's own exit.
while kill -0 "$runner" 2>/dev/null; do
    wait "$runner"
    rc=$?
done
trap - INT TERM
wait "$tailer"

# Last resort (the runner was killed outright): the same sweep it runs.
left=$(node -e 'const n=require("./tests/netbed/net");const l=n.leftovers().length?n.sweep():[];console.log(l.join("; "))')
if [ -n "$left" ]; then
    echo "FAIL netbed left behind: $left"
    FAIL=$((FAIL + 1))
fi

out=$(cat "$log")
if ! add_counts "$out"; then
    echo "the bed's runner printed no summary (exit $rc)"
    FAIL=$((FAIL + 1))
elif [ "$rc" -ne 0 ] && [[ $(tail -n 1 <<<"$out") =~ \ 0\ failed$ ]]; then
    echo "the bed's runner exited $rc"
    FAIL=$((FAIL + 1))
fi

asan_after=$(find "$OUT_DIR" -maxdepth 1 -name 'asan.*' | wc -l)
if [ "$asan_after" -gt "$asan_before" ]; then
    echo "sanitizer reports in $OUT_DIR:" >&2
    find "$OUT_DIR" -maxdepth 1 -name 'asan.*' -exec cat {} + >&2
    FAIL=$((FAIL + 1))
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
