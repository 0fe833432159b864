/* See origin.h. */
#include "origin.h"

#include <string.h>

#define PORT_NONE (-1)

struct origin {
    const char *scheme;
    size_t scheme_len;
    const char *host;
    size_t host_len;
    long port; /* explicit or the scheme's default; PORT_NONE */
    bool any_host;
};

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool same_ci(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_host_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
}

static bool is_ipv6_char(char c)
{
    return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f') || c == ':' ||
           c == '.';
}

static long default_port(const char *scheme, size_t len)
{
    if (same_ci(scheme, len, "http", 4) || same_ci(scheme, len, "ws", 2))
        return 80;
    if (same_ci(scheme, len, "https", 5) || same_ci(scheme, len, "wss", 3))
        return 443;
    return PORT_NONE;
}

/* ":digits" to the end, 1..65535; false otherwise. */
static bool parse_port(const char *p, const char *end, long *port)
{
    long v = 0;

    if (p == end || *p != ':' || ++p == end || end - p > 5)
        return false;
    for (; p < end; p++) {
        if (!is_digit(*p))
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > 65535)
        return false;
    *port = v;
    return true;
}

/*
 * host[:port] in [p, end): a name, an IPv6 literal in brackets, or (when
 * wild) "*". The port stays PORT_NONE when absent.
 */
static bool parse_authority(const char *p, const char *end, bool wild,
                            struct origin *o)
{
    const char *h = p;

    o->port = PORT_NONE;
    o->any_host = false;
    if (p < end && *p == '[') {
        while (++p < end && *p != ']') {
            if (!is_ipv6_char(*p))
                return false;
        }
        if (p == end || p - h < 3)
            return false;
        p++;
    } else if (wild && p < end && *p == '*') {
        o->any_host = true;
        p++;
    } else {
        while (p < end && is_host_char(*p))
            p++;
    }
    o->host = h;
    o->host_len = (size_t)(p - h);
    if (o->host_len == 0)
        return false;
    return p == end || parse_port(p, end, &o->port);
}

/* scheme://host[:port] in [p, end), nothing before or after. */
static bool parse_origin(const char *p, const char *end, bool wild,
                         struct origin *o)
{
    const char *s = p;

    if (p == end || !is_alpha(*p))
        return false;
    while (p < end && (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' ||
                       *p == '.'))
        p++;
    if (end - p < 3 || memcmp(p, "://", 3) != 0)
        return false;
    o->scheme = s;
    o->scheme_len = (size_t)(p - s);
    if (!parse_authority(p + 3, end, wild, o))
        return false;
    if (o->port == PORT_NONE)
        o->port = default_port(o->scheme, o->scheme_len);
    return true;
}

/* Does the request's origin o equal (or, with a wild host, fit) want? */
static bool fits(const struct origin *want, const struct origin *o)
{
    return same_ci(want->scheme, want->scheme_len, o->scheme, o->scheme_len) &&
           want->port == o->port &&
           (want->any_host ||
            same_ci(want->host, want->host_len, o->host, o->host_len));
}

/* An IPv4 dotted quad, a bracketed IPv6 address or "localhost". */
static bool host_is_literal(const struct origin *o)
{
    int dots = 0;

    if (same_ci(o->host, o->host_len, "localhost", 9))
        return true;
    if (o->host_len >= 2 && o->host[0] == '[')
        return true; /* parse_authority admitted only IPv6 characters */
    for (size_t i = 0; i < o->host_len; i++) {
        if (o->host[i] == '.')
            dots++;
        else if (!is_digit(o->host[i]))
            return false;
    }
    return dots == 3;
}

/*
 * The same-origin rule trusts the Host header only when it is an address
 * or localhost: a name in it could be an attacker's, pointed at this
 * server (DNS rebinding), with an Origin to match. A server reached by a
 * name must list its origin.
 */
static bool same_origin(const struct origin *o, const char *scheme,
                        const char *host)
{
    struct origin self;

    if (!scheme || !host)
        return false;
    self.scheme = scheme;
    self.scheme_len = strlen(scheme);
    if (!parse_authority(host, host + strlen(host), false, &self) ||
        !host_is_literal(&self))
        return false;
    if (self.port == PORT_NONE)
        self.port = default_port(self.scheme, self.scheme_len);
    return fits(&self, o);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next entry of a list, trimmed; false at the end. */
static bool next_entry(const char **list, const char **start, size_t *len)
{
    const char *p = *list;
    const char *e;

    if (!*p)
        return false;
    e = p + strcspn(p, ",");
    *list = *e ? e + 1 : e;
    while (p < e && is_blank(*p))
        p++;
    while (e > p && is_blank(e[-1]))
        e--;
    *start = p;
    *len = (size_t)(e - p);
    return true;
}

bool origin_allowed(const char *allow, const char *origin, const char *scheme,
                    const char *host)
{
    const char *list = allow ? allow : "";
    const char *entry;
    size_t elen;
    struct origin o;
    bool parsed =
        origin && parse_origin(origin, origin + strlen(origin), false, &o);

    if (!*list)
        return parsed && same_origin(&o, scheme, host);
    while (next_entry(&list, &entry, &elen)) {
        struct origin want;

        if (elen == 1 && entry[0] == '*')
            return true;
        if (parsed && parse_origin(entry, entry + elen, true, &want) &&
            fits(&want, &o))
            return true;
    }
    return false;
}

int origin_list_check(const char *allow, const char **bad, size_t *bad_len)
{
    const char *list = allow ? allow : "";
    const char *entry;
    size_t elen;
    struct origin want;

    while (next_entry(&list, &entry, &elen)) {
        if ((elen == 1 && entry[0] == '*') ||
            parse_origin(entry, entry + elen, true, &want))
            continue;
        *bad = entry;
        *bad_len = elen;
        return -1;
    }
    return 0;
}
