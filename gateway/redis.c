#include "redis.h"

#include "chat_limits.h"
#include "layout.h"
#include "log.h"
#include "payload.h"
#include "redis_lws.h"

#include <async.h>
#include <hiredis.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HISTORY_KEY  CHAT_KEY_HISTORY
#define COUNTER_KEY  CHAT_KEY_COUNTER
#define CHANNEL      CHAT_CHANNEL
#define PRESENCE_KEY "presence:gateways"
#define SWEEP_MS     250

enum link_state { LINK_DOWN = 0, LINK_CONNECTING, LINK_UP };

struct link {
    struct gw_redis *r;
    const char *name;
    redisAsyncContext *ac; /* NULL while down */
    enum link_state state;
    unsigned attempt;
    int ever_up;
    struct gw_timer *retry;
    struct gw_timer *deadline;
};

struct hist_req {
    struct hist_req *next;
    struct gw_redis *r;
    uint64_t sid;
    struct gw_request req;
    long long deadline_ms;
};

struct held_msg {
    struct held_msg *next;
    long long id;
    size_t len;
    char json[];
};

struct gw_redis {
    struct lws_context *ctx;
    struct lws_vhost *vh;
    const struct gw_config *cfg;
    size_t pre;
    const struct gw_redis_events *ev;
    void *user;
    struct link sub;
    struct link cmd;
    unsigned rng;
    int freeing;
    /* Ordering: the highest id forwarded, and a floor for the first gap. */
    long long last_id;
    int have_last;
    long long floor_id;
    int have_floor;
    int floor_inflight;
    /* Backfill after a resubscribe; live messages are held meanwhile. */
    int backfilling;
    int backfill_inflight;
    int backfill_again;
    struct held_msg *held_head;
    struct held_msg **held_tail;
    size_t held_count;
    /* History requests waiting for the command connection. */
    struct hist_req *wait_head;
    struct hist_req **wait_tail;
    size_t queued;
    struct gw_timer *sweep;
    struct gw_timer *ping;
    int ping_outstanding;
    struct gw_timer *presence;
    struct gw_redis_stats stats;
};

static void link_connect_cb(void *user);
static void start_sync(struct gw_redis *r);
static void backfill_next(struct gw_redis *r);
static void flush_waiting(struct gw_redis *r);
static void sub_reply(redisAsyncContext *ac, void *reply, void *priv);
static void cmd_hello(redisAsyncContext *ac, void *reply, void *priv);

/* ---- reply checks ---- */

static int reply_is(const redisReply *rep, int type, size_t min_elements)
{
    if (!rep || rep->type != type)
        return 0;
    return type != REDIS_REPLY_ARRAY || rep->elements >= min_elements;
}

static int reply_str_is(const redisReply *rep, const char *s)
{
    return reply_is(rep, REDIS_REPLY_STRING, 0) && strcmp(rep->str, s) == 0;
}

/* ---- connections ---- */

static long long backoff_ms(struct link *l)
{
    const struct gw_config *cfg = l->r->cfg;
    long long base = cfg->redis_backoff_min_ms;

    for (unsigned i = 0; i < l->attempt && base < cfg->redis_backoff_max_ms;
         i++)
        base *= 2;
    if (base > cfg->redis_backoff_max_ms)
        base = cfg->redis_backoff_max_ms;
    l->r->rng ^= l->r->rng << 13;
    l->r->rng ^= l->r->rng >> 17;
    l->r->rng ^= l->r->rng << 5;
    /* Full jitter over the upper half spreads reconnecting replicas. */
    return base / 2 + (long long)(l->r->rng % (unsigned)(base / 2 + 1));
}

static void link_lost(struct link *l, const char *why)
{
    long long delay;

    if (l->r->freeing)
        return;
    gw_timer_cancel(l->deadline);
    l->state = LINK_DOWN;
    if (l == &l->r->sub) {
        l->r->backfilling = 0;
        l->r->backfill_again = 0;
    }
    if (l == &l->r->cmd)
        l->r->ping_outstanding = 0;
    delay = backoff_ms(l);
    l->attempt++;
    log_warn("redis", "event=lost link=%s reason=\"%s\" retry_ms=%lld", l->name,
             why, delay);
    gw_timer_schedule(l->retry, delay);
}

/* Close a connection we gave up on (timeout, dead peer). */
static void link_drop(struct link *l, const char *why)
{
    redisAsyncContext *ac = l->ac;

    if (!ac)
        return;
    l->ac = NULL;
    /* Pending callbacks run now with NULL replies and see l->ac == NULL. */
    redisAsyncFree(ac);
    link_lost(l, why);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct link *l = ac->data;

    if (!l || l->ac != ac)
        return;
    if (status != REDIS_OK) {
        l->ac = NULL; /* hiredis frees it after this callback */
        link_lost(l, ac->errstr ? ac->errstr : "connect failed");
        return;
    }
    /* Up (and the deadline off) once Redis itself has answered. */
    if (l == &l->r->sub)
        redisAsyncCommand(l->ac, sub_reply, l->r, "SUBSCRIBE " CHANNEL);
    else
        redisAsyncCommand(l->ac, cmd_hello, l->r, "PING");
}

static void cmd_hello(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = priv;
    struct link *l = &r->cmd;

    if (r->freeing || !reply || ac != l->ac)
        return;
    if (((redisReply *)reply)->type == REDIS_REPLY_ERROR) {
        /* e.g. LOADING while Redis replays its AOF: not ready yet. */
        link_drop(l, ((redisReply *)reply)->str);
        return;
    }
    gw_timer_cancel(l->deadline);
    l->state = LINK_UP;
    if (l->ever_up)
        l->r->stats.reconnects++;
    l->ever_up = 1;
    l->attempt = 0;
    log_info("redis", "event=up link=cmd");
    flush_waiting(l->r);
    if (l->r->backfilling && !l->r->backfill_inflight)
        backfill_next(l->r);
    if (l->r->sub.state == LINK_UP && !l->r->have_last && !l->r->have_floor)
        start_sync(l->r);
    gw_timer_schedule(l->r->presence, 0);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct link *l = ac->data;

    (void)status;
    if (!l || l->ac != ac)
        return;
    l->ac = NULL; /* hiredis frees it after this callback */
    link_lost(l, ac->errstr ? ac->errstr : "disconnected");
}

static void link_timeout_cb(void *user)
{
    struct link *l = user;

    if (l->state == LINK_CONNECTING)
        link_drop(l, "connect timeout");
}

static void link_connect_cb(void *user)
{
    struct link *l = user;
    const struct gw_config *cfg = l->r->cfg;
    redisAsyncContext *ac =
        redisAsyncConnect(cfg->redis_host, (int)cfg->redis_port);

    if (!ac || ac->err || gw_redis_lws_attach(ac, l->r->vh)) {
        const char *why = ac && ac->err ? ac->errstr : "cannot attach";

        l->ac = NULL;
        link_lost(l, why);
        if (ac)
            redisAsyncFree(ac);
        return;
    }
    ac->data = l;
    l->ac = ac;
    l->state = LINK_CONNECTING;
    /* TCP keepalive notices a peer that vanished without a word. */
    (void)redisEnableKeepAlive(&ac->c);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    gw_timer_schedule(l->deadline, cfg->redis_connect_timeout_ms);
}

static int link_init(struct gw_redis *r, struct link *l, const char *name)
{
    l->r = r;
    l->name = name;
    l->retry = gw_timer_new(r->ctx, link_connect_cb, l);
    l->deadline = gw_timer_new(r->ctx, link_timeout_cb, l);
    return l->retry && l->deadline ? 0 : -1;
}

static void link_cleanup(struct link *l)
{
    redisAsyncContext *ac = l->ac;

    l->ac = NULL;
    if (ac)
        redisAsyncFree(ac);
    gw_timer_free(l->retry);
    gw_timer_free(l->deadline);
}

static redisAsyncContext *cmd_ac(struct gw_redis *r)
{
    return r->cmd.state == LINK_UP ? r->cmd.ac : NULL;
}

/* ---- ordered delivery ---- */

static void forward(struct gw_redis *r, long long id, const char *json,
                    size_t len)
{
    if (r->have_last && id <= r->last_id) {
        r->stats.live_duplicates++;
        return;
    }
    r->ev->message(r->user, json, len);
    r->last_id = id;
    r->have_last = 1;
}

static void held_clear(struct gw_redis *r)
{
    while (r->held_head) {
        struct held_msg *m = r->held_head;

        r->held_head = m->next;
        free(m);
    }
    r->held_tail = &r->held_head;
    r->held_count = 0;
}

static void hold(struct gw_redis *r, long long id, const char *json, size_t len)
{
    struct held_msg *m;

    /* Too many to hold: drop them and read the stream once more. */
    if (r->held_count >= (size_t)r->cfg->queue_max_msgs ||
        !(m = malloc(sizeof(*m) + len))) {
        held_clear(r);
        r->backfill_again = 1;
        return;
    }
    m->next = NULL;
    m->id = id;
    m->len = len;
    memcpy(m->json, json, len);
    *r->held_tail = m;
    r->held_tail = &m->next;
    r->held_count++;
}

static int live_one(void *user, long long id, const char *json, size_t len)
{
    struct gw_redis *r = user;

    if (r->backfilling)
        hold(r, id, json, len);
    else
        forward(r, id, json, len);
    return 0;
}

static void backfill_finish(struct gw_redis *r)
{
    r->backfilling = 0;
    for (struct held_msg *m = r->held_head; m; m = m->next)
        forward(r, m->id, m->json, m->len);
    held_clear(r);
    log_info("redis", "event=backfill_done last_id=%lld", r->last_id);
}

/* The "m" field of a stream entry [id, [field, value, ...]]. */
static int entry_fields(const redisReply *e, const char **id,
                        const redisReply **m)
{
    const redisReply *f;

    if (!reply_is(e, REDIS_REPLY_ARRAY, 2) ||
        !reply_is(e->element[0], REDIS_REPLY_STRING, 0) ||
        !reply_is(e->element[1], REDIS_REPLY_ARRAY, 0))
        return -1;
    f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (reply_str_is(f->element[i], CHAT_STREAM_FIELD) &&
            reply_is(f->element[i + 1], REDIS_REPLY_STRING, 0)) {
            *id = e->element[0]->str;
            *m = f->element[i + 1];
            return 0;
        }
    }
    return -1;
}

/* A checked entry's id, or -1 (counted as invalid). */
static long long entry_check(struct gw_redis *r, const redisReply *e,
                             const redisReply **m)
{
    const char *sid;
    long long id;

    if (entry_fields(e, &sid, m) ||
        gw_payload_entry(sid, (*m)->str, (*m)->len, &id) != GW_PAYLOAD_OK) {
        r->stats.invalid++;
        log_warn("redis", "event=bad_entry");
        return -1;
    }
    return id;
}

static void backfill_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = priv;
    redisReply *rep = reply;

    (void)ac;
    r->backfill_inflight = 0;
    if (r->freeing || !r->backfilling || !rep)
        return; /* resumed when both connections are back */
    if (!reply_is(rep, REDIS_REPLY_ARRAY, 0)) {
        /* Never skip the gap: redial and read the stream again. */
        link_drop(&r->cmd, rep->type == REDIS_REPLY_ERROR ? rep->str
                                                          : "backfill failed");
        return;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *m;
        long long id = entry_check(r, rep->element[i], &m);
        uint64_t before = r->stats.live_duplicates;

        if (id < 0)
            continue;
        forward(r, id, m->str, m->len);
        if (r->stats.live_duplicates == before)
            r->stats.backfilled++;
    }
    if (rep->elements >= CHAT_RESUME_MAX || r->backfill_again) {
        r->backfill_again = 0;
        backfill_next(r);
    } else {
        backfill_finish(r);
    }
}

static void backfill_next(struct gw_redis *r)
{
    long long from = r->have_last ? r->last_id : r->floor_id;
    redisAsyncContext *ac = cmd_ac(r);

    if (from == LLONG_MAX) {
        backfill_finish(r);
        return;
    }
    if (!ac)
        return; /* continued by the command connection's on_connect */
    if (redisAsyncCommand(ac, backfill_reply, r,
                          "XRANGE " HISTORY_KEY " %lld-0 + COUNT %d", from + 1,
                          CHAT_RESUME_MAX) == REDIS_OK)
        r->backfill_inflight = 1;
}

static void floor_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = priv;
    redisReply *rep = reply;
    char *end;
    long long v;

    (void)ac;
    r->floor_inflight = 0;
    if (r->freeing || !rep || r->have_last || r->have_floor)
        return;
    if (rep->type == REDIS_REPLY_NIL) {
        r->have_floor = 1;
        r->floor_id = 0;
        return;
    }
    if (!reply_is(rep, REDIS_REPLY_STRING, 0))
        return;
    v = strtoll(rep->str, &end, 10);
    if (*end || v < 0)
        return;
    r->floor_id = v;
    r->have_floor = 1;
}

/* After (re)subscribing: fill the gap since the last id forwarded. */
static void start_sync(struct gw_redis *r)
{
    redisAsyncContext *ac = cmd_ac(r);

    if (r->have_last || r->have_floor) {
        r->backfilling = 1;
        r->backfill_again = 0;
        if (!r->backfill_inflight)
            backfill_next(r);
        return;
    }
    /* First subscription: nothing was sent yet, remember where we began. */
    if (ac && !r->floor_inflight &&
        redisAsyncCommand(ac, floor_reply, r, "GET " COUNTER_KEY) == REDIS_OK)
        r->floor_inflight = 1;
}

static void sub_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = ac->data ? ((struct link *)ac->data)->r : NULL;
    redisReply *rep = reply;
    enum gw_payload_err err;

    (void)priv;
    if (!r || r->freeing || !rep || ac != r->sub.ac ||
        !reply_is(rep, REDIS_REPLY_ARRAY, 3))
        return;
    if (reply_str_is(rep->element[0], "subscribe")) {
        gw_timer_cancel(r->sub.deadline);
        r->sub.state = LINK_UP;
        if (r->sub.ever_up)
            r->stats.reconnects++;
        r->sub.ever_up = 1;
        r->sub.attempt = 0;
        log_info("redis", "event=subscribed channel=" CHANNEL);
        start_sync(r);
        return;
    }
    if (!reply_str_is(rep->element[0], "message") ||
        !reply_is(rep->element[2], REDIS_REPLY_STRING, 0))
        return;
    err = gw_payload_published(rep->element[2]->str, rep->element[2]->len,
                               live_one, r);
    if (err != GW_PAYLOAD_OK) {
        r->stats.invalid++;
        log_warn("redis", "event=bad_payload code=%d", (int)err);
    }
}

/* ---- history ---- */

static void hist_finish(struct hist_req *h, struct gw_frame *reply,
                        const char *error)
{
    struct gw_redis *r = h->r;

    r->queued--;
    if (reply)
        r->stats.history_ok++;
    else
        r->stats.history_errors++;
    r->ev->history(r->user, h->sid, reply, error);
    free(h);
}

static struct gw_frame *empty_reply(struct gw_redis *r)
{
    return gw_frame_from(r->pre, "[]", 2);
}

/* Gather the valid entries' texts, then copy them into one frame. */
static struct gw_frame *build_reply(struct gw_redis *r, const redisReply *rep,
                                    int reverse)
{
    const redisReply **ms = calloc(rep->elements + 1, sizeof(*ms));
    size_t n = 0, bytes = 2;
    struct gw_frame *f = NULL;

    if (!ms)
        return NULL;
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *m;

        if (entry_check(r, rep->element[i], &m) < 0)
            continue;
        ms[n++] = m;
        bytes += m->len + 1;
    }
    f = gw_frame_new(r->pre, bytes);
    if (!f)
        goto out_free_list;
    (void)!gw_frame_append(f, "[", 1);
    for (size_t i = 0; i < n; i++) {
        const redisReply *m = ms[reverse ? n - 1 - i : i];

        if (i)
            (void)!gw_frame_append(f, ",", 1);
        (void)!gw_frame_append(f, m->str, m->len);
    }
    (void)!gw_frame_append(f, "]", 1);
out_free_list:
    free(ms);
    return f;
}

static void hist_send_or_wait(struct hist_req *h);

static void hist_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct hist_req *h = priv;
    struct gw_redis *r = h->r;
    redisReply *rep = reply;
    struct gw_frame *f;

    (void)ac;
    if (r->freeing) {
        free(h);
        return;
    }
    if (!rep) { /* connection lost: wait for it to come back */
        if (gw_now_ms() < h->deadline_ms)
            hist_send_or_wait(h);
        else
            hist_finish(h, NULL, "history is unavailable right now");
        return;
    }
    if (!reply_is(rep, REDIS_REPLY_ARRAY, 0)) {
        log_warn("redis", "event=history_failed type=%d", rep->type);
        hist_finish(h, NULL, "history query failed");
        return;
    }
    f = build_reply(r, rep, h->req.kind == GW_REQUEST_PAGE);
    hist_finish(h, f, f ? NULL : "out of memory");
}

static int hist_send(struct hist_req *h)
{
    redisAsyncContext *ac = cmd_ac(h->r);
    const struct gw_request *q = &h->req;
    char end[32] = "+";

    if (!ac)
        return -1;
    if (q->kind == GW_REQUEST_AFTER)
        return redisAsyncCommand(ac, hist_reply, h,
                                 "XRANGE " HISTORY_KEY " %lld-0 + COUNT %d",
                                 q->after_id + 1, CHAT_RESUME_MAX);
    if (q->last_id != -1)
        snprintf(end, sizeof(end), "(%lld-0", q->last_id);
    return redisAsyncCommand(ac, hist_reply, h,
                             "XREVRANGE " HISTORY_KEY " %s %lld-0 COUNT %d",
                             end, q->first_id, CHAT_PAGE_MAX);
}

static void hist_send_or_wait(struct hist_req *h)
{
    struct gw_redis *r = h->r;

    if (hist_send(h) == REDIS_OK)
        return;
    h->next = NULL;
    *r->wait_tail = h;
    r->wait_tail = &h->next;
    gw_timer_schedule(r->sweep, SWEEP_MS);
}

static void flush_waiting(struct gw_redis *r)
{
    struct hist_req *list = r->wait_head;

    r->wait_head = NULL;
    r->wait_tail = &r->wait_head;
    while (list) {
        struct hist_req *h = list;

        list = h->next;
        hist_send_or_wait(h);
    }
}

/* Answer, with an error, the waiting requests whose time is up. */
static void sweep_cb(void *user)
{
    struct gw_redis *r = user;
    struct hist_req **pp = &r->wait_head;
    long long now = gw_now_ms();

    while (*pp) {
        struct hist_req *h = *pp;

        if (now < h->deadline_ms) {
            pp = &h->next;
            continue;
        }
        *pp = h->next;
        hist_finish(h, NULL, "history is unavailable: Redis is unreachable");
    }
    r->wait_tail = pp;
    if (r->wait_head)
        gw_timer_schedule(r->sweep, SWEEP_MS);
}

static int range_is_empty(const struct gw_request *q)
{
    if (q->kind == GW_REQUEST_AFTER)
        return q->after_id == LLONG_MAX;
    return q->last_id != -1 && q->last_id <= q->first_id;
}

int gw_redis_history(struct gw_redis *r, uint64_t sid,
                     const struct gw_request *req)
{
    struct hist_req *h;

    if (r->queued >= (size_t)r->cfg->history_queue_max)
        return -1;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    h->r = r;
    h->sid = sid;
    h->req = *req;
    h->deadline_ms = gw_now_ms() + r->cfg->history_timeout_ms;
    r->queued++;
    if (range_is_empty(req)) {
        struct gw_frame *f = empty_reply(r);

        hist_finish(h, f, f ? NULL : "out of memory");
        return 0;
    }
    hist_send_or_wait(h);
    return 0;
}

/* ---- watchdog and presence ---- */

static void ping_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = priv;

    if (!r->freeing && reply && ac == r->cmd.ac)
        r->ping_outstanding = 0;
}

/* A command connection that stops answering is dropped and redialled. */
static void ping_cb(void *user)
{
    struct gw_redis *r = user;
    redisAsyncContext *ac = cmd_ac(r);

    gw_timer_schedule(r->ping, r->cfg->redis_ping_ms);
    if (!ac)
        return;
    if (r->ping_outstanding) {
        /*
         * Same server: a silent subscription cannot be told apart from a
         * quiet channel, so redial it too; the resubscribe backfills.
         */
        link_drop(&r->cmd, "ping timeout");
        link_drop(&r->sub, "ping timeout on the command connection");
        return;
    }
    if (redisAsyncCommand(ac, ping_reply, r, "PING") == REDIS_OK)
        r->ping_outstanding = 1;
}

/* Entries "count:stamp_ms"; returns the count, or -1 when stale or bad. */
static long long presence_value(const struct gw_redis *r, const char *v,
                                long long now)
{
    char *end;
    long long count = strtoll(v, &end, 10), stamp;

    if (end == v || *end != ':' || count < 0)
        return -1;
    stamp = strtoll(end + 1, &end, 10);
    if (*end || now - stamp > r->cfg->presence_ttl_s * 1000)
        return -1;
    return count;
}

static void presence_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = priv;
    redisReply *rep = reply;
    long long others = 0, now = gw_now_ms();

    if (r->freeing || !rep || ac != r->cmd.ac ||
        !reply_is(rep, REDIS_REPLY_ARRAY, 0))
        return;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const redisReply *k = rep->element[i], *v = rep->element[i + 1];
        long long n;

        if (!reply_is(k, REDIS_REPLY_STRING, 0) ||
            !reply_is(v, REDIS_REPLY_STRING, 0) ||
            strcmp(k->str, r->cfg->id) == 0)
            continue;
        n = presence_value(r, v->str, now);
        if (n < 0)
            redisAsyncCommand(ac, NULL, NULL, "HDEL " PRESENCE_KEY " %s",
                              k->str);
        else
            others += n;
    }
    r->ev->presence(r->user, others);
}

static void presence_cb(void *user)
{
    struct gw_redis *r = user;
    redisAsyncContext *ac = cmd_ac(r);
    char value[64];

    gw_timer_schedule(r->presence, r->cfg->presence_refresh_ms);
    if (!ac)
        return;
    snprintf(value, sizeof(value), "%lld:%lld", r->ev->count(r->user),
             gw_now_ms());
    redisAsyncCommand(ac, NULL, NULL, "HSET " PRESENCE_KEY " %s %s", r->cfg->id,
                      value);
    redisAsyncCommand(ac, NULL, NULL, "PEXPIRE " PRESENCE_KEY " %lld",
                      r->cfg->presence_ttl_s * 4000);
    redisAsyncCommand(ac, presence_reply, r, "HGETALL " PRESENCE_KEY);
}

void gw_redis_presence_leave(struct gw_redis *r)
{
    redisAsyncContext *ac = r ? cmd_ac(r) : NULL;

    if (ac)
        redisAsyncCommand(ac, NULL, NULL, "HDEL " PRESENCE_KEY " %s",
                          r->cfg->id);
}

/* ---- life cycle ---- */

struct gw_redis *gw_redis_new(struct lws_context *ctx, struct lws_vhost *vh,
                              const struct gw_config *cfg, size_t pre,
                              const struct gw_redis_events *events, void *user)
{
    struct gw_redis *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->ctx = ctx;
    r->vh = vh;
    r->cfg = cfg;
    r->pre = pre;
    r->ev = events;
    r->user = user;
    r->rng = (unsigned)gw_now_ms() ^ ((unsigned)getpid() << 16) ^ 0x9e3779b9u;
    r->held_tail = &r->held_head;
    r->wait_tail = &r->wait_head;
    r->sweep = gw_timer_new(ctx, sweep_cb, r);
    r->ping = gw_timer_new(ctx, ping_cb, r);
    r->presence = gw_timer_new(ctx, presence_cb, r);
    if (!r->sweep || !r->ping || !r->presence || link_init(r, &r->sub, "sub") ||
        link_init(r, &r->cmd, "cmd")) {
        gw_redis_free(r);
        return NULL;
    }
    gw_timer_schedule(r->sub.retry, 0);
    gw_timer_schedule(r->cmd.retry, 0);
    gw_timer_schedule(r->ping, cfg->redis_ping_ms);
    return r;
}

void gw_redis_free(struct gw_redis *r)
{
    if (!r)
        return;
    r->freeing = 1;
    while (r->wait_head) {
        struct hist_req *h = r->wait_head;

        r->wait_head = h->next;
        free(h);
    }
    link_cleanup(&r->sub);
    link_cleanup(&r->cmd);
    held_clear(r);
    gw_timer_free(r->sweep);
    gw_timer_free(r->ping);
    gw_timer_free(r->presence);
    free(r);
}

int gw_redis_ready(const struct gw_redis *r)
{
    return r && r->sub.state == LINK_UP && r->cmd.state == LINK_UP;
}

struct gw_redis_stats gw_redis_stats(const struct gw_redis *r)
{
    return r->stats;
}
