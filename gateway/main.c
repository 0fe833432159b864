/*
 * chat-gateway: WebSocket fan-out of the chat's Redis channel, history
 * from the stream. One thread, one lws loop, one Redis subscriber.
 */
#include "config.h"
#include "log.h"
#include "proto.h"
#include "redis_lws.h"
#include "server.h"

#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Client requests are small; larger ones arrive in pieces and are joined. */
#define RX_BUFFER_SIZE 1024
/*
 * lws caps one send() at this and copies any rest aside; big enough that
 * batches and most history replies go out without that copy.
 */
#define TX_PACKET_SIZE (1024 * 1024)
#define HEADER_POOL    64

static void lws_log_bridge(int level, const char *line)
{
    size_t n = strcspn(line, "\r\n");

    if (level & LLL_ERR)
        log_error("lws", "msg=\"%.*s\"", (int)n, line);
    else
        log_warn("lws", "msg=\"%.*s\"", (int)n, line);
}

/* Blocked signals delivered as readable bytes, handled inside the loop. */
static int signal_fd(void)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL))
        return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int adopt_signals(struct lws_context *ctx, int fd)
{
    lws_adopt_desc_t ad;

    memset(&ad, 0, sizeof(ad));
    ad.vh = lws_get_vhost_by_name(ctx, "default");
    ad.type = LWS_ADOPT_RAW_FILE_DESC;
    ad.fd.filefd = fd;
    ad.vh_prot_name = GW_SIGNAL_NAME;
    return ad.vh && lws_adopt_descriptor_vhost_via_info(&ad) ? 0 : -1;
}

static struct lws_context *create_context(struct gw_app *app,
                                          const struct lws_protocols *prots)
{
    struct lws_context_creation_info info;

    memset(&info, 0, sizeof(info));
    /* No lws validity timers (a hangup of 0 turns them off): the sessions
     * keep their own, one timer for all (gw_session_keepalive). */
    memset(&app->keepalive, 0, sizeof(app->keepalive));
    info.port = (int)app->cfg.port;
    info.iface = app->cfg.bind;
    info.protocols = prots;
    info.vhost_name = "default";
    info.user = app;
    info.retry_and_idle_policy = &app->keepalive;
    /*
     * Handshakes in flight share a few header tables; a crowd connecting at
     * once waits its turn instead of leaving freed-but-held heap behind.
     */
    info.max_http_header_pool = HEADER_POOL;
    info.options =
        LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    return lws_create_context(&info);
}

/*
 * GW_METRICS_PORT: a vhost of its own in the same loop, answering only
 * plain HTTP, so the public port need not carry /metrics.
 */
static int create_metrics_vhost(struct lws_context *ctx, struct gw_app *app,
                                const struct lws_protocols *prots)
{
    struct lws_context_creation_info info;

    if (!app->cfg.metrics_port)
        return 0;
    memset(&info, 0, sizeof(info));
    info.port = (int)app->cfg.metrics_port;
    info.iface = app->cfg.bind;
    info.protocols = prots;
    info.vhost_name = "metrics";
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    if (!lws_create_vhost(ctx, &info)) {
        log_error("main", "event=start_failed metrics_port=%lld",
                  app->cfg.metrics_port);
        return -1;
    }
    log_info("main", "event=listening bind=%s metrics_port=%lld", app->cfg.bind,
             app->cfg.metrics_port);
    return 0;
}

int main(void)
{
    struct gw_app app = {0};
    struct lws_protocols prots[] = {
        {GW_PROTOCOL_NAME, gw_proto_callback, sizeof(struct gw_session),
         RX_BUFFER_SIZE, 0, NULL, TX_PACKET_SIZE},
        gw_redis_lws_protocol,
        {GW_SIGNAL_NAME, gw_proto_signal_callback, 0, 0, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0}};
    static const struct lws_protocols metrics_prots[] = {
        {GW_METRICS_NAME, gw_proto_metrics_callback, 0, 0, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0}};
    struct lws_context *ctx;
    int sfd;

    if (gw_config_load(&app.cfg))
        return 2;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
    sfd = signal_fd();
    ctx = sfd < 0 ? NULL : create_context(&app, prots);
    if (!ctx || adopt_signals(ctx, sfd)) {
        log_error("main", "event=start_failed port=%lld", app.cfg.port);
        if (ctx)
            lws_context_destroy(ctx);
        return 1;
    }
    log_info("main", "event=listening bind=%s port=%lld", app.cfg.bind,
             app.cfg.port);
    if (create_metrics_vhost(ctx, &app, metrics_prots)) {
        lws_context_destroy(ctx);
        return 1;
    }
    while (!app.done)
        if (lws_service(ctx, 0) < 0)
            break;
    lws_context_destroy(ctx);
    log_info("main", "event=exit");
    return 0;
}
