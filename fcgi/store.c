/*
 * See store.h. Replies live only until freeReplyObject(); what is kept is
 * copied out first.
 */
#include "store.h"

#include "layout.h"
#include "log.h"
#include "sentinel_client.h"

#include <hiredis.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define SHA_SIZE 41 /* 40 hex digits and NUL */

/* Generated from fcgi/publish.lua and fcgi/ratelimit.lua (tools/embed.sh). */
extern const char store_publish_lua[];
extern const char store_ratelimit_lua[];
extern const char store_fence_lua[];

struct store {
    const struct store_options *opt;
    struct store_shared *sh;
    redisContext *ctx;
    char host[SENTINEL_HOST_MAX]; /* where ctx is, or the last dial went */
    int port;
    unsigned long long gen;  /* sh->generation when the dial began */
    unsigned seed;           /* jitter */
    long long clock_skew_ms; /* Redis' clock minus ours, from the dial */
    char publish_sha[SHA_SIZE];
    char rate_sha[SHA_SIZE];
    bool ever_up;      /* dialled before: the next dial is a reconnect */
    bool to_announced; /* this dial went where +switch-master said */
};

/* Errors that mean "Redis is there but cannot run it now": nothing ran. */
static const char *const busy_prefixes[] = {
    "LOADING", "BUSY",     "MASTERDOWN", "READONLY",    "OOM",
    "MISCONF", "TRYAGAIN", "NOREPLICAS", "CLUSTERDOWN", "DEADLINE"};
/* Of those, the ones that say this node is no longer the primary, or is
 * cut off from its replicas (Sentinel may be moving the primary). */
static const char *const moved_prefixes[] = {"READONLY", "NOREPLICAS"};

static bool with_sentinels(const struct store_options *o)
{
    return o->sentinels && o->sentinels->n > 0;
}

static long long now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static long long wall_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct timeval tv_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    return tv;
}

void store_shared_init(struct store_shared *sh, int backoff_min_ms)
{
    atomic_init(&sh->retry_at_ms, 0);
    atomic_init(&sh->backoff_ms, backoff_min_ms);
    sh->backoff_min_ms = backoff_min_ms;
    atomic_init(&sh->dials_failed, 0);
    atomic_init(&sh->reconnects, 0);
    atomic_init(&sh->errors, 0);
    atomic_init(&sh->connects, 0);
    atomic_init(&sh->generation, 0);
    atomic_init(&sh->failovers, 0);
    atomic_init(&sh->fences, 0);
    atomic_init(&sh->unconfirmed, 0);
    atomic_init(&sh->next_sentinel, 0);
    pthread_mutex_init(&sh->primary_lock, NULL);
    sh->primary[0] = '\0';
    sh->announced_gen = 0;
    sh->watch = NULL;
}

/*
 * On the watch thread: every worker leaves the old primary, and the
 * backoff its failures earned ends: nobody has failed on the new one, and
 * waiting it out would add up to REDIS_BACKOFF_MAX_MS to the failover.
 * The next dials go where the event says: a sentinel asked now may not
 * have heard yet and name the old primary, whose refusal would start a
 * new backoff.
 */
static void on_switch(void *user, const struct sentinel_addr *primary)
{
    struct store_shared *sh = user;

    pthread_mutex_lock(&sh->primary_lock);
    sh->announced = *primary;
    sh->announced_gen = atomic_fetch_add(&sh->generation, 1) + 1;
    pthread_mutex_unlock(&sh->primary_lock);
    atomic_store(&sh->backoff_ms, sh->backoff_min_ms);
    atomic_store(&sh->retry_at_ms, 0);
}

int store_shared_start(struct store_shared *sh, const struct store_options *opt)
{
    struct sentinel_timeouts t = {opt->connect_timeout_ms, opt->timeout_ms};

    if (!with_sentinels(opt))
        return 0;
    /* A PING a second: a sentinel that went silent is left within about
     * a second and a timeout. */
    sh->watch = sentinel_watch_start(opt->sentinels, opt->master_name, &t, 1000,
                                     on_switch, sh);
    return sh->watch ? 0 : -1;
}

void store_shared_cleanup(struct store_shared *sh)
{
    sentinel_watch_stop(sh->watch);
    sh->watch = NULL;
    pthread_mutex_destroy(&sh->primary_lock);
}

/* ==== link state ==== */

/* Redis failed us: no call starts a dial or a command until the backoff
 * (halved and jittered, so workers spread out) has passed. */
static void mark_down(struct store *s, const char *why)
{
    long long b = atomic_load(&s->sh->backoff_ms);
    long long wait = b / 2 + rand_r(&s->seed) % (b / 2 + 1);
    long long next =
        b * 2 > s->opt->backoff_max_ms ? s->opt->backoff_max_ms : b * 2;

    /* A link to a primary Sentinel has since replaced failed: that says
     * nothing of the new one, and must not hold its first sends back. */
    if (s->gen != atomic_load(&s->sh->generation))
        return;
    if (s->to_announced) {
        /* ROLE or the dial said no: ask the sentinels from now on. */
        pthread_mutex_lock(&s->sh->primary_lock);
        if (s->sh->announced_gen == s->gen)
            s->sh->announced_gen = 0;
        pthread_mutex_unlock(&s->sh->primary_lock);
        s->to_announced = false;
    }
    if (atomic_exchange(&s->sh->retry_at_ms, now_ms() + wait) == 0)
        log_warn("store", "event=redis_down host=%s port=%d error=\"%s\"",
                 s->host, s->port, why);
    atomic_store(&s->sh->backoff_ms, next);
}

static void mark_up(struct store *s)
{
    if (atomic_exchange(&s->sh->retry_at_ms, 0) != 0)
        log_info("store", "event=redis_up host=%s port=%d", s->host, s->port);
    atomic_store(&s->sh->backoff_ms, s->opt->backoff_min_ms);
}

static void drop(struct store *s)
{
    redisFree(s->ctx);
    s->ctx = NULL;
}

/*
 * An idle request/response link has nothing to read; anything readable is
 * the peer's EOF (Redis restarted) or garbage, so the link is dead and
 * nothing sent on it could have run.
 */
static bool link_stale(const redisContext *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};

    return poll(&p, 1, 0) != 0;
}

/*
 * The node a sentinel named turned out not to take writes: that sentinel
 * may not have heard of a failover yet, so the next dial asks another.
 */
static void wrong_primary(struct store *s)
{
    atomic_fetch_add(&s->sh->next_sentinel, 1);
}

static bool has_prefix(const redisReply *r, const char *const *prefixes,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(prefixes[i]);

        if (r->len >= k && memcmp(r->str, prefixes[i], k) == 0)
            return true;
    }
    return false;
}

static bool reply_is_busy(const redisReply *r)
{
    return has_prefix(r, busy_prefixes,
                      sizeof(busy_prefixes) / sizeof(busy_prefixes[0]));
}

/*
 * With Sentinels, an answer that says the primary is elsewhere (or about
 * to be) ends this link: the next call dials whoever the sentinels name.
 */
static void leave_if_moved(struct store *s, const redisReply *r)
{
    if (!with_sentinels(s->opt) || r->type != REDIS_REPLY_ERROR ||
        !has_prefix(r, moved_prefixes,
                    sizeof(moved_prefixes) / sizeof(moved_prefixes[0])))
        return;
    wrong_primary(s);
    mark_down(s, r->str);
    drop(s);
}

static bool reply_is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
           memcmp(r->str, "NOSCRIPT", 8) == 0;
}

/* WAIT numreplicas timeout, sent in the same write as the step. */
struct wait_cmd {
    char replicas[12];
    char timeout[12];
    const char *argv[3];
    size_t lens[3];
};

static struct wait_cmd *wait_cmd_init(struct wait_cmd *w,
                                      const struct store_options *o)
{
    if (o->min_replicas <= 0)
        return NULL;
    snprintf(w->replicas, sizeof(w->replicas), "%d", o->min_replicas);
    snprintf(w->timeout, sizeof(w->timeout), "%d", o->wait_timeout_ms);
    w->argv[0] = "WAIT";
    w->argv[1] = w->replicas;
    w->argv[2] = w->timeout;
    for (int i = 0; i < 3; i++)
        w->lens[i] = strlen(w->argv[i]);
    return w;
}

static void link_failed(struct store *s)
{
    atomic_fetch_add(&s->sh->errors, 1);
    mark_down(s, s->ctx->errstr[0] ? s->ctx->errstr : "no reply");
    drop(s);
}

/* WAIT's answer: the replicas that confirmed, or -1 when none came. */
static long long read_wait(struct store *s)
{
    void *reply = NULL;
    long long n = -1;

    if (redisGetReply(s->ctx, &reply) != REDIS_OK || !reply) {
        link_failed(s);
        return -1;
    }
    if (((redisReply *)reply)->type == REDIS_REPLY_INTEGER)
        n = ((redisReply *)reply)->integer;
    freeReplyObject(reply);
    return n;
}

/*
 * One command, followed by WAIT in the same write when w is given (its
 * answer in *acked: the replicas that confirmed, -1 when none came). NULL
 * when no reply came (the link is then dropped and the backoff started).
 * *written tells whether the whole command had gone out before that:
 * only then can Redis have run it, since Redis runs nothing of a command
 * it has not read to its end.
 */
static redisReply *command_sent(struct store *s, int argc, const char **argv,
                                const size_t *lens, struct wait_cmd *w,
                                long long *acked, bool *written)
{
    void *reply = NULL;
    int done = 0;

    *written = false;
    if (redisAppendCommandArgv(s->ctx, argc, argv, lens) != REDIS_OK ||
        (w && redisAppendCommandArgv(s->ctx, 3, w->argv, w->lens) != REDIS_OK))
        goto out_failed;
    do {
        if (redisBufferWrite(s->ctx, &done) != REDIS_OK)
            goto out_failed;
    } while (!done);
    *written = true;
    if (redisGetReply(s->ctx, &reply) != REDIS_OK || !reply)
        goto out_failed;
    if (w)
        *acked = read_wait(s);
    return reply;
out_failed:
    link_failed(s);
    return NULL;
}

static redisReply *command(struct store *s, int argc, const char **argv,
                           const size_t *lens)
{
    bool written;

    return command_sent(s, argc, argv, lens, NULL, NULL, &written);
}

/* SCRIPT LOAD src into sha. Returns STORE_OK or the failure. */
static enum store_err load_script(struct store *s, const char *src,
                                  char sha[SHA_SIZE])
{
    const char *argv[] = {"SCRIPT", "LOAD", src};
    size_t lens[] = {6, 4, strlen(src)};
    redisReply *r = command(s, 3, argv, lens);
    enum store_err rc = STORE_OK;

    if (!r)
        return STORE_ERR_DOWN;
    if (r->type == REDIS_REPLY_STRING && r->len == SHA_SIZE - 1) {
        memcpy(sha, r->str, SHA_SIZE - 1);
        sha[SHA_SIZE - 1] = '\0';
    } else if (r->type == REDIS_REPLY_ERROR && reply_is_busy(r)) {
        rc = STORE_ERR_DOWN;
    } else {
        log_error("store", "event=script_load_failed type=%d error=\"%.200s\"",
                  r->type, r->type == REDIS_REPLY_ERROR ? r->str : "");
        rc = STORE_ERR_REPLY;
    }
    freeReplyObject(r);
    return rc;
}

/*
 * Where Redis' clock stands against ours, so a publish deadline can be
 * written on Redis' clock however far the hosts' clocks disagree. The
 * error is at most half the round trip.
 */
static enum store_err measure_skew(struct store *s)
{
    const char *argv[] = {"TIME"};
    size_t lens[] = {4};
    long long before = wall_ms();
    redisReply *r = command(s, 1, argv, lens);
    long long after = wall_ms();
    enum store_err rc = STORE_ERR_REPLY;

    if (!r)
        return STORE_ERR_DOWN;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        long long redis_ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
                             strtoll(r->element[1]->str, NULL, 10) / 1000;

        s->clock_skew_ms = redis_ms - (before + after) / 2;
        rc = STORE_OK;
    } else if (r->type == REDIS_REPLY_ERROR && reply_is_busy(r)) {
        rc = STORE_ERR_DOWN;
    }
    freeReplyObject(r);
    return rc;
}

/*
 * Where to dial: REDIS_HOST, or the primary the sentinels name now. The
 * generation is taken first, so a switch announced during the dial is
 * not missed.
 */
static enum store_err locate(struct store *s)
{
    const struct store_options *o = s->opt;
    struct sentinel_timeouts t = {o->connect_timeout_ms, o->timeout_ms};
    size_t start = atomic_load(&s->sh->next_sentinel);
    struct sentinel_addr a;
    char why[256];

    s->gen = atomic_load(&s->sh->generation);
    s->to_announced = false;
    if (!with_sentinels(o)) {
        snprintf(s->host, sizeof(s->host), "%s", o->host);
        s->port = o->port;
        return STORE_OK;
    }
    pthread_mutex_lock(&s->sh->primary_lock);
    if (s->sh->announced_gen && s->sh->announced_gen == s->gen) {
        memcpy(s->host, s->sh->announced.host, sizeof(s->host));
        s->port = s->sh->announced.port;
        s->to_announced = true;
    }
    pthread_mutex_unlock(&s->sh->primary_lock);
    if (s->to_announced)
        return STORE_OK;
    if (sentinel_ask(o->sentinels, o->master_name, &t, &start, &a, why,
                     sizeof(why)) != SENTINEL_OK) {
        atomic_fetch_add(&s->sh->dials_failed, 1);
        mark_down(s, why);
        return STORE_ERR_DOWN;
    }
    atomic_store(&s->sh->next_sentinel, (unsigned)start);
    memcpy(s->host, a.host, sizeof(s->host));
    s->port = a.port;
    return STORE_OK;
}

/* The node answers ROLE with "master": it takes writes (or says why not). */
static enum store_err check_role(struct store *s)
{
    const char *argv[] = {"ROLE"};
    size_t lens[] = {4};
    redisReply *r = command(s, 1, argv, lens);
    bool primary;

    if (!r)
        return STORE_ERR_DOWN;
    primary = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
              r->element[0]->type == REDIS_REPLY_STRING &&
              sentinel_role_is_primary(r->element[0]->str, r->element[0]->len);
    freeReplyObject(r);
    if (primary)
        return STORE_OK;
    wrong_primary(s);
    mark_down(s, "the node Sentinel named is not the primary (ROLE)");
    drop(s);
    return STORE_ERR_DOWN;
}

/* This primary's replication id (INFO replication), for the fence. */
static enum store_err replication_id(struct store *s, char *id, size_t cap)
{
    const char *argv[] = {"INFO", "replication"};
    size_t lens[] = {4, 11};
    redisReply *r = command(s, 2, argv, lens);
    bool found;

    if (!r)
        return STORE_ERR_DOWN;
    found = r->type == REDIS_REPLY_STRING &&
            sentinel_info_field(r->str, r->len, "master_replid", id, cap);
    freeReplyObject(r);
    return found ? STORE_OK : STORE_ERR_REPLY;
}

/* fcgi/fence.lua on this primary: its counter jumps once, before any id. */
static enum store_err fence(struct store *s)
{
    char id[64];
    char jump[24];
    const char *argv[7] = {
        "EVAL", store_fence_lua, "2", CHAT_KEY_COUNTER, CHAT_KEY_FENCE, id,
        jump};
    size_t lens[7];
    enum store_err rc = replication_id(s, id, sizeof(id));
    redisReply *r;

    if (rc != STORE_OK)
        return rc;
    snprintf(jump, sizeof(jump), "%lld", CHAT_ID_FENCE);
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    r = command(s, 7, argv, lens);
    if (!r)
        return STORE_ERR_DOWN;
    rc = r->type == REDIS_REPLY_INTEGER ? STORE_OK : STORE_ERR_DOWN;
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
        atomic_fetch_add(&s->sh->fences, 1);
        log_info("store", "event=counter_fenced host=%s port=%d jump=%lld",
                 s->host, s->port, CHAT_ID_FENCE);
    } else if (rc != STORE_OK) {
        wrong_primary(s);
        log_warn("store", "event=fence_failed error=\"%.200s\"",
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

/* A dial reached host:port: count it when the primary moved there. */
static void note_primary(struct store *s)
{
    char now[sizeof(s->sh->primary)];

    snprintf(now, sizeof(now), "%s:%d", s->host, s->port);
    pthread_mutex_lock(&s->sh->primary_lock);
    if (strcmp(now, s->sh->primary) != 0) {
        if (s->sh->primary[0]) {
            atomic_fetch_add(&s->sh->failovers, 1);
            log_warn("store", "event=primary_moved from=%s to=%s",
                     s->sh->primary, now);
        }
        memcpy(s->sh->primary, now, sizeof(now));
    }
    pthread_mutex_unlock(&s->sh->primary_lock);
}

/* Through Sentinel the node must be the primary, its counter fenced. */
static enum store_err greet(struct store *s)
{
    enum store_err rc = STORE_OK;

    if (with_sentinels(s->opt)) {
        rc = check_role(s);
        if (rc == STORE_OK)
            rc = fence(s);
    }
    if (rc == STORE_OK)
        rc = measure_skew(s);
    if (rc == STORE_OK)
        rc = load_script(s, store_publish_lua, s->publish_sha);
    if (rc == STORE_OK)
        rc = load_script(s, store_ratelimit_lua, s->rate_sha);
    return rc;
}

static enum store_err dial(struct store *s)
{
    redisContext *c;
    enum store_err rc = locate(s);

    if (rc != STORE_OK)
        return rc;
    c = redisConnectWithTimeout(s->host, s->port,
                                tv_ms(s->opt->connect_timeout_ms));
    if (!c || c->err) {
        atomic_fetch_add(&s->sh->dials_failed, 1);
        mark_down(s, c ? c->errstr : "out of memory");
        redisFree(c);
        return STORE_ERR_DOWN;
    }
    if (redisSetTimeout(c, tv_ms(s->opt->timeout_ms)) != REDIS_OK ||
        redisEnableKeepAlive(c) != REDIS_OK) {
        mark_down(s, c->errstr);
        redisFree(c);
        return STORE_ERR_DOWN;
    }
    s->ctx = c;
    rc = greet(s);
    if (rc != STORE_OK) {
        /* A link that failed was already marked down by command(). */
        if (s->ctx) {
            mark_down(s, "the greeting was refused");
            drop(s);
        }
        return rc;
    }
    if (with_sentinels(s->opt))
        note_primary(s);
    atomic_fetch_add(&s->sh->connects, 1);
    if (s->ever_up)
        atomic_fetch_add(&s->sh->reconnects, 1);
    s->ever_up = true;
    mark_up(s);
    return STORE_OK;
}

enum store_err store_connect(struct store *s)
{
    long long retry_at = atomic_load(&s->sh->retry_at_ms);

    if (retry_at && now_ms() < retry_at)
        return STORE_ERR_DOWN;
    if (s->ctx && link_stale(s->ctx))
        drop(s);
    /* Sentinel announced a new primary since this link was dialled. */
    if (s->ctx && s->gen != atomic_load(&s->sh->generation))
        drop(s);
    return s->ctx ? STORE_OK : dial(s);
}

/* ==== public ==== */

struct store *store_new(const struct store_options *opt,
                        struct store_shared *sh)
{
    struct store *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->opt = opt;
    s->sh = sh;
    s->seed = (unsigned)now_ms() ^ (unsigned)(uintptr_t)s;
    return s;
}

void store_free(struct store *s)
{
    if (!s)
        return;
    redisFree(s->ctx);
    free(s);
}

enum store_err store_probe_write(struct store *s, bool *answered, char *why,
                                 size_t why_cap)
{
    const char *argv[] = {"SET", CHAT_KEY_PROBE, "1", "PX", "60000"};
    size_t lens[5];
    enum store_err rc;
    redisReply *r;

    *answered = false;
    snprintf(why, why_cap, "%s", "not connected");
    rc = store_connect(s);
    if (rc != STORE_OK)
        return rc;
    for (size_t i = 0; i < 5; i++)
        lens[i] = strlen(argv[i]);
    r = command(s, 5, argv, lens);
    if (!r)
        return STORE_ERR_DOWN;
    *answered = true;
    leave_if_moved(s, r);
    rc = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0
             ? STORE_OK
             : STORE_ERR_DOWN;
    snprintf(why, why_cap, "%.*s", (int)r->len,
             r->str && rc != STORE_OK ? r->str : "");
    freeReplyObject(r);
    return rc;
}

/*
 * EVALSHA on a connected link, reloading the script once on NOSCRIPT (Redis
 * restarted without it), followed by WAIT when w is given (*acked as in
 * command_sent()). argv[1] must be the script's sha buffer, refreshed by
 * the reload. Returns the reply (caller frees) or NULL with *rc set:
 * STORE_ERR_UNKNOWN when the command went out whole and no reply came,
 * STORE_ERR_DOWN when it did not go out or Redis refused it busy,
 * STORE_ERR_REPLY for any other error reply.
 */
static redisReply *evalsha(struct store *s, const char *src, char *sha,
                           int argc, const char **argv, const size_t *lens,
                           struct wait_cmd *w, long long *acked,
                           enum store_err *rc)
{
    bool written = false;
    redisReply *r = command_sent(s, argc, argv, lens, w, acked, &written);

    if (r && reply_is_noscript(r)) {
        freeReplyObject(r);
        if (!s->ctx) {
            *rc = STORE_ERR_DOWN; /* WAIT's answer never came: redial */
            return NULL;
        }
        *rc = load_script(s, src, sha);
        if (*rc != STORE_OK)
            return NULL;
        r = command_sent(s, argc, argv, lens, w, acked, &written);
    }
    if (!r) {
        *rc = written ? STORE_ERR_UNKNOWN : STORE_ERR_DOWN;
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        *rc = reply_is_busy(r) ? STORE_ERR_DOWN : STORE_ERR_REPLY;
        if (*rc == STORE_ERR_REPLY)
            log_error("store", "event=script_error error=\"%.200s\"", r->str);
        if (s->ctx)
            leave_if_moved(s, r);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Copy a string reply into out->text; false when out of memory. */
static bool copy_text(const redisReply *r, struct store_published *out)
{
    out->text = malloc(r->len + 1);
    if (!out->text)
        return false;
    memcpy(out->text, r->str, r->len);
    out->text[r->len] = '\0';
    out->len = r->len;
    return true;
}

static bool is_string(const redisReply *r, const char *want)
{
    return r->type == REDIS_REPLY_STRING &&
           (!want ||
            (r->len == strlen(want) && memcmp(r->str, want, r->len) == 0));
}

/*
 * The script's answer: a string, or with a key [text, outcome]. A reply
 * of any other shape, or one we cannot copy, leaves us not knowing.
 */
static enum store_err publish_reply(const redisReply *r, bool keyed,
                                    struct store_published *out)
{
    const redisReply *text = r;

    out->replayed = false;
    if (keyed) {
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            !is_string(r->element[0], NULL) || !is_string(r->element[1], NULL))
            goto out_unexpected;
        if (is_string(r->element[1], "conflict"))
            return STORE_ERR_CONFLICT;
        /* A replay whose confirming write was refused (no replica). */
        if (is_string(r->element[1], "unconfirmed"))
            return STORE_ERR_UNKNOWN;
        out->replayed = is_string(r->element[1], "replay");
        if (!out->replayed && !is_string(r->element[1], "new"))
            goto out_unexpected;
        text = r->element[0];
    }
    if (!is_string(text, NULL))
        goto out_unexpected;
    return copy_text(text, out) ? STORE_OK : STORE_ERR_UNKNOWN;
out_unexpected:
    log_error("store", "event=unexpected_reply type=%d", r->type);
    return STORE_ERR_UNKNOWN;
}

/*
 * How long from now the script may still start: see store_publish(). WAIT
 * takes its time after the step, within the same command timeout.
 */
static long long deadline_ms(const struct store *s)
{
    int wait = s->opt->min_replicas > 0 ? s->opt->wait_timeout_ms : 0;

    return wall_ms() + s->clock_skew_ms + s->opt->timeout_ms -
           s->opt->timeout_ms / 4 - wait;
}

/* The EVALSHA of publish.lua for one message, with the buffers it uses. */
struct publish_call {
    char maxlen[24];
    char deadline[24];
    char ttl[24];
    char key[sizeof(CHAT_KEY_IDEM_PREFIX) + CHAT_IDEM_MAX];
    const char *argv[13];
    size_t lens[13];
    int argc;
};

/* KEYS and ARGV as publish.lua's header lists them. */
static void publish_call_init(struct publish_call *c, const struct store *s,
                              const struct store_message *m)
{
    bool keyed = m->idem_len > 0;
    int n = 0;

    snprintf(c->maxlen, sizeof(c->maxlen), "%lld", s->opt->history_max);
    snprintf(c->ttl, sizeof(c->ttl), "%d", CHAT_IDEM_TTL_S);
    snprintf(c->key, sizeof(c->key), "%s%.*s", CHAT_KEY_IDEM_PREFIX,
             (int)m->idem_len, m->idem);
    /*
     * Written once the link is up, so a dial does not eat into it: the
     * script refuses to start once we would have stopped waiting, less a
     * quarter of the timeout for the reply's way back. A reply can still
     * come too late (Redis stalls after running it), hence UNKNOWN.
     */
    snprintf(c->deadline, sizeof(c->deadline), "%lld", deadline_ms(s));
    c->argv[n++] = "EVALSHA";
    c->argv[n++] = s->publish_sha;
    c->argv[n++] = keyed ? "3" : "2";
    c->argv[n++] = CHAT_KEY_COUNTER;
    c->argv[n++] = CHAT_KEY_HISTORY;
    if (keyed)
        c->argv[n++] = c->key;
    c->argv[n++] = m->json;
    c->argv[n++] = m->keep ? "1" : "0";
    c->argv[n++] = c->maxlen;
    c->argv[n++] = CHAT_CHANNEL;
    c->argv[n++] = c->deadline;
    if (keyed)
        c->argv[n++] = c->ttl;
    /* A replay is confirmed like a first send: it writes, then waits. */
    if (keyed && s->opt->min_replicas > 0)
        c->argv[n++] = "1";
    for (int i = 0; i < n; i++)
        c->lens[i] = c->argv[i] == m->json ? m->len : strlen(c->argv[i]);
    c->lens[1] = SHA_SIZE - 1;
    c->argc = n;
}

/*
 * The step ran and answered; too few replicas confirmed it. It is on
 * the primary and was published, and a failover before the replicas
 * catch up would lose it: the sender cannot be told either way.
 */
static enum store_err unconfirmed(struct store *s, long long acked,
                                  struct store_published *out)
{
    atomic_fetch_add(&s->sh->unconfirmed, 1);
    log_warn("store", "event=wait_short replicas=%lld wanted=%d", acked,
             s->opt->min_replicas);
    free(out->text);
    out->text = NULL;
    return STORE_ERR_UNKNOWN;
}

enum store_err store_publish(struct store *s, const struct store_message *m,
                             struct store_published *out)
{
    struct publish_call c;
    struct wait_cmd wc;
    struct wait_cmd *w = wait_cmd_init(&wc, s->opt);
    long long acked = -1;
    enum store_err rc;
    redisReply *r;

    if (m->idem_len > CHAT_IDEM_MAX)
        return STORE_ERR_REPLY; /* chat_msg_parse() never lets one through */
    rc = store_connect(s);
    if (rc != STORE_OK)
        return rc;
    publish_call_init(&c, s, m);
    r = evalsha(s, store_publish_lua, s->publish_sha, c.argc, c.argv, c.lens, w,
                &acked, &rc);
    if (!r)
        return rc;
    rc = publish_reply(r, m->idem_len > 0, out);
    freeReplyObject(r);
    if (rc == STORE_OK && w && acked < s->opt->min_replicas)
        rc = unconfirmed(s, acked, out);
    return rc;
}

enum store_err store_rate_take(struct store *s, const char *client, size_t len,
                               long long per_min, long long burst,
                               bool *allowed, long long *retry_ms)
{
    char key[96];
    char rate[24];
    char cap[24];
    int klen = snprintf(key, sizeof(key), "ratelimit:%.*s",
                        (int)(len > 64 ? 64 : len), client);
    const char *argv[] = {"EVALSHA", s->rate_sha, "1", key, rate, cap};
    size_t lens[6];
    enum store_err rc;
    redisReply *r;

    rc = store_connect(s);
    if (rc != STORE_OK)
        return rc;
    snprintf(rate, sizeof(rate), "%lld", per_min);
    snprintf(cap, sizeof(cap), "%lld", burst);
    for (size_t i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    lens[1] = SHA_SIZE - 1;
    lens[3] = (size_t)klen;
    r = evalsha(s, store_ratelimit_lua, s->rate_sha, 6, argv, lens, NULL, NULL,
                &rc);
    /* Nothing is published here, so a lost reply only costs a token. */
    if (!r)
        return rc == STORE_ERR_UNKNOWN ? STORE_ERR_DOWN : rc;
    rc = STORE_ERR_REPLY;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER &&
        r->element[1]->type == REDIS_REPLY_INTEGER) {
        *allowed = r->element[0]->integer == 1;
        *retry_ms = r->element[1]->integer;
        rc = STORE_OK;
    }
    freeReplyObject(r);
    return rc;
}
