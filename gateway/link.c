#include "link.h"

#include "log.h"
#include "redis_lws.h"
#include "resolve.h"
#include "sentinel.h"

#include <async.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum link_state { LINK_WAITING = 0, LINK_RESOLVING, LINK_CONNECTING, LINK_UP };

struct gw_link {
    const struct gw_link_config *cfg;
    const struct gw_link_events *ev;
    void *user;
    const char *name;
    struct lws_vhost *vh;
    struct gw_resolver *res;
    struct gw_lookup *lookup; /* while resolving */
    redisAsyncContext *ac;    /* while connecting or up */
    enum link_state state;
    unsigned attempt;
    unsigned rng;
    int ever_up;
    int handed; /* the owner has the current connection */
    uint64_t reconnects;
    struct gw_timer *retry;
    struct gw_timer *deadline;
    char peer[GW_ADDR_MAX + 8]; /* of ac */
};

static long long backoff_ms(struct gw_link *l)
{
    long long base = l->cfg->backoff_min_ms;

    for (unsigned i = 0; i < l->attempt && base < l->cfg->backoff_max_ms; i++)
        base *= 2;
    if (base > l->cfg->backoff_max_ms)
        base = l->cfg->backoff_max_ms;
    l->rng ^= l->rng << 13;
    l->rng ^= l->rng >> 17;
    l->rng ^= l->rng << 5;
    /* Full jitter over the upper half spreads reconnecting replicas. */
    return base / 2 + (long long)(l->rng % (unsigned)(base / 2 + 1));
}

/* The dial failed or the connection went: tell the owner, wait, redial. */
static void lost(struct gw_link *l, const char *why)
{
    int had = l->handed;
    long long delay = backoff_ms(l);

    l->handed = 0;
    gw_timer_cancel(l->deadline);
    l->state = LINK_WAITING;
    l->attempt++;
    log_warn("redis", "event=lost link=%s reason=\"%s\" retry_ms=%lld", l->name,
             why, delay);
    gw_timer_schedule(l->retry, delay);
    if (had)
        l->ev->lost(l->user, why);
}

static void hand_over(struct gw_link *l)
{
    l->handed = 1;
    l->ev->connected(l->user, l->ac);
}

/* Through Sentinel: only the primary is handed over (never write to a
 * node that was demoted, or to a replica a stale answer named). */
static void on_role(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_link *l = priv;
    const redisReply *r = reply;

    if (!r || l->ac != ac)
        return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        sentinel_role_is_primary(r->element[0]->str, r->element[0]->len)) {
        hand_over(l);
        return;
    }
    gw_resolver_primary_wrong(l->res);
    gw_link_drop(l, "the node is not the primary (ROLE)");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct gw_link *l = ac->data;

    if (!l || l->ac != ac)
        return;
    if (status != REDIS_OK) {
        l->ac = NULL; /* hiredis frees it after this callback */
        lost(l, ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    if (!l->cfg->via_sentinel) {
        hand_over(l);
        return;
    }
    if (redisAsyncCommand(l->ac, on_role, l, "ROLE") != REDIS_OK)
        gw_link_drop(l, "cannot ask ROLE");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct gw_link *l = ac->data;

    (void)status;
    if (!l || l->ac != ac)
        return;
    l->ac = NULL; /* hiredis frees it after this callback */
    lost(l, ac->errstr[0] ? ac->errstr : "disconnected");
}

static void dial(struct gw_link *l, const char *addr, int port)
{
    redisAsyncContext *ac = redisAsyncConnect(addr, port);

    if (!ac || ac->err || gw_redis_lws_attach(ac, l->vh)) {
        const char *why = ac && ac->err ? ac->errstr : "cannot attach";

        lost(l, why);
        if (ac)
            redisAsyncFree(ac);
        return;
    }
    ac->data = l;
    l->ac = ac;
    l->state = LINK_CONNECTING;
    snprintf(l->peer, sizeof(l->peer), "%s:%d", addr, port);
    /* TCP keepalive notices a peer that vanished without a word. */
    (void)redisEnableKeepAlive(&ac->c);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void on_resolved(void *user, const char *addr, int port,
                        const char *error)
{
    struct gw_link *l = user;

    l->lookup = NULL;
    if (!addr) {
        lost(l, error);
        return;
    }
    log_debug("redis", "event=resolved link=%s addr=%s port=%d", l->name, addr,
              port);
    dial(l, addr, port);
}

static void retry_cb(void *user)
{
    struct gw_link *l = user;

    l->state = LINK_RESOLVING;
    gw_timer_schedule(l->deadline, l->cfg->connect_timeout_ms);
    l->lookup =
        l->cfg->via_sentinel
            ? gw_resolve_primary(l->res, on_resolved, l)
            : gw_resolve(l->res, l->cfg->host, l->cfg->port, on_resolved, l);
    if (!l->lookup)
        lost(l, "cannot start the lookup");
}

/* Close the connection we gave up on; its pending callbacks run now
 * with NULL replies and find it no longer owned. */
static void close_ac(struct gw_link *l)
{
    redisAsyncContext *ac = l->ac;

    l->ac = NULL;
    if (ac)
        redisAsyncFree(ac);
}

static void deadline_cb(void *user)
{
    struct gw_link *l = user;

    if (l->state == LINK_RESOLVING) {
        gw_lookup_cancel(l->lookup);
        l->lookup = NULL;
        lost(l, "name lookup timed out");
    } else if (l->state == LINK_CONNECTING) {
        gw_link_drop(l, "connect timeout");
    }
}

struct gw_link *gw_link_new(struct lws_context *ctx, struct lws_vhost *vh,
                            struct gw_resolver *res,
                            const struct gw_link_config *cfg, const char *name,
                            const struct gw_link_events *ev, void *user)
{
    struct gw_link *l = calloc(1, sizeof(*l));

    if (!l)
        return NULL;
    l->cfg = cfg;
    l->ev = ev;
    l->user = user;
    l->name = name;
    l->vh = vh;
    l->res = res;
    l->rng = (unsigned)gw_now_ms() ^ ((unsigned)getpid() << 16) ^
             (unsigned)(uintptr_t)l;
    l->retry = gw_timer_new(ctx, retry_cb, l);
    l->deadline = gw_timer_new(ctx, deadline_cb, l);
    if (!l->retry || !l->deadline) {
        gw_link_free(l);
        return NULL;
    }
    return l;
}

void gw_link_free(struct gw_link *l)
{
    if (!l)
        return;
    gw_timer_free(l->retry);
    gw_timer_free(l->deadline);
    gw_lookup_cancel(l->lookup);
    /* No events from here on: the owner is going away too. */
    if (l->ac)
        l->ac->data = NULL;
    close_ac(l);
    free(l);
}

void gw_link_start(struct gw_link *l)
{
    gw_timer_schedule(l->retry, 0);
}

void gw_link_up(struct gw_link *l)
{
    if (l->state != LINK_CONNECTING)
        return;
    gw_timer_cancel(l->deadline);
    l->state = LINK_UP;
    if (l->ever_up)
        l->reconnects++;
    l->ever_up = 1;
    l->attempt = 0;
    log_info("redis", "event=up link=%s", l->name);
}

void gw_link_drop(struct gw_link *l, const char *why)
{
    if (!l->ac)
        return;
    /* Detach first: freeing calls on_disconnect, which must not count it
     * a second time. */
    l->ac->data = NULL;
    close_ac(l);
    lost(l, why);
}

struct redisAsyncContext *gw_link_ac(const struct gw_link *l)
{
    return l->state == LINK_UP ? l->ac : NULL;
}

int gw_link_owns(const struct gw_link *l, const struct redisAsyncContext *ac)
{
    return ac && l->ac == ac;
}

int gw_link_is_up(const struct gw_link *l)
{
    return l->state == LINK_UP;
}

uint64_t gw_link_reconnects(const struct gw_link *l)
{
    return l->reconnects;
}

void gw_link_retarget(struct gw_link *l, const char *why)
{
    if (l->ac) {
        gw_link_drop(l, why);
        return;
    }
    if (l->state == LINK_RESOLVING) {
        /* Its answer may predate the switch: ask again. */
        gw_lookup_cancel(l->lookup);
        l->lookup = NULL;
        gw_timer_cancel(l->deadline);
    }
    l->attempt = 0;
    gw_timer_schedule(l->retry, 0);
}

const char *gw_link_peer(const struct gw_link *l)
{
    return l->ac ? l->peer : "";
}
