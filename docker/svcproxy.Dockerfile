# chat-svcproxy: a stand-in for kube-proxy in tests/docker only. Kubernetes
# gives a Service one stable address and picks a ready pod for every new
# connection; this container is that address (it carries the Service name)
# and socat, forking per connection, lets svcpick resolve the endpoints
# alias anew each time (Docker's DNS answers with the ready pods in shuffled
# order) and skip the pods the drill marked terminating in /endpoints.
# Usage: chat-svcproxy PORT ENDPOINTS_NAME
ARG BASE=chat-base:bookworm
FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      socat >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* \
 && groupadd -g 10001 chat && useradd -u 10001 -g chat -M -d /nonexistent -s /usr/sbin/nologin chat
COPY docker/svcproxy.sh /usr/local/bin/svcproxy
COPY docker/svcpick.sh /usr/local/bin/svcpick
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/svcproxy"]
