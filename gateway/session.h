/*
 * One WebSocket client: its fan-out tail, a small bounded queue of its own
 * frames (history replies, status objects), reassembly of a fragmented
 * request, and a pending close. Lives in lws' per-session storage from
 * ESTABLISHED to CLOSED; other code finds it by id, never by a pointer
 * kept across callbacks.
 */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include "fanout.h"
#include "frame.h"

#include <stddef.h>
#include <stdint.h>

/* Own frames waiting per session; more means the client is not reading. */
#define GW_SESSION_OUT_MAX 16

struct lws;
struct gw_server;

struct gw_session {
    uint64_t id;
    struct lws *wsi;
    struct gw_fanout_reader reader;
    struct gw_session *hnext; /* id hash chain */
    struct gw_session *prev;  /* all sessions */
    struct gw_session *next;
    struct gw_frame *out[GW_SESSION_OUT_MAX];
    unsigned out_head;
    unsigned out_count;
    size_t out_bytes; /* payload bytes in out[], capped by the queue cap */
    unsigned pending; /* history requests in flight */
    char *rx;         /* reassembly of a fragmented request, or NULL */
    size_t rx_len;
    int close_code; /* non-zero: close with it at the next chance */
    const char *close_reason;
    int refuse_code; /* non-zero: close with it once the frame has ended */
    const char *refuse_reason;
};

/* ESTABLISHED: register s and start its live feed. 0 or -1 (refuse). */
GW_WUR int gw_session_open(struct gw_server *srv, struct gw_session *s,
                           struct lws *wsi);

/* CLOSED: unregister s and free everything it holds. */
void gw_session_close(struct gw_server *srv, struct gw_session *s);

/* RECEIVE: take a request fragment. -1 closes the connection. */
GW_WUR int gw_session_receive(struct gw_server *srv, struct gw_session *s,
                              const void *in, size_t len);

/* SERVER_WRITEABLE: send what is waiting. -1 closes the connection. */
GW_WUR int gw_session_writeable(struct gw_server *srv, struct gw_session *s);

/* The open session with this id, or NULL. */
struct gw_session *gw_session_find(struct gw_server *srv, uint64_t id);

/*
 * Queue one of the session's own frames, taking over the caller's
 * reference. When the queue is full (GW_SESSION_OUT_MAX frames, or the
 * byte cap GW_QUEUE_MAX_BYTES with at least one frame waiting) the frame
 * is dropped (counted) and, if must_deliver, the session is closed as too
 * slow.
 */
void gw_session_push(struct gw_server *srv, struct gw_session *s,
                     struct gw_frame *f, int must_deliver);

/* Queue a status object {"type":"error","error":msg}; msg is static. */
void gw_session_error(struct gw_server *srv, struct gw_session *s,
                      const char *msg);

/*
 * Close s with code and a static reason as soon as it can be written, or
 * drop it after grace_ms if it never becomes writable. Never frees s.
 */
void gw_session_close_later(struct gw_session *s, int code, const char *reason,
                            long long grace_ms);

#endif
