/*
 * Every limit of PROTOCOL.md, named once. Both programs and the tests use
 * these; nothing else spells the numbers.
 */
#ifndef CHAT_LIMITS_H
#define CHAT_LIMITS_H

/* §1: lengths in characters (Unicode code points) unless said bytes. */
#define CHAT_NAME_MAX_CHARS    100
#define CHAT_TOPIC_MAX_CHARS   100
#define CHAT_CONTENT_MAX_CHARS 4000
#define CHAT_EMAIL_MIN_BYTES   3
#define CHAT_EMAIL_MAX_BYTES   254

/* A code point takes at most 4 bytes in UTF-8. */
#define CHAT_UTF8_MAX_BYTES    4
#define CHAT_NAME_MAX_BYTES    (CHAT_NAME_MAX_CHARS * CHAT_UTF8_MAX_BYTES)
#define CHAT_TOPIC_MAX_BYTES   (CHAT_TOPIC_MAX_CHARS * CHAT_UTF8_MAX_BYTES)
#define CHAT_CONTENT_MAX_BYTES (CHAT_CONTENT_MAX_CHARS * CHAT_UTF8_MAX_BYTES)

/* "2026-11-28T06:01:23.456Z" plus NUL. */
#define CHAT_DATE_SIZE 25

/* §2: request body cap. */
#define CHAT_BODY_MAX (64 * 1024)

/* §2: an idempotency key is 1..64 of A-Za-z0-9_- (so bytes = characters),
 * remembered for 10 minutes. */
#define CHAT_IDEM_MAX   64
#define CHAT_IDEM_TTL_S 600

/* §4: client frame cap and history page sizes. */
#define CHAT_WS_FRAME_MAX 4096
#define CHAT_PAGE_MAX     50
#define CHAT_RESUME_MAX   500
/* A request's "req" tag: 1..32 characters of A-Za-z0-9_- */
#define CHAT_REQ_TAG_MAX 32

/* §3: default stream length kept by MAXLEN ~. */
#define CHAT_HISTORY_MAX_DEFAULT 100000

#define CHAT_TOPIC_DEFAULT "general"

#endif
