/* See metrics.h. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>

static const int statuses[SEND_METRICS_NSTATUS] = SEND_METRICS_STATUSES;
static const unsigned long long bounds_us[SEND_METRICS_NBUCKET] =
    SEND_METRICS_BUCKETS_US;

void send_metrics_init(struct send_metrics *m)
{
    for (size_t i = 0; i <= SEND_METRICS_NSTATUS; i++)
        atomic_init(&m->by_status[i], 0);
    for (size_t i = 0; i <= SEND_METRICS_NBUCKET; i++)
        atomic_init(&m->latency[i], 0);
    atomic_init(&m->latency_sum_us, 0);
    atomic_init(&m->stored, 0);
    atomic_init(&m->ephemeral, 0);
    atomic_init(&m->replayed, 0);
    atomic_init(&m->unknown, 0);
}

void send_metrics_answer(struct send_metrics *m, int status,
                         unsigned long long usec)
{
    size_t s = 0;
    size_t b = 0;

    while (s < SEND_METRICS_NSTATUS && statuses[s] != status)
        s++;
    while (b < SEND_METRICS_NBUCKET && usec > bounds_us[b])
        b++;
    atomic_fetch_add_explicit(&m->by_status[s], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_us, usec, memory_order_relaxed);
}

void send_metrics_published(struct send_metrics *m, bool stored)
{
    atomic_fetch_add_explicit(stored ? &m->stored : &m->ephemeral, 1,
                              memory_order_relaxed);
}

void send_metrics_replayed(struct send_metrics *m)
{
    atomic_fetch_add_explicit(&m->replayed, 1, memory_order_relaxed);
}

void send_metrics_unknown(struct send_metrics *m)
{
    atomic_fetch_add_explicit(&m->unknown, 1, memory_order_relaxed);
}

/* A bounded writer: once a line does not fit, nothing more is written. */
struct out {
    char *buf;
    size_t cap;
    size_t len;
    int full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o,
                                                      const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->full = 1;
        o->buf[o->len] = '\0';
        return;
    }
    o->len += (size_t)n;
}

static unsigned long long get(atomic_ullong *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void render_requests(struct out *o, struct send_metrics *m)
{
    put(o, "# HELP chat_send_requests_total Answers by HTTP status.\n"
           "# TYPE chat_send_requests_total counter\n");
    for (size_t i = 0; i < SEND_METRICS_NSTATUS; i++)
        put(o, "chat_send_requests_total{status=\"%d\"} %llu\n", statuses[i],
            get(&m->by_status[i]));
    put(o, "chat_send_requests_total{status=\"other\"} %llu\n",
        get(&m->by_status[SEND_METRICS_NSTATUS]));
}

static void render_latency(struct out *o, struct send_metrics *m)
{
    unsigned long long cum = 0;

    put(o, "# HELP chat_send_request_duration_seconds Time from request to "
           "answer.\n"
           "# TYPE chat_send_request_duration_seconds histogram\n");
    for (size_t i = 0; i < SEND_METRICS_NBUCKET; i++) {
        cum += get(&m->latency[i]);
        put(o, "chat_send_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
            (double)bounds_us[i] / 1e6, cum);
    }
    cum += get(&m->latency[SEND_METRICS_NBUCKET]);
    put(o, "chat_send_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
        cum);
    put(o, "chat_send_request_duration_seconds_sum %.6f\n",
        (double)get(&m->latency_sum_us) / 1e6);
    put(o, "chat_send_request_duration_seconds_count %llu\n", cum);
}

size_t send_metrics_render(struct send_metrics *m,
                           const struct send_metrics_redis *redis,
                           long long threads, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0, cap == 0};

    if (cap)
        buf[0] = '\0';
    render_requests(&o, m);
    render_latency(&o, m);
    put(&o,
        "# HELP chat_send_messages_total Messages published, by kind.\n"
        "# TYPE chat_send_messages_total counter\n"
        "chat_send_messages_total{kind=\"stored\"} %llu\n"
        "chat_send_messages_total{kind=\"ephemeral\"} %llu\n"
        "# HELP chat_send_idem_replays_total Resends answered with the "
        "message their idempotency key had published.\n"
        "# TYPE chat_send_idem_replays_total counter\n"
        "chat_send_idem_replays_total %llu\n"
        "# HELP chat_send_unknown_outcome_total 503s that could not say "
        "whether the message was sent (the command reached Redis, no answer "
        "came back).\n"
        "# TYPE chat_send_unknown_outcome_total counter\n"
        "chat_send_unknown_outcome_total %llu\n"
        "# HELP chat_send_redis_up Redis answered the last readiness probe.\n"
        "# TYPE chat_send_redis_up gauge\nchat_send_redis_up %llu\n"
        "# HELP chat_send_redis_writable Redis took the last readiness "
        "probe's write (0: it refuses writes, or is down).\n"
        "# TYPE chat_send_redis_writable gauge\n"
        "chat_send_redis_writable %llu\n"
        "# HELP chat_send_redis_reconnects_total Redis connections made "
        "again after a loss.\n"
        "# TYPE chat_send_redis_reconnects_total counter\n"
        "chat_send_redis_reconnects_total %llu\n"
        "# HELP chat_send_redis_dials_failed_total Redis connection attempts "
        "that failed.\n"
        "# TYPE chat_send_redis_dials_failed_total counter\n"
        "chat_send_redis_dials_failed_total %llu\n"
        "# HELP chat_send_redis_errors_total Redis commands that failed on a "
        "live connection.\n"
        "# TYPE chat_send_redis_errors_total counter\n"
        "chat_send_redis_errors_total %llu\n"
        "# HELP chat_send_threads Worker threads.\n"
        "# TYPE chat_send_threads gauge\nchat_send_threads %lld\n",
        get(&m->stored), get(&m->ephemeral), get(&m->replayed),
        get(&m->unknown), redis->up, redis->writable, redis->reconnects,
        redis->dials_failed, redis->errors, threads);
    put(&o,
        "# HELP chat_send_redis_failovers_total Times this process moved to "
        "a new primary (found through Sentinel).\n"
        "# TYPE chat_send_redis_failovers_total counter\n"
        "chat_send_redis_failovers_total %llu\n"
        "# HELP chat_send_redis_fences_total Times this process moved the id "
        "counter past a new primary's fence.\n"
        "# TYPE chat_send_redis_fences_total counter\n"
        "chat_send_redis_fences_total %llu\n"
        "# HELP chat_send_unconfirmed_total Publishes that ran but too few "
        "replicas confirmed in SEND_WAIT_TIMEOUT_MS (answered 503 unknown).\n"
        "# TYPE chat_send_unconfirmed_total counter\n"
        "chat_send_unconfirmed_total %llu\n",
        redis->failovers, redis->fences, redis->unconfirmed);
    return o.len;
}
