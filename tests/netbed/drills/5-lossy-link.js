'use strict';
/*
 * Drill 5: 5 % of the packets on one client node's link are dropped, both
 * ways, for 10 s while 200 msg/s flow. Its watchers (one on each
 * gateway) still get every message, in id order, on the same
 * connection; watchers on the other client nodes are unaffected.
 */
const fig = require('../figures');
const { seconds } = require('../report');
const { sleep } = require('../bed');
const { DrillRun, HEALTHY_STALL_MS, LIVENESS_MS } = require('./common');

const LOSS = 0.05;
const LOSS_MS = 10000;
const RATE = 200;

async function run(bed, v) {
    const d = new DrillRun(bed, v, 'd5');
    const clients = bed.nodesWith('client');
    const lossy = clients[clients.length - 1];
    const specs = [];
    for (const g of bed.nodesWith('gateway')) {
        for (const c of clients) {
            specs.push({ id: `${g}@${c}`, node: c, via: g, urls: [d.gatewayUrl(g)], livenessMs: LIVENESS_MS });
        }
    }
    await d.watch(specs);
    await d.send('s', d.senderNode(), { urls: d.sendUrls(), rate: RATE, concurrency: 128 });
    await sleep(2000);
    const lossAt = Date.now();
    bed.loss(lossy, LOSS);
    await sleep(LOSS_MS);
    const dropped = bed.lossDropped(lossy);
    bed.clearLoss(lossy);
    const clearAt = Date.now();
    await sleep(2000);
    const sendF = await d.stopSenders();
    await d.delivered(specs.map((s) => s.id), sendF.acked.map((m) => m.id), 15000);
    const storeF = fig.storeFigures(sendF, bed.stored(), d.tag);
    const all = await d.clientFigures(sendF, [lossAt, clearAt]);
    const hit = all.filter(({ f }) => f.node === lossy);
    const rest = all.filter(({ f }) => f.node !== lossy);
    const upToClear = sendF.acked.filter((m) => m.tries[m.tries.length - 1].t1 <= clearAt).map((m) => m.id);
    const done = hit.map(({ r }) => fig.completeAt(r, upToClear));
    const recoverMs = done.some((t) => t === null) ? null : Math.max(0, Math.max(...done) - clearAt);

    d.printFigures(`${Math.round(LOSS * 100)} % packet loss on ${lossy}'s link for ${LOSS_MS / 1000} s at ${RATE} msg/s`, sendF, storeF, all);
    console.log(`  packets dropped on ${lossy}'s link: ${dropped}`);
    console.log(`  time to recover: ${seconds(recoverMs)} after the loss ended until ${lossy}'s watchers had every message acknowledged before`);

    v.check(dropped > 50, `the fault took effect: ${dropped} packets dropped on ${lossy}'s link`);
    v.check(sendF.acked.length === sendF.sent && sendF.sent > 0, `every POST got a 200 (${sendF.acked.length} of ${sendF.sent})`);
    d.checkStore(sendF, storeF);
    d.checkClients(all, 'at the end');
    for (const { f } of hit) {
        v.check(f.connections === 1 && f.breaks[0] === 0 && f.repeats === 0,
            `${f.id} got every message in id order on its one connection (${f.connections} connections, ${f.breaks[0]} out of order, ${f.repeats} repeats)`);
    }
    for (const { f } of rest) {
        v.check(f.stallMs < HEALTHY_STALL_MS && f.connections === 1,
            `${f.id} was unaffected (longest stall ${f.stallMs} ms, limit ${HEALTHY_STALL_MS}; ${f.connections} connection)`);
    }
}

module.exports = { name: '5-lossy-link', title: 'a lossy client link (5 % of packets dropped)', run };
