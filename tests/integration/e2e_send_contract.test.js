'use strict';
/*
 * POST /chatapp/send as a user sees it through lighttpd (PROTOCOL.md §2):
 * a curl-style urlencoded body works like a browser's FormData, the 200
 * body is the message object, and every error status comes from a real
 * request, after which the server keeps serving. The send handler's own
 * tests cover every rule in depth; these pin the user-visible contract.
 */
const test = require('node:test');
const assert = require('node:assert');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const { startSystem } = require('../lib/system');
const { connect, postForm, postUrlencoded, message } = require('../lib/client');
const { Resp, streamEntries } = require('../lib/resp');
const { rawHttp } = require('../lib/rawhttp');
const { SLOW, okMessage, assertError, send } = require('../lib/expect');

const run = promisify(execFile);
const WAIT = 10000 * SLOW;

let sys;
let watcher;
let redis;

test.before(async () => {
    sys = await startSystem({ gateways: 2, tag: 'e2e-send' });
    watcher = await connect(sys.wsUrl);
    redis = await Resp.connect(sys.redis.port);
});

test.after(async () => {
    if (redis) redis.close();
    if (watcher) watcher.close();
    if (sys) await sys.stop();
});

async function storedById(id) {
    const r = streamEntries(await redis.command('XRANGE', 'messages:history', `${id}-0`, `${id}-0`));
    return r.length ? JSON.parse(r[0].fields.m.toString('utf8')) : null;
}

/* The server still works: a valid send is answered, stored and delivered. */
async function stillServing(what) {
    const m = await send(sys.sendUrl, message({ content: `still serving after ${what}` }));
    await watcher.until(() => watcher.has(m.id), WAIT, `delivery after ${what}`);
    assert.deepStrictEqual(await storedById(m.id), m, `stored after ${what}`);
}

test('a urlencoded POST (what curl -d sends) is answered with the message object', async () => {
    const before = Date.now();
    const r = await postUrlencoded(sys.sendUrl, {
        name: '  Carol  ', email: 'carol@example.com', topic: '', content: 'hello from curl',
    });
    const m = okMessage(r, 'urlencoded');
    assert.strictEqual(m.name, 'Carol', 'name is trimmed');
    assert.strictEqual(m.email, 'carol@example.com');
    assert.strictEqual(m.topic, 'general', 'an empty topic becomes "general"');
    assert.strictEqual(m.content, 'hello from curl');
    assert.strictEqual(m.ephemeral, false, 'no ephemeral field means stored');
    assert.ok(Date.parse(m.date) >= before - 1000 && Date.parse(m.date) <= Date.now() + 1000,
        `date ${m.date} is the time of receipt`);
    /* A 200 is a promise: published to a connected client and stored. */
    await watcher.until(() => watcher.has(m.id), WAIT, 'live delivery');
    assert.deepStrictEqual(watcher.messages.find((x) => x.id === m.id), m);
    assert.deepStrictEqual(await storedById(m.id), m, 'stored as answered');
});

test('a missing topic also becomes "general"', async () => {
    const r = await postUrlencoded(sys.sendUrl, 'name=Dan&email=dan%40example.com&content=no+topic+at+all');
    const m = okMessage(r);
    assert.strictEqual(m.topic, 'general');
    assert.strictEqual(m.content, 'no topic at all', '+ decodes to a space');
    assert.strictEqual(m.email, 'dan@example.com', 'percent escapes decode');
});

test('real curl -d and --data-urlencode get a 200 and the message', async () => {
    const { stdout } = await run('curl', ['-sS', '--max-time', String(20 * SLOW),
        '-w', '\n%{http_code} %{content_type}',
        '-d', 'name=Curl User', '-d', 'email=curl@example.com', '-d', 'topic=cli',
        '--data-urlencode', 'content=50% off & more = ünï 🎉',
        sys.sendUrl]);
    const nl = stdout.lastIndexOf('\n');
    const [code, type] = stdout.slice(nl + 1).split(' ');
    assert.strictEqual(code, '200', stdout);
    assert.match(type, /^application\/json/);
    const m = JSON.parse(stdout.slice(0, nl));
    assert.strictEqual(m.name, 'Curl User');
    assert.strictEqual(m.topic, 'cli');
    assert.strictEqual(m.content, '50% off & more = ünï 🎉');
    await watcher.until(() => watcher.has(m.id), WAIT, 'live delivery of the curl message');
});

test('the ephemeral field: on/true/1 mean ephemeral; absent, empty, off/false/0 mean stored', async () => {
    const cases = [['on', true], ['true', true], ['1', true],
        [undefined, false], ['', false], ['off', false], ['false', false], ['0', false]];
    for (const [value, ephemeral] of cases) {
        const fields = message({ content: `ephemeral=${value}` });
        if (value !== undefined) fields.ephemeral = value;
        const m = await send(sys.sendUrl, fields);
        assert.strictEqual(m.ephemeral, ephemeral, `ephemeral=${value}`);
        const stored = await storedById(m.id);
        if (ephemeral) assert.strictEqual(stored, null, `ephemeral=${value} is not stored`);
        else assert.deepStrictEqual(stored, m, `ephemeral=${value} is stored`);
        await watcher.until(() => watcher.has(m.id), WAIT, `delivery of ephemeral=${value}`);
    }
});

test('405 with Allow: POST for other methods', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
        const r = await fetch(sys.sendUrl, { method });
        const body = await r.text();
        assertError({ status: r.status, headers: r.headers, body }, 405, undefined, method);
        assert.match(r.headers.get('allow') || '', /^\s*POST\s*$/, `${method}: Allow: POST`);
        await stillServing(`${method} → 405`);
    }
});

test('411 for a POST without a length', async () => {
    const r = await rawHttp(sys.http.port,
        'POST /chatapp/send HTTP/1.0\r\nHost: localhost\r\n' +
        'Content-Type: application/x-www-form-urlencoded\r\n\r\n');
    assert.strictEqual(r.status, 411, `status ${r.status}: ${r.body}`);
    await stillServing('411');
});

test('a chunked POST (length not known in advance) is accepted', async () => {
    const body = 'name=Chunky&email=chunky%40example.com&content=sent+in+chunks';
    const r = await rawHttp(sys.http.port,
        'POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n' +
        'Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `${(20).toString(16)}\r\n${body.slice(0, 20)}\r\n` +
        `${(body.length - 20).toString(16)}\r\n${body.slice(20)}\r\n0\r\n\r\n`);
    assert.strictEqual(r.status, 200, `status ${r.status}: ${r.body}`);
    const id = Number((/"id":(\d+)/.exec(r.body) || [])[1]);
    await watcher.until(() => watcher.has(id), WAIT, 'the chunked message live');
    assert.strictEqual(watcher.messages.find((m) => m.id === id).content, 'sent in chunks');
});

test('413 for a body over 64 KiB, not for one of exactly 64 KiB', async () => {
    const LIMIT = 64 * 1024;
    const head = 'name=Big&email=big%40example.com&content=';
    const exact = head + 'x'.repeat(LIMIT - head.length);
    assert.strictEqual(Buffer.byteLength(exact), LIMIT);
    /* At the limit the body is read; the content is then too long: 400. */
    assertError(await postUrlencoded(sys.sendUrl, exact), 400, 'content', '64 KiB body');
    await stillServing('a 64 KiB body');
    assertError(await postUrlencoded(sys.sendUrl, `${exact}x`), 413, undefined, '64 KiB + 1 body');
    await stillServing('413');
    const fd = new FormData();
    fd.append('name', 'Big');
    fd.append('email', 'big@example.com');
    fd.append('content', 'y'.repeat(100 * 1024));
    const r = await fetch(sys.sendUrl, { method: 'POST', body: fd });
    assertError({ status: r.status, headers: r.headers, body: await r.text() }, 413, undefined, '100 KiB multipart');
    await stillServing('a 100 KiB multipart body');
});

test('415 for another content type', async () => {
    for (const type of ['text/plain', 'application/json']) {
        const r = await fetch(sys.sendUrl, {
            method: 'POST', headers: { 'content-type': type },
            body: 'name=A&email=a%40example.com&content=hi',
        });
        assertError({ status: r.status, headers: r.headers, body: await r.text() }, 415, undefined, type);
        await stillServing(`415 for ${type}`);
    }
});

test('400 names the field at fault', async () => {
    const cases = [
        [{ email: 'not-an-email' }, 'email'],
        [{ name: '   ' }, 'name'],
        [{ name: 'n'.repeat(101) }, 'name'],
        [{ topic: 't'.repeat(101) }, 'topic'],
        [{ content: '' }, 'content'],
        [{ content: 'bell\u0007' }, 'content'],
    ];
    for (const [over, field] of cases) {
        assertError(await postForm(sys.sendUrl, message(over)), 400, field, JSON.stringify(over).slice(0, 60));
    }
    const noName = message();
    delete noName.name;
    assertError(await postForm(sys.sendUrl, noName), 400, 'name', 'missing name');
    await stillServing('400s');
});

test('400 for a field given twice and for a malformed body', async () => {
    const twice = 'name=A&email=a%40example.com&content=one&content=two';
    assertError(await postUrlencoded(sys.sendUrl, twice), 400, undefined, 'duplicate field');
    const r = await fetch(sys.sendUrl, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=XYZ' },
        body: '--XYZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nA\r\n', /* never closed */
    });
    assertError({ status: r.status, headers: r.headers, body: await r.text() }, 400, undefined, 'truncated multipart');
    assertError(await postUrlencoded(sys.sendUrl, 'name=A&email=a%40example.com&content=%zz'), 400, undefined, 'bad % escape');
    await stillServing('malformed bodies');
});

test('nothing an error answered was stored or published', async () => {
    const stored = streamEntries(await redis.command('XRANGE', 'messages:history', '-', '+'))
        .map((e) => JSON.parse(e.fields.m.toString('utf8')));
    const bad = stored.filter((m) => m.name === 'Big' || /^(bell|one|two)/.test(m.content) || m.email === 'not-an-email');
    assert.deepStrictEqual(bad, []);
    const live = watcher.messages.filter((m) => m.name === 'Big' || m.email === 'not-an-email');
    assert.deepStrictEqual(live, []);
});
