/*
 * Checks what Redis hands the gateway before it goes to clients: the
 * published "[{...}]" text of the "messages" channel and the "m" field of
 * history stream entries. Pure; never trusts the bytes (nothing here
 * asserts), a bad payload is reported and skipped by the caller.
 */
#ifndef GW_PAYLOAD_H
#define GW_PAYLOAD_H

#include "frame.h"

#include <stddef.h>

enum gw_payload_err {
    GW_PAYLOAD_OK = 0,
    GW_PAYLOAD_ERR_JSON,  /* not valid JSON */
    GW_PAYLOAD_ERR_SHAPE, /* not an array of objects / not an object */
    GW_PAYLOAD_ERR_ID,    /* id missing, not a positive integer, mismatch */
    GW_PAYLOAD_ERR_NOMEM
};

/*
 * Called once per message of a published payload, in array order. json
 * (len bytes, not NUL-terminated) is one message object's text and lives
 * only during the call. Return 0 to go on, non-zero to stop.
 */
typedef int (*gw_payload_fn)(void *user, long long id, const char *json,
                             size_t len);

/*
 * Validate a channel payload (a JSON array of message objects, each with
 * a positive integer "id") and call fn for each message. Nothing is
 * called unless the whole payload is valid. A one-element array passes
 * its object's original bytes through unchanged.
 */
GW_WUR enum gw_payload_err gw_payload_published(const char *buf, size_t len,
                                                gw_payload_fn fn, void *user);

/*
 * Validate one stream entry: entry_id "<id>-0" (NUL-terminated) and m
 * (mlen bytes) a message object whose "id" equals <id>. Sets *id.
 */
GW_WUR enum gw_payload_err gw_payload_entry(const char *entry_id, const char *m,
                                            size_t mlen, long long *id);

/* Parse a stream entry id "<ms>-<seq>" into its ms part; -1 if bad. */
long long gw_payload_entry_ms(const char *entry_id);

#endif
