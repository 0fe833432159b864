#include "payload.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static long long object_id(json_t *obj)
{
    json_t *id = json_object_get(obj, "id");

    if (!json_is_object(obj) || !json_is_integer(id) ||
        json_integer_value(id) <= 0)
        return -1;
    return json_integer_value(id);
}

static enum gw_payload_err check_all(json_t *arr)
{
    size_t i;
    json_t *v;

    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return GW_PAYLOAD_ERR_SHAPE;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_object(v))
            return GW_PAYLOAD_ERR_SHAPE;
        if (object_id(v) < 0)
            return GW_PAYLOAD_ERR_ID;
    }
    return GW_PAYLOAD_OK;
}

/* The text between the outer brackets, without surrounding blanks. */
static void inner_span(const char *buf, size_t len, const char **p, size_t *n)
{
    size_t a = 0, b = len;

    while (a < b && buf[a] != '[')
        a++;
    while (b > a && buf[b - 1] != ']')
        b--;
    a++;
    b--;
    while (a < b && strchr(" \t\r\n", buf[a]))
        a++;
    while (b > a && strchr(" \t\r\n", buf[b - 1]))
        b--;
    *p = buf + a;
    *n = b - a;
}

static enum gw_payload_err each_encoded(json_t *arr, gw_payload_fn fn,
                                        void *user)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        char *text = json_dumps(v, JSON_COMPACT);
        int stop;

        if (!text)
            return GW_PAYLOAD_ERR_NOMEM;
        stop = fn(user, object_id(v), text, strlen(text));
        free(text);
        if (stop)
            break;
    }
    return GW_PAYLOAD_OK;
}

enum gw_payload_err gw_payload_published(const char *buf, size_t len,
                                         gw_payload_fn fn, void *user)
{
    json_error_t jerr;
    json_t *arr = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    enum gw_payload_err err;

    if (!arr)
        return GW_PAYLOAD_ERR_JSON;
    err = check_all(arr);
    if (err == GW_PAYLOAD_OK && json_array_size(arr) == 1) {
        const char *p;
        size_t n;

        inner_span(buf, len, &p, &n);
        fn(user, object_id(json_array_get(arr, 0)), p, n);
    } else if (err == GW_PAYLOAD_OK) {
        err = each_encoded(arr, fn, user);
    }
    json_decref(arr);
    return err;
}

long long gw_payload_entry_ms(const char *entry_id)
{
    char *end;
    unsigned long long ms;

    if (!entry_id || *entry_id < '0' || *entry_id > '9')
        return -1;
    errno = 0;
    ms = strtoull(entry_id, &end, 10);
    if (errno || *end != '-' || ms > (unsigned long long)9223372036854775807LL)
        return -1;
    return (long long)ms;
}

enum gw_payload_err gw_payload_entry(const char *entry_id, const char *m,
                                     size_t mlen, long long *id)
{
    json_error_t jerr;
    json_t *obj;
    long long want = gw_payload_entry_ms(entry_id);
    enum gw_payload_err err = GW_PAYLOAD_OK;

    if (want <= 0)
        return GW_PAYLOAD_ERR_ID;
    obj = json_loadb(m, mlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        return GW_PAYLOAD_ERR_JSON;
    if (!json_is_object(obj))
        err = GW_PAYLOAD_ERR_SHAPE;
    else if (object_id(obj) != want)
        err = GW_PAYLOAD_ERR_ID;
    json_decref(obj);
    *id = want;
    return err;
}
