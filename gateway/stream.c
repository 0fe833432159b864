#include "stream.h"

#include "layout.h"
#include "payload.h"

#include <hiredis.h>
#include <stdlib.h>
#include <string.h>

static int reply_is(const redisReply *rep, int type)
{
    return rep && rep->type == type;
}

/* The "m" value of an entry [id, [field, value, ...]], or NULL. */
static const redisReply *entry_message(const redisReply *e)
{
    const redisReply *f;

    if (!reply_is(e, REDIS_REPLY_ARRAY) || e->elements < 2 ||
        !reply_is(e->element[0], REDIS_REPLY_STRING) ||
        !reply_is(e->element[1], REDIS_REPLY_ARRAY))
        return NULL;
    f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];

        if (reply_is(k, REDIS_REPLY_STRING) &&
            strcmp(k->str, CHAT_STREAM_FIELD) == 0 &&
            reply_is(v, REDIS_REPLY_STRING))
            return v;
    }
    return NULL;
}

/* Read one entry into *out; 0 when valid. Notes its id either way. */
static int entry_read(const redisReply *e, struct gw_stream_page *page,
                      struct gw_entry *out)
{
    const redisReply *m = entry_message(e);
    long long ms = -1;

    if (reply_is(e, REDIS_REPLY_ARRAY) && e->elements >= 1 &&
        reply_is(e->element[0], REDIS_REPLY_STRING))
        ms = gw_payload_entry_ms(e->element[0]->str);
    if (ms > page->max_id)
        page->max_id = ms;
    if (!m || gw_payload_entry(e->element[0]->str, m->str, m->len, &out->id) !=
                  GW_PAYLOAD_OK)
        return -1;
    out->json = m->str;
    out->len = m->len;
    return 0;
}

int gw_stream_page_read(const redisReply *rep, struct gw_stream_page *page)
{
    memset(page, 0, sizeof(*page));
    if (!reply_is(rep, REDIS_REPLY_ARRAY))
        return -1;
    page->raw = rep->elements;
    if (!rep->elements)
        return 0;
    page->e = calloc(rep->elements, sizeof(*page->e));
    if (!page->e) {
        page->raw = 0;
        return -1;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        struct gw_entry *out = &page->e[page->n];

        if (entry_read(rep->element[i], page, out)) {
            page->invalid++;
            continue;
        }
        page->bytes += out->len;
        page->n++;
    }
    return 0;
}

void gw_stream_page_cleanup(struct gw_stream_page *page)
{
    free(page->e);
    memset(page, 0, sizeof(*page));
}
