'use strict';
/*
 * Scaling drill on a real container topology (the images from docker/),
 * with one Redis: what `./build.sh run` and a single-Redis deployment
 * run. Started by tests/docker/run.sh; the environment, the Services and
 * the pods are tests/docker/common.js's.
 *
 * Topology: chat-redis (the Redis stand-in, data on a named volume), the
 * chat-send and chat-gateway Services, their pods, chat-frontend.
 * Gateways scale 1 -> 3 -> 1 and send handlers 1 -> 2 -> 1 under the
 * chatting clients, then Redis restarts from its volume.
 *
 * Prints "ok"/"FAIL" per assertion, figures, and "N passed, N failed".
 */
const fs = require('fs');
const path = require('path');
const {
    WebSocket, RUN, TAG, CLIENTS, GRACE_S, ORIGIN, COMMON,
    now, sleep, log, assert, docker, until, Cluster, Crowd, postOne: postForm, parseStream, finish,
} = require('./common');

const VOLUME = `chat-redis-data-${RUN}`;
/* Development only (never set by run.sh): no send handler pods; messages
 * go straight into Redis through fcgi/publish.lua. */
const FAKE_SEND = process.env.DRILL_FAKE_SEND === '1';

const cluster = new Cluster((kind, name) => (kind === 'send'
    ? ['-e', 'REDIS_HOST=chat-redis', '-e', 'SEND_THREADS=2']
    : ['-e', 'REDIS_HOST=chat-redis', '-e', `GW_ID=${name}`, '-e', `GW_ALLOWED_ORIGINS=${ORIGIN}`]));
let crowd = null;

async function startRedis() {
    await docker('run', '-d', '--name', 'chat-redis', ...COMMON.filter((x) => x !== '/tmp' && x !== '--tmpfs'),
        '-v', `${VOLUME}:/data`, `chat-redis:${TAG}`);
    await until(async () => (await redis('PING').catch(() => '')) === 'PONG', 20000, 'redis PING');
}

function redis(...args) {
    return docker('exec', 'chat-redis', 'redis-cli', '--raw', ...args);
}

async function startTopology() {
    await cluster.createNetworks();
    await docker('volume', 'create', '--label', `chat-drill=${RUN}`, VOLUME);
    await startRedis();
    await cluster.startServices();
    if (!FAKE_SEND) await cluster.scaleUp('send');
    await cluster.scaleUp('gateway');
    await cluster.startFrontend();
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
    return postForm(fields);
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
    return parseStream(await redis('XRANGE', 'messages:history', '-', '+'));
}

/* ---------------------------------------------------------------- drill */

async function drill() {
    await startTopology();
    crowd = new Crowd(cluster.directUrl);
    const clients = crowd.clients;
    const stops = cluster.stops;
    await crowd.add(Math.ceil(CLIENTS / 2));

    sending = true;
    const senders = [0, 1, 2].map((k) => sender(k));
    await sleep(2000);

    /* gateways 1 -> 3; the second half of the clients spreads over them */
    await cluster.scaleUp('gateway');
    await cluster.scaleUp('gateway');
    await crowd.add(CLIENTS - clients.length);
    await sleep(2000);

    /* send handlers 1 -> 2 -> 1, stopping the one that served from the start */
    if (!FAKE_SEND) {
        await cluster.scaleUp('send');
        await sleep(2000);
        await cluster.scaleDown('send', cluster.pods.send[0]);
        await sleep(2000);
    }

    /* gateways 3 -> 1: the original first, then the second */
    const reconnectsBefore = crowd.connections();
    await cluster.scaleDown('gateway', cluster.pods.gateway[0]);
    await sleep(3000);
    await cluster.scaleDown('gateway', cluster.pods.gateway[0]);
    await sleep(3000);
    const reconnects = crowd.connections() - reconnectsBefore;

    sending = false;
    await Promise.all(senders);
    const ok200 = posts.filter((p) => p.status === 200);
    const lastId = ok200.reduce((a, p) => Math.max(a, p.id), 0);
    await crowd.catchUp(lastId);
    crowd.close();

    /* -------------------------------------------------- assertions */
    const history = await stored();
    const byId = new Map(history.map((m) => [m.id, m]));
    const storedIds = history.map((m) => m.id);
    const statusCounts = {};
    for (const p of posts) statusCounts[p.status] = (statusCounts[p.status] || 0) + 1;
    console.log(`figures: posts=${posts.length} status=${JSON.stringify(statusCounts)} stored=${history.length} ` +
        `clients=${clients.length} (${clients.filter((c) => c.tunnel).length} through lighttpd, the rest direct) ` +
        `gateway-stop reconnects=${reconnects} ` +
        `connections=${crowd.connections()} history requests refused and asked again=${crowd.refusals()}`);
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
    let example = null;
    for (const c of clients) {
        const missing = storedIds.filter((id) => !c.seen.has(id));
        if (missing.length) {
            incomplete++;
            example = example || { client: c.i, tunnel: c.tunnel, missing: missing.slice(0, 10),
                conns: c.conns.map((k) => ({ open: k.open, close: k.close, code: k.code, afterId: k.afterId,
                    n: k.ids.length, first: k.ids.slice(0, 3), last: k.ids.slice(-3) })) };
        }
        if ([...c.seen.keys()].some((id) => !byId.has(id))) extra++;
    }
    assert(incomplete === 0, `every client ends with the whole stored history (${storedIds.length} messages)`,
        `${incomplete} clients miss stored messages, e.g. ${JSON.stringify(example)}`);
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
    const ws = new WebSocket(cluster.directUrl, { origin: ORIGIN });
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

finish(drill(), () => {
    sending = false;
    if (crowd) crowd.terminate();
});
