#!/usr/bin/env bash
# Run the whole chat on this machine in the foreground: redis-server, the
# send handler, the gateway and lighttpd, each on its own port, with data
# under ./run. `./build.sh run` builds and then execs this.
#
#   tools/run-local.sh BUILD_DIR
#
# Ctrl-C or SIGTERM stops every process this script started (and nothing
# else); if any of them dies, the others are stopped and the script exits
# non-zero. It needs no terminal. It never touches a Redis or lighttpd that
# is already running: it starts its own, with its own config from the
# command line, and refuses to start when one of its ports is taken.
#
# Environment (defaults in brackets):
#   CHAT_HTTP_PORT          lighttpd, the UI [30222]
#   CHAT_HTTP_BIND          lighttpd listen address [127.0.0.1]
#   CHAT_REDIS_PORT         redis-server [30223]
#   CHAT_SEND_PORT          send handler, FastCGI [30224]
#   CHAT_SEND_HEALTH_PORT   send handler /healthz /readyz /metrics [30225]
#   CHAT_GATEWAY_PORT       gateway, WebSocket and /readyz [30226]
#   CHAT_RUN_DIR            Redis data (data/) and server logs (logs/) [./run]
#   CHAT_START_TIMEOUT      seconds to wait for each server to be ready [30]
#   LOG_LEVEL               passed to both servers [info]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${1:?usage: run-local.sh BUILD_DIR}" && pwd)

HTTP_PORT=${CHAT_HTTP_PORT:-30222}
HTTP_BIND=${CHAT_HTTP_BIND:-127.0.0.1}
REDIS_PORT=${CHAT_REDIS_PORT:-30223}
SEND_PORT=${CHAT_SEND_PORT:-30224}
SEND_HEALTH_PORT=${CHAT_SEND_HEALTH_PORT:-30225}
GW_PORT=${CHAT_GATEWAY_PORT:-30226}
RUN_DIR=${CHAT_RUN_DIR:-$ROOT/run}
START_TIMEOUT=${CHAT_START_TIMEOUT:-30}
DATA_DIR=$RUN_DIR/data
LOG_DIR=$RUN_DIR/logs

say() { printf 'run-local: %s\n' "$*" >&2; }

for bin in chat-send chat-gateway; do
    [ -x "$BUILD_DIR/$bin" ] || {
        say "missing $BUILD_DIR/$bin"
        exit 1
    }
done
for tool in redis-server redis-cli lighttpd curl; do
    command -v "$tool" >/dev/null || {
        say "$tool is not installed"
        exit 1
    }
done

# Someone else's server on one of our ports would answer our readiness
# checks, so a taken port is an error rather than something to share.
port_taken() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
for p in "$HTTP_PORT" "$REDIS_PORT" "$SEND_PORT" "$SEND_HEALTH_PORT" "$GW_PORT"; do
    if port_taken "$p"; then
        say "port $p is already in use; stop what uses it or choose other ports (see the top of $0)"
        exit 1
    fi
done

mkdir -p "$DATA_DIR" "$LOG_DIR"

PIDS=()
NAMES=()
STOPPING=0

# start NAME CMD...: run CMD in the background, output appended to its log.
# setsid keeps Ctrl-C (sent to the terminal's whole process group) away from
# the servers, so this script alone decides the order they stop in; it does
# not fork here, so $! is the server's own pid.
start() {
    local name=$1
    shift
    setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
    PIDS+=("$!")
    NAMES+=("$name")
}

alive() { kill -0 "$1" 2>/dev/null; }

# Stop in reverse start order (lighttpd first, Redis last so that what the
# servers wrote reaches the AOF); SIGKILL whatever is left after 10 s.
stop_all() {
    local i pid deadline
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[i]}
        alive "$pid" || continue
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
            sleep 0.1
        done
        if alive "$pid"; then
            say "${NAMES[i]} (pid $pid) ignored SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
    NAMES=()
}

on_signal() {
    STOPPING=1
    say "stopping"
    stop_all
    say "stopped"
    exit 0
}
trap on_signal INT TERM
trap stop_all EXIT

# wait_ready NAME CHECK...: poll CHECK until it succeeds, the newest child
# dies, or CHAT_START_TIMEOUT passes.
wait_ready() {
    local name=$1 pid=${PIDS[${#PIDS[@]} - 1]} deadline=$((SECONDS + START_TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        if ! alive "$pid"; then
            say "$name exited while starting; the end of $LOG_DIR/$name.log:"
            tail -n 20 "$LOG_DIR/$name.log" >&2 || true
            exit 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "$name not ready after ${START_TIMEOUT}s; see $LOG_DIR/$name.log"
            exit 1
        fi
        sleep 0.1
    done
}

ready_url() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# No config file: everything on the command line, so /etc/redis is never
# read and the system Redis is never touched.
# maxmemory as in docker/redis.conf: full means refused writes, never
# evicted history.
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
    --dir "$DATA_DIR" --appendonly yes --save '' --daemonize no \
    --maxmemory 256mb --maxmemory-policy noeviction \
    --logfile ''
wait_ready redis redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping

start chat-send env REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" \
    SEND_BIND=127.0.0.1 SEND_PORT="$SEND_PORT" \
    SEND_HEALTH_PORT="$SEND_HEALTH_PORT" "$BUILD_DIR/chat-send"
wait_ready chat-send ready_url "http://127.0.0.1:$SEND_HEALTH_PORT/readyz"

start chat-gateway env REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" \
    GW_BIND=127.0.0.1 GW_PORT="$GW_PORT" "$BUILD_DIR/chat-gateway"
wait_ready chat-gateway ready_url "http://127.0.0.1:$GW_PORT/readyz"

start lighttpd env CHAT_CONF_DIR="$ROOT/conf" CHAT_HTDOCS="$ROOT/htdocs" \
    CHAT_HTTP_BIND="$HTTP_BIND" CHAT_HTTP_PORT="$HTTP_PORT" \
    CHAT_SEND_BACKENDS="127.0.0.1:$SEND_PORT" \
    CHAT_GATEWAY_BACKENDS="127.0.0.1:$GW_PORT" \
    lighttpd -D -f "$ROOT/conf/lighttpd.conf"
case $HTTP_BIND in
0.0.0.0 | '::' | '[::]') probe=127.0.0.1 ;;
*) probe=$HTTP_BIND ;;
esac
wait_ready lighttpd ready_url "http://$probe:$HTTP_PORT/"

echo "chat is running at http://localhost:$HTTP_PORT (Ctrl-C stops it)"
say "logs in $LOG_DIR, data in $DATA_DIR"

# Any child ending on its own is a failure: report it and stop the rest.
# A signal interrupts wait and runs on_signal, which exits.
while :; do
    wait -n || true
    [ "$STOPPING" = 1 ] && exit 0
    for i in "${!PIDS[@]}"; do
        if ! alive "${PIDS[i]}"; then
            say "${NAMES[i]} (pid ${PIDS[i]}) exited; stopping the rest. The end of $LOG_DIR/${NAMES[i]}.log:"
            tail -n 20 "$LOG_DIR/${NAMES[i]}.log" >&2 || true
            stop_all
            exit 1
        fi
    done
done
