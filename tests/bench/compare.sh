#!/usr/bin/env bash
# Side-by-side fan-out benchmark (issue 14): the same load, from the same
# generator (fanout.c), one system after the other in one run, against
#   direct    this system, WebSockets straight to the gateway's port
#   lighttpd  this system, WebSockets through lighttpd (/chatapp/websocket)
#   nchan     nginx 1.22 + nchan (Debian), one worker, Redis store
# Posts for this system go through lighttpd to /chatapp/send, as a user's
# do; nchan's go to its /pub location as the same message object. Each
# system gets fresh servers and a Redis of its own for every round, and the
# order of the systems rotates from round to round.
#
#   tests/bench/compare.sh BUILD_DIR [quick]
#   ./build.sh bench compare          (2 rounds, about 6 minutes)
#
# Per system and round: IDLE idle connections (RSS per connection of every
# server process on the path, server CPU per new connection), then CONNS
# clients at each rate of RATES for SECONDS each (latency POST->delivery,
# deliveries/s, lost, server CPU per million deliveries: every server
# process of that system from /proc/PID/stat). Prints one table, each cell
# "round1/round2/...", with the ratio to nchan of the same round, and
# writes a plot of latency against message rate (gnuplot).
# Lost: not delivered within 5 s of the last post. Unsent: posts the
# system had not taken when the posting time (1.5 x SECONDS) was over.
#
# Environment: COMPARE_ROUNDS (2), COMPARE_CONNS (1000), COMPARE_SECONDS
# (6), COMPARE_IDLE (5000), COMPARE_RATES ("50 100 200 300 400 500"),
# COMPARE_TABLE_RATES ("100 300 500"), COMPARE_SYSTEMS ("direct lighttpd
# nchan"), COMPARE_PLOT (tests/out/bench-compare.png), CHAT_HTTP_WORKERS
# (1, the shipped default: one process, as nginx gets one worker),
# GEN_THREADS (2), GEN_EVLIB (uv), GW_ENV (extra VAR=VALUE words for the
# gateway), NCHAN_BUFFER (100000 messages kept, as CHAT_HISTORY_MAX),
# COMPARE_REPLOT (a data file of an earlier run: print its table and draw
# its plot again, running nothing; the other variables must match it).
# Raw results: tests/out/bench-compare.dat, one line per generator run;
# each run's whole output: tests/out/bench-compare-r<round>-<system>-<step>.txt.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || {
    say "usage: $0 BUILD_DIR [quick]"
    exit 2
}
bench_init "$1" compare
ROUNDS=${COMPARE_ROUNDS:-2}
CONNS=${COMPARE_CONNS:-1000}
SECS=${COMPARE_SECONDS:-6}
IDLE=${COMPARE_IDLE:-5000}
read -r -a RATES <<<"${COMPARE_RATES:-50 100 200 300 400 500}"
read -r -a TABLE_RATES <<<"${COMPARE_TABLE_RATES:-100 300 500}"
read -r -a SYSTEMS <<<"${COMPARE_SYSTEMS:-direct lighttpd nchan}"
if [ "${2:-}" = quick ]; then
    ROUNDS=1 CONNS=200 SECS=2 IDLE=500
    RATES=(50 100)
    TABLE_RATES=(50 100)
fi
PLOT=${COMPARE_PLOT:-$BENCH_OUT/bench-compare.png}
GEN_THREADS=${GEN_THREADS:-2}
export GEN_EVLIB=${GEN_EVLIB:-uv}
export CHAT_HTTP_WORKERS=${CHAT_HTTP_WORKERS:-1}
read -r -a GW_EXTRA <<<"${GW_ENV:-}"
DATA=$BENCH_OUT/bench-compare.dat
if [ -n "${COMPARE_REPLOT:-}" ]; then
    DATA=$COMPARE_REPLOT
    ROUNDS=$(sed -nE 's/^round=([0-9]+) .*/\1/p' "$DATA" | sort -n | tail -n 1)
else
    : >"$DATA"
fi
if ! command -v nginx >/dev/null ||
    [ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
    say "needs Debian's nginx and libnginx-mod-nchan"
    exit 2
fi

# ---- one system up, its URLs and the processes to watch ----

WS_URL=""
POST_URL=""
POST_BODY=form
PROCS=()

start_system() {
    local p
    PROCS=()
    case $1 in
    direct | lighttpd)
        bench_redis
        bench_send 1
        # The generator's Origin is the URL it dials; the origin check is
        # not what is measured here.
        bench_gateways 1 GW_ALLOWED_ORIGINS='*' "${GW_EXTRA[@]}"
        bench_lighttpd
        for p in $(lighttpd_pids); do
            PROCS+=(--pid "lighttpd:$p")
        done
        PROCS+=(--pid "chat-send:${SEND_PIDS[0]}"
            --pid "chat-gateway:${GW_PIDS[0]}" --pid "redis:$REDIS_PID")
        POST_URL="http://127.0.0.1:$HTTP_PORT/chatapp/send"
        POST_BODY=form
        if [ "$1" = direct ]; then
            WS_URL="ws://127.0.0.1:${GW_PORTS[0]}/chatapp/websocket"
        else
            WS_URL="ws://127.0.0.1:$HTTP_PORT/chatapp/websocket"
        fi
        ;;
    nchan)
        bench_nchan
        PROCS=(--pid "nginx:$NGINX_PID" --pid "nginx-worker:$NGINX_WORKER_PID"
            --pid "redis:$REDIS_PID")
        WS_URL="ws://127.0.0.1:$NCHAN_PORT/sub"
        POST_URL="http://127.0.0.1:$NCHAN_PORT/pub"
        POST_BODY=json
        ;;
    esac
}

stop_system() {
    case $1 in
    nchan) bench_stop_nchan ;;
    *)
        bench_stop_servers
        bench_stop_redis
        ;;
    esac
}

field() { sed -nE "s/^RESULT .*[ ]$1=([^ ]+).*/\1/p" <<<"$2"; }

# gen ROUND SYSTEM STEP fanout-args...: one generator run, its RESULT
# appended to $DATA as "round=R system=S step=STEP key=value...".
gen() {
    local round=$1 sys=$2 step=$3 out result
    shift 3
    out=$("$BUILD_DIR/bench/fanout" --threads "$GEN_THREADS" "${PROCS[@]}" \
        --url "$WS_URL" "$@" 2>&1 |
        tee "$BENCH_OUT/bench-compare-r$round-$sys-$step.txt") || true
    result=$(grep '^RESULT' <<<"$out" || echo "RESULT failed=1")
    echo "round=$round system=$sys step=$step ${result#RESULT }" >>"$DATA"
    say "$(printf '  r%s %-8s %-6s held %5s p50 %8s p99 %8s ms lost %s unsent %s deliv/s %s cpu/M %s s' \
        "$round" "$sys" "$step" "$(field held "$result")" \
        "$(field p50_ms "$result")" "$(field p99_ms "$result")" \
        "$(field lost "$result")" "$(field unsent "$result")" \
        "$(field dps "$result")" "$(field cpu_per_M_s "$result")")"
}

run_system() {
    local round=$1 sys=$2 r
    say "--- round $round: $sys"
    start_system "$sys"
    # Idle first, on fresh servers: memory freed by an earlier step would
    # hide what a connection costs.
    gen "$round" "$sys" idle --conns "$IDLE" --messages 0 --settle-ms 3000
    for r in "${RATES[@]}"; do
        gen "$round" "$sys" "$r" --conns "$CONNS" --post "$POST_URL" \
            --post-body "$POST_BODY" --messages $((r * SECS)) --rate "$r" \
            --post-conns 64 --post-ms $((SECS * 1500)) --drain-ms 5000
    done
    stop_system "$sys"
}

T0=$(date +%s)
if [ -z "${COMPARE_REPLOT:-}" ]; then
    for ((round = 1; round <= ROUNDS; round++)); do
        n=${#SYSTEMS[@]}
        for ((k = 0; k < n; k++)); do
            run_system "$round" "${SYSTEMS[$(((k + round - 1) % n))]}"
        done
    done
    say "--- all runs took $(($(date +%s) - T0)) s"
fi

# ---- the table ----

TABLE=$BENCH_OUT/bench-compare.txt
awk -v rounds="$ROUNDS" -v table_rates="${TABLE_RATES[*]}" \
    -v systems="${SYSTEMS[*]}" -v conns="$CONNS" -v idle="$IDLE" \
    -v all_rates="${RATES[*]}" -f "$(dirname "$0")/compare.awk" "$DATA" |
    tee "$TABLE"

# ---- the plot ----

PLOTDATA=$BENCH_OUT/bench-compare-plot.dat
awk -v rounds="$ROUNDS" -v systems="${SYSTEMS[*]}" -v rates="${RATES[*]}" '
function get(r, s, st, k) { return V[r, s, st, k] }
{
    for (i = 1; i <= NF; i++) {
        split($i, kv, "=")
        F[kv[1]] = kv[2]
    }
    for (k in F)
        V[F["round"], F["system"], F["step"], k] = F[k]
    delete F
}
END {
    ns = split(systems, S, " ")
    nr = split(rates, R, " ")
    for (i = 1; i <= ns; i++) {
        printf "# %s\n", S[i]
        for (j = 1; j <= nr; j++) {
            n = 0; s50 = 0; s99 = 0; lo = -1; hi = 0
            for (r = 1; r <= rounds; r++) {
                p99 = get(r, S[i], R[j], "p99_ms")
                if (p99 == "" || get(r, S[i], R[j], "received") == 0)
                    continue
                n++
                s50 += get(r, S[i], R[j], "p50_ms")
                s99 += p99
                if (lo < 0 || p99 < lo) lo = p99
                if (p99 > hi) hi = p99
            }
            if (n)
                printf "%s %.2f %.2f %.2f %.2f\n", R[j], s50 / n, s99 / n, lo, hi
        }
        printf "\n\n"
    }
}' "$DATA" >"$PLOTDATA"
if command -v gnuplot >/dev/null; then
    {
        echo "set terminal pngcairo size 1000,560 font 'DejaVu Sans,10'"
        echo "set output '$PLOT'"
        echo "set title \"Fan-out to $CONNS WebSocket clients, POST to delivery; $ROUNDS round(s), $(nproc) shared cores, $(date -u -r "$DATA" +%Y-%m-%d)\""
        echo "set xlabel 'messages per second (each to $CONNS clients)'"
        echo "set ylabel 'latency (ms, log scale)'"
        echo "set logscale y"
        echo "set grid"
        echo "set key outside right top vertical"
        printf 'plot '
        idx=0
        for s in "${SYSTEMS[@]}"; do
            [ "$idx" -gt 0 ] && printf ', '
            printf "'%s' index %d using 1:3:4:5 with yerrorlines lw 2 lc %d title '%s p99 (range)', " \
                "$PLOTDATA" "$idx" "$((idx + 1))" "$s"
            printf "'%s' index %d using 1:2 with linespoints dt 2 lc %d title '%s p50'" \
                "$PLOTDATA" "$idx" "$((idx + 1))" "$s"
            idx=$((idx + 1))
        done
        echo
    } >"$BENCH_TMP/plot.gp"
    gnuplot "$BENCH_TMP/plot.gp" && say "plot: $PLOT"
else
    say "gnuplot not installed: no plot (data in $PLOTDATA)"
fi
