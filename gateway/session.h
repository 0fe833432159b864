/*
 * One WebSocket client: its fan-out tail, a small bounded queue of its own
 * frames (history replies, status objects), reassembly of a fragmented
 * request, its history requests in flight, and a pending close. Lives in
 * lws' per-session storage from ESTABLISHED to CLOSED; other code finds it
 * by id, never by a pointer kept across callbacks.
 *
 * A session knows nothing of the server that holds it: everything it
 * uses (limits, counters, the fan-out, the way to ask for history, the
 * batch window) comes through a struct gw_session_env.
 */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include "fanout.h"
#include "frame.h"
#include "request.h"

#include <stddef.h>
#include <stdint.h>

/* Own frames waiting per session; more means the client is not reading. */
#define GW_SESSION_OUT_MAX 32
/*
 * A client's requests are not read while this many of its answers are
 * waiting or due (queued frames plus requests in flight): a client that
 * asks faster than it reads is slowed down by TCP, not disconnected, and
 * its answers never outgrow the queue. Reading resumes below half of it.
 */
#define GW_SESSION_RX_PAUSE (GW_SESSION_OUT_MAX / 2)
/* GW_SESSION_MAX_PENDING may not exceed this (config.c). */
#define GW_SESSION_PENDING_MAX GW_SESSION_RX_PAUSE

struct lws;
struct gw_peer;

struct gw_session_limits {
    long long ping_interval_ms;    /* silence before a ping */
    long long ping_timeout_ms;     /* silence before the peer is dropped */
    size_t queue_max_bytes;        /* own frames' bytes waiting */
    unsigned max_pending;          /* history requests in flight */
    long long slow_close_grace_ms; /* time to take a close frame */
    size_t batch_max_msgs;
    size_t batch_max_bytes;
};

struct gw_session_counters {
    uint64_t frames_out;
    uint64_t bytes_out;
    uint64_t messages_out;
    uint64_t batches_out; /* frames that carried more than one message */
    uint64_t queue_drops;
    uint64_t history_requests; /* taken */
    uint64_t history_refused;  /* over the per-session cap */
    uint64_t bad_requests;
    uint64_t queued_bytes; /* now: own frames' bytes waiting, all sessions */
};

struct gw_session_env {
    struct gw_session_limits lim;
    struct gw_session_counters *m;
    struct gw_fanout *fanout;
    /*
     * Ask for history for session sid: 0 when taken (the answer comes
     * later through gw_session_answer(), or before this returns), or -1
     * with *why a static sentence for the client and *hold_ms how long
     * its next requests should wait unread (0: not at all).
     */
    int (*history)(void *user, uint64_t sid, const struct gw_request *req,
                   const char **why, long long *hold_ms);
    /* The batch window of the live feed now, in microseconds; 0: none. */
    long long (*window_us)(void *user);
    /* Make sure a sweep of the live feed comes even if nothing arrives. */
    void (*sweep_soon)(void *user);
    void *user;
};

struct gw_session {
    uint64_t id;
    struct lws *wsi;
    struct gw_peer *peer; /* the holder's entry for the client's address */
    struct gw_fanout_reader reader;
    struct gw_session *hnext; /* id hash chain */
    struct gw_session *prev;  /* all sessions */
    struct gw_session *next;
    struct gw_frame *out[GW_SESSION_OUT_MAX];
    unsigned out_head;
    unsigned out_count;
    size_t out_bytes; /* payload bytes in out[], capped by the queue cap */
    unsigned pending; /* history requests taken and not yet answered */
    int rx_paused;    /* its requests are not being read */
    long long rx_hold_until_ms; /* nor until then (refused for asking) */
    long long heard_ms;         /* when the peer last sent anything */
    int ping_due;               /* a ping waits to be written */
    int ping_sent;              /* since the peer was last heard */
    char *rx; /* reassembly of a fragmented request, or NULL */
    size_t rx_len;
    int close_code; /* non-zero: close with it at the next chance */
    const char *close_reason;
    int refuse_code; /* non-zero: close with it once the frame has ended */
    int linger;      /* 1: close by hand, then read on; 2: close written */
    const char *refuse_reason;
};

/* ESTABLISHED: s (lws' storage) starts as session id on wsi, its live
 * feed attached. The caller registers it. */
void gw_session_init(const struct gw_session_env *env, struct gw_session *s,
                     struct lws *wsi, uint64_t id);

/* CLOSED: free everything s holds and detach its feed. */
void gw_session_cleanup(const struct gw_session_env *env, struct gw_session *s);

/* The peer sent something (a frame, a pong): it is alive. */
void gw_session_heard(struct gw_session *s);

/*
 * Once a second: a peer silent for ping_interval_ms is pinged (once), one
 * silent for ping_timeout_ms is dropped. This is the gateway's own
 * keepalive: libwebsockets 4.1 keeps a timer per connection in one sorted
 * list, which made each new connection cost time in proportion to how
 * many were already open.
 */
void gw_session_keepalive(const struct gw_session_env *env,
                          struct gw_session *s, long long now_ms);

/* RECEIVE: take a request fragment. -1 closes the connection. */
GW_WUR int gw_session_receive(const struct gw_session_env *env,
                              struct gw_session *s, const void *in, size_t len);

/* SERVER_WRITEABLE: send what is waiting. -1 closes the connection. */
GW_WUR int gw_session_writeable(const struct gw_session_env *env,
                                struct gw_session *s);

/*
 * Queue one of the session's own frames, taking over the caller's
 * reference. When the queue is full (GW_SESSION_OUT_MAX frames, or the
 * byte cap with at least one frame waiting) the frame is dropped
 * (counted) and, if must_deliver, the session is closed as too slow.
 */
void gw_session_push(const struct gw_session_env *env, struct gw_session *s,
                     struct gw_frame *f, int must_deliver);

/* The answer to one of s's history requests (frame as in
 * gw_session_push, must be delivered); frees its place in flight. */
void gw_session_answer(const struct gw_session_env *env, struct gw_session *s,
                       struct gw_frame *f);

/* Queue an error status answering the request tagged req ("" for none);
 * msg is static. */
void gw_session_error(const struct gw_session_env *env, struct gw_session *s,
                      const char *msg, const char *req);

/*
 * Close s with code and a static reason as soon as it can be written, or
 * drop it after grace_ms if it never becomes writable. Never frees s.
 */
void gw_session_close_later(struct gw_session *s, int code, const char *reason,
                            long long grace_ms);

#endif
