/*
 * Whole-origin checks for requests from browsers (RFC 6454): is the page
 * that sent this request one we serve? Shared by the send handler
 * (SEND_ALLOWED_ORIGINS) and the gateway (GW_ALLOWED_ORIGINS), so both
 * read an allow-list the same way. Pure: strings in, a verdict out; no
 * I/O, no allocation, no state.
 *
 * An allow-list is comma-separated whole origins scheme://host[:port]
 * (white space around entries is ignored); a host of "*" matches any
 * host with that scheme and port, and an entry "*" alone allows every
 * origin.
 * The empty list means same origin: the Origin must be the request's own
 * scheme and Host header, and that Host must be an address or localhost
 * (a name there could be an attacker's pointed at this server, with an
 * Origin to match: DNS rebinding); a server reached by a name lists its
 * origin.
 *
 * Origins compare as (scheme, host, port): scheme and host ignore case,
 * and a missing port is the scheme's default (80 for http and ws, 443
 * for https and wss), so "http://a" and "http://A:80" are one origin.
 * A value that is not of that shape ("null", a path, user info, a bad
 * port) matches only "*".
 */
#ifndef CHAT_ORIGIN_H
#define CHAT_ORIGIN_H

#include "chat_msg.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Does origin (an Origin header's value, NUL-terminated) pass allow (the
 * list, "" for same origin)? For the same-origin rule scheme is the
 * request's scheme ("http", "https") and host its Host header
 * ("host[:port]"); either may be NULL, and then only a list can pass the
 * origin. Everything is borrowed for the call.
 */
CHAT_WUR bool origin_allowed(const char *allow, const char *origin,
                             const char *scheme, const char *host);

/*
 * Check a list once, at start: 0 when every entry is "*" or
 * scheme://host[:port] (host may be "*"), else -1 with *bad and *bad_len
 * (into allow) naming the first entry that is not. An empty entry (",,")
 * is an error too; one trailing comma is not.
 */
CHAT_WUR int origin_list_check(const char *allow, const char **bad,
                               size_t *bad_len);

#endif
