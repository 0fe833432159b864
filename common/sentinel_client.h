/*
 * Talking to Sentinel with blocking hiredis, for both programs: asking
 * for the primary, and a thread that follows "+switch-master". Every
 * call is bounded in time. Nothing here runs on an event loop: the send
 * handler's workers block anyway, and the gateway calls sentinel_ask()
 * on its resolver thread and gets switches from the watch thread through
 * its wake-up.
 */
#ifndef CHAT_SENTINEL_CLIENT_H
#define CHAT_SENTINEL_CLIENT_H

#include "sentinel.h"

struct sentinel_timeouts {
    int connect_ms; /* per sentinel: the name lookup and connect */
    int io_ms;      /* per command */
};

/*
 * Ask the sentinels of l in turn for the primary of name, starting with
 * entry *start (taken modulo l->n); the first that answers decides. On
 * SENTINEL_OK *out is the primary and *start the entry that answered
 * (ask it first next time). Otherwise SENTINEL_ERR_UNKNOWN (a sentinel
 * answered that it has no such master) or SENTINEL_ERR_NO_ANSWER, with
 * why (why_cap bytes) saying what the last one did. Blocks at most
 * l->n * (connect_ms + io_ms). Everything is borrowed for the call.
 */
CHAT_WUR enum sentinel_err
sentinel_ask(const struct sentinel_list *l, const char *name,
             const struct sentinel_timeouts *t, size_t *start,
             struct sentinel_addr *out, char *why, size_t why_cap);

/*
 * A +switch-master message about our master: primary is the new one,
 * valid during the call. Called on the watch thread, with the watch's
 * lock held: be quick (copy, wake your loop) and never call
 * sentinel_watch_stop() from here.
 */
typedef void (*sentinel_switch_cb)(void *user,
                                   const struct sentinel_addr *primary);

struct sentinel_watch;

/*
 * Start a thread subscribed to +switch-master on one sentinel of l at a
 * time (the next one when it stops answering: a PING every ping_ms must
 * be answered within t->io_ms). l, name and t are copied. NULL when out
 * of memory or no thread can be started. Stop with sentinel_watch_stop().
 */
CHAT_WUR struct sentinel_watch *
sentinel_watch_start(const struct sentinel_list *l, const char *name,
                     const struct sentinel_timeouts *t, int ping_ms,
                     sentinel_switch_cb cb, void *user);

/*
 * No callback runs once this returns. The thread ends by itself (within
 * a connect or a lookup it may be stuck in) and frees what it holds;
 * this never waits for it. NULL does nothing.
 */
void sentinel_watch_stop(struct sentinel_watch *w);

/* Messages the watch took for our master so far (any thread). */
unsigned long long sentinel_watch_switches(struct sentinel_watch *w);

#endif
