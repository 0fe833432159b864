'use strict';
/*
 * Drill: Redis is stopped (SIGTERM) and started again on the same data
 * (AOF) while clients chat. No message that got a 200 is lost; while Redis
 * is away the send handler answers 503, never 200; the gateways resubscribe
 * by themselves and backfill what was stored before they were back, so
 * connected clients see it without reconnecting.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, sleep, httpStatus } = require('../lib/system');
const {
    Chatter, Follower, storedMessages, publishDirect, tally, eventually,
} = require('../lib/drill');
const { SLOW } = require('../lib/drill');

function readyzAll(sys) {
    return Promise.all([
        ...sys.gateways.map((g) => httpStatus(`${g.httpUrl}/readyz`)),
        ...sys.sendHandlers.map((h) => httpStatus(`http://127.0.0.1:${h.healthPort}/readyz`)),
    ]);
}

test('a Redis restart loses no acknowledged message and clients need not reconnect', { timeout: 90000 * SLOW }, async (t) => {
    const sys = await startSystem({ gateways: 2, sendHandlers: 1, tag: 'fault-redis' });
    const followers = [];
    try {
        for (const g of sys.gateways) {
            for (let i = 0; i < 2; i++) {
                followers.push(new Follower([g.url], { name: `gw${g.port}-${i}`, reconnect: false }));
            }
        }
        followers.push(new Follower([sys.wsUrl], { name: 'via-lighttpd', reconnect: false }));
        await Promise.all(followers.map((f) => f.start()));

        const chatter = new Chatter(sys.sendUrl, { workers: 2, tag: 'redis', gapMs: 5 }).start();
        await sleep(1000);
        await sys.stopRedis('SIGTERM');
        const downAt = Date.now();
        await sleep(2000);
        const readyWhileDown = await readyzAll(sys);
        const upAt = Date.now();
        await sys.startRedis();

        /* Stored at once, most likely before any gateway resubscribed. */
        const backfill = [];
        const readyAtRestart = await readyzAll(sys);
        for (let i = 0; i < 5; i++) {
            backfill.push(publishDirect(sys, { name: 'Backfill', email: 'b@example.com', content: `backfill ${i}` }));
        }
        await eventually(async () => (await readyzAll(sys)).every((s) => s === 200), 20000 * SLOW);
        const readyAfter = await readyzAll(sys);
        await sleep(1500);
        await chatter.stop();

        const stored = storedMessages(sys);
        const storedIds = stored.map((m) => m.id);
        const caughtUp = await eventually(
            () => followers.every((f) => f.missing(storedIds).length === 0), 20000 * SLOW);
        const byId = new Map(stored.map((m) => [m.id, m]));
        const acked = chatter.acked();
        const ackedMissing = acked.filter((a) => byId.get(a.id)?.content !== a.content);
        const whileDown = chatter.attempts.filter((a) => a.startedAt >= downAt && a.endedAt <= upAt);
        const downStatuses = {};
        for (const a of whileDown) downStatuses[a.status] = (downStatuses[a.status] || 0) + 1;
        const contents = stored.map((m) => m.content);
        const storedTwice = contents.length - new Set(contents).size;
        const lost = followers.reduce((n, f) => n + f.missing(storedIds).length, 0);
        const conflicts = followers.reduce((n, f) => n + f.conflicts, 0);
        tally(t, 'redis-restart', {
            sent: chatter.attempts.length + backfill.length,
            acknowledged: acked.length + backfill.length,
            stored: stored.length,
            acked_missing: ackedMissing.length,
            sent_while_down: whileDown.length,
            statuses_while_down: downStatuses,
            readyz_while_down: readyWhileDown,
            readyz_at_restart: readyAtRestart,
            readyz_after: readyAfter,
            delivered: followers.reduce((n, f) => n + storedIds.filter((id) => f.seen.has(id)).length, 0),
            clients: followers.length,
            client_closes: followers.reduce((n, f) => n + f.closes.length, 0),
            lost,
            duplicated: storedTwice + conflicts,
        });

        assert.deepStrictEqual(ackedMissing.map((a) => a.id), [], 'every 200 survives the restart');
        assert.ok(whileDown.length > 0, 'messages were sent while Redis was down');
        assert.deepStrictEqual(Object.keys(downStatuses), ['503'], 'only 503 while Redis is down');
        assert.ok(readyWhileDown.every((s) => s === 503), `/readyz is 503 while Redis is down: ${readyWhileDown}`);
        assert.ok(readyAfter.every((s) => s === 200), `/readyz is 200 again: ${readyAfter}`);
        assert.ok(acked.some((a) => a.startedAt > upAt), 'sending works again after the restart');
        for (const m of backfill) assert.ok(byId.has(m.id), `backfill ${m.id} stored`);
        assert.strictEqual(storedTwice, 0, 'no message stored twice');
        assert.strictEqual(conflicts, 0, 'no id delivered with two bodies');
        assert.deepStrictEqual(followers.map((f) => f.closes.length), followers.map(() => 0),
            'no client was disconnected');
        assert.ok(caughtUp, `connected clients receive every stored message (lost ${lost})`);
    } finally {
        await Promise.all(followers.map((f) => f.stop()));
        await sys.stop();
    }
});
