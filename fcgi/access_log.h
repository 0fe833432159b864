/*
 * The send handler's log line per refused request: one JSON object per
 * non-2xx answer (never the message's content or email), bounded per kind
 * of answer by common/log_limit.h so that a flood of refusals costs a few
 * lines and a count, not a line each. Safe to call from every worker: one
 * lock guards the limiter, and each line is one write.
 */
#ifndef SEND_ACCESS_LOG_H
#define SEND_ACCESS_LOG_H

#include "chat_msg.h"
#include "log_limit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define ACCESS_LOG_SLOTS 64 /* kinds of answer tracked at once */

/*
 * One answer. error and field must be static strings (they name the kind
 * of answer for the limiter); the others are borrowed for the call.
 */
struct access_log_entry {
    int status;
    const char *error;
    const char *field; /* NULL: no single field */
    bool unknown;      /* a 503 that cannot say whether the step ran */
    const char *method;
    const char *remote;
    size_t body_bytes;
    long long duration_us;
};

struct access_log {
    pthread_mutex_t lock;
    struct log_limit limit;
    struct log_limit_slot slots[ACCESS_LOG_SLOTS];
};

/* burst lines per kind per interval_ms (burst 0: every line). */
CHAT_WUR int access_log_init(struct access_log *a, long long burst,
                             long long interval_ms);

/*
 * Write e's line, or count it when its kind is over its burst; a summary
 * owed by an ended window is written first. At 5xx the level is warn,
 * otherwise info; nothing is done when that level is off.
 */
void access_log_answer(struct access_log *a, const struct access_log_entry *e);

/*
 * Write the summaries of every window that has ended (all: of every
 * window, for the end of the process). Call it now and then, so that a
 * flood's last count is written even when no refusal follows it.
 */
void access_log_sweep(struct access_log *a, bool all);

void access_log_cleanup(struct access_log *a);

#endif
