#include "watchdog.h"

#include "link.h"
#include "redis_lws.h"

#include <async.h>
#include <hiredis.h>
#include <stdlib.h>
#include <string.h>

struct gw_watchdog {
    struct gw_link *cmd;
    struct gw_link *sub;
    const char *channel;
    long long interval_ms;
    struct gw_timer *timer;
    int ping_outstanding;
    unsigned long long hb_sent; /* last heartbeat published */
    unsigned long long hb_seen; /* last heartbeat received */
    long long hb_waiting_ms;    /* since when one is overdue; 0: none */
    struct gw_watchdog_stats stats;
};

static void on_pong(redisAsyncContext *ac, void *reply, void *priv)
{
    struct gw_watchdog *w = priv;

    if (reply && gw_link_owns(w->cmd, ac))
        w->ping_outstanding = 0;
}

static void check_sub(struct gw_watchdog *w, long long now)
{
    if (!gw_link_is_up(w->sub) || !w->hb_waiting_ms)
        return;
    if (now - w->hb_waiting_ms > 2 * w->interval_ms) {
        w->stats.sub_timeouts++;
        w->hb_waiting_ms = 0;
        gw_link_drop(w->sub, "no heartbeat on the subscription");
    }
}

static void tick(void *user)
{
    struct gw_watchdog *w = user;
    redisAsyncContext *ac = gw_link_ac(w->cmd);
    long long now = gw_now_ms();

    gw_timer_schedule(w->timer, w->interval_ms);
    if (!ac) {
        w->ping_outstanding = 0;
        /* Nothing can be published: the subscription cannot be judged. */
        w->hb_waiting_ms = 0;
        return;
    }
    if (w->ping_outstanding) {
        w->stats.cmd_timeouts++;
        w->ping_outstanding = 0;
        gw_link_drop(w->cmd, "ping timeout");
        return;
    }
    check_sub(w, now);
    if (redisAsyncCommand(ac, on_pong, w, "PING") == REDIS_OK)
        w->ping_outstanding = 1;
    if (gw_link_is_up(w->sub) &&
        redisAsyncCommand(ac, NULL, NULL, "PUBLISH %s %llu", w->channel,
                          w->hb_sent + 1) == REDIS_OK) {
        w->hb_sent++;
        if (!w->hb_waiting_ms)
            w->hb_waiting_ms = now;
    }
}

struct gw_watchdog *gw_watchdog_new(struct lws_context *ctx,
                                    struct gw_link *cmd, struct gw_link *sub,
                                    const char *channel, long long interval_ms)
{
    struct gw_watchdog *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    w->cmd = cmd;
    w->sub = sub;
    w->channel = channel;
    w->interval_ms = interval_ms;
    w->timer = gw_timer_new(ctx, tick, w);
    if (!w->timer) {
        free(w);
        return NULL;
    }
    gw_timer_schedule(w->timer, interval_ms);
    return w;
}

void gw_watchdog_free(struct gw_watchdog *w)
{
    if (!w)
        return;
    gw_timer_free(w->timer);
    free(w);
}

void gw_watchdog_sub_up(struct gw_watchdog *w)
{
    w->hb_seen = w->hb_sent;
    w->hb_waiting_ms = 0;
}

void gw_watchdog_heartbeat(struct gw_watchdog *w, const char *payload,
                           size_t len)
{
    char buf[24];
    unsigned long long seq;

    if (len >= sizeof(buf))
        return;
    memcpy(buf, payload, len);
    buf[len] = '\0';
    seq = strtoull(buf, NULL, 10);
    if (seq > w->hb_seen)
        w->hb_seen = seq;
    /* Progress: the next overdue one is judged from now. */
    w->hb_waiting_ms = w->hb_seen >= w->hb_sent ? 0 : gw_now_ms();
}

struct gw_watchdog_stats gw_watchdog_stats(const struct gw_watchdog *w)
{
    return w->stats;
}
