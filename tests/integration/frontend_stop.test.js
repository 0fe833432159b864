'use strict';
/*
 * Stopping a front end the way Kubernetes and docker stop do, with the
 * image's stop signal (SIGINT: lighttpd's graceful stop). A send that is
 * being uploaded when the signal comes is still answered, the listener is
 * closed at once, and open WebSockets do not keep lighttpd alive past
 * server.graceful-shutdown-timeout.
 */
const test = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const { startSystem, sleep } = require('../lib/system');
const { connect, message } = require('../lib/client');
const { SLOW } = require('../lib/expect');

/* conf/lighttpd.conf's server.graceful-shutdown-timeout; lighttpd checks it
 * once a second, and its default (no setting) is 8 s. */
const GRACEFUL_S = 3;

/* A POST whose body is sent in two halves; resolves with the raw answer. */
function halfSentPost(port, body) {
    const s = net.connect(port, '127.0.0.1');
    const chunks = [];
    const half = Math.floor(body.length / 2);
    const answer = new Promise((resolve) => {
        s.on('data', (d) => chunks.push(d));
        s.on('error', (e) => resolve({ error: e.code || e.message }));
        s.on('close', () => resolve({ text: Buffer.concat(chunks).toString('utf8') }));
    });
    s.on('connect', () => s.write('POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n' +
        'Content-Type: application/x-www-form-urlencoded\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`));
    return { answer, finish: () => s.write(body.slice(half)) };
}

function connectionRefused(port) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('connect', () => { s.destroy(); resolve(false); });
        s.on('error', () => resolve(true));
    });
}

test('SIGINT: the upload in progress is answered, new connections are refused, WebSockets do not hold the exit', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 1, tag: 'front-stop' });
    try {
        const ws = await connect(sys.wsUrl);
        const body = new URLSearchParams(message({ content: 'sent across the stop' })).toString();
        const post = halfSentPost(sys.http.port, body);
        /* lighttpd runs natively even when our servers run under valgrind,
         * so its waits are not scaled by SLOW: the rest of the upload must
         * go well inside its GRACEFUL_S. */
        await sleep(300);
        const started = Date.now();
        sys.lighttpd.kill('SIGINT');
        let refused = false;
        while (!refused && Date.now() - started < 1000) {
            refused = await connectionRefused(sys.http.port);
            if (!refused) await sleep(20);
        }
        assert.ok(refused, 'the listener is closed once the stop begins');
        post.finish();
        const a = await post.answer;
        assert.ok(a.text, `the upload got an answer (${a.error})`);
        assert.match(a.text, /^HTTP\/1\.[01] 200 /, a.text.slice(0, 200));
        const sent = JSON.parse(a.text.slice(a.text.indexOf('\r\n\r\n') + 4));
        assert.strictEqual(sent.content, 'sent across the stop');
        await ws.until(() => ws.has(sent.id), 5000 * SLOW, 'the live copy');
        const { code, signal } = await sys.lighttpd.exited;
        const ms = Date.now() - started;
        assert.strictEqual(signal, null, 'lighttpd exited by itself');
        assert.strictEqual(code, 0);
        assert.ok(ms < (GRACEFUL_S + 3.5) * 1000, `exited ${ms} ms after SIGINT with a WebSocket open`);
        await ws.until(() => ws.closed, 5000, 'the WebSocket to close');
        const stored = sys.redisCli('XRANGE', 'messages:history', '-', '+');
        assert.match(stored, /sent across the stop/);
    } finally {
        await sys.stop();
    }
});
