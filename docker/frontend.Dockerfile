# chat-frontend: lighttpd with the page (htdocs/) and conf/. Build from the
# repository root:
#   docker build --network host -f docker/frontend.Dockerfile -t chat-frontend .
# Nothing is compiled, so there is no build stage.
ARG BASE=chat-base:bookworm
FROM ${BASE}
# lighttpd's include_shell runs conf/runtime.sh with /bin/sh (dash, part of
# the base); lighttpd-modules-lua brings mod_magnet for conf/*.lua. The
# Debian package's own /etc/lighttpd config is not used.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      lighttpd lighttpd-modules-lua >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* \
 && groupadd -g 10001 chat && useradd -u 10001 -g chat -M -d /nonexistent -s /usr/sbin/nologin chat
COPY conf/lighttpd.conf conf/runtime.sh conf/*.lua /etc/chat/
COPY htdocs /srv/chat/htdocs
# Probe targets: lighttpd answering is what "alive" and "ready" mean for
# the frontend; backends have their own probes, and a frontend that went
# unready with them would only take the page down too.
RUN printf 'ok\n' >/srv/chat/htdocs/healthz \
 && printf 'ok\n' >/srv/chat/htdocs/readyz
# Backends are the Kubernetes Service names; kube-proxy spreads each new
# connection over the ready pods behind them.
ENV CHAT_CONF_DIR=/etc/chat \
    CHAT_HTDOCS=/srv/chat/htdocs \
    CHAT_HTTP_BIND=0.0.0.0 \
    CHAT_HTTP_PORT=8080 \
    CHAT_SEND_BACKENDS=chat-send:9000 \
    CHAT_GATEWAY_BACKENDS=chat-gateway:7681
EXPOSE 8080
USER 10001:10001
# -D: foreground, errors on stderr. SIGINT is lighttpd's graceful stop:
# sends in progress finish, open WebSockets get
# server.graceful-shutdown-timeout, then the page reconnects and resumes
# through another pod. (SIGTERM would cut the sends too.)
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/sbin/lighttpd", "-D", "-f", "/etc/chat/lighttpd.conf"]
