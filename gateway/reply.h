/*
 * The frames that answer a client's request (PROTOCOL.md §4): a batch of
 * messages, bare "[...]" for an untagged request or
 * {"type":"reply","req":"<tag>","messages":[...]} for a tagged one, and
 * {"type":"error"[,"req":"<tag>"],"error":"..."}. Pure; the texts given
 * are copied into one new frame.
 */
#ifndef GW_REPLY_H
#define GW_REPLY_H

#include "entry.h"
#include "frame.h"

#include <stddef.h>

/*
 * The answer holding e[0..n) (their texts total bytes), in that order or
 * reversed. req is the request's tag, or "" for none; it must be a valid
 * tag (request.h checks it). A new frame with pre bytes of headroom and
 * one reference, or NULL when out of memory.
 */
GW_WUR struct gw_frame *gw_reply_messages(size_t pre, const char *req,
                                          const struct gw_entry *e, size_t n,
                                          size_t bytes, int reverse);

/*
 * The answer for tag req ("" for none) holding the same messages as
 * array, a bare "[...]" frame: for "" that very frame, with one more
 * reference; for a tag a new frame around a copy. NULL when out of
 * memory.
 */
GW_WUR struct gw_frame *gw_reply_from_array(size_t pre, const char *req,
                                            struct gw_frame *array);

/*
 * The error status answering one request. msg is a sentence without '"'
 * or '\' (the gateway's own fixed texts). NULL when out of memory.
 */
GW_WUR struct gw_frame *gw_reply_error(size_t pre, const char *req,
                                       const char *msg);

#endif
