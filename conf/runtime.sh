#!/bin/sh
# Print the part of lighttpd's config that env.NAME cannot express: the
# send handler and gateway lists named in CHAT_SEND_BACKENDS and
# CHAT_GATEWAY_BACKENDS ("host:port,unix:/path,..."), fd limits that fit the
# hard limit this process got, and the Content-Security-Policy, which names
# CHAT_WEBSOCKET_URL's origin. It also checks the variables the Lua scripts
# read (CHAT_WEBSOCKET_URL, CHAT_HTTP_CONNS_PER_ADDR): a bad value stops
# lighttpd with a message naming it. lighttpd runs it once at start through
# include_shell.
set -eu

hosts() {
    # $1: list; prints one lighttpd host entry per element. An element
    # "unix:/path" is a Unix socket (a backend on this host).
    printf '%s\n' "$1" | tr ',' '\n' | while IFS= read -r hp; do
        [ -n "$hp" ] || continue
        case $hp in
        unix:*)
            printf '    ( "socket" => "%s"%s ),\n' "${hp#unix:}" "$2"
            ;;
        *)
            host=${hp%:*}
            port=${hp##*:}
            printf '    ( "host" => "%s", "port" => %s%s ),\n' "$host" "$port" "$2"
            ;;
        esac
    done
}

: "${CHAT_SEND_BACKENDS:?CHAT_SEND_BACKENDS is not set}"
: "${CHAT_GATEWAY_BACKENDS:?CHAT_GATEWAY_BACKENDS is not set}"

# Each proxied WebSocket costs lighttpd two sockets. lighttpd cannot raise
# its own hard limit without CAP_SYS_RESOURCE, so stay within it.
# shellcheck disable=SC3045 # dash and bash both have -H
fds=$(ulimit -H -n)
[ "$fds" = unlimited ] && fds=65536
[ "$fds" -gt 65536 ] && fds=65536
echo "server.max-fds = $fds"
# CHAT_HTTP_WORKERS > 1 forks that many lighttpd processes on one port: one
# process is one thread, and proxying WebSocket frames keeps it busy. In
# Kubernetes, scale the Deployment instead.
workers=${CHAT_HTTP_WORKERS:-1}
case $workers in
'' | *[!0-9]*)
    echo "CHAT_HTTP_WORKERS must be a number" >&2
    exit 1
    ;;
esac
[ "$workers" -gt 1 ] && echo "server.max-worker = $workers"
# Read by per_address.lua on every request; a bad value stops lighttpd here.
case ${CHAT_HTTP_CONNS_PER_ADDR:-1000} in
'' | *[!0-9]*)
    echo "CHAT_HTTP_CONNS_PER_ADDR must be a number (0: no limit)" >&2
    exit 1
    ;;
esac
echo "server.max-connections = $((fds / 2 - 16))"

# The page's WebSocket URL (own_answers.lua serves it in config.json): empty
# for the same-origin path, else ws://, wss:// or scheme-relative //, a host
# (or {host}, which the page replaces with its own) and a path. A bad value
# stops lighttpd here.
ws_url=${CHAT_WEBSOCKET_URL:-}
ws_url_ok() {
    case $1 in
    *"
"*) return 1 ;; # grep -x would judge each line alone
    esac
    printf '%s\n' "$1" | grep -Eqx '(wss?:)?//[][A-Za-z0-9.:{}_~%-]+(/[A-Za-z0-9._~%/-]*)?'
}
if [ -n "$ws_url" ] && ! ws_url_ok "$ws_url"; then
    echo "CHAT_WEBSOCKET_URL must be empty or ws://HOST[:PORT]/PATH, wss://... or //HOST[:PORT]/PATH ({host}: the page's own host), not '$ws_url'" >&2
    exit 1
fi

# The page may connect to its own origin and to that URL; a URL for any
# host ({host}) can only be written as any host on that port.
ws_sources() {
    case $1 in
    '') return 0 ;;
    //*) schemes="ws wss" rest=${1#//} ;;
    *) schemes=${1%%://*} rest=${1#*://} ;;
    esac
    hostport=${rest%%/*}
    case $hostport in
    *'{host}'*)
        case $hostport in
        *:[0-9]*) hostport="*:${hostport##*:}" ;;
        *) hostport='*' ;;
        esac
        ;;
    esac
    for scheme in $schemes; do
        printf ' %s://%s' "$scheme" "$hostport"
    done
}
csp="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'"
csp="$csp; connect-src 'self'$(ws_sources "$ws_url"); form-action 'self'"
csp="$csp; base-uri 'none'; frame-ancestors 'none'"
echo "setenv.set-response-header += ( \"Content-Security-Policy\" => \"$csp\" )"

# round-robin: the default "fair" sends every sequential request to the
# first backend. A dead backend is skipped and retried later by lighttpd.
echo 'fastcgi.balance = "round-robin"'
echo 'fastcgi.server = ( "/chatapp/send" => ('
hosts "$CHAT_SEND_BACKENDS" ', "check-local" => "disable", "fix-root-scriptname" => "enable"'
echo ') )'

# shellcheck disable=SC2016 # a lighttpd $HTTP, not a shell variable
echo '$HTTP["url"] =^ "/chatapp/websocket" {'
# lighttpd counts everything a client sends up an upgraded connection as
# one request body of unknown length, so the 128 KiB server.max-request-size
# of the sends would cut a WebSocket after its first 128 KiB (a long-lived
# page sends that in pongs and history requests) and a frame larger than
# that before the gateway could answer it with 1009. The stream is passed
# on as it comes (stream-request-body), so nothing piles up here; the
# gateway caps each frame.
echo '  server.max-request-size = 0'
# WebSockets live long: spread them by how many each gateway holds.
echo '  proxy.balance = "fair"'
echo '  proxy.server = ( "" => ('
hosts "$CHAT_GATEWAY_BACKENDS" ''
echo '  ) )'
echo '  proxy.header = ( "upgrade" => "enable" )'
echo '}'
