/*
 * The gateway's Redis side: one SUBSCRIBE connection ("messages") and one
 * command connection (history, backfill, presence, PING watchdog), both
 * hiredis async contexts on the lws loop, each reconnected on loss with
 * jittered exponential backoff.
 *
 * Live messages reach events.message in strictly increasing id order
 * with duplicates dropped. After a resubscribe, every stored message
 * after the last id forwarded is fetched from the stream and delivered
 * first; live messages arriving meanwhile wait behind it.
 */
#ifndef GW_REDIS_H
#define GW_REDIS_H

#include "config.h"
#include "frame.h"
#include "request.h"

#include <stddef.h>
#include <stdint.h>

struct lws_context;
struct lws_vhost;

struct gw_redis_events {
    /* One message object text (len bytes), valid during the call. */
    void (*message)(void *user, const char *json, size_t len);
    /* A history reply for session sid: reply is owned by the callee, or
     * NULL with error a static sentence. */
    void (*history)(void *user, uint64_t sid, struct gw_frame *reply,
                    const char *error);
    /* Sum of the other gateways' fresh presence counts. */
    void (*presence)(void *user, long long others);
    /* This gateway's client count, for its presence entry. */
    long long (*count)(void *user);
};

struct gw_redis_stats {
    uint64_t reconnects;      /* connections re-established after a loss */
    uint64_t backfilled;      /* messages fetched from the stream to fill */
    uint64_t history_ok;      /* history replies sent */
    uint64_t history_errors;  /* history requests answered with an error */
    uint64_t live_duplicates; /* live messages dropped as already sent */
    uint64_t invalid;         /* payloads or entries that failed checks */
};

struct gw_redis;

/*
 * Start connecting; never blocks. cfg and events are borrowed for the
 * object's life. pre is the frame headroom for history replies. NULL
 * when out of memory. Free with gw_redis_free().
 */
GW_WUR struct gw_redis *gw_redis_new(struct lws_context *ctx,
                                     struct lws_vhost *vh,
                                     const struct gw_config *cfg, size_t pre,
                                     const struct gw_redis_events *events,
                                     void *user);

/*
 * Close both connections and free everything. Pending history requests
 * are dropped without callbacks (the sessions are gone at this point).
 * NULL does nothing.
 */
void gw_redis_free(struct gw_redis *r);

/*
 * Ask for history for session sid. The answer always comes through
 * events.history, possibly before this returns (an empty range) or after
 * a Redis outage (queued up to the history timeout). Returns 0, or -1
 * when the waiting queue is full (no callback will come).
 */
GW_WUR int gw_redis_history(struct gw_redis *r, uint64_t sid,
                            const struct gw_request *req);

/* Drop this gateway's presence entry (at shutdown; best effort). */
void gw_redis_presence_leave(struct gw_redis *r);

/* Non-zero while subscribed and the command connection is up. */
int gw_redis_ready(const struct gw_redis *r);

struct gw_redis_stats gw_redis_stats(const struct gw_redis *r);

#endif
