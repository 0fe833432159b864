/*
 * libFuzzer harness for the send handler's body parser (fcgi/form.c),
 * followed by the message rules, i.e. the whole path a POST body takes
 * before it reaches Redis.
 *
 * Input layout: everything up to the first '\n' is the Content-Type
 * header (so the fuzzer picks urlencoded or multipart and the boundary
 * itself; the seed corpus starts it off with both), the rest is the body.
 * The body gets its own exact-size writable heap copy, as the FastCGI
 * reader gives it, so any read or write past it is an ASan report.
 *
 * fuzz-links: fcgi/form.c
 */
#include "chat_msg.h"
#include "form.h"
#include "msg_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool span_inside(struct chat_span s, const char *buf, size_t len)
{
    if (!s.ptr)
        return s.len == 0;
    return s.ptr >= buf && s.len <= len && (size_t)(s.ptr - buf) <= len - s.len;
}

static void check_form_error(enum form_err code, const struct form_error *err)
{
    FUZZ_REQUIRE(code != FORM_OK);
    FUZZ_REQUIRE(err->code == code);
    FUZZ_REQUIRE(err->message && err->message[0]);
}

static void check_fields(const struct chat_fields *f, const char *body,
                         size_t len)
{
    FUZZ_REQUIRE(span_inside(f->name, body, len));
    FUZZ_REQUIRE(span_inside(f->email, body, len));
    FUZZ_REQUIRE(span_inside(f->topic, body, len));
    FUZZ_REQUIRE(span_inside(f->content, body, len));
    FUZZ_REQUIRE(span_inside(f->ephemeral, body, len));
    FUZZ_REQUIRE(span_inside(f->idem, body, len));
}

static void parse_body(const struct form_type *type, const uint8_t *data,
                       size_t len)
{
    static const struct timespec received = {1795845683, 456000000};
    struct chat_fields fields;
    struct form_error err;
    enum form_err code;
    char *body = malloc(len ? len : 1);

    FUZZ_REQUIRE(body != NULL);
    memcpy(body, data, len);
    memset(&fields, 0, sizeof(fields));
    memset(&err, 0, sizeof(err));
    code = form_parse(type, body, len, &fields, &err);
    if (code == FORM_OK) {
        check_fields(&fields, body, len);
        (void)fuzz_validate(&fields, &received);
    } else {
        check_form_error(code, &err);
    }
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    size_t blen = nl ? size - hlen - 1 : 0;
    struct form_type type;
    struct form_error err;
    enum form_err code;
    char *header;

    if (blen > CHAT_BODY_MAX)
        return 0; /* form_parse's contract: the caller caps the body */
    header = malloc(hlen + 1);
    FUZZ_REQUIRE(header != NULL);
    memcpy(header, data, hlen);
    header[hlen] = '\0';
    memset(&err, 0, sizeof(err));
    code = form_content_type(header, &type, &err);
    if (code == FORM_OK) {
        FUZZ_REQUIRE(type.kind == FORM_KIND_URLENCODED ||
                     type.kind == FORM_KIND_MULTIPART);
        if (type.kind == FORM_KIND_MULTIPART) {
            FUZZ_REQUIRE(type.boundary_len > 0);
            FUZZ_REQUIRE(span_inside(
                (struct chat_span){type.boundary, type.boundary_len}, header,
                strlen(header)));
        }
        parse_body(&type, nl ? nl + 1 : data + size, blen);
    } else {
        FUZZ_REQUIRE(
            code == FORM_ERR_CONTENT_TYPE ||
            (code == FORM_ERR_MALFORMED && type.kind == FORM_KIND_MULTIPART));
        check_form_error(code, &err);
    }
    free(header);
    return 0;
}
