/* gateway/presence_rule.c: reading the script's answer, telling clients. */
#include "check.h"
#include "presence_rule.h"

#include <hiredis.h>
#include <string.h>

static void parse(void)
{
    redisReply r;

    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_INTEGER;
    r.integer = 7;
    CHECK_INT(gw_presence_parse(&r), 7);
    r.integer = 0;
    CHECK_INT(gw_presence_parse(&r), 0);
    r.integer = -1;
    CHECK_INT(gw_presence_parse(&r), -1);
    r.type = REDIS_REPLY_STRING;
    r.integer = 7;
    CHECK_INT(gw_presence_parse(&r), -1);
    CHECK_INT(gw_presence_parse(NULL), -1);
}

/* A second more per thousand sessions, from one to ten. */
static void interval(void)
{
    const long long rows[][2] = {
        {0, 1000},      {999, 1000},      {1000, 2000},  {1999, 2000},
        {5000, 6000},   {8999, 9000},     {9000, 10000}, {9999, 10000},
        {10000, 10000}, {1000000, 10000},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        CHECK_MSG(gw_presence_interval_ms(rows[i][0]) == rows[i][1],
                  "%lld sessions: %lld ms, want %lld", rows[i][0],
                  gw_presence_interval_ms(rows[i][0]), rows[i][1]);
}

/* Only a change is told, and no sooner than the interval after the last. */
static void push(void)
{
    CHECK(gw_presence_push_due(3, -1, 0, 0, 1000));      /* never sent */
    CHECK(!gw_presence_push_due(3, 3, 5000, 0, 1000));   /* no change */
    CHECK(!gw_presence_push_due(4, 3, 999, 0, 1000));    /* too soon: N-1 */
    CHECK(gw_presence_push_due(4, 3, 1000, 0, 1000));    /* at N */
    CHECK(gw_presence_push_due(0, 3, 7000, 6000, 1000)); /* down to none */
}

int main(void)
{
    parse();
    interval();
    push();
    return check_summary();
}
