/*
 * gateway/order.c: ordered delivery across resubscribes, gaps and
 * backfills. Each row is a script of events and the actions it must
 * cause, in order.
 *
 * Events (space-separated):
 *   C / D     the command connection up / down
 *   S / U     subscribed / unsubscribed
 *   L5        a live message with id 5
 *   F7        the counter read: 7 (F-1: the read failed)
 *   P2,4      a page of stored messages 2 and 4 (read_to 4)
 *   P2,4+     the same page, full: the stream goes on
 *   P-        an empty page
 *   P!4+      a full page whose entries all failed their checks, read to 4
 *   X         the fetch failed
 * Actions: f5 forward 5, x6 fetch stored from 6, g fetch the counter.
 */
#include "check.h"
#include "order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 3
#define HOLD_MAX 3

struct log {
    char text[512];
};

/* Append action a, with its id when id >= 0. */
static void note(struct log *l, char a, long long id)
{
    size_t n = strlen(l->text);

    if (id >= 0)
        snprintf(l->text + n, sizeof(l->text) - n, "%s%c%lld", n ? " " : "", a,
                 id);
    else
        snprintf(l->text + n, sizeof(l->text) - n, "%s%c", n ? " " : "", a);
}

static void on_forward(void *user, long long id, const char *json, size_t len)
{
    char want[32];

    /* The text forwarded is the text that came in. */
    snprintf(want, sizeof(want), "{\"id\":%lld}", id);
    CHECK_MSG(len == strlen(want) && memcmp(json, want, len) == 0,
              "forward %lld carried \"%.*s\"", id, (int)len, json);
    note(user, 'f', id);
}

static void on_fetch(void *user, long long from)
{
    note(user, 'x', from);
}

static void on_fetch_floor(void *user)
{
    note(user, 'g', -1);
}

static const struct gw_order_ops ops = {on_forward, on_fetch, on_fetch_floor};

static void page(struct gw_order *o, const char *arg)
{
    struct gw_entry e[16];
    static char texts[16][32];
    size_t n = 0;
    int more = arg[strlen(arg) - 1] == '+';
    long long read_to = 0;

    if (arg[0] == '!') {
        read_to = atoll(arg + 1);
    } else if (arg[0] != '-') {
        for (const char *p = arg; *p && *p != '+'; p += strcspn(p, ",+")) {
            if (*p == ',')
                p++;
            e[n].id = atoll(p);
            snprintf(texts[n], sizeof(texts[n]), "{\"id\":%lld}", e[n].id);
            e[n].json = texts[n];
            e[n].len = strlen(texts[n]);
            read_to = e[n].id;
            n++;
            p += strspn(p, "0123456789");
        }
    }
    gw_order_page(o, e, n, more, read_to);
}

static void event(struct gw_order *o, const char *ev)
{
    char text[32];
    long long v = atoll(ev + 1);

    switch (ev[0]) {
    case 'C':
        gw_order_cmd_up(o);
        break;
    case 'D':
        gw_order_cmd_down(o);
        break;
    case 'S':
        gw_order_subscribed(o);
        break;
    case 'U':
        gw_order_unsubscribed(o);
        break;
    case 'L':
        snprintf(text, sizeof(text), "{\"id\":%lld}", v);
        gw_order_live(o, v, text, strlen(text));
        break;
    case 'F':
        gw_order_floor(o, v);
        break;
    case 'P':
        page(o, ev + 1);
        break;
    case 'X':
        gw_order_page_failed(o);
        break;
    default:
        CHECK_MSG(0, "unknown event %s", ev);
    }
}

struct row {
    const char *what;
    const char *events;
    const char *actions;
};

static const struct row rows[] = {
    {"first subscription, live in order", "C S F0 L1 L2 L3", "g f1 f2 f3"},
    {"duplicates are dropped", "C S F0 L1 L2 L2 L1 L3", "g f1 f2 f3"},
    {"live before the counter is read", "C S L5 F4 L6", "g f5 f6"},
    {"a resubscribe with stored and ephemeral messages interleaved",
     "C S F0 L1 U S L3 L4 P2,4", "g f1 x2 f2 f3 f4"},
    {"held messages above the last page go out after it",
     "C S F0 L1 U S L3 L5 P2", "g f1 x2 f2 f3 f5"},
    {"a backfill longer than one page", "C S F0 L1 U S P2,3,4+ P5,6,7+ P8",
     "g f1 x2 f2 f3 f4 x5 f5 f6 f7 x8 f8"},
    {"a live id that jumps reads the hole", "C S F0 L1 L2 L5 P3,5",
     "g f1 f2 x3 f3 f5"},
    {"a hole with nothing stored in it", "C S F0 L1 L4 P-", "g f1 x2 f4"},
    {"live after a repaired hole goes straight on", "C S F0 L1 L3 P- L4 L5",
     "g f1 x2 f3 f4 f5"},
    {"the command connection lost during a backfill",
     "C S F0 L1 U S X D L3 C P2,3", "g f1 x2 x2 f2 f3"},
    {"subscribed again while a page is in flight reads once more",
     "C S F0 L1 U S U S P2 P3", "g f1 x2 f2 x3 f3"},
    {"dropped before anything was forwarded: the counter is the base",
     "C S F5 U S P6,7", "g x6 f6 f7"},
    {"a counter read across a drop is read again", "C S U S F5 F6 U S P7",
     "g g x7 f7"},
    {"held past the cap: the stream is read once more",
     "C S F0 L1 U S L3 L4 L5 L6 P2,3 P4,5,6", "g f1 x2 f2 f3 x4 f4 f5 f6"},
    {"a full page of bad entries is read past", "C S F0 L1 U S P!4+ P-",
     "g f1 x2 x5"},
    {"a full page that moves nothing ends the read", "C S F0 L1 U S P!0+ L2",
     "g f1 x2 f2"},
    {"no command connection: no reads until it comes", "S L1 L2 U S L4 C P3,4",
     "f1 f2 x3 f3 f4"},
    {"a page nobody asked for is ignored", "C S F0 L1 P5 L2", "g f1 f2"},
    {"held messages keep id order whatever order they came in",
     "C S F0 L1 U S L4 L3 P2", "g f1 x2 f2 f3 f4"},
    {"a failed counter read is retried on the next connection",
     "C S F-1 D C F3 U S P4", "g g x4 f4"},
    /* Issue 13: a new primary's counter was fenced (fcgi/fence.lua). */
    {"a failover: the fenced counter is one more hole, read once",
     "C S F0 L1 L2 U D C S L1000000003 P1000000003", "g f1 f2 x3 f1000000003"},
    {"a failover that lost messages the gateway had forwarded",
     "C S F0 L1 L2 L3 L4 U D C S P1000000003 L1000000004",
     "g f1 f2 f3 f4 x5 f1000000003 f1000000004"},
    {"a fenced jump without a resubscribe is a hole like any other",
     "C S F0 L1 L1000000002 P1000000002 L1000000003",
     "g f1 x2 f1000000002 f1000000003"},
};

static void run_rows(void)
{
    struct gw_order_config cfg = {PAGE_MAX, HOLD_MAX};

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct log log = {""};
        struct gw_order *o = gw_order_new(&cfg, &ops, &log);
        char script[256], *save = NULL;

        snprintf(script, sizeof(script), "%s", rows[i].events);
        for (char *t = strtok_r(script, " ", &save); t;
             t = strtok_r(NULL, " ", &save))
            event(o, t);
        CHECK_MSG(strcmp(log.text, rows[i].actions) == 0,
                  "%s: \"%s\" gave \"%s\", want \"%s\"", rows[i].what,
                  rows[i].events, log.text, rows[i].actions);
        gw_order_free(o);
    }
}

/* Strictly increasing forwards and no stored id missed, for any mix. */
static void counters(void)
{
    struct gw_order_config cfg = {PAGE_MAX, HOLD_MAX};
    struct log log = {""};
    struct gw_order *o = gw_order_new(&cfg, &ops, &log);
    struct gw_order_stats st;

    event(o, "C");
    event(o, "S");
    event(o, "F0");
    event(o, "L1");
    event(o, "L1");
    event(o, "U");
    event(o, "S");
    CHECK(gw_order_backfilling(o));
    event(o, "L3");
    event(o, "L4");
    event(o, "L5");
    event(o, "L6");
    event(o, "P2,3");
    event(o, "P4,5,6");
    CHECK(!gw_order_backfilling(o));
    CHECK_INT(gw_order_last(o), 6);
    st = gw_order_stats(o);
    CHECK_INT(st.held_dropped, 1);
    CHECK_INT(st.backfilled, 5);
    CHECK_INT(st.duplicates, 4);
    event(o, "L8");
    CHECK_INT(gw_order_stats(o).gaps, 1);
    gw_order_free(o);
    gw_order_free(NULL);
}

int main(void)
{
    run_rows();
    counters();
    return check_summary();
}
