#include "frame.h"

#include <stdlib.h>
#include <string.h>

struct gw_frame *gw_frame_new(size_t pre, size_t cap)
{
    struct gw_frame *f;

    if (cap > ((size_t)-1) / 2 - pre - sizeof(*f))
        return NULL;
    f = malloc(sizeof(*f) + pre + cap);
    if (!f)
        return NULL;
    f->refs = 1;
    f->pre = pre;
    f->len = 0;
    f->cap = cap;
    return f;
}

struct gw_frame *gw_frame_from(size_t pre, const void *bytes, size_t n)
{
    struct gw_frame *f = gw_frame_new(pre, n);

    if (f && gw_frame_append(f, bytes, n)) {
        gw_frame_unref(f);
        return NULL;
    }
    return f;
}

struct gw_frame *gw_frame_ref(struct gw_frame *f)
{
    f->refs++;
    return f;
}

void gw_frame_unref(struct gw_frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}

unsigned char *gw_frame_payload(struct gw_frame *f)
{
    return f->data + f->pre;
}

int gw_frame_append(struct gw_frame *f, const void *bytes, size_t n)
{
    if (n > f->cap - f->len)
        return -1;
    memcpy(f->data + f->pre + f->len, bytes, n);
    f->len += n;
    return 0;
}
