'use strict';
/*
 * Gateway life cycle and limits: SIGTERM closes every client with 1001 and
 * exits promptly; presence counts clients across two gateways; the
 * connection cap refuses the next handshake; keepalive pings drop a silent
 * peer but keep a live one.
 */
const test = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const { startSystem, sleep, freePort } = require('../lib/system');
const { Publisher } = require('../lib/gateway_publish');
const { connect, ChatClient } = require('../lib/client');

test('SIGTERM closes every client with 1001 "going away" and the gateway exits', { timeout: 60000 }, async () => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-sigterm' });
    try {
        const g = sys.gateways[0];
        const clients = [await connect(g.url), await connect(g.url), await connect(g.url)];
        const t0 = Date.now();
        g.proc.kill('SIGTERM');
        const exit = await g.proc.exited;
        const took = Date.now() - t0;
        for (const c of clients) {
            await c.until(() => c.closed, 5000, 'close');
            assert.strictEqual(c.closed.code, 1001);
            assert.strictEqual(c.closed.reason, 'going away');
        }
        assert.deepStrictEqual(exit, { code: 0, signal: null });
        assert.ok(took < 4000, `exited after ${took} ms`);
        console.log(`SIGTERM with 3 clients: exited in ${took} ms`);
    } finally {
        await sys.stop();
    }
});

test('SIGTERM with a client that never answers still exits within the grace period', { timeout: 60000 }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-sigterm-stuck',
        gatewayEnv: {
            GW_SHUTDOWN_GRACE_MS: '1000', GW_QUEUE_MAX_BYTES: String(256 * 1024 * 1024),
            GW_QUEUE_MAX_MSGS: '100000',
        },
    });
    try {
        const g = sys.gateways[0];
        const ok = await connect(g.url);
        const stuck = await connect(g.url);
        stuck.ws._socket.pause();
        /* Fill the stuck client's socket buffers so it is never writable. */
        const pub = await Publisher.open(sys.redis.port);
        const big = 'z'.repeat(4000);
        let last;
        for (let round = 0; round < 5; round++) last = await pub.publish(1000, { content: () => big });
        pub.close();
        await ok.until(() => ok.has(last[last.length - 1].id), 60000, 'the flood');
        const t0 = Date.now();
        g.proc.kill('SIGTERM');
        const exit = await g.proc.exited;
        const took = Date.now() - t0;
        assert.deepStrictEqual(exit, { code: 0, signal: null });
        assert.ok(took >= 900 && took < 4000, `exited after ${took} ms`);
        await ok.until(() => ok.closed, 5000, 'close');
        assert.strictEqual(ok.closed.code, 1001);
        stuck.ws.terminate();
    } finally {
        await sys.stop();
    }
});

function latestPresence(c) {
    const p = c.statuses.filter((s) => s.type === 'presence');
    return p.length ? p[p.length - 1].online : null;
}

test('presence counts the clients of every gateway', { timeout: 60000 }, async () => {
    const sys = await startSystem({
        gateways: 2, sendHandlers: 0, lighttpd: false, tag: 'gw-presence',
        gatewayEnv: { GW_PRESENCE_REFRESH_MS: '200' },
    });
    const clients = [];
    try {
        const [g0, g1] = sys.gateways;
        const a1 = await connect(g0.url);
        clients.push(a1);
        await a1.until(() => latestPresence(a1) === 1, 5000, 'a presence status on connect');
        const a2 = await connect(g0.url);
        const b1 = await connect(g1.url);
        clients.push(a2, b1);
        for (const c of clients) {
            await c.until(() => latestPresence(c) === 3, 10000, 'online 3 everywhere');
        }
        a2.close();
        for (const c of [a1, b1]) {
            await c.until(() => latestPresence(c) === 2, 10000, 'online 2 after one left');
        }
        /* At most one push a second: a burst of joins is not a burst of statuses. */
        const before = b1.statuses.length;
        const burst = [];
        for (let i = 0; i < 5; i++) burst.push(await connect(g0.url));
        clients.push(...burst);
        await b1.until(() => latestPresence(b1) === 7, 10000, 'online 7');
        await sleep(1200);
        assert.ok(b1.statuses.length - before <= 4, `${b1.statuses.length - before} presence pushes`);
    } finally {
        clients.forEach((c) => c.close());
        await sys.stop();
    }
});

test('GW_MAX_CONNECTIONS: connection N is served, N+1 is refused', { timeout: 60000 }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-maxconn',
        gatewayEnv: { GW_MAX_CONNECTIONS: '2' },
    });
    try {
        const url = sys.gateways[0].url;
        const a = await connect(url);
        const b = await connect(url);
        await assert.rejects(new ChatClient(url).opened, /503/);
        a.close();
        await a.until(() => a.closed, 5000);
        await sleep(200);
        const c = await connect(url);
        assert.deepStrictEqual(await c.request({ after_id: 0 }), []);
        b.close();
        c.close();
    } finally {
        await sys.stop();
    }
});

/* A raw WebSocket handshake, then silence: never answers a ping. */
function silentPeer(port) {
    return new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        let head = '';
        s.on('connect', () => s.write('GET /chatapp/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
            'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
        s.on('data', (d) => {
            head += d.toString('latin1');
            if (head.includes('\r\n\r\n') && !s.upgraded) {
                s.upgraded = true;
                if (!head.startsWith('HTTP/1.1 101')) reject(new Error(head));
                s.closedAt = new Promise((r) => s.on('close', () => r(Date.now())));
                resolve(s);
            }
        });
        s.on('error', () => {});
    });
}

test('keepalive: a silent peer is dropped after the ping timeout, a live one stays', { timeout: 60000 }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-keepalive',
        gatewayEnv: { GW_PING_INTERVAL_S: '1', GW_PING_TIMEOUT_S: '2' },
    });
    try {
        const g = sys.gateways[0];
        const live = await connect(g.url);
        let pings = 0;
        live.ws.on('ping', () => pings++);
        const t0 = Date.now();
        const silent = await silentPeer(g.port);
        const closedAt = await Promise.race([silent.closedAt, sleep(10000).then(() => null)]);
        assert.ok(closedAt, 'the silent peer was dropped');
        assert.ok(closedAt - t0 >= 1500 && closedAt - t0 < 6000, `dropped after ${closedAt - t0} ms`);
        await sleep(Math.max(0, 3500 - (Date.now() - t0)));
        assert.strictEqual(live.closed, null);
        assert.ok(pings >= 1, `${pings} pings seen`);
        live.close();
    } finally {
        await sys.stop();
    }
});

test('through lighttpd: a same-origin page connects and gets history and live messages; a foreign one is refused', { timeout: 60000 }, async () => {
    const sys = await startSystem({ gateways: 2, sendHandlers: 0, lighttpd: false, tag: 'gw-proxied' });
    const clients = [];
    try {
        /* No send handler is needed here; lighttpd only wants a backend named. */
        sys.sendHandlers.push({ port: await freePort() });
        await sys.startLighttpd();
        const pub = await Publisher.open(sys.redis.port);
        const stored = await pub.publish(3);
        const origin = sys.httpUrl;
        for (let i = 0; i < 4; i++) clients.push(await connect(sys.wsUrl, { origin }));
        for (const c of clients) {
            assert.deepStrictEqual(await c.request({ first_id: 0, last_id: -1 }), stored);
        }
        const live = await pub.publish(2);
        for (const c of clients) {
            await c.until(() => live.every((m) => c.has(m.id)), 10000, 'live messages through the proxy');
        }
        await assert.rejects(new ChatClient(sys.wsUrl, { origin: 'http://evil.example' }).opened, /403/);
        pub.close();
    } finally {
        clients.forEach((c) => c.close());
        await sys.stop();
    }
});
