/*
 * Who a client is, for the per-address limits: the peer's address, or,
 * when the peer is a trusted proxy (lighttpd on the same-origin path), the
 * address that proxy reports in X-Forwarded-For. Of that list only the
 * rightmost entry not itself a trusted proxy counts: whatever stands
 * further left was written by the client and proves nothing. Pure.
 */
#ifndef GW_CLIENTADDR_H
#define GW_CLIENTADDR_H

#include "frame.h"
#include "resolve.h"

#include <stddef.h>
#include <stdint.h>

#define GW_TRUSTED_MAX 16

struct gw_trusted {
    size_t n;
    struct {
        uint32_t net; /* host order, masked */
        uint32_t mask;
    } v4[GW_TRUSTED_MAX];
};

/*
 * Parse "a.b.c.d[/bits],..." (IPv4 only; blanks around commas allowed;
 * "" is no proxy at all) into *out. Returns 0, or -1 on a bad entry or
 * more than GW_TRUSTED_MAX of them.
 */
GW_WUR int gw_trusted_parse(const char *list, struct gw_trusted *out);

/* Is addr (numeric text) one of the trusted proxies? */
int gw_trusted_has(const struct gw_trusted *t, const char *addr);

/*
 * The client's address into out: peer itself unless peer is trusted and
 * xff (the X-Forwarded-For value, or NULL) names someone. Entries that
 * are not addresses are skipped.
 */
void gw_client_addr(const struct gw_trusted *t, const char *peer,
                    const char *xff, char out[GW_ADDR_MAX]);

#endif
