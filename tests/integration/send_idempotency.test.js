'use strict';
/*
 * The idempotency key of PROTOCOL.md §2 through the real system (lighttpd,
 * two send handlers taking turns, Redis, a gateway and a WebSocket
 * client): a resend with the same key answers the very message the first
 * send produced, and nothing is stored or published twice, whichever
 * handler takes the resend.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem } = require('../lib/system');
const { connect, postForm, postUrlencoded, message } = require('../lib/client');
const { sendMetric: metric } = require('../lib/metrics');
const { SLOW, okMessage, assertError, send } = require('../lib/expect');

const WAIT = 10000 * SLOW;

let sys;
let watcher;
let seq = 0;

test.before(async () => {
    sys = await startSystem({ gateways: 1, sendHandlers: 2, tag: 'send-idem' });
    watcher = await connect(sys.wsUrl);
});

test.after(async () => {
    if (watcher) watcher.close();
    if (sys) await sys.stop();
});

function key() {
    seq++;
    return `k-${process.pid}_${seq}`;
}

function xlen() {
    return Number(sys.redisCli('XLEN', 'messages:history').trim());
}

/* Every message the watcher has seen up to a marker sent after them. */
async function seenUpToMarker() {
    const marker = await send(sys.sendUrl, message({ content: `marker ${seq++}` }));
    await watcher.until(() => watcher.has(marker.id), WAIT, 'the marker');
    return watcher.messages.filter((m) => m.id < marker.id);
}

async function sumMetric(name) {
    let n = 0;
    for (const h of sys.sendHandlers) n += await metric(h, name);
    return n;
}

test('a resend with the same key: the same message back, one stream entry, one live delivery', async () => {
    const k = key();
    const fields = message({ content: 'sent twice, stored once', idem: k });
    const storedBefore = xlen();
    const replaysBefore = await sumMetric('chat_send_idem_replays_total');
    const storedMetricBefore = await sumMetric('chat_send_messages_total{kind="stored"}');
    const first = await postForm(sys.sendUrl, fields);
    const m = okMessage(first, 'first send');
    /* Round-robin: each of these goes to the other handler in turn. */
    const again = [];
    for (let i = 0; i < 3; i++) again.push(await postForm(sys.sendUrl, fields));
    for (const r of again) {
        okMessage(r, 'resend');
        assert.strictEqual(r.body, first.body, 'the same bytes: same id, same date');
    }
    /* urlencoded, as curl sends it, is the same message. */
    assert.strictEqual((await postUrlencoded(sys.sendUrl, fields)).body, first.body);
    assert.strictEqual(xlen(), storedBefore + 1, 'one stream entry');
    const seen = (await seenUpToMarker()).filter((x) => x.content === fields.content);
    assert.deepStrictEqual(seen, [m], 'the WebSocket client saw it once');
    assert.strictEqual(await sumMetric('chat_send_idem_replays_total') - replaysBefore, 4);
    assert.strictEqual(await sumMetric('chat_send_messages_total{kind="stored"}') - storedMetricBefore, 2,
        'one stored message and the marker');
});

test('different keys, same words: different messages', async () => {
    const content = 'the same words under two keys';
    const a = await send(sys.sendUrl, message({ content, idem: key() }));
    const b = await send(sys.sendUrl, message({ content, idem: key() }));
    assert.ok(b.id > a.id, `${a.id} then ${b.id}`);
    const seen = (await seenUpToMarker()).filter((x) => x.content === content);
    assert.deepStrictEqual(seen.map((x) => x.id), [a.id, b.id]);
});

test('no key, or an empty one: every send is a new message', async () => {
    const content = 'no key, sent twice';
    const a = await send(sys.sendUrl, message({ content }));
    const b = await send(sys.sendUrl, message({ content }));
    const c = await send(sys.sendUrl, message({ content, idem: '' }));
    const d = await send(sys.sendUrl, message({ content, idem: '' }));
    assert.deepStrictEqual(new Set([a.id, b.id, c.id, d.id]).size, 4);
    assert.strictEqual(sys.redisCli('KEYS', 'idem:').trim(), '', 'an empty key writes no key');
});

test('an ephemeral message with a key: published once, never stored, resend answers it', async () => {
    const k = key();
    const fields = message({ content: 'ephemeral, sent twice', idem: k, ephemeral: 'on' });
    const storedBefore = xlen();
    const m = await send(sys.sendUrl, fields);
    assert.strictEqual(m.ephemeral, true);
    const again = await send(sys.sendUrl, fields);
    assert.deepStrictEqual(again, m);
    assert.strictEqual(xlen(), storedBefore, 'not stored');
    const seen = (await seenUpToMarker()).filter((x) => x.content === fields.content);
    assert.deepStrictEqual(seen, [m], 'delivered live once');
});

test('the key lives 600 s in Redis, as idem:<key> holding the published text', async () => {
    const k = key();
    const m = await send(sys.sendUrl, message({ content: 'kept for ten minutes', idem: k }));
    const ttl = Number(sys.redisCli('TTL', `idem:${k}`).trim());
    assert.ok(ttl > 590 && ttl <= 600, `TTL ${ttl}`);
    assert.deepStrictEqual(JSON.parse(sys.redisCli('GET', `idem:${k}`)), m);
    /* What the 600 s do, without waiting them: then it is a new message. */
    sys.redisCli('DEL', `idem:${k}`);
    const after = await send(sys.sendUrl, message({ content: 'kept for ten minutes', idem: k }));
    assert.ok(after.id > m.id, 'an expired key no longer holds the resend back');
});

test('the same key for a different message: 409 naming idem, nothing sent', async () => {
    const k = key();
    const m = await send(sys.sendUrl, message({ content: 'the first message', idem: k }));
    const storedBefore = xlen();
    const r = await postForm(sys.sendUrl, message({ content: 'another message', idem: k }));
    const e = assertError(r, 409, 'idem', 'a reused key');
    assert.match(e.error, /idem/);
    assert.strictEqual(xlen(), storedBefore, 'nothing stored');
    assert.ok(!(await seenUpToMarker()).some((x) => x.content === 'another message'), 'nothing published');
    /* The key still answers its own message. */
    assert.deepStrictEqual(await send(sys.sendUrl, message({ content: 'the first message', idem: k })), m);
});

test('a bad key is a 400 naming idem; 64 characters pass, 65 do not', async () => {
    const k64 = `${'x'.repeat(60)}${String(seq++).padStart(4, '0')}`;
    assert.strictEqual(k64.length, 64);
    okMessage(await postForm(sys.sendUrl, message({ idem: k64 })), '64 characters');
    for (const bad of [`${k64}y`, 'a b', 'a.b', 'ä', 'a/b', 'a+b', ' k', 'k\n']) {
        assertError(await postForm(sys.sendUrl, message({ idem: bad })), 400, 'idem', JSON.stringify(bad));
    }
    const twice = 'name=A&email=a%40b.c&content=x&idem=k1&idem=k1';
    assertError(await postUrlencoded(sys.sendUrl, twice), 400, 'idem', 'given twice');
});
