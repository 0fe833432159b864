'use strict';
/*
 * The send handler's input rules (PROTOCOL.md §1-2) through real lighttpd,
 * for the bodies a careless or hostile client sends: each gets its status
 * and a JSON error naming the field where one is at fault, nothing is
 * stored or published, and the next good message is served as usual.
 * The limits at N and N+1 are pinned by tests/unit; these prove the whole
 * path (lighttpd, FastCGI, the handler) gives the same answers.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem } = require('../lib/system');
const { connect, message } = require('../lib/client');
const expect = require('../lib/expect');

const { SLOW, assertError } = expect;

const WAIT = 10000 * SLOW;
let sys;
let watcher;
const acceptedIds = [];

/* Every 200 is remembered: at the end the channel must have carried
 * exactly these messages, so no refused body was ever published. */
function okMessage(r, what) {
    const m = expect.okMessage(r, what);
    acceptedIds.push(m.id);
    return m;
}

async function send(url, fields) {
    const m = await expect.send(url, fields);
    acceptedIds.push(m.id);
    return m;
}

test.before(async () => {
    sys = await startSystem({ gateways: 1, tag: 'send-input' });
    watcher = await connect(sys.wsUrl);
});

test.after(async () => {
    if (watcher) watcher.close();
    if (sys) await sys.stop();
});

async function postRaw(type, body) {
    const r = await fetch(sys.sendUrl, {
        method: 'POST', headers: { 'content-type': type }, body,
    });
    return { status: r.status, headers: r.headers, body: await r.text() };
}

function multipart(boundary, parts, eol = '\r\n') {
    let out = '';
    for (const [name, value] of parts) {
        out += `--${boundary}${eol}Content-Disposition: form-data; name="${name}"${eol}${eol}${value}${eol}`;
    }
    return `${out}--${boundary}--${eol}`;
}

const GOOD = [['name', 'Multi'], ['email', 'multi@example.com'], ['topic', 'limits']];

function stored() {
    return Number(sys.redisCli('XLEN', 'messages:history').trim());
}

/* An error answer, then proof that nothing was kept and the server serves. */
async function refusedThenServing(r, status, field, what) {
    const before = stored();
    assertError(r, status, field, what);
    const m = await send(sys.sendUrl, message({ content: `after ${what}` }));
    await watcher.until(() => watcher.has(m.id), WAIT, `delivery after ${what}`);
    assert.strictEqual(stored(), before + 1, `${what}: only the good message was stored`);
}

test('a multipart body cut in the middle of a part is a 400', async () => {
    const whole = multipart('cut', [...GOOD, ['content', 'never finished']]);
    const cut = whole.slice(0, whole.indexOf('never') + 5);
    await refusedThenServing(await postRaw('multipart/form-data; boundary=cut', cut), 400, undefined, 'cut multipart');
});

test('a part header without a name is a 400', async () => {
    const body = '--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n';
    await refusedThenServing(await postRaw('multipart/form-data; boundary=b', body), 400, undefined, 'nameless part');
});

test('the boundary inside quoted text and inside a value does not split the body', async () => {
    /* A quoted boundary may hold characters a bare one may not; the same
     * string inside content (not at a line start) is just text. */
    const boundary = 'a:b=c "d"'.replace(/"/g, '');
    const content = `this line mentions --${boundary} mid-line and --${boundary}-- too`;
    const body = multipart(boundary, [...GOOD, ['content', content]]);
    const m = okMessage(await postRaw(`multipart/form-data; boundary="${boundary}"`, body), 'quoted boundary');
    assert.strictEqual(m.content, content);
});

test('CRLF and bare LF multipart line ends give the same message', async () => {
    const crlf = okMessage(await postRaw('multipart/form-data; boundary=eol',
        multipart('eol', [...GOOD, ['content', 'line ends']], '\r\n')), 'CRLF');
    const lf = okMessage(await postRaw('multipart/form-data; boundary=eol',
        multipart('eol', [...GOOD, ['content', 'line ends']], '\n')), 'LF');
    for (const k of ['name', 'email', 'topic', 'content']) assert.strictEqual(lf[k], crlf[k], k);
    assert.ok(lf.id > crlf.id);
});

test('content line breaks arrive as \\n whatever the browser sent', async () => {
    const m = okMessage(await postRaw('multipart/form-data; boundary=nl',
        multipart('nl', [...GOOD, ['content', 'one\r\ntwo\rthree\nfour']])), 'line breaks');
    assert.strictEqual(m.content, 'one\ntwo\nthree\nfour');
});

test('NUL bytes are refused in every field that can hold them', async () => {
    for (const field of ['name', 'email', 'topic', 'content']) {
        const fields = Object.fromEntries([...GOOD, ['content', 'ok']]);
        fields[field] = `${fields[field]}\u0000tail`;
        const body = new URLSearchParams(fields).toString();
        await refusedThenServing(await postRaw('application/x-www-form-urlencoded', body), 400, field, `NUL in ${field}`);
    }
});

test('invalid UTF-8 is refused, naming the field: overlong, surrogate, truncated', async () => {
    const bad = { overlong: [0xc0, 0xaf], surrogate: [0xed, 0xa0, 0x80], truncated: [0xe2, 0x82] };
    for (const [kind, bytes] of Object.entries(bad)) {
        for (const field of ['name', 'content']) {
            const pre = Buffer.from(multipart('u8', GOOD.filter(([k]) => k !== field)).replace(/--u8--\r\n$/, ''));
            const part = Buffer.concat([
                Buffer.from(`--u8\r\nContent-Disposition: form-data; name="${field}"\r\n\r\nx`),
                Buffer.from(bytes), Buffer.from('y\r\n'),
            ]);
            const rest = field === 'content' ? '' : '--u8\r\nContent-Disposition: form-data; name="content"\r\n\r\nfine\r\n';
            const body = Buffer.concat([pre, part, Buffer.from(`${rest}--u8--\r\n`)]);
            await refusedThenServing(await postRaw('multipart/form-data; boundary=u8', body), 400, field,
                `${kind} UTF-8 in ${field}`);
        }
    }
});

test('10,000 tiny unknown fields are ignored, quickly', async () => {
    const noise = Array.from({ length: 10000 }, (_, i) => `${i.toString(36)}=`).join('&');
    const body = `${noise}&name=Many&email=many%40example.com&content=after+ten+thousand+fields`;
    assert.ok(body.length < 64 * 1024, 'fits the body cap');
    const started = Date.now();
    const m = okMessage(await postRaw('application/x-www-form-urlencoded', body), '10,000 fields');
    assert.strictEqual(m.content, 'after ten thousand fields');
    await watcher.until(() => watcher.has(m.id), WAIT, 'delivery of the many-fields message');
    /* Linear parsing: a quadratic parser would take seconds here. */
    assert.ok(Date.now() - started < 5000 * SLOW, `answered in ${Date.now() - started} ms`);
});

test('10,000 repeats of one unknown field are not a duplicate error; a known one twice is', async () => {
    const noise = Array.from({ length: 10000 }, () => 'x=1').join('&');
    okMessage(await postRaw('application/x-www-form-urlencoded',
        `${noise}&name=Rep&email=rep%40example.com&content=repeats`), 'repeated unknown field');
    await refusedThenServing(await postRaw('application/x-www-form-urlencoded',
        'name=A&email=a%40example.com&content=x&email=b%40example.com'), 400, 'email', 'email twice');
    await refusedThenServing(await postRaw('multipart/form-data; boundary=d',
        multipart('d', [...GOOD, ['content', 'a'], ['topic', 'again']])), 400, 'topic', 'multipart topic twice');
});

test('a bad percent-escape names its field', async () => {
    await refusedThenServing(await postRaw('application/x-www-form-urlencoded',
        'name=A&email=a%40example.com&content=50%zz'), 400, 'content', 'bad escape in content');
    await refusedThenServing(await postRaw('application/x-www-form-urlencoded',
        'name=A%4&email=a%40example.com&content=x'), 400, 'name', 'cut escape in name');
});

test('an ephemeral value the server does not know is refused, not guessed', async () => {
    await refusedThenServing(await postRaw('application/x-www-form-urlencoded',
        'name=A&email=a%40example.com&content=x&ephemeral=yes'), 400, 'ephemeral', 'ephemeral=yes');
});

test('415 for a form in another charset; a multipart without a usable boundary is malformed, 400', async () => {
    await refusedThenServing(await postRaw('application/x-www-form-urlencoded; charset=iso-8859-1',
        'name=A&email=a%40example.com&content=x'), 415, undefined, 'latin-1 form');
    await refusedThenServing(await postRaw('multipart/form-data; charset=iso-8859-1; boundary=nb',
        multipart('nb', [...GOOD, ['content', 'x']])), 415, undefined, 'latin-1 multipart');
    /* PROTOCOL §2: the type is right, its framing is broken. */
    for (const type of ['multipart/form-data', 'multipart/form-data;', 'multipart/form-data; boundary=',
        `multipart/form-data; boundary=${'b'.repeat(71)}`, 'multipart/form-data; boundary=a; boundary=b',
        'multipart/form-data boundary=nb']) {
        await refusedThenServing(await postRaw(type, multipart('nb', [...GOOD, ['content', 'x']])), 400, undefined,
            `Content-Type ${type}`);
    }
});

test('a body far over the cap is refused by lighttpd before anyone reads it', async () => {
    /* Over server.max-request-size (128 KiB) lighttpd answers 413 itself,
     * with the JSON of conf/own_answers.lua; between 64 KiB and that,
     * the handler's own JSON 413 (e2e_send_contract.test.js). */
    const before = stored();
    const r = await postRaw('application/x-www-form-urlencoded', `content=${'z'.repeat(256 * 1024)}`);
    assertError(r, 413, null, '256 KiB body');
    const m = await send(sys.sendUrl, message({ content: 'after a 256 KiB body' }));
    await watcher.until(() => watcher.has(m.id), WAIT, 'delivery after a 256 KiB body');
    assert.strictEqual(stored(), before + 1);
});

test('the channel carried exactly the accepted messages, nothing refused', async () => {
    const want = [...acceptedIds].sort((a, b) => a - b);
    await watcher.until(() => watcher.ids().length >= want.length, WAIT, 'every accepted message');
    assert.deepStrictEqual(watcher.ids(), want);
    assert.strictEqual(watcher.messages.length, want.length, 'each once');
});
