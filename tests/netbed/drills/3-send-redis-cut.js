'use strict';
/*
 * Drill 3: a send handler cut off from Redis. Phase A drops everything
 * between send1 and Redis (nothing it sends arrives); phase B drops only
 * Redis' answers to send1 (its commands run, their replies are lost: the
 * handler cannot know whether the step ran). Senders behave as the page
 * does: every message carries its idempotency key (PROTOCOL §2 `idem`),
 * and a 503 or an unanswered POST is sent again, same key, after a pause.
 *
 * Promised: every POST is answered within REDIS_TIMEOUT_MS and a small
 * margin; no 200 for something unstored; a 503 that says nothing was
 * stored ("unknown" absent) really stored nothing; every error carries a
 * sentence for the user; the resend settles each message exactly once.
 * This needs the `idem` key and the `"unknown":true` 503 (HELPERS
 * contract 4): without them phase B stores a message, answers a plain
 * 503, and the resend stores it again.
 */
const fig = require('../figures');
const { table, seconds } = require('../report');
const { sleep, SEND_ENV } = require('../bed');
const { DrillRun, LIVENESS_MS } = require('./common');

const REDIS_TIMEOUT_MS = Number(SEND_ENV.REDIS_TIMEOUT_MS);
/*
 * A POST may wait for Redis REDIS_TIMEOUT_MS, plus what any POST costs
 * at that moment: the slowest 200 of the same phase (answered by the
 * healthy handler through the same front ends, on the same loaded
 * machine), and at least this margin for lighttpd's hop. A second wait
 * on Redis (a dial after a timeout) shows above it.
 */
const MARGIN_MS = 400;
const RATE = 40;

function phaseOf(marks, t) {
    let p = 'before';
    for (const [name, at] of marks) if (t >= at) p = name;
    return p;
}

async function run(bed, v) {
    const d = new DrillRun(bed, v, 'd3');
    const victim = bed.nodesWith('send')[0];
    const specs = bed.nodesWith('gateway').map((g, i) => {
        const c = bed.nodesWith('client')[i % 3];
        return { id: `${g}@${c}`, node: c, via: g, urls: [d.gatewayUrl(g)], livenessMs: LIVENESS_MS };
    });
    await d.watch(specs);
    await d.send('s', d.senderNode(), { urls: d.sendUrls(), rate: RATE, concurrency: 80, timeoutMs: 5000, retryMs: 20000 });
    const marks = [];
    await sleep(2000);
    marks.push([`A: ${victim}<->redis cut`, Date.now()]);
    bed.partition(victim, 'redis');
    await sleep(5000);
    bed.heal(victim, 'redis');
    marks.push(['healed', Date.now()]);
    await sleep(1500);
    marks.push([`B: redis->${victim} replies lost`, Date.now()]);
    bed.dropOneWay('redis', victim);
    await sleep(4000);
    bed.heal('redis', victim);
    const healAt = Date.now();
    marks.push(['healed again', healAt]);
    await sleep(3000);
    const sendF = await d.stopSenders();
    await d.delivered(specs.map((s) => s.id), sendF.acked.map((m) => m.id), 10000);
    const storeF = fig.storeFigures(sendF, bed.stored(), d.tag);
    const clients = await d.clientFigures(sendF);
    const dishonest = fig.dishonest503(sendF, storeF);
    const tries = sendF.messages.flatMap((m) => m.tries);
    const took = (t) => t.t1 - t.t0;
    const slowest200 = {};
    for (const t of tries) {
        const p = phaseOf(marks, t.t0);
        if (t.status === 200) slowest200[p] = Math.max(slowest200[p] || 0, took(t));
    }
    const limitOf = (p) => REDIS_TIMEOUT_MS + Math.max(MARGIN_MS, slowest200[p] || 0);
    const slow = tries.filter((t) => t.status !== 200 && took(t) > limitOf(phaseOf(marks, t.t0)));
    const noSentence = tries.filter((t) => t.status !== 200 && t.status > 0 && !t.error);
    const lostReplies = tries.filter((t) => t.status === 503 && t.t1 - t.t0 >= REDIS_TIMEOUT_MS * 0.9 &&
        phaseOf(marks, t.t0).startsWith('B'));
    const unacked = sendF.messages.filter((m) => m.id === null);
    /* HELPERS contract 4: idem:<key> holds the published message for 600 s. */
    const keys = sendF.acked.map((m) => `idem:${m.idem}`);
    const held = keys.length ? bed.redisCli('MGET', ...keys).split('\n').slice(0, keys.length) : [];
    const keyWrong = sendF.acked.filter((m, i) => {
        try {
            return JSON.parse(held[i]).id !== m.id;
        } catch {
            return true;
        }
    });
    const ttl = keys.length ? Number(bed.redisCli('TTL', keys[0]).trim()) : 0;

    d.printFigures(`${victim} cut off from Redis (A: both ways 5 s; B: replies lost 4 s); page-like senders at ${RATE} msg/s through both front ends`,
        sendF, storeF, clients);
    const phases = ['before', ...marks.map(([n]) => n)];
    console.log(table([['phase', 'POSTs', '200', '503', '503 unknown', 'no answer', 'other', 'slowest 200', 'slowest other', 'limit'],
        ...phases.map((p) => {
            const ts = tries.filter((t) => phaseOf(marks, t.t0) === p);
            const n = (pred) => ts.filter(pred).length;
            return [p, ts.length, n((t) => t.status === 200), n((t) => t.status === 503 && !t.unknown),
                n((t) => t.status === 503 && t.unknown), n((t) => t.status === -1),
                n((t) => ![200, 503, -1].includes(t.status)), seconds(slowest200[p] || 0),
                seconds(Math.max(0, ...ts.filter((t) => t.status !== 200).map(took))), seconds(limitOf(p))];
        })]));
    const recover = sendF.acked.filter((m) => m.tries.length > 1).map((m) => m.tries[m.tries.length - 1].t1);
    const settledAt = recover.length ? Math.max(...recover) : healAt;
    console.log(`  resent and then acknowledged: ${recover.length}; gave up: ${unacked.length}; ` +
        `503s that stored anyway (dishonest): ${dishonest.length}; stored twice: ${storeF.storedTwice.length}; ` +
        `stored, never acknowledged: ${storeF.storedNotAcked.length}; error answers over their phase's limit: ${slow.length}`);
    console.log(`  time to recover: ${seconds(Math.max(0, settledAt - healAt))} from the last heal until the last resend was acknowledged`);

    v.check(slow.length === 0, `every POST was answered within REDIS_TIMEOUT_MS plus the phase's slowest 200 (at least ${MARGIN_MS} ms): ${slow.length} were not`,
        slow.slice(0, 5).map((t) => `${t.status} after ${took(t)} ms in "${phaseOf(marks, t.t0)}"`).join(', '));
    v.check(tries.some((t) => t.status === 503 && phaseOf(marks, t.t0).startsWith('A')), 'the cut took effect: phase A got 503s');
    v.check(lostReplies.length > 0, `phase B lost replies to commands that had run (${lostReplies.length} POSTs waited the whole REDIS_TIMEOUT_MS)`);
    d.checkStore(sendF, storeF);
    v.check(dishonest.length === 0, `no 503 without "unknown":true for a POST that was stored (${dishonest.length})`,
        dishonest.slice(0, 5).map((x) => `${x.content} stored as ${x.id}`).join(', '));
    v.check(noSentence.length === 0, `every error answer carries a sentence for the user (${noSentence.length} do not)`);
    v.check(unacked.length === 0, `resending with the same key got every message through (${unacked.length} gave up)`);
    v.check(storeF.storedNotAcked.length === 0, `nothing stored that its sender was never told about (${storeF.storedNotAcked.length})`);
    v.check(keyWrong.length === 0 && ttl > 0 && ttl <= 600,
        `every acknowledged message is held under idem:<key> with its id, for at most 600 s (${keyWrong.length} of ${keys.length} are not; TTL ${ttl})`);
    d.checkClients(clients, 'at the end');
}

module.exports = { name: '3-send-redis-cut', title: 'a send handler cut off from Redis (needs the idem key and the "unknown" 503)', run };
