/*
 * The live fan-out: a ring of published messages, each encoded once as a
 * frame "[msg]" shared by every reader, with one tail per reader (the lws
 * ws-server-ring shape). A reader that has several messages waiting gets
 * them as one frame "[m1,m2,...]"; such batches are cached by range so
 * readers at the same tail share one buffer.
 *
 * The ring is bounded by message count and bytes. Those bounds are also
 * each reader's cap on unsent data: when the ring must drop a message a
 * reader has not taken yet, that reader is detached and reported through
 * overrun(), so a stalled reader costs nothing but its tail.
 *
 * No lws calls: the owner is told through wake() that messages are
 * waiting and decides how to write them.
 */
#ifndef GW_FANOUT_H
#define GW_FANOUT_H

#include "frame.h"

#include <stddef.h>
#include <stdint.h>

/* Embedded in the reader's own state; the fanout only links it. */
struct gw_fanout_reader {
    struct gw_fanout_reader *prev;
    struct gw_fanout_reader *next;
    uint64_t tail; /* sequence number of the next message to take */
    int attached;
};

struct gw_fanout_config {
    size_t pre;             /* frame headroom (LWS_PRE) */
    size_t max_msgs;        /* ring size = per-reader unsent messages cap */
    size_t max_bytes;       /* per-reader unsent bytes cap */
    size_t batch_max_msgs;  /* most messages in one frame */
    size_t batch_max_bytes; /* most payload bytes in one frame (soft) */
    /* Messages were pushed; called once per push. */
    void (*wake)(void *user);
    /*
     * r fell further behind than the caps allow and is already detached.
     * The callee must not call back into the fanout except
     * gw_fanout_detach().
     */
    void (*overrun)(void *user, struct gw_fanout_reader *r);
    void *user;
};

struct gw_fanout_stats {
    uint64_t pushed;        /* messages pushed */
    uint64_t batches_built; /* multi-message frames encoded */
    uint64_t batch_reuses;  /* times a cached batch frame was shared */
    uint64_t overruns;      /* readers detached for lagging */
};

struct gw_fanout;

/*
 * A new empty ring; cfg is copied. NULL when out of memory or when a cap
 * is zero. Free with gw_fanout_free().
 */
GW_WUR struct gw_fanout *gw_fanout_new(const struct gw_fanout_config *cfg);

/* Free the ring and every frame it holds. Readers are left detached. */
void gw_fanout_free(struct gw_fanout *f);

/*
 * Append one message: json (len bytes) is one message object's text; the
 * caller keeps id order. Copies json. Returns 0, or -1 when out of memory
 * (nothing changed).
 */
GW_WUR int gw_fanout_push(struct gw_fanout *f, const char *json, size_t len);

/* Start reading at the next message pushed. */
void gw_fanout_attach(struct gw_fanout *f, struct gw_fanout_reader *r);

/* Stop reading; safe on a reader that is not attached. */
void gw_fanout_detach(struct gw_fanout *f, struct gw_fanout_reader *r);

/* Number of messages waiting for r (0 when detached). */
size_t gw_fanout_pending(const struct gw_fanout *f,
                         const struct gw_fanout_reader *r);

/* Bytes of message text waiting for r (0 when detached). */
size_t gw_fanout_pending_bytes(const struct gw_fanout *f,
                               const struct gw_fanout_reader *r);

/*
 * The frame holding r's next waiting messages, as a new reference the
 * caller must gw_frame_unref(); r's tail moves past them and *count (if
 * not NULL) says how many. NULL when nothing is waiting or out of memory.
 */
GW_WUR struct gw_frame *
gw_fanout_take(struct gw_fanout *f, struct gw_fanout_reader *r, size_t *count);

/*
 * The batch window for a live feed of rate messages a second to readers
 * clients: it grows with the deliveries a second (rate times readers,
 * what each sweep over the clients costs) from 0 (a quiet or small room
 * waits for nothing) to cap_us, reached at full_deliveries and above. 0
 * when cap_us or full_deliveries is not positive.
 */
long long gw_fanout_window_us(double rate, size_t readers, long long cap_us,
                              double full_deliveries);

/* Counters since creation. */
struct gw_fanout_stats gw_fanout_stats(const struct gw_fanout *f);

/* Number of attached readers. */
size_t gw_fanout_readers(const struct gw_fanout *f);

#endif
