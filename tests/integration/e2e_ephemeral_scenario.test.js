'use strict';
/*
 * The ephemeral scenario of the original project, through lighttpd with
 * two gateways: Alice sends a stored message, Bob joins and sees it in his
 * history, Bob's ephemeral message reaches Alice and Bob, Eve joins later
 * and her history holds Alice's message only; Redis stores exactly one
 * message. Then two ephemeral messages in a row reach everyone.
 *
 * Alice and Eve come through lighttpd, Bob straight to gateway 1 and an
 * observer straight to gateway 0, so every message must cross gateways.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem } = require('../lib/system');
const { connect } = require('../lib/client');
const { Resp, streamEntries } = require('../lib/resp');
const { SLOW, send, idsOf } = require('../lib/expect');

const NEWEST = { first_id: 0, last_id: -1 }; /* what the classic client asks */
const WAIT = 10000 * SLOW;

function person(name, extra) {
    return { name, email: `${name.toLowerCase()}@example.com`, topic: 'ephemeral test', ...extra };
}

async function receives(client, m, who) {
    await client.until(() => client.has(m.id), WAIT, `${who} to receive message ${m.id}`);
    const got = client.messages.filter((x) => x.id === m.id);
    assert.strictEqual(got.length, 1, `${who} got message ${m.id} once`);
    assert.deepStrictEqual(got[0], m, `${who} got message ${m.id} as it was answered`);
}

test('ephemeral messages reach who is connected and are never stored', { timeout: 120000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 2, tag: 'e2e-ephemeral' });
    const clients = [];
    let redis;
    try {
        const observer = await connect(sys.gateways[0].url);
        clients.push(observer);

        const alice = await connect(sys.wsUrl);
        clients.push(alice);
        assert.deepStrictEqual(await alice.request(NEWEST), [], 'an empty chat has no history');

        const m1 = await send(sys.sendUrl, person('Alice', { content: 'Hi, this one is kept' }));
        assert.strictEqual(m1.ephemeral, false);
        await receives(alice, m1, 'Alice');

        const bob = await connect(sys.gateways[1].url);
        clients.push(bob);
        assert.deepStrictEqual(await bob.request(NEWEST), [m1], "Bob's history shows Alice's message");

        const m2 = await send(sys.sendUrl,
            person('Bob', { content: 'psst, gone after this', ephemeral: 'on' }));
        assert.strictEqual(m2.ephemeral, true, 'ephemeral=on makes an ephemeral message');
        assert.ok(m2.id > m1.id, 'ephemeral messages get ids in the same sequence');
        await receives(alice, m2, 'Alice');
        await receives(bob, m2, 'Bob');

        const eve = await connect(sys.wsUrl);
        clients.push(eve);
        assert.deepStrictEqual(await eve.request(NEWEST), [m1], "Eve's history holds Alice's message only");

        redis = await Resp.connect(sys.redis.port);
        assert.strictEqual(await redis.command('XLEN', 'messages:history'), 1, 'Redis stores one message');
        const stored = streamEntries(await redis.command('XRANGE', 'messages:history', '-', '+'));
        assert.strictEqual(stored[0].entry, `${m1.id}-0`, 'entry id is <id>-0');
        assert.deepStrictEqual(Object.keys(stored[0].fields), ['m'], 'one field m');
        assert.deepStrictEqual(JSON.parse(stored[0].fields.m.toString('utf8')), m1,
            'the stored text is the message as answered');

        /* Two ephemeral messages back to back. */
        const m3 = await send(sys.sendUrl, person('Eve', { content: 'first of two', ephemeral: 'on' }));
        const m4 = await send(sys.sendUrl, person('Alice', { content: 'second of two', ephemeral: 'true' }));
        assert.ok(m3.ephemeral && m4.ephemeral && m4.id > m3.id);
        for (const [c, who] of [[alice, 'Alice'], [bob, 'Bob'], [eve, 'Eve'], [observer, 'observer']]) {
            await receives(c, m3, who);
            await receives(c, m4, who);
        }

        /* Exactly what each saw, in id order; Eve never saw Bob's message. */
        assert.deepStrictEqual(idsOf(alice.messages), [m1.id, m2.id, m3.id, m4.id]);
        assert.deepStrictEqual(idsOf(bob.messages), [m1.id, m2.id, m3.id, m4.id]);
        assert.deepStrictEqual(idsOf(eve.messages), [m1.id, m3.id, m4.id]);
        assert.deepStrictEqual(idsOf(observer.messages), [m1.id, m2.id, m3.id, m4.id]);
        assert.strictEqual(await redis.command('XLEN', 'messages:history'), 1,
            'ephemeral messages are still not stored');
        for (const c of clients) assert.deepStrictEqual(c.statuses.filter((s) => s.type === 'error'), []);
    } finally {
        if (redis) redis.close();
        for (const c of clients) c.close();
        await sys.stop();
    }
});
