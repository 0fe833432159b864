/* gateway/fanout.c (and frame.c): the shared ring with per-reader tails. */
#include "check.h"
#include "fanout.h"

#include <stdio.h>
#include <string.h>

#define PRE 16

struct events {
    int wakes;
    int overruns;
    struct gw_fanout_reader *last_overrun;
};

static void on_wake(void *user)
{
    ((struct events *)user)->wakes++;
}

static void on_overrun(void *user, struct gw_fanout_reader *r)
{
    struct events *ev = user;

    ev->overruns++;
    ev->last_overrun = r;
}

static struct gw_fanout *ring_bytes(struct events *ev, size_t msgs,
                                    size_t bytes, size_t batch,
                                    size_t batch_bytes)
{
    struct gw_fanout_config cfg = {
        .pre = PRE,
        .max_msgs = msgs,
        .max_bytes = bytes,
        .batch_max_msgs = batch,
        .batch_max_bytes = batch_bytes,
        .wake = on_wake,
        .overrun = on_overrun,
        .user = ev,
    };

    memset(ev, 0, sizeof(*ev));
    return gw_fanout_new(&cfg);
}

static struct gw_fanout *ring(struct events *ev, size_t msgs, size_t bytes,
                              size_t batch)
{
    return ring_bytes(ev, msgs, bytes, batch, 1 << 20);
}

static int frame_is(struct gw_frame *f, const char *want)
{
    return f && f->len == strlen(want) &&
           memcmp(gw_frame_payload(f), want, f->len) == 0;
}

static void push(struct gw_fanout *f, const char *json)
{
    CHECK_INT(gw_fanout_push(f, json, strlen(json)), 0);
}

static void one_message_shared(void)
{
    struct events ev;
    struct gw_fanout *f = ring(&ev, 8, 1024, 8);
    struct gw_fanout_reader a = {0}, b = {0};
    struct gw_frame *fa, *fb;
    size_t n;

    gw_fanout_attach(f, &a);
    gw_fanout_attach(f, &b);
    push(f, "{\"id\":1}");
    CHECK_INT(ev.wakes, 1);
    fa = gw_fanout_take(f, &a, &n);
    CHECK_INT(n, 1);
    CHECK(frame_is(fa, "[{\"id\":1}]"));
    CHECK_INT(gw_frame_payload(fa) - fa->data, PRE);
    fb = gw_fanout_take(f, &b, NULL);
    CHECK(fa == fb); /* encoded once, shared */
    CHECK(gw_fanout_take(f, &a, &n) == NULL);
    CHECK_INT(n, 0);
    gw_frame_unref(fa);
    gw_frame_unref(fb);
    gw_fanout_free(f);
}

static void batches_are_cached(void)
{
    struct events ev;
    struct gw_fanout *f = ring(&ev, 8, 1024, 8);
    struct gw_fanout_reader a = {0}, b = {0}, late = {0};
    struct gw_frame *fa, *fb;
    size_t n;

    gw_fanout_attach(f, &a);
    gw_fanout_attach(f, &b);
    push(f, "{\"id\":1}");
    push(f, "{\"id\":2}");
    push(f, "{\"id\":3}");
    gw_fanout_attach(f, &late);
    CHECK_INT(gw_fanout_pending(f, &a), 3);
    CHECK_INT(gw_fanout_pending_bytes(f, &a), 24);
    CHECK_INT(gw_fanout_pending(f, &late), 0);
    fa = gw_fanout_take(f, &a, &n);
    CHECK_INT(n, 3);
    CHECK(frame_is(fa, "[{\"id\":1},{\"id\":2},{\"id\":3}]"));
    fb = gw_fanout_take(f, &b, &n);
    CHECK(fa == fb);
    CHECK_INT(gw_fanout_stats(f).batches_built, 1);
    CHECK_INT(gw_fanout_stats(f).batch_reuses, 1);
    CHECK(gw_fanout_take(f, &late, NULL) == NULL);
    gw_frame_unref(fa);
    gw_frame_unref(fb);
    gw_fanout_free(f);
}

static void batch_cap_splits(void)
{
    struct events ev;
    struct gw_fanout *f = ring(&ev, 8, 1024, 2);
    struct gw_fanout_reader a = {0};
    const char *want[] = {"[{\"id\":1},{\"id\":2}]", "[{\"id\":3},{\"id\":4}]",
                          "[{\"id\":5}]"};
    char msg[32];

    gw_fanout_attach(f, &a);
    for (int i = 1; i <= 5; i++) {
        snprintf(msg, sizeof(msg), "{\"id\":%d}", i);
        push(f, msg);
    }
    for (int i = 0; i < 3; i++) {
        struct gw_frame *fr = gw_fanout_take(f, &a, NULL);

        CHECK_MSG(frame_is(fr, want[i]), "frame %d", i);
        gw_frame_unref(fr);
    }
    CHECK_INT(gw_fanout_pending(f, &a), 0);
    gw_fanout_free(f);
}

/*
 * The batch byte cap, at N and N+1 bytes: two 10-byte messages share a
 * frame under a 20-byte cap, not under a 19-byte one; a message bigger
 * than the cap still goes, alone.
 */
static void batch_byte_cap(void)
{
    struct events ev;
    size_t caps[] = {20, 19};
    size_t want[] = {2, 1};

    for (int c = 0; c < 2; c++) {
        struct gw_fanout *f = ring_bytes(&ev, 8, 1024, 8, caps[c]);
        struct gw_fanout_reader a = {0};
        struct gw_frame *fr;
        size_t n;

        gw_fanout_attach(f, &a);
        push(f, "{\"id\":101}");
        push(f, "{\"id\":102}");
        fr = gw_fanout_take(f, &a, &n);
        CHECK_MSG(n == want[c], "cap %zu: %zu in the frame, want %zu", caps[c],
                  n, want[c]);
        gw_frame_unref(fr);
        gw_fanout_free(f);
    }
    {
        struct gw_fanout *f = ring_bytes(&ev, 8, 1 << 20, 8, 4096);
        struct gw_fanout_reader a = {0};
        static char big[5000];
        struct gw_frame *fr;
        size_t n;

        memset(big, 'x', sizeof(big) - 1);
        gw_fanout_attach(f, &a);
        push(f, big);
        push(f, "{\"id\":12}");
        fr = gw_fanout_take(f, &a, &n);
        CHECK_INT(n, 1);
        CHECK_INT(fr ? fr->len : 0, sizeof(big) - 1 + 2);
        gw_frame_unref(fr);
        gw_fanout_free(f);
    }
}

/* The ring size is each reader's cap: N unsent is fine, N+1 is not. */
static void message_cap_overruns_laggard(void)
{
    struct events ev;
    struct gw_fanout *f = ring(&ev, 4, 1024, 8);
    struct gw_fanout_reader slow = {0}, fast = {0}, edge = {0};
    struct gw_frame *fr;

    gw_fanout_attach(f, &slow);
    gw_fanout_attach(f, &fast);
    gw_fanout_attach(f, &edge);
    for (int i = 0; i < 4; i++) {
        push(f, "{\"id\":9}");
        gw_frame_unref(gw_fanout_take(f, &fast, NULL));
        /* edge takes the first message only. */
        if (i == 0)
            gw_frame_unref(gw_fanout_take(f, &edge, NULL));
    }
    CHECK_INT(gw_fanout_pending(f, &slow), 4);
    CHECK_INT(ev.overruns, 0);
    push(f, "{\"id\":9}");
    CHECK_INT(ev.overruns, 1);
    CHECK(ev.last_overrun == &slow);
    CHECK(!slow.attached);
    CHECK_INT(gw_fanout_pending(f, &slow), 0);
    /* Exactly at the cap after the eviction: kept. */
    CHECK(edge.attached);
    CHECK_INT(gw_fanout_pending(f, &edge), 4);
    gw_fanout_detach(f, &edge);
    CHECK_INT(gw_fanout_readers(f), 1);
    fr = gw_fanout_take(f, &fast, NULL);
    CHECK(frame_is(fr, "[{\"id\":9}]"));
    gw_frame_unref(fr);
    CHECK_INT(gw_fanout_stats(f).overruns, 1);
    gw_fanout_free(f);
}

static void byte_cap_overruns_laggard(void)
{
    struct events ev;
    struct gw_fanout *f = ring(&ev, 100, 16, 8);
    struct gw_fanout_reader slow = {0};

    gw_fanout_attach(f, &slow);
    push(f, "12345678");
    push(f, "12345678"); /* 16 bytes unsent: at the cap */
    CHECK_INT(ev.overruns, 0);
    CHECK_INT(gw_fanout_pending_bytes(f, &slow), 16);
    push(f, "1");
    CHECK_INT(ev.overruns, 1);
    gw_fanout_free(f);
}

/* A batch taken before an overrun stays valid: frames are refcounted. */
static void frames_outlive_eviction(void)
{
    struct events ev;
    struct gw_fanout *f = ring(&ev, 2, 1024, 8);
    struct gw_fanout_reader a = {0};
    struct gw_frame *held;

    gw_fanout_attach(f, &a);
    push(f, "{\"id\":1}");
    push(f, "{\"id\":2}");
    held = gw_fanout_take(f, &a, NULL);
    push(f, "{\"id\":3}");
    push(f, "{\"id\":4}");
    push(f, "{\"id\":5}");
    CHECK(frame_is(held, "[{\"id\":1},{\"id\":2}]"));
    gw_frame_unref(held);
    gw_fanout_detach(f, &a);
    gw_fanout_detach(f, &a); /* twice is harmless */
    gw_fanout_free(f);
}

static void config_and_frames(void)
{
    struct gw_fanout_config bad = {.pre = 0,
                                   .max_msgs = 0,
                                   .max_bytes = 1,
                                   .batch_max_msgs = 1,
                                   .batch_max_bytes = 1};
    struct gw_frame *fr = gw_frame_new(4, 3);

    CHECK(gw_fanout_new(&bad) == NULL);
    gw_fanout_free(NULL);
    gw_frame_unref(NULL);
    CHECK_INT(gw_frame_append(fr, "abc", 3), 0);
    CHECK_INT(gw_frame_append(fr, "d", 1), -1);
    CHECK_INT(fr->len, 3);
    gw_frame_unref(fr);
    fr = gw_frame_from(0, "[]", 2);
    CHECK(frame_is(fr, "[]"));
    gw_frame_unref(fr);
}

/*
 * The window follows the deliveries a second (messages times readers),
 * what a sweep costs: none when quiet or when few read, the cap when busy.
 */
static void window_follows_deliveries(void)
{
    CHECK_INT(gw_fanout_window_us(0, 1000, 50000, 50000), 0);
    CHECK_INT(gw_fanout_window_us(-5, 1000, 50000, 50000), 0);
    CHECK_INT(gw_fanout_window_us(100, 0, 50000, 50000), 0);
    /* a small room at the same message rate waits a fiftieth as long */
    CHECK_INT(gw_fanout_window_us(100, 10, 50000, 50000), 1000);
    CHECK_INT(gw_fanout_window_us(100, 100, 50000, 50000), 10000);
    CHECK_INT(gw_fanout_window_us(50, 500, 50000, 50000), 25000);
    /* just below the full rate and at it */
    CHECK_INT(gw_fanout_window_us(49999, 1, 50000, 50000), 49999);
    CHECK_INT(gw_fanout_window_us(50000, 1, 50000, 50000), 50000);
    CHECK_INT(gw_fanout_window_us(100, 1000, 50000, 50000), 50000);
    CHECK_INT(gw_fanout_window_us(1e9, 100000, 50000, 50000), 50000);
    CHECK_INT(gw_fanout_window_us(1e9, 1000, 0, 50000), 0); /* off */
    CHECK_INT(gw_fanout_window_us(500, 1000, 50000, 0), 0);
}

int main(void)
{
    one_message_shared();
    batches_are_cached();
    batch_cap_splits();
    batch_byte_cap();
    message_cap_overruns_laggard();
    byte_cap_overruns_laggard();
    frames_outlive_eviction();
    config_and_frames();
    window_follows_deliveries();
    return check_summary();
}
