'use strict';
/*
 * Drill: Redis is not there when the servers start. Both start anyway,
 * stay alive (/healthz 200) but not ready (/readyz 503), answer a send
 * with 503, and become ready by themselves once Redis appears.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, httpStatus } = require('../lib/system');
const { postForm, message, connect } = require('../lib/client');
const { tally, eventually } = require('../lib/drill');
const { SLOW } = require('../lib/drill');

test('servers start without Redis and become ready when it appears', { timeout: 60000 * SLOW }, async (t) => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 1, redis: false, waitReady: false, tag: 'fault-noredis' });
    let client;
    try {
        const g = sys.gateways[0];
        const h = sys.sendHandlers[0];
        const urls = {
            gw_healthz: `${g.httpUrl}/healthz`, gw_readyz: `${g.httpUrl}/readyz`,
            send_healthz: `http://127.0.0.1:${h.healthPort}/healthz`,
            send_readyz: `http://127.0.0.1:${h.healthPort}/readyz`,
        };
        const before = {};
        for (const [k, u] of Object.entries(urls)) before[k] = await httpStatus(u);
        const sendBefore = await postForm(sys.sendUrl, message({ content: 'before redis' }));

        await sys.startRedis();
        const readyGw = await eventually(async () => (await httpStatus(urls.gw_readyz)) === 200, 20000 * SLOW);
        const readySend = await eventually(async () => (await httpStatus(urls.send_readyz)) === 200, 20000 * SLOW);
        const after = {};
        for (const [k, u] of Object.entries(urls)) after[k] = await httpStatus(u);

        client = await connect(g.url);
        const r = await postForm(sys.sendUrl, message({ content: 'after redis' }));
        const id = r.status === 200 ? JSON.parse(r.body).id : null;
        if (id !== null) await client.until(() => client.has(id), 10000, 'live message').catch(() => {});
        const stored = id === null ? 0 : Number(sys.redisCli('XLEN', 'messages:history').trim());
        tally(t, 'redis-absent-at-start', {
            sent: 2, acknowledged: r.status === 200 ? 1 : 0, stored,
            delivered: id !== null && client.has(id) ? 1 : 0,
            lost: id !== null && client.has(id) ? 0 : 1, duplicated: 0,
            before, send_before: sendBefore.status, after, send_after: r.status,
        });

        assert.strictEqual(before.gw_healthz, 200, 'gateway alive without Redis');
        assert.strictEqual(before.gw_readyz, 503, 'gateway not ready without Redis');
        assert.strictEqual(before.send_healthz, 200, 'send handler alive without Redis');
        assert.strictEqual(before.send_readyz, 503, 'send handler not ready without Redis');
        assert.strictEqual(sendBefore.status, 503, 'a send without Redis gets 503');
        assert.ok(!/"id"/.test(sendBefore.body), 'the 503 carries no message');
        assert.ok(readyGw, 'gateway becomes ready when Redis appears');
        assert.ok(readySend, 'send handler becomes ready when Redis appears');
        assert.strictEqual(r.status, 200, 'sending works once Redis is there');
        assert.strictEqual(stored, 1, 'the message is stored');
        assert.ok(client.has(id), 'and delivered live');
    } finally {
        if (client) client.close();
        await sys.stop();
    }
});
