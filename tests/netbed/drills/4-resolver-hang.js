'use strict';
/*
 * Drill 4: a resolver that never answers while Redis is away. gw1 loses
 * Redis, and the name server stops answering gw1 at the same moment, so
 * every redial starts with a lookup of chat-redis that hangs (about 2 s
 * per lookup with the bed's resolv.conf). Watchers on gw1 send the page's
 * heartbeat ({"after_id":9223372036854775807}, HELPERS contract 3: an
 * empty range answered at once, without Redis) every 100 ms; no answer
 * may take longer than 100 ms. gw2's watchers on the same client nodes
 * are the control: what a healthy gateway answers in at the same
 * moments. A lookup on the gateway's one loop freezes every client of
 * that process for as long as it hangs.
 */
const fig = require('../figures');
const { seconds } = require('../report');
const { sleep } = require('../bed');
const { DrillRun, HEALTHY_STALL_MS } = require('./common');

const HEARTBEAT_MS = 100;
const LIMIT_MS = 100;
/*
 * Two gateways measured from one loaded watcher differ by scheduling
 * noise of a few tens of ms; a loop blocked in a lookup costs seconds.
 */
const NOISE_MS = 50;
const HANG_MS = 8000;

async function run(bed, v) {
    const d = new DrillRun(bed, v, 'd4');
    const [victim, control] = bed.nodesWith('gateway');
    const specs = [];
    for (const g of [victim, control]) {
        for (const c of bed.nodesWith('client')) {
            /* No liveness timer: a frozen gateway should show up in the figures, not as a reconnect. */
            specs.push({ id: `${g}@${c}`, node: c, via: g, urls: [d.gatewayUrl(g)], heartbeatMs: HEARTBEAT_MS, reconnect: false });
        }
    }
    await d.watch(specs);
    await d.send('s', d.senderNode(), { urls: d.sendUrls(), rate: 20, concurrency: 32 });
    await sleep(2000);
    const dnsBefore = await bed.dnsStats(victim);
    const before = await bed.metrics(victim);
    const hangAt = Date.now();
    await bed.dnsHang([victim]);
    bed.partition(victim, 'redis');
    await sleep(HANG_MS);
    const dnsDuring = await bed.dnsStats(victim);
    bed.heal(victim, 'redis');
    await bed.dnsAnswer();
    const healAt = Date.now();
    await sleep(3000);
    const sendF = await d.stopSenders();
    await d.delivered(specs.map((s) => s.id), sendF.acked.map((m) => m.id), 10000);
    const after = await bed.metrics(victim);
    const storeF = fig.storeFigures(sendF, bed.stored(), d.tag);
    const clients = await d.clientFigures(sendF, [hangAt, healAt]);
    const ignored = dnsDuring.ignored - dnsBefore.ignored;
    const mine = clients.filter(({ f }) => d.watchers.get(f.id).via === victim);
    const others = clients.filter(({ f }) => d.watchers.get(f.id).via === control);
    const upToHeal = sendF.acked.filter((m) => m.tries[m.tries.length - 1].t1 <= healAt).map((m) => m.id);
    const done = mine.map(({ r }) => fig.completeAt(r, upToHeal));
    const recoverMs = done.some((t) => t === null) ? null : Math.max(...done) - healAt;
    /*
     * Heartbeats sent while the resolver hung, as [sent, ms raw, ms less
     * the watcher process's own stalls]; one still unanswered counts with
     * its age. The limit is LIMIT_MS, stretched only by as much as the
     * control gateway's slowest heartbeat from the same watcher node in
     * the hang took longer than LIMIT_MS (plus NOISE_MS): on a machine so
     * loaded that a healthy gateway cannot answer within 100 ms either,
     * the hung resolver must still cost nothing beyond that.
     */
    const inHang = (r) => {
        const xs = r.hb.samples.filter(([at]) => at >= hangAt && at <= healAt);
        if (r.hb.pendingSince && r.hb.pendingSince <= healAt) xs.push([r.hb.pendingSince, r.hb.pendingMs, r.hb.pendingOwnMs]);
        return xs;
    };
    const byNode = new Map(clients.filter(({ f }) => d.watchers.get(f.id).via === control).map(({ f, r }) => [f.node, inHang(r)]));
    const judge = (f, r) => {
        const ctl = byNode.get(f.node) || [];
        /* The control's worst in the whole hang: how late a healthy
         * gateway's answers came from this watcher's node at all. */
        const ctlMs = Math.max(0, ...ctl.map(([, , cown]) => cown));
        const xs = inHang(r).map(([, raw, own]) => (
            { raw, own, ctlMs, limit: LIMIT_MS + Math.max(0, ctlMs + NOISE_MS - LIMIT_MS) }));
        const worst = xs.reduce((w, x) => (x.own - x.limit > w.own - w.limit ? x : w), { raw: 0, own: 0, ctlMs: 0, limit: LIMIT_MS });
        return { n: xs.length, worst, over: xs.filter((x) => x.own >= x.limit).length, raw: Math.max(0, ...xs.map((x) => x.raw)) };
    };
    const hbCol = (f, r) => {
        const j = judge(f, r);
        return `${j.worst.own} ms (raw ${j.raw}, control ${j.worst.ctlMs})`;
    };

    d.printFigures(`${victim} without Redis for ${HANG_MS / 1000} s while its resolver hangs; heartbeats every ${HEARTBEAT_MS} ms; ${control} as control`,
        sendF, storeF, clients, { 'slowest heartbeat in the hang': hbCol, 'over the limit': (f, r) => `${judge(f, r).over}/${judge(f, r).n}` });
    console.log(`  name server: ${ignored} queries from ${victim} left unanswered while it hung; ` +
        `${victim} redis reconnects +${after.chat_gw_redis_reconnects_total - before.chat_gw_redis_reconnects_total}`);
    console.log(`  time to recover: ${seconds(recoverMs)} from the heal until ${victim}'s watchers had every message acknowledged before it`);

    v.check(ignored > 0, `the fault took effect: ${victim} asked the hung resolver (${ignored} queries went unanswered)`);
    for (const { f, r } of mine) {
        const j = judge(f, r);
        v.check(j.n >= (HANG_MS / HEARTBEAT_MS) / 4 && j.over === 0,
            `${f.id}: every heartbeat sent while the resolver hung was answered within ${LIMIT_MS} ms ` +
            `(or no later than ${control}'s at the same moment): ${j.n} sent, ${j.over} over, ` +
            `worst ${j.worst.own} ms against a limit of ${j.worst.limit} ms`);
    }
    v.check(sendF.acked.length === sendF.sent && sendF.sent > 0, `every POST got a 200 (${sendF.acked.length} of ${sendF.sent})`);
    d.checkStore(sendF, storeF);
    d.checkClients(clients, 'after the heal');
    v.check(recoverMs !== null, `${victim}'s watchers caught up after the heal (${seconds(recoverMs)})`);
    for (const { f } of others) {
        v.check(f.stallMs < HEALTHY_STALL_MS, `${f.id} on ${control} saw no stall (longest ${f.stallMs} ms)`);
    }
}

module.exports = { name: '4-resolver-hang', title: 'a resolver that never answers while Redis is away', run };
