/* gateway/payload.c: what the gateway accepts from Redis. */
#include "check.h"
#include "payload.h"

#include <stdio.h>
#include <string.h>

struct seen {
    int calls;
    long long ids[4];
    char text[4][128];
};

static int collect(void *user, long long id, const char *json, size_t len)
{
    struct seen *s = user;

    if (s->calls < 4) {
        s->ids[s->calls] = id;
        snprintf(s->text[s->calls], sizeof(s->text[0]), "%.*s", (int)len, json);
    }
    s->calls++;
    return 0;
}

struct pub_row {
    const char *in;
    enum gw_payload_err err;
    int calls;
    long long id0;
    const char *text0;
};

static const struct pub_row pub_rows[] = {
    {"[{\"id\":1,\"name\":\"x\"}]", GW_PAYLOAD_OK, 1, 1,
     "{\"id\":1,\"name\":\"x\"}"},
    /* The original bytes pass through, escapes and all. */
    {"[{\"id\":7,\"content\":\"\\u00fc \\/ \xc3\xbc\"}]", GW_PAYLOAD_OK, 1, 7,
     "{\"id\":7,\"content\":\"\\u00fc \\/ \xc3\xbc\"}"},
    {" [ {\"id\":2} ] ", GW_PAYLOAD_OK, 1, 2, "{\"id\":2}"},
    {"[{\"id\":3},{\"id\":4}]", GW_PAYLOAD_OK, 2, 3, "{\"id\":3}"},
    {"[{\"id\":9223372036854775807}]", GW_PAYLOAD_OK, 1, 9223372036854775807LL,
     "{\"id\":9223372036854775807}"},
    {"[]", GW_PAYLOAD_ERR_SHAPE, 0, 0, NULL},
    {"{\"id\":1}", GW_PAYLOAD_ERR_SHAPE, 0, 0, NULL},
    {"[1]", GW_PAYLOAD_ERR_SHAPE, 0, 0, NULL},
    {"[{\"id\":1},2]", GW_PAYLOAD_ERR_SHAPE, 0, 0, NULL},
    {"[{\"id\":0}]", GW_PAYLOAD_ERR_ID, 0, 0, NULL},
    {"[{\"id\":-5}]", GW_PAYLOAD_ERR_ID, 0, 0, NULL},
    {"[{\"id\":\"1\"}]", GW_PAYLOAD_ERR_ID, 0, 0, NULL},
    {"[{\"id\":1.5}]", GW_PAYLOAD_ERR_ID, 0, 0, NULL},
    {"[{\"name\":\"x\"}]", GW_PAYLOAD_ERR_ID, 0, 0, NULL},
    {"[{\"id\":1},{\"id\":null}]", GW_PAYLOAD_ERR_ID, 0, 0, NULL},
    {"[{\"id\":1}", GW_PAYLOAD_ERR_JSON, 0, 0, NULL},
    {"[{\"id\":1,\"id\":2}]", GW_PAYLOAD_ERR_JSON, 0, 0, NULL},
    {"", GW_PAYLOAD_ERR_JSON, 0, 0, NULL},
    {"hello", GW_PAYLOAD_ERR_JSON, 0, 0, NULL},
};

static void published(void)
{
    for (size_t i = 0; i < sizeof(pub_rows) / sizeof(pub_rows[0]); i++) {
        const struct pub_row *r = &pub_rows[i];
        struct seen s = {0};
        enum gw_payload_err err =
            gw_payload_published(r->in, strlen(r->in), collect, &s);

        CHECK_MSG(err == r->err, "row %zu: err %d, want %d", i, (int)err,
                  (int)r->err);
        CHECK_MSG(s.calls == r->calls, "row %zu: %d calls, want %d", i, s.calls,
                  r->calls);
        if (r->calls) {
            CHECK_INT(s.ids[0], r->id0);
            CHECK_STR(s.text[0], r->text0);
        }
    }
}

static void published_many(void)
{
    const char *in = "[{\"id\":3,\"a\":\"b\"} , {\"id\":4}]";
    struct seen s = {0};

    CHECK_INT(gw_payload_published(in, strlen(in), collect, &s), GW_PAYLOAD_OK);
    CHECK_INT(s.calls, 2);
    CHECK_INT(s.ids[1], 4);
    CHECK_STR(s.text[0], "{\"id\":3,\"a\":\"b\"}");
    CHECK_STR(s.text[1], "{\"id\":4}");
}

struct entry_row {
    const char *entry_id;
    const char *m;
    enum gw_payload_err err;
    long long id;
};

static const struct entry_row entry_rows[] = {
    {"5-0", "{\"id\":5,\"name\":\"n\"}", GW_PAYLOAD_OK, 5},
    {"120-0", "{\"id\":120}", GW_PAYLOAD_OK, 120},
    {"5-0", "{\"id\":6}", GW_PAYLOAD_ERR_ID, 0},
    {"5-0", "{\"name\":\"n\"}", GW_PAYLOAD_ERR_ID, 0},
    {"0-1", "{\"id\":0}", GW_PAYLOAD_ERR_ID, 0},
    {"x-0", "{\"id\":5}", GW_PAYLOAD_ERR_ID, 0},
    {"5", "{\"id\":5}", GW_PAYLOAD_ERR_ID, 0},
    {"-5-0", "{\"id\":5}", GW_PAYLOAD_ERR_ID, 0},
    {"18446744073709551615-0", "{\"id\":5}", GW_PAYLOAD_ERR_ID, 0},
    {"5-0", "[{\"id\":5}]", GW_PAYLOAD_ERR_SHAPE, 0},
    {"5-0", "nope", GW_PAYLOAD_ERR_JSON, 0},
    {"5-0", "", GW_PAYLOAD_ERR_JSON, 0},
};

static void entries(void)
{
    for (size_t i = 0; i < sizeof(entry_rows) / sizeof(entry_rows[0]); i++) {
        const struct entry_row *r = &entry_rows[i];
        long long id = 0;
        enum gw_payload_err err =
            gw_payload_entry(r->entry_id, r->m, strlen(r->m), &id);

        CHECK_MSG(err == r->err, "entry row %zu: err %d, want %d", i, (int)err,
                  (int)r->err);
        if (!r->err)
            CHECK_INT(id, r->id);
    }
    CHECK_INT(gw_payload_entry_ms("42-0"), 42);
    CHECK_INT(gw_payload_entry_ms("9223372036854775807-0"),
              9223372036854775807LL);
    CHECK_INT(gw_payload_entry_ms("9223372036854775808-0"), -1);
    CHECK_INT(gw_payload_entry_ms(NULL), -1);
    CHECK_INT(gw_payload_entry_ms(""), -1);
}

int main(void)
{
    published();
    published_many();
    entries();
    return check_summary();
}
