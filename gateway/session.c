#include "session.h"

#include "chat_limits.h"
#include "log.h"
#include "reply.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A refused frame is read to its end before the close goes out, but not
 * beyond this: a header announcing 2^62 bytes gets its close at once.
 */
#define REFUSE_READ_MAX (1024 * 1024)
/*
 * The opcode lws_write() takes for a close frame: lws 4.1 keeps
 * LWS_WRITE_CLOSE out of its public header (lws_close_reason() is meant
 * to be used) but handles it; pinned by the 2^62-byte frame test.
 */
#define GW_WRITE_CLOSE ((enum lws_write_protocol)4)

/* Frames written per WRITEABLE while the socket still takes more. */
#define WRITES_PER_CALLBACK 8
/* Bytes after which a session lets the others have the loop. */
#define WRITE_BUDGET (128 * 1024)

static long long now_ms(void)
{
    return (long long)(lws_now_usecs() / LWS_US_PER_MS);
}

void gw_session_init(const struct gw_session_env *env, struct gw_session *s,
                     struct lws *wsi, uint64_t id)
{
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->wsi = wsi;
    s->heard_ms = now_ms();
    gw_fanout_attach(env->fanout, &s->reader);
    log_debug("session", "event=open id=%llu", (unsigned long long)s->id);
}

void gw_session_cleanup(const struct gw_session_env *env, struct gw_session *s)
{
    if (env->fanout)
        gw_fanout_detach(env->fanout, &s->reader);
    while (s->out_count) {
        struct gw_frame *f = s->out[s->out_head];

        env->m->queued_bytes -= f->len;
        gw_frame_unref(f);
        s->out_head = (s->out_head + 1) % GW_SESSION_OUT_MAX;
        s->out_count--;
    }
    free(s->rx);
    s->rx = NULL;
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

void gw_session_push(const struct gw_session_env *env, struct gw_session *s,
                     struct gw_frame *f, int must_deliver)
{
    if (!f)
        return;
    if (s->out_count == GW_SESSION_OUT_MAX || s->close_code ||
        (s->out_count && s->out_bytes + f->len > env->lim.queue_max_bytes)) {
        gw_frame_unref(f);
        env->m->queue_drops++;
        if (must_deliver)
            gw_session_close_later(s, 1008, "too many unread replies",
                                   env->lim.slow_close_grace_ms);
        return;
    }
    s->out[(s->out_head + s->out_count) % GW_SESSION_OUT_MAX] = f;
    s->out_count++;
    s->out_bytes += f->len;
    env->m->queued_bytes += f->len;
    lws_callback_on_writable(s->wsi);
}

void gw_session_error(const struct gw_session_env *env, struct gw_session *s,
                      const char *msg, const char *req)
{
    gw_session_push(env, s, gw_reply_error(LWS_PRE, req, msg), 1);
}

/* Answers due or waiting: reading more requests would only add to them. */
static unsigned answers_due(const struct gw_session *s)
{
    return s->out_count + s->pending;
}

/*
 * Not read while its answers pile up, or while it is held for asking more
 * than its address may: TCP then slows the client down, instead of the
 * gateway spending its loop on refusing it again and again.
 */
static void rx_throttle(struct gw_session *s)
{
    int held = s->rx_hold_until_ms && now_ms() < s->rx_hold_until_ms;

    if (!s->rx_paused && (held || answers_due(s) >= GW_SESSION_RX_PAUSE)) {
        s->rx_paused = 1;
        lws_rx_flow_control(s->wsi, 0);
    } else if (s->rx_paused && !held &&
               answers_due(s) < GW_SESSION_RX_PAUSE / 2) {
        s->rx_paused = 0;
        lws_rx_flow_control(s->wsi, 1);
    }
}

void gw_session_answer(const struct gw_session_env *env, struct gw_session *s,
                       struct gw_frame *f)
{
    if (s->pending)
        s->pending--;
    gw_session_push(env, s, f, 1);
}

/* A whole request: parse it, then answer or ask for the history. */
static void handle_request(const struct gw_session_env *env,
                           struct gw_session *s, const char *buf, size_t len)
{
    struct gw_request req;
    enum gw_request_err err = gw_request_parse(buf, len, &req);
    const char *why = NULL;
    long long hold = 0;

    if (err) {
        env->m->bad_requests++;
        gw_session_error(env, s, gw_request_err_str(err), req.req);
    } else if (s->pending >= env->lim.max_pending) {
        env->m->history_refused++;
        gw_session_error(env, s, "too many history requests in flight",
                         req.req);
    } else {
        /* Taken first: the answer may come before history() returns. */
        s->pending++;
        if (env->history(env->user, s->id, &req, &why, &hold)) {
            s->pending--;
            if (hold > 0)
                s->rx_hold_until_ms = now_ms() + hold;
            gw_session_error(env, s, why, req.req);
        } else {
            env->m->history_requests++;
        }
    }
    rx_throttle(s);
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
static int refuse_frame(const struct gw_session_env *env, struct gw_session *s)
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
                        (int)((env->lim.slow_close_grace_ms + 999) / 1000));
    }
    if (lws_is_final_fragment(wsi))
        gw_session_close_later(s, s->refuse_code, s->refuse_reason,
                               env->lim.slow_close_grace_ms);
    else if (!s->close_code &&
             lws_remaining_packet_payload(wsi) > REFUSE_READ_MAX) {
        /*
         * Never ends: the close goes out now, and what follows is read and
         * dropped until the grace ends. lws's own close would close the
         * socket with the peer's input unread, and the reset that makes
         * destroys the close before the peer reads it.
         */
        s->linger = 1;
        gw_session_close_later(s, s->refuse_code, s->refuse_reason,
                               env->lim.slow_close_grace_ms);
    }
    return 0;
}

void gw_session_heard(struct gw_session *s)
{
    s->heard_ms = now_ms();
    s->ping_sent = 0;
}

void gw_session_keepalive(const struct gw_session_env *env,
                          struct gw_session *s, long long now_ms)
{
    long long silent = now_ms - s->heard_ms;

    if (s->close_code)
        return;
    rx_throttle(s); /* a hold that ran out */
    if (silent >= env->lim.ping_timeout_ms) {
        /* Silent: nothing would read a close frame. */
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    if (silent >= env->lim.ping_interval_ms && !s->ping_sent) {
        s->ping_due = 1;
        s->ping_sent = 1;
        lws_callback_on_writable(s->wsi);
    }
}

int gw_session_receive(const struct gw_session_env *env, struct gw_session *s,
                       const void *in, size_t len)
{
    struct lws *wsi = s->wsi;

    if (s->close_code)
        return 0;
    if (s->refuse_code || lws_frame_is_binary(wsi) ||
        s->rx_len + len + lws_remaining_packet_payload(wsi) > CHAT_WS_FRAME_MAX)
        return refuse_frame(env, s);
    if (!s->rx && lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi)) {
        handle_request(env, s, in, len);
        return 0;
    }
    if (append_fragment(s, in, len))
        return -1;
    if (lws_is_final_fragment(wsi)) {
        handle_request(env, s, s->rx, s->rx_len);
        free(s->rx);
        s->rx = NULL;
        s->rx_len = 0;
    }
    return 0;
}

/* The next frame to send: own replies first, then the live feed. */
static struct gw_frame *next_frame(const struct gw_session_env *env,
                                   struct gw_session *s, size_t *msgs)
{
    struct gw_frame *f;

    *msgs = 0;
    if (s->out_count) {
        f = s->out[s->out_head];
        s->out_head = (s->out_head + 1) % GW_SESSION_OUT_MAX;
        s->out_count--;
        s->out_bytes -= f->len;
        env->m->queued_bytes -= f->len;
        return f;
    }
    return gw_fanout_take(env->fanout, &s->reader, msgs);
}

/*
 * Should this session write the live feed again now, rather than at the
 * next sweep? Always while no batch window holds; within one, only while
 * a full frame's worth is waiting (a client catching up), so that what
 * arrives within a window goes out together.
 */
static int feed_waits(const struct gw_session_env *env, struct gw_session *s)
{
    size_t n = gw_fanout_pending(env->fanout, &s->reader);

    if (!n)
        return 0;
    if (!env->window_us(env->user) || n >= env->lim.batch_max_msgs ||
        gw_fanout_pending_bytes(env->fanout, &s->reader) >=
            env->lim.batch_max_bytes)
        return 1;
    /* The rest goes with the next sweep, which must come even if nothing
     * more is published. */
    env->sweep_soon(env->user);
    return 0;
}

/* The close frame, written by the session itself, once (see linger);
 * the grace timeout set with it ends the connection. */
static int write_close(struct gw_session *s)
{
    unsigned char buf[LWS_PRE + 125];
    size_t n = strlen(s->close_reason);

    if (s->linger > 1)
        return 0;
    s->linger = 2;
    if (n > 123)
        n = 123;
    buf[LWS_PRE] = (unsigned char)(s->close_code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(s->close_code & 0xff);
    memcpy(buf + LWS_PRE + 2, s->close_reason, n);
    if (lws_write(s->wsi, buf + LWS_PRE, n + 2, GW_WRITE_CLOSE) < 0)
        return -1;
    return 0;
}

int gw_session_writeable(const struct gw_session_env *env, struct gw_session *s)
{
    struct lws *wsi = s->wsi;
    size_t written = 0;

    if (s->close_code && s->linger)
        return write_close(s);
    if (s->close_code) {
        lws_close_reason(wsi, (enum lws_close_status)s->close_code,
                         (unsigned char *)s->close_reason,
                         strlen(s->close_reason));
        return -1;
    }
    if (s->ping_due) {
        /* A payload: lws 4.1 tells no one of an empty pong. */
        unsigned char ping[LWS_PRE + 1] = {[LWS_PRE] = 'k'};

        s->ping_due = 0;
        if (lws_write(wsi, ping + LWS_PRE, 1, LWS_WRITE_PING) < 1)
            return -1;
        written = 1; /* the socket must be asked before the next write */
    }
    for (int i = 0; i < WRITES_PER_CALLBACK && written < WRITE_BUDGET; i++) {
        size_t msgs, len;
        struct gw_frame *f;
        int n;

        /* Nothing more to write: no need to ask the socket (a poll()). */
        if (!s->out_count && !gw_fanout_pending(env->fanout, &s->reader))
            break;
        /* WRITEABLE means room for one write; ask again before the next. */
        if (written && lws_send_pipe_choked(wsi))
            break;
        f = next_frame(env, s, &msgs);
        if (!f)
            break;
        len = f->len;
        n = lws_write(wsi, gw_frame_payload(f), len, LWS_WRITE_TEXT);
        gw_frame_unref(f);
        if (n < (int)len)
            return -1;
        written += len;
        env->m->frames_out++;
        env->m->bytes_out += len;
        env->m->messages_out += msgs;
        env->m->batches_out += msgs > 1;
    }
    rx_throttle(s);
    if (s->out_count || feed_waits(env, s))
        lws_callback_on_writable(wsi);
    return 0;
}
