'use strict';
/*
 * fcgi/publish.lua on its own, in a real Redis: the id, the stream entry
 * and the channel message of PROTOCOL.md §3 come from one step, and a
 * deadline on Redis' clock that has passed means nothing happens at all.
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
