/*
 * Clients' history requests (pages and resumes, PROTOCOL.md §4) on their
 * own Redis connection, so that no amount of history traffic delays the
 * live feed or its watchdog.
 *
 * Bounds: at most queue_max requests are held in all (waiting and in
 * flight), of which at most inflight_max are sent to Redis at once, so
 * what Redis can have queued for this gateway is inflight_max replies.
 * Every request is answered exactly once: with its reply, or with an
 * error status when it waited timeout_ms (Redis away or stalled). A
 * connection that delivers no reply for timeout_ms while requests are in
 * flight is dropped and dialled again: judged by progress, not by the
 * length of its queue.
 */
#ifndef GW_HISTORY_H
#define GW_HISTORY_H

#include "frame.h"
#include "request.h"

#include <stddef.h>
#include <stdint.h>

struct gw_link;
struct lws_context;

struct gw_history_config {
    size_t pre; /* frame headroom */
    long long timeout_ms;
    size_t queue_max;
    size_t inflight_max;
    int cache_newest; /* answer the newest page from memory while valid */
};

struct gw_history_stats {
    uint64_t ok;      /* replies sent */
    uint64_t errors;  /* requests answered with an error */
    uint64_t invalid; /* stream entries that failed their checks */
    uint64_t stalls;  /* connections dropped for making no progress */
    uint64_t reply_bytes;
    uint64_t cache_hits; /* newest pages answered from memory */
};

/*
 * The answer for session sid: a frame (one reference, the callee's) that
 * is either the reply or an error status; ok says which. frame is NULL
 * only when out of memory.
 */
typedef void (*gw_history_answer_fn)(void *user, uint64_t sid,
                                     struct gw_frame *frame, int ok);

struct gw_history;

/*
 * How many messages the live feed has forwarded so far. The newest page
 * (first_id 0, last_id -1) read while this stood at E is the newest page
 * for as long as it still stands at E: any message stored after the read
 * is forwarded after it, and a client already connected gets it live.
 */
typedef uint64_t (*gw_history_epoch_fn)(void *user);

/*
 * Requests on link (borrowed; the caller tells gw_history_link_up() when
 * it comes up). cfg is copied. epoch may be NULL (no cache). NULL when out
 * of memory.
 */
GW_WUR struct gw_history *gw_history_new(struct lws_context *ctx,
                                         struct gw_link *link,
                                         const struct gw_history_config *cfg,
                                         gw_history_answer_fn answer,
                                         gw_history_epoch_fn epoch, void *user);

/*
 * Drop every request without answering (the sessions are gone). Requests
 * still in flight are freed as hiredis hands them back (when the link is
 * freed), the last of them freeing h; NULL does nothing.
 */
void gw_history_free(struct gw_history *h);

/*
 * Queue req for session sid. The answer always comes through answer(),
 * possibly before this returns (an empty range needs no Redis). Returns
 * 0, or -1 when the queue is full or memory is short (no answer comes).
 */
GW_WUR int gw_history_ask(struct gw_history *h, uint64_t sid,
                          const struct gw_request *req);

/* The connection is up: send what waits. Requests in flight when it
 * went down come back and are sent again first, in their order. */
void gw_history_link_up(struct gw_history *h);

/* Requests held now (waiting or in flight). */
size_t gw_history_queued(const struct gw_history *h);

struct gw_history_stats gw_history_stats(const struct gw_history *h);

#endif
