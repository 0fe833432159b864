#include "presence_rule.h"

#include <hiredis.h>

#define PUSH_MS     1000
#define PUSH_MAX_MS 10000

long long gw_presence_parse(const redisReply *rep)
{
    if (!rep || rep->type != REDIS_REPLY_INTEGER || rep->integer < 0)
        return -1;
    return rep->integer;
}

long long gw_presence_interval_ms(long long sessions)
{
    long long ms = PUSH_MS + (sessions / 1000) * PUSH_MS;

    return ms > PUSH_MAX_MS ? PUSH_MAX_MS : ms;
}

int gw_presence_push_due(long long online, long long sent, long long now_ms,
                         long long sent_ms, long long min_interval_ms)
{
    if (online == sent)
        return 0;
    return sent < 0 || now_ms - sent_ms >= min_interval_ms;
}
