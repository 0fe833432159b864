/* gateway/clientaddr.c: trusted proxies and the client behind them. */
#include "check.h"
#include "clientaddr.h"

#include <string.h>

struct parse_row {
    const char *list;
    int want;
    size_t n;
};

static const struct parse_row parse_rows[] = {
    {"", 0, 0},
    {"127.0.0.1", 0, 1},
    {"127.0.0.1, 10.0.0.0/8 ,192.168.0.0/16", 0, 3},
    {"0.0.0.0/0", 0, 1},
    {"10.0.0.0/32", 0, 1},
    {"10.0.0.0/33", -1, 0},
    {"10.0.0.0/", -1, 0},
    {"10.0.0.0/x", -1, 0},
    {"10.0.0", -1, 0},
    {"::1", -1, 0},
    {"localhost", -1, 0},
    /* GW_TRUSTED_MAX entries, then one more. */
    {"1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,"
     "1.1.1.9,1.1.1.10,1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,1.1.1.16",
     0, 16},
    {"1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,"
     "1.1.1.9,1.1.1.10,1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,1.1.1.16,"
     "1.1.1.17",
     -1, 0},
};

static void parsing(void)
{
    for (size_t i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
        struct gw_trusted t;
        int got = gw_trusted_parse(parse_rows[i].list, &t);

        CHECK_MSG(got == parse_rows[i].want, "\"%s\": %d", parse_rows[i].list,
                  got);
        if (!got)
            CHECK_INT(t.n, parse_rows[i].n);
    }
}

struct addr_row {
    const char *trusted;
    const char *peer;
    const char *xff; /* NULL: no header */
    const char *want;
};

static const struct addr_row addr_rows[] = {
    /* An untrusted peer is who it is, whatever it claims. */
    {"127.0.0.1", "203.0.113.9", "198.51.100.1", "203.0.113.9"},
    {"", "127.0.0.1", "198.51.100.1", "127.0.0.1"},
    /* A trusted proxy speaks for its client. */
    {"127.0.0.1", "127.0.0.1", "198.51.100.1", "198.51.100.1"},
    {"127.0.0.1", "127.0.0.1", NULL, "127.0.0.1"},
    {"127.0.0.1", "127.0.0.1", "", "127.0.0.1"},
    /* Only the rightmost untrusted entry: the left ones are the client's. */
    {"127.0.0.1", "127.0.0.1", "1.2.3.4, 198.51.100.1", "198.51.100.1"},
    {"127.0.0.1,10.0.0.0/8", "127.0.0.1", "1.2.3.4, 198.51.100.1, 10.1.2.3",
     "198.51.100.1"},
    {"10.0.0.0/8", "10.9.9.9", "2001:db8::7", "2001:db8::7"},
    /* Junk is skipped, not believed. */
    {"127.0.0.1", "127.0.0.1", "1.2.3.4, not-an-address", "1.2.3.4"},
    {"127.0.0.1", "127.0.0.1", "1.2.3.4:5678", "127.0.0.1"},
    /* All trusted: the leftmost is as far as anyone can tell. */
    {"10.0.0.0/8", "10.0.0.1", "10.0.0.2,10.0.0.3", "10.0.0.2"},
    /* The mask boundary at N and N+1. */
    {"10.0.0.0/24", "10.0.0.255", "198.51.100.1", "198.51.100.1"},
    {"10.0.0.0/24", "10.0.1.0", "198.51.100.1", "10.0.1.0"},
};

static void addresses(void)
{
    for (size_t i = 0; i < sizeof(addr_rows) / sizeof(addr_rows[0]); i++) {
        const struct addr_row *r = &addr_rows[i];
        struct gw_trusted t;
        char out[GW_ADDR_MAX];

        CHECK_INT(gw_trusted_parse(r->trusted, &t), 0);
        gw_client_addr(&t, r->peer, r->xff, out);
        CHECK_MSG(strcmp(out, r->want) == 0, "row %zu: %s, want %s", i, out,
                  r->want);
    }
}

int main(void)
{
    parsing();
    addresses();
    return check_summary();
}
