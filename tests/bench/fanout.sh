#!/usr/bin/env bash
# Fan-out benchmark (issue 3): starts its own Redis, send handler, gateway
# and lighttpd on free 127.0.0.1 ports and runs the fanout load generator.
#
#   tests/bench/fanout.sh BUILD_DIR [SCENARIO...]
#   ./build.sh bench fanout            (all scenarios, about 5 minutes)
#   SCENARIO: quick | a | b | c | d | e | all
#     quick  200 clients, 50 msg/s for 4 s (smoke run)
#     a      1,000 clients through lighttpd, 100 msg/s for 10 s
#     b      1,000 clients through lighttpd, 200 msg/s for 30 s
#     c      rate sweep, 1,000 clients through lighttpd: highest rate with
#            p99 <= 100 ms and 0 lost (10 s per step)
#     d      10,000 connections on one gateway (direct), and as many as
#            lighttpd's fd limit allows through lighttpd; RSS per connection
#     e      one stalled client among 1,000 vs none, 200 msg/s for 20 s
# Full output of each run: tests/out/bench-fanout-<run>.txt.
# Environment: GEN_THREADS (2), GEN_EVLIB (uv: the generator's event loop;
# "poll" for lws' own), CHAT_HTTP_WORKERS (2 lighttpd processes),
# SWEEP_RATES ("200 300 400 500 600 800 1000 1500"), GW_ENV (extra
# VAR=VALUE words for the gateway, e.g. GW_BATCH_WINDOW_MS=10).
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || {
    say "usage: $0 BUILD_DIR [quick|a|b|c|d|e|all]..."
    exit 2
}
bench_init "$1" fanout
shift
SCENARIOS=("${@:-all}")
[ "${SCENARIOS[0]}" = all ] && SCENARIOS=(a b c d e)
GEN_THREADS=${GEN_THREADS:-2}
export GEN_EVLIB=${GEN_EVLIB:-uv}
export CHAT_HTTP_WORKERS=${CHAT_HTTP_WORKERS:-2}
read -r -a SWEEP <<<"${SWEEP_RATES:-200 300 400 500 600 800 1000 1500}"
read -r -a GW_EXTRA <<<"${GW_ENV:-}"
ROWS=()

bench_redis
bench_send 1
bench_gateways 1 "${GW_EXTRA[@]}"
bench_lighttpd
LWS_URL="ws://127.0.0.1:$HTTP_PORT/chatapp/websocket"
GW_URL="ws://127.0.0.1:${GW_PORTS[0]}/chatapp/websocket"
POST_URL="http://127.0.0.1:$HTTP_PORT/chatapp/send"

field() { sed -nE "s/^RESULT .*[ ]$1=([^ ]+).*/\1/p" <<<"$2"; }

# run NAME LABEL fanout-args...: run the generator, keep its output, add a
# table row, leave the RESULT line in $RESULT.
run() {
    local name=$1 label=$2 out
    shift 2
    local cmd=("$BUILD_DIR/bench/fanout" --threads "$GEN_THREADS"
        --post "$POST_URL" --gw-pid "${GW_PIDS[0]}" "$@")
    say "--- $label"
    say "    ${cmd[*]}"
    out=$("${cmd[@]}" 2>&1 | tee "$BENCH_OUT/bench-fanout-$name.txt") || true
    grep -v '^RESULT' <<<"$out" | grep -v '^fanout:' >&2 || true
    RESULT=$(grep '^RESULT' <<<"$out" || echo "RESULT failed=1")
    ROWS+=("$(printf '%-34s %6s %8s %9s %6s %4s %8s %8s %8s %9s %7s' \
        "$label" "$(field held "$RESULT")" "$(field posted_ok "$RESULT")" \
        "$(field received "$RESULT")" "$(field lost "$RESULT")" \
        "$(field dup "$RESULT")" "$(field p50_ms "$RESULT")" \
        "$(field p99_ms "$RESULT")" "$(field max_ms "$RESULT")" \
        "$(field dps "$RESULT")" "$(field rss_kb_per_conn "$RESULT")")")
}

scenario_quick() {
    run quick "quick: 200 cl, 50/s x 4 s" --url "$LWS_URL" --conns 200 \
        --messages 200 --rate 50
}

scenario_a() {
    run a "a: 1000 cl lighttpd 100/s x 10 s" --url "$LWS_URL" \
        --conns 1000 --messages 1000 --rate 100
}

scenario_b() {
    run b "b: 1000 cl lighttpd 200/s x 30 s" --url "$LWS_URL" \
        --conns 1000 --messages 6000 --rate 200
}

scenario_c() {
    local r best=none p99 lost
    for r in "${SWEEP[@]}"; do
        run "c$r" "c: 1000 cl lighttpd $r/s x 10 s" --url "$LWS_URL" \
            --conns 1000 --messages $((r * 10)) --rate "$r" --post-conns 64
        p99=$(field p99_ms "$RESULT")
        lost=$(field lost "$RESULT")
        if [ -z "$p99" ] || [ "$lost" != 0 ] ||
            awk -v p="$p99" 'BEGIN { exit !(p > 100) }'; then
            break
        fi
        best=$r
    done
    ROWS+=("c: highest rate with p99<=100 ms, 0 lost: $best msg/s" \
        "   (= $best x 1000 deliveries/s)")
}

scenario_d() {
    run d10k "d: 10000 cl direct, idle+10/s" --url "$GW_URL" \
        --conns 10000 --messages 50 --rate 10 --settle-ms 3000
    # lighttpd holds two sockets per proxied WebSocket and cannot go past
    # the hard fd limit (runtime.sh sizes max-connections from it); each
    # of its CHAT_HTTP_WORKERS processes has a limit of its own.
    local max=$(((($(ulimit -Hn) / 2 - 16) * CHAT_HTTP_WORKERS) / 100 * 100 - 100))
    [ "$max" -gt 10000 ] && max=10000
    run d-lighttpd "d: $max cl lighttpd, idle+10/s" --url "$LWS_URL" \
        --conns "$max" --messages 50 --rate 10 --settle-ms 3000
}

scenario_e() {
    run e0 "e: 1000 cl, 0 stalled, 200/s x 20 s" --url "$LWS_URL" \
        --conns 1000 --messages 4000 --rate 200
    local base
    base=$(field p99_ms "$RESULT")
    run e1 "e: 1000 cl, 1 stalled, 200/s x 20 s" --url "$LWS_URL" \
        --conns 1000 --messages 4000 --rate 200 --stall 1
    grep '^connections held' "$BENCH_OUT/bench-fanout-e1.txt" >&2 || true
    ROWS+=("e: p99 without stall $base ms, with one stalled client $(field p99_ms "$RESULT") ms")
}

for s in "${SCENARIOS[@]}"; do
    case "$s" in
    quick | a | b | c | d | e) "scenario_$s" ;;
    *)
        say "unknown scenario $s"
        exit 2
        ;;
    esac
done

printf '\n%-34s %6s %8s %9s %6s %4s %8s %8s %8s %9s %7s\n' run held \
    posted received lost dup p50_ms p99_ms max_ms deliv/s KiB/conn
printf '%s\n' "${ROWS[@]}"
