#include "session.h"

#include "chat_limits.h"
#include "log.h"
#include "request.h"
#include "server.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames written per WRITEABLE while the socket still takes more. */
#define WRITES_PER_CALLBACK 8

static struct gw_session **bucket(struct gw_server *srv, uint64_t id)
{
    return &srv->buckets[id % GW_SESSION_BUCKETS];
}

struct gw_session *gw_session_find(struct gw_server *srv, uint64_t id)
{
    struct gw_session *s = *bucket(srv, id);

    while (s && s->id != id)
        s = s->hnext;
    return s;
}

int gw_session_open(struct gw_server *srv, struct gw_session *s,
                    struct lws *wsi)
{
    struct gw_session **b;

    if (!srv)
        return -1;
    memset(s, 0, sizeof(*s));
    s->id = ++srv->next_id;
    s->wsi = wsi;
    b = bucket(srv, s->id);
    s->hnext = *b;
    *b = s;
    s->next = srv->sessions;
    if (srv->sessions)
        srv->sessions->prev = s;
    srv->sessions = s;
    srv->nsessions++;
    srv->m.connections_total++;
    gw_fanout_attach(srv->fanout, &s->reader);
    gw_session_push(srv, s, gw_server_presence_frame(srv), 0);
    log_debug("session", "event=open id=%llu", (unsigned long long)s->id);
    return 0;
}

void gw_session_close(struct gw_server *srv, struct gw_session *s)
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
    if (srv->fanout)
        gw_fanout_detach(srv->fanout, &s->reader);
    while (s->out_count) {
        gw_frame_unref(s->out[s->out_head]);
        s->out_head = (s->out_head + 1) % GW_SESSION_OUT_MAX;
        s->out_count--;
    }
    free(s->rx);
    log_debug("session", "event=close id=%llu", (unsigned long long)s->id);
    s->id = 0;
}

void gw_session_close_later(struct gw_session *s, int code, const char *reason,
                            long long grace_ms)
{
    if (s->close_code)
        return;
    s->close_code = code;
    s->close_reason = reason;
    lws_callback_on_writable(s->wsi);
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK,
                    (int)((grace_ms + 999) / 1000));
}

void gw_session_push(struct gw_server *srv, struct gw_session *s,
                     struct gw_frame *f, int must_deliver)
{
    if (!f)
        return;
    if (s->out_count == GW_SESSION_OUT_MAX || s->close_code ||
        (s->out_count &&
         s->out_bytes + f->len > (size_t)srv->cfg->queue_max_bytes)) {
        gw_frame_unref(f);
        srv->m.queue_drops++;
        if (must_deliver)
            gw_session_close_later(s, 1008, "too many unread replies",
                                   srv->cfg->slow_close_grace_ms);
        return;
    }
    s->out[(s->out_head + s->out_count) % GW_SESSION_OUT_MAX] = f;
    s->out_count++;
    s->out_bytes += f->len;
    lws_callback_on_writable(s->wsi);
}

void gw_session_error(struct gw_server *srv, struct gw_session *s,
                      const char *msg)
{
    char text[256];
    int n = snprintf(text, sizeof(text),
                     "{\"type\":\"error\",\"error\":\"%s\"}", msg);

    if (n > 0 && (size_t)n < sizeof(text))
        gw_session_push(srv, s, gw_frame_from(LWS_PRE, text, (size_t)n), 1);
}

/* A whole request: parse it, then answer or ask Redis. */
static void handle_request(struct gw_server *srv, struct gw_session *s,
                           const char *buf, size_t len)
{
    struct gw_request req;
    enum gw_request_err err = gw_request_parse(buf, len, &req);

    if (err) {
        srv->m.bad_requests++;
        gw_session_error(srv, s, gw_request_err_str(err));
        return;
    }
    if (!srv->redis || srv->stopping) {
        gw_session_error(srv, s, "server is shutting down");
        return;
    }
    if (s->pending >= (unsigned)srv->cfg->session_max_pending) {
        gw_session_error(srv, s, "too many history requests in flight");
        return;
    }
    if (gw_redis_history(srv->redis, s->id, &req)) {
        gw_session_error(srv, s, "server busy, try again later");
        return;
    }
    /* The reply may already have come (an empty range): count first. */
    srv->m.history_requests++;
}

static int append_fragment(struct gw_session *s, const void *in, size_t len)
{
    if (!s->rx && !(s->rx = malloc(CHAT_WS_FRAME_MAX)))
        return -1;
    memcpy(s->rx + s->rx_len, in, len);
    s->rx_len += len;
    return 0;
}

/*
 * A frame we will not serve (binary, or over CHAT_WS_FRAME_MAX) is read to
 * its end and dropped, and only then is the close sent: closing with the
 * rest of the peer's frame unread makes the kernel answer with a reset,
 * which can destroy the close frame before the peer reads it. A frame
 * that never ends is cut off by the timeout.
 */
static int refuse_frame(struct gw_server *srv, struct gw_session *s)
{
    struct lws *wsi = s->wsi;

    if (!s->refuse_code) {
        int binary = lws_frame_is_binary(wsi);

        s->refuse_code = binary ? LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE
                                : LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
        s->refuse_reason = binary ? "binary frames are refused"
                                  : "request larger than 4096 bytes";
        free(s->rx);
        s->rx = NULL;
        s->rx_len = 0;
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK,
                        (int)((srv->cfg->slow_close_grace_ms + 999) / 1000));
    }
    if (lws_is_final_fragment(wsi))
        gw_session_close_later(s, s->refuse_code, s->refuse_reason,
                               srv->cfg->slow_close_grace_ms);
    return 0;
}

int gw_session_receive(struct gw_server *srv, struct gw_session *s,
                       const void *in, size_t len)
{
    struct lws *wsi = s->wsi;

    if (s->close_code)
        return 0;
    if (s->refuse_code || lws_frame_is_binary(wsi) ||
        s->rx_len + len + lws_remaining_packet_payload(wsi) > CHAT_WS_FRAME_MAX)
        return refuse_frame(srv, s);
    if (!s->rx && lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi)) {
        handle_request(srv, s, in, len);
        return 0;
    }
    if (append_fragment(s, in, len))
        return -1;
    if (lws_is_final_fragment(wsi)) {
        handle_request(srv, s, s->rx, s->rx_len);
        free(s->rx);
        s->rx = NULL;
        s->rx_len = 0;
    }
    return 0;
}

/* The next frame to send: own replies first, then the live feed. */
static struct gw_frame *next_frame(struct gw_server *srv, struct gw_session *s,
                                   size_t *msgs)
{
    struct gw_frame *f;

    *msgs = 0;
    if (s->out_count) {
        f = s->out[s->out_head];
        s->out_head = (s->out_head + 1) % GW_SESSION_OUT_MAX;
        s->out_count--;
        s->out_bytes -= f->len;
        return f;
    }
    return gw_fanout_take(srv->fanout, &s->reader, msgs);
}

/*
 * Should this session write the live feed again now, rather than at the
 * next sweep? Always while no batch window holds; within one, only while
 * a full frame's worth is waiting (a client catching up), so that what
 * arrives within a window goes out together.
 */
static int feed_waits(struct gw_server *srv, struct gw_session *s)
{
    size_t n = gw_fanout_pending(srv->fanout, &s->reader);

    if (!n)
        return 0;
    if (!srv->window_us || n >= (size_t)srv->cfg->batch_max_msgs ||
        gw_fanout_pending_bytes(srv->fanout, &s->reader) >=
            (size_t)srv->cfg->batch_max_bytes)
        return 1;
    /* The rest goes with the next sweep, which must come even if nothing
     * more is published. */
    gw_server_sweep_soon(srv);
    return 0;
}

int gw_session_writeable(struct gw_server *srv, struct gw_session *s)
{
    struct lws *wsi = s->wsi;

    if (s->close_code) {
        lws_close_reason(wsi, (enum lws_close_status)s->close_code,
                         (unsigned char *)s->close_reason,
                         strlen(s->close_reason));
        return -1;
    }
    for (int i = 0; i < WRITES_PER_CALLBACK; i++) {
        size_t msgs, len;
        struct gw_frame *f;
        int n;

        /* WRITEABLE means room for one write; ask again before the next. */
        if (i && lws_send_pipe_choked(wsi))
            break;
        f = next_frame(srv, s, &msgs);
        if (!f)
            break;
        len = f->len;
        n = lws_write(wsi, gw_frame_payload(f), len, LWS_WRITE_TEXT);
        gw_frame_unref(f);
        if (n < (int)len)
            return -1;
        srv->m.frames_out++;
        srv->m.bytes_out += len;
        srv->m.messages_out += msgs;
        srv->m.batches_out += msgs > 1;
    }
    if (s->out_count || feed_waits(srv, s))
        lws_callback_on_writable(wsi);
    return 0;
}
