#!/usr/bin/env bash
# Run the whole chat on this machine in the foreground: redis-server, the
# send handler, the gateway and lighttpd, each on its own port, with data
# under ./run. `./build.sh run` builds and then execs this.
#
#   tools/run-local.sh BUILD_DIR
#
# Ctrl-C or SIGTERM stops every process this script started (and nothing
# else). A server that dies once everything is up is started again, after
# a short backoff (0.5 s, doubling to 8 s for one that keeps dying, back to
# 0.5 s once it has run for 30 s), and the script says so on stderr; one
# that cannot start at all stops the script with its log. It needs no
# terminal. It never touches a Redis or lighttpd that is already running:
# it starts its own, with its own config from the command line, and
# refuses to start when one of its ports is taken.
#
# The page opens its WebSocket straight to the gateway on the gateway's
# own port (lighttpd serves the URL in /chatapp/config.json), and the
# gateway admits the page's origins; the same-origin path through lighttpd
# stays open as the page's fallback.
#
# Environment (defaults in brackets):
#   CHAT_HTTP_PORT          lighttpd, the UI [30222]
#   CHAT_HTTP_BIND          lighttpd listen address [127.0.0.1]; the
#                           gateway listens on the same address, so that
#                           the page reaches it wherever it reaches lighttpd
#   CHAT_REDIS_PORT         redis-server [30223]
#   CHAT_SEND_PORT          send handler, FastCGI [30224]
#   CHAT_SEND_HEALTH_PORT   send handler /healthz /readyz /metrics [30225]
#   CHAT_GATEWAY_PORT       gateway, WebSocket and /readyz [30226]
#   CHAT_WEBSOCKET_URL      where the page connects
#                           [//{host}:CHAT_GATEWAY_PORT/chatapp/websocket];
#                           set it empty for the path through lighttpd
#   GW_ALLOWED_ORIGINS      origins the gateway admits [the page's: for
#                           127.0.0.1 http://localhost:PORT and
#                           http://127.0.0.1:PORT; for 0.0.0.0 or :: also
#                           this machine's names and addresses, and
#                           http://*:PORT; for another address that one]
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
WS_URL=${CHAT_WEBSOCKET_URL-//{host\}:$GW_PORT/chatapp/websocket}
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

# Where lighttpd listens, the gateway listens, and a local probe connects.
case $HTTP_BIND in
0.0.0.0 | '::' | '[::]')
    GW_BIND=0.0.0.0
    probe=127.0.0.1
    ;;
*)
    GW_BIND=$HTTP_BIND
    probe=$HTTP_BIND
    ;;
esac

# The origins a page of ours can have: those of every name and address it
# may have been loaded from. Contract: whole origins, "*" as the host
# matches any host.
page_origins() {
    local hosts=() h list=""
    case $HTTP_BIND in
    127.0.0.1 | localhost) hosts=(localhost 127.0.0.1) ;;
    0.0.0.0 | '::' | '[::]')
        hosts=('*' localhost 127.0.0.1 "$(hostname)")
        # shellcheck disable=SC2207 # one address per word
        hosts+=($(hostname -I 2>/dev/null || true))
        ;;
    *) hosts=("$HTTP_BIND") ;;
    esac
    for h in "${hosts[@]}"; do
        [ -n "$h" ] || continue
        case $h in
        \[*) ;;
        *:*) h="[$h]" ;; # an IPv6 address
        esac
        list+="${list:+,}http://$h:$HTTP_PORT"
    done
    # The gateway takes at most 1023 bytes; a machine with that many
    # addresses keeps the wildcard and the loopback names only.
    if [ "${#list}" -gt 1023 ]; then
        list="http://*:$HTTP_PORT,http://localhost:$HTTP_PORT,http://127.0.0.1:$HTTP_PORT"
    fi
    printf '%s\n' "$list"
}
ORIGINS=${GW_ALLOWED_ORIGINS:-$(page_origins)}

mkdir -p "$DATA_DIR" "$LOG_DIR"

# The parts in start order; each has start_NAME (runs it in the
# background through launch) and ready_NAME (succeeds once it serves).
PARTS=(redis chat-send chat-gateway lighttpd)
declare -A PID=() STARTED=() BACKOFF_MS=()
STOPPING=0

# launch NAME CMD...: run CMD in the background, output appended to its
# log. setsid keeps Ctrl-C (sent to the terminal's whole process group)
# away from the servers, so this script alone decides the order they stop
# in; it does not fork here, so $! is the server's own pid.
launch() {
    local name=$1
    shift
    setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
    PID[$name]=$!
    STARTED[$name]=$SECONDS
}

ready_url() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# No config file: everything on the command line, so /etc/redis is never
# read and the system Redis is never touched. maxmemory as in
# docker/redis.conf: full means refused writes, never evicted history.
start_redis() {
    launch redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --dir "$DATA_DIR" --appendonly yes --save '' --daemonize no \
        --maxmemory 256mb --maxmemory-policy noeviction \
        --logfile ''
}
ready_redis() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping; }

start_chat-send() {
    launch chat-send env REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" \
        SEND_BIND=127.0.0.1 SEND_PORT="$SEND_PORT" \
        SEND_HEALTH_PORT="$SEND_HEALTH_PORT" SEND_ALLOWED_ORIGINS="$ORIGINS" \
        "$BUILD_DIR/chat-send"
}
ready_chat-send() { ready_url "http://127.0.0.1:$SEND_HEALTH_PORT/readyz"; }

start_chat-gateway() {
    launch chat-gateway env REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" \
        GW_BIND="$GW_BIND" GW_PORT="$GW_PORT" \
        GW_ALLOWED_ORIGINS="$ORIGINS" "$BUILD_DIR/chat-gateway"
}
ready_chat-gateway() { ready_url "http://$probe:$GW_PORT/readyz"; }

start_lighttpd() {
    launch lighttpd env CHAT_CONF_DIR="$ROOT/conf" CHAT_HTDOCS="$ROOT/htdocs" \
        CHAT_HTTP_BIND="$HTTP_BIND" CHAT_HTTP_PORT="$HTTP_PORT" \
        CHAT_SEND_BACKENDS="127.0.0.1:$SEND_PORT" \
        CHAT_GATEWAY_BACKENDS="127.0.0.1:$GW_PORT" \
        CHAT_WEBSOCKET_URL="$WS_URL" \
        lighttpd -D -f "$ROOT/conf/lighttpd.conf"
}
ready_lighttpd() { ready_url "http://$probe:$HTTP_PORT/"; }

alive() { kill -0 "$1" 2>/dev/null; }

# Stop in reverse start order (lighttpd first, Redis last so that what the
# servers wrote reaches the AOF); SIGKILL whatever is left after 10 s.
stop_all() {
    local i name pid deadline
    for ((i = ${#PARTS[@]} - 1; i >= 0; i--)); do
        name=${PARTS[i]}
        pid=${PID[$name]:-}
        if [ -z "$pid" ] || ! alive "$pid"; then
            continue
        fi
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
            sleep 0.1
        done
        if alive "$pid"; then
            say "$name (pid $pid) ignored SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    PID=()
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

# A pause that a signal cuts short (a foreground sleep would hold the trap).
pause() {
    sleep "$1" &
    wait $! || true
}

# wait_ready NAME: poll ready_NAME until it succeeds (0), NAME dies (1),
# or CHAT_START_TIMEOUT passes (2).
wait_ready() {
    local name=$1 deadline=$((SECONDS + START_TIMEOUT))
    until "ready_$name" >/dev/null 2>&1; do
        alive "${PID[$name]}" || return 1
        [ "$SECONDS" -lt "$deadline" ] || return 2
        sleep 0.1
    done
}

log_tail() {
    say "the end of $LOG_DIR/$1.log:"
    tail -n "${2:-20}" "$LOG_DIR/$1.log" >&2 || true
}

for name in "${PARTS[@]}"; do
    "start_$name"
    rc=0
    wait_ready "$name" || rc=$?
    case $rc in
    1)
        say "$name exited while starting"
        log_tail "$name"
        exit 1
        ;;
    2)
        say "$name not ready after ${START_TIMEOUT}s; see $LOG_DIR/$name.log"
        exit 1
        ;;
    esac
    BACKOFF_MS[$name]=500
done

echo "chat is running at http://localhost:$HTTP_PORT (Ctrl-C stops it)"
say "logs in $LOG_DIR, data in $DATA_DIR"
say "the page connects to ${WS_URL:-the same-origin path /chatapp/websocket}; the gateway admits $ORIGINS"

# NAME died: say so, wait out its backoff, start it again and report when
# it serves. One that keeps dying waits longer each time.
restart() {
    local name=$1 pid=${PID[$1]} status=0 ran delay_ms delay
    wait "$pid" 2>/dev/null || status=$?
    ran=$((SECONDS - STARTED[$name]))
    [ "$ran" -ge 30 ] && BACKOFF_MS[$name]=500
    delay_ms=${BACKOFF_MS[$name]}
    delay=$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))
    say "$name (pid $pid) exited (status $status) after ${ran}s; restarting it in ${delay}s"
    log_tail "$name" 5
    pause "$delay"
    BACKOFF_MS[$name]=$((delay_ms * 2 > 8000 ? 8000 : delay_ms * 2))
    "start_$name"
    local rc=0
    wait_ready "$name" || rc=$?
    case $rc in
    0) say "$name is back (pid ${PID[$name]})" ;;
    1) ;; # died again: the loop below sees it
    2) say "$name (pid ${PID[$name]}) is running but not ready after ${START_TIMEOUT}s; see $LOG_DIR/$name.log" ;;
    esac
}

# A signal interrupts wait and runs on_signal, which exits.
while :; do
    wait -n 2>/dev/null || true # our own line says how it ended
    [ "$STOPPING" = 1 ] && exit 0
    for name in "${PARTS[@]}"; do
        alive "${PID[$name]}" || restart "$name"
    done
done
