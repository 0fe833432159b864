#include "config.h"

#include "conf.h"
#include "log.h"
#include "origin.h"
#include "session.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KIB 1024LL
#define MIB (1024LL * 1024)

#define INT_ITEM(n, field, d, lo, hi)                                          \
    CONF_INT(n, struct gw_config, field, d, lo, hi)
#define STR_ITEM(n, field, d) CONF_STR(n, struct gw_config, field, d)

static const struct conf_item items[] = {
    STR_ITEM("GW_BIND", bind, "127.0.0.1"),
    INT_ITEM("GW_PORT", port, "7681", 1, 65535),
    INT_ITEM("GW_METRICS_PORT", metrics_port, "0", 0, 65535),
    STR_ITEM("REDIS_HOST", redis_host, "127.0.0.1"),
    INT_ITEM("REDIS_PORT", redis_port, "6379", 1, 65535),
    STR_ITEM("REDIS_SENTINELS", redis_sentinels, ""),
    STR_ITEM("REDIS_MASTER_NAME", redis_master_name, "chat"),
    STR_ITEM("LOG_LEVEL", log_level, "info"),
    STR_ITEM("GW_ID", id, ""),
    STR_ITEM("GW_ALLOWED_ORIGINS", allowed_origins, ""),
    INT_ITEM("GW_MAX_CONNECTIONS", max_connections, "20000", 1, 1000000),
    INT_ITEM("GW_QUEUE_MAX_MSGS", queue_max_msgs, "4096", 2, 1000000),
    INT_ITEM("GW_QUEUE_MAX_BYTES", queue_max_bytes, "8388608", 16 * KIB,
             1024 * MIB),
    INT_ITEM("GW_BATCH_MAX_MSGS", batch_max_msgs, "500", 1, 100000),
    INT_ITEM("GW_BATCH_WINDOW_MS", batch_window_ms, "50", 0, 1000),
    INT_ITEM("GW_BATCH_FULL_DELIVERIES", batch_full_deliveries, "50000", 1,
             1000000000),
    INT_ITEM("GW_BATCH_MAX_BYTES", batch_max_bytes, "262144", 4 * KIB,
             64 * MIB),
    INT_ITEM("GW_SESSION_MAX_PENDING", session_max_pending, "8", 1,
             GW_SESSION_PENDING_MAX),
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
    STR_ITEM("GW_TRUSTED_PROXIES", trusted_proxies, "127.0.0.1"),
    INT_ITEM("GW_MAX_CONNECTIONS_PER_ADDRESS", max_conns_per_addr, "1000", 1,
             1000000),
    INT_ITEM("GW_HISTORY_RATE", history_rate, "100", 1, 1000000),
    INT_ITEM("GW_HISTORY_BURST", history_burst, "1000", 1, 10000000),
    INT_ITEM("GW_HISTORY_ADDRESS_INFLIGHT", history_addr_inflight, "64", 1,
             1000000),
    INT_ITEM("GW_HISTORY_BYTES_RATE", history_bytes_rate, "1048576", 4 * KIB,
             1024 * MIB),
    INT_ITEM("GW_HISTORY_BYTES_BURST", history_bytes_burst, "16777216",
             64 * KIB, 16 * 1024 * MIB),
    INT_ITEM("GW_HISTORY_QUEUED_MAX_BYTES", history_queued_max_bytes,
             "67108864", 1 * MIB, 64 * 1024 * MIB),
    INT_ITEM("GW_HISTORY_CACHE", history_cache, "1", 0, 1),
    INT_ITEM("LOG_REPEAT_BURST", log_repeat_burst, "10", 0, 1000000),
    INT_ITEM("LOG_REPEAT_INTERVAL_MS", log_repeat_interval_ms, "10000", 100,
             3600000),
};

/* Cross-field rules and derived defaults. */
static int finish(struct gw_config *cfg)
{
    const char *bad = NULL;
    size_t bad_len = 0;

    if (conf_apply_log_level(cfg->log_level) ||
        conf_sentinels(cfg->redis_sentinels, cfg->redis_master_name,
                       &cfg->sentinels))
        return -1;
    if (cfg->ping_timeout_s <= cfg->ping_interval_s) {
        log_error(
            "config",
            "var=GW_PING_TIMEOUT_S error=\"must be greater than GW_PING_INTERVAL_S\"");
        return -1;
    }
    if (cfg->metrics_port == cfg->port) {
        log_error("config",
                  "var=GW_METRICS_PORT error=\"must differ from GW_PORT (0: "
                  "/metrics on GW_PORT)\"");
        return -1;
    }
    if (conf_not_below(cfg->redis_backoff_max_ms, "GW_REDIS_BACKOFF_MAX_MS",
                       cfg->redis_backoff_min_ms, "GW_REDIS_BACKOFF_MIN_MS"))
        return -1;
    if (origin_list_check(cfg->allowed_origins, &bad, &bad_len)) {
        log_error("config",
                  "var=GW_ALLOWED_ORIGINS error=\"not an origin: '%.*s' (use "
                  "scheme://host[:port], a host of *, or * alone)\"",
                  (int)bad_len, bad);
        return -1;
    }
    if (gw_trusted_parse(cfg->trusted_proxies, &cfg->trusted)) {
        log_error("config",
                  "var=GW_TRUSTED_PROXIES error=\"must be IPv4 addresses or "
                  "a.b.c.d/bits, comma-separated, at most %d\"",
                  GW_TRUSTED_MAX);
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
    if (conf_load(items, n, cfg, getenv) || finish(cfg))
        return -1;
    conf_log(items, n, cfg);
    log_info("config", "GW_ID(effective)=\"%s\"", cfg->id);
    return 0;
}
