/*
 * A WebSocket frame payload with writable headroom in front of it, shared
 * by reference count. lws_write() needs LWS_PRE bytes before the payload
 * for the frame header; the headroom size is given by the caller so this
 * module stays free of lws and can be unit-tested.
 */
#ifndef GW_FRAME_H
#define GW_FRAME_H

#include <stddef.h>

#define GW_WUR __attribute__((warn_unused_result))

struct gw_frame {
    unsigned refs;
    size_t pre; /* headroom bytes before the payload */
    size_t len; /* payload bytes used */
    size_t cap; /* payload bytes available */
    unsigned char data[];
};

/*
 * A frame with one reference, pre bytes of headroom and room for cap
 * payload bytes, len 0. NULL when out of memory. Release with
 * gw_frame_unref().
 */
GW_WUR struct gw_frame *gw_frame_new(size_t pre, size_t cap);

/* A frame whose payload is a copy of bytes (len n). NULL when no memory. */
GW_WUR struct gw_frame *gw_frame_from(size_t pre, const void *bytes, size_t n);

/* Add a reference; returns f. */
struct gw_frame *gw_frame_ref(struct gw_frame *f);

/* Drop a reference; frees at zero. NULL does nothing. */
void gw_frame_unref(struct gw_frame *f);

/* The payload start (after the headroom). */
unsigned char *gw_frame_payload(struct gw_frame *f);

/*
 * Append n bytes. Returns 0, or -1 (frame unchanged) if they do not fit
 * in cap.
 */
GW_WUR int gw_frame_append(struct gw_frame *f, const void *bytes, size_t n);

#endif
