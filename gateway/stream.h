/*
 * What Redis answers to XRANGE / XREVRANGE on the history stream, read
 * without trusting it: every entry [id, [field, value, ...]] must have a
 * "m" field whose message object's "id" matches the entry id (payload.h).
 * Entries that fail are counted and skipped, never sent to a client.
 * Pure: no I/O, the reply is only read.
 */
#ifndef GW_STREAM_H
#define GW_STREAM_H

#include "entry.h"
#include "frame.h"

#include <stddef.h>

struct redisReply;

struct gw_stream_page {
    struct gw_entry *e; /* the valid entries, in reply order */
    size_t n;
    size_t raw;       /* entries in the reply, valid or not */
    size_t invalid;   /* entries that failed their checks */
    long long max_id; /* highest entry id read, valid or not; 0 if none */
    size_t bytes;     /* sum of the valid entries' text lengths */
};

/*
 * Read rep (an array of entries) into *page. The entries' texts point
 * into rep: page lives no longer than rep. Returns 0, or -1 when rep is
 * not an array or memory is short (page is then empty). Free the array
 * with gw_stream_page_cleanup().
 */
GW_WUR int gw_stream_page_read(const struct redisReply *rep,
                               struct gw_stream_page *page);

void gw_stream_page_cleanup(struct gw_stream_page *page);

#endif
