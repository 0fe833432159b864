/*
 * See sentinel_client.h. Replies live until freeReplyObject(); what is
 * kept is copied out first.
 */
#include "sentinel_client.h"

#include "log.h"

#include <errno.h>
#include <hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WATCH_TICK_MS  100 /* how often the thread looks at the stop flag */
#define WATCH_PAUSE_MS 200 /* between two sentinels that failed */

static struct timeval tv_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    return tv;
}

static long long mono_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A connection to sentinel a with both timeouts set, or NULL and why. */
static redisContext *dial(const struct sentinel_addr *a,
                          const struct sentinel_timeouts *t, char *why,
                          size_t cap)
{
    redisContext *c =
        redisConnectWithTimeout(a->host, a->port, tv_ms(t->connect_ms));

    if (!c || c->err || redisSetTimeout(c, tv_ms(t->io_ms)) != REDIS_OK) {
        snprintf(why, cap, "sentinel %s:%d: %s", a->host, a->port,
                 c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    return c;
}

static bool is_str(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING;
}

/* One sentinel's answer for name. */
static enum sentinel_err ask_one(redisContext *c, const struct sentinel_addr *a,
                                 const char *name, struct sentinel_addr *out,
                                 char *why, size_t cap)
{
    redisReply *r =
        redisCommand(c, "SENTINEL get-master-addr-by-name %s", name);
    enum sentinel_err rc = SENTINEL_ERR_NO_ANSWER;

    if (!r) {
        snprintf(why, cap, "sentinel %s:%d: %s", a->host, a->port, c->errstr);
        return rc;
    }
    if (r->type == REDIS_REPLY_NIL) {
        snprintf(why, cap, "sentinel %s:%d knows no master %s", a->host,
                 a->port, name);
        rc = SENTINEL_ERR_UNKNOWN;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               is_str(r->element[0]) && is_str(r->element[1])) {
        rc = sentinel_addr_from_reply(r->element[0]->str, r->element[0]->len,
                                      r->element[1]->str, r->element[1]->len,
                                      out);
        if (rc != SENTINEL_OK)
            snprintf(why, cap, "sentinel %s:%d gave an address that is none",
                     a->host, a->port);
    } else {
        snprintf(why, cap, "sentinel %s:%d answered %.100s", a->host, a->port,
                 r->type == REDIS_REPLY_ERROR ? r->str : "something else");
    }
    freeReplyObject(r);
    return rc == SENTINEL_ERR_REPLY ? SENTINEL_ERR_NO_ANSWER : rc;
}

enum sentinel_err sentinel_ask(const struct sentinel_list *l, const char *name,
                               const struct sentinel_timeouts *t, size_t *start,
                               struct sentinel_addr *out, char *why,
                               size_t why_cap)
{
    enum sentinel_err best = SENTINEL_ERR_NO_ANSWER;
    size_t i = l->n ? *start % l->n : 0;

    snprintf(why, why_cap, "%s", "no sentinel configured");
    for (size_t tried = 0; tried < l->n; tried++, i = sentinel_next(i, l->n)) {
        redisContext *c = dial(&l->at[i], t, why, why_cap);
        enum sentinel_err rc;

        if (!c)
            continue;
        rc = ask_one(c, &l->at[i], name, out, why, why_cap);
        redisFree(c);
        if (rc == SENTINEL_OK) {
            *start = i;
            return rc;
        }
        if (rc == SENTINEL_ERR_UNKNOWN)
            best = rc;
    }
    return best;
}

/* ==== the +switch-master watch ==== */

/*
 * Shared by the owner and the thread, each holding one reference, so the
 * owner never waits for a thread stuck in a connect or a lookup.
 */
struct sentinel_watch {
    pthread_mutex_t lock;
    int stopping; /* under the lock */
    int refs;     /* under the lock */
    unsigned long long switches;
    struct sentinel_list list;
    char name[SENTINEL_NAME_MAX + 1];
    struct sentinel_timeouts t;
    int ping_ms;
    sentinel_switch_cb cb;
    void *user;
};

static bool stopping(struct sentinel_watch *w)
{
    bool v;

    pthread_mutex_lock(&w->lock);
    v = w->stopping;
    pthread_mutex_unlock(&w->lock);
    return v;
}

/* Drop one reference; the last one frees. Called with the lock held. */
static void release_locked(struct sentinel_watch *w)
{
    int last = --w->refs == 0;

    pthread_mutex_unlock(&w->lock);
    if (!last)
        return;
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static void pause_ms(struct sentinel_watch *w, int ms)
{
    const struct timespec tick = {0, WATCH_TICK_MS * 1000000L};

    for (int slept = 0; slept < ms && !stopping(w); slept += WATCH_TICK_MS)
        nanosleep(&tick, NULL);
}

static bool subscribed(redisContext *c)
{
    redisReply *r = redisCommand(c, "SUBSCRIBE +switch-master");
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
              is_str(r->element[0]) &&
              strcmp(r->element[0]->str, "subscribe") == 0;

    freeReplyObject(r);
    return ok;
}

/* A message or a pong; *pong_due is cleared by a pong. */
static void on_reply(struct sentinel_watch *w, const redisReply *r,
                     long long *pong_due)
{
    struct sentinel_addr a;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        !is_str(r->element[0]))
        return;
    if (strcmp(r->element[0]->str, "pong") == 0) {
        *pong_due = 0;
        return;
    }
    if (r->elements != 3 || strcmp(r->element[0]->str, "message") != 0 ||
        !is_str(r->element[2]))
        return;
    if (sentinel_switch_parse(r->element[2]->str, r->element[2]->len, w->name,
                              &a) != SENTINEL_OK)
        return;
    log_info("sentinel", "event=switch_master name=%s primary=%s:%d", w->name,
             a.host, a.port);
    pthread_mutex_lock(&w->lock);
    if (!w->stopping) {
        w->switches++;
        w->cb(w->user, &a);
    }
    pthread_mutex_unlock(&w->lock);
}

static bool send_ping(redisContext *c)
{
    int done = 0;

    if (redisAppendCommand(c, "PING") != REDIS_OK)
        return false;
    do {
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return false;
    } while (!done);
    return true;
}

/* Read messages until the link fails, goes silent or we stop. */
static void follow(struct sentinel_watch *w, redisContext *c)
{
    long long next_ping = mono_ms() + w->ping_ms;
    long long pong_due = 0;

    while (!stopping(w)) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int rc = poll(&p, 1, WATCH_TICK_MS);
        long long now;
        void *r;

        if (rc < 0 && errno != EINTR)
            return;
        if (rc > 0) {
            if (redisBufferRead(c) != REDIS_OK)
                return;
            while (redisGetReplyFromReader(c, &r) == REDIS_OK && r) {
                on_reply(w, r, &pong_due);
                freeReplyObject(r);
            }
            if (c->err)
                return;
        }
        now = mono_ms();
        if (pong_due && now > pong_due)
            return;
        if (!pong_due && now >= next_ping) {
            if (!send_ping(c))
                return;
            pong_due = now + w->t.io_ms;
            next_ping = now + w->ping_ms;
        }
    }
}

static void *watch_main(void *arg)
{
    struct sentinel_watch *w = arg;
    size_t i = 0;
    char why[256];

    while (!stopping(w)) {
        redisContext *c = dial(&w->list.at[i], &w->t, why, sizeof(why));

        if (c && subscribed(c)) {
            log_info("sentinel", "event=watching sentinel=%s:%d",
                     w->list.at[i].host, w->list.at[i].port);
            follow(w, c);
            snprintf(why, sizeof(why), "sentinel %s:%d: %s", w->list.at[i].host,
                     w->list.at[i].port, c->errstr[0] ? c->errstr : "silent");
        }
        redisFree(c);
        if (stopping(w))
            break;
        log_warn("sentinel", "event=watch_lost error=\"%s\"", why);
        i = sentinel_next(i, w->list.n);
        pause_ms(w, WATCH_PAUSE_MS);
    }
    pthread_mutex_lock(&w->lock);
    release_locked(w);
    return NULL;
}

struct sentinel_watch *sentinel_watch_start(const struct sentinel_list *l,
                                            const char *name,
                                            const struct sentinel_timeouts *t,
                                            int ping_ms, sentinel_switch_cb cb,
                                            void *user)
{
    struct sentinel_watch *w;
    pthread_attr_t attr;
    pthread_t th;
    int rc;

    if (l->n == 0 || strlen(name) > SENTINEL_NAME_MAX)
        return NULL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->list = *l;
    memcpy(w->name, name, strlen(name) + 1);
    w->t = *t;
    w->ping_ms = ping_ms;
    w->cb = cb;
    w->user = user;
    w->refs = 2;
    pthread_mutex_init(&w->lock, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &attr, watch_main, w);
    pthread_attr_destroy(&attr);
    if (rc) {
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

void sentinel_watch_stop(struct sentinel_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    release_locked(w);
}

unsigned long long sentinel_watch_switches(struct sentinel_watch *w)
{
    unsigned long long n;

    pthread_mutex_lock(&w->lock);
    n = w->switches;
    pthread_mutex_unlock(&w->lock);
    return n;
}
