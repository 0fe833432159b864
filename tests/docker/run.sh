#!/usr/bin/env bash
# The real images, built and run: starts Debian's dockerd on its own socket,
# builds the images from this checkout (docker/images.sh), checks them
# (non-root, no compilers, libraries resolve) and runs two drills, each on
# a user-defined bridge network of its own, with the page's WebSocket
# straight to the published gateway Service and some clients on the
# fallback through lighttpd: scaling on one Redis (tests/docker/drill.js)
# and Redis failover on three Redis pods with a Sentinel each, as the
# manifests run them (tests/docker/ha.js).
# Usage: tests/docker/run.sh [BUILD_DIR]   (BUILD_DIR unused: the images
# build from source). Ends with "N passed, N failed"; non-zero on failure.
# When the engine cannot run here the suite says SKIPPED and counts nothing
# (never a pass) -- unless this machine ran it before (marker in the data
# root), where an engine that no longer starts is a failure.
# Environment: DRILL_CLIENTS (300), DRILL_HA_FAULTS (2: the primary's Redis
# container killed, then the new primary's whole pod), CHAT_DOCKER_KEEP=1
# keeps dockerd running.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

SOCK=${CHAT_DOCKER_SOCK:-unix:///run/docker-chat.sock}
DATA=${CHAT_DOCKER_ROOT:-/var/lib/docker-chat}
MARKER=$DATA/.chat-engine-worked
TAG=0.1.0
DOCKER=(/usr/bin/docker -H "$SOCK")
RUN_ID="r$$-$(date +%s)"
# shellcheck source=tests/lib/checks.sh
. tests/lib/checks.sh
finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
    exit
}
skip() {
    echo "SKIPPED: $* (not counted as passed)"
    finish
}
secs() { echo $(($(date +%s) - $1)); }

[ "$(id -u)" -eq 0 ] || skip "dockerd needs root here"
if [ ! -x /usr/sbin/dockerd ] || [ ! -x /usr/bin/docker ]; then
    skip "docker.io is not installed (apt-get install docker.io mmdebstrap)"
fi
command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed"
[ -d tests/node_modules/ws ] || {
    bad "tests/node_modules missing: run (cd tests && npm ci)"
    finish
}

# One drill at a time per machine: the containers carry the Service names.
exec 9>/run/docker-chat.lock
flock -w 600 9 || skip "another docker drill held /run/docker-chat.lock for 10 minutes"

# Removes the containers, networks and volumes labelled $1: chat-drill
# (every drill's) or chat-drill=RUN (one drill's).
remove_labelled() {
    local ids
    ids=$("${DOCKER[@]}" ps -aq --filter "label=$1" 2>/dev/null)
    # shellcheck disable=SC2086 # one id per word
    [ -n "$ids" ] && "${DOCKER[@]}" rm -f $ids >/dev/null 2>&1
    ids=$("${DOCKER[@]}" network ls -q --filter "label=$1" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && "${DOCKER[@]}" network rm $ids >/dev/null 2>&1
    ids=$("${DOCKER[@]}" volume ls -q --filter "label=$1" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && "${DOCKER[@]}" volume rm $ids >/dev/null 2>&1
    return 0
}

started_engine=0
cleanup() {
    remove_labelled chat-drill
    if [ "$started_engine" -eq 1 ] && [ "${CHAT_DOCKER_KEEP:-0}" != 1 ]; then
        docker/images.sh stop
    fi
    return 0
}

T=$(date +%s)
if ! "${DOCKER[@]}" version >/dev/null 2>&1; then
    if docker/images.sh start; then
        started_engine=1
    elif [ -f "$MARKER" ]; then
        bad "dockerd no longer starts on a machine where it ran before (see /var/log/docker-chat.log)"
        finish
    else
        skip "dockerd cannot start on this machine (see /var/log/docker-chat.log)"
    fi
fi
trap cleanup EXIT
touch "$MARKER"
cleanup_leftovers() { started_engine=0 cleanup; }
cleanup_leftovers
echo "engine ready in $(secs "$T") s"

# --- images -------------------------------------------------------------
T=$(date +%s)
if docker/images.sh build "" "$TAG" &&
    "${DOCKER[@]}" build --network host -q -f docker/svcproxy.Dockerfile \
        -t "chat-svcproxy:$TAG" . >/dev/null; then
    ok "images built from source in $(secs "$T") s"
else
    bad "image build failed"
    finish
fi
for img in send gateway frontend redis svcproxy; do
    size=$("${DOCKER[@]}" image inspect -f '{{.Size}}' "chat-$img:$TAG")
    echo "figures: chat-$img:$TAG $((size / 1000000)) MB"
done

for img in send gateway frontend; do
    user=$("${DOCKER[@]}" image inspect -f '{{.Config.User}}' "chat-$img:$TAG")
    uid=$("${DOCKER[@]}" run --rm --entrypoint id "chat-$img:$TAG" -u)
    if [ -n "$user" ] && [ "$uid" != 0 ]; then
        ok "chat-$img runs as a non-root user ($user)"
    else
        bad "chat-$img runs as root"
    fi
    # shellcheck disable=SC2016 # expanded by the container's shell
    if "${DOCKER[@]}" run --rm --entrypoint /bin/sh "chat-$img:$TAG" -c \
        'for c in cc gcc c99 clang make ld as; do command -v "$c" && exit 1; done; exit 0' >/dev/null; then
        ok "chat-$img has no compiler or build tools"
    else
        bad "chat-$img contains build tools"
    fi
done
# docker stop and Kubernetes send the image's stop signal; for lighttpd
# only SIGINT lets the sends in progress finish.
stopsig=$("${DOCKER[@]}" image inspect -f '{{.Config.StopSignal}}' "chat-frontend:$TAG")
if [ "$stopsig" = SIGINT ]; then
    ok "chat-frontend stops lighttpd gracefully (STOPSIGNAL $stopsig)"
else
    bad "chat-frontend stop signal is '${stopsig:-SIGTERM}', lighttpd's immediate stop"
fi
for bin in send:/usr/local/bin/chat-send gateway:/usr/local/bin/chat-gateway; do
    out=$("${DOCKER[@]}" run --rm --entrypoint ldd "chat-${bin%%:*}:$TAG" "${bin#*:}" 2>&1)
    if [ -n "$out" ] && ! grep -q 'not found' <<<"$out"; then
        ok "chat-${bin%%:*}: every shared library resolves in the image"
    else
        bad "chat-${bin%%:*}: missing libraries: $(grep 'not found' <<<"$out" | tr '\n' ' ')"
    fi
done

# --- the drill -----------------------------------------------------------
free_port() {
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}
# The manifest's node ports where free: the page on 30222, the gateway
# Service (the page's direct WebSocket) on 30226.
publish_port() {
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
        free_port
    else
        echo "$1"
    fi
}
port=$(publish_port 30222)
gw_port=$(publish_port 30226)
echo "the frontend is published on $port, the gateway Service on $gw_port"

# One drill (NAME, SCRIPT) on a topology of its own: its checks count, its
# containers' logs go to tests/out when one failed, then it is removed.
run_drill() {
    local name=$1 script=$2 run="$RUN_ID-$1" out rc line failed_before=$FAIL t
    t=$(date +%s)
    echo "--- drill $name ($script)"
    out=$(DRILL_DOCKER="${DOCKER[*]}" DRILL_RUN="$run" DRILL_PORT="$port" \
        DRILL_GW_PORT="$gw_port" DRILL_TAG="$TAG" timeout 300 node "$script" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    line=$(tail -n 1 <<<"$out")
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        PASS=$((PASS + BASH_REMATCH[1]))
        FAIL=$((FAIL + BASH_REMATCH[2]))
        [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ] && bad "$name drill exited $rc"
    else
        bad "$name drill printed no summary (rc $rc; 124 = timed out)"
    fi
    echo "$name drill wall time $(secs "$t") s"
    if [ "$FAIL" -ne "$failed_before" ]; then
        mkdir -p tests/out
        for c in $("${DOCKER[@]}" ps -a --filter "label=chat-drill=$run" --format '{{.Names}}'); do
            "${DOCKER[@]}" logs "$c" >"tests/out/docker-$name-$c.log" 2>&1
        done
        echo "container logs in tests/out/docker-$name-*.log"
    fi
    # the next drill starts on a clean engine and the same published ports
    remove_labelled "chat-drill=$run"
}

# Scaling on one Redis (what ./build.sh run mirrors), then the HA
# topology: three Redis pods with a Sentinel each, the primary killed.
T=$(date +%s)
run_drill scale tests/docker/drill.js
run_drill ha tests/docker/ha.js
echo "drills wall time $(secs "$T") s"
finish
