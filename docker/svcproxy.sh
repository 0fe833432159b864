#!/bin/sh
# kube-proxy stand-in for tests/docker: listen on PORT and hand each new
# connection to svcpick, which chooses one endpoint of NAME for it (see
# svcproxy.Dockerfile). exec: socat is PID 1 and stops on SIGTERM.
set -eu
port=${1:?usage: svcproxy PORT NAME}
name=${2:?usage: svcproxy PORT NAME}
exec socat -d "TCP-LISTEN:$port,fork,reuseaddr,backlog=1024" \
    "EXEC:/usr/local/bin/svcpick $port $name"
