/*
 * The gateway's configuration, read once from the environment. This is
 * the only module that calls getenv().
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include "clientaddr.h"
#include "frame.h"
#include "sentinel.h"

#define GW_CONFIG_STR_MAX 256

struct gw_config {
    char bind[GW_CONFIG_STR_MAX];
    long long port;
    long long metrics_port; /* 0: /metrics on port, else only here */
    char redis_host[GW_CONFIG_STR_MAX];
    long long redis_port;
    /* "": one Redis at redis_host; else Sentinels that name the primary */
    char redis_sentinels[GW_CONFIG_STR_MAX * 4];
    struct sentinel_list sentinels; /* redis_sentinels, parsed */
    char redis_master_name[SENTINEL_NAME_MAX + 1];
    char log_level[16];
    char id[GW_CONFIG_STR_MAX];                  /* presence field name */
    char allowed_origins[GW_CONFIG_STR_MAX * 4]; /* "" = same host */
    long long max_connections;
    long long queue_max_msgs;
    long long queue_max_bytes;
    long long batch_max_msgs;
    long long batch_max_bytes;
    long long batch_window_ms;       /* longest batch window (busy feed) */
    long long batch_full_deliveries; /* deliveries/s earning the whole window */
    long long session_max_pending;   /* history requests in flight */
    long long ping_interval_s;
    long long ping_timeout_s;
    long long slow_close_grace_ms;
    long long shutdown_grace_ms;
    long long redis_backoff_min_ms;
    long long redis_backoff_max_ms;
    long long redis_connect_timeout_ms;
    long long redis_ping_ms;
    long long history_timeout_ms;
    long long history_queue_max;
    long long presence_refresh_ms;
    long long presence_ttl_s;
    /* Per client address (clientaddr.h says who that is). */
    char trusted_proxies[GW_CONFIG_STR_MAX];
    struct gw_trusted trusted; /* trusted_proxies, parsed */
    long long max_conns_per_addr;
    long long history_rate;          /* requests per second */
    long long history_addr_inflight; /* requests taken, not answered */
    long long history_burst;
    long long history_bytes_rate; /* reply bytes per second */
    long long history_bytes_burst;
    /* Process-wide: reply bytes waiting for slow readers. */
    long long history_queued_max_bytes;
    long long history_cache;    /* 1: serve the newest page from memory */
    long long log_repeat_burst; /* lines of one kind per interval */
    long long log_repeat_interval_ms;
};

/*
 * Fill *cfg from the environment, applying defaults. Returns 0, or -1
 * after logging which variable is wrong and why. Logs the effective
 * configuration on success.
 */
GW_WUR int gw_config_load(struct gw_config *cfg);

#endif
