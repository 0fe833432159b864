'use strict';
/*
 * PROTOCOL.md §2's two kinds of 503, against a real redis-server: a plain
 * 503 promises that nothing was stored or published; a 503 with
 * "unknown":true says the handler cannot know (the publish command had
 * gone out whole when the link broke or the reply timed out), and a
 * resend with the same idem settles it without a duplicate.
 *
 * The link is cut by a relay in this process (tests/lib/relay.js) at an
 * exact point of the step: after Redis ran the script (so it was sent),
 * or before Redis saw it (so it was not); a hung Redis (SIGSTOP) makes
 * the reply time out.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, sleep } = require('../lib/system');
const { connect, postForm, message } = require('../lib/client');
const { sendMetric: metric } = require('../lib/metrics');
const { SLOW, okMessage, assertError, send } = require('../lib/expect');
const { Relay } = require('../lib/relay');

const TIMEOUT_MS = 300;
/* Through the relay every command takes a turn of this process' event
 * loop, which a loaded machine can hold up; the cuts need no timeout. */
const RELAY_TIMEOUT_MS = 3000;
const WAIT = 10000 * SLOW;

function storedContents(sys) {
    return sys.redisCli('XRANGE', 'messages:history', '-', '+');
}

/* One handler whose Redis link runs through a relay; lighttpd; a gateway. */
async function systemWithRelay(tag) {
    const sys = await startSystem({ gateways: 1, sendHandlers: 0, lighttpd: false, tag });
    const relay = await Relay.open(sys.redis.port);
    try {
        await sys.startSendHandler(0, {
            REDIS_PORT: String(relay.port), SEND_THREADS: '1', REDIS_TIMEOUT_MS: String(RELAY_TIMEOUT_MS),
        });
        await sys.startLighttpd();
    } catch (e) {
        await relay.close();
        await sys.stop();
        throw e;
    }
    return { sys, relay };
}

/* The answer is a 503 with "unknown":true and says what to do. */
function assertUnknown(r, what) {
    const e = assertError(r, 503, null, what);
    assert.strictEqual(e.unknown, true, `${what}: unknown is true: ${r.body}`);
    assert.match(e.error, /may or may not have been sent/, what);
    return e;
}

test('link cut after Redis ran the step: 503 unknown; the resend with the same key answers the stored message', { timeout: 60000 * SLOW }, async () => {
    const { sys, relay } = await systemWithRelay('send-unknown-ran');
    let watcher;
    try {
        watcher = await connect(sys.wsUrl);
        const h = sys.sendHandlers[0];
        const unknownBefore = await metric(h, 'chat_send_unknown_outcome_total');
        const fields = message({ content: 'sent, but the answer was lost', idem: `lost-${process.pid}` });
        relay.arm('after-reply');
        const e = assertUnknown(await postForm(sys.sendUrl, fields), 'reply lost');
        assert.match(e.error, /same idem/, 'with a key, the sentence says to resend with it');
        assert.strictEqual(relay.cuts, 1);
        assert.strictEqual(await metric(h, 'chat_send_unknown_outcome_total'), unknownBefore + 1);

        /* It was sent: stored and delivered live. */
        assert.strictEqual((storedContents(sys).match(/sent, but the answer was lost/g) || []).length, 1);
        await watcher.until(() => watcher.messages.some((m) => m.content === fields.content), WAIT, 'live delivery');
        const live = watcher.messages.find((m) => m.content === fields.content);

        /* The resend (after the backoff the cut started) settles it. */
        await sys.waitReady();
        const again = okMessage(await postForm(sys.sendUrl, fields), 'resend');
        assert.deepStrictEqual(again, live, 'the resend answers the message that was sent');
        const marker = await send(sys.sendUrl, message({ content: 'marker after the resend' }));
        await watcher.until(() => watcher.has(marker.id), WAIT, 'marker');
        assert.strictEqual(watcher.messages.filter((m) => m.content === fields.content).length, 1, 'published once');
        assert.strictEqual((storedContents(sys).match(/sent, but the answer was lost/g) || []).length, 1, 'stored once');
    } finally {
        if (watcher) watcher.close();
        await relay.close();
        await sys.stop();
    }
});

test('link cut before Redis saw the step: 503 unknown too (the handler cannot tell); the resend stores it once', { timeout: 60000 * SLOW }, async () => {
    const { sys, relay } = await systemWithRelay('send-unknown-lost');
    try {
        const fields = message({ content: 'never reached Redis', idem: `cut-${process.pid}` });
        relay.arm('before-forward');
        assertUnknown(await postForm(sys.sendUrl, fields), 'command lost');
        assert.strictEqual(storedContents(sys).includes('never reached Redis'), false, 'not sent');
        /* Without a key the sentence cannot offer one. */
        relay.arm('before-forward');
        await sys.waitReady();
        const bare = assertUnknown(await postForm(sys.sendUrl, message({ content: 'no key, lost' })), 'no key');
        assert.doesNotMatch(bare.error, /idem/);
        await sys.waitReady();
        const m = okMessage(await postForm(sys.sendUrl, fields), 'resend');
        assert.strictEqual(m.content, 'never reached Redis');
        assert.strictEqual((storedContents(sys).match(/never reached Redis/g) || []).length, 1);
        assert.deepStrictEqual(okMessage(await postForm(sys.sendUrl, fields)), m, 'a second resend is a replay');
    } finally {
        await relay.close();
        await sys.stop();
    }
});

test('Redis hung: a command that went out gets 503 unknown, the rest a plain 503; none of them ran', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, tag: 'send-unknown-hung',
        sendEnv: { REDIS_TIMEOUT_MS: String(TIMEOUT_MS), SEND_THREADS: '2' },
    });
    const redisPid = sys.redis.proc.pid;
    let stopped = false;
    try {
        const h = sys.sendHandlers[0];
        okMessage(await postForm(sys.sendUrl, message({ content: 'before the hang' })));
        const unknownBefore = await metric(h, 'chat_send_unknown_outcome_total');
        process.kill(redisPid, 'SIGSTOP');
        stopped = true;
        const keys = Array.from({ length: 6 }, (_, i) => `hung-${process.pid}-${i}`);
        const answers = await Promise.all(keys.map((k, i) =>
            postForm(sys.sendUrl, message({ content: `hung ${i}`, idem: k }))));
        let unknown = 0;
        for (const r of answers) {
            const e = assertError(r, 503, null, 'while Redis hangs');
            if (e.unknown) unknown++;
            else assert.match(e.error, /nothing was stored/, 'a plain 503 promises nothing was stored');
        }
        /* Two workers: each had one publish out when the timeout came;
         * the others were refused in the backoff, before any command. */
        assert.ok(unknown >= 1 && unknown <= 2, `${unknown} unknown answers`);
        assert.strictEqual(await metric(h, 'chat_send_unknown_outcome_total'), unknownBefore + unknown);
        process.kill(redisPid, 'SIGCONT');
        stopped = false;
        await sys.waitReady();
        /* The commands that sat in the stopped Redis carried a deadline
         * that had passed when it woke: none of them ran. */
        await sleep(200);
        assert.deepStrictEqual(storedContents(sys).match(/hung \d/g), null, 'nothing of the hang was stored');
        /* So the resends with the same keys are each stored once. */
        for (let i = 0; i < keys.length; i++) {
            const m = okMessage(await postForm(sys.sendUrl, message({ content: `hung ${i}`, idem: keys[i] })));
            assert.strictEqual(m.content, `hung ${i}`);
        }
        assert.strictEqual(storedContents(sys).match(/hung \d/g).length, keys.length);
    } finally {
        if (stopped) process.kill(redisPid, 'SIGCONT');
        await sys.stop();
    }
});

test('Redis absent or refusing writes: a plain 503, never unknown, nothing stored', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, tag: 'send-certain', sendEnv: { REDIS_TIMEOUT_MS: String(TIMEOUT_MS) } });
    const dead = await require('../lib/system').freePort();
    try {
        /* A replica refuses the script's first write (READONLY). */
        sys.redisCli('REPLICAOF', '127.0.0.1', String(dead));
        for (let i = 0; i < 3; i++) {
            const e = assertError(await postForm(sys.sendUrl, message({ content: `read-only ${i}`, idem: `ro-${i}` })), 503, null, 'READONLY');
            assert.strictEqual(e.unknown, undefined, `a refusal is certain: ${JSON.stringify(e)}`);
        }
        sys.redisCli('REPLICAOF', 'NO', 'ONE');
        assert.strictEqual(storedContents(sys).includes('read-only'), false);
        await sys.waitReady();
        /* Redis stopped: every dial fails. */
        await sys.stopRedis();
        for (let i = 0; i < 3; i++) {
            const e = assertError(await postForm(sys.sendUrl, message({ content: `absent ${i}` })), 503, null, 'absent');
            assert.strictEqual(e.unknown, undefined);
        }
        assert.strictEqual(await metric(sys.sendHandlers[0], 'chat_send_unknown_outcome_total'), 0);
    } finally {
        await sys.stop();
    }
});
