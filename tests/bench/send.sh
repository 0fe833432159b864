#!/usr/bin/env bash
# Send path benchmark (issue 4): starts its own Redis, send handlers and
# lighttpd on free 127.0.0.1 ports and drives POST /chatapp/send with wrk.
#
#   tests/bench/send.sh BUILD_DIR [quick]
#   ./build.sh bench send
# For each setup ("processes x threads") prints requests/s, p50/p99 latency
# and the count of non-2xx answers and socket errors.
# Environment: WRK_CONNS (32), WRK_SECONDS (10), WRK_BODY (urlencoded |
# multipart), SEND_SETUPS ("1x2 1x4 2x2 2x4 1x4u 2x2u": processes x
# threads, "u" for FastCGI over Unix sockets), PROFILE=1 (record the whole
# machine with perf during one extra run of the last setup and print where
# the CPU time goes), BENCH_GATEWAY=1 (also run one gateway subscribed to
# the channel, as in production), BENCH_WAIT=1 (issue 13: one replica,
# and every send WAITs for it, SEND_MIN_REPLICAS=1; with
# BENCH_MIN_REPLICAS=0 the replica stays but nobody WAITs, which splits
# what replication costs from what waiting for it costs).
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || {
    say "usage: $0 BUILD_DIR [quick]"
    exit 2
}
bench_init "$1" send
CONNS=${WRK_CONNS:-32}
SECONDS_RUN=${WRK_SECONDS:-10}
read -r -a SETUPS <<<"${SEND_SETUPS:-1x2 1x4 2x2 2x4 1x4u 2x2u}"
if [ "${2:-}" = quick ]; then
    SECONDS_RUN=3
    SETUPS=(1x2)
fi
LUA="$BENCH_ROOT/tests/bench/send.lua"
bench_redis
WAIT_ENV=()
if [ "${BENCH_WAIT:-0}" = 1 ]; then
    free_port
    mkdir -p "$BENCH_TMP/replica"
    spawn replica redis-server --port "$PORT" --bind 127.0.0.1 \
        --dir "$BENCH_TMP/replica" --appendonly yes --save '' \
        --replicaof 127.0.0.1 "$REDIS_PORT" --daemonize no
    wait_port "$PORT"
    until redis-cli -p "$PORT" info replication |
        grep -q '^master_link_status:up'; do sleep 0.05; done
    WAIT_ENV=("SEND_MIN_REPLICAS=${BENCH_MIN_REPLICAS:-1}")
fi
ROWS=()

field() { sed -nE "s/^WRKRESULT(.* )?$1=([^ ]+).*/\2/p" <<<"$2"; }

start_setup() {
    local procs=$1 threads=$2
    bench_send "$procs" SEND_THREADS="$threads" "${WAIT_ENV[@]}"
    if [ "${BENCH_GATEWAY:-0}" = 1 ]; then
        bench_gateways 1
    fi
    bench_lighttpd
}

# wrk against the current lighttpd; output kept in tests/out.
drive() {
    local name=$1 secs=$2
    local cmd=(wrk -t2 -c"$CONNS" -d"${secs}s" --latency -s "$LUA"
        "http://127.0.0.1:$HTTP_PORT/chatapp/send")
    say "    ${cmd[*]}"
    WRK_OUT=$("${cmd[@]}" 2>&1 | tee "$BENCH_OUT/bench-send-$name.txt")
    grep -E 'Requests/sec|Latency|Non-2xx|Socket errors' \
        <<<"$WRK_OUT" >&2 || true
}

# Whole-machine profile of one run: CPU share per program, then the
# hottest functions of the send handler, lighttpd and redis-server.
profile() {
    local data="$BENCH_TMP/perf.data"
    say "--- perf profile (whole machine, ${SECONDS_RUN} s)"
    perf record -q -a -g -F 499 -o "$data" -- sleep "$SECONDS_RUN" \
        2>/dev/null &
    local perf_pid=$!
    drive profile "$SECONDS_RUN" >/dev/null
    wait "$perf_pid" || true
    perf report -i "$data" --stdio --no-children --sort comm -g none \
        2>/dev/null |
        grep -E '^ +[0-9]' | head -n 12 | tee "$BENCH_OUT/bench-send-profile.txt"
    say "--- CPU by program and library ([kernel.kallsyms]: system calls and TCP)"
    perf report -i "$data" --stdio --no-children --sort comm,dso -g none \
        2>/dev/null | grep -E '^ +[0-9]' | head -n 16 |
        tee -a "$BENCH_OUT/bench-send-profile.txt"
    say "--- hottest functions"
    perf report -i "$data" --stdio --no-children --sort comm,dso,sym \
        -g none --percent-limit 0.8 2>/dev/null |
        grep -E '^ +[0-9]' | head -n 40 |
        tee -a "$BENCH_OUT/bench-send-profile.txt"
}

for s in "${SETUPS[@]}"; do
    procs=${s%x*}
    threads=${s#*x}
    # A trailing "u" (e.g. 1x4u): FastCGI over Unix sockets, not TCP.
    BENCH_UNIX=0
    via=tcp
    if [[ $threads == *u ]]; then
        threads=${threads%u}
        BENCH_UNIX=1
        via=unix
    fi
    export BENCH_UNIX
    say "--- $procs send handler process(es) x $threads thread(s), FastCGI over $via, $CONNS connections"
    start_setup "$procs" "$threads"
    drive "$s" "$SECONDS_RUN"
    ROWS+=("$(printf '%-28s %9s %8s %8s %7s %7s' \
        "$procs x $threads $via, c=$CONNS" "$(field rps "$WRK_OUT")" \
        "$(field p50_ms "$WRK_OUT")" "$(field p99_ms "$WRK_OUT")" \
        "$(field non2xx "$WRK_OUT")" "$(field errors "$WRK_OUT")")")
    if [ "${PROFILE:-0}" = 1 ] && [ "$s" = "${SETUPS[-1]}" ]; then
        profile
    fi
    bench_stop_servers
done

printf '\n%-28s %9s %8s %8s %7s %7s\n' setup req/s p50_ms p99_ms non2xx errors
printf '%s\n' "${ROWS[@]}"
