/*
 * Presence across gateways: every refresh, this gateway writes its
 * connection count and reads the sum of the others' in one script
 * (gateway/presence.lua) on the command connection. Stamps and their
 * judgement use Redis' clock only, so hosts whose clocks disagree agree
 * on who is alive. Also the rule for telling clients (pure).
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

/* The script's answer: the others' total, or -1 when it is not one. */
long long gw_presence_parse(const struct redisReply *rep);

/*
 * Should clients hear the total now? Only when it differs from the one
 * last sent (sent < 0: none yet), and no sooner than min_interval_ms
 * after that was sent at sent_ms.
 */
int gw_presence_push_due(long long online, long long sent, long long now_ms,
                         long long sent_ms, long long min_interval_ms);

#endif
