'use strict';
/*
 * What the container drills share (tests/docker/drill.js, the scaling
 * drill on one Redis; tests/docker/ha.js, the failover drill on Redis
 * with replicas and Sentinels): the docker CLI, the Service stand-ins
 * and pods of the send handlers and gateways, the front end, the
 * chatting clients and the senders. Started by tests/docker/run.sh,
 * which has built the images and started the engine. Environment:
 *   DRILL_DOCKER   docker CLI and socket, space separated
 *   DRILL_RUN      label value marking every object this run creates
 *   DRILL_PORT     host port the frontend is published on
 *   DRILL_GW_PORT  host port the gateway Service is published on (the
 *                  page's direct WebSocket, as node port 30226 is)
 *   DRILL_TUNNEL   share of the clients on the same-origin path through
 *                  lighttpd, the page's fallback (0.25); the rest follow
 *                  /chatapp/config.json straight to the gateways
 *   DRILL_TAG      image tag (0.1.0)
 *   DRILL_CLIENTS  WebSocket clients (300)
 *
 * Services and pods (on one user-defined bridge network, "pods"):
 *   chat-send       kube-proxy stand-in (socat) for the send handlers
 *   chat-gateway    kube-proxy stand-in (socat) for the gateways;
 *                   published on DRILL_GW_PORT for the page's direct path
 *   chat-frontend   lighttpd, CHAT_SEND_BACKENDS=chat-send:9000,
 *                   CHAT_GATEWAY_BACKENDS=chat-gateway:7681 and
 *                   CHAT_WEBSOCKET_URL=//{host}:DRILL_GW_PORT/..., as in
 *                   the manifest; published on DRILL_PORT
 *   chat-send-N, chat-gateway-N   the "pods"
 * lighttpd resolves a backend name once, at start. Like a ClusterIP, the
 * chat-send/chat-gateway containers are one stable address; they resolve
 * the endpoint alias (chat-send-ready, chat-gateway-ready) per connection.
 * A pod joins the second network "endpoints" under that alias only once its
 * /readyz answers 200, as a pod joins a Service's endpoints when ready.
 * Scaling down is what Kubernetes does when it deletes a pod: the pod
 * leaves the endpoints first (its address goes into a file the proxies
 * read, since Docker cannot drop one alias without cutting the pod's
 * connections), then `docker stop` (SIGTERM, SIGKILL after the grace
 * period) once the preStop pause is over.
 *
 * Each drill prints "ok"/"FAIL" per assertion, figures, and
 * "N passed, N failed" (finish()).
 */
const { execFile } = require('child_process');
const dgram = require('dgram');
const fs = require('fs');
const os = require('os');
const http = require('http');
const path = require('path');
const WebSocket = require(path.join(__dirname, '..', 'node_modules', 'ws'));
const { pageSocket } = require(path.join(__dirname, '..', 'lib', 'page_config'));
const dnswire = require(path.join(__dirname, '..', 'netbed', 'dnswire'));

const DOCKER = (process.env.DRILL_DOCKER || '/usr/bin/docker -H unix:///run/docker-chat.sock').split(' ');
const RUN = process.env.DRILL_RUN || `drill-${process.pid}`;
const PORT = Number(process.env.DRILL_PORT || 30222);
const GW_PORT = Number(process.env.DRILL_GW_PORT || 30226);
const TUNNEL = Number(process.env.DRILL_TUNNEL || 0.25);
const TAG = process.env.DRILL_TAG || '0.1.0';
const CLIENTS = Number(process.env.DRILL_CLIENTS || 300);
const NET = `chat-pods-${RUN}`;
const EPNET = `chat-endpoints-${RUN}`;
const GRACE_S = 15; /* like terminationGracePeriodSeconds (30 in the manifest) */
/* The manifest's preStop sleeps 5 s while kube-proxies everywhere catch up;
 * here the proxies read the endpoints file per connection. */
const PRESTOP_MS = 1500;
const EPDIR = path.join(os.tmpdir(), `chat-endpoints-${RUN}`);
const BASE = `http://127.0.0.1:${PORT}`;
const ORIGIN = BASE;

const t0 = Date.now();
const now = () => Date.now() - t0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[${(now() / 1000).toFixed(1)}s]`, ...a);

const verdict = { passed: 0, failed: 0 };
function assert(cond, what, detail) {
    if (cond) {
        verdict.passed++;
        console.log(`ok   ${what}`);
    } else {
        verdict.failed++;
        console.log(`FAIL ${what}${detail ? `\n    ${detail}` : ''}`);
    }
    return cond;
}

function docker(...args) {
    return new Promise((resolve, reject) => {
        execFile(DOCKER[0], [...DOCKER.slice(1), ...args], { maxBuffer: 256 << 20 },
            (err, stdout, stderr) => {
                if (err) reject(new Error(`docker ${args.join(' ')}: ${stderr.trim() || err.message}`));
                else resolve(stdout.trim());
            });
    });
}

function httpGet(url, timeoutMs = 2000) {
    return new Promise((resolve) => {
        const req = http.get(url, { timeout: timeoutMs }, (res) => {
            let body = '';
            res.on('data', (d) => { body += d; });
            res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => resolve({ status: 0, body: '' }));
    });
}

/* The value of one Prometheus line (`name value`) in text, NaN if absent. */
function metric(text, name) {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
}

async function until(pred, ms, what) {
    const end = Date.now() + ms;
    for (;;) {
        if (await pred()) return;
        if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await sleep(100);
    }
}

/* ---------------------------------------------------------------- topology */

const COMMON = ['--label', `chat-drill=${RUN}`, '--network', NET,
    '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL',
    '--security-opt', 'no-new-privileges', '--stop-timeout', String(GRACE_S)];

async function ipOf(name, net = NET) {
    return docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, name);
}

/*
 * The pods of the send handlers and gateways behind their Services, and
 * the front end. serverEnv(kind, name) gives a pod's own variables
 * (docker run -e pairs).
 */
class Cluster {
    constructor(serverEnv) {
        this.serverEnv = serverEnv;
        this.pods = { send: [], gateway: [] };
        this.podSeq = { send: 0, gateway: 0 };
        this.terminating = new Set(); /* endpoint addresses of pods being deleted */
        this.stops = [];
        this.directUrl = null; /* where the page opens its socket (config.json) */
        this.dns = null; /* the pods' name server beyond Docker's (startDns) */
        this.dnsSocket = null;
    }

    async createNetworks() {
        await docker('network', 'create', '--label', `chat-drill=${RUN}`, NET);
        await docker('network', 'create', '--label', `chat-drill=${RUN}`, EPNET);
    }

    /*
     * A name Docker's own DNS does not hold (a deleted pod's) is passed on
     * to the host's servers, which the containers cannot reach here: the
     * lookup hangs 20 s, where a cluster's DNS answers NXDOMAIN at once.
     * This server, on the pods network's gateway address (port 53: --dns
     * takes no port), answers NXDOMAIN to everything it is asked, and
     * podFlags() points the pods at it.
     */
    async startDns() {
        const address = await docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', NET);
        const sock = dgram.createSocket('udp4');
        sock.on('message', (buf, from) => {
            const q = dnswire.parseQuery(buf);
            const out = q ? dnswire.answer(buf, q, undefined) : dnswire.formatError(buf);
            if (out) sock.send(out, from.port, from.address);
        });
        await new Promise((resolve, reject) => {
            sock.once('error', reject);
            sock.bind(53, address, resolve);
        });
        sock.unref();
        this.dns = address;
        this.dnsSocket = sock;
    }

    podFlags() {
        return this.dns ? ['--dns', this.dns] : [];
    }

    writeTerminating() {
        const tmp = path.join(EPDIR, '.terminating.tmp');
        fs.writeFileSync(tmp, [...this.terminating].map((ip) => `${ip}\n`).join(''), { mode: 0o644 });
        fs.renameSync(tmp, path.join(EPDIR, 'terminating'));
    }

    /* The kube-proxy stand-ins of chat-send and chat-gateway. */
    async startServices() {
        fs.mkdirSync(EPDIR, { recursive: true, mode: 0o755 });
        this.writeTerminating();
        for (const [svc, port] of [['send', 9000], ['gateway', 7681]]) {
            const publish = svc === 'gateway' ? ['-p', `127.0.0.1:${GW_PORT}:${port}`] : [];
            await docker('run', '-d', '--name', `chat-${svc}`, ...COMMON, ...publish, '-v', `${EPDIR}:/endpoints:ro`,
                `chat-svcproxy:${TAG}`, String(port), `chat-${svc}-ready`);
            await docker('network', 'connect', EPNET, `chat-${svc}`);
        }
    }

    /* Start one pod and add it to its Service's endpoints once ready. */
    async scaleUp(kind) {
        const n = ++this.podSeq[kind];
        const name = `chat-${kind}-${n}`;
        const env = this.serverEnv(kind, name);
        const started = now();
        await docker('run', '-d', '--name', name, ...COMMON, ...this.podFlags(), ...env, `chat-${kind}:${TAG}`);
        const ip = await ipOf(name);
        const health = kind === 'send' ? `http://${ip}:9100/readyz` : `http://${ip}:7681/readyz`;
        await until(async () => (await httpGet(health, 1000)).status === 200, 20000, `${name} /readyz`);
        await docker('network', 'connect', '--alias', `chat-${kind}-ready`, EPNET, name);
        this.pods[kind].push(name);
        log(`scale ${kind} -> ${this.pods[kind].length} (${name} ready in ${now() - started} ms)`);
        return name;
    }

    /* Out of the endpoints, the preStop pause, then docker stop: SIGTERM,
     * and SIGKILL after GRACE_S, as Kubernetes does. */
    async scaleDown(kind, name) {
        this.pods[kind] = this.pods[kind].filter((p) => p !== name);
        const ip = await ipOf(name, EPNET);
        this.terminating.add(ip);
        this.writeTerminating();
        await sleep(PRESTOP_MS);
        const begin = now();
        const stop = { kind, name, at: begin };
        this.stops.push(stop);
        await docker('stop', '-t', String(GRACE_S), name);
        stop.ms = now() - begin;
        stop.code = Number(await docker('inspect', '-f', '{{.State.ExitCode}}', name));
        this.terminating.delete(ip); /* the address is free for a new pod */
        this.writeTerminating();
        log(`scale ${kind} -> ${this.pods[kind].length} (${name} stopped in ${stop.ms} ms, exit ${stop.code})`);
    }

    /* The /metrics text of a pod, from its health port (SEND_HEALTH_PORT, GW_METRICS_PORT). */
    async metricsOf(kind, name) {
        const ip = await ipOf(name);
        return (await httpGet(`http://${ip}:9100/metrics`)).body;
    }

    /* lighttpd published on PORT; checks what the page gets from it. */
    async startFrontend() {
        await docker('run', '-d', '--name', 'chat-frontend', ...COMMON, '--tmpfs', '/var/tmp',
            '-e', `CHAT_WEBSOCKET_URL=//{host}:${GW_PORT}/chatapp/websocket`,
            '-p', `127.0.0.1:${PORT}:8080`, `chat-frontend:${TAG}`);
        await until(async () => (await httpGet(`${BASE}/readyz`)).status === 200, 20000, 'frontend /readyz');
        const page = await httpGet(`${BASE}/`);
        assert(page.status === 200 && /<html/i.test(page.body), 'frontend container serves the page on the published port');
        const cfg = await pageSocket(BASE);
        this.directUrl = cfg.url;
        assert(this.directUrl === `ws://127.0.0.1:${GW_PORT}/chatapp/websocket`,
            `the frontend's config.json sends the page straight to the gateway Service (${cfg.text})`);
        const refused = await handshake(this.directUrl, 'http://evil.example');
        assert(refused === 403, `the gateways refuse a page of another origin (${refused})`);
        assert(await handshake(this.directUrl, ORIGIN) === 101, 'and admit the page\'s own');
    }
}

/* The status of a WebSocket handshake: 101, or the refusal's status. */
function handshake(url, origin) {
    return new Promise((resolve) => {
        const ws = new WebSocket(url, { origin });
        ws.on('open', () => { ws.close(); resolve(101); });
        ws.on('unexpected-response', (_req, res) => { res.resume(); resolve(res.statusCode); });
        ws.on('error', () => resolve(0));
    });
}

/* ---------------------------------------------------------------- clients */

/* History replies hold at most this many messages (PROTOCOL.md §4). */
const PAGE_MAX = 500;

/*
 * A chatting user's page: one WebSocket at a time, reconnecting and
 * resuming with after_id; every connection's ids in arrival order. Like
 * the page (htdocs/app.js) it asks again after a refused request (a
 * status error): every client here reaches a gateway from the one
 * address of its Service proxy, and when a gateway stops, its clients'
 * resumes all at once pass that address's in-flight cap
 * (GW_HISTORY_ADDRESS_INFLIGHT). Requests carry a "req" tag, so a reply
 * is told from a live batch. It resumes from its cursor, the id up to
 * which it holds every stored message, never from the highest id seen:
 * live ids that came while a resume was unanswered have a gap below them.
 */
class Client {
    constructor(crowd, i) {
        this.crowd = crowd;
        this.i = i;
        /* Most follow config.json past lighttpd; some keep the fallback. */
        this.tunnel = TUNNEL > 0 && i % Math.round(1 / TUNNEL) === 0;
        this.url = this.tunnel ? `ws://127.0.0.1:${PORT}/chatapp/websocket` : crowd.directUrl;
        this.seen = new Map(); /* id -> message */
        this.maxSeen = 0;
        this.cursor = 0;
        this.conns = [];
        this.tags = 0;
        this.connect();
    }

    connect() {
        /* busy: a request in flight or to be asked again */
        const conn = { open: null, close: null, code: null, afterId: this.cursor, ids: [], req: null, asked: null, busy: false, refused: 0 };
        this.conn = conn;
        const ws = new WebSocket(this.url, { origin: ORIGIN });
        this.ws = ws;
        ws.on('open', () => {
            conn.open = now();
            this.conns.push(conn);
            this.ask(ws, conn, conn.afterId);
        });
        ws.on('message', (data) => {
            const v = JSON.parse(data.toString());
            if (Array.isArray(v)) this.live(conn, v);
            else if (v.req === conn.req && v.type === 'reply') this.replied(ws, conn, v.messages);
            else if (v.req === conn.req && v.type === 'error') this.refused(ws, conn);
            /* presence and other statuses: nothing to do */
        });
        ws.on('error', () => { /* reported by close */ });
        ws.on('close', (code) => {
            if (conn.open !== null) {
                conn.close = now();
                conn.code = code;
            }
            if (!this.crowd.stopping) setTimeout(() => this.connect(), 100 + Math.random() * 400);
        });
    }

    ask(ws, conn, afterId) {
        conn.req = `q${++this.tags}`;
        conn.asked = afterId;
        conn.busy = true;
        ws.send(JSON.stringify({ after_id: afterId, req: conn.req }));
    }

    take(conn, messages) {
        for (const m of messages) {
            conn.ids.push(m.id);
            if (!this.seen.has(m.id)) this.seen.set(m.id, m);
            if (m.id > this.maxSeen) this.maxSeen = m.id;
        }
    }

    /* Live batches move the cursor only while no resume is open. */
    live(conn, messages) {
        this.take(conn, messages);
        if (!conn.busy) this.cursor = this.maxSeen;
    }

    /* A full page means "ask again from its last id" -- its own, never a
     * later live id, which would skip what lies between (as the page
     * does; docs/DESIGN.md). A short one closes the resume: every stored
     * id up to the highest seen has come, older ones in it, newer live. */
    replied(ws, conn, messages) {
        this.take(conn, messages);
        conn.req = null;
        if (messages.length === PAGE_MAX) {
            this.cursor = messages[messages.length - 1].id;
            this.ask(ws, conn, this.cursor);
        } else {
            conn.busy = false;
            this.cursor = this.maxSeen;
        }
    }

    /* What the request was to fetch is still missing: the same request
     * again after a growing pause, as the page does. */
    refused(ws, conn) {
        conn.refused++;
        conn.req = null;
        const pause = 200 * Math.min(2 ** (conn.refused - 1), 16) * (0.5 + Math.random());
        setTimeout(() => {
            if (ws.readyState === WebSocket.OPEN && conn.req === null) this.ask(ws, conn, conn.asked);
        }, pause);
    }

    get connected() {
        return this.ws && this.ws.readyState === WebSocket.OPEN;
    }

    /* Connected and its resume answered: nothing more is coming but live. */
    get idle() {
        return this.connected && this.conns[this.conns.length - 1] === this.conn && !this.conn.busy;
    }
}

class Crowd {
    constructor(directUrl) {
        this.directUrl = directUrl;
        this.clients = [];
        this.stopping = false;
    }

    async add(n) {
        const first = this.clients.length;
        for (let i = 0; i < n; i++) {
            this.clients.push(new Client(this, first + i));
            if (i % 25 === 24) await sleep(50);
        }
        await until(() => this.clients.every((c) => c.connected), 30000, `${n} clients connected`);
        log(`${this.clients.length} clients connected`);
    }

    connections() {
        return this.clients.reduce((a, c) => a + c.conns.length, 0);
    }

    /* History requests the gateways refused (each asked again). */
    refusals() {
        return this.clients.reduce((a, c) => a + c.conns.reduce((b, k) => b + k.refused, 0), 0);
    }

    /* Until every client is idle and has seen lastId; logs a timeout. */
    async catchUp(lastId, ms = 20000) {
        try {
            await until(() => this.clients.every((c) => c.idle && c.maxSeen >= lastId), ms,
                'every client caught up');
        } catch (e) {
            log(e.message);
        }
    }

    close() {
        this.stopping = true;
        for (const c of this.clients) c.ws.close();
    }

    terminate() {
        this.stopping = true;
        for (const c of this.clients) if (c.ws) c.ws.terminate();
    }
}

/* ---------------------------------------------------------------- senders */

/* One message, as a browser's form would send it; {status, id, body}. */
async function postOne(fields) {
    const r = await fetch(`${BASE}/chatapp/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
        signal: AbortSignal.timeout(10000),
    });
    const body = await r.text();
    return { status: r.status, id: r.status === 200 ? JSON.parse(body).id : null, body };
}

/* The stream's messages (redis-cli --raw XRANGE output). */
function parseStream(out) {
    const list = [];
    for (const line of out.split('\n')) {
        if (line.startsWith('{')) list.push(JSON.parse(line));
    }
    return list;
}

/* Exit with the summary line run.sh reads, whatever happened. */
function finish(promise, cleanup) {
    promise.catch((e) => {
        verdict.failed++;
        console.log(`FAIL drill aborted: ${e.stack || e.message}`);
    }).finally(() => {
        fs.rmSync(EPDIR, { recursive: true, force: true });
        if (cleanup) cleanup();
        console.log(`drill took ${(now() / 1000).toFixed(1)} s`);
        console.log(`${verdict.passed} passed, ${verdict.failed} failed`);
        process.exit(verdict.failed ? 1 : 0);
    });
}

module.exports = {
    WebSocket, RUN, TAG, CLIENTS, NET, GRACE_S, ORIGIN, COMMON,
    now, sleep, log, assert, docker, httpGet, metric, until, ipOf,
    Cluster, Crowd, postOne, parseStream, finish,
};
