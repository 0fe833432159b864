'use strict';
/*
 * The gateway's Redis side against the faults that broke it: one client's
 * history requests meet its own cap; presence holds across hosts whose
 * clocks count from different boots; an ephemeral message that arrives
 * while a backfill runs is delivered in id order, not dropped; a resolver
 * that never answers does not stall the clients of the gateway asking it.
 *
 * The clock and resolver tests give one gateway its own CLOCK_MONOTONIC
 * (a time namespace) or its own /etc/resolv.conf (a mount namespace), and
 * the resolver test binds a UDP port 53: they need root, as ./build.sh
 * test has on CI, and fail (never skip) without it.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startSystem, httpStatus, sleep, waitFor } = require('../lib/system');
const { connect } = require('../lib/client');
const { Publisher } = require('../lib/gateway_publish');
const { Relay } = require('../lib/relay');
const { DnsServer } = require('../lib/dns');
const { SLOW } = require('../lib/expect');

/* The largest id: an empty range the gateway answers without Redis. */
const HEARTBEAT = '{"after_id":9223372036854775807}';

function requireRoot(what) {
    assert.strictEqual(process.getuid(), 0, `${what} needs root (namespaces, port 53)`);
}

function errors(c) {
    return c.statuses.filter((s) => s.type === 'error');
}

test('GW_SESSION_MAX_PENDING: N history requests in flight are taken, request N+1 is refused', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-cap',
        gatewayEnv: {
            GW_SESSION_MAX_PENDING: '3', GW_REDIS_PING_MS: '600000',
            GW_HISTORY_TIMEOUT_MS: '600000',
        },
    });
    let c;
    try {
        const pub = await Publisher.open(sys.redis.port);
        const sent = await pub.publish(5);
        await pub.settled(sys.gateways[0]);
        pub.close();
        /* Connected after the publishing: every frame is a reply. */
        c = await connect(sys.gateways[0].url);
        /* Redis holds every request: all three stay in flight. */
        sys.redis.proc.kill('SIGSTOP');
        for (let i = 0; i < 3; i++) c.send({ after_id: 0 });
        await sleep(500 * SLOW);
        assert.deepStrictEqual(errors(c), [], 'the first three are taken');
        c.send({ after_id: 0 });
        await c.until(() => errors(c).length === 1, 5000 * SLOW, 'the fourth refused');
        assert.match(errors(c)[0].error, /in flight/);
        sys.redis.proc.kill('SIGCONT');
        await c.until(() => c.frames.length >= 3, 10000 * SLOW, 'three replies');
        for (const f of c.frames) assert.deepStrictEqual(f.messages.map((m) => m.id), sent.map((m) => m.id));
        /* Answered requests free their places. */
        for (let i = 0; i < 3; i++) c.send({ after_id: 0 });
        await c.until(() => c.frames.length >= 6, 10000 * SLOW, 'three more replies');
        assert.strictEqual(errors(c).length, 1, 'still only the one refusal');
    } finally {
        sys.redis.proc.kill('SIGCONT');
        if (c) c.close();
        await sys.stop();
    }
});

function latestPresence(c) {
    const p = c.statuses.filter((s) => s.type === 'presence');
    return p.length ? p[p.length - 1].online : null;
}

test('presence counts every gateway when their hosts booted hours apart', { timeout: 60000 * SLOW }, async () => {
    requireRoot('a gateway with its own clock');
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-clocks',
        gatewayEnv: { GW_PRESENCE_REFRESH_MS: '200', GW_PRESENCE_TTL_S: '3' },
    });
    const clients = [];
    try {
        /* A host that booted an hour later reads an hour more uptime. */
        await sys.startGateway(1, {}, ['unshare', '--time', '--monotonic', '3600',
            '--boottime', '3600']);
        const [g0, g1] = sys.gateways;
        for (let i = 0; i < 2; i++) clients.push(await connect(g0.url));
        for (let i = 0; i < 3; i++) clients.push(await connect(g1.url));
        for (const c of clients) {
            await c.until(() => latestPresence(c) === 5, 10000 * SLOW, 'online 5 everywhere');
        }
        /* Several refreshes later nobody has erased anybody. */
        await sleep(2000);
        for (const c of clients) assert.strictEqual(latestPresence(c), 5, 'still 5');
        clients.pop().close();
        for (const c of clients) {
            await c.until(() => latestPresence(c) === 4, 10000 * SLOW, 'online 4 after one left');
        }
    } finally {
        clients.forEach((c) => c.close());
        await sys.stop();
    }
});

test('an ephemeral message that arrives during a backfill is delivered in id order', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 0, sendHandlers: 0, lighttpd: false, tag: 'gw-held' });
    const relay = await Relay.open(sys.redis.port);
    let c;
    try {
        const g = await sys.startGateway(0, {
            REDIS_PORT: String(relay.port), GW_REDIS_PING_MS: '600000',
            GW_REDIS_BACKOFF_MIN_MS: '20', GW_REDIS_BACKOFF_MAX_MS: '50',
        });
        c = await connect(g.url);
        const pub = await Publisher.open(sys.redis.port);
        const [first] = await pub.publish(1);
        await c.until(() => c.has(first.id), 5000 * SLOW, 'the first message');
        /* The resubscribe's backfill reaches Redis only when we say. */
        relay.hold('XRANGE');
        assert.strictEqual(relay.cut('SUBSCRIBE'), 1, 'the subscription cut');
        await relay.held;
        const [eph] = await pub.publish(1, { ephemeral: true, content: () => 'psst' });
        const [later] = await pub.publish(1);
        /* Both reach the gateway live while its backfill waits. */
        await sleep(300 * SLOW);
        relay.release();
        await c.until(() => c.has(later.id), 5000 * SLOW, 'the stored message after it');
        await sleep(200 * SLOW);
        assert.deepStrictEqual(c.ids(), [first.id, eph.id, later.id]);
        pub.close();
    } finally {
        if (c) c.close();
        relay.close();
        await sys.stop();
    }
});

test('a resolver that never answers does not stall the clients of the gateway asking it', { timeout: 90000 * SLOW }, async () => {
    requireRoot('a gateway with its own resolver');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-dns-'));
    const dns = await DnsServer.open('127.53.0.1');
    const sys = await startSystem({
        gateways: 0, sendHandlers: 0, lighttpd: false, tag: 'gw-dns', waitReady: false,
    });
    let c;
    try {
        fs.writeFileSync(path.join(dir, 'resolv.conf'), 'nameserver 127.53.0.1\noptions timeout:2 attempts:1\n');
        fs.writeFileSync(path.join(dir, 'hosts'), '127.0.0.1 localhost\n');
        dns.silent = true;
        /* Its own /etc/resolv.conf and /etc/hosts, as on another node. */
        const g = await sys.startGateway(0, {
            REDIS_HOST: 'redis.chat.test', GW_REDIS_BACKOFF_MIN_MS: '50',
            GW_REDIS_BACKOFF_MAX_MS: '200', GW_REDIS_CONNECT_TIMEOUT_MS: '500',
        }, ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
            'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts && shift 2 && exec "$@"',
            'sh', path.join(dir, 'resolv.conf'), path.join(dir, 'hosts')]);
        c = await connect(g.url);
        const lat = [];
        const end = Date.now() + 6000;
        while (Date.now() < end) {
            const before = c.frames.length;
            const t0 = Date.now();
            c.send(HEARTBEAT);
            await c.until(() => c.frames.length > before, 20000 * SLOW, 'a heartbeat answer');
            lat.push(Date.now() - t0);
            await sleep(50);
        }
        const worst = Math.max(...lat);
        console.log(`heartbeats ${lat.length}, worst answer ${worst} ms, DNS queries ${dns.queries}`);
        assert.ok(dns.queries >= 2, `the gateway asked the resolver (${dns.queries} queries)`);
        assert.ok(worst < 100 * SLOW, `worst heartbeat answer ${worst} ms`);
        /* Once the name resolves, the gateway finds Redis by it. */
        dns.set('redis.chat.test', '127.0.0.1');
        dns.silent = false;
        await waitFor('gateway ready', async () => (await httpStatus(`${g.httpUrl}/readyz`)) === 200, 20000 * SLOW);
    } finally {
        if (c) c.close();
        await sys.stop();
        dns.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
