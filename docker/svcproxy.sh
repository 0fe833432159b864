#!/bin/sh
# kube-proxy stand-in for tests/docker: listen on PORT, send each new
# connection to one address of NAME, looked up per connection (see
# svcproxy.Dockerfile). exec: socat is PID 1 and stops on SIGTERM.
set -eu
port=${1:?usage: svcproxy PORT NAME}
name=${2:?usage: svcproxy PORT NAME}
exec socat -d "TCP-LISTEN:$port,fork,reuseaddr,backlog=1024" \
    "TCP:$name:$port,connect-timeout=2"
