#include "listener.h"

#include "log.h"

#include <fcgiapp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Accepted sockets inherit these from the listener. */
static int set_io_timeouts(int fd, long long ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
           setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int listener_open(const struct send_config *cfg)
{
    char addr[SEND_CONFIG_STR_MAX + 8];
    int fd;

    /* A Unix socket spares lighttpd and us a TCP handshake per request,
     * when both run on one host (libfcgi takes a path for one). */
    if (cfg->socket_path[0])
        snprintf(addr, sizeof(addr), "%s", cfg->socket_path);
    else
        snprintf(addr, sizeof(addr), "%s:%lld", cfg->bind, cfg->port);
    fd = FCGX_OpenSocket(addr, (int)cfg->backlog);
    if (fd < 0) {
        log_error("send", "event=listen_failed address=%s", addr);
        return -1;
    }
    if (set_io_timeouts(fd, cfg->io_timeout_ms)) {
        log_error("send", "event=listen_failed error=\"cannot set timeouts\"");
        close(fd);
        return -1;
    }
    log_info("send", "event=listening address=%s threads=%lld", addr,
             cfg->threads);
    return fd;
}

void listener_drain(int fd)
{
    enum { CHECK_MS = 10, QUIET_CHECKS = 3 };
    struct pollfd p = {.fd = fd, .events = POLLIN};
    const struct timespec pause = {0, CHECK_MS * 1000000L};
    int quiet = 0;

    for (int waited = 0; quiet < QUIET_CHECKS && waited < LISTENER_DRAIN_MAX_MS;
         waited += CHECK_MS) {
        p.revents = 0;
        quiet = poll(&p, 1, 0) == 0 ? quiet + 1 : 0;
        nanosleep(&pause, NULL);
    }
    if (quiet < QUIET_CHECKS)
        log_warn("send", "event=drain_cut_short waited_ms=%d",
                 LISTENER_DRAIN_MAX_MS);
}
