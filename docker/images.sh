#!/usr/bin/env bash
# Local container engine and image builds, with no registry.
#   docker/images.sh start            start our own dockerd unless it answers
#   docker/images.sh stop             stop the dockerd this script started
#   docker/images.sh base             make chat-base:bookworm (cached)
#   docker/images.sh build [PREFIX] [TAG]   (TAG 0.1.0, as in manifests/)
#                                     base + the four images:
#                                     PREFIXchat-send, chat-gateway,
#                                     chat-frontend, chat-redis (stand-in)
#   docker/images.sh push PREFIX [TAG]      push the three images Kubernetes
#                                     runs (Redis there is the official
#                                     redis:7) to the registry in PREFIX
# The engine is Debian's docker.io driven through its own socket, so it
# never touches a Docker already on the machine. Environment:
#   CHAT_DOCKER_SOCK   socket (unix:///run/docker-chat.sock)
#   CHAT_DOCKER_ROOT   data root (/var/lib/docker-chat)
#   CHAT_DOCKER_CACHE  base tarball cache (/var/cache/chat-docker)
#   CHAT_BASE          base image to build on instead of the local one, e.g.
#                      debian:bookworm-slim where a registry is reachable
set -euo pipefail
cd "$(dirname "$0")/.."

SOCK=${CHAT_DOCKER_SOCK:-unix:///run/docker-chat.sock}
DATA=${CHAT_DOCKER_ROOT:-/var/lib/docker-chat}
CACHE=${CHAT_DOCKER_CACHE:-/var/cache/chat-docker}
PIDFILE=/run/docker-chat.pid
OURS=/run/docker-chat.ours
# /usr/local/bin/docker may be an unrelated, newer CLI; use Debian's.
DOCKER=(/usr/bin/docker -H "$SOCK")

say() { printf '%s\n' "$*" >&2; }

engine_up() { "${DOCKER[@]}" version >/dev/null 2>&1; }

cmd_start() {
    if engine_up; then
        say "dockerd: already answering on $SOCK"
        return 0
    fi
    command -v dockerd >/dev/null || {
        say "dockerd: not installed (apt-get install docker.io)"
        return 2
    }
    mkdir -p "$DATA"
    # setsid: the daemon must outlive neither more nor less than we decide;
    # it is stopped by PID in cmd_stop.
    # --iptables=false: dockerd would otherwise rewrite the host's firewall
    # (FORWARD policy DROP, NAT and conntrack rules that outlive it). The
    # drill needs none of it: containers share a bridge, published ports go
    # through docker-proxy, builds use the host's network.
    setsid dockerd --host "$SOCK" --pidfile "$PIDFILE" --data-root "$DATA" \
        --exec-root /run/docker-chat --iptables=false --ip-masq=false \
        >/var/log/docker-chat.log 2>&1 </dev/null &
    echo $! >"$OURS"
    local i
    for i in $(seq 1 60); do
        engine_up && {
            say "dockerd: started (pid $(cat "$OURS"), ${i}x0.5 s)"
            return 0
        }
        kill -0 "$(cat "$OURS")" 2>/dev/null || break
        sleep 0.5
    done
    say "dockerd: did not come up; last log lines:"
    tail -n 15 /var/log/docker-chat.log >&2 || true
    return 1
}

cmd_stop() {
    [ -f "$OURS" ] || return 0
    local pid
    pid=$(cat "$OURS")
    rm -f "$OURS"
    kill "$pid" 2>/dev/null || return 0
    local i
    for i in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# The Debian 12 base made from the machine's own apt sources, trimmed like
# the official bookworm-slim (no docs, man pages or locales). Rebuilt once a
# week so security updates arrive; the tarball survives a wiped data root.
cmd_base() {
    local stamp tar
    stamp=$(date -u +%G%V)
    if "${DOCKER[@]}" image inspect "chat-base:bookworm-$stamp" >/dev/null 2>&1; then
        "${DOCKER[@]}" tag "chat-base:bookworm-$stamp" chat-base:bookworm
        return 0
    fi
    mkdir -p "$CACHE"
    tar="$CACHE/bookworm-slim-$stamp.tar"
    if [ ! -s "$tar" ]; then
        command -v mmdebstrap >/dev/null || {
            say "mmdebstrap missing (apt-get install mmdebstrap)"
            return 2
        }
        say "base: mmdebstrap bookworm (about 20 s)"
        mmdebstrap --quiet --variant=minbase --format=tar \
            --dpkgopt='path-exclude=/usr/share/doc/*' \
            --dpkgopt='path-include=/usr/share/doc/*/copyright' \
            --dpkgopt='path-exclude=/usr/share/man/*' \
            --dpkgopt='path-exclude=/usr/share/info/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' \
            --dpkgopt='path-include=/usr/share/locale/locale.alias' \
            bookworm "$tar.part"
        mv "$tar.part" "$tar"
        find "$CACHE" -name 'bookworm-slim-*.tar' ! -name "${tar##*/}" -delete
    fi
    "${DOCKER[@]}" import -c 'CMD ["/bin/bash"]' "$tar" "chat-base:bookworm-$stamp" >/dev/null
    "${DOCKER[@]}" tag "chat-base:bookworm-$stamp" chat-base:bookworm
}

cmd_build() {
    local prefix=${1:-} tag=${2:-0.1.0} img base=${CHAT_BASE:-}
    if [ -z "$base" ]; then
        cmd_base
        base=chat-base:bookworm
    fi
    for img in send gateway frontend redis; do
        say "build: ${prefix}chat-$img:$tag (on $base)"
        # --network host: apt inside the build reaches the host's mirrors.
        "${DOCKER[@]}" build --network host -q -f "docker/$img.Dockerfile" \
            --build-arg BASE="$base" -t "${prefix}chat-$img:$tag" . >/dev/null
    done
}

cmd_push() {
    local prefix=${1:?usage: $0 push PREFIX [TAG]} tag=${2:-0.1.0} img
    for img in send gateway frontend; do
        say "push: ${prefix}chat-$img:$tag"
        "${DOCKER[@]}" push "${prefix}chat-$img:$tag"
    done
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
base) cmd_base ;;
build)
    shift
    cmd_build "$@"
    ;;
push)
    shift
    cmd_push "$@"
    ;;
*)
    say "usage: $0 start|stop|base|build [PREFIX] [TAG]|push PREFIX [TAG]"
    exit 2
    ;;
esac
