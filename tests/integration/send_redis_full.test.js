'use strict';
/*
 * Issue 15 row 9: when Redis refuses writes, the send handler answers a
 * plain 503 (nothing stored) and /readyz turns 503 too, until writes work
 * again. A real redis-server with maxmemory set just above what it holds
 * and then filled (noeviction, as shipped); then freed. A replica
 * (READONLY) is the other kind of refusal.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, waitFor, httpStatus, freePort } = require('../lib/system');
const { postForm, message } = require('../lib/client');
const { sendMetric: metric } = require('../lib/metrics');
const { SLOW, okMessage, assertError, send } = require('../lib/expect');

function readyz(h) {
    return httpStatus(`http://127.0.0.1:${h.healthPort}/readyz`);
}

function usedMemory(sys) {
    return Number(/used_memory:(\d+)/.exec(sys.redisCli('INFO', 'memory'))[1]);
}

test('Redis full (maxmemory, noeviction): plain 503s, /readyz 503; freed: ready and sending again', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, tag: 'send-full' });
    try {
        const h = sys.sendHandlers[0];
        assert.match(sys.redisCli('CONFIG', 'GET', 'maxmemory-policy'), /noeviction/, 'as shipped');
        assert.ok(Number(sys.redisCli('CONFIG', 'GET', 'maxmemory').split('\n')[1]) > 0, 'a bound is set');
        const kept = message({ content: 'sent before Redis filled up', idem: `full-${process.pid}` });
        const first = await send(sys.sendUrl, kept);
        assert.strictEqual(await readyz(h), 200);

        /* A bound 1 MB above what Redis holds, then filled until Redis
         * refuses a 64 KB write. Near the bound a small write may still
         * fit (a refused command's own bytes count until it is refused),
         * so the bound is then set just below what Redis holds: full, for
         * writes of any size, as after data grew past it. */
        sys.redisCli('CONFIG', 'SET', 'maxmemory', String(usedMemory(sys) + (1 << 20)));
        const filler = 'f'.repeat(64 * 1024);
        let n = 0;
        for (; n < 200; n++) {
            if (/OOM/.test(sys.redisCli('SET', `filler:${n}`, filler))) break;
        }
        assert.ok(n < 200, 'Redis refused a write once full');
        sys.redisCli('CONFIG', 'SET', 'maxmemory', String(usedMemory(sys) - (256 << 10)));

        assert.strictEqual(await readyz(h), 503, '/readyz tells');
        assert.strictEqual(await metric(h, 'chat_send_redis_writable'), 0);
        assert.strictEqual(await metric(h, 'chat_send_redis_up'), 1, 'Redis itself answers');
        const storedBefore = sys.redisCli('XLEN', 'messages:history').trim();
        for (let i = 0; i < 3; i++) {
            const e = assertError(await postForm(sys.sendUrl, message({ content: `while full ${i}` })), 503, null, 'full');
            assert.strictEqual(e.unknown, undefined, 'a refused write is certain');
            assert.match(e.error, /nothing was stored/);
        }
        assert.strictEqual(sys.redisCli('XLEN', 'messages:history').trim(), storedBefore, 'nothing stored');
        assert.strictEqual(sys.redisCli('GET', 'messages:id').trim(), String(first.id), 'no id spent');
        /* A resend of what was stored before needs no write: answered. */
        assert.deepStrictEqual(okMessage(await postForm(sys.sendUrl, kept)), first);
        assert.match(require('node:fs').readFileSync(h.proc.logPath, 'utf8'), /event=redis_refuses_writes error="OOM/);

        for (let i = 0; i < n + 1; i++) sys.redisCli('DEL', `filler:${i}`);
        await waitFor('/readyz 200 once freed', async () => (await readyz(h)) === 200, 5000 * SLOW);
        assert.strictEqual(await metric(h, 'chat_send_redis_writable'), 1);
        const after = await send(sys.sendUrl, message({ content: 'after Redis was freed' }));
        assert.strictEqual(after.id, first.id + 1);
    } finally {
        await sys.stop();
    }
});

test('Redis a replica (READONLY): /readyz 503 and plain 503s until it is a primary again', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, tag: 'send-readonly' });
    try {
        const h = sys.sendHandlers[0];
        sys.redisCli('REPLICAOF', '127.0.0.1', String(await freePort()));
        assert.strictEqual(await readyz(h), 503);
        const e = assertError(await postForm(sys.sendUrl, message({ content: 'to a replica' })), 503, null, 'READONLY');
        assert.strictEqual(e.unknown, undefined);
        sys.redisCli('REPLICAOF', 'NO', 'ONE');
        await waitFor('/readyz 200 as a primary', async () => (await readyz(h)) === 200, 5000 * SLOW);
        okMessage(await postForm(sys.sendUrl, message({ content: 'to the primary' })));
        assert.strictEqual(sys.redisCli('XRANGE', 'messages:history', '-', '+').includes('to a replica'), false);
    } finally {
        await sys.stop();
    }
});
