'use strict';
/*
 * The send handler when Redis is stopped or hangs: every POST is answered
 * 503 (with the JSON error) within a bounded time, nothing is stored or
 * published, and once Redis is back the same process serves again, with
 * no restart. A 200 is never given for a message that was not stored.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, sleep } = require('../lib/system');
const { connect, postForm, message } = require('../lib/client');
const { SLOW, okMessage, assertError } = require('../lib/expect');

const TIMEOUT_MS = 300; /* REDIS_TIMEOUT_MS for these handlers */
/* What "quickly" means: the command timeout plus a connect attempt and
 * scheduling slack on a loaded two-core machine. */
const ANSWER_BOUND_MS = (TIMEOUT_MS + 500 + 1000) * SLOW;

async function timedPost(sys, content) {
    const started = Date.now();
    const r = await postForm(sys.sendUrl, message({ content }));
    return { ...r, ms: Date.now() - started };
}

async function metric(h, name) {
    const text = await (await fetch(`http://127.0.0.1:${h.healthPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
}

function xlen(sys) {
    return Number(sys.redisCli('XLEN', 'messages:history').trim());
}

test('Redis stopped: quick 503s, nothing kept; Redis back: the same process serves', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, tag: 'send-outage',
        sendEnv: { REDIS_TIMEOUT_MS: String(TIMEOUT_MS), SEND_THREADS: '2' },
    });
    let watcher;
    try {
        watcher = await connect(sys.wsUrl);
        const first = okMessage(await timedPost(sys, 'before the outage'));
        await watcher.until(() => watcher.has(first.id), 10000 * SLOW, 'first message');
        const pid = sys.sendHandlers[0].proc.pid;
        const storedBefore = xlen(sys);

        await sys.stopRedis('SIGTERM');
        const down = [];
        for (let i = 0; i < 20; i++) down.push(await timedPost(sys, `during the outage ${i}`));
        for (const r of down) {
            assertError(r, 503, null, 'while Redis is down');
            assert.ok(r.ms <= ANSWER_BOUND_MS, `503 took ${r.ms} ms`);
            assert.match(r.headers.get('retry-after') || '', /^\d+$/, 'Retry-After on 503');
        }
        assert.ok(await metric(sys.sendHandlers[0], 'chat_send_requests_total{status="503"}') >= 20);

        await sys.startRedis();
        await sys.waitReady();
        const back = okMessage(await timedPost(sys, 'after the outage'));
        assert.strictEqual(sys.sendHandlers[0].proc.pid, pid, 'no restart');
        assert.strictEqual(sys.sendHandlers[0].proc.exitCode, null);
        assert.strictEqual(back.id, first.id + 1, 'no id was spent on a refused message');
        assert.strictEqual(xlen(sys), storedBefore + 1, 'only the message after the outage was added');
        /* The watcher's gateway backfills after resubscribing: the channel
         * and the stream hold the same messages, none from the outage. */
        await watcher.until(() => watcher.has(back.id), 15000 * SLOW, 'the message after the outage');
        assert.deepStrictEqual(watcher.ids(), [first.id, back.id]);
        assert.ok(await metric(sys.sendHandlers[0], 'chat_send_redis_reconnects_total') >= 1);
    } finally {
        if (watcher) watcher.close();
        await sys.stop();
    }
});

test('Redis hung (SIGSTOP): 503 within the command timeout, never 200; SIGCONT: serving again', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, tag: 'send-hung',
        sendEnv: { REDIS_TIMEOUT_MS: String(TIMEOUT_MS), SEND_THREADS: '2' },
    });
    const redisPid = sys.redis.proc.pid;
    let stopped = false;
    try {
        okMessage(await timedPost(sys, 'before the hang'));
        process.kill(redisPid, 'SIGSTOP');
        stopped = true;
        /* Several at once: each worker waits at most the timeout, the rest
         * are refused at once while the backoff holds. */
        const hung = await Promise.all(Array.from({ length: 6 }, (_, i) => timedPost(sys, `hung ${i}`)));
        const hungAfter = [];
        for (let i = 0; i < 4; i++) hungAfter.push(await timedPost(sys, `still hung ${i}`));
        for (const r of [...hung, ...hungAfter]) {
            assertError(r, 503, null, 'while Redis hangs');
            assert.ok(r.ms <= ANSWER_BOUND_MS, `503 took ${r.ms} ms`);
        }
        process.kill(redisPid, 'SIGCONT');
        stopped = false;
        await sys.waitReady();
        const back = okMessage(await timedPost(sys, 'after the hang'));
        /* Commands that timed out sat in Redis' input while it was
         * stopped; each was sent with a deadline on Redis' clock, so none
         * ran when Redis woke up (their 503s said "unknown", the handler
         * could not tell; send_unknown_outcome.test.js has the rest). */
        await sleep(200);
        const out = sys.redisCli('XRANGE', 'messages:history', '-', '+');
        assert.deepStrictEqual(out.match(/(still )?hung \d/g), null, 'no 503 was stored after all');
        assert.ok(out.includes('after the hang'));
        assert.strictEqual(back.id, 2, 'no id was spent on a refused message');
    } finally {
        if (stopped) process.kill(redisPid, 'SIGCONT');
        await sys.stop();
    }
});

test('SCRIPT FLUSH under a running handler: the next send reloads the script and succeeds', async () => {
    const sys = await startSystem({ gateways: 1, tag: 'send-noscript', sendEnv: { SEND_THREADS: '1' } });
    try {
        const a = okMessage(await timedPost(sys, 'before the flush'));
        assert.strictEqual(sys.redisCli('SCRIPT', 'FLUSH').trim(), 'OK');
        const b = okMessage(await timedPost(sys, 'after the flush'));
        assert.strictEqual(b.id, a.id + 1, 'one try on NOSCRIPT, then one successful run');
        assert.strictEqual(xlen(sys), 2);
    } finally {
        await sys.stop();
    }
});
