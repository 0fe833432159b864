/*
 * One reconnecting Redis connection on the lws loop. A dial looks the
 * host up off the loop (resolve.h), connects to the address found and
 * hands the new connection to the owner to greet (SUBSCRIBE, PING); the
 * owner calls gw_link_up() once Redis has answered the greeting. A dial
 * not up within the connect timeout, a connection lost, or one the owner
 * drops, is dialled again after a jittered exponential backoff, with a
 * fresh lookup each time (the name may point elsewhere by then).
 *
 * With via_sentinel the address is the primary the sentinels name now
 * (resolve.h asks them on its thread), and the link checks with ROLE
 * that the node it reached is the primary before handing it over; a
 * replica is dropped and dialled again. gw_link_retarget() follows a
 * +switch-master at once.
 *
 * Replies of a connection that is gone come back NULL through hiredis;
 * owners tell current replies from stale ones with gw_link_owns().
 */
#ifndef GW_LINK_H
#define GW_LINK_H

#include "frame.h"

#include <stdint.h>

struct redisAsyncContext;
struct lws_context;
struct lws_vhost;
struct gw_resolver;

struct gw_link_config {
    const char *host; /* borrowed for the link's life */
    int port;
    long long connect_timeout_ms; /* lookup, connect and greeting */
    long long backoff_min_ms;
    long long backoff_max_ms;
    int via_sentinel; /* host and port unused: ask the resolver's sentinels */
};

struct gw_link_events {
    /* A new connection: send the greeting on ac. */
    void (*connected)(void *user, struct redisAsyncContext *ac);
    /* The connection handed to connected() is gone (up or not). */
    void (*lost)(void *user, const char *why);
};

struct gw_link;

/*
 * A link named name (for logs; static). Everything passed is borrowed for
 * the link's life. Nothing happens until gw_link_start(). NULL when out of
 * memory. Free with gw_link_free().
 */
GW_WUR struct gw_link *
gw_link_new(struct lws_context *ctx, struct lws_vhost *vh,
            struct gw_resolver *res, const struct gw_link_config *cfg,
            const char *name, const struct gw_link_events *ev, void *user);

/* Close the connection (no events) and free; NULL does nothing. */
void gw_link_free(struct gw_link *l);

/* Dial now. */
void gw_link_start(struct gw_link *l);

/* The owner's greeting was answered: the link is up. */
void gw_link_up(struct gw_link *l);

/* Give up on the current connection (timeout, bad reply): lost() runs,
 * then the link dials again after the backoff. */
void gw_link_drop(struct gw_link *l, const char *why);

/* The connection while up, else NULL. */
struct redisAsyncContext *gw_link_ac(const struct gw_link *l);

/* Is ac this link's current connection (up or still greeting)? */
int gw_link_owns(const struct gw_link *l, const struct redisAsyncContext *ac);

int gw_link_is_up(const struct gw_link *l);

/* Times the link came up again after having been up. */
uint64_t gw_link_reconnects(const struct gw_link *l);

/*
 * The primary moved: leave the connection (lost() runs) and dial again
 * soon, or dial now if waiting; a lookup under way is asked anew.
 */
void gw_link_retarget(struct gw_link *l, const char *why);

/* "address:port" of the current connection (up or greeting), else "". */
const char *gw_link_peer(const struct gw_link *l);

#endif
