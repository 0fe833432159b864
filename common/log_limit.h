/*
 * A bound on repeated log lines: per key (what kind of line it is), at
 * most `burst` lines are let through in each window of `interval_ms`; the
 * rest are only counted, and once the window has ended the count is
 * handed back as one summary for the caller to write. So a flood of one
 * kind of event costs burst + 1 lines per interval, and nothing goes
 * uncounted.
 *
 * Pure: no I/O, no clock (the caller passes the time in ms on any
 * monotonic clock), no allocation (the caller gives the slot storage), no
 * lock. Callers on several threads hold one lock around every call.
 *
 * Keys live in a fixed table of slots. A key that finds no free slot
 * shares the one overflow slot with every other such key, so however many
 * distinct keys an attacker can make, the lines written per interval stay
 * below (slots + 1) * (burst + 1). A slot is free again once its window
 * has ended and any summary it owed was handed back.
 */
#ifndef CHAT_LOG_LIMIT_H
#define CHAT_LOG_LIMIT_H

#include <stdbool.h>
#include <stddef.h>

#define LOG_LIMIT_KEY_MAX 160 /* longer keys are cut to this many bytes */

struct log_limit_slot {
    char key[LOG_LIMIT_KEY_MAX];
    size_t key_len;
    bool used;
    long long window_start_ms;
    unsigned long long written;    /* let through in this window */
    unsigned long long suppressed; /* held back in this window */
};

struct log_limit {
    struct log_limit_slot *slots; /* borrowed, nslots of them */
    size_t nslots;
    struct log_limit_slot overflow;
    unsigned long long burst; /* 0: no limit, every line is written */
    long long interval_ms;
};

/*
 * A window that ended with lines held back: a copy, the caller's to keep.
 * other is true for the overflow slot (key is then empty: many keys were
 * counted together).
 */
struct log_limit_summary {
    char key[LOG_LIMIT_KEY_MAX];
    size_t key_len;
    bool other;
    unsigned long long written;
    unsigned long long suppressed;
    long long window_ms; /* how long the window lasted */
};

/*
 * Start with every slot free. slots (nslots of them, may be 0) is
 * borrowed and must outlive l. burst 0 turns limiting off; interval_ms
 * must be positive.
 */
void log_limit_init(struct log_limit *l, struct log_limit_slot *slots,
                    size_t nslots, unsigned long long burst,
                    long long interval_ms);

/*
 * One line of kind key (len bytes, any bytes) at now_ms. Returns true when
 * the caller should write it. When a window ended with lines held back,
 * the key's own or that of a stale slot this key now takes over, *due is
 * filled (due->suppressed > 0) and the caller writes that summary first;
 * otherwise due->suppressed is 0.
 */
bool log_limit_take(struct log_limit *l, const char *key, size_t len,
                    long long now_ms, struct log_limit_summary *due);

/*
 * Hand back every window that has ended by now_ms with lines held back,
 * one emit() call each, and free the slots whose window has ended. With
 * all true, windows still open are handed back too (at exit). Returns the
 * number of summaries. emit must not call back into l.
 */
size_t log_limit_sweep(struct log_limit *l, long long now_ms, bool all,
                       void (*emit)(void *ctx,
                                    const struct log_limit_summary *s),
                       void *ctx);

#endif
