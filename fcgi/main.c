/*
 * chat-send: the FastCGI responder behind POST /chatapp/send.
 *
 * A request's story: the method must be POST, a browser's request must
 * come from an allowed origin (origin.c), the Content-Type must be a form,
 * the length present and at most 64 KiB; the body is read (never more
 * than that), parsed into fields (form.c), checked against the message
 * rules (chat_msg.c), and then one Redis step gives it an id, stores and
 * publishes it, at most once per idempotency key (store.c). Every outcome
 * becomes an HTTP status and a JSON body through one table; a 503 says
 * whether nothing was done or the outcome is unknown. Nothing touches
 * Redis before the input is known to be good.
 *
 * SEND_THREADS workers each accept on the shared socket and own one Redis
 * link; a separate thread answers /healthz, /readyz and /metrics. The main
 * thread only waits for SIGTERM/SIGINT, then answers the connections
 * already queued, stops accepting, lets the requests in flight finish and
 * exits.
 */
#include "access_log.h"
#include "config.h"
#include "form.h"
#include "health.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "origin.h"
#include "store.h"

#include <errno.h>
#include <fcgiapp.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum answer {
    ANSWER_OK = 0,
    ANSWER_BAD_REQUEST,
    ANSWER_FORBIDDEN,
    ANSWER_NOT_POST,
    ANSWER_NO_LENGTH,
    ANSWER_TOO_LARGE,
    ANSWER_MEDIA_TYPE,
    ANSWER_CONFLICT,
    ANSWER_RATE_LIMITED,
    ANSWER_INTERNAL,
    ANSWER_UNAVAILABLE
};

/* Every status the handler gives, with the sentence used when the step
 * that failed has none of its own. */
static const struct {
    int status;
    const char *reason;
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *message;
} answers[] = {
    [ANSWER_OK] = {200, "OK", "", ""},
    [ANSWER_BAD_REQUEST] = {400, "Bad Request", "", "the request is malformed"},
    [ANSWER_FORBIDDEN] = {403, "Forbidden", "",
                          "sending from another site's page is not allowed "
                          "here"},
    [ANSWER_NOT_POST] = {405, "Method Not Allowed", "Allow: POST\r\n",
                         "only POST is allowed here"},
    [ANSWER_NO_LENGTH] = {411, "Length Required", "",
                          "the request must say its Content-Length"},
    [ANSWER_TOO_LARGE] = {413, "Payload Too Large", "",
                          "the body is larger than 64 KiB"},
    [ANSWER_MEDIA_TYPE] =
        {415, "Unsupported Media Type", "",
         "send multipart/form-data or application/x-www-form-urlencoded "
         "in UTF-8"},
    [ANSWER_CONFLICT] = {409, "Conflict", "",
                         "idem was already used for a different message; "
                         "nothing was sent (use a new key for a new "
                         "message)"},
    [ANSWER_RATE_LIMITED] = {429, "Too Many Requests", "",
                             "too many messages; wait a moment and resend"},
    [ANSWER_INTERNAL] = {500, "Internal Server Error", "",
                         "the server failed; nothing was published"},
    [ANSWER_UNAVAILABLE] = {503, "Service Unavailable", "Retry-After: 1\r\n",
                            "the message store is unavailable; nothing was "
                            "stored, please resend"},
};

struct app {
    struct send_config cfg;
    struct store_options store_opt;
    struct store_shared shared;
    struct send_metrics metrics;
    struct access_log access_log;
    struct store *probe_store; /* the health thread's own link */
    atomic_int redis_up;       /* the last probe got an answer */
    atomic_int redis_writable; /* the last probe's write was taken */
    atomic_int stopping;       /* set before the listener is shut */
    int listen_fd;
};

struct worker {
    struct app *app;
    struct store *store;
    pthread_t thread;
    FCGX_Request req;
    size_t body_len; /* of the request being served, for its log line */
    struct chat_msg msg;
    char body[CHAT_BODY_MAX + 1];
};

/* What became of one request; message and field are static strings. */
struct outcome {
    enum answer answer;
    const char *message; /* NULL: the table's sentence */
    const char *field;   /* NULL: no single field at fault */
    bool unknown;        /* a 503 that cannot say whether it was sent */
    long long retry_after_s;
    char *json; /* the published message on ANSWER_OK, malloc'd */
    size_t json_len;
};

static const char *param(struct worker *w, const char *name)
{
    return FCGX_GetParam(name, w->req.envp);
}

static long long elapsed_us(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000000LL +
           (now.tv_nsec - since->tv_nsec) / 1000;
}

static struct outcome fail(enum answer a, const char *message,
                           const char *field)
{
    struct outcome o = {.answer = a, .message = message, .field = field};

    return o;
}

static struct outcome form_failed(const struct form_error *e)
{
    switch (e->code) {
    case FORM_ERR_CONTENT_TYPE:
        return fail(ANSWER_MEDIA_TYPE, e->message, NULL);
    case FORM_ERR_TOO_LARGE:
        return fail(ANSWER_TOO_LARGE, e->message, NULL);
    default:
        return fail(ANSWER_BAD_REQUEST, e->message, e->field);
    }
}

/* ==== reading the request ==== */

/*
 * CONTENT_LENGTH must be plain decimal digits. Over the cap is refused
 * here, before a byte of the body is read.
 */
static int read_length(struct worker *w, size_t *len, struct outcome *o)
{
    const char *v = param(w, "CONTENT_LENGTH");
    size_t n = 0;

    if (!v || !*v) {
        *o = fail(ANSWER_NO_LENGTH, NULL, NULL);
        return -1;
    }
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9') {
            *o = fail(ANSWER_BAD_REQUEST, "Content-Length is not a number",
                      NULL);
            return -1;
        }
        if (n > CHAT_BODY_MAX) {
            *o = fail(ANSWER_TOO_LARGE, NULL, NULL);
            return -1;
        }
        n = n * 10 + (size_t)(*p - '0');
    }
    if (n > CHAT_BODY_MAX) {
        *o = fail(ANSWER_TOO_LARGE, NULL, NULL);
        return -1;
    }
    *len = n;
    return 0;
}

/* Read exactly len bytes into w->body; -1 if the stream ends first. */
static int read_body(struct worker *w, size_t len)
{
    size_t got = 0;

    while (got < len) {
        int n = FCGX_GetStr(w->body + got, (int)(len - got), w->req.in);

        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    w->body[len] = '\0';
    w->body_len = len;
    return 0;
}

/*
 * A browser says where a request comes from (Origin, Sec-Fetch-Site):
 * another site's page may not post into this chat. Requests that say
 * neither (curl, scripts) are not a browser's, and nothing protects
 * them. Without a REQUEST_SCHEME, HTTPS=on tells https.
 */
static struct outcome check_origin(struct worker *w)
{
    const char *origin = param(w, "HTTP_ORIGIN");
    const char *site = param(w, "HTTP_SEC_FETCH_SITE");
    const char *scheme = param(w, "REQUEST_SCHEME");
    const char *https = param(w, "HTTPS");
    const char *allow = w->app->cfg.allowed_origins;

    if (!scheme)
        scheme = https && strcmp(https, "on") == 0 ? "https" : "http";
    if (origin && !origin_allowed(allow, origin, scheme, param(w, "HTTP_HOST")))
        return fail(ANSWER_FORBIDDEN,
                    "this page's origin may not send here (Origin is not an "
                    "allowed origin)",
                    NULL);
    /* Only an allow-list can admit another site's page on purpose. */
    if (site && strcmp(site, "cross-site") == 0 && (!origin || !allow[0]))
        return fail(ANSWER_FORBIDDEN,
                    "sending from another site's page is not allowed here "
                    "(Sec-Fetch-Site is cross-site)",
                    NULL);
    return fail(ANSWER_OK, NULL, NULL);
}

/* ==== acting on a good message ==== */

static struct outcome rate_limit(struct worker *w)
{
    const struct send_config *cfg = &w->app->cfg;
    const char *who = param(w, "REMOTE_ADDR");
    bool allowed = true;
    long long retry_ms = 0;
    struct outcome o;
    enum store_err rc;

    if (cfg->rate_per_min == 0)
        return fail(ANSWER_OK, NULL, NULL);
    if (!who)
        who = "unknown";
    rc = store_rate_take(w->store, who, strlen(who), cfg->rate_per_min,
                         cfg->rate_burst, &allowed, &retry_ms);
    if (rc != STORE_OK)
        return fail(rc == STORE_ERR_DOWN ? ANSWER_UNAVAILABLE : ANSWER_INTERNAL,
                    NULL, NULL);
    o = fail(allowed ? ANSWER_OK : ANSWER_RATE_LIMITED, NULL, NULL);
    if (!allowed)
        o.retry_after_s = retry_ms > 0 ? (retry_ms + 999) / 1000 : 1;
    return o;
}

/*
 * The step went to Redis and no answer came back: it may have run. With a
 * key, a resend settles it; without one, only the chat itself can tell.
 */
static struct outcome unknown(struct worker *w)
{
    struct outcome o = fail(
        ANSWER_UNAVAILABLE,
        w->msg.idem_len
            ? "the message store stopped answering after it was handed the "
              "message, which may or may not have been sent; resend it with "
              "the same idem to be sure"
            : "the message store stopped answering after it was handed the "
              "message, which may or may not have been sent; look for it in "
              "the chat before sending it again",
        NULL);

    o.unknown = true;
    send_metrics_unknown(&w->app->metrics);
    return o;
}

static struct outcome publish(struct worker *w)
{
    struct outcome o = fail(ANSWER_OK, NULL, NULL);
    struct store_message m = {.keep = !w->msg.ephemeral,
                              .idem = w->msg.idem,
                              .idem_len = w->msg.idem_len};
    struct store_published out = {0};
    char *text = chat_msg_encode(&w->msg);
    enum store_err rc;

    if (!text)
        return fail(ANSWER_INTERNAL, NULL, NULL);
    m.json = text;
    m.len = strlen(text);
    rc = store_publish(w->store, &m, &out);
    free(text);
    switch (rc) {
    case STORE_OK:
        break;
    case STORE_ERR_DOWN:
        return fail(ANSWER_UNAVAILABLE, NULL, NULL);
    case STORE_ERR_UNKNOWN:
        return unknown(w);
    case STORE_ERR_CONFLICT:
        return fail(ANSWER_CONFLICT, NULL, "idem");
    default:
        return fail(ANSWER_INTERNAL, NULL, NULL);
    }
    o.json = out.text;
    o.json_len = out.len;
    if (out.replayed)
        send_metrics_replayed(&w->app->metrics);
    else
        send_metrics_published(&w->app->metrics, !w->msg.ephemeral);
    return o;
}

static struct outcome handle(struct worker *w)
{
    const char *method = param(w, "REQUEST_METHOD");
    struct form_type type;
    struct form_error ferr;
    struct chat_fields fields;
    struct chat_error cerr;
    struct timespec received;
    struct outcome o = fail(ANSWER_OK, NULL, NULL);
    size_t len = 0;

    if (!method || strcmp(method, "POST") != 0)
        return fail(ANSWER_NOT_POST, NULL, NULL);
    o = check_origin(w);
    if (o.answer != ANSWER_OK)
        return o;
    if (form_content_type(param(w, "CONTENT_TYPE"), &type, &ferr))
        return form_failed(&ferr);
    if (read_length(w, &len, &o))
        return o;
    if (read_body(w, len))
        return fail(ANSWER_BAD_REQUEST,
                    "the body ended before Content-Length bytes", NULL);
    if (form_parse(&type, w->body, len, &fields, &ferr))
        return form_failed(&ferr);
    clock_gettime(CLOCK_REALTIME, &received);
    if (chat_msg_parse(&fields, &received, &w->msg, &cerr))
        return fail(cerr.code == CHAT_ERR_NOMEM ? ANSWER_INTERNAL
                                                : ANSWER_BAD_REQUEST,
                    cerr.message, cerr.field);
    o = rate_limit(w);
    if (o.answer != ANSWER_OK)
        return o;
    return publish(w);
}

/* ==== answering ==== */

static void put(struct worker *w, const char *s, size_t n)
{
    FCGX_PutStr(s, (int)n, w->req.out);
}

/*
 * {"error":...,"field":...} or {"error":...,"unknown":true}; a fixed text
 * when memory is short.
 */
static char *error_body(const struct outcome *o)
{
    const char *msg = o->message ? o->message : answers[o->answer].message;
    json_t *j = json_pack("{s:s}", "error", msg);
    char *text;

    if (j && o->field)
        json_object_set_new(j, "field", json_string(o->field));
    if (j && o->unknown)
        json_object_set_new(j, "unknown", json_true());
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return text;
}

/* One JSON line per non-2xx answer, within the repeat bound. */
static void log_answer(struct worker *w, const struct outcome *o,
                       long long usec)
{
    struct access_log_entry e = {
        .status = answers[o->answer].status,
        .error = o->message ? o->message : answers[o->answer].message,
        .field = o->field,
        .unknown = o->unknown,
        .method = param(w, "REQUEST_METHOD"),
        .remote = param(w, "REMOTE_ADDR"),
        .body_bytes = w->body_len,
        .duration_us = usec,
    };

    access_log_answer(&w->app->access_log, &e);
}

static void respond(struct worker *w, const struct outcome *o)
{
    static const char fallback[] = "{\"error\":\"out of memory\"}";
    char head[512];
    char retry[48] = "";
    char *err = NULL;
    const char *body = o->json;
    size_t len = o->json_len;
    int n;

    if (o->answer != ANSWER_OK) {
        err = error_body(o);
        body = err ? err : fallback;
        len = strlen(body);
    }
    if (o->retry_after_s > 0)
        snprintf(retry, sizeof(retry), "Retry-After: %lld\r\n",
                 o->retry_after_s);
    n = snprintf(head, sizeof(head),
                 "Status: %d %s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nCache-Control: no-store\r\n%s%s\r\n",
                 answers[o->answer].status, answers[o->answer].reason, len,
                 answers[o->answer].headers, retry);
    put(w, head, (size_t)n);
    put(w, body, len);
    free(err);
}

static void serve(struct worker *w)
{
    struct timespec start;
    struct outcome o;
    long long usec;

    clock_gettime(CLOCK_MONOTONIC, &start);
    w->body_len = 0;
    o = handle(w);
    respond(w, &o);
    usec = elapsed_us(&start);
    send_metrics_answer(&w->app->metrics, answers[o.answer].status,
                        (unsigned long long)usec);
    if (o.answer != ANSWER_OK)
        log_answer(w, &o, usec);
    free(o.json);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    /* Dial before the first request; a failure is retried per request. */
    if (store_connect(w->store) != STORE_OK)
        log_debug("send", "event=first_dial_failed");
    for (;;) {
        int rc = FCGX_Accept_r(&w->req);

        if (rc >= 0) {
            serve(w);
            FCGX_Finish_r(&w->req);
            continue;
        }
        if (atomic_load(&w->app->stopping))
            break;
        /* -EAGAIN: the listener's SO_RCVTIMEO, nobody came. Anything else
         * (EMFILE, say) must neither end the worker nor spin. */
        if (rc != -EAGAIN && rc != -EWOULDBLOCK) {
            const struct timespec pause = {0, 100 * 1000000L};

            log_warn("send", "event=accept_failed error=%d", -rc);
            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

/* ==== health probe ==== */

/*
 * Ready means a send would be stored now, not only that Redis answers: a
 * Redis that refuses writes (full under noeviction, a failing disk, a
 * replica) takes the pod out of its Service until writes work again.
 */
static int probe_ready(void *ctx)
{
    struct app *app = ctx;
    char why[160];
    bool answered = false;
    int ok = store_probe_write(app->probe_store, &answered, why, sizeof(why)) ==
             STORE_OK;

    atomic_store(&app->redis_up, answered);
    if (atomic_exchange(&app->redis_writable, ok) == ok)
        return ok;
    if (ok)
        log_info("send", "event=redis_writable");
    else if (answered)
        log_warn("send", "event=redis_refuses_writes error=\"%s\"", why);
    return ok;
}

static size_t probe_metrics(void *ctx, char *buf, size_t cap)
{
    struct app *app = ctx;

    /* Fresh where nothing polls /readyz (no kubelet): the same thread. */
    (void)probe_ready(app);
    struct send_metrics_redis r = {
        .up = (unsigned long long)atomic_load(&app->redis_up),
        .writable = (unsigned long long)atomic_load(&app->redis_writable),
        .reconnects = atomic_load(&app->shared.reconnects),
        .dials_failed = atomic_load(&app->shared.dials_failed),
        .errors = atomic_load(&app->shared.errors),
        .failovers = atomic_load(&app->shared.failovers),
        .fences = atomic_load(&app->shared.fences),
        .unconfirmed = atomic_load(&app->shared.unconfirmed),
    };

    return send_metrics_render(&app->metrics, &r, app->cfg.threads, buf, cap);
}

/* ==== process ==== */

static int app_init(struct app *app)
{
    const struct send_config *c = &app->cfg;

    app->store_opt = (struct store_options){
        .host = c->redis_host,
        .port = (int)c->redis_port,
        .timeout_ms = (int)c->redis_timeout_ms,
        .connect_timeout_ms = (int)c->redis_connect_timeout_ms,
        .backoff_min_ms = (int)c->redis_backoff_min_ms,
        .backoff_max_ms = (int)c->redis_backoff_max_ms,
        .history_max = c->history_max,
        .sentinels = &c->sentinels,
        .master_name = c->redis_master_name,
        .min_replicas = (int)c->min_replicas,
        .wait_timeout_ms = (int)c->wait_timeout_ms,
    };
    store_shared_init(&app->shared, (int)c->redis_backoff_min_ms);
    send_metrics_init(&app->metrics);
    atomic_init(&app->redis_up, 0);
    atomic_init(&app->redis_writable, 1); /* so the first refusal is logged */
    atomic_init(&app->stopping, 0);
    return access_log_init(&app->access_log, c->log_repeat_burst,
                           c->log_repeat_interval_ms);
}

static int start_workers(struct app *app, struct worker **ws, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct worker *w = calloc(1, sizeof(*w));

        ws[i] = w;
        if (!w)
            return -1;
        w->app = app;
        w->store = store_new(&app->store_opt, &app->shared);
        if (!w->store || FCGX_InitRequest(&w->req, app->listen_fd, 0) ||
            pthread_create(&w->thread, NULL, worker_main, w)) {
            store_free(w->store);
            free(w);
            ws[i] = NULL;
            return -1;
        }
    }
    return 0;
}

static void stop_workers(struct app *app, struct worker **ws, size_t n)
{
    listener_drain(app->listen_fd);
    atomic_store(&app->stopping, 1);
    /* Accepts in progress return; requests being served finish first. */
    FCGX_ShutdownPending();
    shutdown(app->listen_fd, SHUT_RDWR);
    for (size_t i = 0; i < n && ws[i]; i++) {
        pthread_join(ws[i]->thread, NULL);
        FCGX_Free(&ws[i]->req, 1);
        store_free(ws[i]->store);
        free(ws[i]);
    }
}

/*
 * Wait for SIGTERM/SIGINT; once a second meanwhile, write the log counts
 * of refusals whose window has ended.
 */
static int wait_for_stop(struct app *app, const sigset_t *set)
{
    const struct timespec tick = {1, 0};
    int sig;

    while ((sig = sigtimedwait(set, NULL, &tick)) < 0)
        access_log_sweep(&app->access_log, false);
    log_info("send", "event=stopping signal=%d", sig);
    return sig;
}

/* Run until SIGTERM/SIGINT; workers are started and stopped here. */
static int run(struct app *app, const sigset_t *stop_set)
{
    struct health_probe probe = {probe_ready, probe_metrics, app};
    struct health *health = NULL;
    struct worker **workers =
        calloc((size_t)app->cfg.threads, sizeof(*workers));
    int rc = 1;

    app->probe_store = store_new(&app->store_opt, &app->shared);
    if (!app->probe_store || !workers ||
        store_shared_start(&app->shared, &app->store_opt))
        goto out_free;
    if (app->cfg.health_port) {
        health = health_start(app->cfg.bind, (int)app->cfg.health_port, &probe);
        if (!health)
            goto out_free;
    }
    if (start_workers(app, workers, (size_t)app->cfg.threads) == 0) {
        (void)wait_for_stop(app, stop_set);
        rc = 0;
    } else {
        log_error("send", "event=start_failed error=\"cannot start workers\"");
    }
    health_draining(health);
    stop_workers(app, workers, (size_t)app->cfg.threads);
    health_stop(health);
    access_log_sweep(&app->access_log, true);
out_free:
    free(workers);
    store_free(app->probe_store);
    return rc;
}

int main(void)
{
    struct app *app = calloc(1, sizeof(*app));
    sigset_t stop_set;
    int rc = 1;

    if (!app)
        return 1;
    if (send_config_load(&app->cfg)) {
        rc = 2;
        goto out_free_app;
    }
    /* Every thread inherits this mask; only sigwait() sees the signals. */
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (app_init(app))
        goto out_free_app;
    if (FCGX_Init() == 0 && (app->listen_fd = listener_open(&app->cfg)) >= 0) {
        rc = run(app, &stop_set);
        if (app->cfg.socket_path[0])
            unlink(app->cfg.socket_path);
    }
    store_shared_cleanup(&app->shared);
    access_log_cleanup(&app->access_log);
    log_info("send", "event=stopped");
out_free_app:
    free(app);
    return rc;
}
