'use strict';
/*
 * Text arrives exactly as typed (PROTOCOL.md §1): markup, quotes,
 * backslashes, accents and emoji are never escaped or altered, in the 200
 * body, over the WebSocket and in Redis; a browser's CRLF line breaks are
 * stored as \n; limits count characters, not bytes.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem } = require('../lib/system');
const { connect, postForm, postUrlencoded, message } = require('../lib/client');
const { Resp, streamEntries } = require('../lib/resp');
const { SLOW, okMessage, assertError } = require('../lib/expect');

const TRICKY = '<b>&amp;</b> "quotes" \\ and ünïcödé 🎉';
const WAIT = 10000 * SLOW;

let sys;
let redis;
let clients = [];

test.before(async () => {
    sys = await startSystem({ gateways: 2, tag: 'e2e-content' });
    redis = await Resp.connect(sys.redis.port);
    clients = [await connect(sys.wsUrl), await connect(sys.gateways[1].url)];
});

test.after(async () => {
    for (const c of clients) c.close();
    if (redis) redis.close();
    if (sys) await sys.stop();
});

/* The raw bytes of the stored JSON text of message id. */
async function storedText(id) {
    const e = streamEntries(await redis.command('XRANGE', 'messages:history', `${id}-0`, `${id}-0`));
    assert.strictEqual(e.length, 1, `message ${id} is stored`);
    return e[0].fields.m;
}

/* m (as answered) reached every client and Redis unchanged; returns copies. */
async function arrivesEverywhere(m) {
    for (const [i, c] of clients.entries()) {
        await c.until(() => c.has(m.id), WAIT, `client ${i} to receive ${m.id}`);
        assert.deepStrictEqual(c.messages.find((x) => x.id === m.id), m, `client ${i} got it unchanged`);
    }
    const raw = await storedText(m.id);
    assert.ok(raw.equals(Buffer.from(raw.toString('utf8'), 'utf8')), 'stored text is valid UTF-8');
    assert.deepStrictEqual(JSON.parse(raw.toString('utf8')), m, 'stored unchanged');
    return raw;
}

for (const [how, post] of [['multipart', postForm], ['urlencoded', postUrlencoded]]) {
    test(`markup, quotes, backslash, accents and emoji arrive byte for byte (${how})`, async () => {
        const sent = message({ name: 'Zoë 🎉', topic: '<i>tópic</i>', content: TRICKY });
        const m = okMessage(await post(sys.sendUrl, sent), how);
        assert.strictEqual(m.content, TRICKY);
        assert.ok(Buffer.from(m.content, 'utf8').equals(Buffer.from(TRICKY, 'utf8')), 'same bytes');
        assert.strictEqual(m.name, 'Zoë 🎉');
        assert.strictEqual(m.topic, '<i>tópic</i>');
        const raw = await arrivesEverywhere(m);
        assert.ok(!raw.includes('&lt;') && !raw.includes('&quot;'), 'never HTML-escaped');
    });
}

test('CRLF line breaks are stored and sent as \\n; trailing white space is trimmed', async () => {
    const content = 'line one\r\nline two\r\n\r\n\tindented four\r\n  \r\n';
    const m = okMessage(await postForm(sys.sendUrl, message({ content })));
    assert.strictEqual(m.content, 'line one\nline two\n\n\tindented four');
    await arrivesEverywhere(m);
    const lf = okMessage(await postUrlencoded(sys.sendUrl, message({ content: 'a\nb' })));
    assert.strictEqual(lf.content, 'a\nb', 'a bare \\n stays');
    await arrivesEverywhere(lf);
});

test('the content limit counts characters: 4000 emoji pass, 4001 do not', async () => {
    const m = okMessage(await postForm(sys.sendUrl, message({ content: '🎉'.repeat(4000) })), '4000 emoji');
    assert.strictEqual([...m.content].length, 4000);
    await arrivesEverywhere(m);
    assertError(await postForm(sys.sendUrl, message({ content: '🎉'.repeat(4001) })), 400, 'content', '4001 emoji');
    const name = okMessage(await postForm(sys.sendUrl, message({ name: 'é'.repeat(100) })), '100-char name');
    assert.strictEqual(name.name, 'é'.repeat(100));
    assertError(await postForm(sys.sendUrl, message({ name: 'é'.repeat(101) })), 400, 'name', '101-char name');
});

test('invalid UTF-8 is refused with 400, not stored or mangled', async () => {
    const before = await redis.command('XLEN', 'messages:history');
    const body = Buffer.concat([Buffer.from('name=A&email=a%40example.com&content=bad'), Buffer.from([0xff, 0xfe])]);
    const r = await fetch(sys.sendUrl, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body,
    });
    assertError({ status: r.status, headers: r.headers, body: await r.text() }, 400, undefined, 'raw 0xff');
    const escaped = await postUrlencoded(sys.sendUrl, 'name=A&email=a%40example.com&content=bad%C3%28');
    assertError(escaped, 400, 'content', '%C3%28');
    assert.strictEqual(await redis.command('XLEN', 'messages:history'), before, 'nothing stored');
});
