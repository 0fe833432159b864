#!/usr/bin/env bash
# Where the fan-out spends its work (issue 14): starts this system (one
# lighttpd, send handler and gateway, and Redis) and nginx + nchan as in
# compare.sh, then, with PROFILE_CONNS clients posting at each rate:
#   - counts the system calls and CPU time (task-clock) of every server
#     process with perf over the whole run (from the last connection to
#     the end of the drain), and prints them per delivered message (per
#     message and client) and per posted message, with the frames per
#     delivery the generator saw;
#   - records the gateway's CPU profile (perf record, cpu-clock) at the
#     first rate and prints its hottest functions;
#   - records the gateway while PROFILE_IDLE clients connect, and prints
#     the server CPU per new connection and where it goes.
#
#   tests/bench/profile.sh BUILD_DIR
#   ./build.sh bench profile          (about 3 minutes)
#
# Environment: PROFILE_CONNS (1000), PROFILE_SECONDS (5), PROFILE_RATES
# ("50 100 300"), PROFILE_IDLE (5000), PROFILE_PATHS ("direct lighttpd
# nchan"), PROFILE_RECORD (1; 0 skips the CPU profiles), GW_ENV (extra VAR=VALUE words for the gateway), GEN_THREADS
# (2), GEN_EVLIB (uv). Needs perf (linux-perf); hardware counters are not
# needed. Output also in tests/out/bench-profile.txt.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || {
    say "usage: $0 BUILD_DIR"
    exit 2
}
bench_init "$1" profile
CONNS=${PROFILE_CONNS:-1000}
SECS=${PROFILE_SECONDS:-5}
IDLE=${PROFILE_IDLE:-5000}
read -r -a RATES <<<"${PROFILE_RATES:-50 100 300}"
read -r -a PATHS <<<"${PROFILE_PATHS:-direct lighttpd nchan}"
read -r -a GW_EXTRA <<<"${GW_ENV:-}"
GEN_THREADS=${GEN_THREADS:-2}
export GEN_EVLIB=${GEN_EVLIB:-uv}
export CHAT_HTTP_WORKERS=1
REPORT=$BENCH_OUT/bench-profile.txt
: >"$REPORT"
command -v perf >/dev/null || {
    say "needs perf (Debian linux-perf)"
    exit 2
}

out() { printf '%s\n' "$*" | tee -a "$REPORT"; }

SYSCALLS=(sendto sendmsg write writev recvfrom read readv poll ppoll socket connect
    accept shutdown
    epoll_wait epoll_pwait epoll_ctl accept4 close setsockopt getsockopt
    ioctl fcntl clock_gettime)
EVENTS="task-clock,raw_syscalls:sys_enter"
for s in "${SYSCALLS[@]}"; do
    EVENTS+=",syscalls:sys_enter_$s"
done

# Start the generator in the background and wait until every connection
# is open (it then settles 1 s and posts). Sets GEN_PID and GEN_OUT.
gen_start() {
    local i
    GEN_OUT=$BENCH_TMP/gen.$RANDOM.txt
    "$BUILD_DIR/bench/fanout" --threads "$GEN_THREADS" "$@" >"$GEN_OUT" 2>&1 &
    GEN_PID=$!
    BENCH_PIDS+=("$GEN_PID")
    for i in $(seq 1 1200); do
        grep -q 'connections open' "$GEN_OUT" && return 0
        sleep 0.05
    done
    say "the generator did not connect"
    return 1
}

# Count with perf stat for every NAME:PID from now until stat_stop.
STAT_PIDS=()
stat_start() {
    local np name pid
    STAT_PIDS=()
    for np in "$@"; do
        name=${np%%:*}
        pid=${np#*:}
        perf stat -x, -e "$EVENTS" -o "$BENCH_TMP/stat-$name" -p "$pid" \
            2>/dev/null &
        STAT_PIDS+=($!)
        BENCH_PIDS+=($!)
    done
}

stat_stop() {
    local p
    for p in "${STAT_PIDS[@]}"; do
        kill -INT "$p" 2>/dev/null || true
    done
    for p in "${STAT_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
}

# gen_field NAME: a field of the generator's RESULT line.
gen_field() {
    sed -nE "s/^RESULT .*[ ]$1=([^ ]+).*/\1/p" "$GEN_OUT"
}

# After a run: deliveries, messages, frames and latency of the generator
# into DELIVERIES, MESSAGES, FRAMES and the line GEN_SUMMARY.
gen_summary() {
    local mpf
    DELIVERIES=$(gen_field received)
    MESSAGES=$(gen_field posted_ok)
    FRAMES=$(gen_field frames)
    mpf=$(awk -v m="$DELIVERIES" -v f="$FRAMES" \
        'BEGIN { printf "%.2f", f ? m / f : 0 }')
    GEN_SUMMARY="$MESSAGES messages, $DELIVERIES deliveries, $FRAMES frames"
    GEN_SUMMARY+=" ($mpf messages per frame); p50 $(gen_field p50_ms) ms,"
    GEN_SUMMARY+=" p99 $(gen_field p99_ms) ms"
}

# print_stats UNITS UNIT NAME:PID...: each one's calls of stat_procs per
# unit (a delivery or a message).
print_stats() {
    local units=$1 unit=$2 np name
    shift 2
    for np in "$@"; do
        name=${np%%:*}
        awk -F, -v name="$name" -v units="$units" -v unit="$unit" '
            $3 ~ /^task-clock/ { cpu_us = $1 * 1000 }
            $3 ~ /^raw_syscalls/ { total = $1 }
            $3 ~ /^syscalls:sys_enter_/ && $1 + 0 > 0 {
                n = $3; sub(/^syscalls:sys_enter_/, "", n)
                part = part sprintf(" %s %.3f", n, $1 / units)
            }
            END {
                if (units > 0)
                    printf "    %-13s per %s: CPU %.2f us, syscalls %.3f:%s\n",
                        name, unit, cpu_us / units, total / units, part
            }' "$BENCH_TMP/stat-$name" | tee -a "$REPORT"
    done
}

top_symbols() { # PERF_DATA LINES
    perf report -i "$1" --stdio --no-children --sort dso,sym -g none \
        --percent-limit 1 2>/dev/null | grep -E '^ +[0-9]' | head -n "$2" |
        tee -a "$REPORT"
}

# ---- this system ----

bench_redis
bench_send 1
bench_gateways 1 GW_ALLOWED_ORIGINS='*' "${GW_EXTRA[@]}"
bench_lighttpd
GW_PORT=${GW_PORTS[0]}
GW_PID=${GW_PIDS[0]}
OURS=("lighttpd:$LIGHTTPD_PID" "chat-send:${SEND_PIDS[0]}"
    "chat-gateway:$GW_PID" "redis:$REDIS_PID")
POST="http://127.0.0.1:$HTTP_PORT/chatapp/send"

# Counted from the end of the connecting to the end of the drain: every
# message and delivery of the run, and only those (1 s of settling aside).
measure_ours() { # PATH RATE
    local path=$1 rate=$2 url
    url="ws://127.0.0.1:$GW_PORT/chatapp/websocket"
    [ "$path" = lighttpd ] && url="ws://127.0.0.1:$HTTP_PORT/chatapp/websocket"
    gen_start --url "$url" --post "$POST" --conns "$CONNS" \
        --messages $((rate * SECS)) --rate "$rate" --post-conns 64 \
        --settle-ms 1000 --post-ms $((SECS * 1500))
    stat_start "${OURS[@]}"
    wait "$GEN_PID" || true
    stat_stop
    gen_summary
    out "--- $path, $CONNS clients, $rate msg/s for $SECS s: $GEN_SUMMARY"
    print_stats "$DELIVERIES" delivery "lighttpd:$LIGHTTPD_PID" \
        "chat-gateway:$GW_PID"
    print_stats "$MESSAGES" message "lighttpd:$LIGHTTPD_PID" \
        "chat-send:${SEND_PIDS[0]}" "redis:$REDIS_PID"
}

for path in "${PATHS[@]}"; do
    [ "$path" = nchan ] && continue
    for r in "${RATES[@]}"; do
        measure_ours "$path" "$r"
    done
done

if [ "${PROFILE_RECORD:-1}" = 1 ] && [[ " ${PATHS[*]} " == *" direct "* ]]; then
    r=${RATES[0]}
    out "--- chat-gateway CPU profile, direct, $CONNS clients, $r msg/s ($SECS s)"
    gen_start --url "ws://127.0.0.1:$GW_PORT/chatapp/websocket" --post "$POST" \
        --conns "$CONNS" --messages $((r * (SECS + 3))) --rate "$r" \
        --post-conns 64 --settle-ms 1000 --post-ms $((SECS * 1500))
    sleep 1.5
    perf record -q -e cpu-clock -F 999 -g -p "$GW_PID" \
        -o "$BENCH_TMP/gw.data" -- sleep "$SECS" 2>/dev/null || true
    wait "$GEN_PID" || true
    top_symbols "$BENCH_TMP/gw.data" 30

    out "--- $IDLE new connections, direct: server CPU and where the gateway spends it"
    perf record -q -e cpu-clock -F 999 -g -p "$GW_PID" \
        -o "$BENCH_TMP/conn.data" 2>/dev/null &
    PERF_PID=$!
    BENCH_PIDS+=("$PERF_PID")
    "$BUILD_DIR/bench/fanout" --threads "$GEN_THREADS" \
        --url "ws://127.0.0.1:$GW_PORT/chatapp/websocket" --conns "$IDLE" \
        --messages 0 --settle-ms 500 --pid "chat-gateway:$GW_PID" \
        --pid "redis:$REDIS_PID" >"$BENCH_TMP/conn.txt" 2>&1 || true
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    grep -E '^(connections held|server )' "$BENCH_TMP/conn.txt" | tee -a "$REPORT"
    top_symbols "$BENCH_TMP/conn.data" 25
fi

bench_stop_servers
bench_stop_redis

# ---- nginx + nchan, for the same counts ----

if [[ " ${PATHS[*]} " == *" nchan "* ]]; then
    bench_nchan
    for r in "${RATES[@]}"; do
        gen_start --url "ws://127.0.0.1:$NCHAN_PORT/sub" \
            --post "http://127.0.0.1:$NCHAN_PORT/pub" --post-body json \
            --conns "$CONNS" --messages $((r * SECS)) --rate "$r" \
            --post-conns 64 --settle-ms 1000 --post-ms $((SECS * 1500))
        stat_start "nginx-worker:$NGINX_WORKER_PID" "redis:$REDIS_PID"
        wait "$GEN_PID" || true
        stat_stop
        gen_summary
        out "--- nchan, $CONNS clients, $r msg/s for $SECS s: $GEN_SUMMARY"
        print_stats "$DELIVERIES" delivery "nginx-worker:$NGINX_WORKER_PID"
        print_stats "$MESSAGES" message "nginx-worker:$NGINX_WORKER_PID" \
            "redis:$REDIS_PID"
        if [ "${PROFILE_RECORD:-1}" = 1 ] && [ "$r" = "${RATES[0]}" ]; then
            gen_start --url "ws://127.0.0.1:$NCHAN_PORT/sub" \
                --post "http://127.0.0.1:$NCHAN_PORT/pub" --post-body json \
                --conns "$CONNS" --messages $((r * (SECS + 3))) --rate "$r" \
                --post-conns 64 --settle-ms 1000 --post-ms $((SECS * 1500))
            sleep 1.5
            perf record -q -e cpu-clock -F 999 -g -p "$NGINX_WORKER_PID" \
                -o "$BENCH_TMP/nginx.data" -- sleep "$SECS" 2>/dev/null || true
            wait "$GEN_PID" || true
        fi
        if [ "${PROFILE_RECORD:-1}" = 1 ] && [ "$r" = "${RATES[0]}" ]; then
            out "--- nginx worker CPU profile, $CONNS clients, $r msg/s (2 s)"
            top_symbols "$BENCH_TMP/nginx.data" 25
        fi
    done
    bench_stop_nchan
fi
say "report: $REPORT"
