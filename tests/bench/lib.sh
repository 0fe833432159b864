#!/usr/bin/env bash
# Shared by the benchmark scripts (sourced, not run): start the real system
# on free 127.0.0.1 ports in a temporary folder and kill every process it
# started, by pid, when the calling script exits.
#
#   bench_init BUILD_DIR NAME    temp dir, logs, fd limit, exit trap
#   bench_redis                  redis-server (AOF on, as deployed)
#   bench_send N [ENV=V ...]     N send handlers  -> SEND_ADDRS, SEND_PIDS
#   bench_gateways N [ENV=V ...] N gateways       -> GW_PORTS, GW_PIDS
#   bench_lighttpd               lighttpd with conf/ -> HTTP_PORT
#   bench_stop_servers           kill all but Redis (to start another set)

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_PIDS=()
SEND_ADDRS=()
SEND_PIDS=()
GW_PORTS=()
GW_PIDS=()
HTTP_PORT=""
LIGHTTPD_PID=""
REDIS_PORT=""

say() { printf '%s\n' "$*" >&2; }

# A free port, never one handed out before in this run (the kernel may
# offer a port again as soon as the probe closes). Sets PORT: a command
# substitution would run in a subshell and forget what was handed out.
HANDED_OUT=" "
free_port() {
    while :; do
        PORT=$(/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
        case $HANDED_OUT in
        *" $PORT "*) ;;
        *) break ;;
        esac
    done
    HANDED_OUT+="$PORT "
}

# Wait until GET $1 answers 200, at most ~10 s.
wait_http() {
    local i
    for i in $(seq 1 400); do
        if curl -fs -o /dev/null --max-time 1 "$1"; then
            return 0
        fi
        sleep 0.025
    done
    say "timed out waiting for $1"
    return 1
}

wait_port() {
    local i
    for i in $(seq 1 400); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.025
    done
    say "timed out waiting for port $1"
    return 1
}

bench_cleanup() {
    local p
    for p in "${BENCH_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${BENCH_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    [ -n "${BENCH_TMP:-}" ] && rm -rf "$BENCH_TMP"
}

bench_init() {
    BUILD_DIR=$(cd "$1" && pwd)
    BENCH_NAME=$2
    BENCH_OUT="$BENCH_ROOT/tests/out"
    mkdir -p "$BENCH_OUT"
    BENCH_TMP=$(mktemp -d "/tmp/chat-bench-$BENCH_NAME.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    # Thousands of sockets in lighttpd, the gateway and the generator.
    ulimit -n "$(ulimit -Hn)"
    export LOG_LEVEL=${LOG_LEVEL:-warn}
}

# Run "$@" in the background with its output in the bench log; sets LAST_PID.
spawn() {
    local log=$1
    shift
    "$@" >>"$BENCH_OUT/bench-$BENCH_NAME-$log.log" 2>&1 &
    LAST_PID=$!
    BENCH_PIDS+=("$LAST_PID")
}

bench_redis() {
    free_port
    REDIS_PORT=$PORT
    mkdir -p "$BENCH_TMP/redis"
    spawn redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --dir "$BENCH_TMP/redis" --appendonly yes --save '' \
        --protected-mode no --daemonize no
    wait_port "$REDIS_PORT"
}

# With BENCH_UNIX=1 the handlers listen on Unix sockets (SEND_SOCKET).
bench_send() {
    local n=$1 i port health sock
    shift
    for ((i = 0; i < n; i++)); do
        free_port
        port=$PORT
        free_port
        health=$PORT
        sock=""
        [ "${BENCH_UNIX:-0}" = 1 ] && sock="$BENCH_TMP/send$i.sock"
        spawn "send$i" env REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" \
            SEND_BIND=127.0.0.1 SEND_PORT="$port" SEND_SOCKET="$sock" \
            SEND_HEALTH_PORT="$health" "$@" "$BUILD_DIR/chat-send"
        SEND_PIDS+=("$LAST_PID")
        if [ -n "$sock" ]; then
            SEND_ADDRS+=("unix:$sock")
        else
            SEND_ADDRS+=("127.0.0.1:$port")
        fi
        wait_http "http://127.0.0.1:$health/readyz"
    done
}

bench_gateways() {
    local n=$1 i port
    shift
    for ((i = 0; i < n; i++)); do
        free_port
        port=$PORT
        spawn "gw$i" env REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" \
            GW_BIND=127.0.0.1 GW_PORT="$port" "$@" "$BUILD_DIR/chat-gateway"
        GW_PIDS+=("$LAST_PID")
        GW_PORTS+=("$port")
        wait_http "http://127.0.0.1:$port/readyz"
    done
}

bench_lighttpd() {
    local gws="" p
    for p in "${GW_PORTS[@]}"; do
        gws+="${gws:+,}127.0.0.1:$p"
    done
    free_port
    HTTP_PORT=$PORT
    spawn lighttpd env CHAT_CONF_DIR="$BENCH_ROOT/conf" \
        CHAT_HTDOCS="$BENCH_ROOT/htdocs" CHAT_HTTP_BIND=127.0.0.1 \
        CHAT_HTTP_PORT="$HTTP_PORT" \
        CHAT_SEND_BACKENDS="$(
            IFS=,
            echo "${SEND_ADDRS[*]}"
        )" \
        CHAT_GATEWAY_BACKENDS="${gws:-127.0.0.1:1}" \
        lighttpd -D -f "$BENCH_ROOT/conf/lighttpd.conf"
    LIGHTTPD_PID=$LAST_PID
    wait_port "$HTTP_PORT"
}

# Stop lighttpd, send handlers and gateways (Redis stays).
bench_stop_servers() {
    local p
    for p in $LIGHTTPD_PID "${SEND_PIDS[@]}" "${GW_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    LIGHTTPD_PID=""
    SEND_PIDS=()
    SEND_ADDRS=()
    GW_PIDS=()
    GW_PORTS=()
}
