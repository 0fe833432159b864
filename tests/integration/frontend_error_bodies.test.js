'use strict';
/*
 * Errors lighttpd answers itself carry PROTOCOL §2's JSON shape
 * ({"error":"..."}, Content-Type: application/json), also those it gives
 * at the header stage, before any URL is known: an absurd or missing
 * Content-Length, an oversized header, no Host, Content-Length together
 * with Transfer-Encoding, an unknown method or transfer coding. Each is
 * sent over a raw socket (fetch would refuse to send most of them), and
 * the server keeps serving after each.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem } = require('../lib/system');
const { connect, message } = require('../lib/client');
const { rawHttp } = require('../lib/rawhttp');
const { SLOW, assertError, send } = require('../lib/expect');

let sys;
let watcher;

test.before(async () => {
    sys = await startSystem({ gateways: 1, tag: 'front-errors' });
    watcher = await connect(sys.wsUrl);
});

test.after(async () => {
    if (watcher) watcher.close();
    if (sys) await sys.stop();
});

const CLOSE = 'Connection: close\r\n';
const FORM = 'Content-Type: application/x-www-form-urlencoded\r\n';

/* [what, request, status, a word the sentence must hold] */
const CASES = [
    ['absurd Content-Length', `POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n${FORM}Content-Length: 12abc\r\n${CLOSE}\r\n`, 400, /malformed/],
    ['Content-Length past 64 bits', `POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n${FORM}Content-Length: 99999999999999999999999\r\n${CLOSE}\r\n`, 400, /malformed/],
    ['negative Content-Length', `POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n${FORM}Content-Length: -5\r\n${CLOSE}\r\n`, 400, /malformed/],
    ['two different Content-Lengths', `POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n${FORM}Content-Length: 5\r\nContent-Length: 6\r\n${CLOSE}\r\nabcde`, 400, /malformed/],
    ['no Content-Length', `POST /chatapp/send HTTP/1.0\r\nHost: localhost\r\n${FORM}\r\n`, 411, /length/],
    ['a 10 KB header', `POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(10240)}\r\n${CLOSE}\r\n`, 431, /header/],
    ['a 10 KB header on a page', `GET / HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(10240)}\r\n${CLOSE}\r\n`, 431, /header/],
    ['no Host', `POST /chatapp/send HTTP/1.1\r\n${FORM}Content-Length: 0\r\n${CLOSE}\r\n`, 400, /malformed/],
    ['Content-Length with Transfer-Encoding', `POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n${FORM}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n${CLOSE}\r\n0\r\n\r\n`, 400, /malformed/],
    ['an unknown transfer coding', `POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n${FORM}Transfer-Encoding: gzip\r\n${CLOSE}\r\n`, 501, /not supported/],
    ['an unknown method', `BREW /chatapp/send HTTP/1.1\r\nHost: localhost\r\n${CLOSE}\r\n`, 501, /not supported/],
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400, /malformed/],
    ['an HTTP version we do not speak', `GET / HTTP/2.5\r\nHost: localhost\r\n${CLOSE}\r\n`, 505, /version/],
    ['a body over lighttpd\'s cap', `POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n${FORM}Content-Length: 200000\r\n${CLOSE}\r\n`, 413, /large/],
    ['nothing at that path', `GET /chatapp/nothing-here HTTP/1.1\r\nHost: localhost\r\n${CLOSE}\r\n`, 404, /nothing/],
];

async function stillServing(what) {
    const m = await send(sys.sendUrl, message({ content: `still serving after ${what}` }));
    await watcher.until(() => watcher.has(m.id), 10000 * SLOW, `delivery after ${what}`);
}

for (const [what, request, status, words] of CASES) {
    test(`${what}: ${status} with a JSON error`, async () => {
        const r = await rawHttp(sys.http.port, request);
        const e = assertError(r, status, null, what);
        assert.match(e.error, words, `${what}: the sentence says what is wrong: "${e.error}"`);
        await stillServing(what);
    });
}

test('the send handler\'s own errors pass through untouched', async () => {
    const r = await rawHttp(sys.http.port, `POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n${FORM}` +
        `Content-Length: 24\r\n${CLOSE}\r\nname=A&email=no&content=`);
    const e = assertError(r, 400, undefined, 'a bad field');
    assert.ok(e.field, `the handler names the field: ${r.body}`);
});
