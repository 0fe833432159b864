'use strict';
/*
 * Issue 15 row 6: POST /chatapp/send refuses another site's page. Real
 * requests through lighttpd with the headers a browser writes (Origin,
 * Sec-Fetch-Site, Host): a refused post gets the JSON 403 and nothing is
 * stored; the page's own origin, and clients that send neither header
 * (curl, scripts), still send. With SEND_ALLOWED_ORIGINS the list decides,
 * which also stops the DNS-rebinding shape same-origin cannot.
 */
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startSystem, freePort, BUILD_DIR } = require('../lib/system');
const { message } = require('../lib/client');
const { rawHttp } = require('../lib/rawhttp');
const { okMessage, assertError } = require('../lib/expect');

let seq = 0;

/* A urlencoded POST with exactly these extra headers (host: the Host). */
function post(sys, { host, headers = {}, content }) {
    const body = new URLSearchParams(message({ content })).toString();
    const lines = [
        'POST /chatapp/send HTTP/1.1',
        `Host: ${host || `127.0.0.1:${sys.http.port}`}`,
        'Content-Type: application/x-www-form-urlencoded',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    return rawHttp(sys.http.port, `${lines.join('\r\n')}\r\n\r\n${body}`);
}

function stored(sys, content) {
    return sys.redisCli('XRANGE', 'messages:history', '-', '+').includes(content);
}

async function expectRefused(sys, what, req) {
    const content = `refused ${seq++}: ${what}`;
    const e = assertError(await post(sys, { ...req, content }), 403, null, what);
    assert.match(e.error, /not allowed|may not send/, what);
    assert.strictEqual(stored(sys, content), false, `${what}: nothing stored`);
}

async function expectSent(sys, what, req) {
    const content = `sent ${seq++}: ${what}`;
    const m = okMessage(await post(sys, { ...req, content }), what);
    assert.strictEqual(m.content, content);
    assert.strictEqual(stored(sys, content), true, `${what}: stored`);
}

test('same origin by default: the page itself, curl and scripts send; another site does not', async () => {
    const sys = await startSystem({ gateways: 1, tag: 'send-xsite' });
    try {
        const self = `http://127.0.0.1:${sys.http.port}`;
        await expectSent(sys, 'no Origin, no Sec-Fetch-Site (curl)', {});
        await expectSent(sys, 'the page itself', {
            headers: { Origin: self, 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors' },
        });
        await expectSent(sys, 'the page, Host with another case', {
            host: `LOCALHOST:${sys.http.port}`, headers: { Origin: `http://localhost:${sys.http.port}` },
        });
        await expectSent(sys, 'Sec-Fetch-Site none (typed by the user)', { headers: { 'Sec-Fetch-Site': 'none' } });
        await expectRefused(sys, 'a form on another site', {
            headers: { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' },
        });
        await expectRefused(sys, 'another origin without fetch metadata', { headers: { Origin: 'http://evil.example' } });
        await expectRefused(sys, 'same host, other scheme', { headers: { Origin: `https://127.0.0.1:${sys.http.port}` } });
        await expectRefused(sys, 'same host, other port', { headers: { Origin: `http://127.0.0.1:${sys.http.port + 1}` } });
        await expectRefused(sys, 'a sandboxed frame (Origin null)', { headers: { Origin: 'null' } });
        await expectRefused(sys, 'cross-site without an Origin', { headers: { 'Sec-Fetch-Site': 'cross-site' } });
        await expectRefused(sys, 'a sibling subdomain (same-site)', {
            host: `chat.example:${sys.http.port}`,
            headers: { Origin: `http://www.chat.example:${sys.http.port}`, 'Sec-Fetch-Site': 'same-site' },
        });
        /* A rebound name would be its own origin: same origin holds only
         * for a Host that is an address or localhost. */
        await expectRefused(sys, 'DNS-rebinding shape under same origin', {
            host: `evil.example:${sys.http.port}`, headers: { Origin: `http://evil.example:${sys.http.port}` },
        });
        const text = await (await fetch(`http://127.0.0.1:${sys.sendHandlers[0].healthPort}/metrics`)).text();
        assert.match(text, /chat_send_requests_total\{status="403"\} 8\n/);
    } finally {
        await sys.stop();
    }
});

test('SEND_ALLOWED_ORIGINS: only the listed origins, a wild host, or * send', async () => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'send-xsite-list' });
    try {
        await sys.startSendHandler(0, { SEND_ALLOWED_ORIGINS: 'https://chat.example, http://*:30999' });
        await sys.startLighttpd();
        const self = `http://127.0.0.1:${sys.http.port}`;
        await expectSent(sys, 'a listed origin, cross-site on purpose', {
            headers: { Origin: 'https://chat.example', 'Sec-Fetch-Site': 'cross-site' },
        });
        await expectSent(sys, 'the wild host', { headers: { Origin: 'http://anything.example:30999' } });
        await expectSent(sys, 'no Origin (curl)', {});
        await expectRefused(sys, 'the front end itself, not listed', { headers: { Origin: self } });
        await expectRefused(sys, 'the DNS-rebinding shape', {
            host: `evil.example:${sys.http.port}`, headers: { Origin: `http://evil.example:${sys.http.port}` },
        });
        await expectRefused(sys, 'a listed host on another port', { headers: { Origin: 'https://chat.example:8443' } });
        await expectRefused(sys, 'cross-site without an Origin', { headers: { 'Sec-Fetch-Site': 'cross-site' } });
    } finally {
        await sys.stop();
    }
});

test('a bad SEND_ALLOWED_ORIGINS stops the handler at start, naming the entry', async () => {
    const r = spawnSync(path.join(BUILD_DIR, 'chat-send'), [], {
        env: {
            ...process.env, SEND_PORT: String(await freePort()), SEND_HEALTH_PORT: '0',
            SEND_ALLOWED_ORIGINS: 'http://ok.example, chat.example/',
        },
        encoding: 'utf8', timeout: 10000,
    });
    assert.strictEqual(r.status, 2, `exit status: ${r.status} ${r.stderr}`);
    assert.match(r.stderr, /var=SEND_ALLOWED_ORIGINS entry="chat\.example\/"/);
});
