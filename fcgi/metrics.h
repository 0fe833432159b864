/*
 * The send handler's counters: answers by status, a latency histogram,
 * messages stored and published. Every member is atomic, so worker
 * threads count without a lock and the health thread reads at any time.
 */
#ifndef SEND_METRICS_H
#define SEND_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Statuses the handler answers; anything else is counted as "other". */
#define SEND_METRICS_STATUSES                                                  \
    {                                                                          \
        200, 400, 403, 405, 409, 411, 413, 415, 429, 500, 503                  \
    }
#define SEND_METRICS_NSTATUS 11
/* Upper bounds of the latency buckets, in microseconds (+Inf implied). */
#define SEND_METRICS_BUCKETS_US                                                \
    {                                                                          \
        250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,       \
            500000, 1000000, 2500000                                           \
    }
#define SEND_METRICS_NBUCKET 13

struct send_metrics {
    atomic_ullong by_status[SEND_METRICS_NSTATUS + 1]; /* last: other */
    atomic_ullong latency[SEND_METRICS_NBUCKET + 1];   /* last: +Inf */
    atomic_ullong latency_sum_us;
    atomic_ullong stored;
    atomic_ullong ephemeral;
    atomic_ullong replayed; /* idempotent resends answered from the key */
    atomic_ullong unknown;  /* 503s that could not say whether it was sent */
};

/* Counters start at zero. */
void send_metrics_init(struct send_metrics *m);

/* One answer with this HTTP status that took usec microseconds. */
void send_metrics_answer(struct send_metrics *m, int status,
                         unsigned long long usec);

/* One message published; stored tells whether it went to the stream. */
void send_metrics_published(struct send_metrics *m, bool stored);

/* A resend answered with what its idempotency key had published. */
void send_metrics_replayed(struct send_metrics *m);

/* A publish step whose outcome could not be known (a 503 "unknown"). */
void send_metrics_unknown(struct send_metrics *m);

/*
 * Redis-side figures the store keeps, passed in so this module needs no
 * store header.
 */
struct send_metrics_redis {
    unsigned long long up;       /* 1 when the last probe answered */
    unsigned long long writable; /* 1 when it also took the probe write */
    unsigned long long reconnects;
    unsigned long long dials_failed;
    unsigned long long errors;
    unsigned long long failovers;   /* dials that found another primary */
    unsigned long long fences;      /* id counter fences written */
    unsigned long long unconfirmed; /* publishes WAIT did not confirm */
};

/*
 * Write the Prometheus text exposition into buf (cap bytes, NUL kept).
 * Returns the length written; output is cut at a line end if cap is short.
 */
size_t send_metrics_render(struct send_metrics *m,
                           const struct send_metrics_redis *redis,
                           long long threads, char *buf, size_t cap);

#endif
