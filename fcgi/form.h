/*
 * Request bodies of POST /chatapp/send (PROTOCOL.md §2): multipart/form-data
 * and application/x-www-form-urlencoded. Pure: no I/O, no allocation.
 */
#ifndef FORM_H
#define FORM_H

#include <stddef.h>

#include "chat_msg.h"

enum form_err {
    FORM_OK = 0,
    FORM_ERR_CONTENT_TYPE, /* neither form type, or multipart without boundary */
    FORM_ERR_TOO_LARGE,    /* body over CHAT_BODY_MAX */
    FORM_ERR_DUPLICATE,    /* a known field given twice; err->field names it */
    FORM_ERR_ESCAPE,       /* bad %-escape in urlencoded; field named if known */
    FORM_ERR_MALFORMED     /* broken multipart framing or headers */
};

struct form_error {
    enum form_err code;
    const char *field;   /* static; NULL when no single field is at fault */
    const char *message; /* static sentence for a person */
};

enum form_kind {
    FORM_KIND_URLENCODED,
    FORM_KIND_MULTIPART
};

/*
 * What a Content-Type header says about the body. boundary points into the
 * header string given to form_content_type() and lives as long as it.
 */
struct form_type {
    enum form_kind kind;
    const char *boundary;
    size_t boundary_len;
};

/*
 * Parse a Content-Type header value (may be NULL). Media type and
 * parameter names are case-insensitive; the boundary may be quoted.
 * Returns FORM_ERR_CONTENT_TYPE for anything else.
 */
CHAT_WUR enum form_err form_content_type(const char *header,
                                         struct form_type *out,
                                         struct form_error *err);

/*
 * Parse body (len bytes, len <= CHAT_BODY_MAX) of the given type and fill
 * *out with the spans of the known fields name, email, topic, content,
 * ephemeral; other fields are ignored, absent ones stay {NULL, 0}.
 * Urlencoded values are decoded in place ('+' is space, %XX a byte), so
 * body must be writable; every span in *out points into body and lives as
 * long as it. Allocates nothing.
 */
CHAT_WUR enum form_err form_parse(const struct form_type *type, char *body,
                                  size_t len, struct chat_fields *out,
                                  struct form_error *err);

#endif
