/*
 * What each client address holds and may still spend: its open
 * connections, capped, and a history budget of two token buckets, one
 * of requests and one of reply bytes. A reply's bytes are charged after
 * it is built (its size is not known before), so the byte bucket may go
 * below zero; no request is taken until it has refilled above zero.
 * Pure: times are given in milliseconds.
 */
#ifndef GW_PEERS_H
#define GW_PEERS_H

#include "frame.h"
#include "resolve.h"

#include <stddef.h>

struct gw_peer_limits {
    unsigned max_conns;
    unsigned max_inflight; /* history requests taken and not answered */
    double req_rate;       /* requests per second */
    double req_burst;
    double byte_rate; /* reply bytes per second */
    double byte_burst;
};

struct gw_peer {
    struct gw_peer *next; /* hash chain */
    unsigned conns;
    unsigned inflight;
    double req_tokens;
    double byte_tokens;
    long long refilled_ms;
    char addr[GW_ADDR_MAX];
};

struct gw_peers;

/* lim is copied. NULL when out of memory. */
GW_WUR struct gw_peers *gw_peers_new(const struct gw_peer_limits *lim);

/* Frees every entry; sessions must hold none by then. NULL does nothing. */
void gw_peers_free(struct gw_peers *p);

/* Connections addr holds now (0 when unknown). */
unsigned gw_peers_conns(const struct gw_peers *p, const char *addr);

/*
 * One more connection from addr: its entry (full buckets when new), or
 * NULL when addr already holds max_conns or memory is short. The entry
 * lives at least until the matching gw_peers_leave().
 */
GW_WUR struct gw_peer *gw_peers_join(struct gw_peers *p, const char *addr,
                                     long long now_ms);

/* A connection of that entry closed. */
void gw_peers_leave(struct gw_peers *p, struct gw_peer *peer);

/*
 * Take one history request from the budget: 0, or -1 when it is spent or
 * max_inflight of the address's requests are still unanswered (its byte
 * budget can only judge replies that came back).
 */
GW_WUR int gw_peer_ask(struct gw_peers *p, struct gw_peer *peer,
                       long long now_ms);

/* A request of peer's was answered with bytes: charge them. */
void gw_peer_done(struct gw_peers *p, struct gw_peer *peer, size_t bytes,
                  long long now_ms);

/* n of peer's requests will never be answered (their session closed, or
 * asking failed): they are no longer in flight. */
void gw_peer_forget(struct gw_peers *p, struct gw_peer *peer, unsigned n);

/* Forget addresses with no connection whose budget is whole again, so
 * that closing and reopening is no way to a fresh one. */
void gw_peers_sweep(struct gw_peers *p, long long now_ms);

/* Addresses remembered. */
size_t gw_peers_count(const struct gw_peers *p);

#endif
