/*
 * libFuzzer harness for how the gateway reads what Redis answers: stream
 * replies (XRANGE/XREVRANGE arrays of [entry id, [field, value, ...]])
 * through gateway/stream.c into reply frames (gateway/reply.c), and live
 * payloads through the ordering rules (gateway/order.c). Replies come from
 * real RESP bytes through hiredis' own reader, so every reply shape Redis
 * could send is reachable.
 *
 * Input: byte 0 even -> the rest is RESP, each reply a history answer
 * (bit 1 of byte 0: a page, newest first; bit 2: a tagged request); odd ->
 * the rest is lines, each a published payload, except "!" (the
 * subscription drops and comes back) and "#" (the pending fetch is
 * answered from what was published so far).
 * Checks: a reply frame holds exactly the entries the harness itself
 * finds valid, in the requested shape; forwarded messages come out in
 * strictly increasing id order, and no fetch asks for an id at or below
 * the last one forwarded.
 *
 * fuzz-links: gateway/payload.c gateway/frame.c gateway/stream.c
 * fuzz-links: gateway/reply.c gateway/order.c
 */
#include "fuzz_check.h"
#include "order.h"
#include "payload.h"
#include "reply.h"
#include "stream.h"

#include <hiredis.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 3
#define HOLD_MAX 4
#define KEPT_MAX 64
#define TAG      "f1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's own reading of one entry, apart from stream.c's. */
static int entry_valid(const redisReply *e)
{
    const redisReply *f;
    long long id;

    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(f->element[i]->str, "m") == 0 &&
            f->element[i + 1]->type == REDIS_REPLY_STRING)
            return gw_payload_entry(e->element[0]->str, f->element[i + 1]->str,
                                    f->element[i + 1]->len,
                                    &id) == GW_PAYLOAD_OK;
    }
    return 0;
}

/* The messages array of a reply frame, tagged or bare. */
static json_t *messages_of(json_t *root, int tagged)
{
    if (!tagged)
        return root;
    FUZZ_REQUIRE(json_is_object(root));
    FUZZ_REQUIRE(
        strcmp(json_string_value(json_object_get(root, "type")), "reply") == 0);
    FUZZ_REQUIRE(strcmp(json_string_value(json_object_get(root, "req")), TAG) ==
                 0);
    return json_object_get(root, "messages");
}

static void check_reply(const redisReply *rep, int page, int tagged)
{
    struct gw_stream_page p;
    struct gw_frame *f;
    json_error_t jerr;
    json_t *root, *arr, *v;
    size_t valid = 0, i;

    if (gw_stream_page_read(rep, &p)) {
        FUZZ_REQUIRE(rep->type != REDIS_REPLY_ARRAY);
        return;
    }
    for (i = 0; i < rep->elements; i++)
        valid += (size_t)entry_valid(rep->element[i]);
    FUZZ_REQUIRE(p.n == valid && p.n + p.invalid == rep->elements);
    f = gw_reply_messages(16, tagged ? TAG : "", p.e, p.n, p.bytes, page);
    FUZZ_REQUIRE(f != NULL);
    root = json_loadb((const char *)gw_frame_payload(f), f->len, 0, &jerr);
    FUZZ_REQUIRE(root != NULL);
    arr = messages_of(root, tagged);
    FUZZ_REQUIRE(json_is_array(arr) && json_array_size(arr) == valid);
    json_array_foreach(arr, i, v)
    {
        long long id = json_integer_value(json_object_get(v, "id"));

        /* The reply keeps the stream's order, reversed for a page. */
        FUZZ_REQUIRE(json_is_object(v) && id > 0);
        FUZZ_REQUIRE(id == p.e[page ? p.n - 1 - i : i].id);
    }
    json_decref(root);
    gw_frame_unref(f);
    gw_stream_page_cleanup(&p);
}

/*
 * hiredis 0.14 allocates an array as soon as it reads "*N", before any
 * element has arrived. A real reply of N elements takes at least 3N
 * bytes, so a header claiming more than the input could hold is no reply
 * Redis sends, only a way to make hiredis (not the gateway) ask for
 * gigabytes; such inputs are skipped.
 */
static int claims_too_much(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned long long v = 0;
        size_t j = i + 1;

        if (d[i] != '*')
            continue;
        while (j < n && d[j] >= '0' && d[j] <= '9' && v <= n)
            v = v * 10 + (unsigned long long)(d[j++] - '0');
        if (v > n)
            return 1;
    }
    return 0;
}

static void history_replies(const uint8_t *data, size_t size, int page,
                            int tagged)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;

    FUZZ_REQUIRE(rd != NULL);
    if (claims_too_much(data, size) ||
        redisReaderFeed(rd, (const char *)data, size) != REDIS_OK)
        goto out_free_reader;
    while (redisReaderGetReply(rd, &reply) == REDIS_OK && reply) {
        check_reply(reply, page, tagged);
        freeReplyObject(reply);
    }
out_free_reader:
    redisReaderFree(rd);
}

/* ---- the live side: a pretend Redis holding what was published ---- */

struct live {
    struct gw_order *o;
    long long last_forwarded;
    long long fetch_from; /* 0: no fetch pending */
    size_t kept;
    long long ids[KEPT_MAX];
    char texts[KEPT_MAX][96];
};

static void on_forward(void *user, long long id, const char *json, size_t len)
{
    struct live *l = user;

    (void)json, (void)len;
    FUZZ_REQUIRE(id > l->last_forwarded);
    l->last_forwarded = id;
}

static void on_fetch(void *user, long long from)
{
    struct live *l = user;

    FUZZ_REQUIRE(from > l->last_forwarded);
    l->fetch_from = from;
}

static void on_fetch_floor(void *user)
{
    (void)user;
}

static int live_one(void *user, long long id, const char *json, size_t len)
{
    struct live *l = user;

    /* Short messages are "stored" so a fetch can find them. */
    if (l->kept < KEPT_MAX && len < sizeof(l->texts[0])) {
        l->ids[l->kept] = id;
        memcpy(l->texts[l->kept], json, len);
        l->texts[l->kept][len] = '\0';
        l->kept++;
    }
    gw_order_live(l->o, id, json, len);
    return 0;
}

/* Answer the pending fetch with what was kept, ascending, a page at most. */
static void answer_fetch(struct live *l)
{
    struct gw_entry e[PAGE_MAX];
    size_t n = 0;
    long long read_to = 0;

    if (!l->fetch_from)
        return;
    for (size_t i = 0; i < l->kept && n < PAGE_MAX; i++) {
        if (l->ids[i] < l->fetch_from || l->ids[i] <= read_to)
            continue;
        e[n].id = l->ids[i];
        e[n].json = l->texts[i];
        e[n].len = strlen(l->texts[i]);
        read_to = e[n].id;
        n++;
    }
    l->fetch_from = 0;
    gw_order_page(l->o, e, n, n == PAGE_MAX, read_to);
}

static void live_payloads(const uint8_t *data, size_t size)
{
    static const struct gw_order_ops ops = {on_forward, on_fetch,
                                            on_fetch_floor};
    struct gw_order_config cfg = {PAGE_MAX, HOLD_MAX};
    struct live *l = calloc(1, sizeof(*l));
    size_t pos = 0;

    FUZZ_REQUIRE(l != NULL);
    l->o = gw_order_new(&cfg, &ops, l);
    FUZZ_REQUIRE(l->o != NULL);
    gw_order_cmd_up(l->o);
    gw_order_subscribed(l->o);
    gw_order_floor(l->o, 0);
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
        const char *line = (const char *)data + pos;

        if (len == 1 && line[0] == '!') {
            gw_order_unsubscribed(l->o);
            gw_order_subscribed(l->o);
        } else if (len == 1 && line[0] == '#') {
            answer_fetch(l);
        } else {
            (void)gw_payload_published(line, len, live_one, l);
        }
        pos += len + 1;
    }
    gw_order_free(l->o);
    free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        live_payloads(data + 1, size - 1);
    else
        history_replies(data + 1, size - 1, data[0] & 2, data[0] & 4);
    return 0;
}
