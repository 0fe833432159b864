/*
 * The hiredis <-> libwebsockets adapter, in the shape of hiredis'
 * adapters/poll.h: the Redis socket is adopted into the lws poll loop as a
 * RAW_FILE descriptor, and hiredis' add/del read/write and cleanup hooks
 * drive it. Also the timers the Redis side needs (lws_sul) and a wake-up
 * of the loop for other threads. This is the only file
 * that includes both hiredis and lws; its header includes neither.
 */
#ifndef GW_REDIS_LWS_H
#define GW_REDIS_LWS_H

#include "frame.h"

struct redisAsyncContext;
struct lws_context;
struct lws_vhost;
struct lws_protocols;

/* The raw-descriptor protocol; main puts a copy in its protocol list. */
extern const struct lws_protocols gw_redis_lws_protocol;

/*
 * Attach ac to vh's loop. Call right after redisAsyncConnect() and before
 * setting the connect callback. Returns 0, or -1 if ac is already
 * attached or adoption failed (then ac is untouched and the caller frees
 * it). The adapter state is freed by hiredis' cleanup hook, which also
 * lets lws close its duplicate of the descriptor asynchronously.
 */
GW_WUR int gw_redis_lws_attach(struct redisAsyncContext *ac,
                               struct lws_vhost *vh);

/* A one-shot timer on ctx's loop. */
struct gw_timer;

/* NULL when out of memory. cb(user) runs on the loop. */
GW_WUR struct gw_timer *gw_timer_new(struct lws_context *ctx,
                                     void (*cb)(void *user), void *user);

/* (Re)arm to fire once in ms milliseconds. */
void gw_timer_schedule(struct gw_timer *t, long long ms);

void gw_timer_cancel(struct gw_timer *t);

/* Cancel and free; NULL does nothing. */
void gw_timer_free(struct gw_timer *t);

/*
 * Milliseconds of this host's monotonic clock: for deadlines and
 * intervals on this host only, never for a time another host compares
 * (STYLE rule 24: presence is stamped with Redis' clock).
 */
long long gw_now_ms(void);

/* Wake ctx's loop from any thread (lws_cancel_service): the loop then
 * runs LWS_CALLBACK_EVENT_WAIT_CANCELLED. ctx is a struct lws_context. */
void gw_loop_wake(void *ctx);

#endif
