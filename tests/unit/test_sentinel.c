/*
 * common/sentinel.c: the sentinel list, the get-master-addr-by-name
 * reply, +switch-master messages, the next sentinel to ask, ROLE and
 * INFO fields. Limits at N and N+1: 16 sentinels, a 255-byte host, a
 * 64-byte master name, port 65535.
 */
#include "check.h"
#include "sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct list_row {
    const char *text;
    enum sentinel_err want;
    size_t n;
    const char *host0; /* the first entry, when ok */
    int port0;
    const char *host_last;
    int port_last;
};

static const struct list_row list_rows[] = {
    {"s1:26379", SENTINEL_OK, 1, "s1", 26379, "s1", 26379},
    {"a:1,b:2,c:3", SENTINEL_OK, 3, "a", 1, "c", 3},
    {" a:1 , b:2 ", SENTINEL_OK, 2, "a", 1, "b", 2},
    {"10.0.0.1:26379", SENTINEL_OK, 1, "10.0.0.1", 26379, "10.0.0.1", 26379},
    {"[::1]:26379", SENTINEL_OK, 1, "::1", 26379, "::1", 26379},
    {"[fe80::1]:5,h.chat.test:6", SENTINEL_OK, 2, "fe80::1", 5, "h.chat.test",
     6},
    {"chat-redis-0.chat-redis.ns.svc.cluster.local:26379", SENTINEL_OK, 1,
     "chat-redis-0.chat-redis.ns.svc.cluster.local", 26379,
     "chat-redis-0.chat-redis.ns.svc.cluster.local", 26379},
    {"h:65535", SENTINEL_OK, 1, "h", 65535, "h", 65535},
    {"h:65536", SENTINEL_ERR_PORT},
    {"h:0", SENTINEL_ERR_PORT},
    {"h:-1", SENTINEL_ERR_PORT},
    {"h:", SENTINEL_ERR_PORT},
    {"h", SENTINEL_ERR_PORT},
    {"h:26379x", SENTINEL_ERR_PORT},
    {"h:123456", SENTINEL_ERR_PORT},
    {":26379", SENTINEL_ERR_HOST},
    {"h h:1", SENTINEL_ERR_HOST},
    {"h/x:1", SENTINEL_ERR_HOST},
    {"[::1:26379", SENTINEL_ERR_HOST},
    {"[::1]26379", SENTINEL_ERR_HOST},
    {"[]:1", SENTINEL_ERR_HOST},
    {"[zz]:1", SENTINEL_ERR_HOST},
    {"", SENTINEL_ERR_EMPTY},
    {" ", SENTINEL_ERR_EMPTY},
    {"a:1,", SENTINEL_ERR_EMPTY},
    {",a:1", SENTINEL_ERR_EMPTY},
    {"a:1,,b:2", SENTINEL_ERR_EMPTY},
};

static void list_parse_rows(void)
{
    for (size_t i = 0; i < sizeof(list_rows) / sizeof(list_rows[0]); i++) {
        const struct list_row *r = &list_rows[i];
        struct sentinel_list l;
        const char *why = NULL;
        enum sentinel_err got = sentinel_list_parse(r->text, &l, &why);

        CHECK_MSG(got == r->want, "\"%s\": %d, want %d", r->text, got, r->want);
        if (got != SENTINEL_OK) {
            CHECK_MSG(why && why[0], "\"%s\": no reason given", r->text);
            continue;
        }
        CHECK_INT(l.n, r->n);
        CHECK_STR(l.at[0].host, r->host0);
        CHECK_INT(l.at[0].port, r->port0);
        CHECK_STR(l.at[l.n - 1].host, r->host_last);
        CHECK_INT(l.at[l.n - 1].port, r->port_last);
    }
}

/* n entries "hI:I" joined by commas. */
static void many(char *buf, size_t cap, size_t n)
{
    size_t at = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%sh%zu:%zu", i ? "," : "",
                               i, i + 1);
}

static void list_limits(void)
{
    char buf[4096];
    char host[SENTINEL_HOST_MAX + 8];
    struct sentinel_list l;
    const char *why;

    many(buf, sizeof(buf), SENTINEL_MAX);
    CHECK_INT(sentinel_list_parse(buf, &l, &why), SENTINEL_OK);
    CHECK_INT(l.n, SENTINEL_MAX);
    CHECK_INT(l.at[SENTINEL_MAX - 1].port, SENTINEL_MAX);
    many(buf, sizeof(buf), SENTINEL_MAX + 1);
    CHECK_INT(sentinel_list_parse(buf, &l, &why), SENTINEL_ERR_TOO_MANY);

    /* A host of SENTINEL_HOST_MAX - 1 bytes fits with its NUL. */
    memset(host, 'h', SENTINEL_HOST_MAX - 1);
    snprintf(host + SENTINEL_HOST_MAX - 1, 8, ":1");
    CHECK_INT(sentinel_list_parse(host, &l, &why), SENTINEL_OK);
    CHECK_INT(strlen(l.at[0].host), SENTINEL_HOST_MAX - 1);
    memset(host, 'h', SENTINEL_HOST_MAX);
    snprintf(host + SENTINEL_HOST_MAX, 8, ":1");
    CHECK_INT(sentinel_list_parse(host, &l, &why), SENTINEL_ERR_HOST);
}

static void names(void)
{
    char name[SENTINEL_NAME_MAX + 2];

    CHECK(sentinel_name_valid("chat"));
    CHECK(sentinel_name_valid("my-master_1.x"));
    CHECK(!sentinel_name_valid(""));
    CHECK(!sentinel_name_valid("my master"));
    CHECK(!sentinel_name_valid("a\tb"));
    CHECK(!sentinel_name_valid("caf\xc3\xa9"));
    memset(name, 'm', SENTINEL_NAME_MAX);
    name[SENTINEL_NAME_MAX] = '\0';
    CHECK(sentinel_name_valid(name));
    name[SENTINEL_NAME_MAX] = 'm';
    name[SENTINEL_NAME_MAX + 1] = '\0';
    CHECK(!sentinel_name_valid(name));
}

struct reply_row {
    const char *host;
    const char *port;
    enum sentinel_err want;
};

static const struct reply_row reply_rows[] = {
    {"10.0.0.5", "6379", SENTINEL_OK},
    {"chat-redis-1.chat-redis", "6379", SENTINEL_OK},
    {"::1", "6380", SENTINEL_OK},
    {"10.0.0.5", "65535", SENTINEL_OK},
    {"10.0.0.5", "65536", SENTINEL_ERR_REPLY},
    {"10.0.0.5", "0", SENTINEL_ERR_REPLY},
    {"10.0.0.5", "", SENTINEL_ERR_REPLY},
    {"", "6379", SENTINEL_ERR_REPLY},
    {"10.0.0.5 x", "6379", SENTINEL_ERR_REPLY},
    {"10.0.0.5", "63 79", SENTINEL_ERR_REPLY},
};

static void replies(void)
{
    for (size_t i = 0; i < sizeof(reply_rows) / sizeof(reply_rows[0]); i++) {
        const struct reply_row *r = &reply_rows[i];
        struct sentinel_addr a;
        enum sentinel_err got = sentinel_addr_from_reply(
            r->host, strlen(r->host), r->port, strlen(r->port), &a);

        CHECK_MSG(got == r->want, "reply %s %s: %d, want %d", r->host, r->port,
                  got, r->want);
        if (got == SENTINEL_OK) {
            CHECK_STR(a.host, r->host);
            CHECK_INT(a.port, strtol(r->port, NULL, 10));
        }
    }
}

struct switch_row {
    const char *msg;
    enum sentinel_err want;
    const char *host;
    int port;
};

static const struct switch_row switch_rows[] = {
    {"chat 10.0.0.1 6379 10.0.0.2 6380", SENTINEL_OK, "10.0.0.2", 6380},
    {"chat redis-0.r 6379 redis-1.r 6379", SENTINEL_OK, "redis-1.r", 6379},
    {"other 10.0.0.1 6379 10.0.0.2 6380", SENTINEL_ERR_OTHER},
    {"chatx 10.0.0.1 6379 10.0.0.2 6380", SENTINEL_ERR_OTHER},
    {"cha 10.0.0.1 6379 10.0.0.2 6380", SENTINEL_ERR_OTHER},
    {"chat 10.0.0.1 6379 10.0.0.2", SENTINEL_ERR_REPLY},
    {"chat 10.0.0.1 6379 10.0.0.2 6380 x", SENTINEL_ERR_REPLY},
    {"chat 10.0.0.1 6379 10.0.0.2 6380 ", SENTINEL_ERR_REPLY},
    {"chat  10.0.0.1 6379 10.0.0.2 6380", SENTINEL_ERR_REPLY},
    {"chat 10.0.0.1 6379 10.0.0.2 x", SENTINEL_ERR_REPLY},
    {"", SENTINEL_ERR_REPLY},
};

static void switches(void)
{
    for (size_t i = 0; i < sizeof(switch_rows) / sizeof(switch_rows[0]); i++) {
        const struct switch_row *r = &switch_rows[i];
        struct sentinel_addr a;
        enum sentinel_err got =
            sentinel_switch_parse(r->msg, strlen(r->msg), "chat", &a);

        CHECK_MSG(got == r->want, "\"%s\": %d, want %d", r->msg, got, r->want);
        if (got == SENTINEL_OK) {
            CHECK_STR(a.host, r->host);
            CHECK_INT(a.port, r->port);
        }
    }
}

static void next_and_role(void)
{
    CHECK_INT(sentinel_next(0, 3), 1);
    CHECK_INT(sentinel_next(1, 3), 2);
    CHECK_INT(sentinel_next(2, 3), 0);
    CHECK_INT(sentinel_next(0, 1), 0);
    CHECK_INT(sentinel_next(0, 0), 0);
    CHECK(sentinel_role_is_primary("master", 6));
    CHECK(!sentinel_role_is_primary("slave", 5));
    CHECK(!sentinel_role_is_primary("sentinel", 8));
    CHECK(!sentinel_role_is_primary("masterx", 7));
    CHECK(!sentinel_role_is_primary("maste", 5));
}

static void info_fields(void)
{
    const char info[] = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
                        "master_replid:0123456789abcdef0123456789abcdef0123"
                        "4567\r\nmaster_replid2:00\r\nlast:x";
    char buf[41];
    char *v = buf;
    char small[4];

    CHECK(sentinel_info_field(info, strlen(info), "role", v, sizeof(buf)));
    CHECK_STR(v, "master");
    CHECK(sentinel_info_field(info, strlen(info), "master_replid", v,
                              sizeof(buf)));
    CHECK_STR(v, "0123456789abcdef0123456789abcdef01234567");
    CHECK(sentinel_info_field(info, strlen(info), "master_replid2", v,
                              sizeof(buf)));
    CHECK_STR(v, "00");
    CHECK(sentinel_info_field(info, strlen(info), "last", v, sizeof(buf)));
    CHECK_STR(v, "x");
    CHECK(!sentinel_info_field(info, strlen(info), "master", v, sizeof(buf)));
    CHECK(!sentinel_info_field(info, strlen(info), "absent", v, sizeof(buf)));
    /* "master" is 6 bytes: a cap of 7 holds it, 6 does not. */
    CHECK(
        !sentinel_info_field(info, strlen(info), "role", small, sizeof(small)));
    CHECK(sentinel_info_field("role:abc", 8, "role", small, sizeof(small)));
    CHECK(!sentinel_info_field("role:abcd", 9, "role", small, sizeof(small)));
}

static void addr_text(void)
{
    struct sentinel_addr a = {"10.0.0.1", 6379};
    struct sentinel_addr b = {"::1", 6379};
    char buf[64];
    char *t = buf;

    sentinel_addr_text(&a, t, sizeof(buf));
    CHECK_STR(t, "10.0.0.1:6379");
    sentinel_addr_text(&b, t, sizeof(buf));
    CHECK_STR(t, "[::1]:6379");
    CHECK(sentinel_addr_equal(&a, &a));
    CHECK(!sentinel_addr_equal(&a, &b));
    b = a;
    b.port = 6380;
    CHECK(!sentinel_addr_equal(&a, &b));
}

int main(void)
{
    list_parse_rows();
    list_limits();
    names();
    replies();
    switches();
    next_and_role();
    info_fields();
    addr_text();
    return check_summary();
}
