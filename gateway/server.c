#include "server.h"

#include "log.h"
#include "origin.h"
#include "presence_rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PRESENCE_PUSH_MS 1000
#define STOP_POLL_MS     50
#define PEERS_SWEEP_MS   5000
#define KEEPALIVE_MS     1000
/* A client refused for its address's budget is not read for this long. */
#define HISTORY_HOLD_MS 1000
/* X-Forwarded-For longer than this is not read (the peer counts). */
#define XFF_MAX 1024
/* lws has no name for it. */
#define HTTP_STATUS_TOO_MANY_REQUESTS 429

static long long now_ms(void)
{
    return (long long)(lws_now_usecs() / LWS_US_PER_MS);
}

static void log_summary(void *ctx, const struct log_limit_summary *sum)
{
    (void)ctx;
    log_info("server", "event=suppressed kind=%s%.*s lines=%llu window_ms=%lld",
             sum->other ? "other" : "", (int)sum->key_len, sum->key,
             sum->suppressed, sum->window_ms);
}

/*
 * A line a client's doing causes (a refusal, a slow close): at most
 * LOG_REPEAT_BURST of one kind per interval, the rest counted in one
 * summary line, so that a flood of refusals does not flood the log.
 * kind is a static word naming the line.
 */
#define log_client_event(srv, kind, ...)                                       \
    do {                                                                       \
        struct log_limit_summary due_;                                         \
        int ok_ = log_limit_take(&(srv)->loglim, kind, strlen(kind), now_ms(), \
                                 &due_);                                       \
                                                                               \
        if (due_.suppressed)                                                   \
            log_summary(NULL, &due_);                                          \
        if (ok_)                                                               \
            log_info("server", __VA_ARGS__);                                   \
    } while (0)

struct gw_server *gw_server_of(struct lws *wsi)
{
    return lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));
}

/* ---- events from the fan-out and from Redis ---- */

/*
 * The feed's message rate, measured between sweeps and smoothed, and the
 * number of readers set the batch window (gw_fanout_window_us): a quiet or
 * small room waits for nothing, a busy crowd lets the messages of a window
 * go out as one frame, as each frame costs about the same (a write, a TCP
 * segment, the reader's wakeup) however many messages it holds.
 */
static void note_sweep(struct gw_server *srv, lws_usec_t now)
{
    uint64_t pushed = gw_fanout_stats(srv->fanout).pushed;
    lws_usec_t dt = now - srv->last_sweep_us;

    if (srv->last_sweep_us && dt > 0) {
        double rate = (double)(pushed - srv->swept_pushed) * 1e6 / (double)dt;

        srv->feed_rate = 0.8 * srv->feed_rate + 0.2 * rate;
    }
    srv->swept_pushed = pushed;
    srv->last_sweep_us = now;
    srv->since_sweep_msgs = 0;
    srv->since_sweep_bytes = 0;
    srv->window_us =
        gw_fanout_window_us(srv->feed_rate, gw_fanout_readers(srv->fanout),
                            srv->cfg->batch_window_ms * LWS_US_PER_MS,
                            (double)srv->cfg->batch_full_deliveries);
}

static void wake_cb(lws_sorted_usec_list_t *sul)
{
    struct gw_server *srv = lws_container_of(sul, struct gw_server, sul_wake);

    srv->wake_armed = 0;
    note_sweep(srv, lws_now_usecs());
    lws_callback_on_writable_all_protocol_vhost(srv->vh, srv->prot);
}

/*
 * Coalesce: one sweep over all sessions per loop turn, not per message,
 * and at most one per batch window. The messages of one window reach each
 * client as one frame, so the cost per client (a write, a TCP segment,
 * lighttpd's proxy work) follows the window, not the message rate.
 */
/*
 * A window ends early once it holds a frame's worth, or half of what a
 * client may have unsent: waiting longer would only push clients that
 * keep up towards the queue cap that closes the ones that do not.
 */
static int window_full(const struct gw_server *srv)
{
    const struct gw_config *c = srv->cfg;
    size_t msgs = (size_t)(c->batch_max_msgs < c->queue_max_msgs / 2
                               ? c->batch_max_msgs
                               : c->queue_max_msgs / 2);
    size_t bytes = (size_t)(c->batch_max_bytes < c->queue_max_bytes / 2
                                ? c->batch_max_bytes
                                : c->queue_max_bytes / 2);

    return srv->since_sweep_msgs >= msgs || srv->since_sweep_bytes >= bytes;
}

void gw_server_sweep_soon(struct gw_server *srv)
{
    lws_usec_t now = lws_now_usecs();
    lws_usec_t due = srv->last_sweep_us + srv->window_us;

    if (due < now || window_full(srv))
        due = now;
    if (srv->wake_armed && srv->wake_due <= due)
        return;
    srv->wake_armed = 1;
    srv->wake_due = due;
    lws_sul_schedule(srv->ctx, 0, &srv->sul_wake, wake_cb, due - now + 1);
}

static void on_fanout_wake(void *user)
{
    gw_server_sweep_soon(user);
}

static void on_fanout_overrun(void *user, struct gw_fanout_reader *r)
{
    struct gw_server *srv = user;
    struct gw_session *s = lws_container_of(r, struct gw_session, reader);

    srv->m.slow_closes++;
    log_client_event(srv, "slow_close", "event=slow_close id=%llu",
                     (unsigned long long)s->id);
    gw_session_close_later(s, 1008, "client too slow: queue limit exceeded",
                           srv->cfg->slow_close_grace_ms);
}

static void on_message(void *user, const char *json, size_t len)
{
    struct gw_server *srv = user;

    /* Counted first: the push itself asks for the sweep. */
    srv->since_sweep_msgs++;
    srv->since_sweep_bytes += len;
    if (gw_fanout_push(srv->fanout, json, len))
        log_error("fanout", "event=push_failed reason=\"out of memory\"");
}

static void on_history(void *user, uint64_t sid, struct gw_frame *frame, int ok)
{
    struct gw_server *srv = user;
    struct gw_session *s = gw_server_session_find(srv, sid);

    (void)ok;
    if (!s) {
        gw_frame_unref(frame);
        return;
    }
    /* Its size is known only now: the address pays for it afterwards. */
    if (s->peer)
        gw_peer_done(srv->peers, s->peer, frame ? frame->len : 0, now_ms());
    gw_session_answer(&srv->env, s, frame);
}

static long long on_count(void *user)
{
    return (long long)((struct gw_server *)user)->nsessions;
}

static void on_presence(void *user, long long others)
{
    ((struct gw_server *)user)->presence_others = others;
}

/* ---- presence ---- */

struct gw_frame *gw_server_presence_frame(struct gw_server *srv)
{
    char text[64];
    long long online = srv->presence_others + (long long)srv->nsessions;
    int n = snprintf(text, sizeof(text),
                     "{\"type\":\"presence\",\"online\":%lld}", online);

    return gw_frame_from(LWS_PRE, text, (size_t)n);
}

/* Tell everyone when the total changed, at most once a second. */
static void presence_cb(lws_sorted_usec_list_t *sul)
{
    struct gw_server *srv =
        lws_container_of(sul, struct gw_server, sul_presence);
    long long online = srv->presence_others + (long long)srv->nsessions;
    long long now = now_ms();
    struct gw_frame *f;

    lws_sul_schedule(srv->ctx, 0, &srv->sul_presence, presence_cb,
                     PRESENCE_PUSH_MS * LWS_US_PER_MS);
    if (srv->stopping ||
        !gw_presence_push_due(
            online, srv->presence_sent, now, srv->presence_sent_ms,
            gw_presence_interval_ms((long long)srv->nsessions)))
        return;
    srv->presence_sent = online;
    srv->presence_sent_ms = now;
    f = gw_server_presence_frame(srv);
    if (!f)
        return;
    for (struct gw_session *s = srv->sessions; s; s = s->next)
        gw_session_push(&srv->env, s, gw_frame_ref(f), 0);
    gw_frame_unref(f);
}

/* ---- sessions ---- */

static struct gw_session **bucket(struct gw_server *srv, uint64_t id)
{
    return &srv->buckets[id % GW_SESSION_BUCKETS];
}

struct gw_session *gw_server_session_find(struct gw_server *srv, uint64_t id)
{
    struct gw_session *s = *bucket(srv, id);

    while (s && s->id != id)
        s = s->hnext;
    return s;
}

/* Who the client is: see clientaddr.h. */
static void client_addr(struct gw_server *srv, struct lws *wsi,
                        char out[GW_ADDR_MAX])
{
    char peer[GW_ADDR_MAX] = "", xff[XFF_MAX];
    int has_xff =
        lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) > 0 &&
        lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) >= 0;

    lws_get_peer_simple(wsi, peer, sizeof(peer));
    gw_client_addr(&srv->cfg->trusted, peer, has_xff ? xff : NULL, out);
}

int gw_server_session_open(struct gw_server *srv, struct gw_session *s,
                           struct lws *wsi)
{
    struct gw_session **b;
    struct gw_peer *peer;
    char addr[GW_ADDR_MAX];

    if (!srv)
        return -1;
    client_addr(srv, wsi, addr);
    /* Admission checked the count; a race of upgrades may still end here. */
    peer = gw_peers_join(srv->peers, addr, now_ms());
    if (!peer) {
        srv->m.refused_address++;
        return -1;
    }
    gw_session_init(&srv->env, s, wsi, ++srv->next_id);
    s->peer = peer;
    b = bucket(srv, s->id);
    s->hnext = *b;
    *b = s;
    s->prev = NULL;
    s->next = srv->sessions;
    if (srv->sessions)
        srv->sessions->prev = s;
    srv->sessions = s;
    srv->nsessions++;
    srv->m.connections_total++;
    gw_session_push(&srv->env, s, gw_server_presence_frame(srv), 0);
    return 0;
}

void gw_server_session_close(struct gw_server *srv, struct gw_session *s)
{
    struct gw_session **pp;

    if (!srv || !s->id)
        return;
    for (pp = bucket(srv, s->id); *pp && *pp != s; pp = &(*pp)->hnext)
        ;
    if (*pp)
        *pp = s->hnext;
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    srv->nsessions--;
    if (srv->peers) {
        /* Answers still to come find no session: nothing charges them. */
        gw_peer_forget(srv->peers, s->peer, s->pending);
        gw_peers_leave(srv->peers, s->peer);
    }
    gw_session_cleanup(&srv->env, s);
}

/* The sessions' way to the history: refused while stopping or full. */
static int session_history(void *user, uint64_t sid,
                           const struct gw_request *req, const char **why,
                           long long *hold_ms)
{
    struct gw_server *srv = user;
    struct gw_session *s = gw_server_session_find(srv, sid);

    if (!srv->redis || srv->stopping || !s) {
        *why = "server is shutting down";
        return -1;
    }
    /* Replies nobody is reading yet hold memory: bounded for the process. */
    if (srv->m.sessions.queued_bytes >
        (uint64_t)srv->cfg->history_queued_max_bytes) {
        srv->m.history_busy++;
        *why = "server busy, try again later";
        return -1;
    }
    if (gw_peer_ask(srv->peers, s->peer, now_ms())) {
        srv->m.history_limited++;
        *why = "too many history requests from your address, try again "
               "shortly";
        *hold_ms = HISTORY_HOLD_MS;
        return -1;
    }
    if (gw_redis_history(srv->redis, sid, req)) {
        srv->m.history_busy++; /* GW_HISTORY_QUEUE_MAX requests wait */
        gw_peer_forget(srv->peers, s->peer, 1);
        *why = "server busy, try again later";
        return -1;
    }
    return 0;
}

static long long session_window_us(void *user)
{
    return ((struct gw_server *)user)->window_us;
}

static void session_sweep_soon(void *user)
{
    gw_server_sweep_soon(user);
}

void gw_server_wake(struct gw_server *srv)
{
    if (srv)
        gw_redis_wake(srv->redis);
}

/* ---- life cycle ---- */

/* One timer for every session's keepalive (gw_session_keepalive). */
static void keepalive_cb(lws_sorted_usec_list_t *sul)
{
    struct gw_server *srv =
        lws_container_of(sul, struct gw_server, sul_keepalive);
    long long now = now_ms();

    for (struct gw_session *s = srv->sessions; s; s = s->next)
        gw_session_keepalive(&srv->env, s, now);
    lws_sul_schedule(srv->ctx, 0, &srv->sul_keepalive, keepalive_cb,
                     KEEPALIVE_MS * LWS_US_PER_MS);
}

static void peers_cb(lws_sorted_usec_list_t *sul)
{
    struct gw_server *srv = lws_container_of(sul, struct gw_server, sul_peers);

    gw_peers_sweep(srv->peers, now_ms());
    (void)log_limit_sweep(&srv->loglim, now_ms(), false, log_summary, NULL);
    lws_sul_schedule(srv->ctx, 0, &srv->sul_peers, peers_cb,
                     PEERS_SWEEP_MS * LWS_US_PER_MS);
}

static int start_peers(struct gw_server *srv)
{
    const struct gw_config *cfg = srv->cfg;
    struct gw_peer_limits lim = {
        .max_conns = (unsigned)cfg->max_conns_per_addr,
        .max_inflight = (unsigned)cfg->history_addr_inflight,
        .req_rate = (double)cfg->history_rate,
        .req_burst = (double)cfg->history_burst,
        .byte_rate = (double)cfg->history_bytes_rate,
        .byte_burst = (double)cfg->history_bytes_burst,
    };

    srv->peers = gw_peers_new(&lim);
    if (!srv->peers)
        return -1;
    log_limit_init(&srv->loglim, srv->loglim_slots, GW_LOG_SLOTS,
                   (unsigned long long)cfg->log_repeat_burst,
                   cfg->log_repeat_interval_ms);
    lws_sul_schedule(srv->ctx, 0, &srv->sul_peers, peers_cb,
                     PEERS_SWEEP_MS * LWS_US_PER_MS);
    lws_sul_schedule(srv->ctx, 0, &srv->sul_keepalive, keepalive_cb,
                     KEEPALIVE_MS * LWS_US_PER_MS);
    return 0;
}

static int start(struct gw_server *srv)
{
    const struct gw_config *cfg = srv->cfg;
    struct gw_fanout_config fc = {
        .pre = LWS_PRE,
        .max_msgs = (size_t)cfg->queue_max_msgs,
        .max_bytes = (size_t)cfg->queue_max_bytes,
        .batch_max_msgs = (size_t)cfg->batch_max_msgs,
        .batch_max_bytes = (size_t)cfg->batch_max_bytes,
        .wake = on_fanout_wake,
        .overrun = on_fanout_overrun,
        .user = srv,
    };

    srv->events.message = on_message;
    srv->events.history = on_history;
    srv->events.presence = on_presence;
    srv->events.count = on_count;
    srv->presence_sent = -1;
    srv->fanout = gw_fanout_new(&fc);
    if (!srv->fanout || start_peers(srv))
        return -1;
    srv->env = (struct gw_session_env){
        .lim =
            {
                .ping_interval_ms = cfg->ping_interval_s * 1000,
                .ping_timeout_ms = cfg->ping_timeout_s * 1000,
                .queue_max_bytes = (size_t)cfg->queue_max_bytes,
                .max_pending = (unsigned)cfg->session_max_pending,
                .slow_close_grace_ms = cfg->slow_close_grace_ms,
                .batch_max_msgs = (size_t)cfg->batch_max_msgs,
                .batch_max_bytes = (size_t)cfg->batch_max_bytes,
            },
        .m = &srv->m.sessions,
        .fanout = srv->fanout,
        .history = session_history,
        .window_us = session_window_us,
        .sweep_soon = session_sweep_soon,
        .user = srv,
    };
    srv->redis =
        gw_redis_new(srv->ctx, srv->vh, cfg, LWS_PRE, &srv->events, srv);
    if (!srv->redis)
        return -1;
    lws_sul_schedule(srv->ctx, 0, &srv->sul_presence, presence_cb,
                     PRESENCE_PUSH_MS * LWS_US_PER_MS);
    return 0;
}

int gw_server_init(struct lws *wsi)
{
    struct lws_vhost *vh = lws_get_vhost(wsi);
    const struct lws_protocols *prot = lws_get_protocol(wsi);
    struct gw_server *srv = lws_protocol_vh_priv_zalloc(vh, prot, sizeof(*srv));

    if (!srv)
        return -1;
    srv->ctx = lws_get_context(wsi);
    srv->app = lws_context_user(srv->ctx);
    srv->cfg = &srv->app->cfg;
    srv->vh = vh;
    srv->prot = prot;
    if (start(srv)) {
        log_error("server", "event=init_failed reason=\"out of memory\"");
        return -1;
    }
    return 0;
}

void gw_server_destroy(struct gw_server *srv)
{
    if (!srv)
        return;
    lws_sul_cancel(&srv->sul_wake);
    lws_sul_cancel(&srv->sul_presence);
    lws_sul_cancel(&srv->sul_stop);
    lws_sul_cancel(&srv->sul_peers);
    lws_sul_cancel(&srv->sul_keepalive);
    (void)log_limit_sweep(&srv->loglim, now_ms(), true, log_summary, NULL);
    gw_redis_free(srv->redis);
    srv->redis = NULL;
    gw_fanout_free(srv->fanout);
    srv->fanout = NULL;
    srv->env.fanout = NULL;
    gw_peers_free(srv->peers);
    srv->peers = NULL;
}

static void stop_cb(lws_sorted_usec_list_t *sul)
{
    struct gw_server *srv = lws_container_of(sul, struct gw_server, sul_stop);

    if (srv->nsessions && lws_now_usecs() < srv->stop_deadline) {
        lws_sul_schedule(srv->ctx, 0, &srv->sul_stop, stop_cb,
                         STOP_POLL_MS * LWS_US_PER_MS);
        return;
    }
    log_info("server", "event=stopped sessions_left=%zu", srv->nsessions);
    /* Close Redis while the loop still runs so its descriptors go too. */
    gw_redis_free(srv->redis);
    srv->redis = NULL;
    srv->app->done = 1;
    lws_cancel_service(srv->ctx);
}

void gw_server_stop(struct gw_server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    log_info("server", "event=stopping sessions=%zu", srv->nsessions);
    gw_redis_presence_leave(srv->redis);
    /* Stuck sessions outlive the grace on purpose: exit frees them. */
    for (struct gw_session *s = srv->sessions; s; s = s->next)
        gw_session_close_later(s, LWS_CLOSE_STATUS_GOINGAWAY, "going away",
                               srv->cfg->shutdown_grace_ms * 2);
    srv->stop_deadline =
        lws_now_usecs() + srv->cfg->shutdown_grace_ms * LWS_US_PER_MS;
    lws_sul_schedule(srv->ctx, 0, &srv->sul_stop, stop_cb, 1);
}

/* ---- admission ---- */

/*
 * The scheme the page was served with: plain http on the direct path (the
 * gateway speaks no TLS); what a trusted proxy says in X-Forwarded-Proto
 * on the path through the front end.
 */
static const char *page_scheme(struct gw_server *srv, struct lws *wsi)
{
    static const char name[] = "x-forwarded-proto:";
    char peer[GW_ADDR_MAX] = "", proto[8] = "";

    lws_get_peer_simple(wsi, peer, sizeof(peer));
    if (!gw_trusted_has(&srv->cfg->trusted, peer) ||
        lws_hdr_custom_copy(wsi, proto, sizeof(proto), name,
                            (int)sizeof(name) - 1) < 0)
        return "http";
    return strcasecmp(proto, "https") == 0 ? "https" : "http";
}

/* A browser's page must be one we serve (common/origin.h). */
static int origin_ok(struct gw_server *srv, struct lws *wsi)
{
    char origin[256] = "", host[256] = "";

    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
        return 0;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) > 0 &&
        lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) < 0)
        return 0;
    return origin_allowed(srv->cfg->allowed_origins, origin,
                          page_scheme(srv, wsi), host[0] ? host : NULL);
}

static int refuse(struct lws *wsi, unsigned status, uint64_t *counter)
{
    (*counter)++;
    lws_return_http_status(wsi, status, NULL);
    return 1;
}

int gw_server_admit(struct gw_server *srv, struct lws *wsi)
{
    char addr[GW_ADDR_MAX];

    if (!srv || srv->stopping)
        return refuse(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                      srv ? &srv->m.refused_full : &(uint64_t){0});
    if (srv->nsessions >= (size_t)srv->cfg->max_connections)
        return refuse(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                      &srv->m.refused_full);
    client_addr(srv, wsi, addr);
    if (gw_peers_conns(srv->peers, addr) >=
        (unsigned)srv->cfg->max_conns_per_addr) {
        log_client_event(srv, "refused_address",
                         "event=refused reason=address addr=%s", addr);
        return refuse(wsi, HTTP_STATUS_TOO_MANY_REQUESTS,
                      &srv->m.refused_address);
    }
    /* No Origin: not a browser, nothing to protect against. */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return 0;
    if (!origin_ok(srv, wsi)) {
        log_client_event(srv, "refused_origin", "event=refused reason=origin");
        return refuse(wsi, HTTP_STATUS_FORBIDDEN, &srv->m.refused_origin);
    }
    return 0;
}

/* ---- metrics ---- */

/*
 * One sample; the first sample of a family carries its type and help,
 * written as the family's # HELP and # TYPE lines.
 */
struct metric_row {
    const char *name; /* with its labels */
    unsigned long long value;
    const char *type;
    const char *help;
};

#define COUNTER(name, value, help)                                             \
    {                                                                          \
        name, value, "counter", help                                           \
    }
#define GAUGE(name, value, help)                                               \
    {                                                                          \
        name, value, "gauge", help                                             \
    }
#define MORE(name, value)                                                      \
    {                                                                          \
        name, value, NULL, NULL                                                \
    }

static int metric_head(const struct metric_row *r, char *buf, size_t cap)
{
    int len = (int)strcspn(r->name, "{");

    return snprintf(buf, cap, "# HELP %.*s %s\n# TYPE %.*s %s\n", len, r->name,
                    r->help, len, r->name, r->type);
}

static size_t metrics_write(const struct metric_row *rows, size_t n, char *buf,
                            size_t cap)
{
    size_t used = 0;

    for (size_t i = 0; i < n; i++) {
        int h =
            rows[i].help ? metric_head(&rows[i], buf + used, cap - used) : 0;

        if (h < 0 || (size_t)h >= cap - used)
            break;
        int w = snprintf(buf + used + h, cap - used - (size_t)h, "%s %llu\n",
                         rows[i].name, rows[i].value);

        if (w < 0 || (size_t)w >= cap - used - (size_t)h)
            break;
        used += (size_t)h + (size_t)w;
    }
    return used;
}

size_t gw_server_metrics(struct gw_server *srv, char *buf, size_t cap)
{
    struct gw_fanout_stats fs = gw_fanout_stats(srv->fanout);
    struct gw_redis_stats rs = {0};
    const struct gw_metrics *m = &srv->m;
    const struct gw_session_counters *sc = &m->sessions;

    if (srv->redis)
        rs = gw_redis_stats(srv->redis);
    const struct metric_row rows[] = {
        GAUGE("chat_gw_connections", srv->nsessions,
              "Open WebSocket connections."),
        COUNTER("chat_gw_connections_total", m->connections_total,
                "WebSocket connections opened."),
        COUNTER("chat_gw_frames_out_total", sc->frames_out,
                "WebSocket frames written to clients."),
        COUNTER("chat_gw_bytes_out_total", sc->bytes_out,
                "Bytes of WebSocket frames written to clients."),
        COUNTER("chat_gw_messages_out_total", sc->messages_out,
                "Live messages written to clients, once per client."),
        COUNTER("chat_gw_batches_out_total", sc->batches_out,
                "Frames that carried more than one live message."),
        COUNTER("chat_gw_messages_in_total", fs.pushed,
                "Live messages received from Redis."),
        COUNTER("chat_gw_batch_frames_built_total", fs.batches_built,
                "Multi-message frames encoded."),
        COUNTER("chat_gw_batch_frames_shared_total", fs.batch_reuses,
                "Multi-message frames reused for another client."),
        COUNTER("chat_gw_queue_drops_total", sc->queue_drops,
                "Replies dropped because a client's queue was full."),
        COUNTER("chat_gw_slow_client_closes_total", m->slow_closes,
                "Clients closed for lagging behind the live feed."),
        GAUGE("chat_gw_redis_up",
              (unsigned long long)gw_redis_ready(srv->redis),
              "1 while all three Redis links are up."),
        COUNTER("chat_gw_redis_reconnects_total", rs.reconnects,
                "Redis links established again after a loss."),
        COUNTER("chat_gw_redis_failovers_total", rs.failovers,
                "Times this gateway moved to a new Redis primary."),
        COUNTER("chat_gw_redis_timeouts_total{link=\"cmd\"}", rs.cmd_timeouts,
                "Redis links dropped for not answering, by link."),
        MORE("chat_gw_redis_timeouts_total{link=\"sub\"}", rs.sub_timeouts),
        MORE("chat_gw_redis_timeouts_total{link=\"hist\"}", rs.history_stalls),
        COUNTER("chat_gw_backfilled_messages_total", rs.backfilled,
                "Messages read back from the stream after a gap."),
        COUNTER("chat_gw_live_gaps_total", rs.gaps,
                "Holes in the live ids that started a backfill."),
        COUNTER("chat_gw_held_dropped_total", rs.held_dropped,
                "Live messages dropped while a backfill held them."),
        COUNTER("chat_gw_live_duplicates_dropped_total", rs.live_duplicates,
                "Live messages dropped as already forwarded."),
        COUNTER("chat_gw_redis_invalid_payloads_total", rs.invalid,
                "Messages from Redis that failed their checks."),
        COUNTER("chat_gw_history_requests_total{status=\"ok\"}", rs.history_ok,
                "History requests by outcome."),
        MORE("chat_gw_history_requests_total{status=\"error\"}",
             rs.history_errors),
        MORE("chat_gw_history_requests_total{status=\"refused\"}",
             sc->history_refused),
        MORE("chat_gw_history_requests_total{status=\"limited\"}",
             m->history_limited),
        MORE("chat_gw_history_requests_total{status=\"busy\"}",
             m->history_busy),
        COUNTER("chat_gw_bad_requests_total", sc->bad_requests,
                "Client frames that were not a valid request."),
        COUNTER("chat_gw_refused_total{reason=\"origin\"}", m->refused_origin,
                "WebSocket handshakes refused, by reason."),
        MORE("chat_gw_refused_total{reason=\"capacity\"}", m->refused_full),
        MORE("chat_gw_refused_total{reason=\"address\"}", m->refused_address),
        GAUGE("chat_gw_history_queued_bytes", sc->queued_bytes,
              "Bytes of replies waiting for clients to read them."),
        COUNTER("chat_gw_history_cache_hits_total", rs.history_cache_hits,
                "Newest-page requests answered from memory."),
        GAUGE("chat_gw_addresses", gw_peers_count(srv->peers),
              "Client addresses with a connection or a history budget."),
        GAUGE("chat_gw_presence_online",
              (unsigned long long)(srv->presence_others +
                                   (long long)srv->nsessions),
              "Clients connected across all gateways."),
    };

    return metrics_write(rows, sizeof(rows) / sizeof(rows[0]), buf, cap);
}
