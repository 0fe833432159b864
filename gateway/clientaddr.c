#include "clientaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_v4(const char *s, size_t n, uint32_t *out)
{
    char buf[16];
    struct in_addr a;

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

/* One "a.b.c.d[/bits]" entry of n bytes. */
static int parse_entry(const char *s, size_t n, uint32_t *net, uint32_t *mask)
{
    const char *slash = memchr(s, '/', n);
    long bits = 32;

    if (slash) {
        char *end;
        size_t bn = n - (size_t)(slash + 1 - s);
        char b[4];

        if (bn == 0 || bn >= sizeof(b))
            return -1;
        memcpy(b, slash + 1, bn);
        b[bn] = '\0';
        bits = strtol(b, &end, 10);
        if (*end || bits < 0 || bits > 32)
            return -1;
        n = (size_t)(slash - s);
    }
    if (parse_v4(s, n, net))
        return -1;
    *mask = bits ? 0xffffffffu << (32 - bits) : 0;
    *net &= *mask;
    return 0;
}

int gw_trusted_parse(const char *list, struct gw_trusted *out)
{
    memset(out, 0, sizeof(*out));
    while (*list) {
        size_t n;

        list += strspn(list, " ,");
        n = strcspn(list, " ,");
        if (!n)
            break;
        if (out->n == GW_TRUSTED_MAX ||
            parse_entry(list, n, &out->v4[out->n].net, &out->v4[out->n].mask))
            return -1;
        out->n++;
        list += n;
    }
    return 0;
}

static int trusted_span(const struct gw_trusted *t, const char *s, size_t n)
{
    uint32_t a;

    if (parse_v4(s, n, &a))
        return 0;
    for (size_t i = 0; i < t->n; i++)
        if ((a & t->v4[i].mask) == t->v4[i].net)
            return 1;
    return 0;
}

int gw_trusted_has(const struct gw_trusted *t, const char *addr)
{
    return trusted_span(t, addr, strlen(addr));
}

/* An address as it may appear in X-Forwarded-For: v4 or v6, no port. */
static int is_addr(const char *s, size_t n)
{
    unsigned char buf[sizeof(struct in6_addr)];
    char text[GW_ADDR_MAX];

    if (n == 0 || n >= sizeof(text))
        return 0;
    memcpy(text, s, n);
    text[n] = '\0';
    return inet_pton(AF_INET, text, buf) == 1 ||
           inet_pton(AF_INET6, text, buf) == 1;
}

void gw_client_addr(const struct gw_trusted *t, const char *peer,
                    const char *xff, char out[GW_ADDR_MAX])
{
    size_t end;

    snprintf(out, GW_ADDR_MAX, "%s", peer);
    if (!xff || !gw_trusted_has(t, peer))
        return;
    /* Walk from the right: the nearest hop the proxy itself saw first. */
    end = strlen(xff);
    while (end > 0) {
        size_t start = end, n;
        const char *s;

        while (start > 0 && xff[start - 1] != ',')
            start--;
        s = xff + start;
        n = end - start;
        while (n && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        end = start ? start - 1 : 0;
        if (!is_addr(s, n))
            continue;
        snprintf(out, GW_ADDR_MAX, "%.*s", (int)n, s);
        if (!trusted_span(t, s, n))
            return;
    }
}
