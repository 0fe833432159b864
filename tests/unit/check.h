/*
 * A tiny table-test harness: CHECK* count and report; check_summary() prints
 * "N passed, N failed" as the binary's last line and gives the exit status.
 * Statics are fine here: one test binary is one single-threaded process.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <stdlib.h>
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

/* One environment variable's value and whether a config loader takes it. */
struct check_env_row {
    const char *name;
    const char *value;
    int want; /* 0 accepted, -1 refused */
};

/*
 * For each row: set the variable alone, run load() (a config loader that
 * returns 0 or -1), check the verdict, unset it. LOG_LEVEL=error keeps the
 * loaders' effective-config lines quiet between rows.
 */
static inline void check_env_rows(const struct check_env_row *rows, size_t n,
                                  int (*load)(void))
{
    for (size_t i = 0; i < n; i++) {
        int got;

        setenv(rows[i].name, rows[i].value, 1);
        got = load();
        CHECK_MSG(got == rows[i].want, "%s=\"%s\": %d, want %d", rows[i].name,
                  rows[i].value, got, rows[i].want);
        unsetenv(rows[i].name);
        setenv("LOG_LEVEL", "error", 1);
    }
}

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
