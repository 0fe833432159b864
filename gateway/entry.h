/*
 * One stored or live message as the gateway's pure modules pass it
 * around: its id and its JSON object text, borrowed from whoever holds
 * the bytes (a hiredis reply, a held copy) for the length of a call.
 */
#ifndef GW_ENTRY_H
#define GW_ENTRY_H

#include <stddef.h>

struct gw_entry {
    long long id;
    const char *json; /* not NUL-terminated */
    size_t len;
};

#endif
