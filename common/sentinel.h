/*
 * Finding the Redis primary through Sentinel: the pure parts both
 * programs share (hiredis 0.14 has no Sentinel support of its own). No
 * I/O here: sentinel_client.h does the talking.
 *
 * A client follows Sentinel's guidelines for clients: ask the sentinels
 * in turn, starting with the last one that answered, for
 * SENTINEL get-master-addr-by-name NAME; connect to the address given
 * and check with ROLE that it really is the primary; follow
 * "+switch-master" messages, whose text is
 * "<name> <old host> <old port> <new host> <new port>".
 */
#ifndef CHAT_SENTINEL_H
#define CHAT_SENTINEL_H

#include "chat_msg.h"

#include <stdbool.h>
#include <stddef.h>

/* Entries in REDIS_SENTINELS. */
#define SENTINEL_MAX 16
/* A host (a name or an address) with its NUL: DNS names are <= 253. */
#define SENTINEL_HOST_MAX 256
/* REDIS_MASTER_NAME in bytes, without the NUL. */
#define SENTINEL_NAME_MAX 64

enum sentinel_err {
    SENTINEL_OK = 0,
    SENTINEL_ERR_EMPTY,     /* no entry, or an empty one between commas */
    SENTINEL_ERR_TOO_MANY,  /* more than SENTINEL_MAX entries */
    SENTINEL_ERR_HOST,      /* missing, too long, or not a host */
    SENTINEL_ERR_PORT,      /* missing, not 1..65535 */
    SENTINEL_ERR_NAME,      /* a master name that cannot be one */
    SENTINEL_ERR_REPLY,     /* a reply or message of another shape */
    SENTINEL_ERR_OTHER,     /* a message about another master */
    SENTINEL_ERR_NO_ANSWER, /* no sentinel answered (sentinel_client.h) */
    SENTINEL_ERR_UNKNOWN    /* the sentinels know no such master */
};

struct sentinel_addr {
    char host[SENTINEL_HOST_MAX];
    int port;
};

struct sentinel_list {
    struct sentinel_addr at[SENTINEL_MAX];
    size_t n;
};

/*
 * Parse "host:port,host:port,..." (a host is a name, an IPv4 address or
 * an IPv6 address in brackets, "[::1]:26379"; spaces around entries are
 * allowed). Fills *out; on error *why (static) says what is wrong for a
 * person and *out is unspecified.
 */
CHAT_WUR enum sentinel_err sentinel_list_parse(const char *text,
                                               struct sentinel_list *out,
                                               const char **why);

/*
 * Is name usable as a master name: 1..SENTINEL_NAME_MAX bytes of
 * A-Za-z0-9 . _ - (no space: +switch-master separates by spaces).
 */
bool sentinel_name_valid(const char *name);

/*
 * The two strings of a get-master-addr-by-name reply (host, port; each
 * (pointer, length), not NUL-terminated) into *out. SENTINEL_ERR_REPLY
 * when either is not what Sentinel sends.
 */
CHAT_WUR enum sentinel_err
sentinel_addr_from_reply(const char *host, size_t host_len, const char *port,
                         size_t port_len, struct sentinel_addr *out);

/*
 * A "+switch-master" message (msg, len bytes): the new primary of master
 * name into *out. SENTINEL_ERR_OTHER when it is about another master,
 * SENTINEL_ERR_REPLY when it does not have the five fields.
 */
CHAT_WUR enum sentinel_err sentinel_switch_parse(const char *msg, size_t len,
                                                 const char *name,
                                                 struct sentinel_addr *out);

/* The sentinel to ask after entry i of n failed: the next one, round. */
size_t sentinel_next(size_t i, size_t n);

/* Is the first element of a ROLE reply (len bytes) the primary's? */
bool sentinel_role_is_primary(const char *role, size_t len);

/*
 * The value of field in INFO text ("field:value\r\n" lines) copied into
 * out (cap bytes, NUL-terminated). false when the field is absent or its
 * value does not fit.
 */
bool sentinel_info_field(const char *info, size_t len, const char *field,
                         char *out, size_t cap);

/* "host:port" of a into out (cap bytes); brackets an IPv6 address. */
void sentinel_addr_text(const struct sentinel_addr *a, char *out, size_t cap);

bool sentinel_addr_equal(const struct sentinel_addr *a,
                         const struct sentinel_addr *b);

#endif
