/* fcgi/config.c: every variable has a default, a range, a clear error. */
#include "check.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct check_env_row rows[] = {
    {"SEND_PORT", "1", 0},
    {"SEND_PORT", "65535", 0},
    {"SEND_PORT", "0", -1},
    {"SEND_PORT", "65536", -1},
    {"SEND_PORT", "90x", -1},
    {"SEND_PORT", "+90", -1},
    {"SEND_HEALTH_PORT", "0", 0}, /* 0 turns the health port off */
    {"SEND_HEALTH_PORT", "65536", -1},
    {"SEND_HEALTH_PORT", "9000", -1}, /* the FastCGI port's default */
    {"SEND_THREADS", "256", 0},
    {"SEND_THREADS", "257", -1},
    {"SEND_THREADS", "-1", -1},
    {"SEND_IO_TIMEOUT_MS", "100", 0},
    {"SEND_IO_TIMEOUT_MS", "99", -1},
    {"SEND_IO_TIMEOUT_MS", "600000", 0},
    {"SEND_IO_TIMEOUT_MS", "600001", -1},
    {"REDIS_TIMEOUT_MS", "10", 0},
    {"REDIS_TIMEOUT_MS", "9", -1},
    {"REDIS_TIMEOUT_MS", "60000", 0},
    {"REDIS_TIMEOUT_MS", "60001", -1},
    {"REDIS_BACKOFF_MAX_MS", "49", -1}, /* below the 50 ms minimum */
    {"REDIS_BACKOFF_MAX_MS", "50", 0},
    {"CHAT_HISTORY_MAX", "0", -1},
    {"CHAT_HISTORY_MAX", "1", 0},
    {"SEND_RATE_PER_MIN", "6000000", 0},
    {"SEND_RATE_PER_MIN", "6000001", -1},
    {"SEND_RATE_BURST", "0", -1},
    {"SEND_RATE_BURST", "1", 0},
    {"SEND_SOCKET", "/run/chat/send.sock", 0},
    {"SEND_SOCKET", "run/send.sock", -1}, /* relative: refused */
    {"LOG_LEVEL", "warn", 0},
    {"LOG_LEVEL", "WARN", -1},
    {"SEND_ALLOWED_ORIGINS", "", 0},
    {"SEND_ALLOWED_ORIGINS", "*", 0},
    {"SEND_ALLOWED_ORIGINS", "http://*:30222, https://chat.example", 0},
    {"SEND_ALLOWED_ORIGINS", "chat.example", -1},
    {"SEND_ALLOWED_ORIGINS", "http://chat.example/", -1},
    {"SEND_ALLOWED_ORIGINS", "http://a.example,,http://b.example", -1},
    {"LOG_REPEAT_BURST", "0", 0}, /* 0: every line is written */
    {"LOG_REPEAT_BURST", "1000000", 0},
    {"LOG_REPEAT_BURST", "1000001", -1},
    {"LOG_REPEAT_INTERVAL_MS", "99", -1},
    {"LOG_REPEAT_INTERVAL_MS", "100", 0},
    {"LOG_REPEAT_INTERVAL_MS", "86400000", 0},
    {"LOG_REPEAT_INTERVAL_MS", "86400001", -1},
    {"REDIS_SENTINELS", "", 0}, /* one Redis at REDIS_HOST */
    {"REDIS_SENTINELS", "s1:26379, s2:26379,[::1]:26379", 0},
    {"REDIS_SENTINELS", "s1", -1},
    {"REDIS_SENTINELS", "s1:26379,", -1},
    {"REDIS_SENTINELS", "s1:0", -1},
    {"REDIS_MASTER_NAME", "chat", 0},
    {"REDIS_MASTER_NAME", "", -1},
    {"REDIS_MASTER_NAME", "my master", -1},
    {"SEND_MIN_REPLICAS", "0", 0},
    {"SEND_MIN_REPLICAS", "16", 0},
    {"SEND_MIN_REPLICAS", "17", -1},
    {"SEND_WAIT_TIMEOUT_MS", "0", -1},
    {"SEND_WAIT_TIMEOUT_MS", "1", 0},
    {"SEND_WAIT_TIMEOUT_MS", "30000", 0}, /* no WAIT: no rule against it */
    {"SEND_WAIT_TIMEOUT_MS", "30001", -1},
};

/* With WAIT on, it must fit in half the command timeout. */
static void wait_fits(void)
{
    struct send_config cfg;

    setenv("SEND_MIN_REPLICAS", "1", 1);
    setenv("REDIS_TIMEOUT_MS", "1000", 1);
    setenv("SEND_WAIT_TIMEOUT_MS", "500", 1);
    CHECK_INT(send_config_load(&cfg), 0);
    CHECK_INT(cfg.min_replicas, 1);
    CHECK_INT(cfg.wait_timeout_ms, 500);
    setenv("SEND_WAIT_TIMEOUT_MS", "501", 1);
    CHECK_INT(send_config_load(&cfg), -1);
    unsetenv("SEND_MIN_REPLICAS");
    unsetenv("REDIS_TIMEOUT_MS");
    unsetenv("SEND_WAIT_TIMEOUT_MS");
    setenv("REDIS_SENTINELS", "a:1,b:2", 1);
    CHECK_INT(send_config_load(&cfg), 0);
    CHECK_INT(cfg.sentinels.n, 2);
    CHECK_STR(cfg.sentinels.at[1].host, "b");
    CHECK_STR(cfg.redis_master_name, "chat");
    unsetenv("REDIS_SENTINELS");
}

static void defaults(void)
{
    struct send_config cfg;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    CHECK_INT(send_config_load(&cfg), 0);
    CHECK_STR(cfg.bind, "127.0.0.1");
    CHECK_INT(cfg.port, 9000);
    CHECK_INT(cfg.health_port, 9100);
    CHECK_INT(cfg.threads, cores > 0 ? cores : 1); /* 0 means one per core */
    CHECK_STR(cfg.redis_host, "127.0.0.1");
    CHECK_INT(cfg.redis_port, 6379);
    CHECK_INT(cfg.redis_timeout_ms, 1000);
    CHECK_INT(cfg.history_max, 100000);
    CHECK_INT(cfg.rate_per_min, 0); /* rate limiting is off by default */
    CHECK_INT(cfg.log_repeat_burst, 10);
    CHECK_STR(cfg.allowed_origins, ""); /* same origin */
    CHECK_INT(cfg.log_repeat_interval_ms, 10000);
}

static int load(void)
{
    struct send_config cfg;

    return send_config_load(&cfg);
}

static void ranges(void)
{
    check_env_rows(rows, sizeof(rows) / sizeof(rows[0]), load);
}

static void string_caps(void)
{
    char big[SEND_CONFIG_STR_MAX + 1];
    struct send_config cfg;

    memset(big, 'h', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    setenv("REDIS_HOST", big, 1);
    CHECK_INT(send_config_load(&cfg), -1);
    big[sizeof(big) - 2] = '\0'; /* exactly the buffer's room */
    setenv("REDIS_HOST", big, 1);
    CHECK_INT(send_config_load(&cfg), 0);
    CHECK_INT(strlen(cfg.redis_host), sizeof(big) - 2);
    unsetenv("REDIS_HOST");
}

int main(void)
{
    static const char *const vars[] = {
        "SEND_BIND",         "SEND_PORT",        "SEND_HEALTH_PORT",
        "SEND_THREADS",      "REDIS_HOST",       "REDIS_PORT",
        "REDIS_TIMEOUT_MS",  "CHAT_HISTORY_MAX", "LOG_LEVEL",
        "SEND_RATE_PER_MIN", "SEND_RATE_BURST"};

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    setenv("LOG_LEVEL", "error", 1); /* keep the effective-config lines quiet */
    defaults();
    ranges();
    string_caps();
    wait_fits();
    return check_summary();
}
