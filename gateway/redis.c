#include "redis.h"

#include "chat_limits.h"
#include "history.h"
#include "layout.h"
#include "link.h"
#include "log.h"
#include "order.h"
#include "payload.h"
#include "presence.h"
#include "primary.h"
#include "redis_lws.h"
#include "resolve.h"
#include "stream.h"
#include "watchdog.h"

#include <async.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEARTBEAT_PREFIX "gateway:heartbeat:"
/* Outstanding history queries Redis may be answering for us at once. */
#define HISTORY_INFLIGHT_MAX 32

struct gw_redis {
    const struct gw_config *cfg;
    const struct gw_redis_events *ev;
    void *user;
    struct gw_resolver *resolver;
    struct gw_link_config link_cfg;
    struct gw_link *sub;
    struct gw_link *cmd;
    struct gw_link *hist;
    struct gw_order *order;
    struct gw_history *history;
    struct gw_presence *presence;
    struct gw_presence_config presence_cfg;
    struct gw_watchdog *watchdog;
    struct gw_primary *primary; /* follows +switch-master (Sentinel) */
    uint64_t failovers;         /* the cmd link came up at a new primary */
    char last_primary[GW_ADDR_MAX + 8];
    uint64_t invalid;   /* live payloads that failed their checks */
    uint64_t forwarded; /* messages handed to the feed */
    char heartbeat[GW_CONFIG_STR_MAX + sizeof(HEARTBEAT_PREFIX)];
};

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

/* ---- the subscription ---- */

static int live_one(void *user, long long id, const char *json, size_t len)
{
    gw_order_live(((struct gw_redis *)user)->order, id, json, len);
    return 0;
}

static void on_published(struct gw_redis *r, const redisReply *payload)
{
    enum gw_payload_err err =
        gw_payload_published(payload->str, payload->len, live_one, r);

    if (err != GW_PAYLOAD_OK) {
        r->invalid++;
        log_warn("redis", "event=bad_payload code=%d", (int)err);
    }
}

static void sub_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = priv;
    redisReply *rep = reply;
    const redisReply *channel;

    if (!rep || !gw_link_owns(r->sub, ac) ||
        !reply_is(rep, REDIS_REPLY_ARRAY, 3))
        return;
    channel = rep->element[1];
    if (reply_str_is(rep->element[0], "subscribe")) {
        if (!reply_str_is(channel, CHAT_CHANNEL))
            return;
        gw_link_up(r->sub);
        log_info("redis", "event=subscribed channel=" CHAT_CHANNEL);
        gw_watchdog_sub_up(r->watchdog);
        gw_order_subscribed(r->order);
        return;
    }
    if (!reply_str_is(rep->element[0], "message") ||
        !reply_is(rep->element[2], REDIS_REPLY_STRING, 0))
        return;
    if (reply_str_is(channel, CHAT_CHANNEL))
        on_published(r, rep->element[2]);
    else if (reply_str_is(channel, r->heartbeat))
        gw_watchdog_heartbeat(r->watchdog, rep->element[2]->str,
                              rep->element[2]->len);
}

static void sub_connected(void *user, redisAsyncContext *ac)
{
    struct gw_redis *r = user;

    redisAsyncCommand(ac, sub_reply, r, "SUBSCRIBE " CHAT_CHANNEL " %s",
                      r->heartbeat);
}

static void sub_lost(void *user, const char *why)
{
    (void)why;
    gw_order_unsubscribed(((struct gw_redis *)user)->order);
}

/* ---- the command connection: backfill, counter, presence ---- */

static void order_forward(void *user, long long id, const char *json,
                          size_t len)
{
    struct gw_redis *r = user;

    (void)id;
    r->forwarded++;
    r->ev->message(r->user, json, len);
}

static void backfill_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = priv;
    struct gw_stream_page page;

    if (!reply) {
        gw_order_page_failed(r->order);
        return;
    }
    if (gw_stream_page_read(reply, &page)) {
        gw_order_page_failed(r->order);
        /* Never skip the hole: read it again on a fresh connection. */
        if (gw_link_owns(r->cmd, ac))
            gw_link_drop(r->cmd,
                         ((redisReply *)reply)->type == REDIS_REPLY_ERROR
                             ? ((redisReply *)reply)->str
                             : "backfill failed");
        return;
    }
    r->invalid += page.invalid;
    gw_order_page(r->order, page.e, page.n, page.raw >= CHAT_RESUME_MAX,
                  page.max_id);
    gw_stream_page_cleanup(&page);
}

static void order_fetch(void *user, long long from)
{
    struct gw_redis *r = user;
    redisAsyncContext *ac = gw_link_ac(r->cmd);

    if (!ac ||
        redisAsyncCommand(ac, backfill_reply, r,
                          "XRANGE " CHAT_KEY_HISTORY " %lld-0 + COUNT %d", from,
                          CHAT_RESUME_MAX) != REDIS_OK)
        gw_order_page_failed(r->order);
}

static void floor_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = priv;
    redisReply *rep = reply;
    long long v = -1;
    char *end;

    (void)ac;
    if (rep && rep->type == REDIS_REPLY_NIL)
        v = 0;
    if (reply_is(rep, REDIS_REPLY_STRING, 0)) {
        v = strtoll(rep->str, &end, 10);
        if (*end || v < 0)
            v = -1;
    }
    gw_order_floor(r->order, v);
}

static void order_fetch_floor(void *user)
{
    struct gw_redis *r = user;
    redisAsyncContext *ac = gw_link_ac(r->cmd);

    if (!ac || redisAsyncCommand(ac, floor_reply, r, "GET " CHAT_KEY_COUNTER) !=
                   REDIS_OK)
        gw_order_floor(r->order, -1);
}

/* A greeting answered with an error (LOADING while Redis replays its
 * AOF, say) is not up yet: try again later. */
static int hello_ok(struct gw_redis *r, struct gw_link *l,
                    redisAsyncContext *ac, const redisReply *rep)
{
    (void)r;
    if (!rep || !gw_link_owns(l, ac))
        return 0;
    if (rep->type == REDIS_REPLY_ERROR) {
        gw_link_drop(l, rep->str);
        return 0;
    }
    gw_link_up(l);
    return 1;
}

/* Through Sentinel: count a move each time the primary is elsewhere. */
static void note_primary(struct gw_redis *r)
{
    const char *now = gw_link_peer(r->cmd);

    if (!r->link_cfg.via_sentinel || strcmp(now, r->last_primary) == 0)
        return;
    if (r->last_primary[0]) {
        r->failovers++;
        log_warn("redis", "event=primary_moved from=%s to=%s", r->last_primary,
                 now);
    }
    snprintf(r->last_primary, sizeof(r->last_primary), "%s", now);
}

static void cmd_hello(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = priv;

    if (!hello_ok(r, r->cmd, ac, reply))
        return;
    note_primary(r);
    gw_order_cmd_up(r->order);
    gw_presence_refresh(r->presence);
}

static void cmd_connected(void *user, redisAsyncContext *ac)
{
    redisAsyncCommand(ac, cmd_hello, user, "PING");
}

static void cmd_lost(void *user, const char *why)
{
    (void)why;
    gw_order_cmd_down(((struct gw_redis *)user)->order);
}

/* ---- the history connection ---- */

static void hist_hello(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_redis *r = priv;

    if (hello_ok(r, r->hist, ac, reply))
        gw_history_link_up(r->history);
}

static void hist_connected(void *user, redisAsyncContext *ac)
{
    redisAsyncCommand(ac, hist_hello, user, "PING");
}

static void hist_lost(void *user, const char *why)
{
    (void)user, (void)why;
}

static void history_answer(void *user, uint64_t sid, struct gw_frame *frame,
                           int ok)
{
    struct gw_redis *r = user;

    r->ev->history(r->user, sid, frame, ok);
}

static uint64_t history_epoch(void *user)
{
    return ((struct gw_redis *)user)->forwarded;
}

static long long presence_count(void *user)
{
    struct gw_redis *r = user;

    return r->ev->count(r->user);
}

static void presence_others(void *user, long long others)
{
    struct gw_redis *r = user;

    r->ev->presence(r->user, others);
}

/* ---- life cycle ---- */

static const struct gw_link_events sub_events = {sub_connected, sub_lost};
static const struct gw_link_events cmd_events = {cmd_connected, cmd_lost};
static const struct gw_link_events hist_events = {hist_connected, hist_lost};
static const struct gw_order_ops order_ops = {order_forward, order_fetch,
                                              order_fetch_floor};
static const struct gw_presence_events presence_events = {presence_count,
                                                          presence_others};

/* Sentinel announced a new primary: every link goes there now. */
static void primary_moved(void *user)
{
    struct gw_redis *r = user;

    log_info("redis", "event=switch_master");
    gw_link_retarget(r->sub, "the primary moved (+switch-master)");
    gw_link_retarget(r->cmd, "the primary moved (+switch-master)");
    gw_link_retarget(r->hist, "the primary moved (+switch-master)");
}

static int make_links(struct gw_redis *r, struct lws_context *ctx,
                      struct lws_vhost *vh)
{
    const struct gw_config *cfg = r->cfg;
    /* Each sentinel gets a share of the dial's time to answer. */
    int sentinel_ms = (int)cfg->redis_connect_timeout_ms / 2;

    r->link_cfg = (struct gw_link_config){
        .host = cfg->redis_host,
        .port = (int)cfg->redis_port,
        .connect_timeout_ms = cfg->redis_connect_timeout_ms,
        .backoff_min_ms = cfg->redis_backoff_min_ms,
        .backoff_max_ms = cfg->redis_backoff_max_ms,
        .via_sentinel = cfg->sentinels.n > 0,
    };
    r->resolver = gw_resolver_new(gw_loop_wake, ctx);
    if (!r->resolver || (r->link_cfg.via_sentinel &&
                         gw_resolver_sentinels(r->resolver, &cfg->sentinels,
                                               cfg->redis_master_name,
                                               sentinel_ms, sentinel_ms)))
        return -1;
    r->primary = gw_primary_new(cfg, gw_loop_wake, ctx, primary_moved, r);
    if (!r->primary)
        return -1;
    r->sub =
        gw_link_new(ctx, vh, r->resolver, &r->link_cfg, "sub", &sub_events, r);
    r->cmd =
        gw_link_new(ctx, vh, r->resolver, &r->link_cfg, "cmd", &cmd_events, r);
    r->hist = gw_link_new(ctx, vh, r->resolver, &r->link_cfg, "hist",
                          &hist_events, r);
    return r->sub && r->cmd && r->hist ? 0 : -1;
}

static int make_parts(struct gw_redis *r, struct lws_context *ctx, size_t pre)
{
    const struct gw_config *cfg = r->cfg;
    struct gw_order_config oc = {CHAT_RESUME_MAX, (size_t)cfg->queue_max_msgs};
    struct gw_history_config hc = {
        .pre = pre,
        .timeout_ms = cfg->history_timeout_ms,
        .queue_max = (size_t)cfg->history_queue_max,
        .inflight_max = HISTORY_INFLIGHT_MAX,
        .cache_newest = cfg->history_cache != 0,
    };

    r->presence_cfg = (struct gw_presence_config){
        cfg->id, cfg->presence_refresh_ms, cfg->presence_ttl_s * 1000};
    r->order = gw_order_new(&oc, &order_ops, r);
    r->history =
        gw_history_new(ctx, r->hist, &hc, history_answer, history_epoch, r);
    r->presence =
        gw_presence_new(ctx, r->cmd, &r->presence_cfg, &presence_events, r);
    r->watchdog =
        gw_watchdog_new(ctx, r->cmd, r->sub, r->heartbeat, cfg->redis_ping_ms);
    return r->order && r->history && r->presence && r->watchdog ? 0 : -1;
}

struct gw_redis *gw_redis_new(struct lws_context *ctx, struct lws_vhost *vh,
                              const struct gw_config *cfg, size_t pre,
                              const struct gw_redis_events *events, void *user)
{
    struct gw_redis *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->cfg = cfg;
    r->ev = events;
    r->user = user;
    snprintf(r->heartbeat, sizeof(r->heartbeat), HEARTBEAT_PREFIX "%s",
             cfg->id);
    if (make_links(r, ctx, vh) || make_parts(r, ctx, pre)) {
        gw_redis_free(r);
        return NULL;
    }
    gw_link_start(r->sub);
    gw_link_start(r->cmd);
    gw_link_start(r->hist);
    return r;
}

void gw_redis_free(struct gw_redis *r)
{
    if (!r)
        return;
    /* Links first: their pending callbacks run now, with no reply, while
     * the parts they would tell are still there. */
    gw_primary_free(r->primary);
    gw_history_free(r->history);
    gw_link_free(r->sub);
    gw_link_free(r->cmd);
    gw_link_free(r->hist);
    gw_watchdog_free(r->watchdog);
    gw_presence_free(r->presence);
    gw_order_free(r->order);
    gw_resolver_free(r->resolver);
    free(r);
}

int gw_redis_history(struct gw_redis *r, uint64_t sid,
                     const struct gw_request *req)
{
    return gw_history_ask(r->history, sid, req);
}

void gw_redis_presence_leave(struct gw_redis *r)
{
    if (r)
        gw_presence_leave(r->presence);
}

void gw_redis_wake(struct gw_redis *r)
{
    if (!r)
        return;
    gw_resolver_poll(r->resolver);
    gw_primary_poll(r->primary);
}

int gw_redis_ready(const struct gw_redis *r)
{
    return r && gw_link_is_up(r->sub) && gw_link_is_up(r->cmd) &&
           gw_link_is_up(r->hist);
}

struct gw_redis_stats gw_redis_stats(const struct gw_redis *r)
{
    struct gw_order_stats os = gw_order_stats(r->order);
    struct gw_history_stats hs = gw_history_stats(r->history);
    struct gw_watchdog_stats ws = gw_watchdog_stats(r->watchdog);
    struct gw_redis_stats s = {
        .reconnects = gw_link_reconnects(r->sub) + gw_link_reconnects(r->cmd) +
                      gw_link_reconnects(r->hist),
        .backfilled = os.backfilled,
        .history_ok = hs.ok,
        .history_errors = hs.errors,
        .history_stalls = hs.stalls,
        .history_cache_hits = hs.cache_hits,
        .live_duplicates = os.duplicates,
        .gaps = os.gaps,
        .held_dropped = os.held_dropped,
        .invalid = r->invalid + hs.invalid,
        .cmd_timeouts = ws.cmd_timeouts,
        .sub_timeouts = ws.sub_timeouts,
        .failovers = r->failovers,
    };

    return s;
}
