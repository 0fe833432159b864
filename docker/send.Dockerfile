# chat-send: the FastCGI send handler. Build from the repository root:
#   docker build --network host -f docker/send.Dockerfile -t chat-send .
# BASE is Debian 12 made locally by docker/images.sh (no registry needed);
# with a registry, debian:bookworm-slim works the same.
ARG BASE=chat-base:bookworm

FROM ${BASE} AS build
# The same package line in every builder stage, so Docker reuses one layer.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential pkg-config libfcgi-dev libhiredis-dev \
      libwebsockets-dev libjansson-dev >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY tools/embed.sh tools/
COPY common common
COPY fcgi fcgi
RUN make -s -j"$(nproc)" BUILD=release build/release/chat-send

FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libfcgi0ldbl libhiredis0.14 libjansson4 >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* \
 && groupadd -g 10001 chat && useradd -u 10001 -g chat -M -d /nonexistent -s /usr/sbin/nologin chat
COPY --from=build /src/build/release/chat-send /usr/local/bin/chat-send
# Listen on every pod address; Redis is the StatefulSet's Service.
ENV SEND_BIND=0.0.0.0 \
    SEND_PORT=9000 \
    SEND_HEALTH_PORT=9100 \
    REDIS_HOST=chat-redis \
    REDIS_PORT=6379 \
    LOG_LEVEL=info
EXPOSE 9000 9100
USER 10001:10001
# Exec form: chat-send is PID 1 and gets SIGTERM itself (its own handler
# replaces libfcgi's, which would only set a flag).
ENTRYPOINT ["/usr/local/bin/chat-send"]
