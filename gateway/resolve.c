#include "resolve.h"

#include "sentinel_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HOST_MAX 256

struct gw_lookup {
    struct gw_lookup *next;
    struct gw_resolver *res;
    gw_resolve_cb cb;
    void *user;
    int cancelled; /* under the lock */
    int primary;   /* ask the sentinels for the host first */
    int port;
    const char *error;
    char host[HOST_MAX];
    char addr[GW_ADDR_MAX];
    char why[192]; /* what the sentinels said, when error points here */
};

struct list {
    struct gw_lookup *head;
    struct gw_lookup **tail;
};

/*
 * Shared by the owner and the thread, each holding one reference: the
 * owner must never wait for a thread that may be inside getaddrinfo().
 */
struct gw_resolver {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct list todo; /* waiting for the thread */
    struct list done; /* ended, waiting for gw_resolver_poll() */
    int stopping;
    int refs;
    void (*wake)(void *user);
    void *wake_user;
    /* Set before the first primary lookup; then only the thread reads
     * them (next_sentinel is the thread's alone). */
    struct sentinel_list sentinels;
    char master[SENTINEL_NAME_MAX + 1];
    struct sentinel_timeouts sentinel_t;
    size_t next_sentinel;
    int rotate; /* under the lock: the last answer named a non-primary */
};

static void list_init(struct list *l)
{
    l->head = NULL;
    l->tail = &l->head;
}

static void list_push(struct list *l, struct gw_lookup *lk)
{
    lk->next = NULL;
    *l->tail = lk;
    l->tail = &lk->next;
}

static struct gw_lookup *list_pop(struct list *l)
{
    struct gw_lookup *lk = l->head;

    if (lk && !(l->head = lk->next))
        l->tail = &l->head;
    return lk;
}

static void list_free(struct list *l)
{
    struct gw_lookup *lk;

    while ((lk = list_pop(l)))
        free(lk);
}

/* Drop one reference under the lock; the last one frees everything. */
static void release(struct gw_resolver *res)
{
    int last = --res->refs == 0;

    pthread_mutex_unlock(&res->lock);
    if (!last)
        return;
    list_free(&res->todo);
    list_free(&res->done);
    pthread_cond_destroy(&res->cond);
    pthread_mutex_destroy(&res->lock);
    free(res);
}

/* Hand an ended lookup to the loop, under the lock so that no wake can
 * come once the owner has stopped. */
static void finish_locked(struct gw_resolver *res, struct gw_lookup *lk)
{
    if (res->stopping) {
        free(lk);
        return;
    }
    list_push(&res->done, lk);
    res->wake(res->wake_user);
}

/* On the thread: the sentinels name the primary's host and port. */
static int ask_sentinels(struct gw_resolver *res, struct gw_lookup *lk)
{
    struct sentinel_addr a;

    pthread_mutex_lock(&res->lock);
    if (res->rotate)
        res->next_sentinel++;
    res->rotate = 0;
    pthread_mutex_unlock(&res->lock);

    if (sentinel_ask(&res->sentinels, res->master, &res->sentinel_t,
                     &res->next_sentinel, &a, lk->why,
                     sizeof(lk->why)) != SENTINEL_OK) {
        lk->error = lk->why;
        return -1;
    }
    snprintf(lk->host, sizeof(lk->host), "%s", a.host);
    lk->port = a.port;
    return 0;
}

static void lookup(struct gw_resolver *res, struct gw_lookup *lk)
{
    struct addrinfo hints, *ai = NULL;
    int rc;

    if (lk->primary && ask_sentinels(res, lk))
        return;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(lk->host, NULL, &hints, &ai);
    if (rc) {
        /* gai_strerror's texts are static. */
        lk->error = gai_strerror(rc);
        return;
    }
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, lk->addr, sizeof(lk->addr),
                    NULL, 0, NI_NUMERICHOST))
        lk->error = "cannot write the address";
    freeaddrinfo(ai);
}

static void *thread_main(void *arg)
{
    struct gw_resolver *res = arg;

    pthread_mutex_lock(&res->lock);
    for (;;) {
        struct gw_lookup *lk;

        while (!res->stopping && !res->todo.head)
            pthread_cond_wait(&res->cond, &res->lock);
        if (res->stopping)
            break;
        lk = list_pop(&res->todo);
        if (lk->cancelled) {
            free(lk);
            continue;
        }
        pthread_mutex_unlock(&res->lock);
        lookup(res, lk);
        pthread_mutex_lock(&res->lock);
        finish_locked(res, lk);
    }
    release(res);
    return NULL;
}

struct gw_resolver *gw_resolver_new(void (*wake)(void *user), void *wake_user)
{
    struct gw_resolver *res = calloc(1, sizeof(*res));
    pthread_attr_t attr;
    pthread_t t;
    int rc;

    if (!res)
        return NULL;
    list_init(&res->todo);
    list_init(&res->done);
    res->wake = wake;
    res->wake_user = wake_user;
    res->refs = 2;
    pthread_mutex_init(&res->lock, NULL);
    pthread_cond_init(&res->cond, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&t, &attr, thread_main, res);
    pthread_attr_destroy(&attr);
    if (rc) {
        pthread_cond_destroy(&res->cond);
        pthread_mutex_destroy(&res->lock);
        free(res);
        return NULL;
    }
    return res;
}

void gw_resolver_free(struct gw_resolver *res)
{
    if (!res)
        return;
    pthread_mutex_lock(&res->lock);
    res->stopping = 1;
    list_free(&res->todo);
    list_free(&res->done);
    pthread_cond_signal(&res->cond);
    release(res);
}

static int is_numeric(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

struct gw_lookup *gw_resolve(struct gw_resolver *res, const char *host,
                             int port, gw_resolve_cb cb, void *user)
{
    size_t n = strlen(host);
    struct gw_lookup *lk;

    if (n >= HOST_MAX)
        return NULL;
    lk = calloc(1, sizeof(*lk));
    if (!lk)
        return NULL;
    lk->res = res;
    lk->cb = cb;
    lk->user = user;
    lk->port = port;
    memcpy(lk->host, host, n + 1);
    pthread_mutex_lock(&res->lock);
    /* A numeric address needs no thread, and must not queue behind a
     * lookup the thread is stuck in. */
    if (is_numeric(host) && n < GW_ADDR_MAX) {
        memcpy(lk->addr, host, n + 1);
        finish_locked(res, lk);
    } else {
        list_push(&res->todo, lk);
        pthread_cond_signal(&res->cond);
    }
    pthread_mutex_unlock(&res->lock);
    return lk;
}

int gw_resolver_sentinels(struct gw_resolver *res,
                          const struct sentinel_list *l, const char *master,
                          int connect_ms, int io_ms)
{
    size_t n = strlen(master);

    if (n > SENTINEL_NAME_MAX)
        return -1;
    pthread_mutex_lock(&res->lock);
    res->sentinels = *l;
    memcpy(res->master, master, n + 1);
    res->sentinel_t = (struct sentinel_timeouts){connect_ms, io_ms};
    pthread_mutex_unlock(&res->lock);
    return 0;
}

void gw_resolver_primary_wrong(struct gw_resolver *res)
{
    pthread_mutex_lock(&res->lock);
    res->rotate = 1;
    pthread_mutex_unlock(&res->lock);
}

struct gw_lookup *gw_resolve_primary(struct gw_resolver *res, gw_resolve_cb cb,
                                     void *user)
{
    struct gw_lookup *lk;

    if (res->sentinels.n == 0)
        return NULL;
    lk = calloc(1, sizeof(*lk));
    if (!lk)
        return NULL;
    lk->res = res;
    lk->cb = cb;
    lk->user = user;
    lk->primary = 1;
    pthread_mutex_lock(&res->lock);
    list_push(&res->todo, lk);
    pthread_cond_signal(&res->cond);
    pthread_mutex_unlock(&res->lock);
    return lk;
}

void gw_lookup_cancel(struct gw_lookup *lk)
{
    if (!lk)
        return;
    pthread_mutex_lock(&lk->res->lock);
    lk->cancelled = 1;
    pthread_mutex_unlock(&lk->res->lock);
}

void gw_resolver_poll(struct gw_resolver *res)
{
    struct list ended;
    struct gw_lookup *lk;

    pthread_mutex_lock(&res->lock);
    ended = res->done;
    if (!ended.head)
        ended.tail = &ended.head;
    list_init(&res->done);
    pthread_mutex_unlock(&res->lock);
    /* Only the loop cancels, and the thread no longer touches these. */
    while ((lk = list_pop(&ended))) {
        if (!lk->cancelled)
            lk->cb(lk->user, lk->error ? NULL : lk->addr, lk->port, lk->error);
        free(lk);
    }
}
