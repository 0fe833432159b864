/* gateway/request.c: the client requests of PROTOCOL.md §4. */
#include "chat_limits.h"
#include "check.h"
#include "request.h"

#include <stdio.h>
#include <string.h>

struct row {
    const char *in;
    enum gw_request_err err;
    enum gw_request_kind kind;
    long long first, last, after;
};

static const struct row rows[] = {
    {"{\"first_id\":0,\"last_id\":-1}", GW_REQUEST_OK, GW_REQUEST_PAGE, 0, -1,
     0},
    {"{\"first_id\":5,\"last_id\":10}", GW_REQUEST_OK, GW_REQUEST_PAGE, 5, 10,
     0},
    {"{\"last_id\":-1}", GW_REQUEST_OK, GW_REQUEST_PAGE, 0, -1, 0},
    {"{\"last_id\":71}", GW_REQUEST_OK, GW_REQUEST_PAGE, 0, 71, 0},
    {"{\"first_id\":3}", GW_REQUEST_OK, GW_REQUEST_PAGE, 3, -1, 0},
    {" { \"last_id\" : 0 , \"first_id\" : 0 } ", GW_REQUEST_OK, GW_REQUEST_PAGE,
     0, 0, 0},
    {"{\"after_id\":0}", GW_REQUEST_OK, GW_REQUEST_AFTER, 0, -1, 0},
    {"{\"after_id\":120}", GW_REQUEST_OK, GW_REQUEST_AFTER, 0, -1, 120},
    {"{\"after_id\":9223372036854775807}", GW_REQUEST_OK, GW_REQUEST_AFTER, 0,
     -1, 9223372036854775807LL},
    {"{\"after_id\":9223372036854775808}", GW_REQUEST_ERR_JSON, 0, 0, 0, 0},
    {"{\"after_id\":-1}", GW_REQUEST_ERR_AFTER_ID, 0, 0, 0, 0},
    {"{\"after_id\":1.5}", GW_REQUEST_ERR_AFTER_ID, 0, 0, 0, 0},
    {"{\"after_id\":1.0}", GW_REQUEST_ERR_AFTER_ID, 0, 0, 0, 0},
    {"{\"after_id\":\"1\"}", GW_REQUEST_ERR_AFTER_ID, 0, 0, 0, 0},
    {"{\"after_id\":null}", GW_REQUEST_ERR_AFTER_ID, 0, 0, 0, 0},
    {"{\"after_id\":true}", GW_REQUEST_ERR_AFTER_ID, 0, 0, 0, 0},
    {"{\"first_id\":-1}", GW_REQUEST_ERR_FIRST_ID, 0, 0, 0, 0},
    {"{\"first_id\":1e3}", GW_REQUEST_ERR_FIRST_ID, 0, 0, 0, 0},
    {"{\"first_id\":[0]}", GW_REQUEST_ERR_FIRST_ID, 0, 0, 0, 0},
    {"{\"last_id\":-2}", GW_REQUEST_ERR_LAST_ID, 0, 0, 0, 0},
    {"{\"last_id\":{}}", GW_REQUEST_ERR_LAST_ID, 0, 0, 0, 0},
    {"{\"first_id\":0,\"after_id\":1}", GW_REQUEST_ERR_MIXED, 0, 0, 0, 0},
    {"{\"last_id\":-1,\"after_id\":1}", GW_REQUEST_ERR_MIXED, 0, 0, 0, 0},
    {"{}", GW_REQUEST_ERR_EMPTY, 0, 0, 0, 0},
    {"{\"first_id\":0,\"x\":1}", GW_REQUEST_ERR_UNKNOWN_MEMBER, 0, 0, 0, 0},
    {"{\"type\":\"ping\"}", GW_REQUEST_ERR_UNKNOWN_MEMBER, 0, 0, 0, 0},
    {"{\"first_id\":0,\"first_id\":1}", GW_REQUEST_ERR_JSON, 0, 0, 0, 0},
    {"[]", GW_REQUEST_ERR_NOT_OBJECT, 0, 0, 0, 0},
    {"[{\"first_id\":0}]", GW_REQUEST_ERR_NOT_OBJECT, 0, 0, 0, 0},
    {"1", GW_REQUEST_ERR_JSON, 0, 0, 0, 0},
    {"\"first_id\"", GW_REQUEST_ERR_JSON, 0, 0, 0, 0},
    {"null", GW_REQUEST_ERR_JSON, 0, 0, 0, 0},
    {"", GW_REQUEST_ERR_JSON, 0, 0, 0, 0},
    {"garbage", GW_REQUEST_ERR_JSON, 0, 0, 0, 0},
    {"{\"first_id\":0", GW_REQUEST_ERR_JSON, 0, 0, 0, 0},
    {"{\"first_id\":0} {}", GW_REQUEST_ERR_JSON, 0, 0, 0, 0},
};

static void run_rows(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct gw_request q;
        enum gw_request_err err = gw_request_parse(r->in, strlen(r->in), &q);

        CHECK_MSG(err == r->err, "row %zu \"%s\": err %d, want %d", i, r->in,
                  (int)err, (int)r->err);
        if (err || r->err)
            continue;
        CHECK_INT(q.kind, r->kind);
        if (q.kind == GW_REQUEST_PAGE) {
            CHECK_INT(q.first_id, r->first);
            CHECK_INT(q.last_id, r->last);
        } else {
            CHECK_INT(q.after_id, r->after);
        }
    }
}

struct tag_row {
    const char *in;
    enum gw_request_err err;
    const char *req; /* what out->req holds afterwards */
};

#define TAG32 "abcdefghijklmnopqrstuvwxyz012345"

static const struct tag_row tag_rows[] = {
    {"{\"after_id\":1,\"req\":\"a\"}", GW_REQUEST_OK, "a"},
    {"{\"first_id\":0,\"last_id\":-1,\"req\":\"A-z_09\"}", GW_REQUEST_OK,
     "A-z_09"},
    {"{\"after_id\":1,\"req\":\"" TAG32 "\"}", GW_REQUEST_OK, TAG32},
    {"{\"after_id\":1,\"req\":\"" TAG32 "6\"}", GW_REQUEST_ERR_REQ, ""},
    {"{\"after_id\":1,\"req\":\"\"}", GW_REQUEST_ERR_REQ, ""},
    {"{\"after_id\":1,\"req\":\"a b\"}", GW_REQUEST_ERR_REQ, ""},
    {"{\"after_id\":1,\"req\":\"a.b\"}", GW_REQUEST_ERR_REQ, ""},
    {"{\"after_id\":1,\"req\":\"\u00e9\"}", GW_REQUEST_ERR_REQ, ""},
    /* jansson refuses an escaped NUL: the JSON is bad, not just the tag. */
    {"{\"after_id\":1,\"req\":\"a\\u0000b\"}", GW_REQUEST_ERR_JSON, ""},
    {"{\"after_id\":1,\"req\":7}", GW_REQUEST_ERR_REQ, ""},
    {"{\"after_id\":1,\"req\":null}", GW_REQUEST_ERR_REQ, ""},
    /* A request that is wrong otherwise still names itself. */
    {"{\"after_id\":-1,\"req\":\"t9\"}", GW_REQUEST_ERR_AFTER_ID, "t9"},
    {"{\"x\":1,\"req\":\"t9\"}", GW_REQUEST_ERR_UNKNOWN_MEMBER, "t9"},
    {"{\"req\":\"t9\"}", GW_REQUEST_ERR_EMPTY, "t9"},
    {"{\"first_id\":0,\"after_id\":0,\"req\":\"t9\"}", GW_REQUEST_ERR_MIXED,
     "t9"},
    {"[\"req\"]", GW_REQUEST_ERR_NOT_OBJECT, ""},
    {"{\"req\":\"t9\"", GW_REQUEST_ERR_JSON, ""},
};

static void tags(void)
{
    for (size_t i = 0; i < sizeof(tag_rows) / sizeof(tag_rows[0]); i++) {
        const struct tag_row *r = &tag_rows[i];
        struct gw_request q;
        enum gw_request_err err;

        memcpy(q.req, "stale", 6);
        err = gw_request_parse(r->in, strlen(r->in), &q);
        CHECK_MSG(err == r->err, "tag row %zu \"%s\": err %d, want %d", i,
                  r->in, (int)err, (int)r->err);
        CHECK_MSG(strcmp(q.req, r->req) == 0,
                  "tag row %zu: req \"%s\", want \"%s\"", i, q.req, r->req);
    }
}

/* A valid request padded with blanks to exactly n bytes. */
static void padded(char *buf, size_t n)
{
    const char *req = "{\"after_id\":7}";

    memset(buf, ' ', n);
    memcpy(buf, req, strlen(req));
}

static void size_limit(void)
{
    static char buf[CHAT_WS_FRAME_MAX + 1];
    struct gw_request q;

    padded(buf, CHAT_WS_FRAME_MAX);
    CHECK_INT(gw_request_parse(buf, CHAT_WS_FRAME_MAX, &q), GW_REQUEST_OK);
    CHECK_INT(q.after_id, 7);
    padded(buf, CHAT_WS_FRAME_MAX + 1);
    CHECK_INT(gw_request_parse(buf, CHAT_WS_FRAME_MAX + 1, &q),
              GW_REQUEST_ERR_TOO_BIG);
}

static void not_nul_terminated(void)
{
    const char buf[] = "{\"after_id\":42}XYZ";
    struct gw_request q;

    CHECK_INT(gw_request_parse(buf, 15, &q), GW_REQUEST_OK);
    CHECK_INT(q.after_id, 42);
    /* An embedded NUL ends nothing: the bytes after it still count. */
    CHECK_INT(gw_request_parse("{\"after_id\":1}\0x", 16, &q),
              GW_REQUEST_ERR_JSON);
}

static void error_texts(void)
{
    for (int e = GW_REQUEST_OK; e <= GW_REQUEST_ERR_REQ + 1; e++) {
        const char *s = gw_request_err_str((enum gw_request_err)e);

        CHECK(s && s[0]);
        CHECK(!strchr(s, '"') && !strchr(s, '\\'));
    }
    CHECK_STR(gw_request_err_str(GW_REQUEST_ERR_JSON),
              "request is not valid JSON");
}

int main(void)
{
    run_rows();
    tags();
    size_limit();
    not_nul_terminated();
    error_texts();
    return check_summary();
}
