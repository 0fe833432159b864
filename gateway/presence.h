/*
 * Presence across gateways: every refresh, this gateway writes its
 * connection count and reads the sum of the others' in one script
 * (gateway/presence.lua) on the command connection. Stamps and their
 * judgement use Redis' clock only, so hosts whose clocks disagree agree
 * on who is alive. The rules for reading the answer and telling clients
 * are pure, in presence_rule.h.
 */
#ifndef GW_PRESENCE_H
#define GW_PRESENCE_H

#include "frame.h"

struct gw_link;
struct lws_context;
struct redisReply;

struct gw_presence_config {
    const char *id; /* this gateway's entry; borrowed */
    long long refresh_ms;
    long long ttl_ms;
};

struct gw_presence_events {
    /* This gateway's connection count, for its entry. */
    long long (*count)(void *user);
    /* The other gateways' fresh total, after each refresh. */
    void (*others)(void *user, long long others);
};

struct gw_presence;

/* Refreshes on cmd every refresh_ms once started. Borrows everything.
 * NULL when out of memory. */
GW_WUR struct gw_presence *gw_presence_new(struct lws_context *ctx,
                                           struct gw_link *cmd,
                                           const struct gw_presence_config *cfg,
                                           const struct gw_presence_events *ev,
                                           void *user);

/* Free it before freeing cmd is wrong: free cmd first (its pending
 * callbacks run with no reply and touch nothing), then this. */
void gw_presence_free(struct gw_presence *p);

/* Refresh now, and every refresh_ms from now on. */
void gw_presence_refresh(struct gw_presence *p);

/* Drop this gateway's entry (at shutdown; best effort, no answer). */
void gw_presence_leave(struct gw_presence *p);

#endif
