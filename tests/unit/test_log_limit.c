/*
 * common/log_limit.c: per key at most burst lines per window, then one
 * summary; a fixed table with an overflow slot; nothing goes uncounted.
 */
#include "check.h"
#include "log_limit.h"

#include <string.h>

#define INTERVAL 1000

struct sink {
    size_t n;
    unsigned long long suppressed;
    unsigned long long other;
    struct log_limit_summary last;
};

static void collect(void *ctx, const struct log_limit_summary *s)
{
    struct sink *k = ctx;

    k->n++;
    k->suppressed += s->suppressed;
    if (s->other)
        k->other += s->suppressed;
    k->last = *s;
}

static bool take(struct log_limit *l, const char *key, long long now,
                 struct log_limit_summary *due)
{
    return log_limit_take(l, key, strlen(key), now, due);
}

/* burst lines at N pass, line N+1 is held; the window's end reports it. */
static void burst_then_summary(void)
{
    struct log_limit_slot slots[4];
    struct log_limit l;
    struct log_limit_summary due;

    log_limit_init(&l, slots, 4, 3, INTERVAL);
    for (int i = 0; i < 3; i++) {
        CHECK(take(&l, "400 email", 10 + i, &due));
        CHECK_INT(due.suppressed, 0);
    }
    CHECK(!take(&l, "400 email", 20, &due)); /* the 4th: N + 1 */
    CHECK(!take(&l, "400 email", 10 + INTERVAL - 1, &due));
    CHECK_INT(due.suppressed, 0);
    /* The window opened at 10; at 10 + INTERVAL a new one starts. */
    CHECK(take(&l, "400 email", 10 + INTERVAL, &due));
    CHECK_INT(due.suppressed, 2);
    CHECK_INT(due.written, 3);
    CHECK_INT(due.window_ms, INTERVAL);
    CHECK(!due.other);
    CHECK_INT(due.key_len, 9);
    CHECK(memcmp(due.key, "400 email", 9) == 0);
    /* A window with nothing held back owes no summary. */
    CHECK(take(&l, "400 email", 10 + 3 * INTERVAL, &due));
    CHECK_INT(due.suppressed, 0);
}

static void keys_are_independent(void)
{
    struct log_limit_slot slots[4];
    struct log_limit l;
    struct log_limit_summary due;

    log_limit_init(&l, slots, 4, 1, INTERVAL);
    CHECK(take(&l, "a", 0, &due));
    CHECK(!take(&l, "a", 1, &due));
    CHECK(take(&l, "b", 2, &due));
    CHECK(!take(&l, "b", 3, &due));
    /* A prefix is another key. */
    CHECK(take(&l, "ab", 4, &due));
    /* Keys are bytes, NUL included. */
    CHECK(log_limit_take(&l, "a\0x", 3, 5, &due));
}

static void burst_zero_is_off(void)
{
    struct log_limit_slot slots[1];
    struct log_limit l;
    struct log_limit_summary due;
    struct sink k = {0};

    log_limit_init(&l, slots, 1, 0, INTERVAL);
    for (int i = 0; i < 1000; i++)
        CHECK_MSG(take(&l, "k", i, &due) && due.suppressed == 0, "line %d", i);
    CHECK_INT(log_limit_sweep(&l, 5000, true, collect, &k), 0);
}

/*
 * Two slots and a third key: it shares the overflow slot (its own burst)
 * with every later stranger; their count comes back as "other".
 */
static void full_table_overflows(void)
{
    struct log_limit_slot slots[2];
    struct log_limit l;
    struct log_limit_summary due;
    struct sink k = {0};

    log_limit_init(&l, slots, 2, 2, INTERVAL);
    CHECK(take(&l, "a", 0, &due));
    CHECK(take(&l, "b", 0, &due));
    CHECK(take(&l, "c", 1, &due));
    CHECK(take(&l, "d", 2, &due));
    CHECK(!take(&l, "e", 3, &due));
    CHECK(!take(&l, "c", 4, &due));
    CHECK(take(&l, "a", 5, &due)); /* a still has its own budget */
    CHECK_INT(log_limit_sweep(&l, INTERVAL + 1, false, collect, &k), 1);
    CHECK_INT(k.other, 2);
    CHECK(k.last.other);
    CHECK_INT(k.last.key_len, 0);
    CHECK_INT(k.last.written, 2);
}

/* A slot whose window is over is taken by a new key; its count is due. */
static void stale_slot_is_reused(void)
{
    struct log_limit_slot slots[1];
    struct log_limit l;
    struct log_limit_summary due;

    log_limit_init(&l, slots, 1, 1, INTERVAL);
    CHECK(take(&l, "old", 0, &due));
    CHECK(!take(&l, "old", 1, &due));
    CHECK(!take(&l, "old", 2, &due));
    CHECK(take(&l, "new", 500, &due)); /* overflow: old's window is open */
    CHECK_INT(due.suppressed, 0);
    CHECK(take(&l, "newer", INTERVAL, &due));
    CHECK_INT(due.suppressed, 2);
    CHECK(due.key_len == 3 && memcmp(due.key, "old", 3) == 0);
    CHECK(!take(&l, "newer", INTERVAL + 1, &due)); /* it owns the slot */
}

static void sweep_reports_ended_windows(void)
{
    struct log_limit_slot slots[4];
    struct log_limit l;
    struct log_limit_summary due;
    struct sink k = {0};

    log_limit_init(&l, slots, 4, 1, INTERVAL);
    for (int i = 0; i < 5; i++)
        (void)take(&l, "early", i, &due);
    for (int i = 0; i < 3; i++)
        (void)take(&l, "late", 600 + i, &due);
    (void)take(&l, "quiet", 0, &due);
    /* At 1000 only "early" has ended; "quiet" ended owing nothing. */
    CHECK_INT(log_limit_sweep(&l, INTERVAL, false, collect, &k), 1);
    CHECK_INT(k.suppressed, 4);
    CHECK(k.last.key_len == 5 && memcmp(k.last.key, "early", 5) == 0);
    /* Swept windows are not reported twice. */
    CHECK_INT(log_limit_sweep(&l, INTERVAL + 1, false, collect, &k), 0);
    /* all: open windows too (at exit). */
    CHECK_INT(log_limit_sweep(&l, INTERVAL + 2, true, collect, &k), 1);
    CHECK_INT(k.suppressed, 6);
    /* The freed slots start fresh windows. */
    CHECK(take(&l, "early", INTERVAL + 3, &due));
    CHECK_INT(due.suppressed, 0);
}

/* A key over LOG_LIMIT_KEY_MAX bytes is cut: same prefix, same slot. */
static void long_keys_are_cut(void)
{
    struct log_limit_slot slots[2];
    struct log_limit l;
    struct log_limit_summary due;
    char a[LOG_LIMIT_KEY_MAX + 10];
    char b[LOG_LIMIT_KEY_MAX + 10];

    memset(a, 'k', sizeof(a));
    memcpy(b, a, sizeof(b));
    b[LOG_LIMIT_KEY_MAX + 5] = 'x';
    log_limit_init(&l, slots, 2, 1, INTERVAL);
    CHECK(log_limit_take(&l, a, sizeof(a), 0, &due));
    CHECK(!log_limit_take(&l, b, sizeof(b), 1, &due));
    /* Differing within the kept bytes: another key. */
    b[LOG_LIMIT_KEY_MAX - 1] = 'x';
    CHECK(log_limit_take(&l, b, sizeof(b), 2, &due));
    CHECK(log_limit_take(&l, a, LOG_LIMIT_KEY_MAX, INTERVAL, &due));
    CHECK_INT(due.key_len, LOG_LIMIT_KEY_MAX);
    CHECK_INT(due.suppressed, 1);
}

/*
 * 40 keys over 8 slots for 10 windows, a line per key per ms: every
 * event is written or summarised, and no window writes more than
 * (slots + 1) * (burst + 1) lines.
 */
static void nothing_uncounted_and_bounded(void)
{
    struct log_limit_slot slots[8];
    struct log_limit l;
    struct log_limit_summary due;
    struct sink k = {0};
    unsigned long long events = 0, written = 0, worst = 0, in_window = 0;
    char key[8];

    log_limit_init(&l, slots, 8, 5, 100);
    for (long long now = 0; now < 1000; now++) {
        if (now % 100 == 0) {
            size_t swept = log_limit_sweep(&l, now, false, collect, &k);

            in_window += swept;
            worst = in_window > worst ? in_window : worst;
            in_window = 0;
        }
        for (int i = 0; i < 40; i++) {
            int n = snprintf(key, sizeof(key), "k%d", (i * 7 + (int)now) % 40);

            events++;
            if (log_limit_take(&l, key, (size_t)n, now, &due)) {
                written++;
                in_window++;
            }
            if (due.suppressed) {
                collect(&k, &due);
                in_window++;
            }
        }
    }
    (void)log_limit_sweep(&l, 1000, true, collect, &k);
    CHECK_INT(written + k.suppressed, events);
    CHECK_MSG(worst <= (8 + 1) * (5 + 1), "%llu lines in one window", worst);
    CHECK(written < events / 10);
}

int main(void)
{
    burst_then_summary();
    keys_are_independent();
    burst_zero_is_off();
    full_table_overflows();
    stale_slot_is_reused();
    sweep_reports_ended_windows();
    long_keys_are_cut();
    nothing_uncounted_and_bounded();
    return check_summary();
}
