/*
 * Fan-out load generator: holds C WebSocket connections (through lighttpd
 * or straight to gateways), posts M messages at R per second through
 * /chatapp/send and measures, for every connection, the time from writing
 * the POST to receiving the message.
 *
 * Each message's content is "bench-<run>-<seq>-<t_ns>", so a receiving
 * thread needs no shared table: it scans frames for the run's prefix,
 * reads seq and the send time, and never builds a JSON tree.
 *
 * Threads: T workers, each with its own lws context (lws contexts are not
 * shared across threads), and one poster thread with an epoll HTTP/1.1
 * keep-alive client. The last line of output is "RESULT key=value ...".
 *
 * Any server, not only ours: a frame only has to carry the message text,
 * so a pub/sub peer is driven with --post-body json (it publishes the
 * message object it is given). Every --pid process is sampled from /proc
 * before the first connection, once all are open, and after the drain:
 * RSS per connection, and CPU time per connection opened and per million
 * deliveries.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
/* uv.h first: lws declares its libuv helpers only when uv.h is in. */
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MAX_URLS         16
#define MAX_PIDS         16
#define PROC_NAME_MAX    24
#define HOST_MAX         128
#define PATH_MAX_LEN     256
#define CONNECT_WINDOW   48 /* handshakes in flight per worker */
#define CONNECT_ATTEMPTS 5
#define HIST_SUB         64
#define HIST_N           2400
#define HTTP_BUF         16384
#define NEEDLE_MAX       64
#define NS_PER_MS        1000000ULL
#define NS_PER_S         1000000000ULL

/* ---- options ------------------------------------------------------- */

struct target {
    char host[HOST_MAX];
    int port;
    char path[PATH_MAX_LEN];
    char hostport[HOST_MAX + 8];
    char origin[HOST_MAX + 16];
};

/* A server process whose memory and CPU time the run reports. */
struct server_proc {
    long pid;
    char name[PROC_NAME_MAX];
};

struct options {
    struct target urls[MAX_URLS];
    int n_urls;
    struct target post;
    int have_post;
    long conns;
    long threads;
    long messages;
    double rate;
    long drain_ms;
    long connect_ms;
    long settle_ms;
    long stall;
    long post_conns;
    long post_ms; /* stop posting this long after the first post; 0: never */
    int ephemeral;
    int post_json; /* POST a JSON message (a pub/sub peer), not a form */
    struct server_proc procs[MAX_PIDS];
    int n_procs;
};

/* ---- latency histogram (log-linear, <1.6% error) -------------------- */

struct hist {
    uint64_t count[HIST_N];
    uint64_t total;
    uint64_t max_us;
};

static size_t hist_index(uint64_t us)
{
    if (us < 2 * HIST_SUB)
        return (size_t)us;
    if (us >= (1ULL << 40))
        us = (1ULL << 40) - 1;
    int shift = 63 - __builtin_clzll(us) - 6;
    return 2 * HIST_SUB + (size_t)(shift - 1) * HIST_SUB +
           (size_t)((us >> shift) - HIST_SUB);
}

static uint64_t hist_value(size_t idx)
{
    if (idx < 2 * HIST_SUB)
        return idx;
    size_t k = idx - 2 * HIST_SUB;
    int shift = (int)(k / HIST_SUB) + 1;
    uint64_t mant = k % HIST_SUB + HIST_SUB;
    return (mant << shift) + ((1ULL << shift) >> 1);
}

static void hist_add(struct hist *h, uint64_t us)
{
    h->count[hist_index(us)]++;
    h->total++;
    if (us > h->max_us)
        h->max_us = us;
}

static void hist_merge(struct hist *into, const struct hist *from)
{
    for (size_t i = 0; i < HIST_N; i++)
        into->count[i] += from->count[i];
    into->total += from->total;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

static double hist_pct_ms(const struct hist *h, double p)
{
    if (h->total == 0)
        return 0.0;
    uint64_t want = (uint64_t)(p * (double)h->total + 0.999999);
    uint64_t cum = 0;
    for (size_t i = 0; i < HIST_N; i++) {
        cum += h->count[i];
        if (cum >= want && want > 0) {
            uint64_t v = hist_value(i);
            return (double)(v < h->max_us ? v : h->max_us) / 1000.0;
        }
    }
    return (double)h->max_us / 1000.0;
}

/* ---- shared state -------------------------------------------------- */

enum conn_state {
    CONN_IDLE = 0,
    CONN_CONNECTING,
    CONN_OPEN,
    CONN_CLOSED,
    CONN_FAILED
};

struct worker;

struct conn {
    struct worker *w;
    const struct target *tgt;
    uint64_t *seen; /* bitmap of seqs received */
    char *acc;      /* fragments of a frame not yet complete */
    size_t acc_len;
    size_t acc_cap;
    long long last_id;
    uint64_t order_errors;
    _Atomic int state;
    int attempts;
    int stalled;
    int counted; /* open and not stalled when posting began */
    int close_code;
    int dropped; /* closed by the peer before the run ended */
};

struct bench;

struct worker {
    struct bench *b;
    pthread_t thread;
    struct lws_context *ctx;
    uv_loop_t *uv; /* GEN_EVLIB=uv: the loop this worker runs */
    struct conn *conns;
    size_t n_conns;
    size_t next_start;
    int connecting;
    int failures;
    lws_sorted_usec_list_t sul;
    struct hist lat;
    uint64_t frames;
    uint64_t frame_bytes;
    uint64_t dups;
    uint64_t last_delivery_ns;
    _Atomic uint64_t received; /* unique deliveries to counted conns */
    _Atomic int ready;
};

struct poster_stats {
    struct hist http_lat;
    uint64_t sent;
    uint64_t ok;
    uint64_t status_4xx;
    uint64_t status_5xx;
    uint64_t status_other;
    uint64_t io_errors;
    uint64_t max_lag_us;
    int starved;     /* a post was due but every connection was busy */
    uint64_t unsent; /* not posted: --post-ms had passed */
    uint64_t first_ns;
    uint64_t last_ns;
};

struct bench {
    struct options opt;
    struct worker *workers;
    uint64_t *ok_map; /* bitmap of seqs answered 2xx */
    size_t map_words;
    char needle[NEEDLE_MAX];
    size_t needle_len;
    unsigned run_id;
    struct poster_stats post;
    _Atomic int stop;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- option parsing ------------------------------------------------ */

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "ws://host:port/path" or "http://host:port/path" into *t. */
static int parse_url(const char *url, const char *scheme, struct target *t)
{
    size_t sl = strlen(scheme);
    if (strncmp(url, scheme, sl) != 0)
        return -1;
    const char *hp = url + sl;
    const char *slash = strchr(hp, '/');
    const char *colon =
        memchr(hp, ':', slash ? (size_t)(slash - hp) : strlen(hp));
    if (!colon || (size_t)(colon - hp) >= HOST_MAX)
        return -1;
    memcpy(t->host, hp, (size_t)(colon - hp));
    t->host[colon - hp] = '\0';
    long port;
    char portbuf[8];
    size_t plen = (slash ? (size_t)(slash - colon) : strlen(colon)) - 1;
    if (plen == 0 || plen >= sizeof(portbuf))
        return -1;
    memcpy(portbuf, colon + 1, plen);
    portbuf[plen] = '\0';
    if (parse_long(portbuf, 1, 65535, &port))
        return -1;
    t->port = (int)port;
    snprintf(t->path, sizeof(t->path), "%s", slash ? slash : "/");
    snprintf(t->hostport, sizeof(t->hostport), "%s:%d", t->host, t->port);
    /* lws 4.1 puts "http://" in front of the Origin it is given. */
    snprintf(t->origin, sizeof(t->origin), "%s", t->hostport);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fanout --url ws://H:P/chatapp/websocket [--url ...]\n"
            "  --post http://H:P/chatapp/send  --conns N  --threads T\n"
            "  --messages M  --rate R  --drain-ms MS  --connect-ms MS\n"
            "  --settle-ms MS  --stall N  --post-conns N  --ephemeral\n"
            "  --post-ms MS (post nothing more after MS)\n"
            "  --pid [NAME:]PID (repeatable; --gw-pid PID is NAME gateway)\n"
            "  --post-body form|json (json: the message object itself, for\n"
            "  a pub/sub server that publishes what it is given)\n"
            "Environment: GEN_EVLIB=uv runs each worker on a libuv (epoll)\n"
            "loop instead of lws' poll loop.\n");
}

/* "[NAME:]PID" into the next process slot; NAME defaults to the pid. */
static int parse_proc(struct options *o, const char *name, const char *v)
{
    const char *colon = strchr(v, ':');
    struct server_proc *p;
    long pid;

    if (o->n_procs >= MAX_PIDS)
        return -1;
    p = &o->procs[o->n_procs];
    if (colon) {
        if (colon == v || (size_t)(colon - v) >= sizeof(p->name))
            return -1;
        memcpy(p->name, v, (size_t)(colon - v));
        p->name[colon - v] = '\0';
        v = colon + 1;
    }
    if (parse_long(v, 1, 1L << 30, &pid))
        return -1;
    p->pid = pid;
    if (!colon)
        snprintf(p->name, sizeof(p->name), "%s", name ? name : v);
    o->n_procs++;
    return 0;
}

static int parse_opt_value(struct options *o, const char *name, const char *v)
{
    if (!strcmp(name, "--url")) {
        if (o->n_urls >= MAX_URLS)
            return -1;
        return parse_url(v, "ws://", &o->urls[o->n_urls++]);
    }
    if (!strcmp(name, "--post")) {
        o->have_post = 1;
        return parse_url(v, "http://", &o->post);
    }
    if (!strcmp(name, "--rate")) {
        char *end;
        o->rate = strtod(v, &end);
        return (*end || o->rate <= 0) ? -1 : 0;
    }
    if (!strcmp(name, "--gw-pid") || !strcmp(name, "--pid"))
        return parse_proc(o, name[2] == 'g' ? "gateway" : NULL, v);
    if (!strcmp(name, "--post-body")) {
        o->post_json = !strcmp(v, "json");
        return o->post_json || !strcmp(v, "form") ? 0 : -1;
    }
    static const struct {
        const char *name;
        size_t off;
        long min, max;
    } nums[] = {
        {"--conns", offsetof(struct options, conns), 1, 1000000},
        {"--threads", offsetof(struct options, threads), 1, 64},
        {"--messages", offsetof(struct options, messages), 0, 10000000},
        {"--drain-ms", offsetof(struct options, drain_ms), 0, 3600000},
        {"--connect-ms", offsetof(struct options, connect_ms), 1, 3600000},
        {"--settle-ms", offsetof(struct options, settle_ms), 0, 600000},
        {"--stall", offsetof(struct options, stall), 0, 1000000},
        {"--post-conns", offsetof(struct options, post_conns), 1, 1024},
        {"--post-ms", offsetof(struct options, post_ms), 0, 3600000},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (!strcmp(name, nums[i].name))
            return parse_long(v, nums[i].min, nums[i].max,
                              (long *)((char *)o + nums[i].off));
    }
    return -1;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.conns = 100,
                          .threads = 2,
                          .messages = 100,
                          .rate = 100,
                          .drain_ms = 5000,
                          .connect_ms = 60000,
                          .settle_ms = 1000,
                          .post_conns = 32};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ephemeral")) {
            o->ephemeral = 1;
            continue;
        }
        if (i + 1 >= argc || parse_opt_value(o, argv[i], argv[i + 1])) {
            fprintf(stderr, "fanout: bad option %s\n", argv[i]);
            return -1;
        }
        i++;
    }
    if (o->n_urls == 0 || (o->messages > 0 && !o->have_post) ||
        o->stall >= o->conns) {
        fprintf(stderr, "fanout: need --url, --post with messages, and "
                        "--stall below --conns\n");
        return -1;
    }
    return 0;
}

/* ---- frame scanning ------------------------------------------------ */

static void record_delivery(struct conn *c, uint64_t seq, long long id,
                            uint64_t t_sent)
{
    struct worker *w = c->w;
    uint64_t bit = 1ULL << (seq % 64);
    if (c->seen[seq / 64] & bit) {
        w->dups++;
        return;
    }
    c->seen[seq / 64] |= bit;
    if (id >= 0) {
        if (id <= c->last_id)
            c->order_errors++;
        else
            c->last_id = id;
    }
    uint64_t t = now_ns();
    hist_add(&w->lat, t > t_sent ? (t - t_sent) / 1000 : 0);
    w->last_delivery_ns = t;
    if (c->counted)
        atomic_fetch_add_explicit(&w->received, 1, memory_order_relaxed);
}

/* The "id" member of the object around pos, or -1 if absent. */
static long long find_id(const char *buf, size_t len, size_t pos)
{
    size_t lb = pos;
    while (lb > 0 && buf[lb] != '{')
        lb--;
    const char *rb = memchr(buf + pos, '}', len - pos);
    size_t end = rb ? (size_t)(rb - buf) : len;
    const char *id = memmem(buf + lb, end - lb, "\"id\":", 5);
    if (!id)
        return -1;
    return strtoll(id + 5, NULL, 10);
}

/* Parse "<seq>-<t_ns>" right after the needle; 0 on success. */
static int parse_tag(const char *p, const char *end, uint64_t *seq,
                     uint64_t *t_ns)
{
    uint64_t v[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        const char *start = p;
        while (p < end && *p >= '0' && *p <= '9')
            v[k] = v[k] * 10 + (uint64_t)(*p++ - '0');
        if (p == start || p >= end || *p != (k == 0 ? '-' : '"'))
            return -1;
        p++;
    }
    *seq = v[0];
    *t_ns = v[1];
    return 0;
}

static void scan_frame(struct conn *c, const char *buf, size_t len)
{
    struct bench *b = c->w->b;
    size_t off = 0;
    c->w->frames++;
    c->w->frame_bytes += len;
    if (c->stalled)
        return;
    while (off < len) {
        const char *hit =
            memmem(buf + off, len - off, b->needle, b->needle_len);
        if (!hit)
            break;
        size_t pos = (size_t)(hit - buf);
        const char *tag = hit + b->needle_len;
        uint64_t seq, t_sent;
        if (parse_tag(tag, buf + len, &seq, &t_sent) == 0 &&
            seq < (uint64_t)b->opt.messages)
            record_delivery(c, seq, find_id(buf, len, pos), t_sent);
        off = pos + b->needle_len;
    }
}

static int acc_append(struct conn *c, const void *in, size_t len)
{
    if (c->acc_len + len > c->acc_cap) {
        size_t cap = c->acc_cap ? c->acc_cap : 65536;
        while (cap < c->acc_len + len)
            cap *= 2;
        char *p = realloc(c->acc, cap);
        if (!p)
            return -1;
        c->acc = p;
        c->acc_cap = cap;
    }
    memcpy(c->acc + c->acc_len, in, len);
    c->acc_len += len;
    return 0;
}

static int on_receive(struct lws *wsi, struct conn *c, const void *in,
                      size_t len)
{
    int last =
        lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (last && c->acc_len == 0) {
        scan_frame(c, in, len);
        return 0;
    }
    if (acc_append(c, in, len))
        return -1;
    if (last) {
        scan_frame(c, c->acc, c->acc_len);
        c->acc_len = 0;
    }
    return 0;
}

/* ---- WebSocket workers --------------------------------------------- */

static void start_connects(struct worker *w);

static void on_established(struct lws *wsi, struct conn *c)
{
    struct worker *w = c->w;
    w->connecting--;
    atomic_store(&c->state, CONN_OPEN);
    if (c->stalled)
        lws_rx_flow_control(wsi, 0);
    start_connects(w);
}

static void on_connect_error(struct conn *c, const char *why)
{
    struct worker *w = c->w;
    w->connecting--;
    if (c->attempts >= CONNECT_ATTEMPTS) {
        if (w->failures++ < 3)
            fprintf(stderr, "fanout: connect failed: %s\n", why ? why : "?");
        atomic_store(&c->state, CONN_FAILED);
    } else {
        atomic_store(&c->state, CONN_IDLE);
        if (w->next_start > (size_t)(c - w->conns))
            w->next_start = (size_t)(c - w->conns);
    }
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
                       void *user, void *in, size_t len)
{
    struct conn *c = lws_get_opaque_user_data(wsi);
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        on_established(wsi, c);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c)
            on_connect_error(c, in);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(wsi, c, in, len);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2)
            c->close_code = ((const unsigned char *)in)[0] << 8 |
                            ((const unsigned char *)in)[1];
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        c->dropped = !atomic_load(&c->w->b->stop);
        atomic_store(&c->state, CONN_CLOSED);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"bench", ws_callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

static void connect_one(struct worker *w, struct conn *c)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = w->ctx;
    ci.address = c->tgt->host;
    ci.port = c->tgt->port;
    ci.path = c->tgt->path;
    ci.host = c->tgt->hostport;
    ci.origin = c->tgt->origin;
    ci.local_protocol_name = protocols[0].name;
    ci.opaque_user_data = c;
    c->attempts++;
    w->connecting++;
    atomic_store(&c->state, CONN_CONNECTING);
    /* A NULL return has already run CLIENT_CONNECTION_ERROR. */
    lws_client_connect_via_info(&ci);
}

/* Keep at most CONNECT_WINDOW handshakes in flight, so that neither the
 * listen backlog nor lighttpd sees a thundering herd. */
static void start_connects(struct worker *w)
{
    while (w->connecting < CONNECT_WINDOW && w->next_start < w->n_conns) {
        struct conn *c = &w->conns[w->next_start++];
        if (atomic_load(&c->state) == CONN_IDLE)
            connect_one(w, c);
    }
}

static int use_uv(void)
{
    const char *e = getenv("GEN_EVLIB");

    return e && !strcmp(e, "uv");
}

static void worker_tick(lws_sorted_usec_list_t *sul)
{
    struct worker *w = lws_container_of(sul, struct worker, sul);
    if (atomic_load(&w->b->stop)) {
        if (w->uv)
            uv_stop(w->uv);
        return;
    }
    start_connects(w);
    lws_sul_schedule(w->ctx, 0, &w->sul, worker_tick, 20 * LWS_US_PER_MS);
}

/*
 * lws' own loop polls every socket on each wakeup; with hundreds per
 * thread that is most of the generator's CPU. GEN_EVLIB=uv runs the
 * worker on a libuv (epoll) loop of its own instead, handed to lws as a
 * foreign loop so that it can be stopped and drained here.
 */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct lws_context_creation_info info;
    uv_loop_t loop;
    void *foreign[1] = {&loop};

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.user = w;
    if (use_uv() && uv_loop_init(&loop) == 0) {
        w->uv = &loop;
        info.options |= LWS_SERVER_OPTION_LIBUV;
        info.foreign_loops = foreign;
    }
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        fprintf(stderr, "fanout: lws_create_context failed\n");
        atomic_store(&w->ready, -1);
        return NULL;
    }
    atomic_store(&w->ready, 1);
    start_connects(w);
    lws_sul_schedule(w->ctx, 0, &w->sul, worker_tick, 20 * LWS_US_PER_MS);
    if (w->uv) {
        uv_run(w->uv, UV_RUN_DEFAULT);
        lws_context_destroy(w->ctx);
        /* Let lws close its handles on our loop, then close the loop. */
        uv_run(w->uv, UV_RUN_DEFAULT);
        uv_loop_close(w->uv);
        return NULL;
    }
    while (!atomic_load(&w->b->stop))
        if (lws_service(w->ctx, 0) < 0)
            break;
    lws_context_destroy(w->ctx);
    return NULL;
}

/* ---- HTTP poster --------------------------------------------------- */

struct hconn {
    int fd;
    int busy;
    uint64_t seq;
    uint64_t t_sent;
    size_t rlen;
    char rbuf[HTTP_BUF];
};

static int hconn_open(const struct target *t, int ep, struct hconn *h)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)t->port)};
    if (inet_pton(AF_INET, t->host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = h};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        return -1;
    }
    h->fd = fd;
    h->busy = 0;
    h->rlen = 0;
    return 0;
}

static void hconn_close(struct hconn *h)
{
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    h->busy = 0;
    h->rlen = 0;
}

/*
 * The message a pub/sub peer is given to publish as it is: the object the
 * chat would publish for the same form, with "seq" where the chat's Redis
 * puts "id", so that every frame carries the same text and about as many
 * bytes on either system.
 */
static int json_body(const struct bench *b, uint64_t seq, uint64_t t,
                     char *body, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    char date[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    return snprintf(body, cap,
                    "{\"seq\":%" PRIu64 ",\"name\":\"bench\","
                    "\"email\":\"bench@example.com\",\"topic\":\"bench\","
                    "\"content\":\"bench-%u-%" PRIu64 "-%" PRIu64 "\","
                    "\"date\":\"%s.%03ldZ\",\"ephemeral\":%s}",
                    seq, b->run_id, seq, t, date, ts.tv_nsec / 1000000,
                    b->opt.ephemeral ? "true" : "false");
}

static int form_body(const struct bench *b, uint64_t seq, uint64_t t,
                     char *body, size_t cap)
{
    return snprintf(body, cap,
                    "name=bench&email=bench%%40example.com&topic=bench"
                    "&content=bench-%u-%" PRIu64 "-%" PRIu64 "%s",
                    b->run_id, seq, t, b->opt.ephemeral ? "&ephemeral=on" : "");
}

static int hconn_send(struct bench *b, struct hconn *h, uint64_t seq)
{
    char body[384], req[896];
    uint64_t t = now_ns();
    int blen = b->opt.post_json ? json_body(b, seq, t, body, sizeof(body))
                                : form_body(b, seq, t, body, sizeof(body));
    if (blen <= 0 || (size_t)blen >= sizeof(body))
        return -1;
    int rlen = snprintf(req, sizeof(req),
                        "POST %s HTTP/1.1\r\nHost: %s\r\n"
                        "Content-Type: %s\r\n"
                        "Content-Length: %d\r\n\r\n%s",
                        b->opt.post.path, b->opt.post.hostport,
                        b->opt.post_json ? "application/json"
                                         : "application/x-www-form-urlencoded",
                        blen, body);
    if (rlen <= 0 || (size_t)rlen >= sizeof(req))
        return -1;
    /* A small request on an idle keep-alive socket fits the send buffer. */
    if (send(h->fd, req, (size_t)rlen, MSG_NOSIGNAL) != rlen)
        return -1;
    h->busy = 1;
    h->seq = seq;
    h->t_sent = t;
    return 0;
}

static const char *find_header(const char *head, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = head; p + nl < head + len; p++) {
        if (p[0] == '\n' && strncasecmp(p + 1, name, nl) == 0)
            return p + 1 + nl;
    }
    return NULL;
}

/* Bytes of one complete response at the start of h->rbuf, 0 if it is not
 * complete yet, -1 if it cannot be parsed. *status and *closing are set. */
static long response_size(const struct hconn *h, int *status, int *closing)
{
    const char *eoh = memmem(h->rbuf, h->rlen, "\r\n\r\n", 4);
    if (!eoh)
        return h->rlen >= sizeof(h->rbuf) ? -1 : 0;
    size_t hlen = (size_t)(eoh - h->rbuf) + 4;
    if (h->rlen < 12 || strncmp(h->rbuf, "HTTP/1.", 7) != 0)
        return -1;
    *status = (int)strtol(h->rbuf + 9, NULL, 10);
    const char *conn = find_header(h->rbuf, hlen, "connection:");
    *closing = conn && strncasecmp(conn + strspn(conn, " "), "close", 5) == 0;
    const char *cl = find_header(h->rbuf, hlen, "content-length:");
    if (cl) {
        size_t total = hlen + (size_t)strtoul(cl, NULL, 10);
        return total <= h->rlen ? (long)total
                                : (total > sizeof(h->rbuf) ? -1 : 0);
    }
    const char *te = find_header(h->rbuf, hlen, "transfer-encoding:");
    if (!te)
        return -1;
    const char *end = memmem(eoh + 2, h->rlen - hlen + 2, "\r\n0\r\n\r\n", 7);
    return end ? (long)(end + 7 - h->rbuf) : 0;
}

static void count_status(struct bench *b, struct hconn *h, int status)
{
    struct poster_stats *ps = &b->post;
    uint64_t t = now_ns();
    hist_add(&ps->http_lat, (t - h->t_sent) / 1000);
    ps->last_ns = t;
    if (status >= 200 && status < 300) {
        ps->ok++;
        b->ok_map[h->seq / 64] |= 1ULL << (h->seq % 64);
    } else if (status >= 400 && status < 500) {
        ps->status_4xx++;
    } else if (status >= 500 && status < 600) {
        ps->status_5xx++;
    } else {
        ps->status_other++;
    }
    h->busy = 0;
}

/* Read what is there and account for every complete response. Returns -1
 * when the connection must be dropped. */
static int hconn_read(struct bench *b, struct hconn *h)
{
    ssize_t n = recv(h->fd, h->rbuf + h->rlen, sizeof(h->rbuf) - h->rlen, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    if (n < 0)
        return 0;
    h->rlen += (size_t)n;
    int status = 0, closing = 0;
    long size = response_size(h, &status, &closing);
    if (size < 0 || (size > 0 && !h->busy))
        return -1;
    if (size == 0)
        return 0;
    count_status(b, h, status);
    memmove(h->rbuf, h->rbuf + size, h->rlen - (size_t)size);
    h->rlen -= (size_t)size;
    return closing ? -1 : 0;
}

static void hconn_fail(struct bench *b, struct hconn *h)
{
    if (h->busy)
        b->post.io_errors++;
    hconn_close(h);
}

static struct hconn *idle_hconn(struct bench *b, struct hconn *hs, size_t n,
                                int ep)
{
    for (size_t i = 0; i < n; i++) {
        if (hs[i].fd >= 0 && !hs[i].busy)
            return &hs[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (hs[i].fd < 0) {
            if (hconn_open(&b->opt.post, ep, &hs[i]) == 0)
                return &hs[i];
            return NULL;
        }
    }
    return NULL;
}

/* Send every message that is due, as long as a connection is free. */
static uint64_t post_due(struct bench *b, struct hconn *hs, size_t n, int ep,
                         uint64_t next, uint64_t start)
{
    double gap_ns = (double)NS_PER_S / b->opt.rate;
    uint64_t total = (uint64_t)b->opt.messages;
    uint64_t cut = (uint64_t)b->opt.post_ms * NS_PER_MS;
    while (next < total) {
        uint64_t due = start + (uint64_t)((double)next * gap_ns);
        uint64_t t = now_ns();
        if (due > t)
            break;
        /* A server that cannot take the rate must not make the run
         * unbounded: what is still unsent at the cut is not sent. */
        if (cut && t - start > cut) {
            b->post.unsent = total - next;
            return total;
        }
        struct hconn *h = idle_hconn(b, hs, n, ep);
        if (!h) {
            b->post.starved = 1; /* wait for an answer, do not spin */
            break;
        }
        if ((t - due) / 1000 > b->post.max_lag_us)
            b->post.max_lag_us = (t - due) / 1000;
        if (hconn_send(b, h, next) < 0) {
            b->post.io_errors++;
            hconn_close(h);
        }
        b->post.sent++;
        next++;
    }
    return next;
}

/* Rounded up: a wait cut to 0 ms would spin until the next post is due. */
static int wait_ms_until(struct bench *b, uint64_t next, uint64_t start)
{
    if (next >= (uint64_t)b->opt.messages || b->post.starved)
        return 50;
    uint64_t due = start + (uint64_t)((double)next * NS_PER_S / b->opt.rate);
    uint64_t t = now_ns();
    return due > t ? (int)((due - t + NS_PER_MS - 1) / NS_PER_MS) : 0;
}

static int any_busy(const struct hconn *hs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (hs[i].fd >= 0 && hs[i].busy)
            return 1;
    }
    return 0;
}

static void poster_loop(struct bench *b, struct hconn *hs, size_t n, int ep)
{
    uint64_t start = now_ns(), next = 0, last_progress = start;
    b->post.first_ns = start;
    while (next < (uint64_t)b->opt.messages || any_busy(hs, n)) {
        uint64_t before = next + b->post.ok + b->post.io_errors;
        b->post.starved = 0;
        next = post_due(b, hs, n, ep, next, start);
        struct epoll_event evs[64];
        int k = epoll_wait(ep, evs, 64, wait_ms_until(b, next, start));
        for (int i = 0; i < k; i++) {
            struct hconn *h = evs[i].data.ptr;
            if (hconn_read(b, h) < 0)
                hconn_fail(b, h);
        }
        uint64_t t = now_ns();
        if (next + b->post.ok + b->post.io_errors != before)
            last_progress = t;
        else if (t - last_progress > 10 * NS_PER_S)
            break; /* nothing answers: give up, count the rest below */
    }
    for (size_t i = 0; i < n; i++)
        hconn_fail(b, &hs[i]);
    b->post.io_errors +=
        (uint64_t)b->opt.messages - b->post.sent - b->post.unsent;
}

static void *poster_main(void *arg)
{
    struct bench *b = arg;
    size_t n = (size_t)b->opt.post_conns;
    struct hconn *hs = calloc(n, sizeof(*hs));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!hs || ep < 0) {
        fprintf(stderr, "fanout: poster setup failed\n");
        b->post.io_errors = (uint64_t)b->opt.messages;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        hs[i].fd = -1;
    poster_loop(b, hs, n, ep);
out:
    if (ep >= 0)
        close(ep);
    free(hs);
    return NULL;
}

/* ---- process-level helpers ----------------------------------------- */

static long rss_kb(long pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* User plus system CPU seconds of every thread of pid (/proc/PID/stat
 * fields 14 and 15), or -1. */
static double cpu_seconds(long pid)
{
    char path[64], line[1024];
    unsigned long long ut, st;
    FILE *f;
    const char *p;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    p = fgets(line, sizeof(line), f);
    fclose(f);
    /* The command name may hold spaces; fields count from its ')'. */
    if (!p || !(p = strrchr(line, ')')) ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double own_cpu_seconds(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru))
        return 0.0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Memory and CPU time of every server process at one moment. */
struct proc_sample {
    long rss_kb[MAX_PIDS];
    double cpu_s[MAX_PIDS];
    long rss_sum;
    double cpu_sum;
    double own_cpu_s; /* the generator itself */
};

static void sample_procs(const struct options *o, struct proc_sample *s)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < o->n_procs; i++) {
        s->rss_kb[i] = rss_kb(o->procs[i].pid);
        s->cpu_s[i] = cpu_seconds(o->procs[i].pid);
        s->rss_sum += s->rss_kb[i] > 0 ? s->rss_kb[i] : 0;
        s->cpu_sum += s->cpu_s[i] > 0 ? s->cpu_s[i] : 0;
    }
    s->own_cpu_s = own_cpu_seconds();
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            perror("fanout: setrlimit");
        fprintf(stderr, "fanout: fd limit %llu\n",
                (unsigned long long)rl.rlim_cur);
    }
}

/* ---- setup ---------------------------------------------------------- */

static int setup_workers(struct bench *b)
{
    const struct options *o = &b->opt;
    size_t words = b->map_words;
    b->workers = calloc((size_t)o->threads, sizeof(*b->workers));
    if (!b->workers)
        return -1;
    for (long i = 0; i < o->threads; i++) {
        struct worker *w = &b->workers[i];
        w->b = b;
        w->n_conns = (size_t)(o->conns / o->threads +
                              (i < o->conns % o->threads ? 1 : 0));
        w->conns = calloc(w->n_conns, sizeof(*w->conns));
        if (!w->conns)
            return -1;
        for (size_t k = 0; k < w->n_conns; k++) {
            struct conn *c = &w->conns[k];
            long global = (long)k * o->threads + i;
            c->w = w;
            c->tgt = &o->urls[global % o->n_urls];
            c->stalled = global < o->stall;
            c->last_id = -1;
            c->seen = calloc(words ? words : 1, sizeof(uint64_t));
            if (!c->seen)
                return -1;
        }
    }
    return 0;
}

static int start_workers(struct bench *b)
{
    for (long i = 0; i < b->opt.threads; i++) {
        if (pthread_create(&b->workers[i].thread, NULL, worker_main,
                           &b->workers[i]))
            return -1;
    }
    for (long i = 0; i < b->opt.threads; i++) {
        while (atomic_load(&b->workers[i].ready) == 0)
            sleep_ms(1);
        if (atomic_load(&b->workers[i].ready) < 0)
            return -1;
    }
    return 0;
}

struct conn_counts {
    long open, failed, closed, pending;
};

static struct conn_counts count_conns(const struct bench *b)
{
    struct conn_counts n = {0};
    for (long i = 0; i < b->opt.threads; i++) {
        const struct worker *w = &b->workers[i];
        for (size_t k = 0; k < w->n_conns; k++) {
            int s = atomic_load(&w->conns[k].state);
            n.open += s == CONN_OPEN;
            n.failed += s == CONN_FAILED;
            n.closed += s == CONN_CLOSED;
            n.pending += s == CONN_IDLE || s == CONN_CONNECTING;
        }
    }
    return n;
}

static long wait_connected(struct bench *b, uint64_t *took_ns)
{
    uint64_t start = now_ns();
    uint64_t limit = start + (uint64_t)b->opt.connect_ms * NS_PER_MS;
    struct conn_counts n;
    for (;;) {
        n = count_conns(b);
        if (n.pending == 0 || now_ns() > limit)
            break;
        sleep_ms(10);
    }
    *took_ns = now_ns() - start;
    return n.open;
}

/* Mark the connections whose deliveries are owed: open and reading. */
static long mark_counted(struct bench *b)
{
    long counted = 0;
    for (long i = 0; i < b->opt.threads; i++) {
        struct worker *w = &b->workers[i];
        for (size_t k = 0; k < w->n_conns; k++) {
            struct conn *c = &w->conns[k];
            c->counted = !c->stalled && atomic_load(&c->state) == CONN_OPEN;
            counted += c->counted;
        }
    }
    return counted;
}

static uint64_t received_total(struct bench *b)
{
    uint64_t sum = 0;
    for (long i = 0; i < b->opt.threads; i++)
        sum +=
            atomic_load_explicit(&b->workers[i].received, memory_order_relaxed);
    return sum;
}

static void drain(struct bench *b, uint64_t expected)
{
    uint64_t limit = now_ns() + (uint64_t)b->opt.drain_ms * NS_PER_MS;
    while (received_total(b) < expected && now_ns() < limit)
        sleep_ms(5);
}

static void stop_workers(struct bench *b)
{
    atomic_store(&b->stop, 1);
    for (long i = 0; i < b->opt.threads; i++) {
        if (b->workers[i].ctx)
            lws_cancel_service(b->workers[i].ctx);
    }
    for (long i = 0; i < b->opt.threads; i++)
        pthread_join(b->workers[i].thread, NULL);
}

/* ---- report --------------------------------------------------------- */

struct totals {
    struct hist lat;
    uint64_t received, lost, dups, order_errors, frames, frame_bytes;
    uint64_t last_delivery_ns;
    long dropped;       /* counted connections that closed during the run */
    int stall_codes[3]; /* stalled: closed 1008, 1013, other */
};

static uint64_t popcount_and(const uint64_t *a, const uint64_t *m, size_t n,
                             int invert)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (uint64_t)__builtin_popcountll((invert ? ~a[i] : a[i]) & m[i]);
    return sum;
}

static void total_conn(const struct bench *b, const struct conn *c,
                       struct totals *t)
{
    if (c->stalled && c->dropped) {
        int k = c->close_code == 1008 ? 0 : c->close_code == 1013 ? 1 : 2;
        t->stall_codes[k]++;
    }
    if (!c->counted)
        return;
    t->received += popcount_and(c->seen, b->ok_map, b->map_words, 0);
    t->lost += popcount_and(c->seen, b->ok_map, b->map_words, 1);
    t->order_errors += c->order_errors;
    t->dropped += c->dropped;
}

static void compute_totals(const struct bench *b, struct totals *t)
{
    memset(t, 0, sizeof(*t));
    for (long i = 0; i < b->opt.threads; i++) {
        const struct worker *w = &b->workers[i];
        hist_merge(&t->lat, &w->lat);
        t->dups += w->dups;
        t->frames += w->frames;
        t->frame_bytes += w->frame_bytes;
        if (w->last_delivery_ns > t->last_delivery_ns)
            t->last_delivery_ns = w->last_delivery_ns;
        for (size_t k = 0; k < w->n_conns; k++)
            total_conn(b, &w->conns[k], t);
    }
}

/* 2xx answers per second between the first post and the last answer. */
static double post_rate(const struct poster_stats *ps)
{
    return ps->last_ns > ps->first_ns
               ? (double)ps->ok * 1e9 / (double)(ps->last_ns - ps->first_ns)
               : 0.0;
}

struct phase {
    long held;
    long counted;
    uint64_t connect_ns;
    struct proc_sample start;     /* before the first connection */
    struct proc_sample connected; /* every connection open and settled */
    struct proc_sample end;       /* posted and drained */
};

static double per_conn(double total, long held)
{
    return held > 0 ? total / (double)held : 0.0;
}

/* Seconds per million deliveries. */
static double per_million(double secs, uint64_t received)
{
    return received ? secs * 1e6 / (double)received : 0.0;
}

static void print_procs(const struct options *o, const struct phase *ph,
                        uint64_t received)
{
    const struct proc_sample *s0 = &ph->start, *s1 = &ph->connected,
                             *s2 = &ph->end;

    for (int i = 0; i < o->n_procs; i++)
        printf("server %s pid %ld: RSS before %ld KiB, connected %ld KiB, "
               "end %ld KiB; CPU connecting %.2f s, posting %.2f s\n",
               o->procs[i].name, o->procs[i].pid, s0->rss_kb[i], s1->rss_kb[i],
               s2->rss_kb[i], s1->cpu_s[i] - s0->cpu_s[i],
               s2->cpu_s[i] - s1->cpu_s[i]);
    if (o->n_procs == 0)
        return;
    printf("RSS growth per connection: %.2f KiB\n",
           per_conn((double)(s1->rss_sum - s0->rss_sum), ph->held));
    printf("server CPU: %.1f us per connection opened; %.2f s posting, "
           "%.2f s per million deliveries (generator: %.2f s per million)\n",
           per_conn((s1->cpu_sum - s0->cpu_sum) * 1e6, ph->held),
           s2->cpu_sum - s1->cpu_sum,
           per_million(s2->cpu_sum - s1->cpu_sum, received),
           per_million(s2->own_cpu_s - s1->own_cpu_s, received));
}

/* The per-process parts of the RESULT line: "name:value,..." lists. */
static void print_result_procs(const struct bench *b, const struct phase *ph,
                               uint64_t received)
{
    const struct options *o = &b->opt;
    const struct proc_sample *s0 = &ph->start, *s1 = &ph->connected,
                             *s2 = &ph->end;

    printf(" unsent=%" PRIu64 " post_rate=%.1f", b->post.unsent,
           post_rate(&b->post));
    printf(" cpu_post_s=%.3f cpu_per_M_s=%.3f cpu_conn_us=%.1f"
           " gen_cpu_per_M_s=%.3f",
           s2->cpu_sum - s1->cpu_sum,
           per_million(s2->cpu_sum - s1->cpu_sum, received),
           per_conn((s1->cpu_sum - s0->cpu_sum) * 1e6, ph->held),
           per_million(s2->own_cpu_s - s1->own_cpu_s, received));
    printf(" cpu_split=");
    for (int i = 0; i < o->n_procs; i++)
        printf("%s%s:%.2f", i ? "," : "", o->procs[i].name,
               s2->cpu_s[i] - s1->cpu_s[i]);
    printf(" rss_split=");
    for (int i = 0; i < o->n_procs; i++)
        printf("%s%s:%.2f", i ? "," : "", o->procs[i].name,
               per_conn((double)(s1->rss_kb[i] - s0->rss_kb[i]), ph->held));
    printf("\n");
}

static void report(const struct bench *b, const struct phase *ph)
{
    const struct poster_stats *ps = &b->post;
    struct totals t;
    compute_totals(b, &t);
    struct conn_counts n = count_conns(b);
    uint64_t expected = ps->ok * (uint64_t)ph->counted;
    double secs = t.last_delivery_ns > ps->first_ns
                      ? (double)(t.last_delivery_ns - ps->first_ns) / 1e9
                      : 0.0;
    double dps = secs > 0 ? (double)t.received / secs : 0.0;
    printf("connections held: %ld of %ld (failed %ld) in %.2f s; stalled "
           "%ld (closed by gateway: 1008 %d, 1013 %d, other %d)\n",
           ph->held, b->opt.conns, n.failed, (double)ph->connect_ns / 1e9,
           b->opt.stall, t.stall_codes[0], t.stall_codes[1], t.stall_codes[2]);
    printf("messages posted: %" PRIu64 " 2xx of %ld at %.0f/s (4xx %" PRIu64
           ", 5xx %" PRIu64 ", other %" PRIu64 ", io errors %" PRIu64
           ", unsent at the cut %" PRIu64
           "); POST p50 %.2f ms p99 %.2f ms; poster max lag %.1f ms; "
           "answered %.0f/s\n",
           ps->ok, b->opt.messages, b->opt.rate, ps->status_4xx, ps->status_5xx,
           ps->status_other, ps->io_errors, ps->unsent,
           hist_pct_ms(&ps->http_lat, 0.5), hist_pct_ms(&ps->http_lat, 0.99),
           (double)ps->max_lag_us / 1000.0, post_rate(ps));
    printf("deliveries: expected %" PRIu64 ", received %" PRIu64
           ", lost %" PRIu64 ", duplicated %" PRIu64 ", out of order %" PRIu64
           ", dropped connections %ld\n",
           expected, t.received, t.lost, t.dups, t.order_errors, t.dropped);
    printf("frames: %" PRIu64 " (%.1f messages/frame, %.0f bytes/frame)\n",
           t.frames, t.frames ? (double)t.lat.total / (double)t.frames : 0.0,
           t.frames ? (double)t.frame_bytes / (double)t.frames : 0.0);
    printf("latency POST->delivery: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
           "max %.2f ms\n",
           hist_pct_ms(&t.lat, 0.5), hist_pct_ms(&t.lat, 0.9),
           hist_pct_ms(&t.lat, 0.99), (double)t.lat.max_us / 1000.0);
    printf("deliveries/s: %.0f over %.2f s\n", dps, secs);
    print_procs(&b->opt, ph, t.received);
    printf(
        "RESULT conns=%ld held=%ld posted_ok=%" PRIu64 " post_errors=%" PRIu64
        " expected=%" PRIu64 " received=%" PRIu64 " lost=%" PRIu64
        " dup=%" PRIu64 " p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f"
        " dps=%.0f rss_kb_per_conn=%.2f frames=%" PRIu64,
        b->opt.conns, ph->held, ps->ok,
        ps->status_4xx + ps->status_5xx + ps->status_other + ps->io_errors,
        expected, t.received, t.lost, t.dups, hist_pct_ms(&t.lat, 0.5),
        hist_pct_ms(&t.lat, 0.9), hist_pct_ms(&t.lat, 0.99),
        (double)t.lat.max_us / 1000.0, dps,
        per_conn((double)(ph->connected.rss_sum - ph->start.rss_sum), ph->held),
        t.frames);
    print_result_procs(b, ph, t.received);
}

/* ---- main ----------------------------------------------------------- */

static int init_bench(struct bench *b)
{
    b->run_id = (unsigned)(getpid() ^ (now_ns() / 1000)) % 1000000000u;
    int n = snprintf(b->needle, sizeof(b->needle), "\"content\":\"bench-%u-",
                     b->run_id);
    if (n <= 0 || (size_t)n >= sizeof(b->needle))
        return -1;
    b->needle_len = (size_t)n;
    b->map_words = ((size_t)b->opt.messages + 63) / 64;
    b->ok_map = calloc(b->map_words ? b->map_words : 1, sizeof(uint64_t));
    return b->ok_map ? setup_workers(b) : -1;
}

static void run_posts(struct bench *b, struct phase *ph)
{
    ph->counted = mark_counted(b);
    if (b->opt.messages == 0)
        return;
    pthread_t th;
    if (pthread_create(&th, NULL, poster_main, b) != 0) {
        fprintf(stderr, "fanout: cannot start poster\n");
        return;
    }
    pthread_join(th, NULL);
    fprintf(stderr, "fanout: posted %" PRIu64 " ok, draining\n", b->post.ok);
    drain(b, b->post.ok * (uint64_t)ph->counted);
}

int main(int argc, char **argv)
{
    static struct bench bench; /* large: histograms live inside */
    struct bench *b = &bench;
    struct phase ph = {0};
    if (parse_options(argc, argv, &b->opt)) {
        usage();
        return 2;
    }
    raise_fd_limit();
    lws_set_log_level(LLL_ERR, NULL);
    sample_procs(&b->opt, &ph.start);
    if (init_bench(b) || start_workers(b)) {
        fprintf(stderr, "fanout: setup failed\n");
        return 1;
    }
    ph.held = wait_connected(b, &ph.connect_ns);
    fprintf(stderr, "fanout: %ld connections open\n", ph.held);
    sleep_ms(b->opt.settle_ms);
    sample_procs(&b->opt, &ph.connected);
    run_posts(b, &ph);
    sample_procs(&b->opt, &ph.end);
    stop_workers(b);
    report(b, &ph);
    return 0;
}
