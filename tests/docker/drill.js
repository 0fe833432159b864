'use strict';
/*
 * Scaling drill on a real container topology (the images from docker/).
 * Started by tests/docker/run.sh, which has built the images and started
 * the engine. Environment:
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
 * Topology (all on one user-defined bridge network, "pods"):
 *   chat-redis      the Redis stand-in, data on a named volume
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
 * Prints "ok"/"FAIL" per assertion, figures, and "N passed, N failed".
 */
const { execFile } = require('child_process');
const fs = require('fs');
const os = require('os');
const http = require('http');
const path = require('path');
const WebSocket = require(path.join(__dirname, '..', 'node_modules', 'ws'));
const { pageSocket } = require(path.join(__dirname, '..', 'lib', 'page_config'));

const DOCKER = (process.env.DRILL_DOCKER || '/usr/bin/docker -H unix:///run/docker-chat.sock').split(' ');
const RUN = process.env.DRILL_RUN || `drill-${process.pid}`;
const PORT = Number(process.env.DRILL_PORT || 30222);
const GW_PORT = Number(process.env.DRILL_GW_PORT || 30226);
const TUNNEL = Number(process.env.DRILL_TUNNEL || 0.25);
const TAG = process.env.DRILL_TAG || '0.1.0';
const CLIENTS = Number(process.env.DRILL_CLIENTS || 300);
const NET = `chat-pods-${RUN}`;
const EPNET = `chat-endpoints-${RUN}`;
const VOLUME = `chat-redis-data-${RUN}`;
const GRACE_S = 15; /* like terminationGracePeriodSeconds (30 in the manifest) */
/* The manifest's preStop sleeps 5 s while kube-proxies everywhere catch up;
 * here the proxies read the endpoints file per connection. */
const PRESTOP_MS = 1500;
const EPDIR = path.join(os.tmpdir(), `chat-endpoints-${RUN}`);
const BASE = `http://127.0.0.1:${PORT}`;
/* Where the page would open its socket (from config.json), and how. */
let DIRECT_URL = null;
const ORIGIN = BASE;
/* Development only (never set by run.sh): no send handler pods; messages
 * go straight into Redis through fcgi/publish.lua. */
const FAKE_SEND = process.env.DRILL_FAKE_SEND === '1';

const t0 = Date.now();
const now = () => Date.now() - t0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[${(now() / 1000).toFixed(1)}s]`, ...a);

let passed = 0;
let failed = 0;
function assert(cond, what, detail) {
    if (cond) {
        passed++;
        console.log(`ok   ${what}`);
    } else {
        failed++;
        console.log(`FAIL ${what}${detail ? `\n    ${detail}` : ''}`);
    }
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

async function ipOf(name) {
    return docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, name);
}

async function startRedis() {
    await docker('run', '-d', '--name', 'chat-redis', ...COMMON.filter((x) => x !== '/tmp' && x !== '--tmpfs'),
        '-v', `${VOLUME}:/data`, `chat-redis:${TAG}`);
    await until(async () => (await redis('PING').catch(() => '')) === 'PONG', 20000, 'redis PING');
}

function redis(...args) {
    return docker('exec', 'chat-redis', 'redis-cli', '--raw', ...args);
}

const pods = { send: [], gateway: [] };
const terminating = new Set(); /* endpoint addresses of pods being deleted */

function writeTerminating() {
    const tmp = path.join(EPDIR, '.terminating.tmp');
    fs.writeFileSync(tmp, [...terminating].map((ip) => `${ip}\n`).join(''), { mode: 0o644 });
    fs.renameSync(tmp, path.join(EPDIR, 'terminating'));
}
let podSeq = { send: 0, gateway: 0 };

/* Start one pod and add it to its Service's endpoints once ready. */
async function scaleUp(kind) {
    const n = ++podSeq[kind];
    const name = `chat-${kind}-${n}`;
    const env = kind === 'send'
        ? ['-e', 'REDIS_HOST=chat-redis', '-e', 'SEND_THREADS=2']
        : ['-e', 'REDIS_HOST=chat-redis', '-e', `GW_ID=${name}`, '-e', `GW_ALLOWED_ORIGINS=${ORIGIN}`];
    const started = now();
    await docker('run', '-d', '--name', name, ...COMMON, ...env, `chat-${kind}:${TAG}`);
    const ip = await ipOf(name);
    const health = kind === 'send' ? `http://${ip}:9100/readyz` : `http://${ip}:7681/readyz`;
    await until(async () => (await httpGet(health, 1000)).status === 200, 20000, `${name} /readyz`);
    await docker('network', 'connect', '--alias', `chat-${kind}-ready`, EPNET, name);
    pods[kind].push(name);
    log(`scale ${kind} -> ${pods[kind].length} (${name} ready in ${now() - started} ms)`);
    return name;
}

const stops = [];
/* Out of the endpoints, the preStop pause, then docker stop: SIGTERM, and
 * SIGKILL after GRACE_S, as Kubernetes does. */
async function scaleDown(kind, name) {
    pods[kind] = pods[kind].filter((p) => p !== name);
    const ip = await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${EPNET}").IPAddress}}`, name);
    terminating.add(ip);
    writeTerminating();
    await sleep(PRESTOP_MS);
    const begin = now();
    stops.push({ kind, name, at: begin });
    await docker('stop', '-t', String(GRACE_S), name);
    const ms = now() - begin;
    const code = Number(await docker('inspect', '-f', '{{.State.ExitCode}}', name));
    stops[stops.length - 1].ms = ms;
    stops[stops.length - 1].code = code;
    terminating.delete(ip); /* the address is free for a new pod */
    writeTerminating();
    log(`scale ${kind} -> ${pods[kind].length} (${name} stopped in ${ms} ms, exit ${code})`);
}

async function startTopology() {
    await docker('network', 'create', '--label', `chat-drill=${RUN}`, NET);
    await docker('network', 'create', '--label', `chat-drill=${RUN}`, EPNET);
    await docker('volume', 'create', '--label', `chat-drill=${RUN}`, VOLUME);
    await startRedis();
    fs.mkdirSync(EPDIR, { recursive: true, mode: 0o755 });
    writeTerminating();
    for (const [svc, port] of [['send', 9000], ['gateway', 7681]]) {
        const publish = svc === 'gateway' ? ['-p', `127.0.0.1:${GW_PORT}:${port}`] : [];
        await docker('run', '-d', '--name', `chat-${svc}`, ...COMMON, ...publish, '-v', `${EPDIR}:/endpoints:ro`,
            `chat-svcproxy:${TAG}`, String(port), `chat-${svc}-ready`);
        await docker('network', 'connect', EPNET, `chat-${svc}`);
    }
    if (!FAKE_SEND) await scaleUp('send');
    await scaleUp('gateway');
    await docker('run', '-d', '--name', 'chat-frontend', ...COMMON, '--tmpfs', '/var/tmp',
        '-e', `CHAT_WEBSOCKET_URL=//{host}:${GW_PORT}/chatapp/websocket`,
        '-p', `127.0.0.1:${PORT}:8080`, `chat-frontend:${TAG}`);
    await until(async () => (await httpGet(`${BASE}/readyz`)).status === 200, 20000, 'frontend /readyz');
    const page = await httpGet(`${BASE}/`);
    assert(page.status === 200 && /<html/i.test(page.body), 'frontend container serves the page on the published port');
    const cfg = await pageSocket(BASE);
    DIRECT_URL = cfg.url;
    assert(DIRECT_URL === `ws://127.0.0.1:${GW_PORT}/chatapp/websocket`,
        `the frontend's config.json sends the page straight to the gateway Service (${cfg.text})`);
    const refused = await handshake(DIRECT_URL, 'http://evil.example');
    assert(refused === 403, `the gateways refuse a page of another origin (${refused})`);
    assert(await handshake(DIRECT_URL, ORIGIN) === 101, 'and admit the page\'s own');
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

const clients = [];
let stopping = false;

class Client {
    constructor(i) {
        this.i = i;
        /* Most follow config.json past lighttpd; some keep the fallback. */
        this.tunnel = TUNNEL > 0 && i % Math.round(1 / TUNNEL) === 0;
        this.url = this.tunnel ? `ws://127.0.0.1:${PORT}/chatapp/websocket` : DIRECT_URL;
        this.seen = new Map(); /* id -> message */
        this.maxSeen = 0;
        this.conns = [];
        this.connect();
    }

    connect() {
        const conn = { open: null, close: null, code: null, afterId: this.maxSeen, ids: [], failed: 0 };
        const ws = new WebSocket(this.url, { origin: ORIGIN });
        this.ws = ws;
        ws.on('open', () => {
            conn.open = now();
            this.conns.push(conn);
            ws.send(JSON.stringify({ after_id: conn.afterId }));
        });
        ws.on('message', (data) => {
            const v = JSON.parse(data.toString());
            if (!Array.isArray(v)) return; /* presence and other statuses */
            for (const m of v) {
                conn.ids.push(m.id);
                if (!this.seen.has(m.id)) this.seen.set(m.id, m);
                if (m.id > this.maxSeen) this.maxSeen = m.id;
            }
            /* A full resume page means "ask again from its last id" -- its
             * own, never a later live id, which would skip what lies
             * between (as the page does; docs/DESIGN.md). */
            if (v.length === 500) ws.send(JSON.stringify({ after_id: v[v.length - 1].id }));
        });
        ws.on('error', () => { /* reported by close */ });
        ws.on('close', (code) => {
            if (conn.open !== null) {
                conn.close = now();
                conn.code = code;
            }
            if (!stopping) setTimeout(() => this.connect(), 100 + Math.random() * 400);
        });
    }

    get connected() {
        return this.ws && this.ws.readyState === WebSocket.OPEN;
    }
}

async function addClients(n) {
    const first = clients.length;
    for (let i = 0; i < n; i++) {
        clients.push(new Client(first + i));
        if (i % 25 === 24) await sleep(50);
    }
    await until(() => clients.every((c) => c.connected), 30000, `${n} clients connected`);
    log(`${clients.length} clients connected`);
}

/* ---------------------------------------------------------------- senders */

const posts = []; /* {seq, start, end, status, id, content} */
let sending = false;

/* One message, as a browser's form would send it; {status, id, body}. */
async function postOne(fields) {
    if (FAKE_SEND) {
        const body = JSON.stringify({ name: fields.name, email: fields.email, topic: fields.topic || 'general',
            content: fields.content, date: new Date().toISOString(), ephemeral: false });
        const out = await redis('EVAL', fs.readFileSync(path.join(__dirname, '..', '..', 'fcgi', 'publish.lua'), 'utf8'),
            '2', 'messages:id', 'messages:history', body, '1', '100000', 'messages');
        return { status: 200, id: JSON.parse(out).id, body: out };
    }
    const r = await fetch(`${BASE}/chatapp/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
        signal: AbortSignal.timeout(10000),
    });
    const body = await r.text();
    return { status: r.status, id: r.status === 200 ? JSON.parse(body).id : null, body };
}

async function sender(k) {
    let seq = 0;
    while (sending) {
        const content = `drill ${RUN} sender ${k} #${++seq}`;
        const p = { start: now(), content, status: 0, id: null };
        posts.push(p);
        try {
            const r = await postOne({ name: `sender${k}`, email: 'drill@example.com', topic: 'drill', content });
            p.status = r.status;
            p.id = r.id;
            if (r.status !== 200) p.body = r.body.slice(0, 200);
        } catch (e) {
            p.status = -1;
            p.body = e.message;
        }
        p.end = now();
        await sleep(40 + Math.random() * 40);
    }
}

/* ---------------------------------------------------------------- store */

async function stored() {
    const out = await redis('XRANGE', 'messages:history', '-', '+');
    const list = [];
    for (const line of out.split('\n')) {
        if (line.startsWith('{')) list.push(JSON.parse(line));
    }
    return list;
}

/* ---------------------------------------------------------------- drill */

async function drill() {
    await startTopology();
    await addClients(Math.ceil(CLIENTS / 2));

    sending = true;
    const senders = [0, 1, 2].map((k) => sender(k));
    await sleep(2000);

    /* gateways 1 -> 3; the second half of the clients spreads over them */
    await scaleUp('gateway');
    await scaleUp('gateway');
    await addClients(CLIENTS - clients.length);
    await sleep(2000);

    /* send handlers 1 -> 2 -> 1, stopping the one that served from the start */
    if (!FAKE_SEND) {
        await scaleUp('send');
        await sleep(2000);
        await scaleDown('send', pods.send[0]);
        await sleep(2000);
    }

    /* gateways 3 -> 1: the original first, then the second */
    const reconnectsBefore = clients.reduce((a, c) => a + c.conns.length, 0);
    await scaleDown('gateway', pods.gateway[0]);
    await sleep(3000);
    await scaleDown('gateway', pods.gateway[0]);
    await sleep(3000);
    const reconnects = clients.reduce((a, c) => a + c.conns.length, 0) - reconnectsBefore;

    sending = false;
    await Promise.all(senders);
    const ok200 = posts.filter((p) => p.status === 200);
    const lastId = ok200.reduce((a, p) => Math.max(a, p.id), 0);
    try {
        await until(() => clients.every((c) => c.connected && c.maxSeen >= lastId), 20000,
            'every client caught up');
    } catch (e) {
        log(e.message);
    }
    stopping = true;
    for (const c of clients) c.ws.close();

    /* -------------------------------------------------- assertions */
    const history = await stored();
    const byId = new Map(history.map((m) => [m.id, m]));
    const storedIds = history.map((m) => m.id);
    const statusCounts = {};
    for (const p of posts) statusCounts[p.status] = (statusCounts[p.status] || 0) + 1;
    console.log(`figures: posts=${posts.length} status=${JSON.stringify(statusCounts)} stored=${history.length} ` +
        `clients=${clients.length} (${clients.filter((c) => c.tunnel).length} through lighttpd, the rest direct) ` +
        `gateway-stop reconnects=${reconnects} ` +
        `connections=${clients.reduce((a, c) => a + c.conns.length, 0)}`);
    for (const s of stops) console.log(`figures: docker stop ${s.name}: ${s.ms} ms, exit ${s.code}`);
    const bad = posts.filter((p) => p.status !== 200);
    if (bad.length) console.log(`    non-200 examples: ${JSON.stringify(bad.slice(0, 3))}`);

    assert(ok200.length >= 100, `messages really flowed during the drill (${ok200.length} with 200)`);
    assert(ok200.length === posts.length,
        `every POST got 200 while pods came and went (${ok200.length}/${posts.length})`);

    const lost = ok200.filter((p) => !byId.has(p.id) || byId.get(p.id).content !== p.content);
    assert(lost.length === 0, 'no POST got a 200 for a message that was not stored',
        JSON.stringify(lost.slice(0, 3)));
    const okIds = new Set(ok200.map((p) => p.id));
    const orphans = history.filter((m) => !okIds.has(m.id));
    assert(orphans.length === 0, 'nothing was stored without its sender getting a 200',
        JSON.stringify(orphans.slice(0, 3)));

    const sorted = storedIds.every((id, i) => i === 0 || id > storedIds[i - 1]);
    assert(sorted, 'the stream holds ascending ids, each once');

    /* Live delivery: on every connection, every message sent while it was
     * open (POST started after open, 200 before the connection's end, or
     * before a docker stop that may have ended it) arrived on it. */
    let missingLive = 0;
    let checkedLive = 0;
    const missExamples = [];
    for (const c of clients) {
        for (const conn of c.conns) {
            const end = conn.close === null ? Infinity : conn.close;
            const stopAt = stops.filter((s) => s.kind === 'gateway' && s.at <= end).map((s) => s.at);
            const cutoff = Math.min(end, stopAt.length && end !== Infinity && end - Math.max(...stopAt) < (GRACE_S + 2) * 1000
                ? Math.max(...stopAt) : end);
            const got = new Set(conn.ids);
            for (const p of ok200) {
                if (p.start < conn.open || p.end > cutoff) continue;
                checkedLive++;
                if (!got.has(p.id)) {
                    missingLive++;
                    if (missExamples.length < 3) missExamples.push({ client: c.i, id: p.id, open: conn.open, close: conn.close });
                }
            }
        }
    }
    assert(checkedLive > 0 && missingLive === 0,
        `every client received every message sent while it was connected (${checkedLive} deliveries checked)`,
        `${missingLive} missing, e.g. ${JSON.stringify(missExamples)}`);

    /* Resume: reconnected clients asked after_id and got nothing at or
     * below it; no id came more than twice on one connection (a history
     * reply may overlap live messages, PROTOCOL.md §4). */
    let resumed = 0;
    let stale = 0;
    let triple = 0;
    let overlap = 0;
    for (const c of clients) {
        for (const conn of c.conns) {
            if (conn.afterId > 0) resumed++;
            if (conn.ids.some((id) => id <= conn.afterId)) stale++;
            const count = new Map();
            for (const id of conn.ids) count.set(id, (count.get(id) || 0) + 1);
            if ([...count.values()].some((n) => n > 2)) triple++;
            overlap += [...count.values()].filter((n) => n === 2).length;
        }
    }
    console.log(`figures: ids that came twice on one connection (reply overlapping live, merged by id): ${overlap}`);
    assert(resumed > 0, `clients of stopped gateways reconnected and resumed with after_id (${resumed} resumes)`);
    assert(stale === 0, 'no resume reply repeated a message at or below after_id', `${stale} connections`);
    assert(triple === 0, 'no message arrived more than twice on one connection', `${triple} connections`);

    /* Nothing stored missing, nothing extra: each client's log, merged by
     * id as the page does, is exactly the stored history. */
    let incomplete = 0;
    let extra = 0;
    for (const c of clients) {
        if (storedIds.some((id) => !c.seen.has(id))) incomplete++;
        if ([...c.seen.keys()].some((id) => !byId.has(id))) extra++;
    }
    assert(incomplete === 0, `every client ends with the whole stored history (${storedIds.length} messages)`,
        `${incomplete} clients miss stored messages`);
    assert(extra === 0, 'no client holds a message that is not stored', `${extra} clients`);

    /* Spread: each gateway stop ended some connections but not all. */
    for (const s of stops.filter((x) => x.kind === 'gateway')) {
        const ended = clients.reduce((a, c) => a + c.conns.filter((k) => k.close !== null &&
            k.close >= s.at && k.close <= s.at + s.ms + 1000).length, 0);
        assert(ended > 0 && ended < clients.length,
            `clients were spread over the gateways: stopping ${s.name} ended ${ended} of ${clients.length} connections`);
    }

    for (const s of stops) {
        assert(s.code !== 137 && s.ms < GRACE_S * 1000,
            `${s.name} exited by itself on SIGTERM (${s.ms} ms, exit ${s.code})`);
    }

    await redisRestart(history);
}

/* Redis restarted from its volume keeps the whole history and the counter. */
async function redisRestart(history) {
    const counter = await redis('GET', 'messages:id');
    const begin = now();
    await docker('stop', '-t', String(GRACE_S), 'chat-redis');
    await docker('rm', 'chat-redis');
    await startRedis();
    log(`redis restarted from volume ${VOLUME} in ${now() - begin} ms`);
    const after = await stored();
    assert(JSON.stringify(after) === JSON.stringify(history),
        `Redis restarted from its volume keeps the whole history (${after.length} messages)`,
        `before ${history.length}, after ${after.length}`);
    assert((await redis('GET', 'messages:id')) === counter, `the id counter survives the restart (${counter})`);

    /* The system recovers by itself: a new message gets the next id and a
     * fresh client sees old and new through the frontend. */
    let res = { status: 0, id: null, body: '' };
    const end = Date.now() + 20000;
    while (Date.now() < end) {
        res = await postOne({ name: 'after', email: 'drill@example.com', content: 'after restart' })
            .catch((e) => ({ status: -1, id: null, body: e.message }));
        if (res.status === 200) break;
        await sleep(300);
    }
    const id = res.id;
    assert(id === Number(counter) + 1, `after the restart a message gets the next id (${id})`,
        `${res.status} ${String(res.body).slice(0, 200)}`);
    const ws = new WebSocket(DIRECT_URL, { origin: ORIGIN });
    const ids = new Set();
    await new Promise((resolve) => {
        const timer = setTimeout(resolve, 10000);
        ws.on('open', () => ws.send(JSON.stringify({ after_id: 0 })));
        ws.on('message', (d) => {
            const v = JSON.parse(d.toString());
            if (!Array.isArray(v)) return;
            for (const m of v) ids.add(m.id);
            if (v.length === 500) ws.send(JSON.stringify({ after_id: v[v.length - 1].id }));
            else if (ids.size >= history.length + 1) {
                clearTimeout(timer);
                resolve();
            }
        });
        ws.on('error', () => { clearTimeout(timer); resolve(); });
    });
    ws.close();
    assert(ids.size === history.length + 1 && history.every((m) => ids.has(m.id)) && ids.has(id),
        `a new client reads the whole history after the restart (${ids.size})`);
}

drill().catch((e) => {
    failed++;
    console.log(`FAIL drill aborted: ${e.stack || e.message}`);
}).finally(() => {
    fs.rmSync(EPDIR, { recursive: true, force: true });
    stopping = true;
    sending = false;
    for (const c of clients) if (c.ws) c.ws.terminate();
    console.log(`drill took ${(now() / 1000).toFixed(1)} s`);
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
});
