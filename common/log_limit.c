/* See log_limit.h. */
#include "log_limit.h"

#include <string.h>

void log_limit_init(struct log_limit *l, struct log_limit_slot *slots,
                    size_t nslots, unsigned long long burst,
                    long long interval_ms)
{
    memset(l, 0, sizeof(*l));
    if (slots && nslots)
        memset(slots, 0, nslots * sizeof(*slots));
    l->slots = slots;
    l->nslots = slots ? nslots : 0;
    l->burst = burst;
    l->interval_ms = interval_ms > 0 ? interval_ms : 1;
}

static bool window_over(const struct log_limit *l,
                        const struct log_limit_slot *s, long long now_ms)
{
    return now_ms - s->window_start_ms >= l->interval_ms;
}

/* Hand s's held-back count to *out (if any) and empty the slot. */
static void close_window(const struct log_limit *l, struct log_limit_slot *s,
                         long long now_ms, struct log_limit_summary *out)
{
    if (s->suppressed > 0) {
        memcpy(out->key, s->key, s->key_len);
        out->key_len = s->key_len;
        out->other = s == &l->overflow;
        out->written = s->written;
        out->suppressed = s->suppressed;
        out->window_ms = now_ms - s->window_start_ms;
    }
    s->used = false;
    s->written = 0;
    s->suppressed = 0;
}

static void open_window(struct log_limit_slot *s, const char *key, size_t len,
                        long long now_ms)
{
    memcpy(s->key, key, len);
    s->key_len = len;
    s->used = true;
    s->window_start_ms = now_ms;
}

/*
 * The key's slot, else a free one, else one whose window is over (its
 * summary goes to *due), else the overflow slot.
 */
static struct log_limit_slot *slot_for(struct log_limit *l, const char *key,
                                       size_t len, long long now_ms,
                                       struct log_limit_summary *due)
{
    struct log_limit_slot *free_slot = NULL;
    struct log_limit_slot *stale = NULL;

    for (size_t i = 0; i < l->nslots; i++) {
        struct log_limit_slot *s = &l->slots[i];

        if (s->used && s->key_len == len && memcmp(s->key, key, len) == 0)
            return s;
        if (!s->used && !free_slot)
            free_slot = s;
        else if (s->used && !stale && window_over(l, s, now_ms))
            stale = s;
    }
    if (free_slot)
        return free_slot;
    if (stale) {
        close_window(l, stale, now_ms, due);
        return stale;
    }
    return &l->overflow;
}

bool log_limit_take(struct log_limit *l, const char *key, size_t len,
                    long long now_ms, struct log_limit_summary *due)
{
    struct log_limit_slot *s;

    due->suppressed = 0;
    if (l->burst == 0)
        return true;
    if (len > LOG_LIMIT_KEY_MAX)
        len = LOG_LIMIT_KEY_MAX;
    s = slot_for(l, key, len, now_ms, due);
    if (s->used && window_over(l, s, now_ms))
        close_window(l, s, now_ms, due);
    if (!s->used)
        open_window(s, s == &l->overflow ? "" : key,
                    s == &l->overflow ? 0 : len, now_ms);
    if (s->written < l->burst) {
        s->written++;
        return true;
    }
    s->suppressed++;
    return false;
}

/* One slot for log_limit_sweep(); true when a summary was emitted. */
static bool sweep_slot(
    struct log_limit *l, struct log_limit_slot *s, long long now_ms, bool all,
    void (*emit)(void *ctx, const struct log_limit_summary *sum), void *ctx)
{
    struct log_limit_summary sum;

    if (!s->used || (!all && !window_over(l, s, now_ms)))
        return false;
    sum.suppressed = 0;
    close_window(l, s, now_ms, &sum);
    if (sum.suppressed == 0)
        return false;
    emit(ctx, &sum);
    return true;
}

size_t log_limit_sweep(struct log_limit *l, long long now_ms, bool all,
                       void (*emit)(void *ctx,
                                    const struct log_limit_summary *s),
                       void *ctx)
{
    size_t n = 0;

    for (size_t i = 0; i < l->nslots; i++)
        n += sweep_slot(l, &l->slots[i], now_ms, all, emit, ctx);
    n += sweep_slot(l, &l->overflow, now_ms, all, emit, ctx);
    return n;
}
