#include "order.h"

#include <stdlib.h>
#include <string.h>

/* A live message waiting for the backfill to pass it. */
struct held {
    struct held *next;
    long long id;
    size_t len;
    char json[];
};

struct gw_order {
    struct gw_order_config cfg;
    const struct gw_order_ops *ops;
    void *user;
    long long last; /* highest id forwarded, when have_last */
    int have_last;
    long long floor; /* counter after the first subscription */
    int have_floor;
    int subscribed;
    int cmd_up;
    int floor_inflight;
    int floor_stale; /* the subscription dropped while it was read */
    int backfilling;
    int fetch_inflight;
    long long fetch_from; /* of the fetch in flight */
    long long read_to;    /* the stream has been read up to this id */
    int again;            /* read once more after the page in flight */
    struct held *held;    /* ascending ids */
    size_t nheld;
    struct gw_order_stats stats;
};

struct gw_order *gw_order_new(const struct gw_order_config *cfg,
                              const struct gw_order_ops *ops, void *user)
{
    struct gw_order *o = calloc(1, sizeof(*o));

    if (!o)
        return NULL;
    o->cfg = *cfg;
    o->ops = ops;
    o->user = user;
    return o;
}

static void held_clear(struct gw_order *o)
{
    while (o->held) {
        struct held *h = o->held;

        o->held = h->next;
        free(h);
    }
    o->nheld = 0;
}

void gw_order_free(struct gw_order *o)
{
    if (!o)
        return;
    held_clear(o);
    free(o);
}

/* What is known to be delivered or history: -1 when nothing is. */
static long long base(const struct gw_order *o)
{
    if (o->have_last)
        return o->last;
    return o->have_floor ? o->floor : -1;
}

static void forward(struct gw_order *o, long long id, const char *json,
                    size_t len)
{
    if (o->have_last && id <= o->last) {
        o->stats.duplicates++;
        return;
    }
    o->ops->forward(o->user, id, json, len);
    o->last = id;
    o->have_last = 1;
}

static void maybe_fetch(struct gw_order *o)
{
    if (!o->backfilling || !o->cmd_up || o->fetch_inflight)
        return;
    o->fetch_inflight = 1;
    o->fetch_from = (o->read_to > base(o) ? o->read_to : base(o)) + 1;
    o->ops->fetch(o->user, o->fetch_from);
}

static void start_backfill(struct gw_order *o)
{
    o->backfilling = 1;
    maybe_fetch(o);
}

static void maybe_fetch_floor(struct gw_order *o)
{
    if (!o->subscribed || !o->cmd_up || o->have_last || o->have_floor ||
        o->floor_inflight)
        return;
    o->floor_inflight = 1;
    o->floor_stale = 0;
    o->ops->fetch_floor(o->user);
}

/* Keep ids ascending; an id already held is a duplicate. */
static void hold(struct gw_order *o, long long id, const char *json, size_t len)
{
    struct held **pp = &o->held, *h;

    if (o->nheld >= o->cfg.hold_max) {
        /* Stored ones come back from the stream; ephemeral ones are lost. */
        o->stats.held_dropped++;
        o->again = 1;
        return;
    }
    while (*pp && (*pp)->id < id)
        pp = &(*pp)->next;
    if (*pp && (*pp)->id == id) {
        o->stats.duplicates++;
        return;
    }
    h = malloc(sizeof(*h) + len);
    if (!h) {
        o->stats.held_dropped++;
        o->again = 1;
        return;
    }
    h->id = id;
    h->len = len;
    memcpy(h->json, json, len);
    h->next = *pp;
    *pp = h;
    o->nheld++;
}

/* Forward the held messages with ids below id (all when id is -1). */
static void release_below(struct gw_order *o, long long id)
{
    while (o->held && (id < 0 || o->held->id < id)) {
        struct held *h = o->held;

        o->held = h->next;
        o->nheld--;
        forward(o, h->id, h->json, h->len);
        free(h);
    }
}

static void finish(struct gw_order *o)
{
    o->backfilling = 0;
    o->again = 0;
    release_below(o, -1);
}

void gw_order_subscribed(struct gw_order *o)
{
    o->subscribed = 1;
    if (o->backfilling) {
        /* A page in flight may have been read before this subscription. */
        if (o->fetch_inflight)
            o->again = 1;
        maybe_fetch(o);
    } else if (o->have_last || o->have_floor) {
        start_backfill(o);
    } else {
        maybe_fetch_floor(o);
    }
}

void gw_order_unsubscribed(struct gw_order *o)
{
    o->subscribed = 0;
    /* A counter read after the drop could be past messages nobody got. */
    if (o->floor_inflight)
        o->floor_stale = 1;
}

void gw_order_cmd_up(struct gw_order *o)
{
    o->cmd_up = 1;
    if (o->backfilling)
        maybe_fetch(o);
    else
        maybe_fetch_floor(o);
}

void gw_order_cmd_down(struct gw_order *o)
{
    o->cmd_up = 0;
    o->fetch_inflight = 0;
    o->floor_inflight = 0;
}

void gw_order_live(struct gw_order *o, long long id, const char *json,
                   size_t len)
{
    if (o->backfilling) {
        hold(o, id, json, len);
        return;
    }
    /* Ids are handed out one by one and published in order: a jump is a
     * hole to look into, not a reason to skip ahead. */
    if (o->have_last && id > o->last + 1) {
        o->stats.gaps++;
        hold(o, id, json, len);
        start_backfill(o);
        return;
    }
    forward(o, id, json, len);
}

void gw_order_page(struct gw_order *o, const struct gw_entry *e, size_t n,
                   int more, long long read_to)
{
    long long next;

    if (!o->fetch_inflight || !o->backfilling)
        return; /* stale: a fetch from before a reconnect */
    o->fetch_inflight = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t dups;

        release_below(o, e[i].id);
        dups = o->stats.duplicates;
        forward(o, e[i].id, e[i].json, e[i].len);
        if (o->stats.duplicates == dups)
            o->stats.backfilled++;
    }
    if (read_to > o->read_to)
        o->read_to = read_to;
    next = (o->read_to > base(o) ? o->read_to : base(o)) + 1;
    /* A full page that moved nothing forward would be read forever. */
    if ((more || o->again) && next > o->fetch_from) {
        o->again = 0;
        maybe_fetch(o);
        return;
    }
    finish(o);
}

void gw_order_page_failed(struct gw_order *o)
{
    o->fetch_inflight = 0;
}

void gw_order_floor(struct gw_order *o, long long counter)
{
    int stale = o->floor_stale;

    o->floor_inflight = 0;
    o->floor_stale = 0;
    if (stale) {
        maybe_fetch_floor(o);
        return;
    }
    if (counter < 0 || o->have_last || o->have_floor)
        return;
    o->floor = counter;
    o->have_floor = 1;
}

int gw_order_backfilling(const struct gw_order *o)
{
    return o->backfilling;
}

long long gw_order_last(const struct gw_order *o)
{
    return o->have_last ? o->last : -1;
}

struct gw_order_stats gw_order_stats(const struct gw_order *o)
{
    return o->stats;
}
