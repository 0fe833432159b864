#include "reply.h"

#include <stdio.h>
#include <string.h>

#define TAGGED_HEAD "{\"type\":\"reply\",\"req\":\""
#define TAGGED_MID  "\",\"messages\":"

struct gw_frame *gw_reply_messages(size_t pre, const char *req,
                                   const struct gw_entry *e, size_t n,
                                   size_t bytes, int reverse)
{
    size_t tag = strlen(req);
    size_t cap = bytes + n + 2;
    struct gw_frame *f;

    if (tag)
        cap += sizeof(TAGGED_HEAD) - 1 + tag + sizeof(TAGGED_MID) - 1 + 1;
    f = gw_frame_new(pre, cap);
    if (!f)
        return NULL;
    /* Every append fits: cap counts each byte written below. */
    if (tag) {
        (void)!gw_frame_append(f, TAGGED_HEAD, sizeof(TAGGED_HEAD) - 1);
        (void)!gw_frame_append(f, req, tag);
        (void)!gw_frame_append(f, TAGGED_MID, sizeof(TAGGED_MID) - 1);
    }
    (void)!gw_frame_append(f, "[", 1);
    for (size_t i = 0; i < n; i++) {
        const struct gw_entry *m = &e[reverse ? n - 1 - i : i];

        if (i)
            (void)!gw_frame_append(f, ",", 1);
        (void)!gw_frame_append(f, m->json, m->len);
    }
    (void)!gw_frame_append(f, "]", 1);
    if (tag)
        (void)!gw_frame_append(f, "}", 1);
    return f;
}

struct gw_frame *gw_reply_from_array(size_t pre, const char *req,
                                     struct gw_frame *array)
{
    size_t tag = strlen(req);
    struct gw_frame *f;

    if (!tag)
        return gw_frame_ref(array);
    f = gw_frame_new(pre, sizeof(TAGGED_HEAD) - 1 + tag + sizeof(TAGGED_MID) -
                              1 + array->len + 1);
    if (!f)
        return NULL;
    (void)!gw_frame_append(f, TAGGED_HEAD, sizeof(TAGGED_HEAD) - 1);
    (void)!gw_frame_append(f, req, tag);
    (void)!gw_frame_append(f, TAGGED_MID, sizeof(TAGGED_MID) - 1);
    (void)!gw_frame_append(f, gw_frame_payload(array), array->len);
    (void)!gw_frame_append(f, "}", 1);
    return f;
}

struct gw_frame *gw_reply_error(size_t pre, const char *req, const char *msg)
{
    char text[512];
    int n =
        req[0]
            ? snprintf(text, sizeof(text),
                       "{\"type\":\"error\",\"req\":\"%s\",\"error\":\"%s\"}",
                       req, msg)
            : snprintf(text, sizeof(text),
                       "{\"type\":\"error\",\"error\":\"%s\"}", msg);

    if (n < 0 || (size_t)n >= sizeof(text))
        return NULL;
    return gw_frame_from(pre, text, (size_t)n);
}
