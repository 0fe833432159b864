/*
 * libFuzzer harness for how the gateway walks what Redis answers
 * (gateway/redis.c): history replies (XRANGE/XREVRANGE arrays of
 * [entry id, [field, value, ...]]) and the ordering of live payloads.
 * Those walkers are file-local to redis.c, so this harness includes the
 * file itself and drives them with a struct gw_redis that has no
 * connections. Replies come from real RESP bytes through hiredis' own
 * reader, so every reply shape Redis could send is reachable.
 *
 * Input: byte 0 even -> the rest is RESP, each reply a history answer
 * (bit 1 of byte 0: a page, i.e. newest first); odd -> the rest is lines,
 * each a published payload, a line "!" toggling backfill mode.
 * Checks: a history frame is a JSON array holding exactly the valid
 * entries; live messages come out in strictly increasing id order.
 *
 * fuzz-links: gateway/payload.c gateway/frame.c gateway/redis_lws.c
 */
#include "fuzz_check.h"
#include "redis.c"

#include <hiredis.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bad entries are logged as warnings; millions of lines would only slow
 * the search down. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_LEVEL_ERROR);
    return 0;
}

struct expect {
    size_t valid; /* entries the harness itself finds valid */
    long long last_id;
    size_t delivered;
};

/* The harness's own reading of one entry, apart from redis.c's. */
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

static void on_history(void *user, uint64_t sid, struct gw_frame *reply,
                       const char *error)
{
    struct expect *x = user;
    json_error_t jerr;
    json_t *arr;
    size_t i;
    json_t *v;

    FUZZ_REQUIRE(sid == 42);
    if (!reply) {
        FUZZ_REQUIRE(error && error[0]);
        return;
    }
    arr =
        json_loadb((const char *)gw_frame_payload(reply), reply->len, 0, &jerr);
    FUZZ_REQUIRE(arr && json_is_array(arr));
    FUZZ_REQUIRE(json_array_size(arr) == x->valid);
    json_array_foreach(arr, i, v)
    {
        FUZZ_REQUIRE(json_is_object(v));
        FUZZ_REQUIRE(json_integer_value(json_object_get(v, "id")) > 0);
    }
    json_decref(arr);
    gw_frame_unref(reply);
}

static void on_message(void *user, const char *json, size_t len)
{
    struct expect *x = user;
    json_error_t jerr;
    json_t *obj = json_loadb(json, len, 0, &jerr);
    long long id;

    FUZZ_REQUIRE(obj && json_is_object(obj));
    id = json_integer_value(json_object_get(obj, "id"));
    FUZZ_REQUIRE(id > x->last_id);
    x->last_id = id;
    x->delivered++;
    json_decref(obj);
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

static void history_replies(struct gw_redis *r, struct expect *x,
                            const uint8_t *data, size_t size, int page)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;

    FUZZ_REQUIRE(rd != NULL);
    if (claims_too_much(data, size) ||
        redisReaderFeed(rd, (const char *)data, size) != REDIS_OK)
        goto out_free_reader;
    while (redisReaderGetReply(rd, &reply) == REDIS_OK && reply) {
        redisReply *rep = reply;
        struct hist_req *h = calloc(1, sizeof(*h));

        FUZZ_REQUIRE(h != NULL);
        h->r = r;
        h->sid = 42;
        h->req.kind = page ? GW_REQUEST_PAGE : GW_REQUEST_AFTER;
        x->valid = 0;
        if (rep->type == REDIS_REPLY_ARRAY)
            for (size_t i = 0; i < rep->elements; i++)
                x->valid += (size_t)entry_valid(rep->element[i]);
        r->queued++;
        hist_reply(NULL, rep, h);
        freeReplyObject(rep);
    }
out_free_reader:
    redisReaderFree(rd);
}

static void live_payloads(struct gw_redis *r, const uint8_t *data, size_t size)
{
    size_t pos = 0;

    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
        char *line = malloc(len ? len : 1);

        FUZZ_REQUIRE(line != NULL);
        memcpy(line, data + pos, len);
        if (len == 1 && line[0] == '!') {
            if (r->backfilling)
                backfill_finish(r);
            else
                r->backfilling = 1;
        } else if (gw_payload_published(line, len, live_one, r) !=
                   GW_PAYLOAD_OK) {
            r->stats.invalid++;
        }
        free(line);
        pos += len + 1;
    }
    if (r->backfilling)
        backfill_finish(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct gw_redis_events events = {.message = on_message,
                                                  .history = on_history};
    struct gw_config cfg;
    struct gw_redis r;
    struct expect x = {0, 0, 0};

    if (size < 1)
        return 0;
    memset(&cfg, 0, sizeof(cfg));
    cfg.queue_max_msgs = 4;
    memset(&r, 0, sizeof(r));
    r.cfg = &cfg;
    r.ev = &events;
    r.user = &x;
    r.pre = 16;
    r.held_tail = &r.held_head;
    r.wait_tail = &r.wait_head;
    if (data[0] & 1)
        live_payloads(&r, data + 1, size - 1);
    else
        history_replies(&r, &x, data + 1, size - 1, data[0] & 2);
    held_clear(&r);
    return 0;
}
