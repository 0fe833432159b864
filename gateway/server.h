/*
 * The per-vhost state of the chat protocol (created at PROTOCOL_INIT,
 * freed at PROTOCOL_DESTROY) and what connects the pieces: Redis events
 * feed the fan-out, the fan-out wakes the sessions, presence and metrics
 * are kept here. No globals: main's struct gw_app is the context user.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include "config.h"
#include "fanout.h"
#include "log_limit.h"
#include "peers.h"
#include "redis.h"
#include "session.h"

#include <libwebsockets.h>
#include <stdint.h>

#define GW_SESSION_BUCKETS 4096
#define GW_LOG_SLOTS       8

/* Owned by main; the lws context's user pointer. */
struct gw_app {
    struct gw_config cfg;
    lws_retry_bo_t keepalive; /* all zero: see gw_session_keepalive() */
    int done;                 /* set when the loop should end */
};

struct gw_metrics {
    uint64_t connections_total;
    uint64_t slow_closes;
    uint64_t refused_origin;
    uint64_t refused_full;
    uint64_t refused_address; /* over GW_MAX_CONNECTIONS_PER_ADDRESS */
    uint64_t history_limited; /* over the address's history budget */
    uint64_t history_busy;    /* over GW_HISTORY_QUEUED_MAX_BYTES */
    struct gw_session_counters sessions;
};

struct gw_server {
    struct gw_app *app;
    const struct gw_config *cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    const struct lws_protocols *prot;
    struct gw_fanout *fanout;
    struct gw_redis *redis;
    struct gw_peers *peers;
    struct log_limit loglim; /* what clients can make us log, bounded */
    struct log_limit_slot loglim_slots[GW_LOG_SLOTS];
    struct gw_redis_events events;
    struct gw_session_env env; /* what every session is given */
    struct gw_session *buckets[GW_SESSION_BUCKETS];
    struct gw_session *sessions; /* list of all */
    size_t nsessions;
    uint64_t next_id;
    struct gw_metrics m;
    lws_sorted_usec_list_t sul_wake;
    lws_sorted_usec_list_t sul_presence;
    lws_sorted_usec_list_t sul_stop;
    lws_sorted_usec_list_t sul_peers;
    lws_sorted_usec_list_t sul_keepalive;
    int wake_armed;
    lws_usec_t last_sweep_us; /* when writers were last woken for the feed */
    uint64_t swept_pushed;    /* messages pushed as of that sweep */
    double feed_rate;         /* messages/s, smoothed over sweeps */
    lws_usec_t window_us;     /* the batch window that rate earns */
    lws_usec_t wake_due;      /* when the armed sweep runs */
    size_t since_sweep_msgs;  /* pushed since the last sweep */
    size_t since_sweep_bytes;
    long long presence_others;
    long long presence_sent;
    long long presence_sent_ms;
    int stopping;
    lws_usec_t stop_deadline;
};

/* PROTOCOL_INIT: allocate and start the per-vhost state. 0 or -1. */
GW_WUR int gw_server_init(struct lws *wsi);

/* PROTOCOL_DESTROY: free everything; NULL does nothing. */
void gw_server_destroy(struct gw_server *srv);

/* The per-vhost state for a wsi of the chat protocol. */
struct gw_server *gw_server_of(struct lws *wsi);

/*
 * HTTP_CONFIRM_UPGRADE: 0 to accept; otherwise an HTTP error was sent and
 * the value is what the callback returns (origin, capacity, stopping).
 */
int gw_server_admit(struct gw_server *srv, struct lws *wsi);

/* ESTABLISHED: register the session in lws' storage s. 0 or -1 (refuse). */
GW_WUR int gw_server_session_open(struct gw_server *srv, struct gw_session *s,
                                  struct lws *wsi);

/* CLOSED: unregister s and free what it holds. */
void gw_server_session_close(struct gw_server *srv, struct gw_session *s);

/* The open session with this id, or NULL. */
struct gw_session *gw_server_session_find(struct gw_server *srv, uint64_t id);

/* EVENT_WAIT_CANCELLED: another thread woke the loop. */
void gw_server_wake(struct gw_server *srv);

/* Begin a graceful stop: refuse new clients, close all with 1001. */
void gw_server_stop(struct gw_server *srv);

/*
 * Make sure a sweep of the live feed is coming: at once after a quiet
 * spell, else when the current batch window ends. Cheap to call often.
 */
void gw_server_sweep_soon(struct gw_server *srv);

/* {"type":"presence","online":N} with the current total, one reference. */
struct gw_frame *gw_server_presence_frame(struct gw_server *srv);

/* The Prometheus text of the counters into buf; returns its length. */
size_t gw_server_metrics(struct gw_server *srv, char *buf, size_t cap);

#endif
