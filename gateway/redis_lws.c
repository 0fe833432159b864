#include "redis_lws.h"

#include <async.h>
#include <hiredis.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RAW_PROTOCOL_NAME "gw-redis-raw"

/* Lives from attach until hiredis' cleanup hook. */
struct redis_ev {
    redisAsyncContext *ac;
    struct lws *wsi; /* NULL once lws closed our descriptor */
};

static void ev_add_write(void *data)
{
    struct redis_ev *e = data;

    if (e->wsi)
        lws_callback_on_writable(e->wsi);
}

/*
 * POLLIN stays on for the life of the descriptor and lws cannot withdraw
 * a writable request; a spurious handleWrite is harmless to hiredis.
 */
static void ev_noop(void *data)
{
    (void)data;
}

static void ev_cleanup(void *data)
{
    struct redis_ev *e = data;

    if (e->wsi) {
        /* We may be inside this wsi's own callback: never close here. */
        lws_set_opaque_user_data(e->wsi, NULL);
        lws_set_timeout(e->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
                        LWS_TO_KILL_ASYNC);
    }
    free(e);
}

int gw_redis_lws_attach(redisAsyncContext *ac, struct lws_vhost *vh)
{
    struct redis_ev *e;
    lws_adopt_desc_t ad;

    if (ac->ev.data)
        return -1;
    e = calloc(1, sizeof(*e));
    if (!e)
        return -1;
    memset(&ad, 0, sizeof(ad));
    ad.vh = vh;
    ad.type = LWS_ADOPT_RAW_FILE_DESC;
    /* lws and hiredis each close their own descriptor. */
    ad.fd.filefd = dup(ac->c.fd);
    ad.vh_prot_name = RAW_PROTOCOL_NAME;
    ad.opaque = e;
    e->ac = ac;
    if (ad.fd.filefd < 0 ||
        !(e->wsi = lws_adopt_descriptor_vhost_via_info(&ad))) {
        if (ad.fd.filefd >= 0)
            close(ad.fd.filefd);
        free(e);
        return -1;
    }
    ac->ev.data = e;
    ac->ev.addRead = ev_noop;
    ac->ev.delRead = ev_noop;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_noop;
    ac->ev.cleanup = ev_cleanup;
    return 0;
}

static int raw_callback(struct lws *wsi, enum lws_callback_reasons reason,
                        void *user, void *in, size_t len)
{
    struct redis_ev *e = lws_get_opaque_user_data(wsi);

    (void)user, (void)in, (void)len;
    if (!e)
        return 0;
    if (reason == LWS_CALLBACK_RAW_RX_FILE)
        redisAsyncHandleRead(e->ac);
    else if (reason == LWS_CALLBACK_RAW_WRITEABLE_FILE)
        redisAsyncHandleWrite(e->ac);
    else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) {
        /*
         * lws gave up on the descriptor (a hang-up without data). Let
         * hiredis read its own copy: the error or EOF it finds starts its
         * disconnect, which frees e through ev_cleanup.
         */
        e->wsi = NULL;
        lws_set_opaque_user_data(wsi, NULL);
        redisAsyncHandleRead(e->ac);
    }
    return 0;
}

const struct lws_protocols gw_redis_lws_protocol = {
    RAW_PROTOCOL_NAME, raw_callback, 0, 0, 0, NULL, 0};

/* ---- timers ---- */

struct gw_timer {
    lws_sorted_usec_list_t sul; /* first: the sul callback casts back */
    struct lws_context *ctx;
    void (*cb)(void *user);
    void *user;
};

static void timer_fire(lws_sorted_usec_list_t *sul)
{
    struct gw_timer *t = lws_container_of(sul, struct gw_timer, sul);

    t->cb(t->user);
}

struct gw_timer *gw_timer_new(struct lws_context *ctx, void (*cb)(void *user),
                              void *user)
{
    struct gw_timer *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->ctx = ctx;
    t->cb = cb;
    t->user = user;
    return t;
}

void gw_timer_schedule(struct gw_timer *t, long long ms)
{
    lws_sul_schedule(t->ctx, 0, &t->sul, timer_fire,
                     (lws_usec_t)ms * LWS_US_PER_MS);
}

void gw_timer_cancel(struct gw_timer *t)
{
    lws_sul_cancel(&t->sul);
}

void gw_timer_free(struct gw_timer *t)
{
    if (!t)
        return;
    gw_timer_cancel(t);
    free(t);
}

long long gw_now_ms(void)
{
    return (long long)(lws_now_usecs() / 1000);
}

void gw_loop_wake(void *ctx)
{
    lws_cancel_service(ctx);
}
