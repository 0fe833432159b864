/*
 * common/origin.c: whole origins against an allow-list or the request's
 * own scheme and Host (issue 15 rows 6 and 7).
 */
#include "check.h"
#include "origin.h"

#include <string.h>

struct row {
    const char *allow;
    const char *origin;
    const char *scheme;
    const char *host;
    bool want;
};

static const struct row rows[] = {
    /* Same origin (empty list): scheme and Host, whole; a Host that is an
     * address or localhost, never a name (DNS rebinding). */
    {"", "http://10.0.0.7:30222", "http", "10.0.0.7:30222", true},
    {"", "http://10.0.0.7", "http", "10.0.0.7", true},
    {"", "http://10.0.0.7", "http", "10.0.0.7:80", true},
    {"", "http://10.0.0.7:80", "http", "10.0.0.7", true},
    {"", "https://10.0.0.7", "https", "10.0.0.7:443", true},
    {"", "HTTP://LocalHost:30222", "http", "localhost:30222", true},
    {"", "http://[::1]:8080", "http", "[::1]:8080", true},
    {"", "http://127.0.0.1:30222", "http", "127.0.0.1:30222", true},
    {"", "http://chat.example:30222", "http", "chat.example:30222", false},
    {"", "http://chat.example", "http", "chat.example", false},
    {"", "http://10.0.0", "http", "10.0.0", false},
    {"", "http://10.0.0.7.8", "http", "10.0.0.7.8", false},
    /* The scheme counts (row 7 of issue 15). */
    {"", "https://chat.example:30222", "http", "chat.example:30222", false},
    {"", "evil://chat.example:30222", "http", "chat.example:30222", false},
    {"", "http://chat.example:30222", "https", "chat.example:30222", false},
    {"", "https://chat.example", "http", "chat.example", false},
    /* Host and port count. */
    {"", "http://evil.example:30222", "http", "chat.example:30222", false},
    {"", "http://chat.example:30223", "http", "chat.example:30222", false},
    {"", "http://chat.example", "http", "chat.example:8080", false},
    {"", "http://chat.example.evil:30222", "http", "chat.example:30222", false},
    {"", "http://chat.exampl:30222", "http", "chat.example:30222", false},
    /* Not an origin: only "*" lets it through. */
    {"", "null", "http", "chat.example", false},
    {"", "http://chat.example/", "http", "chat.example", false},
    {"", "http://chat.example:30222/path", "http", "chat.example:30222", false},
    {"", "http://user@chat.example", "http", "chat.example", false},
    {"", "http://chat.example:", "http", "chat.example", false},
    {"", "http://chat.example:0", "http", "chat.example:0", false},
    {"", "http://chat.example:65536", "http", "chat.example:65536", false},
    {"", "http://chat.example:123456", "http", "chat.example:123456", false},
    {"", "http://chat.example:80x", "http", "chat.example", false},
    {"", "http://", "http", "", false},
    {"", "http//chat.example", "http", "chat.example", false},
    {"", "", "http", "chat.example", false},
    {"", NULL, "http", "chat.example", false},
    {"", "http://[zz]:80", "http", "[zz]:80", false},
    {"", "http://*", "http", "*", false}, /* no wild card here */
    /* No scheme or Host to compare with: same origin cannot pass. */
    {"", "http://chat.example", NULL, "chat.example", false},
    {"", "http://chat.example", "http", NULL, false},
    {"", "http://chat.example", "http", "chat.example:99999", false},
    {"", "http://chat.example", "http", "chat.example/x", false},
    /* The DNS-rebinding shape: Host and Origin both the attacker's name. */
    {"", "http://evil.example:30222", "http", "evil.example:30222", false},
    {"http://chat.example:30222", "http://evil.example:30222", "http",
     "evil.example:30222", false},
    /* Lists. */
    {"http://chat.example:30222", "http://chat.example:30222", NULL, NULL,
     true},
    {"http://chat.example:30222", "http://chat.example:30223", NULL, NULL,
     false},
    {"http://chat.example:30222", "https://chat.example:30222", NULL, NULL,
     false},
    {"https://a.example, http://b.example:8080", "http://b.example:8080", NULL,
     NULL, true},
    {"https://a.example, http://b.example:8080", "https://a.example:443", NULL,
     NULL, true},
    {"https://a.example, http://b.example:8080", "http://a.example", NULL, NULL,
     false},
    {" https://a.example ,\thttp://b.example ", "http://b.example", NULL, NULL,
     true},
    {"HTTPS://A.EXAMPLE", "https://a.example", NULL, NULL, true},
    /* The list, not the Host, decides once there is a list. */
    {"https://a.example", "http://chat.example", "http", "chat.example", false},
    /* A wild host: any host, same scheme and port. */
    {"http://*:30222", "http://anything.example:30222", NULL, NULL, true},
    {"http://*:30222", "http://[::1]:30222", NULL, NULL, true},
    {"http://*:30222", "http://anything.example:30223", NULL, NULL, false},
    {"http://*:30222", "https://anything.example:30222", NULL, NULL, false},
    {"http://*", "http://anything.example", NULL, NULL, true},
    {"http://*", "http://anything.example:8080", NULL, NULL, false},
    {"http://*:30222", "null", NULL, NULL, false},
    {"http://*.example", "http://a.example", NULL, NULL, false},
    /* "*" alone allows everything, even what is not an origin. */
    {"*", "http://evil.example", NULL, NULL, true},
    {"*", "null", NULL, NULL, true},
    {"https://a.example, *", "http://b.example", NULL, NULL, true},
    /* A bad entry matches nothing but spoils nothing else. */
    {"http://a.example/, http://b.example", "http://b.example", NULL, NULL,
     true},
    {"http://a.example/", "http://a.example", NULL, NULL, false},
    {NULL, "http://10.0.0.7", "http", "10.0.0.7", true},
};

static void allowed_rows(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        bool got = origin_allowed(r->allow, r->origin, r->scheme, r->host);

        CHECK_MSG(got == r->want,
                  "allow \"%s\", origin \"%s\", scheme %s, host %s: %d, want "
                  "%d",
                  r->allow ? r->allow : "(null)",
                  r->origin ? r->origin : "(null)",
                  r->scheme ? r->scheme : "(null)",
                  r->host ? r->host : "(null)", got, r->want);
    }
}

struct list_row {
    const char *allow;
    const char *bad; /* the entry named, NULL when the list is good */
};

static const struct list_row lists[] = {
    {"", NULL},
    {"*", NULL},
    {"http://chat.example:30222", NULL},
    {"http://*:30222, https://chat.example", NULL},
    {"http://[::1]:8080", NULL},
    {"http://a.example,", NULL},
    {"http://a.example, http://a.example/", "http://a.example/"},
    {"http://a.example,,http://b.example", ""},
    {"chat.example", "chat.example"},
    {"http://a.example:65536", "http://a.example:65536"},
    {"http://a.example:65535", NULL},
    {"http://a.example:0", "http://a.example:0"},
    {"http://a.example:1", NULL},
    {"**", "**"},
    {"http://*.example", "http://*.example"},
    {" ", ""},
};

static void list_rows(void)
{
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        const char *bad = NULL;
        size_t len = 0;
        int rc = origin_list_check(lists[i].allow, &bad, &len);

        if (!lists[i].bad) {
            CHECK_MSG(rc == 0, "\"%s\" refused at \"%.*s\"", lists[i].allow,
                      (int)len, bad ? bad : "");
            continue;
        }
        CHECK_MSG(rc == -1 && len == strlen(lists[i].bad) &&
                      memcmp(bad, lists[i].bad, len) == 0,
                  "\"%s\": %d at \"%.*s\", want \"%s\"", lists[i].allow, rc,
                  (int)len, bad ? bad : "", lists[i].bad);
    }
}

/* A port of five digits is the most; six never reaches a number. */
static void port_limits(void)
{
    CHECK(
        origin_allowed("", "http://10.0.0.7:65535", "http", "10.0.0.7:65535"));
    CHECK(
        !origin_allowed("", "http://10.0.0.7:65536", "http", "10.0.0.7:65536"));
    CHECK(origin_allowed("", "http://10.0.0.7:1", "http", "10.0.0.7:1"));
    CHECK(origin_allowed("", "http://10.0.0.7:00080", "http", "10.0.0.7"));
    CHECK(!origin_allowed("", "http://10.0.0.7:000080", "http", "10.0.0.7"));
}

int main(void)
{
    allowed_rows();
    list_rows();
    port_limits();
    return check_summary();
}
