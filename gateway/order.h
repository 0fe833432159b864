/*
 * Ordered delivery of the live feed, pure: events in (subscribed, a live
 * message, a page of stored messages, the command connection up or down),
 * actions out (forward a message, fetch stored messages from an id, fetch
 * the id counter). No I/O: the owner turns actions into Redis commands and
 * their replies back into events, so every path is unit-tested.
 *
 * The promise: forward() sees strictly increasing ids, and no stored
 * message is skipped once the first one was forwarded. Whenever what
 * arrives live may have a hole behind it (a resubscribe, or a live id
 * that jumps), the stream is read from the last id forwarded until it
 * ends, and live messages arriving meanwhile are held and merged in by
 * id: before stored message S goes out, every held message below S does,
 * so an ephemeral message (never in the stream) is neither lost nor sent
 * out of order.
 *
 * The first subscription has nothing behind it; the counter read right
 * after it (the floor) is where a later backfill starts if the
 * subscription drops before anything was forwarded.
 */
#ifndef GW_ORDER_H
#define GW_ORDER_H

#include "entry.h"
#include "frame.h"

#include <stddef.h>
#include <stdint.h>

struct gw_order_ops {
    /* In strictly increasing id order; json lives during the call. */
    void (*forward)(void *user, long long id, const char *json, size_t len);
    /* Read stored messages with id >= from_id, ascending, at most a page;
     * answer with gw_order_page() or gw_order_page_failed(). */
    void (*fetch)(void *user, long long from_id);
    /* Read the id counter; answer with gw_order_floor(). */
    void (*fetch_floor)(void *user);
};

struct gw_order_config {
    size_t page_max; /* a page this full means the stream goes on */
    size_t hold_max; /* live messages held during a backfill */
};

struct gw_order_stats {
    uint64_t duplicates;   /* live or stored messages already forwarded */
    uint64_t backfilled;   /* stored messages forwarded from a page */
    uint64_t gaps;         /* live ids that jumped, each starting a read */
    uint64_t held_dropped; /* held messages dropped (hold_max reached) */
};

struct gw_order;

/* cfg is copied, ops borrowed. NULL when out of memory. */
GW_WUR struct gw_order *gw_order_new(const struct gw_order_config *cfg,
                                     const struct gw_order_ops *ops,
                                     void *user);

/* Frees held messages; NULL does nothing. */
void gw_order_free(struct gw_order *o);

/* The subscription is confirmed (first time or again). */
void gw_order_subscribed(struct gw_order *o);

/* The subscription is gone. */
void gw_order_unsubscribed(struct gw_order *o);

/* The command connection is up: fetches can be sent. */
void gw_order_cmd_up(struct gw_order *o);

/* The command connection is gone; a fetch in flight is lost. */
void gw_order_cmd_down(struct gw_order *o);

/* A message from the subscription; json is copied if held. */
void gw_order_live(struct gw_order *o, long long id, const char *json,
                   size_t len);

/*
 * The answer to fetch(): n valid entries, ascending ids. more: the page
 * was full (counting entries that failed their checks), so the stream
 * goes on; read_to: the highest entry id the page covered, valid or not
 * (0 when it was empty), so the next read starts after it.
 */
void gw_order_page(struct gw_order *o, const struct gw_entry *e, size_t n,
                   int more, long long read_to);

/* fetch() failed; it is sent again when the command connection is up. */
void gw_order_page_failed(struct gw_order *o);

/* The answer to fetch_floor(): the counter, 0 when unset, -1 failed. */
void gw_order_floor(struct gw_order *o, long long counter);

/* Non-zero while stored messages are being read and live ones held. */
int gw_order_backfilling(const struct gw_order *o);

/* The highest id forwarded, or -1 before the first. */
long long gw_order_last(const struct gw_order *o);

struct gw_order_stats gw_order_stats(const struct gw_order *o);

#endif
