# chat-redis: a LOCAL STAND-IN for the official redis:7 image, used only by
# tests/docker because no registry is reachable here. Kubernetes uses
# redis:7 with the same docker/redis.conf from a ConfigMap. Like redis:7 it
# carries redis-sentinel and redis-cli, so the manifests' Sentinel
# container and their start scripts (start-redis.sh, start-sentinel.sh)
# run on it too (tests/docker/ha.js).
ARG BASE=chat-base:bookworm
FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      redis-server redis-sentinel >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* \
 && mkdir -p /data && chown redis:redis /data
COPY docker/redis.conf /etc/redis/chat.conf
VOLUME /data
EXPOSE 6379 26379
USER redis
ENTRYPOINT ["redis-server", "/etc/redis/chat.conf"]
