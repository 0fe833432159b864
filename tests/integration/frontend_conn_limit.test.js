'use strict';
/*
 * Connections per client address at the front end (CHAT_HTTP_CONNS_PER_ADDR,
 * conf/per_address.lua): an address holding N of lighttpd's connections
 * (WebSockets through the tunnel, keep-alive HTTP, a send) gets every
 * request answered; a request on its N+1th is refused with 429 and PROTOCOL
 * §2's JSON, and the connection closed; once one of the N closes, a new
 * one is served again. Another address is not affected. The default (1000)
 * lets a NAT of a few hundred users through: tested at 1000 and 1001.
 */
const test = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const { startSystem, sleep } = require('../lib/system');
const { ChatClient, connect, message } = require('../lib/client');
const { SLOW, assertError, send } = require('../lib/expect');
const { rawHttp } = require('../lib/rawhttp');

const DEFAULT_LIMIT = 1000;

/*
 * One keep-alive connection that has been answered once and stays open,
 * from localAddress (127.0.0.1, or another loopback address).
 */
function keptAlive(port, localAddress = '127.0.0.1') {
    return new Promise((resolve, reject) => {
        const s = net.connect({ port, host: '127.0.0.1', localAddress });
        let text = '';
        s.on('error', reject);
        s.on('connect', () => s.write('GET /favicon.svg HTTP/1.1\r\nHost: localhost\r\n\r\n'));
        s.on('data', (d) => {
            text += d;
            const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
            const len = /content-length: (\d+)/i.exec(text);
            const end = text.indexOf('\r\n\r\n');
            if (m && len && end >= 0 && Buffer.byteLength(text) >= end + 4 + Number(len[1])) {
                s.removeAllListeners('data');
                resolve({ status: Number(m[1]), socket: s });
            }
        });
    });
}

/* The handshake of a WebSocket through lighttpd: the client or its refusal. */
async function tryWebSocket(url) {
    const c = new ChatClient(url);
    const refused = new Promise((resolve) => c.ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode, headers: { get: (k) => res.headers[k.toLowerCase()] ?? null }, body }));
    }));
    const r = await Promise.race([c.opened.then(() => null), refused]);
    return r ? { refused: r } : { client: c };
}

test('at N connections from one address every request is served; the N+1th is refused with 429', { timeout: 60000 * SLOW }, async () => {
    const N = 6;
    const sys = await startSystem({ gateways: 1, tag: 'front-conn-limit', lighttpdEnv: { CHAT_HTTP_CONNS_PER_ADDR: String(N) } });
    const open = [];
    try {
        /* N-1 WebSockets and one keep-alive HTTP connection: N in all. */
        for (let i = 0; i < N - 1; i++) {
            const r = await tryWebSocket(sys.wsUrl);
            assert.ok(r.client, `WebSocket ${i + 1} of ${N}: ${JSON.stringify(r.refused)}`);
            open.push(r.client);
        }
        const kept = await keptAlive(sys.http.port);
        assert.strictEqual(kept.status, 200, `connection ${N} of ${N} is served`);

        const over = await tryWebSocket(sys.wsUrl);
        assert.ok(over.refused, 'a WebSocket on connection N+1 is refused');
        assertError(over.refused, 429, null, 'WebSocket N+1');
        assert.match(JSON.parse(over.refused.body).error, /too many connections/);
        const post = await rawHttp(sys.http.port, 'POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n' +
            'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=b');
        assertError(post, 429, null, 'a send on connection N+1');
        assert.ok(Number(post.headers.get('retry-after')) >= 1, 'with Retry-After');

        /* The N open ones keep working: the tunnel and the kept-alive one. */
        const refusedSend = await send(sys.sendUrl, message({ content: 'while at the limit' })).catch((e) => e);
        assert.ok(refusedSend instanceof Error, 'a send on yet another connection is refused too');
        kept.socket.write('GET /favicon.svg HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
        const again = await new Promise((resolve) => {
            let t = '';
            kept.socket.on('data', (d) => { t += d; });
            kept.socket.on('close', () => resolve(t));
        });
        assert.match(again, /^HTTP\/1\.1 200 /, 'a request on one of the N connections is served');

        /* That one closed: N-1 open, so a new connection is served. */
        await sleep(100);
        const back = await tryWebSocket(sys.wsUrl);
        assert.ok(back.client, 'with one closed, a new WebSocket is accepted again');
        open.push(back.client);
        const live = await send(sys.sendUrl, message({ content: 'after one closed' })).catch((e) => e);
        assert.ok(live instanceof Error, 'and at N again, one more is refused');
        const gone = open.pop();
        gone.close();
        await gone.until(() => gone.closed, 5000 * SLOW, 'the close');
        await sleep(100);
        const ok = await send(sys.sendUrl, message({ content: 'below the limit' }));
        for (const c of open) await c.until(() => c.has(ok.id), 10000 * SLOW, 'live delivery to the N-1 tunnels');
    } finally {
        for (const c of open) c.close();
        await sys.stop();
    }
});

test('the default lets 1000 connections from one address in, not 1001; others are unaffected', { timeout: 120000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, tag: 'front-conn-default' });
    const socks = [];
    try {
        for (let i = 0; i < DEFAULT_LIMIT; i += 50) {
            const batch = await Promise.all(Array.from({ length: Math.min(50, DEFAULT_LIMIT - i) }, () => keptAlive(sys.http.port)));
            for (const b of batch) {
                assert.strictEqual(b.status, 200, `connection ${socks.length + 1} of ${DEFAULT_LIMIT}`);
                socks.push(b.socket);
            }
        }
        const over = await rawHttp(sys.http.port, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
        assertError(over, 429, null, `connection ${DEFAULT_LIMIT + 1}`);
        /* 127.0.0.2 is another address of the loopback: its own count. */
        const other = await keptAlive(sys.http.port, '127.0.0.2').catch((e) => ({ status: e.message }));
        if (other.socket) other.socket.destroy();
        assert.strictEqual(other.status, 200, 'another address is served');
        socks.pop().destroy();
        await sleep(100);
        const ws = await connect(sys.wsUrl);
        ws.close();
        console.log(`figures: ${DEFAULT_LIMIT} connections from one address held, the next refused with 429`);
    } finally {
        for (const s of socks) s.destroy();
        await sys.stop();
    }
});
