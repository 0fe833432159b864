/*
 * Presence, the pure part: what the presence script's answer means, and
 * when clients hear the online count.
 */
#ifndef GW_PRESENCE_RULE_H
#define GW_PRESENCE_RULE_H

struct redisReply;

/* The script's answer: the others' total, or -1 when it is not one. */
long long gw_presence_parse(const struct redisReply *rep);

/*
 * How often at most clients hear the count, for a gateway holding
 * sessions: once a second, and a second more per thousand sessions (at
 * most ten): every push is a frame to every session, and a crowd coming
 * and going would otherwise cost a frame per client per second.
 */
long long gw_presence_interval_ms(long long sessions);

/*
 * Should clients hear the total now? Only when it differs from the one
 * last sent (sent < 0: none yet), and no sooner than min_interval_ms
 * after that was sent at sent_ms.
 */
int gw_presence_push_due(long long online, long long sent, long long now_ms,
                         long long sent_ms, long long min_interval_ms);

#endif
