'use strict';
/*
 * Redis resilience: a gateway that loses Redis keeps its clients, redials
 * with backoff, and after resubscribing delivers every message stored
 * while it was cut off, before newer live ones, in id order, without
 * duplicates. History requests made meanwhile are answered when Redis is
 * back, or with an error status once the history timeout passes.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, waitFor, httpStatus } = require('../lib/system');
const { connect } = require('../lib/client');
const { Publisher, metrics } = require('../lib/gateway_publish');

function strictlyIncreasing(ids) {
    return ids.every((id, i) => i === 0 || id > ids[i - 1]);
}

test('messages stored while the gateway was cut off from Redis arrive without reconnecting', { timeout: 120000 }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-redis-restart',
        /* A long first retry keeps the gateway away while we publish. */
        gatewayEnv: { GW_REDIS_BACKOFF_MIN_MS: '4000', GW_REDIS_BACKOFF_MAX_MS: '5000', GW_HISTORY_TIMEOUT_MS: '30000' },
    });
    const g = sys.gateways[0];
    const clients = [];
    try {
        let pub = await Publisher.open(sys.redis.port);
        const asker = await connect(g.url);
        const watcher = await connect(g.url);
        clients.push(asker, watcher);
        const before = await pub.publish(10);
        await watcher.until(() => watcher.messages.length >= 10, 10000, 'live messages');
        pub.close();

        await sys.stopRedis();
        await waitFor('gateway not ready', async () => (await httpStatus(`${g.httpUrl}/readyz`)) === 503);
        const framesBefore = asker.frames.length;
        asker.send({ after_id: 5 });

        await sys.startRedis();
        pub = await Publisher.open(sys.redis.port);
        const missed = await pub.publish(30);
        const cutOff = (await httpStatus(`${g.httpUrl}/readyz`)) === 503;

        await watcher.until(() => watcher.ids().length >= 40, 30000, 'the missed messages');
        await waitFor('gateway ready again', async () => (await httpStatus(`${g.httpUrl}/readyz`)) === 200, 30000);
        const after = await pub.publish(5);
        const want = [...before, ...missed, ...after].map((m) => m.id);
        await watcher.until(() => watcher.messages.length >= want.length, 10000, 'new live messages');
        assert.deepStrictEqual(watcher.messages.map((m) => m.id), want);
        assert.ok(strictlyIncreasing(watcher.messages.map((m) => m.id)));
        assert.strictEqual(watcher.closed, null);

        /* The request made while Redis was down was answered, not dropped. */
        await asker.until(() => asker.frames.some((f, i) => i >= framesBefore &&
            f.messages.length && f.messages[0].id === 6), 10000, 'the queued history reply');
        const reply = asker.frames.slice(framesBefore).find((f) => f.messages.length && f.messages[0].id === 6);
        assert.deepStrictEqual(reply.messages.map((m) => m.id).slice(0, 5), [6, 7, 8, 9, 10]);

        const m = await metrics(g);
        assert.ok(m.chat_gw_redis_reconnects_total >= 2, 'both connections came back');
        if (cutOff) assert.ok(m.chat_gw_backfilled_messages_total >= 30, 'filled from the stream');
        console.log(`cut off while publishing: ${cutOff}; backfilled ${m.chat_gw_backfilled_messages_total}, ` +
            `reconnects ${m.chat_gw_redis_reconnects_total}`);
        pub.close();
    } finally {
        clients.forEach((c) => c.close());
        await sys.stop();
    }
});

test('a history request while Redis stays down gets an error status after the timeout', { timeout: 60000 }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-redis-down',
        gatewayEnv: { GW_HISTORY_TIMEOUT_MS: '1000', GW_REDIS_BACKOFF_MIN_MS: '100', GW_REDIS_BACKOFF_MAX_MS: '300' },
    });
    const g = sys.gateways[0];
    const c = await connect(g.url);
    try {
        await sys.stopRedis();
        await waitFor('gateway not ready', async () => (await httpStatus(`${g.httpUrl}/readyz`)) === 503);
        const t0 = Date.now();
        c.send({ first_id: 0, last_id: -1 });
        await c.until(() => c.statuses.some((s) => s.type === 'error'), 10000, 'an error status');
        const waited = Date.now() - t0;
        assert.ok(waited >= 900, `answered after ${waited} ms, not at once`);
        assert.match(c.statuses.find((s) => s.type === 'error').error, /unavailable/);
        assert.strictEqual(c.closed, null);

        await sys.startRedis();
        await waitFor('gateway ready again', async () => (await httpStatus(`${g.httpUrl}/readyz`)) === 200, 20000);
        assert.deepStrictEqual(await c.request({ first_id: 0, last_id: -1 }), []);
    } finally {
        c.close();
        await sys.stop();
    }
});

test('a Redis that stops answering (SIGSTOP) is noticed by the PING watchdog; service resumes after SIGCONT', { timeout: 60000 }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-redis-stop',
        gatewayEnv: { GW_REDIS_PING_MS: '300', GW_REDIS_BACKOFF_MIN_MS: '100', GW_REDIS_BACKOFF_MAX_MS: '300' },
    });
    const g = sys.gateways[0];
    const c = await connect(g.url);
    try {
        const pub = await Publisher.open(sys.redis.port);
        const first = await pub.publish(3);
        await c.until(() => first.every((m) => c.has(m.id)), 10000, 'live messages');
        sys.redis.proc.kill('SIGSTOP');
        await waitFor('gateway not ready', async () => (await httpStatus(`${g.httpUrl}/readyz`)) === 503, 10000);
        sys.redis.proc.kill('SIGCONT');
        await waitFor('gateway ready again', async () => (await httpStatus(`${g.httpUrl}/readyz`)) === 200, 20000);
        const second = await pub.publish(3);
        await c.until(() => second.every((m) => c.has(m.id)), 10000, 'live messages after SIGCONT');
        assert.deepStrictEqual(c.messages.map((m) => m.id), [...first, ...second].map((m) => m.id));
        assert.strictEqual(c.closed, null);
        const m = await metrics(g);
        assert.ok(m.chat_gw_redis_reconnects_total >= 1);
        pub.close();
    } finally {
        c.close();
        sys.redis.proc.kill('SIGCONT');
        await sys.stop();
    }
});
