# chat-gateway: WebSocket fan-out of the Redis channel. Build from the
# repository root:
#   docker build --network host -f docker/gateway.Dockerfile -t chat-gateway .
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
COPY gateway gateway
RUN make -s -j"$(nproc)" BUILD=release build/release/chat-gateway

FROM ${BASE}
# lws runs on its own poll loop (no evlib plugin), so libwebsockets17 and
# its direct dependencies are all it needs.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libwebsockets17 libhiredis0.14 libjansson4 >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* \
 && groupadd -g 10001 chat && useradd -u 10001 -g chat -M -d /nonexistent -s /usr/sbin/nologin chat
COPY --from=build /src/build/release/chat-gateway /usr/local/bin/chat-gateway
ENV GW_BIND=0.0.0.0 \
    GW_PORT=7681 \
    GW_METRICS_PORT=9100 \
    REDIS_HOST=chat-redis \
    REDIS_PORT=6379 \
    LOG_LEVEL=info
EXPOSE 7681 9100
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/chat-gateway"]
