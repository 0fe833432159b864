#include "history.h"

#include "chat_limits.h"
#include "layout.h"
#include "link.h"
#include "log.h"
#include "redis_lws.h"
#include "reply.h"
#include "stream.h"

#include <async.h>
#include <hiredis.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#define SWEEP_MS 250

struct hist_req {
    struct hist_req *next;
    struct gw_history *h;
    uint64_t sid;
    struct gw_request req;
    long long deadline_ms;
    uint64_t epoch; /* the feed's count when the query was sent */
};

struct fifo {
    struct hist_req *head;
    struct hist_req **tail;
};

struct gw_history {
    struct gw_history_config cfg;
    struct gw_link *link;
    gw_history_answer_fn answer;
    gw_history_epoch_fn epoch;
    void *user;
    struct gw_frame *newest; /* the newest page as "[...]", or NULL */
    uint64_t newest_epoch;
    struct fifo retry; /* were in flight when the connection went */
    struct fifo wait;
    size_t queued;   /* held in all, in flight included */
    size_t inflight; /* owned by hiredis callbacks */
    long long progress_ms;
    struct gw_timer *sweep;
    int freeing; /* freed by the last in-flight callback */
    struct gw_history_stats stats;
};

static void fifo_init(struct fifo *q)
{
    q->head = NULL;
    q->tail = &q->head;
}

static void fifo_push(struct fifo *q, struct hist_req *r)
{
    r->next = NULL;
    *q->tail = r;
    q->tail = &r->next;
}

static struct hist_req *fifo_pop(struct fifo *q)
{
    struct hist_req *r = q->head;

    if (r && !(q->head = r->next))
        q->tail = &q->head;
    return r;
}

static void fifo_free(struct fifo *q)
{
    struct hist_req *r;

    while ((r = fifo_pop(q)))
        free(r);
}

static void destroy(struct gw_history *h)
{
    gw_frame_unref(h->newest);
    fifo_free(&h->retry);
    fifo_free(&h->wait);
    gw_timer_free(h->sweep);
    free(h);
}

/* ---- answering ---- */

static void finish(struct hist_req *r, struct gw_frame *f, int ok)
{
    struct gw_history *h = r->h;

    h->queued--;
    if (ok)
        h->stats.ok++;
    else
        h->stats.errors++;
    h->answer(h->user, r->sid, f, ok);
    free(r);
}

static void finish_error(struct hist_req *r, const char *why)
{
    finish(r, gw_reply_error(r->h->cfg.pre, r->req.req, why), 0);
}

static int is_newest(const struct gw_history *h, const struct gw_request *q)
{
    return h->cfg.cache_newest && h->epoch && q->kind == GW_REQUEST_PAGE &&
           q->first_id == 0 && q->last_id == -1;
}

/* The newest page as read for r, kept if nothing has moved since. */
static struct gw_frame *newest_reply(struct hist_req *r,
                                     const struct gw_stream_page *page)
{
    struct gw_history *h = r->h;
    struct gw_frame *array =
        gw_reply_messages(h->cfg.pre, "", page->e, page->n, page->bytes, 1);
    struct gw_frame *f;

    if (!array)
        return NULL;
    if (r->epoch == h->epoch(h->user)) {
        gw_frame_unref(h->newest);
        h->newest = gw_frame_ref(array);
        h->newest_epoch = r->epoch;
    }
    f = gw_reply_from_array(h->cfg.pre, r->req.req, array);
    gw_frame_unref(array);
    return f;
}

static void finish_reply(struct hist_req *r, const redisReply *rep)
{
    struct gw_history *h = r->h;
    struct gw_stream_page page;
    struct gw_frame *f;

    if (gw_stream_page_read(rep, &page)) {
        log_warn("history", "event=query_failed type=%d", rep->type);
        finish_error(r, "history query failed");
        return;
    }
    h->stats.invalid += page.invalid;
    if (is_newest(h, &r->req))
        f = newest_reply(r, &page);
    else
        f = gw_reply_messages(h->cfg.pre, r->req.req, page.e, page.n,
                              page.bytes, r->req.kind == GW_REQUEST_PAGE);
    gw_stream_page_cleanup(&page);
    if (f)
        h->stats.reply_bytes += f->len;
    finish(r, f, f != NULL);
}

/* ---- sending ---- */

static void pump(struct gw_history *h);

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct hist_req *r = priv;
    struct gw_history *h = r->h;

    (void)ac;
    h->inflight--;
    if (h->freeing) {
        free(r);
        if (!h->inflight)
            destroy(h);
        return;
    }
    if (!reply) { /* the connection went: ask again on the next one */
        if (gw_now_ms() < r->deadline_ms)
            fifo_push(&h->retry, r);
        else
            finish_error(r, "history is unavailable right now, try again");
        return;
    }
    h->progress_ms = gw_now_ms();
    finish_reply(r, reply);
    pump(h);
}

static int send_one(struct gw_history *h, struct hist_req *r)
{
    redisAsyncContext *ac = gw_link_ac(h->link);
    const struct gw_request *q = &r->req;
    char end[32] = "+";

    if (!ac)
        return REDIS_ERR;
    if (h->epoch)
        r->epoch = h->epoch(h->user);
    if (q->kind == GW_REQUEST_AFTER)
        return redisAsyncCommand(
            ac, on_reply, r, "XRANGE " CHAT_KEY_HISTORY " %lld-0 + COUNT %d",
            q->after_id + 1, CHAT_RESUME_MAX);
    if (q->last_id != -1)
        snprintf(end, sizeof(end), "(%lld-0", q->last_id);
    return redisAsyncCommand(
        ac, on_reply, r, "XREVRANGE " CHAT_KEY_HISTORY " %s %lld-0 COUNT %d",
        end, q->first_id, CHAT_PAGE_MAX);
}

/* Send what waits, oldest first, within the in-flight bound. */
static void pump(struct gw_history *h)
{
    while (h->inflight < h->cfg.inflight_max) {
        struct fifo *q = h->retry.head ? &h->retry : &h->wait;
        struct hist_req *r = q->head;

        if (!r || send_one(h, r) != REDIS_OK)
            break;
        (void)fifo_pop(q);
        if (h->inflight++ == 0)
            h->progress_ms = gw_now_ms();
    }
    if (h->queued)
        gw_timer_schedule(h->sweep, SWEEP_MS);
}

/* Answer the held requests whose time is up; q keeps its order. */
static void expire(struct fifo *q, long long now)
{
    struct fifo keep;
    struct hist_req *r;

    fifo_init(&keep);
    while ((r = fifo_pop(q))) {
        if (now < r->deadline_ms)
            fifo_push(&keep, r);
        else
            finish_error(r, "history is unavailable right now, try again");
    }
    *q = keep;
    if (!q->head)
        q->tail = &q->head;
}

static void sweep_cb(void *user)
{
    struct gw_history *h = user;
    long long now = gw_now_ms();

    expire(&h->retry, now);
    expire(&h->wait, now);
    if (h->inflight && now - h->progress_ms >= h->cfg.timeout_ms) {
        h->stats.stalls++;
        h->progress_ms = now;
        gw_link_drop(h->link, "history replies stalled");
    }
    if (h->queued)
        gw_timer_schedule(h->sweep, SWEEP_MS);
}

/* ---- public ---- */

struct gw_history *gw_history_new(struct lws_context *ctx, struct gw_link *link,
                                  const struct gw_history_config *cfg,
                                  gw_history_answer_fn answer,
                                  gw_history_epoch_fn epoch, void *user)
{
    struct gw_history *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->cfg = *cfg;
    h->link = link;
    h->answer = answer;
    h->epoch = epoch;
    h->user = user;
    fifo_init(&h->retry);
    fifo_init(&h->wait);
    h->sweep = gw_timer_new(ctx, sweep_cb, h);
    if (!h->sweep) {
        free(h);
        return NULL;
    }
    return h;
}

void gw_history_free(struct gw_history *h)
{
    if (!h)
        return;
    fifo_free(&h->retry);
    fifo_free(&h->wait);
    gw_timer_cancel(h->sweep);
    if (h->inflight)
        h->freeing = 1;
    else
        destroy(h);
}

static int range_is_empty(const struct gw_request *q)
{
    if (q->kind == GW_REQUEST_AFTER)
        return q->after_id == LLONG_MAX;
    return q->last_id != -1 && q->last_id <= q->first_id;
}

int gw_history_ask(struct gw_history *h, uint64_t sid,
                   const struct gw_request *req)
{
    struct hist_req *r;

    if (h->queued >= h->cfg.queue_max)
        return -1;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    r->h = h;
    r->sid = sid;
    r->req = *req;
    r->deadline_ms = gw_now_ms() + h->cfg.timeout_ms;
    h->queued++;
    if (range_is_empty(req)) {
        struct gw_frame *f =
            gw_reply_messages(h->cfg.pre, req->req, NULL, 0, 0, 0);

        finish(r, f, f != NULL);
        return 0;
    }
    if (is_newest(h, req) && h->newest &&
        h->newest_epoch == h->epoch(h->user)) {
        struct gw_frame *f =
            gw_reply_from_array(h->cfg.pre, req->req, h->newest);

        h->stats.cache_hits++;
        if (f)
            h->stats.reply_bytes += f->len;
        finish(r, f, f != NULL);
        return 0;
    }
    fifo_push(&h->wait, r);
    pump(h);
    return 0;
}

void gw_history_link_up(struct gw_history *h)
{
    pump(h);
}

size_t gw_history_queued(const struct gw_history *h)
{
    return h->queued;
}

struct gw_history_stats gw_history_stats(const struct gw_history *h)
{
    return h->stats;
}
