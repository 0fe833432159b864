/*
 * The send handler's configuration, read once from the environment. This
 * is the only file of fcgi/ that calls getenv().
 */
#ifndef SEND_CONFIG_H
#define SEND_CONFIG_H

#include "chat_msg.h"
#include "sentinel.h"

#define SEND_CONFIG_STR_MAX 256

struct send_config {
    char bind[SEND_CONFIG_STR_MAX]; /* FastCGI listen address */
    long long port;
    char socket_path[SEND_CONFIG_STR_MAX]; /* "": TCP on bind:port */
    long long health_port; /* /healthz /readyz /metrics; 0 = none */
    long long threads;     /* 0 = one per online core */
    long long backlog;
    long long io_timeout_ms; /* a FastCGI peer silent this long is dropped */
    char redis_host[SEND_CONFIG_STR_MAX];
    long long redis_port;
    /* "": one Redis at redis_host; else Sentinels that name the primary */
    char redis_sentinels[SEND_CONFIG_STR_MAX * 4];
    struct sentinel_list sentinels; /* redis_sentinels, parsed */
    char redis_master_name[SENTINEL_NAME_MAX + 1];
    long long min_replicas;    /* WAIT for this many replicas; 0: no WAIT */
    long long wait_timeout_ms; /* how long WAIT may take */
    long long redis_timeout_ms;
    long long redis_connect_timeout_ms;
    long long redis_backoff_min_ms;
    long long redis_backoff_max_ms;
    long long history_max;
    long long rate_per_min; /* messages per client address; 0 = off */
    long long rate_burst;
    char allowed_origins[SEND_CONFIG_STR_MAX * 4]; /* "" = same origin */
    char log_level[16];
    long long log_repeat_burst; /* lines of one kind per interval; 0 = all */
    long long log_repeat_interval_ms;
};

/*
 * Fill *cfg from the environment with defaults, resolve threads = 0 to the
 * number of online cores, and log the effective values. Returns 0, or -1
 * after logging which variable is wrong and why.
 */
CHAT_WUR int send_config_load(struct send_config *cfg);

#endif
