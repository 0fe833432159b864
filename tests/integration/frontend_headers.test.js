'use strict';
/*
 * Security headers on what the front end serves (issue 15 row 6): the page
 * and every static file, the config, errors and the send answers carry
 * X-Content-Type-Options: nosniff, a Referrer-Policy and a
 * Content-Security-Policy that forbids framing (frame-ancestors) and lets
 * the page connect only to its own origin and to the configured direct
 * WebSocket URL. tests/browser/csp.test.js checks the page runs under it.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem } = require('../lib/system');
const { postUrlencoded, message } = require('../lib/client');
const { rawHttp } = require('../lib/rawhttp');
const { cspOf } = require('../lib/csp');

/* [CHAT_WEBSOCKET_URL, the connect-src it must give] */
const URLS = [
    ['', ["'self'"]],
    ['//{host}:30226/chatapp/websocket', ["'self'", 'ws://*:30226', 'wss://*:30226']],
    ['ws://gw.example.com:7681/chatapp/websocket', ["'self'", 'ws://gw.example.com:7681']],
    ['wss://chat.example.com/chatapp/websocket', ["'self'", 'wss://chat.example.com']],
];

const PATHS = ['/', '/index.html', '/app.js', '/style.css', '/favicon.svg', '/chatapp/config.json', '/nothing-here'];

function assertHardened(h, what, connect) {
    assert.strictEqual(h.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
    assert.strictEqual(h.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
    const csp = cspOf(h.get('content-security-policy'));
    assert.ok(csp, `${what}: a Content-Security-Policy`);
    assert.deepStrictEqual(csp['frame-ancestors'], ["'none'"], `${what}: no framing`);
    assert.deepStrictEqual(csp['default-src'], ["'none'"], `${what}: nothing not listed`);
    for (const d of ['script-src', 'style-src', 'img-src', 'form-action']) {
        assert.deepStrictEqual(csp[d], ["'self'"], `${what}: ${d} 'self'`);
    }
    assert.deepStrictEqual(csp['base-uri'], ["'none'"], `${what}: base-uri`);
    assert.deepStrictEqual(csp['connect-src'], connect, `${what}: connect-src`);
}

for (const [wsUrl, connect] of URLS) {
    test(`headers with CHAT_WEBSOCKET_URL='${wsUrl}'`, async () => {
        const sys = await startSystem({ gateways: 1, tag: 'front-headers', lighttpdEnv: { CHAT_WEBSOCKET_URL: wsUrl } });
        try {
            for (const p of PATHS) {
                const r = await fetch(`${sys.httpUrl}${p}`);
                await r.arrayBuffer();
                assertHardened(r.headers, `GET ${p} (${r.status})`, connect);
            }
            const sent = await postUrlencoded(sys.sendUrl, message({ content: 'headers' }));
            assert.strictEqual(sent.status, 200);
            assertHardened(sent.headers, 'a send answer', connect);
            const bad = await postUrlencoded(sys.sendUrl, message({ email: 'nope' }));
            assertHardened(bad.headers, 'a send handler error', connect);
            const raw = await rawHttp(sys.http.port, 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n');
            assert.strictEqual(raw.status, 400);
            assertHardened(raw.headers, 'a header-stage error', connect);
        } finally {
            await sys.stop();
        }
    });
}
