/*
 * Invariants every accepted message must hold (PROTOCOL.md §1), shared by
 * the harnesses that reach chat_msg_parse. A broken invariant aborts, so
 * libFuzzer records the input as a crash. Header-only on purpose: each
 * harness is one translation unit built by tests/fuzz/run.sh.
 */
#ifndef FUZZ_MSG_CHECK_H
#define FUZZ_MSG_CHECK_H

#include "chat_msg.h"
#include "fuzz_check.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Count code points of a valid UTF-8 string, or return (size_t)-1 when it
 * is not valid (overlong forms, surrogates, beyond U+10FFFF). Written
 * apart from common/ so the harness does not trust the code it checks.
 */
static size_t fuzz_utf8_chars(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, chars = 0;

    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned cp;

        if (c < 0x80) {
            n = 1;
            cp = c;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            cp = c & 0x07;
        } else {
            return (size_t)-1;
        }
        if (i + n > len)
            return (size_t)-1;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return (size_t)-1;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return (size_t)-1;
        i += n;
        chars++;
    }
    return chars;
}

static bool fuzz_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* A stored string: NUL-terminated at len, no NUL inside, valid UTF-8. */
static size_t fuzz_check_text(const char *s, size_t len, size_t max_bytes)
{
    size_t chars;

    FUZZ_REQUIRE(len <= max_bytes);
    FUZZ_REQUIRE(s[len] == '\0');
    FUZZ_REQUIRE(strlen(s) == len);
    chars = fuzz_utf8_chars(s, len);
    FUZZ_REQUIRE(chars != (size_t)-1);
    return chars;
}

static bool fuzz_has_c0(const char *s, size_t len, const char *allowed)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && (c == 0 || !strchr(allowed, c)))
            return true;
    }
    return false;
}

static void fuzz_check_date(const char *d)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

    FUZZ_REQUIRE(strlen(d) == sizeof(shape) - 1);
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd')
            FUZZ_REQUIRE(d[i] >= '0' && d[i] <= '9');
        else
            FUZZ_REQUIRE(d[i] == shape[i]);
    }
}

/* Every rule of §1 a validated message promises. */
static void fuzz_check_msg(const struct chat_msg *m)
{
    size_t n;
    const char *at;

    n = fuzz_check_text(m->name, m->name_len, CHAT_NAME_MAX_BYTES);
    FUZZ_REQUIRE(n >= 1 && n <= CHAT_NAME_MAX_CHARS);
    FUZZ_REQUIRE(!fuzz_is_space(m->name[0]));
    FUZZ_REQUIRE(!fuzz_is_space(m->name[m->name_len - 1]));
    FUZZ_REQUIRE(!fuzz_has_c0(m->name, m->name_len, ""));

    fuzz_check_text(m->email, m->email_len, CHAT_EMAIL_MAX_BYTES);
    FUZZ_REQUIRE(m->email_len >= CHAT_EMAIL_MIN_BYTES);
    at = strchr(m->email, '@');
    FUZZ_REQUIRE(at && at != m->email && at[1] != '\0');
    FUZZ_REQUIRE(strchr(at + 1, '@') == NULL);
    FUZZ_REQUIRE(strchr(m->email, ' ') == NULL);
    FUZZ_REQUIRE(!fuzz_has_c0(m->email, m->email_len, ""));

    n = fuzz_check_text(m->topic, m->topic_len, CHAT_TOPIC_MAX_BYTES);
    FUZZ_REQUIRE(n >= 1 && n <= CHAT_TOPIC_MAX_CHARS);
    FUZZ_REQUIRE(!fuzz_is_space(m->topic[0]));
    FUZZ_REQUIRE(!fuzz_is_space(m->topic[m->topic_len - 1]));
    FUZZ_REQUIRE(!fuzz_has_c0(m->topic, m->topic_len, ""));

    n = fuzz_check_text(m->content, m->content_len, CHAT_CONTENT_MAX_BYTES);
    FUZZ_REQUIRE(n >= 1 && n <= CHAT_CONTENT_MAX_CHARS);
    FUZZ_REQUIRE(!fuzz_is_space(m->content[m->content_len - 1]));
    FUZZ_REQUIRE(!fuzz_has_c0(m->content, m->content_len, "\n\r\t"));
    /* Browsers send \r\n; the protocol stores line breaks as \n. */
    FUZZ_REQUIRE(strstr(m->content, "\r\n") == NULL);

    fuzz_check_date(m->date);

    /* The idempotency key: "" or 1..64 of A-Za-z0-9_-, NUL-terminated. */
    FUZZ_REQUIRE(m->idem_len <= CHAT_IDEM_MAX);
    FUZZ_REQUIRE(strlen(m->idem) == m->idem_len);
    FUZZ_REQUIRE(strspn(m->idem, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
                 m->idem_len);
}

/* The member must be a string equal to (s, len), embedded NULs included. */
static void fuzz_check_member(json_t *obj, const char *key, const char *s,
                              size_t len)
{
    json_t *v = json_object_get(obj, key);

    FUZZ_REQUIRE(json_is_string(v));
    FUZZ_REQUIRE(json_string_length(v) == len);
    FUZZ_REQUIRE(memcmp(json_string_value(v), s, len) == 0);
}

static size_t count_byte(const char *s, char c)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == c;
    return n;
}

/*
 * chat_msg_encode must give compact JSON that parses back to exactly the
 * six members, in protocol order, with the very same values.
 */
static void fuzz_check_encode(const struct chat_msg *m)
{
    static const char *const order[] = {"name",    "email", "topic",
                                        "content", "date",  "ephemeral"};
    char *text = chat_msg_encode(m);
    json_error_t jerr;
    json_t *obj;
    void *it;
    size_t i = 0;

    if (!text)
        return; /* allocation failure is a documented answer */
    obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        fprintf(stderr, "encoded JSON does not parse: %s: %s\n", jerr.text,
                text);
    FUZZ_REQUIRE(obj && json_is_object(obj));
    FUZZ_REQUIRE(json_object_size(obj) == 6);
    for (it = json_object_iter(obj); it; it = json_object_iter_next(obj, it))
        FUZZ_REQUIRE(strcmp(json_object_iter_key(it), order[i++]) == 0);
    fuzz_check_member(obj, "name", m->name, m->name_len);
    fuzz_check_member(obj, "email", m->email, m->email_len);
    fuzz_check_member(obj, "topic", m->topic, m->topic_len);
    fuzz_check_member(obj, "content", m->content, m->content_len);
    fuzz_check_member(obj, "date", m->date, strlen(m->date));
    FUZZ_REQUIRE(json_is_boolean(json_object_get(obj, "ephemeral")));
    FUZZ_REQUIRE(json_is_true(json_object_get(obj, "ephemeral")) ==
                 m->ephemeral);
    /* No HTML or slash escaping on the wire (§1): each such character of
     * the values appears raw in the text (member names hold none). */
    for (const char *c = "<>&/'"; *c; c++)
        FUZZ_REQUIRE(count_byte(text, *c) ==
                     count_byte(m->name, *c) + count_byte(m->email, *c) +
                         count_byte(m->topic, *c) + count_byte(m->content, *c) +
                         count_byte(m->date, *c));
    json_decref(obj);
    free(text);
}

static void fuzz_check_error(enum chat_err code, const struct chat_error *err)
{
    FUZZ_REQUIRE(code != CHAT_OK);
    FUZZ_REQUIRE(err->code == code);
    FUZZ_REQUIRE(err->message && err->message[0]);
    FUZZ_REQUIRE(chat_err_str(code) != NULL);
    if (code == CHAT_ERR_NOMEM)
        return;
    FUZZ_REQUIRE(err->field != NULL);
    FUZZ_REQUIRE(
        !strcmp(err->field, "name") || !strcmp(err->field, "email") ||
        !strcmp(err->field, "topic") || !strcmp(err->field, "content") ||
        !strcmp(err->field, "ephemeral") || !strcmp(err->field, "idem"));
}

static struct chat_span fuzz_span(const char *s, size_t len)
{
    struct chat_span sp = {s, len};
    return sp;
}

/*
 * Validation is a normalization: a message it accepted, given back as
 * fields, must be accepted again unchanged.
 */
static void fuzz_check_idempotent(const struct chat_msg *m,
                                  const struct timespec *received)
{
    struct chat_fields f;
    struct chat_error err;
    struct chat_msg *again = malloc(sizeof(*again));

    FUZZ_REQUIRE(again != NULL);
    f.name = fuzz_span(m->name, m->name_len);
    f.email = fuzz_span(m->email, m->email_len);
    f.topic = fuzz_span(m->topic, m->topic_len);
    f.content = fuzz_span(m->content, m->content_len);
    f.ephemeral = m->ephemeral ? fuzz_span("true", 4) : fuzz_span(NULL, 0);
    f.idem = fuzz_span(m->idem_len ? m->idem : NULL, m->idem_len);
    FUZZ_REQUIRE(chat_msg_parse(&f, received, again, &err) == CHAT_OK);
    FUZZ_REQUIRE(again->name_len == m->name_len &&
                 !memcmp(again->name, m->name, m->name_len));
    FUZZ_REQUIRE(again->email_len == m->email_len &&
                 !memcmp(again->email, m->email, m->email_len));
    FUZZ_REQUIRE(again->topic_len == m->topic_len &&
                 !memcmp(again->topic, m->topic, m->topic_len));
    FUZZ_REQUIRE(again->content_len == m->content_len &&
                 !memcmp(again->content, m->content, m->content_len));
    FUZZ_REQUIRE(again->ephemeral == m->ephemeral);
    FUZZ_REQUIRE(again->idem_len == m->idem_len &&
                 !memcmp(again->idem, m->idem, m->idem_len));
    FUZZ_REQUIRE(strcmp(again->date, m->date) == 0);
    free(again);
}

/*
 * Run the fields through validation and, when accepted, through every
 * check above. Returns the validation result.
 */
static enum chat_err fuzz_validate(const struct chat_fields *f,
                                   const struct timespec *received)
{
    struct chat_error err;
    struct chat_msg *m = malloc(sizeof(*m));
    enum chat_err code;

    FUZZ_REQUIRE(m != NULL);
    memset(&err, 0, sizeof(err));
    code = chat_msg_parse(f, received, m, &err);
    if (code == CHAT_OK) {
        fuzz_check_msg(m);
        fuzz_check_encode(m);
        fuzz_check_idempotent(m, received);
    } else {
        fuzz_check_error(code, &err);
    }
    free(m);
    return code;
}

#endif
