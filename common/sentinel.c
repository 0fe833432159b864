/* See sentinel.h. */
#include "sentinel.h"

#include <stdio.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A host name or IPv4 address: letters, digits, '.', '-', '_'. */
static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '.' || c == '-' || c == '_';
}

static bool v6_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
           c == ':' || c == '.';
}

/* 1..65535 in plain decimal digits, or -1. */
static int port_of(const char *s, size_t len)
{
    long v = 0;

    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= 65535 ? (int)v : -1;
}

static bool host_ok(const char *s, size_t len, bool v6)
{
    if (len == 0 || len >= SENTINEL_HOST_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (v6 ? !v6_char(s[i]) : !host_char(s[i]))
            return false;
    }
    return true;
}

static void set_host(struct sentinel_addr *a, const char *s, size_t len)
{
    memcpy(a->host, s, len);
    a->host[len] = '\0';
}

/* One "host:port" entry (trimmed) into *a. */
static enum sentinel_err entry_parse(const char *s, size_t len,
                                     struct sentinel_addr *a, const char **why)
{
    const char *colon;
    const char *host = s;
    size_t host_len;
    bool v6 = len > 0 && s[0] == '[';

    if (v6) {
        const char *close = memchr(s, ']', len);

        if (!close || close + 1 == s + len || close[1] != ':') {
            *why = "an IPv6 address is written [address]:port";
            return SENTINEL_ERR_HOST;
        }
        host = s + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = memrchr(s, ':', len);
        if (!colon) {
            *why = "each sentinel is host:port";
            return SENTINEL_ERR_PORT;
        }
        host_len = (size_t)(colon - s);
    }
    if (!host_ok(host, host_len, v6)) {
        *why = "a sentinel's host is empty, too long or has characters a "
               "host cannot have";
        return SENTINEL_ERR_HOST;
    }
    a->port = port_of(colon + 1, (size_t)(s + len - colon - 1));
    if (a->port < 0) {
        *why = "a sentinel's port must be 1..65535";
        return SENTINEL_ERR_PORT;
    }
    set_host(a, host, host_len);
    return SENTINEL_OK;
}

enum sentinel_err sentinel_list_parse(const char *text,
                                      struct sentinel_list *out,
                                      const char **why)
{
    const char *p = text;

    out->n = 0;
    for (;;) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        size_t n = len;
        enum sentinel_err rc;

        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0) {
            *why = "the sentinel list is empty or has an empty entry";
            return SENTINEL_ERR_EMPTY;
        }
        if (out->n == SENTINEL_MAX) {
            *why = "more sentinels than the limit (16)";
            return SENTINEL_ERR_TOO_MANY;
        }
        rc = entry_parse(s, n, &out->at[out->n], why);
        if (rc != SENTINEL_OK)
            return rc;
        out->n++;
        if (p[len] == '\0')
            return SENTINEL_OK;
        p += len + 1;
    }
}

bool sentinel_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > SENTINEL_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!host_char(name[i]))
            return false;
    }
    return true;
}

enum sentinel_err sentinel_addr_from_reply(const char *host, size_t host_len,
                                           const char *port, size_t port_len,
                                           struct sentinel_addr *out)
{
    bool v6 = memchr(host, ':', host_len) != NULL;

    if (!host_ok(host, host_len, v6))
        return SENTINEL_ERR_REPLY;
    out->port = port_of(port, port_len);
    if (out->port < 0)
        return SENTINEL_ERR_REPLY;
    set_host(out, host, host_len);
    return SENTINEL_OK;
}

enum sentinel_err sentinel_switch_parse(const char *msg, size_t len,
                                        const char *name,
                                        struct sentinel_addr *out)
{
    const char *field[5];
    size_t flen[5];
    size_t nf = 0;
    size_t i = 0;

    while (i < len) {
        size_t start = i;

        while (i < len && msg[i] != ' ')
            i++;
        if (i == start || nf == 5)
            return SENTINEL_ERR_REPLY;
        field[nf] = msg + start;
        flen[nf++] = i - start;
        if (i < len && ++i == len)
            return SENTINEL_ERR_REPLY; /* a trailing space */
    }
    if (nf != 5)
        return SENTINEL_ERR_REPLY;
    if (flen[0] != strlen(name) || memcmp(field[0], name, flen[0]) != 0)
        return SENTINEL_ERR_OTHER;
    return sentinel_addr_from_reply(field[3], flen[3], field[4], flen[4], out);
}

size_t sentinel_next(size_t i, size_t n)
{
    return n ? (i + 1) % n : 0;
}

bool sentinel_role_is_primary(const char *role, size_t len)
{
    return len == 6 && memcmp(role, "master", 6) == 0;
}

bool sentinel_info_field(const char *info, size_t len, const char *field,
                         char *out, size_t cap)
{
    size_t flen = strlen(field);
    const char *end = info + len;

    for (const char *line = info; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t n = eol ? (size_t)(eol - line) : (size_t)(end - line);

        if (n && line[n - 1] == '\r')
            n--;
        if (n > flen && memcmp(line, field, flen) == 0 && line[flen] == ':') {
            size_t vlen = n - flen - 1;

            if (vlen + 1 > cap)
                return false;
            memcpy(out, line + flen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        if (!eol)
            break;
        line = eol + 1;
    }
    return false;
}

void sentinel_addr_text(const struct sentinel_addr *a, char *out, size_t cap)
{
    bool v6 = strchr(a->host, ':') != NULL;

    snprintf(out, cap, v6 ? "[%s]:%d" : "%s:%d", a->host, a->port);
}

bool sentinel_addr_equal(const struct sentinel_addr *a,
                         const struct sentinel_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}
