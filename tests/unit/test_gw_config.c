/* gateway/config.c: every variable has a default, a range, a clear error. */
#include "check.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

static const struct check_env_row rows[] = {
    {"GW_PORT", "1", 0},
    {"GW_PORT", "65535", 0},
    {"GW_PORT", "0", -1},
    {"GW_PORT", "65536", -1},
    {"GW_PORT", "80x", -1},
    {"GW_PORT", "", -1},
    {"GW_PORT", " 80", -1},
    {"GW_METRICS_PORT", "0", 0}, /* /metrics on GW_PORT */
    {"GW_METRICS_PORT", "65535", 0},
    {"GW_METRICS_PORT", "65536", -1},
    {"GW_METRICS_PORT", "-1", -1},
    {"GW_METRICS_PORT", "7681", -1}, /* GW_PORT's default */
    {"GW_METRICS_PORT", "7682", 0},
    {"REDIS_PORT", "6379", 0},
    {"REDIS_PORT", "-1", -1},
    {"REDIS_SENTINELS", "", 0},
    {"REDIS_SENTINELS", "s1:26379,s2:26379,s3:26379", 0},
    {"REDIS_SENTINELS", "s1:26379,,s2:26379", -1},
    {"REDIS_SENTINELS", "s1:99999", -1},
    {"REDIS_MASTER_NAME", "chat", 0},
    {"REDIS_MASTER_NAME", "", -1},
    {"REDIS_MASTER_NAME", "a b", -1},
    {"GW_QUEUE_MAX_MSGS", "2", 0},
    {"GW_QUEUE_MAX_MSGS", "1", -1},
    {"GW_QUEUE_MAX_BYTES", "16384", 0},
    {"GW_QUEUE_MAX_BYTES", "16383", -1},
    {"GW_MAX_CONNECTIONS", "1000000", 0},
    {"GW_MAX_CONNECTIONS", "1000001", -1},
    {"GW_MAX_CONNECTIONS", "99999999999999999999", -1},
    {"LOG_LEVEL", "debug", 0},
    {"LOG_LEVEL", "verbose", -1},
    {"GW_PING_TIMEOUT_S", "30", -1}, /* not above the 30 s interval */
    {"GW_PING_TIMEOUT_S", "31", 0},
    {"GW_REDIS_BACKOFF_MAX_MS", "99", -1}, /* below the 100 ms minimum */
    {"GW_ID", "gw-a", 0},
    {"GW_BATCH_WINDOW_MS", "0", 0},
    {"GW_BATCH_WINDOW_MS", "1000", 0},
    {"GW_BATCH_WINDOW_MS", "1001", -1},
    {"GW_BATCH_FULL_DELIVERIES", "1", 0},
    {"GW_BATCH_FULL_DELIVERIES", "0", -1},
    {"GW_BATCH_FULL_DELIVERIES", "1000000000", 0},
    {"GW_BATCH_FULL_DELIVERIES", "1000000001", -1},
    {"GW_SESSION_MAX_PENDING", "1", 0},
    {"GW_SESSION_MAX_PENDING", "16", 0}, /* GW_SESSION_PENDING_MAX */
    {"GW_SESSION_MAX_PENDING", "17", -1},
    {"GW_SESSION_MAX_PENDING", "0", -1},
    {"GW_TRUSTED_PROXIES", "", 0},
    {"GW_TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8", 0},
    {"GW_TRUSTED_PROXIES", "10.0.0.0/33", -1},
    {"GW_TRUSTED_PROXIES", "proxy.local", -1},
    {"GW_MAX_CONNECTIONS_PER_ADDRESS", "1", 0},
    {"GW_MAX_CONNECTIONS_PER_ADDRESS", "0", -1},
    {"GW_HISTORY_CACHE", "1", 0},
    {"GW_HISTORY_CACHE", "2", -1},
    {"GW_ALLOWED_ORIGINS", "http://*:30222, https://chat.example", 0},
    {"GW_ALLOWED_ORIGINS", "*", 0},
    {"GW_ALLOWED_ORIGINS", "http://chat.example/page", -1},
    {"GW_ALLOWED_ORIGINS", "chat.example", -1},
};

static void defaults(void)
{
    struct gw_config cfg;

    CHECK_INT(gw_config_load(&cfg), 0);
    CHECK_STR(cfg.bind, "127.0.0.1");
    CHECK_INT(cfg.port, 7681);
    CHECK_INT(cfg.metrics_port, 0);
    CHECK_STR(cfg.redis_host, "127.0.0.1");
    CHECK_INT(cfg.redis_port, 6379);
    CHECK_INT(cfg.queue_max_msgs, 4096);
    CHECK_INT(cfg.queue_max_bytes, 8388608);
    CHECK_STR(cfg.allowed_origins, "");
    CHECK(cfg.id[0] != '\0'); /* derived from host name and pid */
}

static int load(void)
{
    struct gw_config cfg;

    return gw_config_load(&cfg);
}

static void ranges(void)
{
    check_env_rows(rows, sizeof(rows) / sizeof(rows[0]), load);
}

static void string_caps(void)
{
    char big[GW_CONFIG_STR_MAX * 4 + 1];
    struct gw_config cfg;

    /* A valid origin whose host fills the buffer. */
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "http://", 7);
    big[sizeof(big) - 1] = '\0';
    setenv("GW_ALLOWED_ORIGINS", big, 1);
    CHECK_INT(gw_config_load(&cfg), -1);
    big[sizeof(big) - 2] = '\0'; /* exactly the buffer's room */
    setenv("GW_ALLOWED_ORIGINS", big, 1);
    CHECK_INT(gw_config_load(&cfg), 0);
    CHECK_INT(strlen(cfg.allowed_origins), sizeof(big) - 2);
    unsetenv("GW_ALLOWED_ORIGINS");
}

int main(void)
{
    static const char *const vars[] = {"GW_BIND",    "GW_PORT",   "REDIS_HOST",
                                       "REDIS_PORT", "LOG_LEVEL", "GW_ID"};

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    setenv("LOG_LEVEL", "error", 1); /* keep the effective-config lines quiet */
    defaults();
    ranges();
    string_caps();
    return check_summary();
}
