/*
 * Name lookups off the event loop. getaddrinfo() can block for as long as
 * a resolver takes not to answer (seconds per try), and the gateway has
 * one loop for every client, so each lookup runs on the resolver's own
 * thread and its answer is handed back on the loop.
 *
 * No lws here: the owner gives a wake function, which the thread calls
 * after a lookup ends (it must only poke the loop, e.g. lws_cancel_service),
 * and calls gw_resolver_poll() on the loop, which runs the callbacks of
 * the lookups that ended. Callbacks only ever run inside gw_resolver_poll().
 *
 * The primary of a Redis behind Sentinel is found the same way: the
 * thread asks the sentinels (blocking hiredis, common/sentinel_client.h)
 * and looks the name they give up, so the loop never waits on either.
 */
#ifndef GW_RESOLVE_H
#define GW_RESOLVE_H

#include "frame.h"
#include "sentinel.h"

/* Numeric address text: fits an IPv6 address with its NUL. */
#define GW_ADDR_MAX 46

/*
 * A lookup ended: addr is the first address found as numeric text (valid
 * during the call) and port the port to dial there, or addr is NULL with
 * error a sentence for the log.
 */
typedef void (*gw_resolve_cb)(void *user, const char *addr, int port,
                              const char *error);

struct gw_resolver;
struct gw_lookup;

/*
 * Start the resolver thread. wake(wake_user) is called from that thread.
 * NULL when out of memory or no thread can be started. Free with
 * gw_resolver_free().
 */
GW_WUR struct gw_resolver *gw_resolver_new(void (*wake)(void *user),
                                           void *wake_user);

/*
 * Stop: lookups not yet polled are dropped without callbacks. A lookup
 * the thread is stuck in is left to finish on its own (the thread frees
 * what it still holds); this never waits for it. NULL does nothing.
 */
void gw_resolver_free(struct gw_resolver *res);

/*
 * Look host up (a numeric address is answered without a query); the
 * answer carries port. host is copied. cb(user, ...) runs later, from
 * gw_resolver_poll(), unless the lookup is cancelled first. Returns the
 * lookup, or NULL when out of memory or host is too long (no callback
 * then).
 */
GW_WUR struct gw_lookup *gw_resolve(struct gw_resolver *res, const char *host,
                                    int port, gw_resolve_cb cb, void *user);

/*
 * Where the primary of master is: each lookup asks the sentinels of l
 * (the one that answered last first) with timeouts connect_ms and io_ms
 * each. Everything is copied. Call before the first
 * gw_resolve_primary(). 0, or -1 for a name over SENTINEL_NAME_MAX.
 */
GW_WUR int gw_resolver_sentinels(struct gw_resolver *res,
                                 const struct sentinel_list *l,
                                 const char *master, int connect_ms, int io_ms);

/*
 * Find the primary through the sentinels and look its host up; the
 * callback as for gw_resolve(). NULL when out of memory or no sentinels
 * were given (no callback then).
 */
GW_WUR struct gw_lookup *gw_resolve_primary(struct gw_resolver *res,
                                            gw_resolve_cb cb, void *user);

/*
 * The node the sentinels named last is not the primary (its ROLE said
 * so): the next lookup asks the next sentinel first, since the one that
 * answered may be the one that has not yet seen a failover.
 */
void gw_resolver_primary_wrong(struct gw_resolver *res);

/* The callback will not run; the lookup is freed when the thread is done
 * with it. Only before its callback has run; NULL does nothing. */
void gw_lookup_cancel(struct gw_lookup *lk);

/* On the loop: run the callbacks of every lookup that has ended. */
void gw_resolver_poll(struct gw_resolver *res);

#endif
