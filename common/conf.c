#include "conf.h"

#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int set_int(const struct conf_item *it, const char *v, long long *dst)
{
    char *end;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 10);
    /* strtoll would skip leading blanks and a '+'; a value is digits only. */
    if (errno || end == v || *end || (*v != '-' && (*v < '0' || *v > '9')) ||
        n < it->min || n > it->max) {
        log_error(
            "config",
            "var=%s value=\"%.64s\" error=\"must be an integer from %lld to %lld\"",
            it->name, v, it->min, it->max);
        return -1;
    }
    *dst = n;
    return 0;
}

static int set_str(const struct conf_item *it, const char *v, char *dst)
{
    size_t n = strlen(v);

    if (n >= it->size) {
        log_error("config", "var=%s error=\"longer than %zu bytes\"", it->name,
                  it->size - 1);
        return -1;
    }
    memcpy(dst, v, n + 1);
    return 0;
}

int conf_load(const struct conf_item *items, size_t n, void *base,
              char *(*lookup)(const char *name))
{
    for (size_t i = 0; i < n; i++) {
        const struct conf_item *it = &items[i];
        const char *v = lookup(it->name);
        char *dst = (char *)base + it->offset;

        if (!v)
            v = it->def;
        if (it->size ? set_str(it, v, dst) : set_int(it, v, (long long *)dst))
            return -1;
    }
    return 0;
}

void conf_log(const struct conf_item *items, size_t n, const void *base)
{
    for (size_t i = 0; i < n; i++) {
        const struct conf_item *it = &items[i];
        const char *src = (const char *)base + it->offset;

        if (it->size)
            log_info("config", "%s=\"%s\"", it->name, src);
        else
            log_info("config", "%s=%lld", it->name, *(const long long *)src);
    }
}

int conf_apply_log_level(const char *value)
{
    enum log_level lvl;

    if (log_level_parse(value, &lvl)) {
        log_error("config",
                  "var=LOG_LEVEL error=\"must be error, warn, info or debug\"");
        return -1;
    }
    log_set_level(lvl);
    return 0;
}

int conf_not_below(long long hi, const char *hi_name, long long lo,
                   const char *lo_name)
{
    if (hi >= lo)
        return 0;
    log_error("config", "var=%s error=\"must not be below %s\"", hi_name,
              lo_name);
    return -1;
}

int conf_sentinels(const char *list, const char *name,
                   struct sentinel_list *out)
{
    const char *why = NULL;

    memset(out, 0, sizeof(*out));
    if (list[0] && sentinel_list_parse(list, out, &why)) {
        log_error("config", "var=REDIS_SENTINELS error=\"%s\"", why);
        return -1;
    }
    if (!sentinel_name_valid(name)) {
        log_error("config",
                  "var=REDIS_MASTER_NAME error=\"must be 1..%d of "
                  "A-Za-z0-9 . _ -\"",
                  SENTINEL_NAME_MAX);
        return -1;
    }
    return 0;
}
