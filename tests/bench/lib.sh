#!/usr/bin/env bash
# Shared by the benchmark scripts (sourced, not run): start the real system
# on free 127.0.0.1 ports in a temporary folder and kill every process it
# started, by pid, when the calling script exits.
#
#   bench_init BUILD_DIR NAME    temp dir, logs, fd limit, exit trap
#   bench_redis                  redis-server (AOF on, as deployed)
#                                -> REDIS_PORT, REDIS_PID
#   bench_send N [ENV=V ...]     N send handlers  -> SEND_ADDRS, SEND_PIDS
#   bench_gateways N [ENV=V ...] N gateways       -> GW_PORTS, GW_PIDS
#   bench_lighttpd               lighttpd with conf/ -> HTTP_PORT
#   bench_stop_servers           kill all but Redis (to start another set)
#   bench_stop_redis             kill the Redis bench_redis started last
#   lighttpd_pids                lighttpd and the workers it forked
#   bench_nchan                  nginx + nchan on its own Redis, one worker
#                                -> NCHAN_PORT, NGINX_PID, NGINX_WORKER_PID
#   bench_stop_nchan             kill that nginx and its Redis

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_PIDS=()
SEND_ADDRS=()
SEND_PIDS=()
GW_PORTS=()
GW_PIDS=()
HTTP_PORT=""
LIGHTTPD_PID=""
REDIS_PORT=""
REDIS_PID=""
NCHAN_PORT=""
NGINX_PID=""
NGINX_WORKER_PID=""

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
    # A signal now must not cut the cleanup short (the INT/TERM trap
    # exits at once).
    trap '' INT TERM
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

# Each Redis gets a data folder of its own, so a second one (the peer's)
# starts empty.
bench_redis() {
    free_port
    REDIS_PORT=$PORT
    mkdir -p "$BENCH_TMP/redis-$REDIS_PORT"
    spawn redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --dir "$BENCH_TMP/redis-$REDIS_PORT" --appendonly yes --save '' \
        --protected-mode no --daemonize no
    REDIS_PID=$LAST_PID
    wait_port "$REDIS_PORT"
}

bench_stop_redis() {
    [ -n "$REDIS_PID" ] || return 0
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
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
        # Every generated client shares 127.0.0.1: per-address limits off.
        spawn "gw$i" env REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" \
            GW_BIND=127.0.0.1 GW_PORT="$port" \
            GW_MAX_CONNECTIONS_PER_ADDRESS=1000000 "$@" "$BUILD_DIR/chat-gateway"
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
    # A session of its own: lighttpd with workers (CHAT_HTTP_WORKERS > 1)
    # signals its whole process group when it stops, which would be this
    # script too.
    spawn lighttpd setsid env CHAT_CONF_DIR="$BENCH_ROOT/conf" \
        CHAT_HTDOCS="$BENCH_ROOT/htdocs" CHAT_HTTP_BIND=127.0.0.1 \
        CHAT_HTTP_PORT="$HTTP_PORT" CHAT_HTTP_CONNS_PER_ADDR=0 \
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

lighttpd_pids() {
    [ -n "$LIGHTTPD_PID" ] || return 0
    echo "$LIGHTTPD_PID"
    pgrep -P "$LIGHTTPD_PID" || true
}

# nginx with Debian's nchan module, as the peer to compare with: one
# worker, one channel ("chat"), messages stored in a Redis of its own (AOF
# on, as ours), WebSocket subscribers on /sub, HTTP POST publishers on
# /pub. nchan_redis_pass sits in each location: at server level nchan
# keeps messages in its own memory only. A new subscriber starts at the
# newest message, as a chat client does that has not asked for history.
bench_nchan() {
    local dir="$BENCH_TMP/nginx" fds i
    fds=$(ulimit -Hn)
    bench_redis
    free_port
    NCHAN_PORT=$PORT
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes 1;
worker_rlimit_nofile $fds;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections $((fds - 64)); }
http {
    access_log off;
    client_body_temp_path $dir/body;
    upstream chat_redis { nchan_redis_server redis://127.0.0.1:$REDIS_PORT; }
    server {
        listen 127.0.0.1:$NCHAN_PORT;
        location = /pub {
            nchan_publisher http;
            nchan_channel_id chat;
            nchan_redis_pass chat_redis;
            nchan_message_buffer_length ${NCHAN_BUFFER:-100000};
        }
        location = /sub {
            nchan_subscriber websocket;
            nchan_channel_id chat;
            nchan_redis_pass chat_redis;
            nchan_subscriber_first_message newest;
        }
    }
}
EOF
    spawn nginx nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        -g 'daemon off;'
    NGINX_PID=$LAST_PID
    wait_port "$NCHAN_PORT"
    NGINX_WORKER_PID=""
    for i in $(seq 1 400); do
        NGINX_WORKER_PID=$(pgrep -P "$NGINX_PID" | head -n 1 || true)
        [ -n "$NGINX_WORKER_PID" ] && break
        sleep 0.025
    done
    [ -n "$NGINX_WORKER_PID" ] || {
        say "nginx started no worker"
        return 1
    }
    # Ready once a publish reaches Redis (nchan answers it only then).
    for i in $(seq 1 400); do
        if curl -fs -o /dev/null --max-time 1 -X POST -d ready \
            "http://127.0.0.1:$NCHAN_PORT/pub"; then
            return 0
        fi
        sleep 0.025
    done
    say "nchan took no publish"
    return 1
}

bench_stop_nchan() {
    if [ -n "$NGINX_PID" ]; then
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    NGINX_PID=""
    NGINX_WORKER_PID=""
    bench_stop_redis
}
