/*
 * libFuzzer harness for the gateway's client request parser
 * (gateway/request.c): the whole input is one WebSocket text frame, given
 * in an exact-size heap copy so a read past it is an ASan report.
 * run.sh lets inputs grow past the 4 KiB frame cap (request.options) so
 * both sides of the limit are reached.
 *
 * fuzz-links: gateway/request.c
 */
#include "chat_limits.h"
#include "fuzz_check.h"
#include "request.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const char *buf, size_t len,
                           const struct gw_request *r)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, 0, &jerr);

    /* An accepted request is a JSON object, whatever else it holds. */
    FUZZ_REQUIRE(root && json_is_object(root));
    FUZZ_REQUIRE(json_object_size(root) >= 1 && json_object_size(root) <= 3);
    if (r->kind == GW_REQUEST_PAGE) {
        FUZZ_REQUIRE(r->first_id >= 0);
        FUZZ_REQUIRE(r->last_id >= -1);
        FUZZ_REQUIRE(!json_object_get(root, "after_id"));
    } else {
        FUZZ_REQUIRE(r->kind == GW_REQUEST_AFTER);
        FUZZ_REQUIRE(r->after_id >= 0);
        FUZZ_REQUIRE(json_object_size(root) == 1);
        FUZZ_REQUIRE(json_integer_value(json_object_get(root, "after_id")) ==
                     r->after_id);
    }
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_request r;
    enum gw_request_err err;
    char *buf = malloc(size ? size : 1);

    FUZZ_REQUIRE(buf != NULL);
    memcpy(buf, data, size);
    memset(&r, 0xA5, sizeof(r));
    err = gw_request_parse(buf, size, &r);
    FUZZ_REQUIRE(gw_request_err_str(err) != NULL);
    if (size > CHAT_WS_FRAME_MAX)
        FUZZ_REQUIRE(err == GW_REQUEST_ERR_TOO_BIG);
    else
        FUZZ_REQUIRE(err != GW_REQUEST_ERR_TOO_BIG);
    if (err == GW_REQUEST_OK)
        check_accepted(buf, size, &r);
    free(buf);
    return 0;
}
