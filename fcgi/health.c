/* See health.h. */
#include "health.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define REQUEST_MAX 4096
#define METRICS_MAX (64 * 1024)

struct health {
    int listen_fd;
    int wake[2]; /* written once by health_stop() */
    pthread_t thread;
    struct health_probe probe;
    atomic_int draining;
    char request[REQUEST_MAX + 1];
    char body[METRICS_MAX];
};

struct answer {
    int status;
    const char *reason;
    const char *type;
    const char *body;
    size_t len;
};

static int listen_on(const char *host, int port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai;
    char service[8];
    int fd = -1;
    int one = 1;

    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(host, service, &hints, &ai) != 0)
        return -1;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 &&
        (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
         bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64))) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Read until the end of the request head; 0 on success. */
static int read_head(int fd, char *buf, size_t cap)
{
    size_t used = 0;

    while (used < cap) {
        ssize_t n = read(fd, buf + used, cap - used);

        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
            return 0;
    }
    return -1;
}

static struct answer route(struct health *h, const char *req)
{
    struct answer a = {404, "Not Found", "text/plain", "not found\n", 10};
    const char *path = strchr(req, ' ');
    size_t len;

    if (strncmp(req, "GET ", 4) != 0 && strncmp(req, "HEAD ", 5) != 0)
        return (struct answer){405, "Method Not Allowed", "text/plain",
                               "GET only\n", 9};
    path++;
    len = strcspn(path, " ?\r\n");
    if (len == 8 && memcmp(path, "/healthz", 8) == 0)
        return (struct answer){200, "OK", "text/plain", "ok\n", 3};
    if (len == 7 && memcmp(path, "/readyz", 7) == 0) {
        if (!atomic_load(&h->draining) && h->probe.ready(h->probe.ctx))
            return (struct answer){200, "OK", "text/plain", "ready\n", 6};
        return (struct answer){503, "Service Unavailable", "text/plain",
                               "not ready\n", 10};
    }
    if (len == 8 && memcmp(path, "/metrics", 8) == 0) {
        a = (struct answer){200, "OK", "text/plain; version=0.0.4", h->body, 0};
        a.len = h->probe.metrics(h->probe.ctx, h->body, sizeof(h->body));
    }
    return a;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void serve_one(struct health *h, int fd)
{
    struct timeval tv = {HEALTH_IO_TIMEOUT_MS / 1000,
                         (HEALTH_IO_TIMEOUT_MS % 1000) * 1000};
    char head[256];
    struct answer a;
    int n;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (read_head(fd, h->request, REQUEST_MAX))
        return;
    a = route(h, h->request);
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                 "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                 "Connection: close\r\n\r\n",
                 a.status, a.reason, a.type, a.len);
    write_all(fd, head, (size_t)n);
    if (strncmp(h->request, "HEAD ", 5) != 0)
        write_all(fd, a.body, a.len);
}

static void *health_main(void *arg)
{
    struct health *h = arg;
    struct pollfd p[2] = {{.fd = h->listen_fd, .events = POLLIN},
                          {.fd = h->wake[0], .events = POLLIN}};

    for (;;) {
        int fd;

        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        serve_one(h, fd);
        close(fd);
    }
    return NULL;
}

struct health *health_start(const char *bind, int port,
                            const struct health_probe *probe)
{
    struct health *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->probe = *probe;
    atomic_init(&h->draining, 0);
    h->listen_fd = listen_on(bind, port);
    if (h->listen_fd < 0) {
        log_error("health", "event=listen_failed bind=%s port=%d error=\"%s\"",
                  bind, port, strerror(errno));
        goto out_free;
    }
    if (pipe2(h->wake, O_CLOEXEC))
        goto out_close_listen;
    if (pthread_create(&h->thread, NULL, health_main, h))
        goto out_close_pipe;
    log_info("health", "event=listening bind=%s port=%d", bind, port);
    return h;

out_close_pipe:
    close(h->wake[0]);
    close(h->wake[1]);
out_close_listen:
    close(h->listen_fd);
out_free:
    free(h);
    return NULL;
}

void health_draining(struct health *h)
{
    if (h)
        atomic_store(&h->draining, 1);
}

void health_stop(struct health *h)
{
    if (!h)
        return;
    write_all(h->wake[1], "x", 1);
    pthread_join(h->thread, NULL);
    close(h->wake[0]);
    close(h->wake[1]);
    close(h->listen_fd);
    free(h);
}
