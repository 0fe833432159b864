/*
 * The lws callbacks: the chat protocol (WebSocket sessions plus plain
 * HTTP /healthz, /readyz, /metrics on the same port) and the signalfd
 * that starts a graceful stop.
 */
#ifndef GW_PROTO_H
#define GW_PROTO_H

#include <libwebsockets.h>

#define GW_PROTOCOL_NAME "chat"
#define GW_SIGNAL_NAME   "gw-signal"

int gw_proto_callback(struct lws *wsi, enum lws_callback_reasons reason,
                      void *user, void *in, size_t len);

int gw_proto_signal_callback(struct lws *wsi, enum lws_callback_reasons reason,
                             void *user, void *in, size_t len);

#endif
