#include "fanout.h"

#include <stdlib.h>
#include <string.h>

#define FANOUT_CACHE_SLOTS 4

struct fanout_entry {
    uint64_t cum;         /* message bytes pushed before this entry */
    struct gw_frame *one; /* "[msg]" */
};

struct fanout_batch {
    uint64_t start;
    uint64_t end;
    struct gw_frame *frame;
};

struct gw_fanout {
    struct gw_fanout_config cfg;
    struct fanout_entry *ring; /* cfg.max_msgs slots, index seq % size */
    uint64_t oldest;           /* sequence number of the oldest entry */
    uint64_t head;             /* sequence number the next push gets */
    uint64_t cum_head;         /* message bytes pushed in total */
    struct fanout_batch cache[FANOUT_CACHE_SLOTS];
    unsigned cache_next;
    struct gw_fanout_reader readers; /* list head */
    size_t nreaders;
    struct gw_fanout_stats stats;
};

static struct fanout_entry *entry_at(struct gw_fanout *f, uint64_t seq)
{
    return &f->ring[seq % f->cfg.max_msgs];
}

/* Bytes of message text in [seq, head). */
static uint64_t cum_at(struct gw_fanout *f, uint64_t seq)
{
    return seq == f->head ? f->cum_head : entry_at(f, seq)->cum;
}

struct gw_fanout *gw_fanout_new(const struct gw_fanout_config *cfg)
{
    struct gw_fanout *f;

    if (!cfg->max_msgs || !cfg->max_bytes || !cfg->batch_max_msgs ||
        !cfg->batch_max_bytes)
        return NULL;
    f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->ring = calloc(cfg->max_msgs, sizeof(*f->ring));
    if (!f->ring) {
        free(f);
        return NULL;
    }
    f->cfg = *cfg;
    f->oldest = f->head = 1;
    f->readers.next = f->readers.prev = &f->readers;
    return f;
}

static void cache_clear(struct fanout_batch *b)
{
    gw_frame_unref(b->frame);
    memset(b, 0, sizeof(*b));
}

void gw_fanout_free(struct gw_fanout *f)
{
    if (!f)
        return;
    while (f->readers.next != &f->readers)
        gw_fanout_detach(f, f->readers.next);
    for (uint64_t s = f->oldest; s < f->head; s++)
        gw_frame_unref(entry_at(f, s)->one);
    for (unsigned i = 0; i < FANOUT_CACHE_SLOTS; i++)
        cache_clear(&f->cache[i]);
    free(f->ring);
    free(f);
}

/* Detach every reader that still needs an entry older than f->oldest. */
static void cull_laggards(struct gw_fanout *f)
{
    struct gw_fanout_reader *r = f->readers.next;

    while (r != &f->readers) {
        struct gw_fanout_reader *next = r->next;

        if (r->tail < f->oldest) {
            gw_fanout_detach(f, r);
            f->stats.overruns++;
            if (f->cfg.overrun)
                f->cfg.overrun(f->cfg.user, r);
        }
        r = next;
    }
}

/* Make room for one more message of len bytes. */
static void evict_for(struct gw_fanout *f, size_t len)
{
    int evicted = 0;

    while (
        f->oldest < f->head &&
        (f->head - f->oldest + 1 > f->cfg.max_msgs ||
         f->cum_head - entry_at(f, f->oldest)->cum + len > f->cfg.max_bytes)) {
        struct fanout_entry *e = entry_at(f, f->oldest);

        gw_frame_unref(e->one);
        e->one = NULL;
        f->oldest++;
        evicted = 1;
    }
    if (!evicted)
        return;
    for (unsigned i = 0; i < FANOUT_CACHE_SLOTS; i++)
        if (f->cache[i].frame && f->cache[i].start < f->oldest)
            cache_clear(&f->cache[i]);
    cull_laggards(f);
}

int gw_fanout_push(struct gw_fanout *f, const char *json, size_t len)
{
    struct gw_frame *one = gw_frame_new(f->cfg.pre, len + 2);
    struct fanout_entry *e;

    if (!one)
        return -1;
    /* Fits by construction: cap is len + 2. */
    (void)!gw_frame_append(one, "[", 1);
    (void)!gw_frame_append(one, json, len);
    (void)!gw_frame_append(one, "]", 1);
    evict_for(f, len);
    e = entry_at(f, f->head);
    e->one = one;
    e->cum = f->cum_head;
    f->cum_head += len;
    f->head++;
    f->stats.pushed++;
    if (f->cfg.wake)
        f->cfg.wake(f->cfg.user);
    return 0;
}

void gw_fanout_attach(struct gw_fanout *f, struct gw_fanout_reader *r)
{
    if (r->attached)
        return;
    r->tail = f->head;
    r->next = &f->readers;
    r->prev = f->readers.prev;
    f->readers.prev->next = r;
    f->readers.prev = r;
    r->attached = 1;
    f->nreaders++;
}

void gw_fanout_detach(struct gw_fanout *f, struct gw_fanout_reader *r)
{
    if (!r->attached)
        return;
    r->prev->next = r->next;
    r->next->prev = r->prev;
    r->prev = r->next = NULL;
    r->attached = 0;
    f->nreaders--;
}

size_t gw_fanout_pending(const struct gw_fanout *f,
                         const struct gw_fanout_reader *r)
{
    return r->attached ? (size_t)(f->head - r->tail) : 0;
}

size_t gw_fanout_pending_bytes(const struct gw_fanout *f,
                               const struct gw_fanout_reader *r)
{
    if (!r->attached || r->tail == f->head)
        return 0;
    return (size_t)(f->cum_head - f->ring[r->tail % f->cfg.max_msgs].cum);
}

/* The end of the batch starting at start, within both batch caps. */
static uint64_t batch_end(struct gw_fanout *f, uint64_t start)
{
    uint64_t end = f->head;

    if (end - start > f->cfg.batch_max_msgs)
        end = start + f->cfg.batch_max_msgs;
    /* Shrink only in the rare case of big messages; keep at least one. */
    while (end - start > 1 &&
           cum_at(f, end) - cum_at(f, start) > f->cfg.batch_max_bytes)
        end--;
    return end;
}

static struct gw_frame *batch_build(struct gw_fanout *f, uint64_t start,
                                    uint64_t end)
{
    size_t n = (size_t)(end - start);
    size_t bytes = (size_t)(cum_at(f, end) - cum_at(f, start)) + n + 1;
    struct gw_frame *b = gw_frame_new(f->cfg.pre, bytes);

    if (!b)
        return NULL;
    for (uint64_t s = start; s < end; s++) {
        struct gw_frame *one = entry_at(f, s)->one;

        /* Each "[msg]" contributes its "[" or a ",", then msg. */
        (void)!gw_frame_append(b, s == start ? "[" : ",", 1);
        (void)!gw_frame_append(b, gw_frame_payload(one) + 1, one->len - 2);
    }
    (void)!gw_frame_append(b, "]", 1);
    f->stats.batches_built++;
    return b;
}

static struct gw_frame *batch_get(struct gw_fanout *f, uint64_t start,
                                  uint64_t end)
{
    struct fanout_batch *slot;

    for (unsigned i = 0; i < FANOUT_CACHE_SLOTS; i++) {
        slot = &f->cache[i];
        if (slot->frame && slot->start == start && slot->end == end) {
            f->stats.batch_reuses++;
            return gw_frame_ref(slot->frame);
        }
    }
    slot = &f->cache[f->cache_next];
    f->cache_next = (f->cache_next + 1) % FANOUT_CACHE_SLOTS;
    cache_clear(slot);
    slot->frame = batch_build(f, start, end);
    if (!slot->frame)
        return NULL;
    slot->start = start;
    slot->end = end;
    return gw_frame_ref(slot->frame);
}

struct gw_frame *gw_fanout_take(struct gw_fanout *f, struct gw_fanout_reader *r,
                                size_t *count)
{
    uint64_t end;
    struct gw_frame *fr;

    if (count)
        *count = 0;
    if (!r->attached || r->tail == f->head)
        return NULL;
    end = batch_end(f, r->tail);
    if (end - r->tail == 1)
        fr = gw_frame_ref(entry_at(f, r->tail)->one);
    else
        fr = batch_get(f, r->tail, end);
    if (!fr)
        return NULL;
    if (count)
        *count = (size_t)(end - r->tail);
    r->tail = end;
    return fr;
}

struct gw_fanout_stats gw_fanout_stats(const struct gw_fanout *f)
{
    return f->stats;
}

size_t gw_fanout_readers(const struct gw_fanout *f)
{
    return f->nreaders;
}

long long gw_fanout_window_us(double rate, size_t readers, long long cap_us,
                              double full_deliveries)
{
    double deliveries = rate * (double)readers;

    if (cap_us <= 0 || full_deliveries <= 0 || deliveries <= 0)
        return 0;
    if (deliveries >= full_deliveries)
        return cap_us;
    return (long long)((double)cap_us * deliveries / full_deliveries);
}
