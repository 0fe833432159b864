#include "config.h"

#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KIB 1024LL
#define MIB (1024LL * 1024)

struct config_item {
    const char *name;
    size_t offset;
    size_t size; /* 0 for integers, else the string buffer size */
    const char *def;
    long long min;
    long long max;
};

#define INT_ITEM(n, field, d, lo, hi)                                          \
    {                                                                          \
        n, offsetof(struct gw_config, field), 0, d, lo, hi                     \
    }
#define STR_ITEM(n, field, d)                                                  \
    {                                                                          \
        n, offsetof(struct gw_config, field),                                  \
            sizeof(((struct gw_config *)0)->field), d, 0, 0                    \
    }

static const struct config_item items[] = {
    STR_ITEM("GW_BIND", bind, "127.0.0.1"),
    INT_ITEM("GW_PORT", port, "7681", 1, 65535),
    STR_ITEM("REDIS_HOST", redis_host, "127.0.0.1"),
    INT_ITEM("REDIS_PORT", redis_port, "6379", 1, 65535),
    STR_ITEM("LOG_LEVEL", log_level, "info"),
    STR_ITEM("GW_ID", id, ""),
    STR_ITEM("GW_ALLOWED_ORIGINS", allowed_origins, ""),
    INT_ITEM("GW_MAX_CONNECTIONS", max_connections, "20000", 1, 1000000),
    INT_ITEM("GW_QUEUE_MAX_MSGS", queue_max_msgs, "4096", 2, 1000000),
    INT_ITEM("GW_QUEUE_MAX_BYTES", queue_max_bytes, "8388608", 16 * KIB,
             1024 * MIB),
    INT_ITEM("GW_BATCH_MAX_MSGS", batch_max_msgs, "500", 1, 100000),
    INT_ITEM("GW_BATCH_MAX_BYTES", batch_max_bytes, "262144", 4 * KIB,
             64 * MIB),
    INT_ITEM("GW_SESSION_MAX_PENDING", session_max_pending, "8", 1, 1000),
    INT_ITEM("GW_PING_INTERVAL_S", ping_interval_s, "30", 1, 3600),
    INT_ITEM("GW_PING_TIMEOUT_S", ping_timeout_s, "60", 2, 7200),
    INT_ITEM("GW_SLOW_CLOSE_GRACE_MS", slow_close_grace_ms, "5000", 1, 600000),
    INT_ITEM("GW_SHUTDOWN_GRACE_MS", shutdown_grace_ms, "3000", 1, 600000),
    INT_ITEM("GW_REDIS_BACKOFF_MIN_MS", redis_backoff_min_ms, "100", 1, 600000),
    INT_ITEM("GW_REDIS_BACKOFF_MAX_MS", redis_backoff_max_ms, "5000", 1,
             600000),
    INT_ITEM("GW_REDIS_CONNECT_TIMEOUT_MS", redis_connect_timeout_ms, "2000",
             10, 600000),
    INT_ITEM("GW_REDIS_PING_MS", redis_ping_ms, "1000", 10, 600000),
    INT_ITEM("GW_HISTORY_TIMEOUT_MS", history_timeout_ms, "5000", 10, 600000),
    INT_ITEM("GW_HISTORY_QUEUE_MAX", history_queue_max, "10000", 1, 10000000),
    INT_ITEM("GW_PRESENCE_REFRESH_MS", presence_refresh_ms, "2000", 100,
             600000),
    INT_ITEM("GW_PRESENCE_TTL_S", presence_ttl_s, "15", 1, 3600),
};

static int set_int(const struct config_item *it, const char *v, void *dst)
{
    char *end;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 10);
    /* strtoll would skip leading blanks; a value is digits only. */
    if (errno || end == v || *end || (*v != '-' && (*v < '0' || *v > '9')) ||
        n < it->min || n > it->max) {
        log_error(
            "config",
            "var=%s value=\"%.64s\" error=\"must be an integer from %lld to %lld\"",
            it->name, v, it->min, it->max);
        return -1;
    }
    *(long long *)dst = n;
    return 0;
}

static int set_str(const struct config_item *it, const char *v, void *dst)
{
    size_t n = strlen(v);

    if (n >= it->size) {
        log_error("config", "var=%s error=\"longer than %zu bytes\"", it->name,
                  it->size - 1);
        return -1;
    }
    memcpy(dst, v, n + 1);
    return 0;
}

static void log_item(const struct config_item *it, const void *src)
{
    if (it->size)
        log_info("config", "%s=\"%s\"", it->name, (const char *)src);
    else
        log_info("config", "%s=%lld", it->name, *(const long long *)src);
}

/* Cross-field rules and derived defaults. */
static int finish(struct gw_config *cfg)
{
    enum log_level lvl;

    if (log_level_parse(cfg->log_level, &lvl)) {
        log_error("config",
                  "var=LOG_LEVEL error=\"must be error, warn, info or debug\"");
        return -1;
    }
    log_set_level(lvl);
    if (cfg->ping_timeout_s <= cfg->ping_interval_s) {
        log_error(
            "config",
            "var=GW_PING_TIMEOUT_S error=\"must be greater than GW_PING_INTERVAL_S\"");
        return -1;
    }
    if (cfg->redis_backoff_max_ms < cfg->redis_backoff_min_ms) {
        log_error(
            "config",
            "var=GW_REDIS_BACKOFF_MAX_MS error=\"must not be below GW_REDIS_BACKOFF_MIN_MS\"");
        return -1;
    }
    if (!cfg->id[0]) {
        char host[128] = "gateway";

        (void)gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        snprintf(cfg->id, sizeof(cfg->id), "%s-%ld", host, (long)getpid());
    }
    return 0;
}

int gw_config_load(struct gw_config *cfg)
{
    size_t n = sizeof(items) / sizeof(items[0]);

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < n; i++) {
        const struct config_item *it = &items[i];
        const char *v = getenv(it->name);
        void *dst = (char *)cfg + it->offset;

        if (!v)
            v = it->def;
        if (it->size ? set_str(it, v, dst) : set_int(it, v, dst))
            return -1;
    }
    if (finish(cfg))
        return -1;
    for (size_t i = 0; i < n; i++)
        log_item(&items[i], (const char *)cfg + items[i].offset);
    log_info("config", "GW_ID(effective)=\"%s\"", cfg->id);
    return 0;
}
