/*
 * libFuzzer harness for what the gateway accepts from Redis
 * (gateway/payload.c): published channel payloads and history stream
 * entries. Redis is ours, but a bad or hostile entry must be skipped, not
 * crash every gateway.
 *
 * Input layout: byte 0 even -> the rest is a channel payload; odd -> the
 * rest up to the first '\n' is a stream entry id, after it the "m" field.
 * Besides memory safety it checks the contract: callbacks only for a
 * fully valid payload, one per element in order, each handing over JSON
 * text that parses to exactly that element, with its id.
 *
 * fuzz-links: gateway/payload.c
 */
#include "fuzz_check.h"
#include "payload.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    json_t *array; /* our own parse of the payload, or NULL */
    size_t calls;
    size_t stop_after; /* return non-zero after this many calls */
};

static int on_message(void *user, long long id, const char *json, size_t len)
{
    struct seen *s = user;
    json_error_t jerr;
    json_t *got, *want;

    FUZZ_REQUIRE(s->array != NULL);
    want = json_array_get(s->array, s->calls);
    FUZZ_REQUIRE(want != NULL);
    got = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    FUZZ_REQUIRE(got && json_is_object(got));
    FUZZ_REQUIRE(json_equal(got, want));
    FUZZ_REQUIRE(id > 0);
    FUZZ_REQUIRE(json_integer_value(json_object_get(got, "id")) == id);
    json_decref(got);
    s->calls++;
    return s->calls >= s->stop_after;
}

static void check_published(const uint8_t *data, size_t size, size_t stop)
{
    json_error_t jerr;
    struct seen s = {NULL, 0, stop};
    char *buf = malloc(size ? size : 1);
    enum gw_payload_err err;

    FUZZ_REQUIRE(buf != NULL);
    memcpy(buf, data, size);
    s.array = json_loadb(buf, size, JSON_REJECT_DUPLICATES, &jerr);
    err = gw_payload_published(buf, size, on_message, &s);
    if (err == GW_PAYLOAD_OK) {
        FUZZ_REQUIRE(json_is_array(s.array));
        FUZZ_REQUIRE(s.calls == json_array_size(s.array) || s.calls == stop);
        FUZZ_REQUIRE(s.calls >= 1);
    } else {
        FUZZ_REQUIRE(s.calls == 0);
    }
    json_decref(s.array);
    free(buf);
}

static void check_entry(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t idlen = nl ? (size_t)(nl - data) : size;
    size_t mlen = nl ? size - idlen - 1 : 0;
    char *entry_id = malloc(idlen + 1);
    char *m = malloc(mlen ? mlen : 1);
    long long id = -7, ms;
    enum gw_payload_err err;

    FUZZ_REQUIRE(entry_id && m);
    memcpy(entry_id, data, idlen);
    entry_id[idlen] = '\0';
    if (mlen)
        memcpy(m, nl + 1, mlen);
    ms = gw_payload_entry_ms(entry_id);
    FUZZ_REQUIRE(ms >= -1);
    err = gw_payload_entry(entry_id, m, mlen, &id);
    if (err == GW_PAYLOAD_OK) {
        json_error_t jerr;
        json_t *obj = json_loadb(m, mlen, 0, &jerr);

        FUZZ_REQUIRE(id > 0 && id == ms);
        FUZZ_REQUIRE(obj && json_is_object(obj));
        FUZZ_REQUIRE(json_integer_value(json_object_get(obj, "id")) == id);
        json_decref(obj);
    }
    free(entry_id);
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        check_entry(data + 1, size - 1);
    else
        check_published(data + 1, size - 1, (size_t)(data[0] >> 1) + 1);
    return 0;
}
