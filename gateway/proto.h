/*
 * The lws callbacks: the chat protocol (WebSocket sessions plus plain
 * HTTP /healthz, /readyz and, unless GW_METRICS_PORT is set, /metrics on
 * the same port), the metrics port's plain HTTP, and the signalfd that
 * starts a graceful stop.
 */
#ifndef GW_PROTO_H
#define GW_PROTO_H

#include <libwebsockets.h>

#define GW_PROTOCOL_NAME "chat"
#define GW_SIGNAL_NAME   "gw-signal"
#define GW_METRICS_NAME  "gw-metrics"

int gw_proto_callback(struct lws *wsi, enum lws_callback_reasons reason,
                      void *user, void *in, size_t len);

/* The metrics vhost (GW_METRICS_PORT): /metrics, /healthz, /readyz. */
int gw_proto_metrics_callback(struct lws *wsi, enum lws_callback_reasons reason,
                              void *user, void *in, size_t len);

int gw_proto_signal_callback(struct lws *wsi, enum lws_callback_reasons reason,
                             void *user, void *in, size_t len);

#endif
