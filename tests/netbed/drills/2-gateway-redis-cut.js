'use strict';
/*
 * Drill 2: one gateway loses Redis for 10 s while 200 msg/s flow. Its
 * watchers stay connected and, after the heal, get every stored message
 * (the gateway's backfill) in id order with no copy; watchers on the
 * other gateways see no stall at all.
 */
const fig = require('../figures');
const { seconds } = require('../report');
const { sleep } = require('../bed');
const { DrillRun, HEALTHY_STALL_MS, LIVENESS_MS } = require('./common');

const RATE = 200;
const CUT_MS = 10000;
const RECOVER_MS = 5000; /* backoff (at most 1 s on the bed), dial, backfill */

async function run(bed, v) {
    const d = new DrillRun(bed, v, 'd2');
    const gws = bed.nodesWith('gateway');
    const victim = gws[0];
    const specs = [];
    for (const g of gws) {
        for (const c of bed.nodesWith('client')) {
            specs.push({ id: `${g}@${c}`, node: c, via: g, urls: [d.gatewayUrl(g)], livenessMs: LIVENESS_MS });
        }
    }
    await d.watch(specs);
    const before = await bed.metrics(victim);
    await d.send('s', d.senderNode(), { urls: d.sendUrls(), rate: RATE, concurrency: 128 });
    await sleep(3000);
    const cutAt = Date.now();
    bed.partition(victim, 'redis');
    await sleep(CUT_MS);
    bed.heal(victim, 'redis');
    const healAt = Date.now();
    await sleep(3000);
    const sendF = await d.stopSenders();
    const ackedIds = sendF.acked.map((m) => m.id);
    await d.delivered(specs.map((s) => s.id), ackedIds, 15000);
    const after = await bed.metrics(victim);
    const storeF = fig.storeFigures(sendF, bed.stored(), d.tag);
    const clients = await d.clientFigures(sendF, [cutAt, healAt]);
    const mine = clients.filter(({ f }) => d.watchers.get(f.id).via === victim);
    const others = clients.filter(({ f }) => d.watchers.get(f.id).via !== victim);

    /*
     * Messages whose POST began after the cut and whose 200 came before
     * the heal were published while gw1 was cut off: none of them can
     * reach its watchers before the heal.
     */
    const inCut = sendF.acked.filter((m) => m.tries[0].t0 > cutAt + 100 && m.tries[m.tries.length - 1].t1 < healAt);
    const inCutIds = new Set(inCut.map((m) => m.id));
    const early = mine.map(({ r }) => r.msgs.filter(([id, t]) => t < healAt && inCutIds.has(id)).length);
    const upToHeal = sendF.acked.filter((m) => m.tries[m.tries.length - 1].t1 <= healAt).map((m) => m.id);
    const done = mine.map(({ r }) => fig.completeAt(r, upToHeal));
    const recoverMs = done.some((t) => t === null) ? null : Math.max(...done) - healAt;

    d.printFigures(`${victim} cut off from Redis for ${CUT_MS / 1000} s at ${RATE} msg/s; watchers on every gateway from every client node`,
        sendF, storeF, clients);
    console.log(`  time to recover: ${seconds(recoverMs)} from the heal until ${victim}'s watchers had every message acknowledged before it`);
    console.log(`  ${victim}: redis reconnects +${after.chat_gw_redis_reconnects_total - before.chat_gw_redis_reconnects_total}, ` +
        `backfilled +${after.chat_gw_backfilled_messages_total - before.chat_gw_backfilled_messages_total}, ` +
        `live duplicates dropped +${after.chat_gw_live_duplicates_dropped_total - before.chat_gw_live_duplicates_dropped_total}; ` +
        `${inCut.length} messages acknowledged inside the cut`);

    v.check(sendF.acked.length === sendF.sent && sendF.sent > 0, `every POST got a 200 (${sendF.acked.length} of ${sendF.sent})`);
    d.checkStore(sendF, storeF);
    v.check(inCut.length > 0 && early.every((n) => n === 0),
        `the cut took effect: none of ${inCut.length} messages acknowledged inside it reached ${victim}'s watchers before the heal (${early})`);
    v.check(after.chat_gw_redis_reconnects_total > before.chat_gw_redis_reconnects_total, `${victim} noticed the cut and reconnected`);
    d.checkClients(clients, 'after the heal');
    for (const { f } of mine) {
        v.check(f.connections === 1, `${f.id} stayed connected through the cut (${f.connections} connections)`);
        v.check(f.breaks[0] === 0 && f.repeats === 0, `${f.id} got the backfill in id order, no id twice (${f.breaks[0]} out of order, ${f.repeats} repeats)`);
    }
    v.check(recoverMs !== null && recoverMs <= RECOVER_MS, `${victim}'s watchers had everything ${seconds(recoverMs)} after the heal (at most ${seconds(RECOVER_MS)})`);
    for (const { f } of others) {
        v.check(f.stallMs < HEALTHY_STALL_MS && f.connections === 1,
            `${f.id} saw no stall during the cut (longest ${f.stallMs} ms, limit ${HEALTHY_STALL_MS}; ${f.connections} connection)`);
    }
}

module.exports = { name: '2-gateway-redis-cut', title: 'a gateway cut off from Redis for 10 s while 200 msg/s flow', run };
