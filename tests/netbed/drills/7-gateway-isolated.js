'use strict';
/*
 * Drill 7: a gateway node is cut off from its clients and the front ends,
 * but not from Redis. Its watchers (connected to it directly, as the page
 * does through the gateway's own Service) notice with their own timer
 * (HELPERS contract 5) within the gateway's ping timeout, reconnect to
 * another gateway and resume with after_id, missing nothing. The cut-off
 * gateway drops its silent peers after GW_PING_TIMEOUT_S.
 */
const fig = require('../figures');
const { table, seconds } = require('../report');
const { sleep, waitUntil, GATEWAY_ENV } = require('../bed');
const { DrillRun, HEALTHY_STALL_MS, LIVENESS_MS, podName } = require('./common');

const RATE = 100;
const PING_TIMEOUT_MS = Number(GATEWAY_ENV.GW_PING_TIMEOUT_S) * 1000;

async function run(bed, v) {
    const d = new DrillRun(bed, v, 'd7');
    const gws = bed.nodesWith('gateway');
    const victim = gws[gws.length - 1];
    const others = gws.filter((g) => g !== victim);
    const specs = [];
    for (const c of bed.nodesWith('client')) {
        specs.push({ id: `${victim}@${c}`, node: c, via: victim, urls: [victim, ...others].map((g) => d.gatewayUrl(g)), livenessMs: LIVENESS_MS });
        specs.push({ id: `${others[0]}@${c}`, node: c, via: others[0], urls: others.map((g) => d.gatewayUrl(g)), livenessMs: LIVENESS_MS });
    }
    await d.watch(specs);
    await d.send('s', d.senderNode(), { urls: d.sendUrls(), rate: RATE, concurrency: 64 });
    await sleep(2000);
    const cutAt = Date.now();
    const cutFrom = [...bed.nodesWith('client'), ...bed.nodesWith('frontend')];
    bed.isolateFrom(victim, cutFrom);
    const moved = specs.filter((s) => s.via === victim).map((s) => s.id);
    await waitUntil(`watchers of ${victim} to reconnect elsewhere`, async () => {
        const reps = await d.reports(moved);
        return reps.every((r) => r.conns.length >= 2 && r.conns[r.conns.length - 1].firstReplyAt);
    }, 20000);
    let droppedAt = null;
    await waitUntil(`${victim} to drop its silent peers`, async () => {
        const m = await bed.metrics(victim);
        if (m.chat_gw_connections === 0) droppedAt = Date.now();
        return droppedAt !== null;
    }, PING_TIMEOUT_MS + 5000).catch(() => {});
    const victimM = await bed.metrics(victim);
    const sendF = await d.stopSenders();
    await d.delivered(specs.map((s) => s.id), sendF.acked.map((m) => m.id), 10000);
    const storeF = fig.storeFigures(sendF, bed.stored(), d.tag);
    const all = await d.clientFigures(sendF, [cutAt, Date.now()]);
    const hit = all.filter(({ f }) => moved.includes(f.id));
    const rest = all.filter(({ f }) => !moved.includes(f.id));
    const timing = hit.map(({ f, r }) => {
        const [first, next] = r.conns;
        const ids = sendF.acked.filter((m) => m.tries[m.tries.length - 1].t1 <= next.openedAt).map((m) => m.id);
        const complete = fig.completeAt(r, ids);
        return { id: f.id, noticed: first.noticedAt - cutAt, how: first.noticed, url: next.url,
            reconnected: next.openedAt - cutAt, complete: complete === null ? null : complete - cutAt };
    });

    d.printFigures(`${victim} cut off from every client and front end (not from Redis); ${RATE} msg/s`, sendF, storeF, all);
    console.log(table([['watcher', 'noticed after', 'by', 'reconnected after', 'to', 'had all it missed after'],
        ...timing.map((t) => [t.id, seconds(t.noticed), t.how, seconds(t.reconnected), t.url.replace(/^ws:\/\/|\/chatapp.*$/g, ''), seconds(t.complete)])]));
    const worst = Math.max(...timing.map((t) => (t.complete === null ? Infinity : t.complete)));
    console.log(`  ${victim} dropped its silent peers ${seconds(droppedAt && droppedAt - cutAt)} after the cut; its Redis link up: ${victimM.chat_gw_redis_up}`);
    console.log(`  time to recover: ${seconds(Number.isFinite(worst) ? worst : null)} from the cut until every moved watcher had all it missed`);

    v.check(victimM.chat_gw_redis_up === 1, `${victim} kept Redis through the cut (the fault cut clients only)`);
    v.check(sendF.acked.length === sendF.sent && sendF.sent > 0, `every POST got a 200 (${sendF.acked.length} of ${sendF.sent})`);
    d.checkStore(sendF, storeF);
    d.checkClients(all, 'at the end');
    for (const t of timing) {
        v.check(t.how === 'liveness' && t.noticed <= PING_TIMEOUT_MS,
            `${t.id} noticed within the ping timeout ${seconds(PING_TIMEOUT_MS)} by its own timer (${seconds(t.noticed)})`);
        v.check(!t.url.includes(`//${podName(bed, victim)}.`), `${t.id} resumed on another gateway (${t.url})`);
    }
    v.check(droppedAt !== null && droppedAt - cutAt <= PING_TIMEOUT_MS + 3000,
        `${victim} closed its silent peers within GW_PING_TIMEOUT_S and 3 s (${seconds(droppedAt && droppedAt - cutAt)})`);
    for (const { f } of rest) {
        v.check(f.connections === 1 && f.stallMs < HEALTHY_STALL_MS,
            `${f.id} was unaffected (${f.connections} connection, longest stall ${f.stallMs} ms)`);
    }
}

module.exports = { name: '7-gateway-isolated', title: 'a gateway node isolated from its clients, not from Redis', run };
