/*
 * Following +switch-master for the gateway: a watch thread
 * (common/sentinel_client.h) hears that the primary moved and wakes the
 * loop; gw_primary_poll(), on the loop, then calls moved(), which sends
 * every link to the new primary at once. Without sentinels in the
 * configuration nothing is started.
 */
#ifndef GW_PRIMARY_H
#define GW_PRIMARY_H

#include "config.h"
#include "frame.h"

struct gw_primary;

/*
 * Start following (when cfg names sentinels). wake(wake_user) is called
 * from the watch thread; moved(user) runs on the loop, inside
 * gw_primary_poll(). cfg is borrowed. NULL when out of memory or no
 * thread can be started. Free with gw_primary_free().
 */
GW_WUR struct gw_primary *gw_primary_new(const struct gw_config *cfg,
                                         void (*wake)(void *wake_user),
                                         void *wake_user,
                                         void (*moved)(void *user), void *user);

/* Stop following; NULL does nothing. */
void gw_primary_free(struct gw_primary *p);

/* On the loop, after a wake: run moved() if a switch came. */
void gw_primary_poll(struct gw_primary *p);

#endif
