#include "peers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PEER_BUCKETS 1024

struct gw_peers {
    struct gw_peer_limits lim;
    struct gw_peer *buckets[PEER_BUCKETS];
    size_t n;
};

/* FNV-1a: addresses are short and not chosen to collide. */
static struct gw_peer **bucket(struct gw_peers *p, const char *addr)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *c = (const unsigned char *)addr; *c; c++)
        h = (h ^ *c) * 16777619u;
    return &p->buckets[h % PEER_BUCKETS];
}

static struct gw_peer *find(const struct gw_peers *p, const char *addr)
{
    struct gw_peer *e = *bucket((struct gw_peers *)p, addr);

    while (e && strcmp(e->addr, addr) != 0)
        e = e->next;
    return e;
}

struct gw_peers *gw_peers_new(const struct gw_peer_limits *lim)
{
    struct gw_peers *p = calloc(1, sizeof(*p));

    if (p)
        p->lim = *lim;
    return p;
}

void gw_peers_free(struct gw_peers *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < PEER_BUCKETS; i++) {
        while (p->buckets[i]) {
            struct gw_peer *e = p->buckets[i];

            p->buckets[i] = e->next;
            free(e);
        }
    }
    free(p);
}

unsigned gw_peers_conns(const struct gw_peers *p, const char *addr)
{
    const struct gw_peer *e = find(p, addr);

    return e ? e->conns : 0;
}

static void refill(const struct gw_peers *p, struct gw_peer *e, long long now)
{
    double dt = (double)(now - e->refilled_ms) / 1000.0;

    if (dt <= 0)
        return;
    e->req_tokens += dt * p->lim.req_rate;
    if (e->req_tokens > p->lim.req_burst)
        e->req_tokens = p->lim.req_burst;
    e->byte_tokens += dt * p->lim.byte_rate;
    if (e->byte_tokens > p->lim.byte_burst)
        e->byte_tokens = p->lim.byte_burst;
    e->refilled_ms = now;
}

struct gw_peer *gw_peers_join(struct gw_peers *p, const char *addr,
                              long long now_ms)
{
    struct gw_peer *e = find(p, addr);
    struct gw_peer **b;

    if (e) {
        if (e->conns >= p->lim.max_conns)
            return NULL;
        e->conns++;
        return e;
    }
    if (!p->lim.max_conns || strlen(addr) >= sizeof(e->addr) ||
        !(e = calloc(1, sizeof(*e))))
        return NULL;
    memcpy(e->addr, addr, strlen(addr) + 1);
    e->conns = 1;
    e->req_tokens = p->lim.req_burst;
    e->byte_tokens = p->lim.byte_burst;
    e->refilled_ms = now_ms;
    b = bucket(p, addr);
    e->next = *b;
    *b = e;
    p->n++;
    return e;
}

void gw_peers_leave(struct gw_peers *p, struct gw_peer *peer)
{
    (void)p;
    if (peer && peer->conns)
        peer->conns--;
}

int gw_peer_ask(struct gw_peers *p, struct gw_peer *peer, long long now_ms)
{
    refill(p, peer, now_ms);
    if (peer->req_tokens < 1 || peer->byte_tokens <= 0 ||
        peer->inflight >= p->lim.max_inflight)
        return -1;
    peer->req_tokens -= 1;
    peer->inflight++;
    return 0;
}

void gw_peer_done(struct gw_peers *p, struct gw_peer *peer, size_t bytes,
                  long long now_ms)
{
    refill(p, peer, now_ms);
    peer->byte_tokens -= (double)bytes;
    if (peer->inflight)
        peer->inflight--;
}

void gw_peer_forget(struct gw_peers *p, struct gw_peer *peer, unsigned n)
{
    (void)p;
    if (peer)
        peer->inflight -= n < peer->inflight ? n : peer->inflight;
}

void gw_peers_sweep(struct gw_peers *p, long long now_ms)
{
    for (size_t i = 0; i < PEER_BUCKETS; i++) {
        struct gw_peer **pp = &p->buckets[i];

        while (*pp) {
            struct gw_peer *e = *pp;

            refill(p, e, now_ms);
            if (e->conns || e->inflight || e->req_tokens < p->lim.req_burst ||
                e->byte_tokens < p->lim.byte_burst) {
                pp = &e->next;
                continue;
            }
            *pp = e->next;
            free(e);
            p->n--;
        }
    }
}

size_t gw_peers_count(const struct gw_peers *p)
{
    return p->n;
}
