'use strict';
/*
 * Drill 6: a front-end node dies (its link goes silent and lighttpd is
 * SIGKILLed: no FIN, no RST reaches anyone, as when a machine loses
 * power). Watchers connected through it notice with their own liveness
 * timer, reconnect through the other front end and resume with
 * after_id: nothing stored is missed. Watchers on the other front end
 * see nothing of it. The senders use the surviving front end (they are
 * not under test here: the WebSocket path is).
 */
const fig = require('../figures');
const { table, seconds } = require('../report');
const { sleep, waitUntil } = require('../bed');
const { DrillRun, HEALTHY_STALL_MS, LIVENESS_MS, podName } = require('./common');

const RATE = 100;

async function run(bed, v) {
    const d = new DrillRun(bed, v, 'd6');
    const [dead, alive] = bed.nodesWith('frontend');
    const specs = [];
    for (const c of bed.nodesWith('client')) {
        specs.push({ id: `${dead}@${c}`, node: c, via: dead, urls: [d.frontendWsUrl(dead), d.frontendWsUrl(alive)], livenessMs: LIVENESS_MS });
        specs.push({ id: `${alive}@${c}`, node: c, via: alive, urls: [d.frontendWsUrl(alive), d.frontendWsUrl(dead)], livenessMs: LIVENESS_MS });
    }
    await d.watch(specs);
    await d.send('s', d.senderNode(), { urls: [d.sendUrl(alive)], rate: RATE, concurrency: 64 });
    await sleep(2000);
    const killAt = Date.now();
    bed.isolate(dead);
    bed.signal(dead, 'SIGKILL');
    const moved = specs.filter((s) => s.via === dead).map((s) => s.id);
    await waitUntil('watchers of the dead front end to reconnect', async () => {
        const reps = await d.reports(moved);
        return reps.every((r) => r.conns.length >= 2 && r.conns[r.conns.length - 1].firstReplyAt);
    }, 20000);
    await sleep(2000);
    const sendF = await d.stopSenders();
    await d.delivered(specs.map((s) => s.id), sendF.acked.map((m) => m.id), 10000);
    const storeF = fig.storeFigures(sendF, bed.stored(), d.tag);
    const all = await d.clientFigures(sendF, [killAt, Date.now()]);
    const hit = all.filter(({ f }) => moved.includes(f.id));
    const rest = all.filter(({ f }) => !moved.includes(f.id));
    const timing = hit.map(({ f, r }) => {
        const [first, next] = r.conns;
        const resumedIds = sendF.acked.filter((m) => m.tries[m.tries.length - 1].t1 <= next.openedAt).map((m) => m.id);
        const complete = fig.completeAt(r, resumedIds);
        return { id: f.id, noticed: first.noticedAt - killAt, how: first.noticed, url: next.url,
            reconnected: next.openedAt - killAt, complete: complete === null ? null : complete - killAt };
    });

    d.printFigures(`${dead} dies (link silent, lighttpd SIGKILLed); watchers through both front ends; ${RATE} msg/s through ${alive}`,
        sendF, storeF, all);
    console.log(table([['watcher', 'noticed after', 'by', 'reconnected after', 'to', 'had all it missed after'],
        ...timing.map((t) => [t.id, seconds(t.noticed), t.how, seconds(t.reconnected), t.url.replace(/^ws:\/\/|\/chatapp.*$/g, ''), seconds(t.complete)])]));
    const worst = Math.max(...timing.map((t) => (t.complete === null ? Infinity : t.complete)));
    console.log(`  time to recover: ${seconds(Number.isFinite(worst) ? worst : null)} from the death until every moved watcher had all it missed`);

    v.check(sendF.acked.length === sendF.sent && sendF.sent > 0, `every POST got a 200 (${sendF.acked.length} of ${sendF.sent})`);
    d.checkStore(sendF, storeF);
    d.checkClients(all, 'at the end');
    for (const t of timing) {
        v.check(t.how === 'liveness' && t.noticed <= LIVENESS_MS + 1000,
            `${t.id} noticed the dead front end by its own timer within ${seconds(LIVENESS_MS + 1000)} (${seconds(t.noticed)})`);
        v.check(t.url.includes(`//${podName(bed, alive)}.`), `${t.id} resumed through ${alive}`);
    }
    for (const { f } of rest) {
        v.check(f.connections === 1 && f.stallMs < HEALTHY_STALL_MS,
            `${f.id} was unaffected (${f.connections} connection, longest stall ${f.stallMs} ms)`);
    }
}

module.exports = { name: '6-frontend-killed', title: 'a front-end node killed', run };
