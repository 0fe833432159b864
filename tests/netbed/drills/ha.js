'use strict';
/*
 * What the Redis failover drills (8-12, issue 13) share: the HA
 * topology added to the running bed, and the run around each fault.
 *
 * The topology: the bed's Redis node becomes the first primary, two
 * replica nodes and three Sentinel nodes are added (each on its own node
 * with its own clock), and the send handlers and gateways are restarted
 * to find the primary through the Sentinels' Service names, with
 * SEND_MIN_REPLICAS=1. Redis runs with min-replicas-to-write 1 and
 * min-replicas-max-lag 5; the Sentinels call a primary down after
 * 1.5 s (docs/DESIGN.md says why). Once added, it stays for the rest
 * of the run, so these drills come after the single-Redis ones.
 *
 * The run: 300 watchers on the three gateways from the three client
 * nodes, 200 msg/s posted through both front ends by page-like senders
 * (each message its own idem, resent with it after a 503 or no answer),
 * the drill's fault, then the figures the issue asks for: acknowledged,
 * stored afterwards, lost (acknowledged but absent from history or from
 * a watcher), ids handed out twice, contents shown under two ids, the
 * longest time without a 200 and what the senders were told meanwhile.
 */
const fs = require('node:fs');
const path = require('node:path');
const topo = require('../topology');
const fig = require('../figures');
const { table, seconds } = require('../report');
const { sleep, waitUntil } = require('../bed');
const { DrillRun, LIVENESS_MS } = require('./common');

const MASTER = 'chat';
const SENTINEL_PORT = 26379;
const REDIS_ARGS = ['--min-replicas-to-write', '1', '--min-replicas-max-lag', '5'];
const SENTINEL_SETTINGS = ['down-after-milliseconds 1500', 'failover-timeout 2500', 'parallel-syncs 2'];
const ADDED = [
    { name: 'redis2', host: 11, role: 'redis', services: ['chat-redis-1'], clockH: 37 },
    { name: 'redis3', host: 12, role: 'redis', services: ['chat-redis-2'], clockH: 43 },
    { name: 'sen1', host: 61, role: 'sentinel', services: ['chat-sentinel', 'chat-sentinel-0'], clockH: 53 },
    { name: 'sen2', host: 62, role: 'sentinel', services: ['chat-sentinel', 'chat-sentinel-1'], clockH: 59 },
    { name: 'sen3', host: 63, role: 'sentinel', services: ['chat-sentinel', 'chat-sentinel-2'], clockH: 61 },
];
const WATCHERS = Number(process.env.NETBED_HA_WATCHERS || 300);
const RATE = 200;
/* The issue's figure: sends accepted again within 5 s of a primary's death. */
const ACCEPT_MS = 5000;

/* A millisecond setting of SENTINEL_SETTINGS, by name. */
function sentinelSettingMs(name) {
    const line = SENTINEL_SETTINGS.find((s) => s.startsWith(`${name} `));
    if (!line) throw new Error(`no sentinel setting ${name}`);
    return Number(line.split(' ')[1]);
}

function sentinelList() {
    return ADDED.filter((n) => n.role === 'sentinel').map((n) => `${topo.fqdn(n.services[1])}:${SENTINEL_PORT}`).join(',');
}

const SERVER_ENV = () => ({ REDIS_SENTINELS: sentinelList(), REDIS_MASTER_NAME: MASTER });

async function sentinelCli(bed, node, ...args) {
    const r = await bed.exec(node, 'redis-cli', ['-h', '127.0.0.1', '-p', String(SENTINEL_PORT), ...args], 3000);
    return r.code === 0 ? r.stdout.trim().split('\n') : null;
}

async function startSentinel(bed, node) {
    const conf = path.join(bed.logDir, `${node}.sentinel.conf`);
    if (!fs.existsSync(conf)) {
        fs.writeFileSync(conf, [`port ${SENTINEL_PORT}`, 'bind 0.0.0.0', 'protected-mode no', `dir ${bed.logDir}`,
            `sentinel monitor ${MASTER} ${bed.ip('redis')} ${topo.PORTS.redis} 2`,
            ...SENTINEL_SETTINGS.map((s) => `sentinel ${s.replace(' ', ` ${MASTER} `)}`), ''].join('\n'));
    }
    const p = bed.startProcess(node, node, 'redis-sentinel', [conf], { restart: () => startSentinel(bed, node) });
    await waitUntil(`sentinel on ${node}`, async () => (await sentinelCli(bed, node, 'PING') || [])[0] === 'PONG', 10000);
    return p;
}

/* The Redis node the sentinels name as primary (the majority of those answering). */
async function sentinelPrimary(bed) {
    const votes = new Map();
    for (const s of bed.nodesWith('sentinel')) {
        const out = await sentinelCli(bed, s, 'SENTINEL', 'get-master-addr-by-name', MASTER);
        const node = out && bed.nodesWith('redis').find((n) => bed.ip(n) === out[0]);
        if (node) votes.set(node, (votes.get(node) || 0) + 1);
    }
    let best = null;
    for (const [n, c] of votes) if (!best || c > votes.get(best)) best = n;
    return best;
}

async function role(bed, node) {
    const r = await bed.exec(node, 'redis-cli', ['-h', '127.0.0.1', 'ROLE'], 2000);
    return r.code === 0 ? r.stdout.split('\n')[0] : 'down';
}

/* Wait until the sentinels agree on a primary that says so and has n replicas online. */
async function settled(bed, replicas, timeoutMs = 30000) {
    await waitUntil(`a primary with ${replicas} replicas`, async () => {
        const p = await sentinelPrimary(bed);
        if (!p || (await role(bed, p)) !== 'master') return false;
        const r = await bed.exec(p, 'redis-cli', ['-h', '127.0.0.1', 'INFO', 'replication'], 2000);
        if ((r.stdout.match(/state=online/g) || []).length < replicas) return false;
        bed.primary = p;
        return true;
    }, timeoutMs);
    return bed.primary;
}

/*
 * Start Redis on node in the role the sentinels give it, as the
 * manifests' init step does: a replica of the primary they name, or the
 * primary when they name this node (or nobody yet: the first node). A
 * restart (bed.reset, restartRedis) asks again.
 */
async function startHaRedis(bed, node) {
    const primary = bed.ha ? await sentinelPrimary(bed) : 'redis';
    const of = primary && primary !== node ? ['--replicaof', bed.ip(primary), String(topo.PORTS.redis)] : [];
    const p = await bed.startRedis(node, [...REDIS_ARGS, ...of]);
    p.restart = () => startHaRedis(bed, node);
    return p;
}

/* Add the HA topology once; later calls only check it has settled. */
async function haUp(bed) {
    if (bed.ha) return settled(bed, 2);
    const began = Date.now();
    bed.registerRole('sentinel', (n) => startSentinel(bed, n), { after: 'redis' });
    for (const n of ADDED) await bed.addNode(n);
    await bed.proc('redis').stop('SIGTERM', 5000);
    await Promise.all(bed.nodesWith('redis').map((n) => startHaRedis(bed, n)));
    await Promise.all(bed.nodesWith('sentinel').map((n) => startSentinel(bed, n)));
    await waitUntil('the sentinels to know the replicas and each other', async () => {
        for (const s of bed.nodesWith('sentinel')) {
            const m = await sentinelCli(bed, s, 'SENTINEL', 'master', MASTER);
            const field = (k) => (m ? Number(m[m.indexOf(k) + 1]) : -1);
            if (field('num-slaves') !== 2 || field('num-other-sentinels') !== 2) return false;
        }
        return true;
    }, 30000);
    await Promise.all(bed.nodesWith('send').map(async (n) => {
        await bed.proc(n).stop('SIGTERM', 5000);
        await bed.startSend(n, { ...SERVER_ENV(), SEND_MIN_REPLICAS: '1' });
    }));
    await bed.restartGateways(SERVER_ENV());
    bed.ha = true;
    await settled(bed, 2);
    console.log(`  HA topology up in ${seconds(Date.now() - began)}: primary ${bed.primary}, replicas ` +
        `${bed.nodesWith('redis').filter((n) => n !== bed.primary).join(' ')}, sentinels ${bed.nodesWith('sentinel').join(' ')}`);
    return bed.primary;
}

/* SIGKILL the primary's Redis; returns [node, when]. */
function killPrimary(bed) {
    const node = bed.primary;
    bed.signal(node, 'SIGKILL');
    return [node, Date.now()];
}

/* Until the sentinels name a primary other than `old` that says so; returns [node, when]. */
async function newPrimary(bed, old, timeoutMs = 20000) {
    let found = null;
    await waitUntil(`a primary other than ${old}`, async () => {
        const p = await sentinelPrimary(bed);
        if (p && p !== old && (await role(bed, p)) === 'master') found = p;
        return found !== null;
    }, timeoutMs);
    bed.primary = found;
    return [found, Date.now()];
}

/* A Redis node started again from its AOF, as Kubernetes restarts a pod. */
async function restartRedis(bed, node) {
    const p = bed.proc(node);
    if (p.alive()) await p.stop('SIGKILL', 1000);
    await p.restart();
}

/*
 * Windows without a 200: from the first try after the last 200 to the
 * next 200. The longest, and the answers given to tries that began in it.
 */
function longestOutage(sendF) {
    const tries = sendF.messages.flatMap((m) => m.tries).sort((a, b) => a.t0 - b.t0);
    const oks = tries.filter((t) => t.status === 200).map((t) => t.t1).sort((a, b) => a - b);
    let best = { ms: 0, from: 0, to: 0 };
    for (let i = 1; i < oks.length; i++) {
        if (oks[i] - oks[i - 1] > best.ms) best = { ms: oks[i] - oks[i - 1], from: oks[i - 1], to: oks[i] };
    }
    const told = {};
    for (const t of tries) {
        if (t.t0 < best.from || t.t0 > best.to) continue;
        const k = t.status === 503 && t.unknown ? '503 unknown' : t.status === -1 ? 'no answer' : String(t.status);
        told[k] = (told[k] || 0) + 1;
    }
    return { ...best, told };
}

/* Ids given to two different contents anywhere: answers, the stream, watchers. */
function idsTwice(sendF, stored, digests) {
    const byId = new Map();
    const note = (id, content) => {
        if (!byId.has(id)) byId.set(id, new Set());
        byId.get(id).add(content);
    };
    for (const m of sendF.acked) note(m.id, m.content);
    for (const e of stored) note(e.id, e.content);
    const twice = [...byId.values()].filter((s) => s.size > 1).length;
    return twice + digests.reduce((s, d) => s + d.reused, 0);
}

function watcherSpecs(d, bed) {
    const gws = bed.nodesWith('gateway');
    const clients = bed.nodesWith('client');
    const specs = [];
    for (let i = 0; i < WATCHERS; i++) {
        const g = gws[i % gws.length];
        const c = clients[Math.floor(i / gws.length) % clients.length];
        specs.push({ id: `w${i}-${g}@${c}`, node: c, via: g, urls: [d.gatewayUrl(g)], livenessMs: LIVENESS_MS });
    }
    return specs;
}

/*
 * One drill: watchers, senders, fault(ctx) (which returns named marks
 * and extra figures), settle, figures, checks. ctx: { bed, d, v, log }.
 */
async function runHaDrill(bed, v, name, what, fault, { acceptMs = ACCEPT_MS } = {}) {
    await haUp(bed);
    const d = new DrillRun(bed, v, name);
    const specs = watcherSpecs(d, bed);
    for (let i = 0; i < specs.length; i += 30) await d.watch(specs.slice(i, i + 30));
    await d.send('s', d.senderNode(), { urls: d.sendUrls(), rate: RATE, concurrency: 128, timeoutMs: 5000, retryMs: 30000 });
    await sleep(2000);
    const out = await fault({ bed, d, v });
    await sleep(4000);
    const sendF = await d.stopSenders();
    await settled(bed, 1, 30000);
    const pairs = sendF.acked.map((m) => [m.id, m.content, m.tries[m.tries.length - 1].t1]);
    await Promise.all(bed.nodesWith('client').map((c) => bed.agent(c).call('acked', { tag: d.tag, pairs }, 60000)));
    const ids = sendF.acked.map((m) => m.id);
    await d.delivered(specs.map((s) => s.id), ids, 20000);
    const stored = bed.stored();
    const storeF = fig.storeFigures(sendF, stored, d.tag);
    const digests = await Promise.all(specs.map((s) => bed.agent(s.node).call('digest', { id: s.id, tag: d.tag }, 60000)));
    const outage = longestOutage(sendF);
    const twice = idsTwice(sendF, stored.filter((e) => fig.ofTag(d.tag)(e.content)), digests);
    const lostAtWatchers = digests.reduce((s, x) => s + x.missing, 0);
    const dupShown = Math.max(0, ...digests.map((x) => x.dupShown));
    const unknownContents = new Set(sendF.messages.filter((m) => m.tries.some((t) => t.unknown || t.status === -1)).map((m) => m.content));
    const dupNotUnknown = [...new Set(digests.flatMap((x) => x.dupContents))].filter((c) => !unknownContents.has(c));

    console.log(`  ${what}; ${specs.length} watchers on ${bed.nodesWith('gateway').length} gateways, ${RATE} msg/s through both front ends`);
    console.log(table([
        ['sent', 'acknowledged', 'stored afterwards', 'lost (stream)', 'lost (watchers)', 'ids twice', 'dup shown (max per watcher)',
            'longest without a 200', 'told meanwhile'],
        [sendF.sent, sendF.acked.length, storeF.stored, storeF.ackedNotStored.length, lostAtWatchers, twice, dupShown,
            seconds(outage.ms), JSON.stringify(outage.told)],
    ]));
    console.log(`  final answers ${JSON.stringify(sendF.statuses)}; POSTs ${sendF.posts} (answers ${JSON.stringify(sendF.tryStatuses)}); ` +
        `watchers: max connections ${Math.max(...digests.map((x) => x.connections))}, repeats dropped ${digests.reduce((s, x) => s + x.repeats, 0)}, ` +
        `order breaks ${digests.reduce((s, x) => s + x.breaks, 0)}, longest stall ${seconds(Math.max(...digests.map((x) => x.stallMs)))}`);
    if (out && out.lines) for (const l of out.lines) console.log(`  ${l}`);

    v.check(sendF.acked.length > 0 && storeF.ackedNotStored.length === 0,
        `every acknowledged message is stored afterwards (${storeF.ackedNotStored.length} of ${sendF.acked.length} are not)`,
        storeF.ackedNotStored.slice(0, 5).map((m) => `${m.id} ${m.content}`).join(', '));
    v.check(lostAtWatchers === 0, `every watcher got every acknowledged message (${lostAtWatchers} missing in all)`);
    v.check(twice === 0, `no id handed out twice (${twice})`);
    v.check(storeF.storedTwice.length === 0, `no message stored twice (${storeF.storedTwice.length})`);
    v.check(sendF.acked.length === sendF.sent, `every message was acknowledged in the end, resent with its key (${sendF.acked.length} of ${sendF.sent})`);
    v.check(dupNotUnknown.length === 0,
        `a content shown under two ids is only ever a message its sender was told "unknown" (${dupShown} shown, ${dupNotUnknown.length} not so)`,
        dupNotUnknown.slice(0, 5).join(', '));
    v.check(outage.ms <= acceptMs, `sends accepted again within ${seconds(acceptMs)} (longest without a 200: ${seconds(outage.ms)})`);
    return { sendF, storeF, digests, outage };
}

module.exports = {
    MASTER, REDIS_ARGS, SENTINEL_SETTINGS, ACCEPT_MS, sentinelSettingMs, haUp, settled, sentinelPrimary, killPrimary, newPrimary,
    restartRedis, role, runHaDrill, longestOutage, idsTwice,
};
