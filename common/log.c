#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * The level is set once at start, before any thread or loop runs, and only
 * read afterwards; that is why this one static is allowed.
 */
static enum log_level max_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOG_LEVEL_DEBUG; i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_set_level(enum log_level level)
{
    max_level = level;
}

int log_enabled(enum log_level level)
{
    return level <= max_level;
}

void log_emit(enum log_level level, const char *component, const char *fmt, ...)
{
    char line[1024];
    int n;
    size_t used;
    va_list ap;

    if (!log_enabled(level))
        return;
    n = snprintf(line, sizeof(line), "%s %s ", level_names[level], component);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    used = strlen(line);
    if (used == sizeof(line) - 1)
        used--; /* a cut line still ends with its newline */
    line[used] = '\n';
    /* One fwrite per line keeps lines whole when threads log at once. */
    fwrite(line, 1, used + 1, stderr);
}

void log_line(enum log_level level, const char *line)
{
    char buf[1024];
    size_t n = strlen(line);

    if (!log_enabled(level))
        return;
    if (n > sizeof(buf) - 1)
        n = sizeof(buf) - 1;
    memcpy(buf, line, n);
    buf[n] = '\n';
    fwrite(buf, 1, n + 1, stderr);
}
