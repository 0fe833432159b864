/*
 * Liveness of the command connection and of the subscription, each judged
 * by its own progress: the command connection must answer a PING within
 * one interval; the subscription must deliver, within two intervals, a
 * heartbeat that the command connection published on this gateway's own
 * channel (so a subscription that silently stopped is told apart from a
 * quiet room). History has its own connection and watchdog (history.h),
 * so a storm of history replies can delay neither.
 */
#ifndef GW_WATCHDOG_H
#define GW_WATCHDOG_H

#include "frame.h"

#include <stddef.h>
#include <stdint.h>

struct gw_link;
struct lws_context;

struct gw_watchdog_stats {
    uint64_t cmd_timeouts;
    uint64_t sub_timeouts;
};

struct gw_watchdog;

/*
 * Watch cmd and sub every interval_ms; channel is the heartbeat channel
 * the subscription listens on. Borrows everything. NULL when out of
 * memory.
 */
GW_WUR struct gw_watchdog *gw_watchdog_new(struct lws_context *ctx,
                                           struct gw_link *cmd,
                                           struct gw_link *sub,
                                           const char *channel,
                                           long long interval_ms);

/* Free cmd first (see presence.h); NULL does nothing. */
void gw_watchdog_free(struct gw_watchdog *w);

/* The subscription is (re)confirmed: earlier heartbeats are moot. */
void gw_watchdog_sub_up(struct gw_watchdog *w);

/* A heartbeat arrived on the subscription (its payload, a number). */
void gw_watchdog_heartbeat(struct gw_watchdog *w, const char *payload,
                           size_t len);

struct gw_watchdog_stats gw_watchdog_stats(const struct gw_watchdog *w);

#endif
