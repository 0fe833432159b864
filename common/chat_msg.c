/*
 * The message rules of PROTOCOL.md §1. See chat_msg.h for the contracts.
 *
 * Every field is checked in the same order: presence, trimming, a byte cap
 * (so a huge value is refused before any work on it), UTF-8, the length in
 * characters, then the control-character rule. UTF-8 validity is decided by
 * jansson, the library that later writes the JSON, so what we accept is
 * exactly what it can encode.
 */
#include "chat_msg.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

/* Per-field checks of a trimmed text value (name and topic). */
struct text_rule {
    const char *field;
    size_t max_chars;
    size_t max_bytes;
    const char *too_long;
    const char *bad_utf8;
    const char *control;
};

static const struct text_rule name_rule = {
    "name",
    CHAT_NAME_MAX_CHARS,
    CHAT_NAME_MAX_BYTES,
    "name must be at most " STR(CHAT_NAME_MAX_CHARS) " characters",
    "name must be valid UTF-8",
    "name must not contain control characters",
};

static const struct text_rule topic_rule = {
    "topic",
    CHAT_TOPIC_MAX_CHARS,
    CHAT_TOPIC_MAX_BYTES,
    "topic must be at most " STR(CHAT_TOPIC_MAX_CHARS) " characters",
    "topic must be valid UTF-8",
    "topic must not contain control characters",
};

static enum chat_err fail(struct chat_error *err, enum chat_err code,
                          const char *field, const char *message)
{
    err->code = code;
    err->field = field;
    err->message = message;
    return code;
}

/* ASCII white space as C's isspace() sees it in the "C" locale. */
static int is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static struct chat_span trim_end(struct chat_span s)
{
    while (s.len > 0 && is_space((unsigned char)s.ptr[s.len - 1]))
        s.len--;
    return s;
}

static struct chat_span trim(struct chat_span s)
{
    while (s.len > 0 && is_space((unsigned char)s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    return trim_end(s);
}

/*
 * Valid input costs one short-lived copy. A NULL from json_stringn() means
 * either invalid UTF-8 or no memory; jansson exports no allocation-free
 * check, so the unchecked constructor tells the two apart rather than
 * answering a person "bad UTF-8" for our own lack of memory.
 */
static enum chat_err check_utf8(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);

    if (j) {
        json_decref(j);
        return CHAT_OK;
    }
    j = json_stringn_nocheck(s, len);
    if (!j)
        return CHAT_ERR_NOMEM;
    json_decref(j);
    return CHAT_ERR_UTF8;
}

/* Code points of valid UTF-8: every byte that is not a continuation. */
static size_t count_chars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* C0, DEL and C1 (U+0080..U+009F, encoded C2 80..C2 9F) in valid UTF-8. */
static int has_control(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7F)
            return 1;
        if (p[i] == 0xC2 && i + 1 < len && p[i + 1] < 0xA0)
            return 1;
    }
    return 0;
}

/* Content allows line breaks and tabs; "\r" is gone by now. */
static int content_has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\n' && c != '\t')
            return 1;
    }
    return 0;
}

static enum chat_err utf8_fail(struct chat_error *err, enum chat_err code,
                               const char *field, const char *message)
{
    if (code == CHAT_ERR_NOMEM)
        return fail(err, code, NULL, "out of memory");
    return fail(err, code, field, message);
}

/*
 * Copy s into dst, which holds cap bytes, and NUL-terminate it; -1 (dst
 * untouched) when it does not fit. Every write into a message field goes
 * through a capacity, so a byte cap set wrong fails instead of writing
 * past the field.
 */
static int copy_span(char *dst, size_t cap, struct chat_span s)
{
    if (s.len >= cap)
        return -1;
    memcpy(dst, s.ptr, s.len);
    dst[s.len] = '\0';
    return 0;
}

/* Copy the trimmed value s into dst (cap bytes) and check it. */
static enum chat_err check_text(const struct text_rule *r, struct chat_span s,
                                char *dst, size_t cap, size_t *dst_len,
                                struct chat_error *err)
{
    enum chat_err code;

    if (s.len > r->max_bytes || copy_span(dst, cap, s))
        return fail(err, CHAT_ERR_TOO_LONG, r->field, r->too_long);
    *dst_len = s.len;
    code = check_utf8(dst, s.len);
    if (code != CHAT_OK)
        return utf8_fail(err, code, r->field, r->bad_utf8);
    if (count_chars(dst, s.len) > r->max_chars)
        return fail(err, CHAT_ERR_TOO_LONG, r->field, r->too_long);
    if (has_control(dst, s.len))
        return fail(err, CHAT_ERR_CONTROL, r->field, r->control);
    return CHAT_OK;
}

static enum chat_err parse_name(struct chat_span in, struct chat_msg *out,
                                struct chat_error *err)
{
    struct chat_span s;

    if (!in.ptr)
        return fail(err, CHAT_ERR_MISSING, "name", "name is required");
    s = trim(in);
    if (s.len == 0)
        return fail(err, CHAT_ERR_EMPTY, "name", "name must not be empty");
    return check_text(&name_rule, s, out->name, sizeof(out->name),
                      &out->name_len, err);
}

/* One '@', not first, not last. */
static int email_shape_ok(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);

    if (!at || at == s || at == s + len - 1)
        return 0;
    return memchr(at + 1, '@', (size_t)(s + len - (at + 1))) == NULL;
}

static enum chat_err parse_email(struct chat_span in, struct chat_msg *out,
                                 struct chat_error *err)
{
    enum chat_err code;

    if (!in.ptr)
        return fail(err, CHAT_ERR_MISSING, "email", "email is required");
    if (in.len == 0)
        return fail(err, CHAT_ERR_EMPTY, "email", "email must not be empty");
    if (in.len < CHAT_EMAIL_MIN_BYTES)
        return fail(
            err, CHAT_ERR_TOO_SHORT, "email",
            "email must be at least " STR(CHAT_EMAIL_MIN_BYTES) " bytes");
    if (in.len > CHAT_EMAIL_MAX_BYTES ||
        copy_span(out->email, sizeof(out->email), in))
        return fail(
            err, CHAT_ERR_TOO_LONG, "email",
            "email must be at most " STR(CHAT_EMAIL_MAX_BYTES) " bytes");
    out->email_len = in.len;
    code = check_utf8(out->email, in.len);
    if (code != CHAT_OK)
        return utf8_fail(err, code, "email", "email must be valid UTF-8");
    if (has_control(out->email, in.len))
        return fail(err, CHAT_ERR_CONTROL, "email",
                    "email must not contain control characters");
    if (memchr(out->email, ' ', in.len))
        return fail(err, CHAT_ERR_EMAIL, "email",
                    "email must not contain spaces");
    if (!email_shape_ok(out->email, in.len))
        return fail(err, CHAT_ERR_EMAIL, "email",
                    "email must have exactly one @ with text on both sides");
    return CHAT_OK;
}

static enum chat_err parse_topic(struct chat_span in, struct chat_msg *out,
                                 struct chat_error *err)
{
    static const char def[] = CHAT_TOPIC_DEFAULT;
    struct chat_span s = {NULL, 0};

    if (in.ptr)
        s = trim(in);
    if (s.len == 0) {
        memcpy(out->topic, def, sizeof(def));
        out->topic_len = sizeof(def) - 1;
        return CHAT_OK;
    }
    return check_text(&topic_rule, s, out->topic, sizeof(out->topic),
                      &out->topic_len, err);
}

/*
 * Copy s into dst (cap bytes) turning "\r\n" and a lone "\r" into "\n",
 * NUL-terminated; -1 when s may not fit (normalizing only shrinks, so a
 * span shorter than cap always does).
 */
static int normalize_breaks(struct chat_span s, char *dst, size_t cap,
                            size_t *len)
{
    size_t n = 0;

    if (s.len >= cap)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] != '\r') {
            dst[n++] = s.ptr[i];
            continue;
        }
        dst[n++] = '\n';
        if (i + 1 < s.len && s.ptr[i + 1] == '\n')
            i++;
    }
    dst[n] = '\0';
    *len = n;
    return 0;
}

/*
 * Trailing white space is trimmed on the raw bytes: "\r" is white space, so
 * trimming before or after normalizing line breaks gives the same result,
 * and normalizing only shrinks, so the byte cap can be checked first.
 */
static enum chat_err parse_content(struct chat_span in, struct chat_msg *out,
                                   struct chat_error *err)
{
    static const char too_long[] =
        "content must be at most " STR(CHAT_CONTENT_MAX_CHARS) " characters";
    struct chat_span s;
    enum chat_err code;

    if (!in.ptr)
        return fail(err, CHAT_ERR_MISSING, "content", "content is required");
    s = trim_end(in);
    if (s.len == 0)
        return fail(err, CHAT_ERR_EMPTY, "content",
                    "content must not be empty");
    if (s.len > CHAT_CONTENT_MAX_BYTES ||
        normalize_breaks(s, out->content, sizeof(out->content),
                         &out->content_len))
        return fail(err, CHAT_ERR_TOO_LONG, "content", too_long);
    code = check_utf8(out->content, out->content_len);
    if (code != CHAT_OK)
        return utf8_fail(err, code, "content", "content must be valid UTF-8");
    if (count_chars(out->content, out->content_len) > CHAT_CONTENT_MAX_CHARS)
        return fail(err, CHAT_ERR_TOO_LONG, "content", too_long);
    if (content_has_control(out->content, out->content_len))
        return fail(err, CHAT_ERR_CONTROL, "content",
                    "content must not contain control characters other than "
                    "line breaks and tabs");
    return CHAT_OK;
}

static int span_is(struct chat_span s, const char *word)
{
    size_t n = strlen(word);

    return s.len == n && memcmp(s.ptr, word, n) == 0;
}

/* The words are matched exactly, as a checkbox or a script sends them. */
static enum chat_err parse_ephemeral(struct chat_span in, struct chat_msg *out,
                                     struct chat_error *err)
{
    if (!in.ptr || in.len == 0 || span_is(in, "off") || span_is(in, "false") ||
        span_is(in, "0")) {
        out->ephemeral = false;
        return CHAT_OK;
    }
    if (span_is(in, "on") || span_is(in, "true") || span_is(in, "1")) {
        out->ephemeral = true;
        return CHAT_OK;
    }
    return fail(err, CHAT_ERR_BOOL, "ephemeral",
                "ephemeral must be one of on, true, 1, off, false, 0 or empty");
}

static bool is_idem_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/*
 * Empty is absent, as for topic and ephemeral: a form with an unused idem
 * input still sends. The alphabet makes the key safe inside a Redis key
 * name and a log line as it is.
 */
static enum chat_err parse_idem(struct chat_span in, struct chat_msg *out,
                                struct chat_error *err)
{
    static const char rule[] = "idem must be 1 to " STR(
        CHAT_IDEM_MAX) " characters of A-Z, a-z, 0-9, _ and -";

    out->idem_len = 0;
    out->idem[0] = '\0';
    if (!in.ptr || in.len == 0)
        return CHAT_OK;
    if (in.len > CHAT_IDEM_MAX)
        return fail(err, CHAT_ERR_TOO_LONG, "idem", rule);
    for (size_t i = 0; i < in.len; i++) {
        if (!is_idem_char(in.ptr[i]))
            return fail(err, CHAT_ERR_CHARSET, "idem", rule);
    }
    memcpy(out->idem, in.ptr, in.len);
    out->idem[in.len] = '\0';
    out->idem_len = in.len;
    return CHAT_OK;
}

enum chat_err chat_msg_parse(const struct chat_fields *in,
                             const struct timespec *received,
                             struct chat_msg *out, struct chat_error *err)
{
    enum chat_err code;

    if ((code = parse_name(in->name, out, err)) != CHAT_OK ||
        (code = parse_email(in->email, out, err)) != CHAT_OK ||
        (code = parse_topic(in->topic, out, err)) != CHAT_OK ||
        (code = parse_content(in->content, out, err)) != CHAT_OK ||
        (code = parse_ephemeral(in->ephemeral, out, err)) != CHAT_OK ||
        (code = parse_idem(in->idem, out, err)) != CHAT_OK)
        return code;
    code = chat_msg_format_date(received, out->date);
    if (code != CHAT_OK)
        return fail(err, code, "date",
                    "the time of receipt cannot be written as a date");
    err->code = CHAT_OK;
    err->field = NULL;
    err->message = chat_err_str(CHAT_OK);
    return CHAT_OK;
}

enum chat_err chat_msg_format_date(const struct timespec *t,
                                   char out[CHAT_DATE_SIZE])
{
    struct tm tm;
    int n;

    if (t->tv_nsec < 0 || t->tv_nsec >= 1000000000L)
        return CHAT_ERR_TOO_LONG;
    if (!gmtime_r(&t->tv_sec, &tm))
        return CHAT_ERR_TOO_LONG;
    if (tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
        return CHAT_ERR_TOO_LONG;
    n = snprintf(out, CHAT_DATE_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, t->tv_nsec / 1000000L);
    if (n != CHAT_DATE_SIZE - 1)
        return CHAT_ERR_TOO_LONG;
    return CHAT_OK;
}

/* The value was validated by chat_msg_parse, so no second UTF-8 pass. */
static int set_string(json_t *obj, const char *key, const char *s, size_t len)
{
    return json_object_set_new_nocheck(obj, key, json_stringn_nocheck(s, len));
}

/*
 * jansson 2.14 keeps object members in insertion order and, without
 * JSON_ENSURE_ASCII and JSON_ESCAPE_SLASH, escapes only '"', '\\' and C0
 * controls; the unit tests pin the exact bytes.
 */
char *chat_msg_encode(const struct chat_msg *m)
{
    json_t *obj = json_object();
    char *text = NULL;

    if (!obj)
        return NULL;
    if (set_string(obj, "name", m->name, m->name_len) ||
        set_string(obj, "email", m->email, m->email_len) ||
        set_string(obj, "topic", m->topic, m->topic_len) ||
        set_string(obj, "content", m->content, m->content_len) ||
        set_string(obj, "date", m->date, strlen(m->date)) ||
        json_object_set_new_nocheck(obj, "ephemeral",
                                    json_boolean(m->ephemeral)))
        goto out_free_obj;
    text = json_dumps(obj, JSON_COMPACT);
out_free_obj:
    json_decref(obj);
    return text;
}

const char *chat_err_str(enum chat_err err)
{
    switch (err) {
    case CHAT_OK:
        return "ok";
    case CHAT_ERR_MISSING:
        return "a required field is missing";
    case CHAT_ERR_EMPTY:
        return "a field is empty";
    case CHAT_ERR_TOO_SHORT:
        return "a field is too short";
    case CHAT_ERR_TOO_LONG:
        return "a field is too long";
    case CHAT_ERR_UTF8:
        return "a field is not valid UTF-8";
    case CHAT_ERR_CONTROL:
        return "a field contains a control character";
    case CHAT_ERR_EMAIL:
        return "the email address is malformed";
    case CHAT_ERR_BOOL:
        return "a yes/no field has an unknown value";
    case CHAT_ERR_CHARSET:
        return "a field holds a character it does not allow";
    case CHAT_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown error";
}
