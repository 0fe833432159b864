#include "proto.h"

#include "log.h"
#include "server.h"
#include "session.h"

#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define HTTP_BODY_MAX 16384

/* One whole plain-text response: headers and body in one go (HTTP/1). */
static int http_reply(struct lws *wsi, unsigned status, const char *body,
                      size_t len)
{
    unsigned char head[LWS_PRE + 512], *p = head + LWS_PRE;
    unsigned char *end = head + sizeof(head) - 1;
    unsigned char out[LWS_PRE + HTTP_BODY_MAX];

    if (len > HTTP_BODY_MAX)
        len = HTTP_BODY_MAX;
    if (lws_add_http_common_headers(wsi, status,
                                    "text/plain; version=0.0.4; charset=utf-8",
                                    len, &p, end) ||
        lws_finalize_write_http_header(wsi, head + LWS_PRE, &p, end))
        return -1;
    memcpy(out + LWS_PRE, body, len);
    if (lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) < (int)len)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/*
 * The chat protocol's server, from a connection of any vhost: the metrics
 * vhost has no server of its own, and the signalfd is no chat session.
 */
static struct gw_server *chat_server(struct lws *wsi)
{
    struct lws_vhost *vh =
        lws_get_vhost_by_name(lws_get_context(wsi), "default");
    const struct lws_protocols *p =
        vh ? lws_vhost_name_to_protocol(vh, GW_PROTOCOL_NAME) : NULL;

    return p ? lws_protocol_vh_priv_get(vh, p) : NULL;
}

/*
 * metrics_here: whether this port answers /metrics. With GW_METRICS_PORT
 * set the public port does not, so that what reaches users (the node
 * port) tells nobody the chat's counts and rates.
 */
static int http_serve(struct gw_server *srv, struct lws *wsi, const char *path,
                      int metrics_here)
{
    char body[HTTP_BODY_MAX];
    size_t n;

    if (!srv)
        return http_reply(wsi, 503, "starting\n", 9);
    if (strcmp(path, "/healthz") == 0)
        return http_reply(wsi, 200, "ok\n", 3);
    if (strcmp(path, "/readyz") == 0)
        return gw_redis_ready(srv->redis) && !srv->stopping
                   ? http_reply(wsi, 200, "ready\n", 6)
                   : http_reply(wsi, 503, "not ready\n", 10);
    if (metrics_here && strcmp(path, "/metrics") == 0) {
        n = gw_server_metrics(srv, body, sizeof(body));
        return http_reply(wsi, 200, body, n);
    }
    return http_reply(wsi, 404, "not found\n", 10);
}

int gw_proto_callback(struct lws *wsi, enum lws_callback_reasons reason,
                      void *user, void *in, size_t len)
{
    struct gw_server *srv = gw_server_of(wsi);
    struct gw_session *s = user;

    switch (reason) {
    case LWS_CALLBACK_PROTOCOL_INIT:
        return gw_server_init(wsi);
    case LWS_CALLBACK_PROTOCOL_DESTROY:
        gw_server_destroy(srv);
        break;
    case LWS_CALLBACK_HTTP:
        return http_serve(srv, wsi, in ? (const char *)in : "",
                          !srv || !srv->cfg->metrics_port);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return gw_server_admit(srv, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        return gw_server_session_open(srv, s, wsi);
    case LWS_CALLBACK_CLOSED:
        gw_server_session_close(srv, s);
        break;
    case LWS_CALLBACK_RECEIVE:
        gw_session_heard(s);
        return srv ? gw_session_receive(&srv->env, s, in, len) : -1;
    case LWS_CALLBACK_RECEIVE_PONG:
        gw_session_heard(s);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return srv ? gw_session_writeable(&srv->env, s) : -1;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        gw_server_wake(srv);
        break;
    default:
        break;
    }
    return 0;
}

int gw_proto_metrics_callback(struct lws *wsi, enum lws_callback_reasons reason,
                              void *user, void *in, size_t len)
{
    (void)user, (void)len;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_serve(chat_server(wsi), wsi, in ? (const char *)in : "", 1);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        /* No chat here: a WebSocket belongs on GW_PORT. */
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
        return 1;
    default:
        return 0;
    }
}

/* SIGTERM/SIGINT arrive as reads on a signalfd adopted into the loop. */
static void signal_read(struct lws *wsi)
{
    struct signalfd_siginfo si;
    struct gw_server *srv = chat_server(wsi);

    while (read(lws_get_socket_fd(wsi), &si, sizeof(si)) == sizeof(si))
        log_info("main", "event=signal signo=%u", si.ssi_signo);
    if (srv)
        gw_server_stop(srv);
}

int gw_proto_signal_callback(struct lws *wsi, enum lws_callback_reasons reason,
                             void *user, void *in, size_t len)
{
    (void)user, (void)in, (void)len;
    if (reason == LWS_CALLBACK_RAW_RX_FILE)
        signal_read(wsi);
    return 0;
}
