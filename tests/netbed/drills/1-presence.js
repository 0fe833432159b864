'use strict';
/*
 * Drill 1: presence across nodes whose clocks are hours apart (gw1 2 h,
 * gw2 9 h, gw3 41 h ahead, topology.js). The online count every watcher
 * is shown must equal the real number of connections within a refresh
 * or two, as watchers join and leave, while one gateway node is isolated
 * (its count drops out after the TTL) and after the heal (it returns).
 * A gateway that stamps its count with its own CLOCK_MONOTONIC makes the
 * others read it as hours stale or hours in the future: wrong counts.
 */
const fig = require('../figures');
const { table, seconds } = require('../report');
const { sleep, GATEWAY_ENV } = require('../bed');
const { DrillRun } = require('./common');

const REFRESH_MS = Number(GATEWAY_ENV.GW_PRESENCE_REFRESH_MS);
const TTL_MS = Number(GATEWAY_ENV.GW_PRESENCE_TTL_S) * 1000;
/*
 * A change reaches every watcher after the writer's next refresh, the
 * reader's next refresh and the at-most-once-a-second presence frame.
 */
const SETTLE_MS = 2 * REFRESH_MS + 1000 + 1000;
const HOLD_MS = 1500; /* once right, it must stay right this long */

/* Poll until each watcher's latest count equals its expectation; then hold. */
async function expectCounts(d, label, want, since, limitMs) {
    const ids = Object.keys(want);
    let reps = [];
    const latest = () => reps.map((r) => (r.presence.length ? r.presence[r.presence.length - 1][1] : null));
    const end = since + limitMs;
    for (;;) {
        reps = await d.reports(ids);
        if (latest().every((v, i) => v === want[ids[i]])) break;
        if (Date.now() > end) break;
        await sleep(200);
    }
    const settled = latest().every((v, i) => v === want[ids[i]]);
    const settleMs = settled ? Math.max(...reps.map((r, i) => fig.presenceSettledAt(r, want[ids[i]], Date.now()) - since), 0) : null;
    if (settled) await sleep(HOLD_MS);
    reps = await d.reports(ids);
    const held = latest().every((v, i) => v === want[ids[i]]);
    return { label, want, seen: Object.fromEntries(ids.map((id, i) => [id, latest()[i]])), settled, held, settleMs, limitMs };
}

async function run(bed, v) {
    const d = new DrillRun(bed, v, 'd1');
    const [g1, g2, g3] = bed.nodesWith('gateway');
    const cls = bed.nodesWith('client');
    const layout = { [g1]: 3, [g2]: 2, [g3]: 4 };
    const specs = [];
    for (const [g, n] of Object.entries(layout)) {
        for (let i = 0; i < n; i++) {
            const c = cls[i % cls.length];
            /* The page's heartbeat keeps each connection busy, as a browser's would. */
            specs.push({ id: `${g}.${i}@${c}`, node: c, via: g, urls: [d.gatewayUrl(g)], heartbeatMs: 500, reconnect: false });
        }
    }
    const on = (g) => specs.filter((s) => s.via === g).map((s) => s.id);
    const expect = (ids, n) => Object.fromEntries(ids.map((id) => [id, n]));
    await d.send('s', d.senderNode(), { urls: d.sendUrls(), rate: 20, concurrency: 32 });
    const steps = [];

    await d.watch(specs);
    let t = Date.now(); /* the last of them is connected: the change is complete */
    steps.push(await expectCounts(d, `9 join (${g1} 3, ${g2} 2, ${g3} 4)`, expect(specs.map((s) => s.id), 9), t, SETTLE_MS));

    const leaving = on(g1).slice(0, 2);
    t = Date.now();
    for (const id of leaving) await d.closeWatcher(id);
    const stay = specs.map((s) => s.id).filter((id) => !leaving.includes(id));
    steps.push(await expectCounts(d, `2 leave ${g1}`, expect(stay, 7), t, SETTLE_MS));

    t = Date.now();
    bed.isolate(g3);
    const reachable = stay.filter((id) => !on(g3).includes(id));
    steps.push(await expectCounts(d, `${g3} isolated: its 4 drop out after the TTL`, expect(reachable, 3), t, TTL_MS + SETTLE_MS));

    t = Date.now();
    bed.unisolate(g3);
    const healAt = t;
    /* gw3 first has to find Redis again (reconnect backoff, at most 1 s on the bed). */
    steps.push(await expectCounts(d, `${g3} healed: its 4 count again`, expect(stay, 7), t, 2000 + SETTLE_MS));

    const sendF = await d.stopSenders();
    await d.delivered(stay, sendF.acked.map((m) => m.id), 10000);
    const storeF = fig.storeFigures(sendF, bed.stored(), d.tag);
    const clients = (await d.clientFigures(sendF)).filter(({ f }) => stay.includes(f.id));
    const g3done = clients.filter(({ f }) => on(g3).includes(f.id))
        .map(({ r }) => fig.completeAt(r, sendF.acked.filter((m) => m.tries[m.tries.length - 1].t1 < healAt).map((m) => m.id)));
    const recoverMs = g3done.some((x) => x === null) ? null : Math.max(...g3done) - healAt;

    d.printFigures(`presence on 3 gateways with clocks ${[g1, g2, g3].map((g) => `${g}+${bed.node(g).clockH}h`).join(' ')}; 20 msg/s meanwhile`,
        sendF, storeF, clients);
    const byGw = (s, g) => [...new Set(on(g).filter((id) => id in s.seen).map((id) => s.seen[id]))].join('/') || '-';
    console.log(table([['step', 'expected', `seen on ${g1}`, `seen on ${g2}`, `seen on ${g3}`, 'settled after', 'held'],
        ...steps.map((s) => [s.label, [...new Set(Object.values(s.want))].join('/'), byGw(s, g1), byGw(s, g2), byGw(s, g3),
            s.settled ? seconds(s.settleMs) : `not in ${seconds(s.limitMs)}`, s.held ? 'yes' : 'no'])]));
    console.log(`  time to recover: ${seconds(recoverMs)} from the heal until ${g3}'s watchers had every message acknowledged before it`);

    for (const s of steps) {
        v.check(s.settled && s.held, `${s.label}: every watcher shows ${[...new Set(Object.values(s.want))].join('/')} ` +
            `within ${seconds(s.limitMs)} and keeps it ${seconds(HOLD_MS)}`, `seen ${JSON.stringify(s.seen)}`);
    }
    v.check(sendF.acked.length === sendF.sent && sendF.sent > 0, `every POST got a 200 (${sendF.acked.length} of ${sendF.sent})`);
    d.checkStore(sendF, storeF);
    d.checkClients(clients, 'at the end');
    v.check(clients.every(({ f }) => f.connections === 1), `every watcher kept its one connection, ${g3}'s through the isolation`);
}

module.exports = {
    name: '1-presence',
    title: 'presence across nodes with clocks hours apart, through joins, leaves and an isolated gateway',
    /* gw3's watchers must outlive its isolation (TTL plus settling): no ping timeout meanwhile. */
    gatewayEnv: { GW_PING_INTERVAL_S: '10', GW_PING_TIMEOUT_S: '30' },
    run,
};
