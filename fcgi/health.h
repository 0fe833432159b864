/*
 * The send handler's probe and metrics port: plain HTTP GET /healthz,
 * /readyz and /metrics on a port of its own (Kubernetes probes reach a pod
 * directly, not through lighttpd). One thread answers one short request
 * at a time; a client gets HEALTH_IO_TIMEOUT_MS to send its request line.
 */
#ifndef SEND_HEALTH_H
#define SEND_HEALTH_H

#include "chat_msg.h"

#include <stddef.h>

#define HEALTH_IO_TIMEOUT_MS 1000

/* What the endpoints report; both are called on the health thread. */
struct health_probe {
    /* Non-zero when the process can serve sends (Redis answers). */
    int (*ready)(void *ctx);
    /* Write Prometheus text into buf (cap bytes); returns the length. */
    size_t (*metrics)(void *ctx, char *buf, size_t cap);
    void *ctx;
};

struct health;

/*
 * Listen on bind:port and answer on a new thread. probe is copied; its
 * ctx must outlive the server. NULL (after logging why) when the socket or
 * the thread cannot be made.
 */
CHAT_WUR struct health *health_start(const char *bind, int port,
                                     const struct health_probe *probe);

/* From now on /readyz answers 503 (the process is stopping). */
void health_draining(struct health *h);

/* Stop the thread, close the socket, free. health_stop(NULL) does nothing. */
void health_stop(struct health *h);

#endif
