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

#endif
