/*
 * Request bodies of POST /chatapp/send (PROTOCOL.md §2): multipart/form-data
 * and application/x-www-form-urlencoded. Pure: no I/O, no allocation.
 */
#ifndef FORM_H
#define FORM_H

#include "chat_msg.h"

#include <stddef.h>

/*
 * CONTENT_TYPE: neither form type, or a charset other than UTF-8.
 * TOO_LARGE: body over CHAT_BODY_MAX. DUPLICATE: a known field given twice
 * (err->field names it). ESCAPE: a bad %-escape in urlencoded (field named
 * if known). MALFORMED: broken multipart framing or part headers, a
 * multipart type without a valid boundary among them (PROTOCOL.md §2).
 */
enum form_err {
    FORM_OK = 0,
    FORM_ERR_CONTENT_TYPE,
    FORM_ERR_TOO_LARGE,
    FORM_ERR_DUPLICATE,
    FORM_ERR_ESCAPE,
    FORM_ERR_MALFORMED
};

struct form_error {
    enum form_err code;
    const char *field;   /* static; NULL when no single field is at fault */
    const char *message; /* static sentence for a person */
};

enum form_kind { FORM_KIND_URLENCODED, FORM_KIND_MULTIPART };

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
 * parameter names are case-insensitive; the boundary may be quoted and must
 * be 1..70 RFC 2046 bchars; other parameters are ignored except charset,
 * which must be UTF-8 when given. A multipart type whose boundary is
 * missing, bad, given twice, or lost in malformed parameters is
 * FORM_ERR_MALFORMED; anything else wrong is FORM_ERR_CONTENT_TYPE. On
 * success out->boundary is NULL for urlencoded.
 */
CHAT_WUR enum form_err form_content_type(const char *header,
                                         struct form_type *out,
                                         struct form_error *err);

/*
 * Parse body (len bytes) of the given type and fill *out with the spans of
 * the known fields name, email, topic, content, ephemeral, idem; other
 * fields are
 * ignored (even when repeated), absent ones stay {NULL, 0}. A len over
 * CHAT_BODY_MAX gives FORM_ERR_TOO_LARGE before any byte is read.
 * Urlencoded values are decoded in place ('+' is space, %XX a byte), so
 * body must be writable; a bare "key" has the empty value; a bad escape
 * anywhere, even in an ignored field, is FORM_ERR_ESCAPE. Multipart
 * accepts CRLF or bare LF line ends, a preamble and an epilogue; a part
 * needs "Content-Disposition: form-data; name=..." (a filename does not
 * matter); a body without its closing delimiter is FORM_ERR_MALFORMED.
 * Every span in *out points into body and lives as long as it. Linear time;
 * allocates nothing. On success err->code is FORM_OK; on failure *out is
 * partial and must not be used.
 */
CHAT_WUR enum form_err form_parse(const struct form_type *type, char *body,
                                  size_t len, struct chat_fields *out,
                                  struct form_error *err);

#endif
