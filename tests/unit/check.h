/*
 * A tiny table-test harness: CHECK* count and report; check_summary() prints
 * "N passed, N failed" as the binary's last line and gives the exit status.
 * Statics are fine here: one test binary is one single-threaded process.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed;
static int check_failed;

#define CHECK_MSG(cond, ...)                                                   \
    do {                                                                       \
        if (cond) {                                                            \
            check_passed++;                                                    \
        } else {                                                               \
            check_failed++;                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);               \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", #cond)

#define CHECK_INT(got, want)                                                   \
    CHECK_MSG((long long)(got) == (long long)(want), "%s = %lld, want %lld",   \
              #got, (long long)(got), (long long)(want))

/* Compares possibly-NULL C strings. */
#define CHECK_STR(got, want)                                                   \
    CHECK_MSG(check_str_eq((got), (want)), "%s = \"%s\", want \"%s\"", #got,   \
              (got) ? (got) : "(null)", (want) ? (want) : "(null)")

static inline int check_str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
