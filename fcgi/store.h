/*
 * The send handler's Redis side: one blocking connection per worker, the
 * atomic publish step (fcgi/publish.lua) run with EVALSHA, and the
 * optional token bucket (fcgi/ratelimit.lua). This is the only file of
 * fcgi/ that includes hiredis.
 *
 * With Sentinels (store_options.sentinels) every dial asks them for the
 * primary (common/sentinel_client.h), checks with ROLE that the node is
 * it, fences the id counter on a primary new to it (fcgi/fence.lua),
 * and a thread follows +switch-master so that every worker leaves the
 * old primary before its next command. A READONLY or NOREPLICAS answer
 * drops the link too: the next dial asks again.
 *
 * Every call is bounded in time: connecting by connect_timeout_ms, each
 * command by timeout_ms. A broken connection is dropped and dialled again
 * on a later call; while Redis is known to be down, calls fail at once
 * until the shared backoff expires, so a worker never waits on a dead
 * Redis more than once per backoff step.
 */
#ifndef SEND_STORE_H
#define SEND_STORE_H

#include "chat_msg.h"
#include "sentinel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * DOWN is a promise that nothing was done: no command was sent whole, or
 * Redis answered that it ran none (busy, loading, refusing writes, past
 * the deadline). UNKNOWN is the publish step's command sent whole with no
 * answer after it (the link broke, the reply timed out, garbage came
 * back): Redis may have run it.
 */
enum store_err {
    STORE_OK = 0,
    STORE_ERR_DOWN,
    STORE_ERR_UNKNOWN,
    STORE_ERR_CONFLICT, /* the idempotency key holds another message */
    STORE_ERR_REPLY,    /* Redis answered something the scripts never return */
    STORE_ERR_NOMEM
};

/*
 * What every connection of one process shares: Redis is one server, so an
 * outage seen by one worker is an outage for all. The backoff doubles
 * (with jitter) on each failed dial and resets on a successful one. Create
 * with store_shared_init(); all members are atomic, so workers and the
 * health thread use it without a lock.
 */
struct store_shared {
    atomic_llong retry_at_ms; /* monotonic ms before which no dial starts */
    atomic_llong backoff_ms;
    int backoff_min_ms; /* where a success or a failover sets it back */
    atomic_ullong dials_failed;
    atomic_ullong reconnects; /* successful dials after the first */
    atomic_ullong errors;     /* commands that failed on a live link */
    atomic_ullong connects;
    /* With Sentinels: */
    atomic_ullong generation;     /* +switch-master messages: leave the old */
    atomic_ullong failovers;      /* dials that found another primary */
    atomic_ullong fences;         /* times this process fenced the counter */
    atomic_ullong unconfirmed;    /* publishes WAIT could not confirm */
    atomic_uint next_sentinel;    /* ask this one first */
    pthread_mutex_t primary_lock; /* primary and announced */
    char primary[SENTINEL_HOST_MAX + 8]; /* "host:port" of the last dial */
    /* What the last +switch-master named, and the generation it began;
     * 0: none, or a dial there failed. */
    struct sentinel_addr announced;
    unsigned long long announced_gen;
    struct sentinel_watch *watch;
};

struct store_options {
    const char *host; /* borrowed for the store's lifetime */
    int port;
    int timeout_ms;
    int connect_timeout_ms;
    int backoff_min_ms;
    int backoff_max_ms;
    long long history_max; /* MAXLEN ~ of the stream */
    /* NULL or empty: one Redis at host:port. Borrowed, like host. */
    const struct sentinel_list *sentinels;
    const char *master_name;
    int min_replicas;    /* WAIT for this many after the step; 0: none */
    int wait_timeout_ms; /* at most this long */
};

struct store;

/* Zero the counters and start with no backoff. */
void store_shared_init(struct store_shared *sh, int backoff_min_ms);

/*
 * With Sentinels in opt: start following +switch-master (a thread).
 * opt and sh are borrowed until store_shared_cleanup(). 0, or -1 when
 * no thread can be started. Without Sentinels: nothing, 0.
 */
CHAT_WUR int store_shared_start(struct store_shared *sh,
                                const struct store_options *opt);

/* Stop following and free what init and start made. */
void store_shared_cleanup(struct store_shared *sh);

/*
 * A store that dials on first use. opt and sh are borrowed and must
 * outlive it. NULL when out of memory. Free with store_free().
 */
CHAT_WUR struct store *store_new(const struct store_options *opt,
                                 struct store_shared *sh);

/* Close the connection and free. store_free(NULL) does nothing. */
void store_free(struct store *s);

/* Dial now if not connected (and the backoff allows); STORE_OK if up. */
CHAT_WUR enum store_err store_connect(struct store *s);

/*
 * Can a send be stored now? One small write (SET of CHAT_KEY_PROBE with a
 * short expiry), which Redis refuses for the very reasons it would refuse
 * the publish step's first write: out of memory under noeviction
 * (OOM), a failing disk (MISCONF), a replica (READONLY), too few
 * replicas (NOREPLICAS), loading, busy. STORE_OK when written. Otherwise
 * STORE_ERR_DOWN, with *answered telling whether Redis answered at all
 * and why (why_cap bytes, NUL-terminated) saying what it answered or what
 * failed.
 */
CHAT_WUR enum store_err store_probe_write(struct store *s, bool *answered,
                                          char *why, size_t why_cap);

/* One message for the publish step; every pointer is borrowed. */
struct store_message {
    const char *json; /* the message without "id", as chat_msg_encode() */
    size_t len;
    bool keep;        /* store in the stream (false: ephemeral) */
    const char *idem; /* the idempotency key, idem_len bytes; 0: none */
    size_t idem_len;
};

/* What the publish step answered. */
struct store_published {
    char *text; /* the message with its id, malloc'd, NUL-terminated */
    size_t len;
    bool replayed; /* the key had published it before: nothing new done */
};

/*
 * Run the publish step for m: give the id, store it in the stream when
 * keep is true, publish it, and remember it under the idempotency key.
 * A key that already holds the same message (same name, email, topic,
 * content and ephemeral) gives that message back with replayed set, and
 * nothing is done. With min_replicas, WAIT follows the step, and
 * STORE_OK means that many replicas have the message (and its key; a
 * replay waits for them too). On STORE_OK the caller free()s out->text.
 * Errors: STORE_ERR_DOWN (nothing was done), STORE_ERR_UNKNOWN (the
 * command went out and no usable answer came back, or the answer could
 * not be copied: it may have run; or it ran on the primary and too few
 * replicas confirmed it in time: a failover may still lose it),
 * STORE_ERR_CONFLICT (the key holds a different
 * message: nothing was done), STORE_ERR_REPLY (the script failed with an
 * error: nothing was published, though an id may have been spent).
 */
CHAT_WUR enum store_err store_publish(struct store *s,
                                      const struct store_message *m,
                                      struct store_published *out);

/*
 * Take one token from the bucket of client (len bytes, e.g. the remote
 * address): per_min tokens per minute, at most burst saved. *allowed
 * tells the verdict; when refused, *retry_ms is how long until a token is
 * there.
 */
CHAT_WUR enum store_err store_rate_take(struct store *s, const char *client,
                                        size_t len, long long per_min,
                                        long long burst, bool *allowed,
                                        long long *retry_ms);

#endif
