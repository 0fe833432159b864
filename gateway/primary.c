#include "primary.h"

#include "sentinel_client.h"

#include <stdatomic.h>
#include <stdlib.h>

/* The watch pings its sentinel this often; a silent one is left. */
#define WATCH_PING_MS 1000

struct gw_primary {
    struct sentinel_watch *watch;
    atomic_int switched; /* set by the watch thread, taken by the loop */
    void (*wake)(void *wake_user);
    void *wake_user;
    void (*moved)(void *user);
    void *user;
};

/* On the watch thread, under its lock: no lws here, only the wake. */
static void on_switch(void *user, const struct sentinel_addr *primary)
{
    struct gw_primary *p = user;

    (void)primary; /* each link asks the sentinels where it is */
    atomic_store(&p->switched, 1);
    p->wake(p->wake_user);
}

struct gw_primary *gw_primary_new(const struct gw_config *cfg,
                                  void (*wake)(void *wake_user),
                                  void *wake_user, void (*moved)(void *user),
                                  void *user)
{
    struct gw_primary *p = calloc(1, sizeof(*p));
    struct sentinel_timeouts t = {(int)cfg->redis_connect_timeout_ms / 2,
                                  (int)cfg->redis_ping_ms};

    if (!p)
        return NULL;
    atomic_init(&p->switched, 0);
    p->wake = wake;
    p->wake_user = wake_user;
    p->moved = moved;
    p->user = user;
    if (cfg->sentinels.n == 0)
        return p;
    p->watch = sentinel_watch_start(&cfg->sentinels, cfg->redis_master_name, &t,
                                    WATCH_PING_MS, on_switch, p);
    if (!p->watch) {
        free(p);
        return NULL;
    }
    return p;
}

void gw_primary_free(struct gw_primary *p)
{
    if (!p)
        return;
    /* After this no on_switch() runs, so p can go. */
    sentinel_watch_stop(p->watch);
    free(p);
}

void gw_primary_poll(struct gw_primary *p)
{
    if (p && atomic_exchange(&p->switched, 0))
        p->moved(p->user);
}
