/*
 * See access_log.h. The limiter's key is the answer's kind itself: the
 * status and the addresses of its static error and field strings, which
 * name it exactly and cost no formatting; the summary copies them back.
 */
#include "access_log.h"

#include "log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kind {
    int status;
    bool unknown;
    const char *error;
    const char *field;
};

static long long now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static enum log_level level_of(int status)
{
    return status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO;
}

static void timestamp(char ts[CHAT_DATE_SIZE])
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    if (chat_msg_format_date(&now, ts) != CHAT_OK)
        ts[0] = '\0';
}

/* Write j as one line at level, then drop it. */
static void write_json(enum log_level level, json_t *j)
{
    char *line = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

    if (line)
        log_line(level, line);
    free(line);
    json_decref(j);
}

static void write_summary(const struct log_limit_summary *s)
{
    struct kind k = {0};
    enum log_level level;
    char ts[CHAT_DATE_SIZE];
    json_t *j;

    if (!s->other && s->key_len == sizeof(k))
        memcpy(&k, s->key, sizeof(k));
    level = s->other ? LOG_LEVEL_WARN : level_of(k.status);
    if (!log_enabled(level))
        return;
    timestamp(ts);
    j = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "ts", ts, "level",
                  level == LOG_LEVEL_WARN ? "warn" : "info", "component",
                  "send", "event", "answers_suppressed", "suppressed",
                  (json_int_t)s->suppressed, "written", (json_int_t)s->written,
                  "window_ms", (json_int_t)s->window_ms);
    if (j && s->other)
        json_object_set_new(j, "other", json_true());
    if (j && !s->other) {
        json_object_set_new(j, "status", json_integer(k.status));
        json_object_set_new(j, "error", json_string(k.error));
        if (k.field)
            json_object_set_new(j, "field", json_string(k.field));
        if (k.unknown)
            json_object_set_new(j, "unknown", json_true());
    }
    write_json(level, j);
}

static void write_entry(const struct access_log_entry *e)
{
    enum log_level level = level_of(e->status);
    char ts[CHAT_DATE_SIZE];
    json_t *j;

    timestamp(ts);
    j = json_pack(
        "{s:s,s:s,s:s,s:s,s:i,s:s,s:s*,s:s,s:s,s:I,s:I}", "ts", ts, "level",
        level == LOG_LEVEL_WARN ? "warn" : "info", "component", "send", "event",
        "answer", "status", e->status, "error", e->error, "field", e->field,
        "method", e->method ? e->method : "", "remote",
        e->remote ? e->remote : "", "body_bytes", (json_int_t)e->body_bytes,
        "duration_us", (json_int_t)e->duration_us);
    if (j && e->unknown)
        json_object_set_new(j, "unknown", json_true());
    write_json(level, j);
}

int access_log_init(struct access_log *a, long long burst,
                    long long interval_ms)
{
    if (pthread_mutex_init(&a->lock, NULL))
        return -1;
    log_limit_init(&a->limit, a->slots, ACCESS_LOG_SLOTS,
                   (unsigned long long)burst, interval_ms);
    return 0;
}

void access_log_answer(struct access_log *a, const struct access_log_entry *e)
{
    struct kind k;
    struct log_limit_summary due;
    bool write;

    if (!log_enabled(level_of(e->status)))
        return;
    /* Zeroed first: the padding is part of the key's bytes. */
    memset(&k, 0, sizeof(k));
    k.status = e->status;
    k.unknown = e->unknown;
    k.error = e->error;
    k.field = e->field;
    pthread_mutex_lock(&a->lock);
    write =
        log_limit_take(&a->limit, (const char *)&k, sizeof(k), now_ms(), &due);
    pthread_mutex_unlock(&a->lock);
    if (due.suppressed)
        write_summary(&due);
    if (write)
        write_entry(e);
}

static void emit_summary(void *ctx, const struct log_limit_summary *s)
{
    (void)ctx;
    write_summary(s);
}

void access_log_sweep(struct access_log *a, bool all)
{
    pthread_mutex_lock(&a->lock);
    (void)log_limit_sweep(&a->limit, now_ms(), all, emit_summary, NULL);
    pthread_mutex_unlock(&a->lock);
}

void access_log_cleanup(struct access_log *a)
{
    pthread_mutex_destroy(&a->lock);
}
