/*
 * libFuzzer harness for the message rules (common/chat_msg.c).
 *
 * Input layout, chosen so mutations stay meaningful:
 *   byte 0      bit i set: field i is absent (name, email, topic, content,
 *               ephemeral, idem), to reach the "missing" paths
 *   bytes 1..8  a clock value: the whole int64 goes to
 *               chat_msg_format_date, a year 1970..9999 form of it to
 *               chat_msg_parse
 *   the rest    the six field values, split on the byte 0xFF (never valid
 *               UTF-8, so no valid value is lost by the choice)
 * Each value gets its own exact-size heap copy so that reading past a
 * span is an ASan report, not a silent read of the next field.
 *
 * Links only common/ (run.sh always does).
 */
#include "chat_msg.h"
#include "msg_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIELD_COUNT 6
#define SEPARATOR   0xFF
/* Seconds from 1970 to the end of year 9999, the RFC 3339 range. */
#define YEAR_9999_END 253402300800ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_format_date(uint64_t clock)
{
    struct timespec t;
    char out[CHAT_DATE_SIZE];
    enum chat_err code;

    t.tv_sec = (time_t)clock;
    t.tv_nsec = (long)((clock >> 7) % 1000000000ULL);
    memset(out, 'x', sizeof(out));
    code = chat_msg_format_date(&t, out);
    FUZZ_REQUIRE(code == CHAT_OK || code == CHAT_ERR_TOO_LONG);
    if (code == CHAT_OK)
        fuzz_check_date(out);
    /* Inside the RFC 3339 range a date must always be given. */
    if (clock < YEAR_9999_END)
        FUZZ_REQUIRE(code == CHAT_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chat_span *slot[FIELD_COUNT];
    struct chat_fields f;
    char *copies[FIELD_COUNT] = {NULL};
    struct timespec received;
    uint64_t clock = 0;
    uint8_t absent;
    size_t pos = 9, i;

    if (size < 9)
        return 0;
    absent = data[0];
    memcpy(&clock, data + 1, sizeof(clock));
    check_format_date(clock);
    received.tv_sec = (time_t)(clock % YEAR_9999_END);
    received.tv_nsec = (long)((clock >> 3) % 1000000000ULL);

    memset(&f, 0, sizeof(f));
    slot[0] = &f.name;
    slot[1] = &f.email;
    slot[2] = &f.topic;
    slot[3] = &f.content;
    slot[4] = &f.ephemeral;
    slot[5] = &f.idem;
    for (i = 0; i < FIELD_COUNT; i++) {
        const uint8_t *end =
            pos <= size ? memchr(data + pos, SEPARATOR, size - pos) : NULL;
        size_t len;

        if (pos > size)
            break;
        len = end ? (size_t)(end - (data + pos)) : size - pos;
        /* malloc(0) may give NULL; one spare byte keeps "present". */
        copies[i] = malloc(len ? len : 1);
        FUZZ_REQUIRE(copies[i] != NULL);
        memcpy(copies[i], data + pos, len);
        if (!(absent & (1u << i))) {
            slot[i]->ptr = copies[i];
            slot[i]->len = len;
        }
        pos += len + 1;
    }
    (void)fuzz_validate(&f, &received);
    for (i = 0; i < FIELD_COUNT; i++)
        free(copies[i]);
    return 0;
}
