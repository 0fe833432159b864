'use strict';
/*
 * Drill: a gateway is SIGKILLed while clients chat. Its clients reconnect
 * (to the other gateway, or through lighttpd) and resume with after_id;
 * in the end every client holds every stored message, exactly once.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, sleep } = require('../lib/system');
const { Chatter, Follower, storedMessages, tally, eventually } = require('../lib/drill');
const { SLOW } = require('../lib/drill');

test('clients of a killed gateway resume on another and miss nothing', { timeout: 90000 * SLOW }, async (t) => {
    const sys = await startSystem({ gateways: 2, sendHandlers: 1, tag: 'fault-gwkill' });
    const followers = [];
    try {
        const [g0, g1] = sys.gateways;
        for (let i = 0; i < 3; i++) {
            followers.push(new Follower([g0.url, g1.url], { name: `on-gw0-${i}` }));
            followers.push(new Follower([g1.url, g0.url], { name: `on-gw1-${i}` }));
        }
        followers.push(new Follower([sys.wsUrl], { name: 'via-lighttpd' }));
        await Promise.all(followers.map((f) => f.start()));

        const chatter = new Chatter(sys.sendUrl, { workers: 2, tag: 'gwkill' }).start();
        await sleep(1500);
        await sys.stopGateway(0, 'SIGKILL');
        const killedAt = chatter.attempts.length;
        await sleep(2500);
        await chatter.stop();

        const stored = storedMessages(sys);
        const storedIds = stored.map((m) => m.id);
        const caughtUp = await eventually(
            () => followers.every((f) => f.missing(storedIds).length === 0), 20000 * SLOW);

        const byId = new Map(stored.map((m) => [m.id, m]));
        const acked = chatter.acked();
        const ackedMissing = acked.filter((a) => byId.get(a.id)?.content !== a.content);
        const contents = stored.map((m) => m.content);
        const storedTwice = contents.length - new Set(contents).size;
        const lost = followers.reduce((n, f) => n + f.missing(storedIds).length, 0);
        const conflicts = followers.reduce((n, f) => n + f.conflicts, 0);
        tally(t, 'gateway-sigkill', {
            sent: chatter.attempts.length,
            sent_after_kill: chatter.attempts.length - killedAt,
            acknowledged: acked.length,
            stored: stored.length,
            clients: followers.length,
            delivered: followers.reduce((n, f) => n + storedIds.filter((id) => f.seen.has(id)).length, 0),
            received_copies: followers.reduce((n, f) => n + f.received, 0),
            reconnects: followers.reduce((n, f) => n + f.connections - 1, 0),
            lost,
            duplicated: storedTwice + conflicts,
            statuses: chatter.statusCounts(),
        });

        assert.ok(acked.length > 0, 'some messages were acknowledged');
        assert.deepStrictEqual(ackedMissing.map((a) => a.id), [], 'every 200 is stored with its content');
        assert.strictEqual(storedTwice, 0, 'no message stored twice');
        assert.strictEqual(conflicts, 0, 'no id delivered with two different bodies');
        for (const f of followers.filter((x) => x.name.startsWith('on-gw0'))) {
            assert.ok(f.connections >= 2, `${f.name} reconnected after the kill`);
        }
        assert.ok(caughtUp, `every client ends with every stored message (lost ${lost})`);
        const res = await fetch(`${g1.httpUrl}/readyz`);
        assert.strictEqual(res.status, 200, 'the surviving gateway stays ready');
    } finally {
        await Promise.all(followers.map((f) => f.stop()));
        await sys.stop();
    }
});
