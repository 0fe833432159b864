#!/usr/bin/env bash
# Offline checks of manifests/chatapp.yaml and the autoscalers
# (manifests/autoscaling*.yaml), no cluster needed:
#   yamllint; the Kubernetes API schema via kubernetes-models (types,
#   required fields) and kubernetes-types + tsc --strict (unknown fields);
#   broken copies that the same checks must reject; the manifests, the
#   autoscalers and the Prometheus scrape config against the code
#   (tests/k8s/consistency.js), plus copies it must reject.
# Usage: tests/k8s/run.sh [BUILD_DIR]   (BUILD_DIR is not needed; accepted
# for ./build.sh). Ends with "N passed, N failed"; non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
MANIFEST=manifests/chatapp.yaml
# HorizontalPodAutoscalers: on CPU, and the gateway's on connections too.
AUTOSCALING=(manifests/autoscaling.yaml manifests/autoscaling-connections.yaml)
SCRAPE=manifests/monitoring/prometheus.yml
SCHEMA=(node tests/k8s/schema.js)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=tests/lib/checks.sh
. "$ROOT/tests/lib/checks.sh"

if [ ! -d tests/node_modules/kubernetes-models ] ||
    [ ! -d tests/node_modules/kubernetes-types ] ||
    [ ! -d tests/node_modules/typescript ]; then
    bad "npm packages missing: run (cd tests && npm ci)"
    echo "$PASS passed, $FAIL failed"
    exit 1
fi
mkdir -p tests/out

YAMLLINT_CONF='{extends: default, rules: {document-start: disable}}'

# --- the real manifests ------------------------------------------------
for file in "$MANIFEST" "${AUTOSCALING[@]}"; do
    if show yamllint -f parsable -d "$YAMLLINT_CONF" "$file"; then
        ok "yamllint $file"
    else
        bad "yamllint $file"
    fi
    if show "${SCHEMA[@]}" models "$file"; then
        ok "kubernetes-models validate() accepts every document of $file"
    else
        bad "kubernetes-models rejected $file"
    fi
    if show "${SCHEMA[@]}" types "$file"; then
        ok "kubernetes-types + tsc --strict accept every document of $file"
    else
        bad "tsc rejected $file"
    fi
done

# --- broken copies: the same checks must reject them, for the right reason
# An unknown field (a typo kubectl --validate=strict would refuse).
sed '0,/^\( *\)- name: fastcgi$/s//&\n\1  protocl: TCP/' "$MANIFEST" >"$WORK/unknown.yaml"
# A wrong type.
sed '0,/replicas: 2$/s//replicas: "two"/' "$MANIFEST" >"$WORK/wrongtype.yaml"
# Both at once, as the issue asks.
sed '0,/replicas: 2$/s//replicas: "two"/' "$WORK/unknown.yaml" >"$WORK/broken.yaml"

expect_rejected() {
    # $1 file, $2 what, $3... patterns the diagnostics must contain
    local file=$1 what=$2 out rc=0 p missing=""
    shift 2
    if cmp -s "$file" "$MANIFEST"; then
        bad "$what: the broken copy equals the manifest (sed found nothing)"
        return
    fi
    # Run both validators (not stopping at the first) to see every reason;
    # the file is rejected if either one rejects it.
    out=$("${SCHEMA[@]}" models "$file" 2>&1) || rc=1
    out+=$'\n'$("${SCHEMA[@]}" types "$file" 2>&1) || rc=1
    for p in "$@"; do
        grep -qF -- "$p" <<<"$out" || missing+=" [$p]"
    done
    if [ "$rc" -ne 0 ] && [ -z "$missing" ]; then
        ok "$what is rejected"
    else
        bad "$what: rc=$rc, diagnostics missing:$missing"
        indent <<<"$out"
    fi
}
expect_rejected "$WORK/unknown.yaml" "unknown field (protocl)" \
    "'\"protocl\"' does not exist in type"
expect_rejected "$WORK/wrongtype.yaml" 'wrong type (replicas: "two")' \
    "replicas must be integer"
expect_rejected "$WORK/broken.yaml" "unknown field + wrong type together" \
    "'\"protocl\"' does not exist" "not assignable to type 'number'"
# The unknown field alone must be caught by tsc, since models cannot.
if "${SCHEMA[@]}" types "$WORK/unknown.yaml" >/dev/null 2>&1; then
    bad "tsc accepted an unknown field: the types check cannot fail"
else
    ok "tsc alone rejects the unknown field"
fi

printf 'a: 1\na: 2\n' >"$WORK/dup.yaml"
if yamllint -d "$YAMLLINT_CONF" "$WORK/dup.yaml" >/dev/null 2>&1; then
    bad "yamllint accepted a duplicate key"
else
    ok "yamllint rejects a duplicate key"
fi

# --- manifests against the code ---------------------------------------
out=$(node tests/k8s/consistency.js "$MANIFEST" "$ROOT" 2>&1)
rc=$?
indent <<<"$out"
line=$(tail -n 1 <<<"$out")
if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    PASS=$((PASS + BASH_REMATCH[1]))
    FAIL=$((FAIL + BASH_REMATCH[2]))
    [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ] && bad "consistency.js exited $rc"
else
    bad "consistency.js printed no summary (rc $rc)"
fi

# Each drift the consistency test exists for must make it fail with a
# complaint the real manifest does not get (so a failure elsewhere cannot
# make these pass).
mutant() {
    # $1 what, $2 sed expression applied to the manifest
    local new
    sed "$2" "$MANIFEST" >"$WORK/mutant.yaml"
    if cmp -s "$WORK/mutant.yaml" "$MANIFEST"; then
        bad "mutant '$1' did not change the manifest"
        return
    fi
    new=$(node tests/k8s/consistency.js "$WORK/mutant.yaml" "$ROOT" 2>&1 |
        grep -vxF -f <(printf '%s\n' "$out") | grep -v 'passed, .* failed' || true)
    if grep -q . <<<"$new"; then
        ok "consistency rejects: $1"
    else
        bad "consistency accepted: $1"
    fi
}
mutant "image name" 's/image: chat-gateway:/image: chat-gatewy:/'
mutant "gateway port" 's/containerPort: 7681/containerPort: 7682/'
mutant "probe path" '0,/path: \/readyz/s//path: \/ready/'
mutant "env var name" 's/- name: GW_SHUTDOWN_GRACE_MS/- name: GW_SHUTDOWN_GRACE/'
mutant "backend Service name" 's/CHAT_SEND_BACKENDS: "chat-send:9000"/CHAT_SEND_BACKENDS: "chat-sender:9000"/'
mutant "network policy source" '/^kind: NetworkPolicy$/,$ s/name: chat-frontend$/name: chat-frontnd/'
mutant "the page's WebSocket port" 's#//{host}:30226/#//{host}:30227/#'
mutant "the gateway's origin allow-list" 's#value: "http://\*:30222"#value: "http://*:30223"#'
mutant "client addresses" '0,/externalTrafficPolicy: Local/s//externalTrafficPolicy: Cluster/'
mutant "browsers kept off the gateway" '/^kind: NetworkPolicy$/,$ {/^  name: chat-gateway$/,/^---$/ s/^    - ports:$/    - from: [{podSelector: {}}]\n      ports:/}'
mutant "the gateway's /metrics on its node port" '/^      targetPort: http$/{N;s/targetPort: http\n      nodePort: 30226/targetPort: http-health\n      nodePort: 30226/}'
mutant "disruption budget" '/^kind: PodDisruptionBudget$/,/^---$/s/^  name: chat-gateway$/  name: chat-gateway-old/'

# The same for the autoscalers and the scrape config: $1 what, $2 the file
# to break, $3 sed expression; the other files are passed as they are.
other_mutant() {
    local file=$2 new args=() f
    sed "$3" "$file" >"$WORK/other.yaml"
    if cmp -s "$WORK/other.yaml" "$file"; then
        bad "mutant '$1' did not change $file"
        return
    fi
    for f in "${AUTOSCALING[@]}"; do
        if [ "$f" = "$file" ]; then args+=(--hpa "$WORK/other.yaml"); else args+=(--hpa "$f"); fi
    done
    if [ "$file" = "$SCRAPE" ]; then args+=(--scrape "$WORK/other.yaml"); else args+=(--scrape "$SCRAPE"); fi
    new=$(node tests/k8s/consistency.js "$MANIFEST" "$ROOT" "${args[@]}" 2>&1 |
        grep -vxF -f <(printf '%s\n' "$out") | grep -v 'passed, .* failed' || true)
    if grep -q . <<<"$new"; then
        ok "consistency rejects: $1"
    else
        bad "consistency accepted: $1"
    fi
}
HPA=${AUTOSCALING[0]}
HPA_CONN=${AUTOSCALING[1]}
other_mutant "an autoscaler for a Deployment we do not ship" "$HPA" '0,/^    name: chat-gateway$/s//    name: chat-gatewy/'
other_mutant "a CPU target above the CPU limit" "$HPA" '0,/averageValue: 600m/s//averageValue: 1500m/'
other_mutant "a minimum of one pod" "$HPA" '0,/minReplicas: 2/s//minReplicas: 1/'
other_mutant "three gateways removed at once" "$HPA" '0,/^          value: 1$/s//          value: 3/'
other_mutant "a connections metric the gateway does not export" "$HPA_CONN" 's/name: chat_gw_connections/name: chat_gw_conections/'
other_mutant "a connections target over GW_MAX_CONNECTIONS" "$HPA_CONN" 's/averageValue: "10000"/averageValue: "30000"/'
other_mutant "the send handler scraped on its FastCGI port" "$SCRAPE" 's/regex: chat-send;chatapp;http-health/regex: chat-send;chatapp;fastcgi/'
other_mutant "the gateway scraped on its WebSocket port" "$SCRAPE" 's/regex: chat-gateway;chatapp;http-health/regex: chat-gateway;chatapp;http/'
other_mutant "targets without the pod label the adapter needs" "$SCRAPE" 's/target_label: pod$/target_label: pod_name/'


echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
