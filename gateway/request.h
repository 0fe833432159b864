/*
 * Client requests of PROTOCOL.md §4, parsed without I/O:
 *   {"first_id":F,"last_id":L}  a page: L == -1 or absent means newest,
 *                               else F <= id < L; F absent means 0
 *   {"after_id":A}              resume: ids > A
 * Either may carry "req":"<tag>" (1..32 of A-Za-z0-9_-), echoed in its
 * answer so the client can tell the answer from a live batch.
 */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include "chat_limits.h"
#include "frame.h"

#include <stddef.h>

enum gw_request_kind { GW_REQUEST_PAGE = 1, GW_REQUEST_AFTER };

struct gw_request {
    enum gw_request_kind kind;
    long long first_id; /* PAGE: lowest id wanted */
    long long last_id;  /* PAGE: -1 newest, else one past the highest */
    long long after_id; /* AFTER: ids strictly above this */
    char req[CHAT_REQ_TAG_MAX + 1]; /* "" when the request has no tag */
};

enum gw_request_err {
    GW_REQUEST_OK = 0,
    GW_REQUEST_ERR_TOO_BIG,
    GW_REQUEST_ERR_JSON,
    GW_REQUEST_ERR_NOT_OBJECT,
    GW_REQUEST_ERR_UNKNOWN_MEMBER,
    GW_REQUEST_ERR_FIRST_ID,
    GW_REQUEST_ERR_LAST_ID,
    GW_REQUEST_ERR_AFTER_ID,
    GW_REQUEST_ERR_MIXED,
    GW_REQUEST_ERR_EMPTY,
    GW_REQUEST_ERR_REQ
};

/*
 * Parse len bytes (not NUL-terminated, at most CHAT_WS_FRAME_MAX) into
 * *out. Returns GW_REQUEST_OK or the first problem found; on success *out
 * is the request. On any error out->req still holds the request's tag if
 * it had a valid one (so the error can answer that request), else "".
 * Borrows buf for the call; allocates only transiently.
 */
GW_WUR enum gw_request_err gw_request_parse(const char *buf, size_t len,
                                            struct gw_request *out);

/* A fixed sentence for a person describing err. Never NULL. */
const char *gw_request_err_str(enum gw_request_err err);

#endif
