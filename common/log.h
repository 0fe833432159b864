/*
 * One emitter for every log line of both programs: one line per event on
 * stderr, "level component key=value ...". Message bodies and emails are
 * never logged above debug.
 */
#ifndef CHAT_LOG_H
#define CHAT_LOG_H

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG
};

/*
 * Parse "error", "warn", "info" or "debug". Returns 0 and sets *out, or -1
 * for anything else.
 */
int log_level_parse(const char *s, enum log_level *out);

/* Set the most verbose level written; the default is LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);

/* Non-zero when a line at level would be written. */
int log_enabled(enum log_level level);

/* Write one line "level component <formatted>" if level is enabled. */
void log_emit(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Write line (no newline in it) as one line if level is enabled: for
 * callers that format a whole structured record themselves.
 */
void log_line(enum log_level level, const char *line);

#define log_error(comp, ...) log_emit(LOG_LEVEL_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_emit(LOG_LEVEL_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...)  log_emit(LOG_LEVEL_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...) log_emit(LOG_LEVEL_DEBUG, comp, __VA_ARGS__)

#endif
