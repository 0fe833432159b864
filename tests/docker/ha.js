'use strict';
/*
 * Failover drill on a real container topology (issue 13): Redis as the
 * manifests run it, three pods chat-redis-0..2, each a Redis container
 * and a Sentinel container beside it, started by the ConfigMap's own
 * scripts (start-redis.sh, start-sentinel.sh, ready.sh and redis.conf
 * are taken from manifests/chatapp.yaml and mounted at /etc/redis, as
 * the ConfigMap is); send handlers and gateways that find the primary
 * through the Sentinels with the manifest's REDIS_SENTINELS,
 * REDIS_MASTER_NAME and SEND_MIN_REPLICAS; the Services, front end,
 * chatting clients and senders of drill.js (tests/docker/common.js).
 *
 * A pod is what Kubernetes makes of one: a sandbox container holds the
 * network namespace, the hostname (chat-redis-N) and the headless
 * Service's name for it (chat-redis-N.chat-redis, a network alias); the
 * Redis and Sentinel containers join it (--network container:), so they
 * share its address and hostname, and a container restarted in it keeps
 * them. Faults, under load:
 *   1. the primary's Redis container SIGKILLed (docker kill; its Sentinel
 *      lives on), started again once the Sentinels have promoted a
 *      replica, as the kubelet restarts a container (sooner it would race
 *      the 1.5 s down-after, and no failover be shown);
 *   2. the new primary's whole pod deleted, Redis, Sentinel and address
 *      (a node lost), then made again with its volume and a new address,
 *      as the StatefulSet does.
 * A restarted Redis asks the Sentinels its role (start-redis.sh); the
 * drill reads in its log the role it started in. Senders post like the
 * page: one idem key per message, resent with it after a 503 until a
 * 200.
 *
 * Environment: as common.js; DRILL_HA_FAULTS (2) runs the first N faults.
 * Prints "ok"/"FAIL" per assertion, figure tables, "N passed, N failed".
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const YAML = require(path.join(__dirname, '..', 'node_modules', 'yaml'));
const { Resp, streamEntries } = require(path.join(__dirname, '..', 'lib', 'resp'));
const { table, seconds } = require(path.join(__dirname, '..', 'netbed', 'report'));
const {
    RUN, TAG, CLIENTS, NET, ORIGIN, COMMON,
    now, sleep, log, assert, docker, metric, until, ipOf, Cluster, Crowd, postOne, finish,
} = require('./common');

const ROOT = path.join(__dirname, '..', '..');
const OUT = path.join(ROOT, 'tests', 'out');
const PODS = 3;
const SENTINEL_PORT = 26379;
const REDIS_PORT = 6379;
/* The issue's figure: sends accepted again within 5 s of a primary's death. */
const ACCEPT_MS = 5000;
/* How long a sender resends one message (with its key) before giving up. */
const RETRY_MS = 30000;
const FAULTS = Number(process.env.DRILL_HA_FAULTS || 2);
const CONFIG_DIR = path.join(os.tmpdir(), `chat-redis-config-${RUN}`);

/* ---------------------------------------------------------------- manifest */

const manifest = YAML.parseAllDocuments(fs.readFileSync(path.join(ROOT, 'manifests', 'chatapp.yaml'), 'utf8'))
    .map((d) => d.toJSON()).filter(Boolean);

function manifestDoc(kind, name) {
    const doc = manifest.find((d) => d.kind === kind && d.metadata && d.metadata.name === name);
    if (!doc) throw new Error(`manifests/chatapp.yaml has no ${kind} ${name}`);
    return doc;
}

/* The named variables of a Deployment's container, as -e pairs. */
function manifestEnv(deployment, names) {
    const env = manifestDoc('Deployment', deployment).spec.template.spec.containers[0].env;
    const out = [];
    for (const n of names) {
        const e = env.find((x) => x.name === n);
        if (!e || e.value === undefined) throw new Error(`${deployment} in manifests/chatapp.yaml sets no ${n}`);
        out.push('-e', `${n}=${e.value}`);
    }
    return out;
}

const SEND_HA_ENV = manifestEnv('chat-send', ['REDIS_SENTINELS', 'REDIS_MASTER_NAME', 'SEND_MIN_REPLICAS', 'REDIS_TIMEOUT_MS']);
const GW_HA_ENV = manifestEnv('chat-gateway', ['REDIS_SENTINELS', 'REDIS_MASTER_NAME']);
const MASTER = SEND_HA_ENV.find((x) => x.startsWith('REDIS_MASTER_NAME=')).slice('REDIS_MASTER_NAME='.length);

/* The chat-redis ConfigMap's files, where the pods mount them. */
function writeConfigMap() {
    const data = manifestDoc('ConfigMap', 'chat-redis').data;
    fs.mkdirSync(CONFIG_DIR, { recursive: true, mode: 0o755 });
    for (const [file, text] of Object.entries(data)) {
        fs.writeFileSync(path.join(CONFIG_DIR, file), text, { mode: 0o644 });
    }
    return Object.keys(data);
}

/* ---------------------------------------------------------------- Redis pods */

const podName = (i) => `chat-redis-${i}`;
const hostOf = (i) => `${podName(i)}.chat-redis`;
const podOfHost = (h) => {
    const m = /^chat-redis-(\d+)\.chat-redis$/.exec(h || '');
    return m ? Number(m[1]) : null;
};
/* COMMON without its network: the pod's containers join the sandbox's. */
const POD_COMMON = COMMON.filter((x, i, a) => x !== '--network' && a[i - 1] !== '--network');
const ips = new Map(); /* pod -> its sandbox's address (new when the pod is made again) */

/* One command to host:port on a connection of its own: the reply with
 * Buffers as strings; null on an error reply, no answer or timeout. */
function ask(host, port, args, timeoutMs = 1500) {
    return new Promise((resolve) => {
        const sock = net.connect(port, host);
        let timer = null;
        const done = (v) => {
            clearTimeout(timer);
            sock.destroy();
            resolve(v);
        };
        timer = setTimeout(() => done(null), timeoutMs);
        new Resp(sock).command(...args).then((v) => done(strings(v)), () => done(null));
    });
}

function strings(v) {
    if (Buffer.isBuffer(v)) return v.toString();
    if (Array.isArray(v)) return v.map(strings);
    return v;
}

const sentinelAsk = (i, ...args) => (ips.has(i) ? ask(ips.get(i), SENTINEL_PORT, args) : null);
const redisAsk = (i, ...args) => (ips.has(i) ? ask(ips.get(i), REDIS_PORT, args) : null);

/* The pod's address, hostname and Service name (a pause container). */
async function startSandbox(i) {
    const pod = podName(i);
    await docker('run', '-d', '--name', pod, '--hostname', pod, '--network-alias', hostOf(i),
        ...COMMON, ...cluster.podFlags(), '--entrypoint', 'sleep', `chat-redis:${TAG}`, 'infinity');
    ips.set(i, await ipOf(pod));
}

/* The StatefulSet's two containers, as its pod template runs them. */
async function startContainers(i) {
    const pod = podName(i);
    const mounts = ['-v', `${CONFIG_DIR}:/etc/redis:ro`, '--entrypoint', 'sh', `chat-redis:${TAG}`];
    await docker('run', '-d', '--name', `${pod}-redis`, ...POD_COMMON, '--network', `container:${pod}`,
        '-v', `chat-redis-data-${i}-${RUN}:/data`, ...mounts, '/etc/redis/start-redis.sh');
    /* The Sentinel's emptyDir: it writes its own file there. */
    await docker('run', '-d', '--name', `${pod}-sentinel`, ...POD_COMMON, '--network', `container:${pod}`,
        '--tmpfs', '/sentinel', ...mounts, '/etc/redis/start-sentinel.sh');
}

/* The logs of a pod about to be deleted, kept in tests/out. */
async function keepLogs(i) {
    fs.mkdirSync(OUT, { recursive: true });
    for (const n of [`${podName(i)}-redis`, `${podName(i)}-sentinel`]) {
        const logs = await docker('logs', n).catch((e) => e.message);
        fs.writeFileSync(path.join(OUT, `docker-ha-${n}-deleted.log`), `${logs}\n`);
    }
}

/* A node lost: the pod's containers and its address go (the volume stays). */
async function deletePod(i) {
    const pod = podName(i);
    await docker('rm', '-f', `${pod}-sentinel`, `${pod}-redis`, pod);
    ips.delete(i);
}

/* The Redis pod the Sentinels name as primary (two of three agreeing), or null. */
async function sentinelPrimary() {
    const votes = new Map();
    for (let i = 0; i < PODS; i++) {
        const r = await sentinelAsk(i, 'SENTINEL', 'get-master-addr-by-name', MASTER);
        const p = Array.isArray(r) ? podOfHost(r[0]) : null;
        if (p !== null) votes.set(p, (votes.get(p) || 0) + 1);
    }
    for (const [p, n] of votes) if (n >= 2) return p;
    return null;
}

async function role(i) {
    const r = await redisAsk(i, 'ROLE');
    return Array.isArray(r) ? r[0] : 'down';
}

function infoField(text, field) {
    const m = new RegExp(`^${field}:(.*)\r?$`, 'm').exec(text || '');
    return m ? m[1].trim() : null;
}

/* A sentinel's view of the master as an object (SENTINEL master NAME). */
async function sentinelView(i) {
    const r = await sentinelAsk(i, 'SENTINEL', 'master', MASTER);
    if (!Array.isArray(r)) return null;
    const o = {};
    for (let k = 0; k + 1 < r.length; k += 2) o[r[k]] = r[k + 1];
    return o;
}

/*
 * Until the Sentinels agree on a primary that says so, with `replicas`
 * replicas online and, with all pods up, every Sentinel knowing both
 * replicas and both other Sentinels. Returns the primary's pod.
 */
async function settled(replicas, ms = 60000) {
    let primary = null;
    await until(async () => {
        primary = await sentinelPrimary();
        if (primary === null || (await role(primary)) !== 'master') return false;
        const info = await redisAsk(primary, 'INFO', 'replication');
        if ((String(info).match(/state=online/g) || []).length < replicas) return false;
        if (ips.size < PODS) return true;
        for (let i = 0; i < PODS; i++) {
            const v = await sentinelView(i);
            if (!v || Number(v['num-slaves']) !== PODS - 1 || Number(v['num-other-sentinels']) !== PODS - 1) return false;
        }
        return true;
    }, ms, `a primary with ${replicas} replicas online`);
    return primary;
}

/* Until the Sentinels name a primary other than old that says so; [pod, when]. */
async function newPrimary(old, ms = 30000) {
    let found = null;
    await until(async () => {
        const p = await sentinelPrimary();
        if (p !== null && p !== old && (await role(p)) === 'master') found = p;
        return found !== null;
    }, ms, `a primary other than ${podName(old)}`);
    return [found, now()];
}

/* A restarted Redis: the role start-redis.sh gave it (its log) and its link. */
async function rejoined(i, primary, since) {
    let link = null;
    await until(async () => {
        const info = await redisAsk(i, 'INFO', 'replication');
        link = { role: infoField(info, 'role'), host: infoField(info, 'master_host'), up: infoField(info, 'master_link_status') };
        return link.role === 'slave' && link.up === 'up';
    }, 30000, `${podName(i)} to sync as a replica`).catch((e) => log(e.message));
    /* Redis writes its role in every log line ("1:S" a replica, "1:M" a
     * primary): a replica from its first line is one that start-redis.sh
     * started with --replicaof; one a Sentinel turned later logs
     * "REPLICAOF ... (user request ...)". */
    const text = await docker('logs', '--since', (since / 1000).toFixed(3), `${podName(i)}-redis`).catch((e) => e.message);
    const ready = /^\d+:([MS]) .*Ready to accept connections/m.exec(text);
    const startedAs = ready && ready[1] === 'S' && text.includes(`Connecting to MASTER ${hostOf(primary)}:${REDIS_PORT}`) &&
        !text.includes('(user request');
    assert(startedAs && link && link.role === 'slave' && link.up === 'up' && link.host === hostOf(primary),
        `the restarted ${podName(i)} asked the Sentinels and started as a replica of ${podName(primary)} ` +
        `(ready as ${ready ? ready[1] : '?'}; link to ${link && link.host} ${link && link.up})`);
}

async function stored(primary) {
    const r = await Resp.connect(REDIS_PORT, ips.get(primary));
    try {
        return streamEntries(await r.command('XRANGE', 'messages:history', '-', '+'))
            .map((e) => JSON.parse(e.fields.m.toString()));
    } finally {
        r.close();
    }
}

/* ---------------------------------------------------------------- senders */

const messages = []; /* {content, idem, tries: [{t0, t1, status, unknown, id, body}], id} */
let sending = false;

/* A page's user: one message at a time, resent with its key after a 503. */
async function sender(k) {
    let seq = 0;
    while (sending) {
        seq++;
        const m = { content: `ha ${RUN} sender ${k} #${seq}`, idem: `${RUN}-h${k}-${seq}`, tries: [], id: null };
        messages.push(m);
        const giveUp = Date.now() + RETRY_MS;
        for (;;) {
            const t = { t0: now(), status: 0 };
            m.tries.push(t);
            try {
                const r = await postOne({ name: `sender${k}`, email: 'drill@example.com', topic: 'ha', content: m.content, idem: m.idem });
                t.status = r.status;
                t.id = r.id;
                if (r.status !== 200) {
                    t.body = r.body.slice(0, 200);
                    t.unknown = /"unknown":true/.test(r.body);
                }
            } catch (e) {
                t.status = -1;
                t.body = e.message;
            }
            t.t1 = now();
            if (t.status === 200) {
                m.id = t.id;
                break;
            }
            if (Date.now() > giveUp) break;
            await sleep(200 + Math.random() * 200);
        }
        await sleep(40 + Math.random() * 40);
    }
}

/* ---------------------------------------------------------------- figures */

function told(t) {
    if (t.status === 503 && t.unknown) return '503 unknown';
    return t.status === -1 ? 'no answer' : String(t.status);
}

/*
 * One fault's figures from the senders' tries. The fault takes effect
 * somewhere inside its docker command, so the tries mark it: from the
 * first answer other than 200 after the command began, to the first 200
 * of a POST begun after that answer ("sends accepted again", counted
 * from the command). The longest time without a 200 lies between them,
 * with what the POSTs begun in it were told.
 */
function outageOf(fault, tries) {
    const byAnswer = [...tries].sort((x, y) => x.t1 - y.t1);
    const fail = byAnswer.find((t) => t.t1 >= fault.at && t.status !== 200);
    fault.firstFail = fail ? fail.t1 : null;
    const from = fail ? fail.t1 : fault.at;
    const ok = byAnswer.find((t) => t.status === 200 && t.t0 >= from);
    fault.accepted = ok ? ok.t1 : null;
    const end = ok ? ok.t1 : Infinity;
    const oks = byAnswer.filter((t) => t.status === 200).map((t) => t.t1);
    const before = oks.filter((x) => x <= from);
    const marks = [before.length ? before[before.length - 1] : fault.at, ...oks.filter((x) => x > from && x <= end)];
    let best = { ms: 0, from, to: from };
    for (let i = 1; i < marks.length; i++) {
        if (marks[i] - marks[i - 1] > best.ms) best = { ms: marks[i] - marks[i - 1], from: marks[i - 1], to: marks[i] };
    }
    const toldMeanwhile = {};
    for (const t of tries) {
        if (t.t0 < best.from || t.t0 > best.to) continue;
        toldMeanwhile[told(t)] = (toldMeanwhile[told(t)] || 0) + 1;
    }
    fault.outage = best;
    fault.told = toldMeanwhile;
}

/* ---------------------------------------------------------------- drill */

const cluster = new Cluster((kind, name) => (kind === 'send'
    ? [...SEND_HA_ENV, '-e', 'SEND_THREADS=2']
    : [...GW_HA_ENV, '-e', `GW_ID=${name}`, '-e', `GW_ALLOWED_ORIGINS=${ORIGIN}`]));
let crowd = null;
const faults = [];

async function startTopology() {
    const files = writeConfigMap();
    log(`ConfigMap chat-redis from manifests/chatapp.yaml at /etc/redis: ${files.join(' ')}`);
    await cluster.createNetworks();
    await cluster.startDns();
    const began = now();
    for (let i = 0; i < PODS; i++) await docker('volume', 'create', '--label', `chat-drill=${RUN}`, `chat-redis-data-${i}-${RUN}`);
    /* podManagementPolicy Parallel: all three pods at once, each with its
     * address before its scripts look the others up. */
    for (let i = 0; i < PODS; i++) await startSandbox(i);
    await Promise.all([...Array(PODS).keys()].map((i) => startContainers(i)));
    const first = await settled(PODS - 1);
    const ready = [];
    for (let i = 0; i < PODS; i++) {
        const r = await docker('exec', `${podName(i)}-redis`, 'sh', '/etc/redis/ready.sh').then(() => true, () => false);
        ready.push(r);
    }
    log(`Redis pods up in ${seconds(now() - began)}: primary ${podName(first)}`);
    assert(first === 0 && ready.every(Boolean),
        `first start: ${podName(first)} is the primary, the others its replicas, three Sentinels know them and each other, ` +
        `every pod's readiness probe (ready.sh) passes (${ready.join(' ')})`);
    await cluster.startServices();
    await cluster.scaleUp('send');
    await cluster.scaleUp('send');
    await cluster.scaleUp('gateway');
    await cluster.scaleUp('gateway');
    await cluster.startFrontend();
    return first;
}

const FAULT_KINDS = [
    {
        what: 'Redis container SIGKILLed',
        async fault(p) { await docker('kill', `${podName(p)}-redis`); },
        async restore(p, primary) {
            const since = Date.now();
            await docker('start', `${podName(p)}-redis`);
            await rejoined(p, primary, since);
        },
    },
    {
        what: 'whole pod deleted (node lost)',
        prepare: keepLogs,
        async fault(p) { await deletePod(p); },
        async restore(p, primary) {
            const since = Date.now();
            await startSandbox(p);
            await startContainers(p);
            await rejoined(p, primary, since);
        },
    },
];

async function drill() {
    let primary = await startTopology();
    crowd = new Crowd(cluster.directUrl);
    await crowd.add(CLIENTS);
    sending = true;
    const senders = [0, 1, 2].map((k) => sender(k));
    await sleep(3000);
    for (const kind of FAULT_KINDS.slice(0, FAULTS)) {
        const old = primary;
        if (kind.prepare) await kind.prepare(old);
        const f = { what: kind.what, old, at: now() };
        faults.push(f);
        await kind.fault(old);
        log(`${podName(old)}: ${kind.what}`);
        [f.now, f.named] = await newPrimary(old);
        primary = f.now;
        log(`the Sentinels named ${podName(f.now)} ${seconds(f.named - f.at)} after the fault`);
        await sleep(2000);
        await kind.restore(old, primary);
        primary = await settled(PODS - 1);
        f.settled = now();
        log(`${podName(old)} back as a replica; settled ${seconds(f.settled - f.at)} after the fault`);
        await sleep(3000);
    }
    sending = false;
    await Promise.all(senders);
    const acked = messages.filter((m) => m.id !== null);
    const lastId = acked.reduce((a, m) => Math.max(a, m.id), 0);
    await crowd.catchUp(lastId);
    crowd.close();
    await report(primary, acked);
}

async function serverMetrics() {
    const out = [];
    for (const kind of ['send', 'gateway']) {
        for (const name of cluster.pods[kind]) {
            const text = await cluster.metricsOf(kind, name);
            const p = kind === 'send' ? 'chat_send' : 'chat_gw';
            out.push({
                kind, name, failovers: metric(text, `${p}_redis_failovers_total`),
                fences: metric(text, 'chat_send_redis_fences_total'), unconfirmed: metric(text, 'chat_send_unconfirmed_total'),
            });
        }
    }
    return out;
}

async function report(primary, acked) {
    const history = await stored(primary);
    const clients = crowd.clients;
    const tries = messages.flatMap((m) => m.tries);
    for (const f of faults) outageOf(f, tries);
    const servers = await serverMetrics();

    const byId = new Map(history.map((e) => [e.id, e]));
    const lostStream = acked.filter((m) => !byId.has(m.id) || byId.get(m.id).content !== m.content);
    const contentCount = new Map();
    for (const e of history) contentCount.set(e.content, (contentCount.get(e.content) || 0) + 1);
    const storedTwice = [...contentCount.values()].filter((n) => n > 1).length;
    const ackedByContent = new Map(acked.map((m) => [m.content, m]));
    const strays = history.filter((e) => !ackedByContent.has(e.content) || ackedByContent.get(e.content).id !== e.id);
    const unknownContents = new Set(messages.filter((m) => m.tries.some((t) => t.unknown || t.status === -1)).map((m) => m.content));

    /* Ids given to two contents anywhere: the answers, the stream, every client. */
    const contentsOf = new Map();
    const note = (id, content) => {
        if (!contentsOf.has(id)) contentsOf.set(id, new Set());
        contentsOf.get(id).add(content);
    };
    for (const m of acked) note(m.id, m.content);
    for (const e of history) note(e.id, e.content);
    for (const c of clients) for (const [id, m] of c.seen) note(id, m.content);
    const idsTwice = [...contentsOf.values()].filter((s) => s.size > 1).length;

    /* Per client: acknowledged messages missing, contents under two ids, extras. */
    let lostClients = 0;
    let dupShownMax = 0;
    const dupNotUnknown = new Set();
    const extraNotUnknown = new Set();
    for (const c of clients) {
        lostClients += acked.filter((m) => !c.seen.has(m.id)).length;
        const idsOfContent = new Map();
        for (const [id, m] of c.seen) {
            if (!idsOfContent.has(m.content)) idsOfContent.set(m.content, new Set());
            idsOfContent.get(m.content).add(id);
            if (!byId.has(id) && !unknownContents.has(m.content)) extraNotUnknown.add(m.content);
        }
        const dups = [...idsOfContent].filter(([, s]) => s.size > 1).map(([content]) => content);
        dupShownMax = Math.max(dupShownMax, dups.length);
        for (const d of dups) if (!unknownContents.has(d)) dupNotUnknown.add(d);
    }

    /* Live: on every connection, every message acknowledged while it was open arrived on it. */
    let checkedLive = 0;
    let missingLive = 0;
    for (const c of clients) {
        for (const conn of c.conns) {
            const got = new Set(conn.ids);
            const end = conn.close === null ? Infinity : conn.close;
            for (const m of acked) {
                const t = m.tries[m.tries.length - 1];
                if (t.t0 < conn.open || t.t1 > end) continue;
                checkedLive++;
                if (!got.has(m.id)) missingLive++;
            }
        }
    }

    const statuses = {};
    for (const t of tries) statuses[told(t)] = (statuses[told(t)] || 0) + 1;
    const unanswered = tries.filter((t) => t.status !== 200 && t.status !== 503);
    const stray503 = tries.filter((t) => t.status === 503 && !faults.some((f) =>
        t.t1 >= f.at && f.accepted !== null && t.t0 <= f.accepted + 1000));
    const reconnects = crowd.connections() - clients.length;

    console.log(`figures: ${clients.length} clients (${clients.filter((c) => c.tunnel).length} through lighttpd, the rest direct) ` +
        `on ${cluster.pods.gateway.length} gateways, 3 senders through ${cluster.pods.send.length} send handlers, ` +
        `Redis ${PODS} pods with a Sentinel each`);
    console.log(table([
        ['sent', 'acknowledged', 'stored afterwards', 'lost (stream)', 'lost (clients)', 'ids twice', 'stored twice',
            'dup shown (max per client)', 'POSTs', 'answers'],
        [messages.length, acked.length, history.length, lostStream.length, lostClients, idsTwice, storedTwice,
            dupShownMax, tries.length, JSON.stringify(statuses)],
    ], 'figures: '));
    console.log(table([
        ['fault', 'on', 'new primary', 'named after', 'sends accepted again after', 'longest without a 200',
            'told meanwhile', 'back and settled after'],
        ...faults.map((f) => [f.what, podName(f.old), podName(f.now), seconds(f.named - f.at),
            f.accepted === null ? 'never' : seconds(f.accepted - f.at), seconds(f.outage.ms), JSON.stringify(f.told),
            seconds(f.settled - f.at)]),
    ], 'figures: '));
    console.log(table([
        ['server', 'failovers followed', 'counter fenced', 'unconfirmed (503 unknown)'],
        ...servers.map((s) => [s.name, s.failovers, s.kind === 'send' ? s.fences : '-', s.kind === 'send' ? s.unconfirmed : '-']),
    ], 'figures: '));
    console.log(`figures: client reconnections ${reconnects}; history requests refused and asked again ${crowd.refusals()}; ` +
        `live deliveries checked ${checkedLive}; ` +
        `ids ${history.length ? `${history[0].id}..${history[history.length - 1].id}` : '-'} (a fence of 10^9 per new primary)`);
    if (unanswered.length || stray503.length) {
        console.log(`    examples: ${JSON.stringify([...unanswered, ...stray503].slice(0, 3))}`);
    }

    assert(acked.length >= 100, `messages really flowed during the drill (${acked.length} acknowledged)`);
    assert(unanswered.length === 0, `every POST was answered, 200 or 503 (${tries.length} POSTs: ${JSON.stringify(statuses)})`);
    assert(stray503.length === 0,
        `a 503 only while a primary was gone: from the fault until sends were accepted again, plus 1 s (${stray503.length} outside)`);
    assert(acked.length === messages.length,
        `every message was acknowledged in the end, resent with its key (${acked.length} of ${messages.length})`);
    assert(lostStream.length === 0, `every 200 is in the stream afterwards, id and content (${lostStream.length} lost)`,
        JSON.stringify(lostStream.slice(0, 3).map((m) => [m.id, m.content])));
    assert(strays.length === 0 && storedTwice === 0,
        `the stream holds each acknowledged message once, under its acknowledged id (${strays.length} others, ${storedTwice} twice)`);
    assert(idsTwice === 0, `no id handed out twice, in answers, stream or clients (${idsTwice})`);
    assert(lostClients === 0, `every client got every acknowledged message (${lostClients} missing in all)`);
    assert(checkedLive > 0 && missingLive === 0,
        `every connection got every message acknowledged while it was open (${missingLive} of ${checkedLive} missing)`);
    assert(dupNotUnknown.size === 0 && extraNotUnknown.size === 0,
        `a content shown under two ids, or not stored, is only ever one whose sender was told "unknown" ` +
        `(${dupShownMax} shown; ${dupNotUnknown.size + extraNotUnknown.size} not so)`);
    for (const f of faults) {
        assert(f.accepted !== null && f.accepted - f.at <= ACCEPT_MS,
            `${f.what} on the primary: ${podName(f.now)} took over, sends accepted again within ${seconds(ACCEPT_MS)} ` +
            `(${f.accepted === null ? 'never' : seconds(f.accepted - f.at)}; named ${seconds(f.named - f.at)} after)`);
    }
    for (const s of servers) {
        assert(s.failovers >= faults.length, `${s.name} followed every failover (chat_${s.kind === 'send' ? 'send' : 'gw'}_redis_failovers_total ${s.failovers})`);
    }
    const fences = servers.filter((s) => s.kind === 'send').reduce((a, s) => a + s.fences, 0);
    assert(fences === faults.length + 1,
        `the id counter was fenced once on each primary that took writes (${fences} fences, ${faults.length + 1} primaries)`);
}

finish(drill(), () => {
    sending = false;
    if (cluster.dnsSocket) cluster.dnsSocket.close();
    if (crowd) crowd.terminate();
    fs.rmSync(CONFIG_DIR, { recursive: true, force: true });
});
