#!/usr/bin/env bash
# The monitoring files against the code and a real Prometheus:
#   promtool check and test the alert rules (manifests/monitoring/
#   chat-alerts.yml, tests in tests/monitoring/alerts.test.yml); every
#   alert has a firing and a quiet case; broken copies of the rules must
#   fail their tests; the shipped Prometheus config and the dashboard pass
#   their offline checks; then drill.test.js: a real Prometheus scraping a
#   real system (BUILD_DIR's servers) during a drill.
#
#   tests/monitoring/run.sh BUILD_DIR
#
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BUILD_DIR=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
OUT_DIR=$ROOT/tests/out
MON=manifests/monitoring
RULES=$MON/chat-alerts.yml
RULE_TESTS=tests/monitoring/alerts.test.yml
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT_DIR"

# shellcheck source=tests/lib/checks.sh
. "$ROOT/tests/lib/checks.sh"

for tool in promtool prometheus python3 node; do
    if ! command -v "$tool" >/dev/null; then
        bad "$tool is not installed (./build.sh test installs Debian's prometheus)"
        echo "$PASS passed, $FAIL failed"
        exit 1
    fi
done
if [ ! -d tests/node_modules/@prometheus-io/lezer-promql ]; then
    bad "npm packages missing: run (cd tests && npm ci)"
    echo "$PASS passed, $FAIL failed"
    exit 1
fi

# --- the rules ----------------------------------------------------------
if show promtool check rules "$RULES"; then ok "promtool check rules"; else bad "promtool check rules"; fi
if show promtool test rules "$RULE_TESTS"; then ok "promtool test rules"; else bad "promtool test rules"; fi
if show node tests/monitoring/rule_cases.js "$RULES" "$RULE_TESTS"; then
    ok "every alert has a firing and a quiet case"
else
    bad "an alert lacks a firing or a quiet case"
fi

# Each broken copy of the rules must fail the unit tests: they test what
# each rule is for, not only that it parses.
rule_mutant() {
    # $1 what, $2 sed expression applied to the rules
    local dir=$WORK/mutant
    rm -rf "$dir"
    mkdir -p "$dir/tests" "$dir/manifests/monitoring"
    sed "$2" "$RULES" >"$dir/$RULES"
    cp "$RULE_TESTS" "$dir/tests/"
    if cmp -s "$dir/$RULES" "$RULES"; then
        bad "rule mutant '$1' did not change the rules"
    elif promtool test rules "$dir/tests/$(basename "$RULE_TESTS")" >/dev/null 2>&1; then
        bad "the rule tests pass with: $1"
    else
        ok "the rule tests fail with: $1"
    fi
}
rule_mutant "no gateways at all counted as ready" 's/(sum(chat_gw_redis_up) or vector(0)) == 0/sum(chat_gw_redis_up) == 0/'
rule_mutant "send handlers ready on either condition" 's/(count(chat_send_redis_up == 1 and chat_send_redis_writable == 1)/(count(chat_send_redis_up == 1 or chat_send_redis_writable == 1)/'
rule_mutant "Redis unreachable at the first failed sample" '/alert: ChatRedisUnreachable/,/for:/s/for: 1m/for: 0m/'
rule_mutant "refused writes without Redis answering" 's/expr: chat_send_redis_up == 1 and chat_send_redis_writable == 0/expr: chat_send_redis_writable == 0/'
rule_mutant "4xx counted as send errors" 's/chat_send_requests_total{status=~"5.."}/chat_send_requests_total{status=~"[45].."}/g'
rule_mutant "send errors without the rate floor" '/alert: ChatSendErrors/,/for:/s/> 0\.1$/> 0/'
rule_mutant "slow closes not relative to connections" 's/> 0.01 \* chat_gw_connections/> 0.0000001 * chat_gw_connections/'
rule_mutant "Redis errors counted as history refusals" 's/status=~"refused|limited|busy"/status=~"refused|limited|busy|error"/g'
rule_mutant "a failover remembered for 30 minutes" 's/_failovers_total\[5m\]/_failovers_total[30m]/g'

# --- the shipped Prometheus config, the dashboard, the YAML -------------
if show node tests/monitoring/lint.js config "$MON/prometheus.yml" "$WORK/prometheus.yml" &&
    show promtool check config "$WORK/prometheus.yml"; then
    ok "promtool check config $MON/prometheus.yml (Kubernetes discovery checked apart)"
else
    bad "promtool check config $MON/prometheus.yml"
fi
if show node tests/monitoring/lint.js dashboard "$MON/chat-dashboard.json"; then
    ok "the dashboard's shape and expressions"
else
    bad "the dashboard's shape and expressions"
fi
if show yamllint -f parsable -d '{extends: default, rules: {document-start: disable}}' \
    "$MON"/*.yml "$MON"/*.yaml "$RULE_TESTS"; then
    ok "yamllint"
else
    bad "yamllint"
fi

# --- a real Prometheus scraping a real system ---------------------------
export CHAT_BUILD_DIR=$BUILD_DIR CHAT_OUT_DIR=$OUT_DIR
asan_before=$(find "$OUT_DIR" -maxdepth 1 -name 'asan.*' | wc -l)
tap=$OUT_DIR/monitoring.$$.tap
node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    tests/monitoring/drill.test.js
rc=$?
# The TAP counts hold every check (the subtests) and the drill itself.
pass=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$tap" | tail -n 1)
fail=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$tap" | tail -n 1)
cancelled=$(sed -nE 's/^# cancelled ([0-9]+)$/\1/p' "$tap" | tail -n 1)
if [ -z "$fail" ]; then
    bad "node --test printed no summary (exit $rc)"
else
    PASS=$((PASS + pass))
    FAIL=$((FAIL + fail + ${cancelled:-0}))
    [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && bad "node --test exited with $rc"
fi
mv -f "$tap" "$OUT_DIR/monitoring.tap" 2>/dev/null || true
asan_after=$(find "$OUT_DIR" -maxdepth 1 -name 'asan.*' | wc -l)
if [ "$asan_after" -gt "$asan_before" ]; then
    echo "sanitizer reports in $OUT_DIR:" >&2
    find "$OUT_DIR" -maxdepth 1 -name 'asan.*' -exec cat {} + >&2
    bad "sanitizer reports"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
