#include "presence.h"

#include "link.h"
#include "log.h"
#include "presence_rule.h"
#include "redis_lws.h"

#include <async.h>
#include <hiredis.h>
#include <stdlib.h>
#include <string.h>

#define PRESENCE_KEY "presence:gateways"

/* Generated from gateway/presence.lua (tools/embed.sh). */
extern const char gw_presence_lua[];

struct gw_presence {
    const struct gw_presence_config *cfg;
    const struct gw_presence_events *ev;
    void *user;
    struct gw_link *cmd;
    struct gw_timer *timer;
};

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_presence *p = priv;
    long long others;

    if (!reply || !gw_link_owns(p->cmd, ac))
        return;
    /* The node was demoted under us: find the primary again. */
    if (((redisReply *)reply)->type == REDIS_REPLY_ERROR &&
        strncmp(((redisReply *)reply)->str, "READONLY", 8) == 0) {
        gw_link_drop(p->cmd, "READONLY: the node is no longer the primary");
        return;
    }
    others = gw_presence_parse(reply);
    if (others < 0) {
        log_warn("presence", "event=bad_reply type=%d",
                 ((redisReply *)reply)->type);
        return;
    }
    p->ev->others(p->user, others);
}

static void run(struct gw_presence *p, long long count, redisCallbackFn *cb)
{
    redisAsyncContext *ac = gw_link_ac(p->cmd);

    if (ac)
        redisAsyncCommand(ac, cb, p, "EVAL %s 1 " PRESENCE_KEY " %s %lld %lld",
                          gw_presence_lua, p->cfg->id, count, p->cfg->ttl_ms);
}

static void timer_cb(void *user)
{
    struct gw_presence *p = user;

    gw_timer_schedule(p->timer, p->cfg->refresh_ms);
    run(p, p->ev->count(p->user), on_reply);
}

struct gw_presence *gw_presence_new(struct lws_context *ctx,
                                    struct gw_link *cmd,
                                    const struct gw_presence_config *cfg,
                                    const struct gw_presence_events *ev,
                                    void *user)
{
    struct gw_presence *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->cfg = cfg;
    p->ev = ev;
    p->user = user;
    p->cmd = cmd;
    p->timer = gw_timer_new(ctx, timer_cb, p);
    if (!p->timer) {
        free(p);
        return NULL;
    }
    return p;
}

void gw_presence_free(struct gw_presence *p)
{
    if (!p)
        return;
    gw_timer_free(p->timer);
    free(p);
}

void gw_presence_refresh(struct gw_presence *p)
{
    gw_timer_schedule(p->timer, 0);
}

void gw_presence_leave(struct gw_presence *p)
{
    if (p)
        run(p, -1, NULL);
}
