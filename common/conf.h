/*
 * Table-driven configuration: each setting has a name, a default, and a
 * range (integers) or a buffer size (strings). Both programs describe their
 * settings with this table and read them once at start. Pure: the values
 * come from a lookup function the caller passes (getenv in config.c), so
 * this file reads no environment and can be tested alone.
 */
#ifndef CHAT_CONF_H
#define CHAT_CONF_H

#include "chat_msg.h"
#include "sentinel.h"

#include <stddef.h>

struct conf_item {
    const char *name;
    size_t offset; /* of the destination in the caller's struct */
    size_t size;   /* 0 for a long long, else the char buffer's size */
    const char *def;
    long long min;
    long long max;
};

/* Rows for a struct type T: an integer member or a char array member. */
#define CONF_INT(n, T, member, d, lo, hi)                                      \
    {                                                                          \
        n, offsetof(T, member), 0, d, lo, hi                                   \
    }
#define CONF_STR(n, T, member, d)                                              \
    {                                                                          \
        n, offsetof(T, member), sizeof(((T *)0)->member), d, 0, 0              \
    }

/*
 * Fill the struct at base from items[0..n): lookup(name) gives a value or
 * NULL for "use the default". An integer is decimal digits (an optional
 * leading '-'), nothing else, within [min, max]; a string must fit its
 * buffer with its NUL. Returns 0, or -1 after logging which variable is
 * wrong and why (later items are then left unset). base is borrowed.
 */
CHAT_WUR int conf_load(const struct conf_item *items, size_t n, void *base,
                       char *(*lookup)(const char *name));

/*
 * Set the log level from LOG_LEVEL's value ("error", "warn", "info",
 * "debug"). Returns 0, or -1 after logging that the value is not a level.
 */
CHAT_WUR int conf_apply_log_level(const char *value);

/*
 * A rule between two settings: hi must not be below lo. Returns 0, or -1
 * after logging "var=<hi_name> must not be below <lo_name>".
 */
CHAT_WUR int conf_not_below(long long hi, const char *hi_name, long long lo,
                            const char *lo_name);

/*
 * REDIS_SENTINELS (list, "" for none) and REDIS_MASTER_NAME (name), as
 * both programs take them: list parsed into *out. Returns 0, or -1 after
 * logging which variable is wrong and why.
 */
CHAT_WUR int conf_sentinels(const char *list, const char *name,
                            struct sentinel_list *out);

/* Log every item's effective value at info level, one line each. */
void conf_log(const struct conf_item *items, size_t n, const void *base);

#endif
