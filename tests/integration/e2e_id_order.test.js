'use strict';
/*
 * One id sequence for the whole system (PROTOCOL.md §1): stored and
 * ephemeral messages, sent through either of two send handlers, get
 * strictly increasing ids in the order they were answered; the stream holds
 * only the stored ones, so its ids have gaps exactly where ephemeral
 * messages went; clients receive the one timeline in id order.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem } = require('../lib/system');
const { connect, postForm, postUrlencoded, message } = require('../lib/client');
const { Resp, streamEntries } = require('../lib/resp');
const { SLOW, okMessage, idsOf, assertAscending } = require('../lib/expect');

test('ids increase strictly across stored and ephemeral messages; stored ids have gaps', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 2, sendHandlers: 2, tag: 'e2e-ids' });
    const clients = [];
    let redis;
    try {
        clients.push(await connect(sys.wsUrl), await connect(sys.gateways[0].url), await connect(sys.gateways[1].url));
        /* stored, ephemeral, ephemeral, stored, ...; both encodings. */
        const pattern = [false, true, true, false, false, true, false, true, false, false, true, true];
        const answered = [];
        for (const [i, eph] of pattern.entries()) {
            const fields = message({ content: `order #${i}`, ...(eph ? { ephemeral: 'on' } : {}) });
            const post = i % 2 ? postUrlencoded : postForm;
            const m = okMessage(await post(sys.sendUrl, fields), `post #${i}`);
            assert.strictEqual(m.ephemeral, eph, `post #${i} ephemeral`);
            answered.push(m);
        }
        assertAscending(idsOf(answered), 'ids in answer order');
        assert.strictEqual(answered[0].id, 1, 'the first id is 1');

        redis = await Resp.connect(sys.redis.port);
        const stored = streamEntries(await redis.command('XRANGE', 'messages:history', '-', '+'))
            .map((e) => JSON.parse(e.fields.m.toString('utf8')));
        assert.deepStrictEqual(stored, answered.filter((m) => !m.ephemeral), 'only stored ones, in id order');
        const gaps = stored.slice(1).filter((m, i) => m.id !== stored[i].id + 1).length;
        assert.ok(gaps > 0, 'stored ids have gaps where ephemeral messages went');
        assert.strictEqual((await redis.command('GET', 'messages:id')).toString(),
            String(answered[answered.length - 1].id), 'messages:id is the last id handed out');

        for (const [i, c] of clients.entries()) {
            await c.until(() => c.ids().length >= answered.length, 10000 * SLOW, `client ${i} timeline`);
            assert.deepStrictEqual(c.messages, answered, `client ${i}: the whole timeline in id order`);
        }
    } finally {
        if (redis) redis.close();
        for (const c of clients) c.close();
        await sys.stop();
    }
});
