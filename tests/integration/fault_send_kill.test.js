'use strict';
/*
 * Drill: one of two send handlers is SIGKILLed while requests are in
 * flight. A 200 is a promise: every acknowledged message must be in the
 * stream with its content; the other handler keeps taking messages.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, sleep } = require('../lib/system');
const { Chatter, Follower, storedMessages, tally, eventually } = require('../lib/drill');
const { SLOW } = require('../lib/drill');

test('a send handler killed mid-request never leaves a 200 unstored', { timeout: 90000 * SLOW }, async (t) => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 2, tag: 'fault-sendkill' });
    let follower;
    try {
        follower = await new Follower([sys.gateways[0].url], { name: 'watcher' }).start();
        const chatter = new Chatter(sys.sendUrl, { workers: 8, tag: 'sendkill' }).start();
        await sleep(1500);
        const inFlight = chatter.attempts.filter((a) => a.endedAt === 0).length;
        await sys.stopSendHandler(0, 'SIGKILL');
        const killedAt = Date.now();
        await sleep(2500);
        await chatter.stop();

        const stored = storedMessages(sys);
        const storedIds = stored.map((m) => m.id);
        const byId = new Map(stored.map((m) => [m.id, m]));
        const byContent = new Set(stored.map((m) => m.content));
        const acked = chatter.acked();
        const ackedMissing = acked.filter((a) => byId.get(a.id)?.content !== a.content);
        const storedUnacked = chatter.attempts.filter((a) => a.status !== 200 && byContent.has(a.content));
        const storedTwice = stored.length - byContent.size;
        await eventually(() => follower.missing(storedIds).length === 0, 15000 * SLOW);
        const lost = follower.missing(storedIds).length;
        tally(t, 'send-handler-sigkill', {
            sent: chatter.attempts.length,
            in_flight_at_kill: inFlight,
            acknowledged: acked.length,
            acknowledged_after_kill: acked.filter((a) => a.startedAt > killedAt).length,
            stored: stored.length,
            acked_missing: ackedMissing.length,
            stored_without_200: storedUnacked.length,
            delivered: storedIds.length - lost,
            lost,
            duplicated: storedTwice + follower.conflicts,
            statuses: chatter.statusCounts(),
        });

        assert.ok(inFlight > 0, 'requests were in flight at the kill');
        assert.deepStrictEqual(ackedMissing.map((a) => a.id), [], 'no 200 without the message stored');
        assert.strictEqual(storedTwice, 0, 'no message stored twice');
        assert.ok(acked.some((a) => a.startedAt > killedAt + 1000), 'the other handler keeps answering 200');
        assert.strictEqual(lost, 0, 'every stored message reaches the watching client');
        assert.strictEqual(follower.conflicts, 0);
    } finally {
        if (follower) await follower.stop();
        await sys.stop();
    }
});
