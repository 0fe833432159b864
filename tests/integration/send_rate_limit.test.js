'use strict';
/*
 * The optional per-address rate limit: a token bucket in Redis, so two
 * send handlers behind one lighttpd share it. Over the limit: 429 with
 * Retry-After and the JSON error; nothing stored; the token comes back.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, sleep } = require('../lib/system');
const { postForm, message } = require('../lib/client');
const { SLOW, okMessage, assertError } = require('../lib/expect');

test('the bucket holds across handlers; 429 with Retry-After; refill', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 2, tag: 'send-rate',
        sendEnv: { SEND_RATE_PER_MIN: '60', SEND_RATE_BURST: '3' },
    });
    try {
        const answers = [];
        for (let i = 0; i < 5; i++) answers.push(await postForm(sys.sendUrl, message({ content: `burst ${i}` })));
        /* Round-robin sent these to both handlers; one bucket decides. */
        for (const r of answers.slice(0, 3)) okMessage(r, 'within the burst');
        for (const r of answers.slice(3)) {
            const e = assertError(r, 429, null, 'over the burst');
            assert.match(e.error, /too many/i);
            const wait = Number(r.headers.get('retry-after'));
            assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 2, `Retry-After ${wait}`);
        }
        assert.strictEqual(Number(sys.redisCli('XLEN', 'messages:history').trim()), 3, 'refused sends are not stored');
        assert.strictEqual(sys.redisCli('GET', 'messages:id').trim(), '3', 'and spend no id');
        const ttl = Number(sys.redisCli('PTTL', 'ratelimit:127.0.0.1').trim());
        assert.ok(ttl > 0 && ttl <= 4000, `an idle bucket expires (${ttl} ms)`);

        /* 60 a minute is one a second. */
        await sleep(1100);
        okMessage(await postForm(sys.sendUrl, message({ content: 'after a second' })), 'after the refill');
        assertError(await postForm(sys.sendUrl, message({ content: 'too soon again' })), 429, null, 'bucket empty again');
    } finally {
        await sys.stop();
    }
});

test('off by default: a burst of 50 from one address is all 200', async () => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 1, tag: 'send-norate' });
    try {
        const rs = await Promise.all(Array.from({ length: 50 }, (_, i) =>
            postForm(sys.sendUrl, message({ content: `unlimited ${i}` }))));
        assert.deepStrictEqual([...new Set(rs.map((r) => r.status))], [200]);
        assert.strictEqual(sys.redisCli('EXISTS', 'ratelimit:127.0.0.1').trim(), '0', 'no bucket is kept');
    } finally {
        await sys.stop();
    }
});
