#include "request.h"

#include "chat_limits.h"

#include <jansson.h>
#include <string.h>

static const char *const err_text[] = {
    [GW_REQUEST_OK] = "ok",
    [GW_REQUEST_ERR_TOO_BIG] = "request is larger than 4096 bytes",
    [GW_REQUEST_ERR_JSON] = "request is not valid JSON",
    [GW_REQUEST_ERR_NOT_OBJECT] = "request must be a JSON object",
    [GW_REQUEST_ERR_UNKNOWN_MEMBER] =
        "request has a member other than first_id, last_id, after_id, req",
    [GW_REQUEST_ERR_FIRST_ID] = "first_id must be a non-negative integer",
    [GW_REQUEST_ERR_LAST_ID] = "last_id must be -1 or a non-negative integer",
    [GW_REQUEST_ERR_AFTER_ID] = "after_id must be a non-negative integer",
    [GW_REQUEST_ERR_MIXED] = "use either first_id/last_id or after_id",
    [GW_REQUEST_ERR_EMPTY] = "request needs first_id/last_id or after_id",
    [GW_REQUEST_ERR_REQ] = "req must be 1 to 32 characters of A-Z a-z 0-9 _ -",
};

const char *gw_request_err_str(enum gw_request_err err)
{
    if ((unsigned)err >= sizeof(err_text) / sizeof(err_text[0]))
        return "unknown request error";
    return err_text[err];
}

/* Read member key as an integer >= min; absent leaves *out unchanged. */
static int get_id(json_t *obj, const char *key, long long min, long long *out,
                  int *seen)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return 0;
    *seen = 1;
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static enum gw_request_err check_members(json_t *obj)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "first_id") && strcmp(key, "last_id") &&
            strcmp(key, "after_id") && strcmp(key, "req"))
            return GW_REQUEST_ERR_UNKNOWN_MEMBER;
    }
    return GW_REQUEST_OK;
}

static int tag_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* The tag, when present and valid, into out->req (read first, so that
 * every later error can still answer the request it came with). */
static enum gw_request_err get_tag(json_t *obj, struct gw_request *out)
{
    json_t *v = json_object_get(obj, "req");
    const char *s;
    size_t n;

    if (!v)
        return GW_REQUEST_OK;
    if (!json_is_string(v))
        return GW_REQUEST_ERR_REQ;
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0 || n > CHAT_REQ_TAG_MAX)
        return GW_REQUEST_ERR_REQ;
    for (size_t i = 0; i < n; i++)
        if (!tag_char(s[i]))
            return GW_REQUEST_ERR_REQ;
    memcpy(out->req, s, n);
    out->req[n] = '\0';
    return GW_REQUEST_OK;
}

static enum gw_request_err from_object(json_t *obj, struct gw_request *out)
{
    int page = 0, after = 0;
    enum gw_request_err err = get_tag(obj, out);

    if (!err)
        err = check_members(obj);
    if (err)
        return err;
    out->first_id = 0;
    out->last_id = -1;
    out->after_id = 0;
    if (get_id(obj, "first_id", 0, &out->first_id, &page))
        return GW_REQUEST_ERR_FIRST_ID;
    if (get_id(obj, "last_id", -1, &out->last_id, &page))
        return GW_REQUEST_ERR_LAST_ID;
    if (get_id(obj, "after_id", 0, &out->after_id, &after))
        return GW_REQUEST_ERR_AFTER_ID;
    if (page && after)
        return GW_REQUEST_ERR_MIXED;
    if (!page && !after)
        return GW_REQUEST_ERR_EMPTY;
    out->kind = page ? GW_REQUEST_PAGE : GW_REQUEST_AFTER;
    return GW_REQUEST_OK;
}

enum gw_request_err gw_request_parse(const char *buf, size_t len,
                                     struct gw_request *out)
{
    json_error_t jerr;
    json_t *root;
    enum gw_request_err err;

    out->req[0] = '\0';
    if (len > CHAT_WS_FRAME_MAX)
        return GW_REQUEST_ERR_TOO_BIG;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return GW_REQUEST_ERR_JSON;
    if (json_is_object(root))
        err = from_object(root, out);
    else
        err = GW_REQUEST_ERR_NOT_OBJECT;
    json_decref(root);
    return err;
}
