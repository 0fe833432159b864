/*
 * The gateway's Redis side, wired from small parts: three reconnecting
 * links (link.h) to one Redis, each with its own job, so none can starve
 * another:
 *   sub   SUBSCRIBE to the messages channel and this gateway's heartbeat
 *   cmd   backfill reads, the id counter, presence, the watchdog's PING
 *   hist  clients' history requests (history.h)
 * Live messages go through the ordering rules (order.h) and reach
 * events.message in strictly increasing id order, with every stored
 * message in between: after a resubscribe or a jump in ids the stream is
 * read from the last id forwarded, live messages merged in by id.
 *
 * With REDIS_SENTINELS the links find the primary through Sentinel, each
 * checks ROLE before it is used, and a +switch-master (primary.h) sends
 * all three to the new primary at once; the counter the new primary was
 * fenced with (fcgi/fence.lua) is a jump in ids like any other.
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
    /* The answer to gw_redis_history() for session sid: a frame (the
     * callee's reference; NULL when out of memory), the reply if ok, else
     * an error status. */
    void (*history)(void *user, uint64_t sid, struct gw_frame *frame, int ok);
    /* Sum of the other gateways' fresh presence counts. */
    void (*presence)(void *user, long long others);
    /* This gateway's client count, for its presence entry. */
    long long (*count)(void *user);
};

struct gw_redis_stats {
    uint64_t reconnects;         /* links re-established after a loss */
    uint64_t backfilled;         /* messages fetched from the stream to fill */
    uint64_t history_ok;         /* history replies sent */
    uint64_t history_errors;     /* history requests answered with an error */
    uint64_t history_stalls;     /* history links dropped for no progress */
    uint64_t history_cache_hits; /* newest pages answered from memory */
    uint64_t live_duplicates;    /* messages dropped as already forwarded */
    uint64_t gaps;               /* live ids that jumped */
    uint64_t held_dropped;       /* held during a backfill past its cap */
    uint64_t invalid;            /* payloads or entries that failed checks */
    uint64_t cmd_timeouts;       /* PINGs unanswered */
    uint64_t sub_timeouts;       /* heartbeats not delivered */
    uint64_t failovers;          /* moves to a new primary (Sentinel) */
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
 * Close every connection and free everything. Pending history requests
 * are dropped without answers (the sessions are gone at this point).
 * NULL does nothing.
 */
void gw_redis_free(struct gw_redis *r);

/*
 * Ask for history for session sid. The answer always comes through
 * events.history, possibly before this returns (an empty range) or after
 * a Redis outage (held up to the history timeout). Returns 0, or -1 when
 * the queue is full (no answer will come).
 */
GW_WUR int gw_redis_history(struct gw_redis *r, uint64_t sid,
                            const struct gw_request *req);

/* Drop this gateway's presence entry (at shutdown; best effort). */
void gw_redis_presence_leave(struct gw_redis *r);

/* The loop was woken from another thread: finish what that thread did
 * (name lookups). Cheap when there is nothing. */
void gw_redis_wake(struct gw_redis *r);

/* Non-zero while subscribed and both command links are up. */
int gw_redis_ready(const struct gw_redis *r);

struct gw_redis_stats gw_redis_stats(const struct gw_redis *r);

#endif
