#include "config.h"

#include "conf.h"
#include "log.h"
#include "origin.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INT_ITEM(n, field, d, lo, hi)                                          \
    CONF_INT(n, struct send_config, field, d, lo, hi)
#define STR_ITEM(n, field, d) CONF_STR(n, struct send_config, field, d)

static const struct conf_item items[] = {
    STR_ITEM("SEND_BIND", bind, "127.0.0.1"),
    INT_ITEM("SEND_PORT", port, "9000", 1, 65535),
    STR_ITEM("SEND_SOCKET", socket_path, ""),
    INT_ITEM("SEND_HEALTH_PORT", health_port, "9100", 0, 65535),
    INT_ITEM("SEND_THREADS", threads, "0", 0, 256),
    INT_ITEM("SEND_BACKLOG", backlog, "1024", 1, 65535),
    INT_ITEM("SEND_IO_TIMEOUT_MS", io_timeout_ms, "10000", 100, 600000),
    STR_ITEM("REDIS_HOST", redis_host, "127.0.0.1"),
    INT_ITEM("REDIS_PORT", redis_port, "6379", 1, 65535),
    STR_ITEM("REDIS_SENTINELS", redis_sentinels, ""),
    STR_ITEM("REDIS_MASTER_NAME", redis_master_name, "chat"),
    INT_ITEM("SEND_MIN_REPLICAS", min_replicas, "0", 0, 16),
    INT_ITEM("SEND_WAIT_TIMEOUT_MS", wait_timeout_ms, "500", 1, 30000),
    INT_ITEM("REDIS_TIMEOUT_MS", redis_timeout_ms, "1000", 10, 60000),
    INT_ITEM("REDIS_CONNECT_TIMEOUT_MS", redis_connect_timeout_ms, "500", 10,
             60000),
    INT_ITEM("REDIS_BACKOFF_MIN_MS", redis_backoff_min_ms, "50", 1, 60000),
    INT_ITEM("REDIS_BACKOFF_MAX_MS", redis_backoff_max_ms, "500", 1, 60000),
    INT_ITEM("CHAT_HISTORY_MAX", history_max, "100000", 1, 1000000000),
    INT_ITEM("SEND_RATE_PER_MIN", rate_per_min, "0", 0, 6000000),
    INT_ITEM("SEND_RATE_BURST", rate_burst, "10", 1, 100000),
    STR_ITEM("SEND_ALLOWED_ORIGINS", allowed_origins, ""),
    STR_ITEM("LOG_LEVEL", log_level, "info"),
    INT_ITEM("LOG_REPEAT_BURST", log_repeat_burst, "10", 0, 1000000),
    INT_ITEM("LOG_REPEAT_INTERVAL_MS", log_repeat_interval_ms, "10000", 100,
             86400000),
};

/* REDIS_SENTINELS, REDIS_MASTER_NAME and the WAIT settings. */
static int finish_redis(struct send_config *cfg)
{
    if (conf_sentinels(cfg->redis_sentinels, cfg->redis_master_name,
                       &cfg->sentinels))
        return -1;
    /* WAIT must end, and the reply come back, before the command timeout. */
    if (cfg->min_replicas > 0 &&
        cfg->wait_timeout_ms * 2 > cfg->redis_timeout_ms) {
        log_error("config", "var=SEND_WAIT_TIMEOUT_MS error=\"must be at most "
                            "half of REDIS_TIMEOUT_MS\"");
        return -1;
    }
    return 0;
}

static int finish(struct send_config *cfg)
{
    const char *bad = NULL;
    size_t bad_len = 0;

    if (finish_redis(cfg))
        return -1;
    if (origin_list_check(cfg->allowed_origins, &bad, &bad_len)) {
        log_error("config",
                  "var=SEND_ALLOWED_ORIGINS entry=\"%.*s\" error=\"must be * "
                  "or scheme://host[:port] (host may be *)\"",
                  (int)bad_len, bad);
        return -1;
    }
    if (conf_apply_log_level(cfg->log_level) ||
        conf_not_below(cfg->redis_backoff_max_ms, "REDIS_BACKOFF_MAX_MS",
                       cfg->redis_backoff_min_ms, "REDIS_BACKOFF_MIN_MS"))
        return -1;
    if (cfg->socket_path[0] && cfg->socket_path[0] != '/') {
        log_error("config",
                  "var=SEND_SOCKET error=\"must be an absolute path\"");
        return -1;
    }
    if (cfg->health_port == cfg->port && !cfg->socket_path[0]) {
        log_error("config",
                  "var=SEND_HEALTH_PORT error=\"must differ from SEND_PORT\"");
        return -1;
    }
    if (cfg->threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);

        cfg->threads = cores > 0 ? cores : 1;
    }
    return 0;
}

int send_config_load(struct send_config *cfg)
{
    size_t n = sizeof(items) / sizeof(items[0]);

    memset(cfg, 0, sizeof(*cfg));
    if (conf_load(items, n, cfg, getenv) || finish(cfg))
        return -1;
    conf_log(items, n, cfg);
    log_info("config", "SEND_THREADS(effective)=%lld", cfg->threads);
    return 0;
}
