/*
 * The message rules of PROTOCOL.md §1, shared by the send handler and the
 * gateway. Pure: no I/O, no getenv, no static mutable state. Input is
 * borrowed (pointer, length) spans; output is a filled struct or an error
 * code with a static field name and a sentence for a person.
 */
#ifndef CHAT_MSG_H
#define CHAT_MSG_H

#include "chat_limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#if defined(__GNUC__)
#define CHAT_WUR __attribute__((warn_unused_result))
#else
#define CHAT_WUR
#endif

/* Borrowed bytes, not NUL-terminated. ptr == NULL means "absent". */
struct chat_span {
    const char *ptr;
    size_t len;
};

/* The raw form values, as the form parser found them. */
struct chat_fields {
    struct chat_span name;
    struct chat_span email;
    struct chat_span topic;
    struct chat_span content;
    struct chat_span ephemeral;
    struct chat_span idem;
};

enum chat_err {
    CHAT_OK = 0,
    CHAT_ERR_MISSING,   /* required field absent */
    CHAT_ERR_EMPTY,     /* empty after trimming */
    CHAT_ERR_TOO_SHORT, /* below the minimum length */
    CHAT_ERR_TOO_LONG,  /* above the maximum length */
    CHAT_ERR_UTF8,      /* not valid UTF-8 */
    CHAT_ERR_CONTROL,   /* a control character where none is allowed */
    CHAT_ERR_EMAIL,     /* not of the shape local@domain */
    CHAT_ERR_BOOL,      /* ephemeral value not one of the known words */
    CHAT_ERR_CHARSET,   /* a character the field's alphabet does not have */
    CHAT_ERR_NOMEM
};

/* field and message point to static strings; nothing to free. */
struct chat_error {
    enum chat_err code;
    const char *field;
    const char *message;
};

/*
 * A validated, normalized message: names and topic trimmed, topic
 * defaulted, content's trailing white space removed and line breaks
 * stored as "\n". Every string is NUL-terminated, valid UTF-8 and holds
 * no NUL, so *_len equals strlen().
 */
struct chat_msg {
    char name[CHAT_NAME_MAX_BYTES + 1];
    char email[CHAT_EMAIL_MAX_BYTES + 1];
    char topic[CHAT_TOPIC_MAX_BYTES + 1];
    char content[CHAT_CONTENT_MAX_BYTES + 1];
    size_t name_len;
    size_t email_len;
    size_t topic_len;
    size_t content_len;
    char date[CHAT_DATE_SIZE];
    bool ephemeral;
    char idem[CHAT_IDEM_MAX + 1]; /* the idempotency key; "" when none */
    size_t idem_len;
};

/*
 * Validate the fields in order name, email, topic, content, ephemeral, idem
 * and
 * fill *out, stamping date from received (UTC). Stops at the first bad
 * field: returns its code and fills *err (err->code too; err->field is
 * NULL for CHAT_ERR_NOMEM and "date" when received is outside years
 * 0..9999). On success err->code is CHAT_OK and err->field NULL. *out is
 * only meaningful on CHAT_OK. Borrows in only for the call. Nothing is left
 * for the caller to free: UTF-8 is checked by jansson (json_stringn), which
 * costs one short-lived copy of each valid value; for an invalid one a
 * short-lived probe allocation tells bad bytes from exhausted memory (so
 * with no memory left any value gives CHAT_ERR_NOMEM, never a false
 * CHAT_ERR_UTF8).
 *
 * Choices where PROTOCOL.md is silent: trimming removes ASCII white space
 * (space, \t, \n, \v, \f, \r) before any other check; "control
 * characters" are C0, DEL and C1 (U+0080..U+009F) for name, topic and email;
 * content allows DEL and C1 and, of C0, only \n and \t once line breaks
 * are normalized. An empty email is CHAT_ERR_EMPTY, 1..2 bytes
 * CHAT_ERR_TOO_SHORT, a space CHAT_ERR_EMAIL. ephemeral words match exactly
 * (case-sensitive, untrimmed). idem is untrimmed; empty is the same as
 * absent (out->idem_len 0), over CHAT_IDEM_MAX is CHAT_ERR_TOO_LONG, a
 * byte outside A-Za-z0-9_- is CHAT_ERR_CHARSET.
 */
CHAT_WUR enum chat_err chat_msg_parse(const struct chat_fields *in,
                                      const struct timespec *received,
                                      struct chat_msg *out,
                                      struct chat_error *err);

/*
 * Write t as RFC 3339 UTC with milliseconds ("2026-11-28T06:01:23.456Z")
 * into out. Returns CHAT_ERR_TOO_LONG for a year outside 0..9999.
 */
CHAT_WUR enum chat_err chat_msg_format_date(const struct timespec *t,
                                            char out[CHAT_DATE_SIZE]);

/*
 * The message as compact JSON without "id", members in protocol order (the
 * idempotency key is not part of the message):
 * {"name":..,"email":..,"topic":..,"content":..,"date":..,"ephemeral":..}.
 * This is what the publish script completes with the id. UTF-8 is kept as
 * is; nothing is HTML-escaped. Returns a malloc'd string the caller
 * free()s, or NULL on allocation failure.
 */
CHAT_WUR char *chat_msg_encode(const struct chat_msg *m);

/*
 * The fixed person-readable sentence for err, e.g. for logs. Never NULL.
 */
const char *chat_err_str(enum chat_err err);

#endif
