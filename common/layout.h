/*
 * The Redis layout of PROTOCOL.md §3, named once for both programs.
 */
#ifndef CHAT_LAYOUT_H
#define CHAT_LAYOUT_H

#define CHAT_KEY_COUNTER  "messages:id"      /* string: last id given */
#define CHAT_KEY_HISTORY  "messages:history" /* stream: entry <id>-0, m */
#define CHAT_CHANNEL      "messages"         /* pub/sub: "[{...}]" */
#define CHAT_STREAM_FIELD "m"
/* string, PX 60000: written by each readiness probe to see writes work */
#define CHAT_KEY_PROBE "probe:send"
/* string, EX 600: the text a send with idempotency key K published */
#define CHAT_KEY_IDEM_PREFIX "idem:" /* + K */
/* string: the replication id of the primary that last fenced the counter */
#define CHAT_KEY_FENCE "messages:fence"
/*
 * How far the counter jumps on a newly promoted primary (fcgi/fence.lua):
 * more ids than an old primary can hand out that its replica never
 * heard of (its rate times min-replicas-max-lag, or a replica's whole
 * output buffer of ~850,000 messages), and small enough that ids stay
 * exact in JavaScript (2^53) for millions of failovers.
 */
#define CHAT_ID_FENCE 1000000000LL

#endif
