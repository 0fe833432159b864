#!/bin/sh
# One connection, on stdin/stdout: choose an endpoint as kube-proxy does and
# splice the connection to it. The endpoints are the addresses Docker's DNS
# gives for NAME (the ready pods' alias, in shuffled order) less those the
# drill listed in /endpoints/terminating: Kubernetes takes a pod out of its
# Service's endpoints when its deletion begins, before the SIGTERM.
set -eu
port=$1
name=$2
gone=/endpoints/terminating
ips=$(getent ahostsv4 "$name" | awk '$2 == "STREAM" { print $1 }')
if [ -s "$gone" ]; then
    ips=$(printf '%s\n' "$ips" | grep -vxF -f "$gone" || true)
fi
ip=$(printf '%s\n' "$ips" | sed '/^$/d' | shuf -n 1)
[ -n "$ip" ] || exit 1
exec socat STDIO "TCP:$ip:$port,connect-timeout=2"
