/* fcgi/metrics.c: counting by status and latency, and the text format. */
#include "check.h"
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

/* The value on the line that starts with name (name must end in ' '). */
static long long value_of(const char *text, const char *name)
{
    const char *p = text;
    size_t n = strlen(name);

    while (p && *p) {
        if (strncmp(p, name, n) == 0)
            return strtoll(p + n, NULL, 10);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static void counts(void)
{
    static struct send_metrics m;
    struct send_metrics_redis r = {.up = 1,
                                   .writable = 0,
                                   .reconnects = 2,
                                   .dials_failed = 3,
                                   .errors = 4,
                                   .failovers = 5,
                                   .fences = 6,
                                   .unconfirmed = 7};
    char buf[8192];
    size_t len;

    send_metrics_init(&m);
    send_metrics_answer(&m, 200, 100);     /* <= 250 us */
    send_metrics_answer(&m, 200, 250);     /* the bound is inclusive */
    send_metrics_answer(&m, 400, 251);     /* <= 500 us */
    send_metrics_answer(&m, 503, 9000000); /* past every bound: +Inf */
    send_metrics_answer(&m, 418, 1);       /* not a status we give */
    send_metrics_published(&m, true);
    send_metrics_published(&m, false);
    send_metrics_published(&m, false);
    send_metrics_replayed(&m);
    send_metrics_replayed(&m);
    send_metrics_unknown(&m);
    len = send_metrics_render(&m, &r, 4, buf, sizeof(buf));
    CHECK_INT(len, strlen(buf));
    CHECK_INT(value_of(buf, "chat_send_requests_total{status=\"200\"} "), 2);
    CHECK_INT(value_of(buf, "chat_send_requests_total{status=\"400\"} "), 1);
    CHECK_INT(value_of(buf, "chat_send_requests_total{status=\"503\"} "), 1);
    CHECK_INT(value_of(buf, "chat_send_requests_total{status=\"other\"} "), 1);
    CHECK_INT(value_of(buf, "chat_send_requests_total{status=\"429\"} "), 0);
    CHECK_INT(
        value_of(buf,
                 "chat_send_request_duration_seconds_bucket{le=\"0.00025\"} "),
        3); /* 100 us, 250 us and the 1 us "other" */
    CHECK_INT(
        value_of(buf,
                 "chat_send_request_duration_seconds_bucket{le=\"0.0005\"} "),
        4);
    CHECK_INT(
        value_of(buf, "chat_send_request_duration_seconds_bucket{le=\"2.5\"} "),
        4);
    CHECK_INT(
        value_of(buf,
                 "chat_send_request_duration_seconds_bucket{le=\"+Inf\"} "),
        5);
    CHECK_INT(value_of(buf, "chat_send_request_duration_seconds_count "), 5);
    CHECK_INT(value_of(buf, "chat_send_messages_total{kind=\"stored\"} "), 1);
    CHECK_INT(value_of(buf, "chat_send_messages_total{kind=\"ephemeral\"} "),
              2);
    CHECK_INT(value_of(buf, "chat_send_idem_replays_total "), 2);
    CHECK_INT(value_of(buf, "chat_send_unknown_outcome_total "), 1);
    CHECK_INT(value_of(buf, "chat_send_requests_total{status=\"409\"} "), 0);
    CHECK_INT(value_of(buf, "chat_send_redis_up "), 1);
    CHECK_INT(value_of(buf, "chat_send_redis_writable "), 0);
    CHECK_INT(value_of(buf, "chat_send_redis_reconnects_total "), 2);
    CHECK_INT(value_of(buf, "chat_send_redis_errors_total "), 4);
    CHECK_INT(value_of(buf, "chat_send_redis_failovers_total "), 5);
    CHECK_INT(value_of(buf, "chat_send_redis_fences_total "), 6);
    CHECK_INT(value_of(buf, "chat_send_unconfirmed_total "), 7);
    CHECK_INT(value_of(buf, "chat_send_threads "), 4);
}

static void short_buffer(void)
{
    static struct send_metrics m;
    struct send_metrics_redis r = {0};
    char buf[300];
    size_t len;

    send_metrics_init(&m);
    len = send_metrics_render(&m, &r, 1, buf, sizeof(buf));
    CHECK(len < sizeof(buf));
    CHECK_INT(len, strlen(buf));
    CHECK(len > 0 && buf[len - 1] == '\n'); /* cut at a line end */
    CHECK_INT(send_metrics_render(&m, &r, 1, buf, 0), 0);
}

int main(void)
{
    counts();
    short_buffer();
    return check_summary();
}
