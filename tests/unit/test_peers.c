/* gateway/peers.c: connections and the history budget per address. */
#include "check.h"
#include "peers.h"

static const struct gw_peer_limits lim = {
    .max_conns = 3,
    .max_inflight = 100,
    .req_rate = 10,
    .req_burst = 5,
    .byte_rate = 1000,
    .byte_burst = 4000,
};

/* max_conns connections are taken, one more is not; leaving frees one. */
static void connection_cap(void)
{
    struct gw_peers *p = gw_peers_new(&lim);
    struct gw_peer *a[3], *other;

    for (int i = 0; i < 3; i++)
        CHECK((a[i] = gw_peers_join(p, "192.0.2.1", 0)) != NULL);
    CHECK(a[0] == a[1] && a[1] == a[2]);
    CHECK_INT(gw_peers_conns(p, "192.0.2.1"), 3);
    CHECK(gw_peers_join(p, "192.0.2.1", 0) == NULL);
    CHECK((other = gw_peers_join(p, "192.0.2.2", 0)) != NULL);
    gw_peers_leave(p, a[0]);
    CHECK(gw_peers_join(p, "192.0.2.1", 0) == a[0]);
    CHECK_INT(gw_peers_count(p), 2);
    gw_peers_free(p);
    gw_peers_free(NULL);
}

/* The request bucket: the burst at once, then the rate. */
static void request_budget(void)
{
    struct gw_peers *p = gw_peers_new(&lim);
    struct gw_peer *e = gw_peers_join(p, "192.0.2.1", 1000);

    for (int i = 0; i < 5; i++)
        CHECK_MSG(gw_peer_ask(p, e, 1000) == 0, "request %d of the burst", i);
    CHECK_INT(gw_peer_ask(p, e, 1000), -1);
    /* 10 a second: one more after 100 ms, not after 99. */
    CHECK_INT(gw_peer_ask(p, e, 1099), -1);
    CHECK_INT(gw_peer_ask(p, e, 1100), 0);
    CHECK_INT(gw_peer_ask(p, e, 1100), -1);
    /* A long wait refills no more than the burst. */
    for (int i = 0; i < 5; i++)
        CHECK(gw_peer_ask(p, e, 100000) == 0);
    CHECK_INT(gw_peer_ask(p, e, 100000), -1);
    gw_peers_free(p);
}

/* Bytes are charged afterwards: the budget may go below zero, and no
 * request is taken until it is back above. */
static void byte_budget(void)
{
    struct gw_peers *p = gw_peers_new(&lim);
    struct gw_peer *e = gw_peers_join(p, "192.0.2.1", 0);

    CHECK_INT(gw_peer_ask(p, e, 0), 0);
    gw_peer_done(p, e, 3999, 0);
    CHECK_INT(gw_peer_ask(p, e, 0), 0); /* 1 byte left */
    gw_peer_done(p, e, 1001, 0);        /* -1000 */
    CHECK_INT(gw_peer_ask(p, e, 0), -1);
    CHECK_INT(gw_peer_ask(p, e, 1000), -1); /* back to 0: not above */
    CHECK_INT(gw_peer_ask(p, e, 1001), 0);
    gw_peers_free(p);
}

/* Closing and reopening is no way to a fresh budget. */
static void sweep_keeps_spent(void)
{
    struct gw_peers *p = gw_peers_new(&lim);
    struct gw_peer *e = gw_peers_join(p, "192.0.2.1", 0);

    for (int i = 0; i < 5; i++)
        CHECK(gw_peer_ask(p, e, 0) == 0);
    gw_peer_forget(p, e, 5);
    gw_peers_leave(p, e);
    gw_peers_sweep(p, 0);
    CHECK_INT(gw_peers_count(p), 1);
    e = gw_peers_join(p, "192.0.2.1", 0);
    CHECK_INT(gw_peer_ask(p, e, 0), -1);
    gw_peers_leave(p, e);
    /* Whole again after the refill (0.5 s at 10/s): forgotten. */
    gw_peers_sweep(p, 499);
    CHECK_INT(gw_peers_count(p), 1);
    gw_peers_sweep(p, 500);
    CHECK_INT(gw_peers_count(p), 0);
    gw_peers_free(p);
}

/* max_inflight unanswered requests are taken, one more is not; an answer
 * or a forgotten request frees a place. */
static void inflight_cap(void)
{
    struct gw_peer_limits l = lim;
    struct gw_peers *p;
    struct gw_peer *e;

    l.max_inflight = 2;
    p = gw_peers_new(&l);
    e = gw_peers_join(p, "192.0.2.1", 0);
    CHECK_INT(gw_peer_ask(p, e, 0), 0);
    CHECK_INT(gw_peer_ask(p, e, 0), 0);
    CHECK_INT(gw_peer_ask(p, e, 0), -1);
    gw_peer_done(p, e, 10, 0);
    CHECK_INT(gw_peer_ask(p, e, 0), 0);
    gw_peer_forget(p, e, 5); /* more than there are: none left */
    CHECK_INT(e->inflight, 0);
    CHECK_INT(gw_peer_ask(p, e, 0), 0);
    /* An address with requests in flight is never forgotten. */
    gw_peers_leave(p, e);
    gw_peers_sweep(p, 1000000);
    CHECK_INT(gw_peers_count(p), 1);
    gw_peer_forget(p, e, 1);
    gw_peers_sweep(p, 1000000);
    CHECK_INT(gw_peers_count(p), 0);
    gw_peers_free(p);
}

int main(void)
{
    connection_cap();
    inflight_cap();
    request_budget();
    byte_budget();
    sweep_keeps_spent();
    return check_summary();
}
