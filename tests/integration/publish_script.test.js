'use strict';
/*
 * fcgi/publish.lua on its own, in a real Redis: the id, the stream entry
 * and the channel message of PROTOCOL.md §3 come from one step, a
 * deadline on Redis' clock that has passed means nothing happens at all,
 * and an idempotency key (§2 idem) lets the step run at most once: a
 * replay answers the first message, a different message under the same
 * key is a conflict, and the key lives 600 s.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { startSystem, ROOT } = require('../lib/system');
const { Resp } = require('../lib/resp');

const SCRIPT = fs.readFileSync(path.join(ROOT, 'fcgi', 'publish.lua'), 'utf8');
const BODY = '{"name":"S","email":"s@example.com","topic":"t","content":"c","date":"2026-11-28T06:01:23.456Z","ephemeral":false}';

let sys;
let redis;
let sub;
const published = [];

test.before(async () => {
    sys = await startSystem({ gateways: 0, sendHandlers: 0, lighttpd: false, tag: 'script' });
    redis = await Resp.connect(sys.redis.port);
    sub = await Resp.connect(sys.redis.port);
    await sub.subscribe('messages', (payload) => published.push(payload));
});

test.after(async () => {
    if (sub) sub.close();
    if (redis) redis.close();
    if (sys) await sys.stop();
});

function run(store, deadline) {
    const args = ['EVAL', SCRIPT, '2', 'messages:id', 'messages:history', BODY, store, '100000', 'messages'];
    if (deadline !== undefined) args.push(String(deadline));
    return redis.command(...args);
}

async function redisNowMs() {
    const [s, us] = await redis.command('TIME');
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

test('the reply is the message with its id; stream and channel hold the same text', async () => {
    const text = (await run('1')).toString();
    assert.strictEqual(text, `{"id":1,${BODY.slice(1)}`);
    const entries = await redis.command('XRANGE', 'messages:history', '-', '+');
    assert.strictEqual(entries.length, 1);
    assert.strictEqual(entries[0][0].toString(), '1-0');
    assert.deepStrictEqual(entries[0][1].map(String), ['m', text]);
});

test('an ephemeral message gets an id and is published, not stored', async () => {
    const text = (await run('0')).toString();
    assert.match(text, /^\{"id":2,/);
    assert.strictEqual(Number(await redis.command('XLEN', 'messages:history')), 1);
});

test('a deadline still ahead runs; one that has passed does nothing at all', async () => {
    const now = await redisNowMs();
    assert.match((await run('1', now + 60000)).toString(), /^\{"id":3,/);
    await assert.rejects(run('1', now - 1), /DEADLINE/);
    assert.strictEqual((await redis.command('GET', 'messages:id')).toString(), '3', 'no id spent');
    assert.strictEqual(Number(await redis.command('XLEN', 'messages:history')), 2, 'nothing stored');
    assert.match((await run('1', 0)).toString(), /^\{"id":4,/, '0 means no deadline');
});

test('the channel carried each message once, as a one-element array, in id order', async () => {
    const deadline = Date.now() + 5000;
    while (published.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const ids = published.map((p) => JSON.parse(p.toString()).map((m) => m.id));
    assert.deepStrictEqual(ids, [[1], [2], [3], [4]]);
});

/* The message of BODY with other members, as the send handler encodes it. */
function body(over = {}) {
    return JSON.stringify({ ...JSON.parse(BODY), ...over });
}

/* The step with an idempotency key: [text, outcome] as strings. */
async function runKeyed(key, text, { store = '1', deadline = '0', ttl = '600' } = {}) {
    const r = await redis.command('EVAL', SCRIPT, '3', 'messages:id', 'messages:history', `idem:${key}`,
        text, store, '100000', 'messages', deadline, ttl);
    assert.ok(Array.isArray(r) && r.length === 2, `a two-element reply: ${r}`);
    return r.map(String);
}

async function counts() {
    return {
        id: Number((await redis.command('GET', 'messages:id')).toString()),
        stored: Number(await redis.command('XLEN', 'messages:history')),
        published: published.length,
    };
}

/* Wait for the channel to have carried n messages, and for no more. */
async function settle(n) {
    const end = Date.now() + 5000;
    while (published.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
}

test('with a key: the first send runs and the key holds its text for 600 s', async () => {
    const before = await counts();
    const [text, outcome] = await runKeyed('k1', body({ content: 'once' }));
    assert.strictEqual(outcome, 'new');
    const m = JSON.parse(text);
    assert.strictEqual(m.id, before.id + 1);
    assert.strictEqual(m.content, 'once');
    assert.strictEqual((await redis.command('GET', 'idem:k1')).toString(), text, 'the key holds the published text');
    const ttl = Number(await redis.command('TTL', 'idem:k1'));
    assert.ok(ttl > 590 && ttl <= 600, `TTL ${ttl}`);
    await settle(before.published + 1);
    assert.deepStrictEqual(await counts(), { id: before.id + 1, stored: before.stored + 1, published: before.published + 1 });
});

test('the same message again under the key: the first text back, nothing stored, published or spent', async () => {
    const first = (await redis.command('GET', 'idem:k1')).toString();
    const before = await counts();
    /* A resend is encoded anew, so its date differs; the key decides. */
    const [text, outcome] = await runKeyed('k1', body({ content: 'once', date: '2026-11-28T06:09:00.000Z' }));
    assert.strictEqual(outcome, 'replay');
    assert.strictEqual(text, first, 'same id, same date, same bytes');
    await settle(before.published);
    assert.deepStrictEqual(await counts(), before);
    const ttl = Number(await redis.command('TTL', 'idem:k1'));
    assert.ok(ttl > 590 && ttl <= 600, `a replay does not restart the 600 s either way: ${ttl}`);
});

test('a different message under a used key is a conflict: nothing done', async () => {
    const before = await counts();
    for (const over of [{ content: 'not once' }, { name: 'T' }, { email: 't@example.com' },
        { topic: 'u' }, { ephemeral: true }]) {
        assert.deepStrictEqual(await runKeyed('k1', body({ content: 'once', ...over })), ['', 'conflict'],
            JSON.stringify(over));
    }
    await settle(before.published);
    assert.deepStrictEqual(await counts(), before);
});

test('different keys are different messages', async () => {
    const before = await counts();
    const [a] = await runKeyed('ka', body({ content: 'same words' }));
    const [b] = await runKeyed('kb', body({ content: 'same words' }));
    assert.strictEqual(JSON.parse(b).id, JSON.parse(a).id + 1);
    await settle(before.published + 2);
    assert.deepStrictEqual(await counts(), { id: before.id + 2, stored: before.stored + 2, published: before.published + 2 });
});

test('an ephemeral message with a key: published once, never stored, replayed from the key', async () => {
    const before = await counts();
    const eph = body({ content: 'psst', ephemeral: true });
    const [text, outcome] = await runKeyed('ke', eph, { store: '0' });
    assert.strictEqual(outcome, 'new');
    assert.strictEqual(JSON.parse(text).ephemeral, true);
    assert.deepStrictEqual(await runKeyed('ke', eph, { store: '0' }), [text, 'replay']);
    await settle(before.published + 1);
    assert.deepStrictEqual(await counts(), { id: before.id + 1, stored: before.stored, published: before.published + 1 });
});

test('a passed deadline does nothing even for a used key; an expired key no longer dedupes', async () => {
    const before = await counts();
    const now = await redisNowMs();
    await assert.rejects(runKeyed('k1', body({ content: 'once' }), { deadline: String(now - 1) }), /DEADLINE/);
    await assert.rejects(runKeyed('fresh', body({ content: 'late' }), { deadline: String(now - 1) }), /DEADLINE/);
    assert.strictEqual(Number(await redis.command('EXISTS', 'idem:fresh')), 0, 'no key recorded');
    assert.deepStrictEqual(await counts(), before);
    /* What 600 s do to the key, without waiting 600 s. */
    await redis.command('PEXPIRE', 'idem:k1', '1');
    await new Promise((r) => setTimeout(r, 20));
    const [text, outcome] = await runKeyed('k1', body({ content: 'once' }));
    assert.strictEqual(outcome, 'new', 'after expiry the key is free again');
    assert.strictEqual(JSON.parse(text).id, before.id + 1);
});
