'use strict';
/*
 * The gateway's limits per client address: connections, and the history
 * budget (requests and reply bytes per second), each at N and N+1; who
 * the client is behind a trusted proxy (X-Forwarded-For) and behind an
 * untrusted one (the peer itself); and the process-wide bound on reply
 * bytes waiting for clients that do not read.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, sleep, waitFor } = require('../lib/system');
const { connect, ChatClient } = require('../lib/client');
const { Publisher, metrics } = require('../lib/gateway_publish');
const { SLOW } = require('../lib/expect');

function errors(c) {
    return c.statuses.filter((s) => s.type === 'error');
}

/* As if lighttpd had proxied a client from addr. */
function from(addr) {
    return { headers: { 'X-Forwarded-For': addr } };
}

test('GW_MAX_CONNECTIONS_PER_ADDRESS: N connections from one address, N+1 refused with 429', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-per-addr',
        gatewayEnv: { GW_MAX_CONNECTIONS_PER_ADDRESS: '2' },
    });
    const open = [];
    try {
        const g = sys.gateways[0];
        open.push(await connect(g.url), await connect(g.url));
        await assert.rejects(new ChatClient(g.url).opened, /429/);
        /* Another client behind the trusted proxy (127.0.0.1) is its own. */
        open.push(await connect(g.url, from('198.51.100.7')), await connect(g.url, from('198.51.100.7')));
        await assert.rejects(new ChatClient(g.url, from('198.51.100.7')).opened, /429/);
        /* What a client writes left of the proxy's entry proves nothing. */
        await assert.rejects(new ChatClient(g.url, from('203.0.113.1, 198.51.100.7')).opened, /429/);
        const one = open.shift();
        one.close();
        await one.until(() => one.closed, 5000 * SLOW, 'close');
        await sleep(100);
        open.push(await connect(g.url));
        const m = await metrics(g);
        assert.strictEqual(m['chat_gw_refused_total{reason="address"}'], 3);
        assert.strictEqual(m.chat_gw_connections, 4);
    } finally {
        open.forEach((c) => c.close());
        await sys.stop();
    }
});

test('an untrusted peer is counted as itself, whatever X-Forwarded-For it sends', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-untrusted',
        gatewayEnv: { GW_MAX_CONNECTIONS_PER_ADDRESS: '2', GW_TRUSTED_PROXIES: '' },
    });
    const open = [];
    try {
        const g = sys.gateways[0];
        open.push(await connect(g.url, from('198.51.100.1')), await connect(g.url, from('198.51.100.2')));
        await assert.rejects(new ChatClient(g.url, from('198.51.100.3')).opened, /429/);
    } finally {
        open.forEach((c) => c.close());
        await sys.stop();
    }
});

test('the history budget per address: the burst is served, the next request refused, another address served', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-budget',
        gatewayEnv: { GW_HISTORY_RATE: '1', GW_HISTORY_BURST: '3' },
    });
    const clients = [];
    try {
        const g = sys.gateways[0];
        const pub = await Publisher.open(sys.redis.port);
        await pub.publish(3);
        await pub.settled(g);
        pub.close();
        const a = await connect(g.url, from('198.51.100.1'));
        const b = await connect(g.url, from('198.51.100.1'));
        const other = await connect(g.url, from('198.51.100.2'));
        clients.push(a, b, other);
        /* Two clients of one address share its budget of three. */
        assert.strictEqual((await a.request({ after_id: 0 })).length, 3);
        assert.strictEqual((await b.request({ after_id: 0 })).length, 3);
        assert.strictEqual((await a.request({ after_id: 0 })).length, 3);
        b.send({ after_id: 0, req: 'over' });
        await b.until(() => errors(b).length === 1, 5000 * SLOW, 'the fourth refused');
        assert.strictEqual(errors(b)[0].req, 'over');
        assert.match(errors(b)[0].error, /your address/);
        assert.strictEqual((await other.request({ after_id: 0 })).length, 3);
        /* One a second: served again a second later. */
        await sleep(1100);
        assert.strictEqual((await b.request({ after_id: 0 })).length, 3);
        const m = await metrics(g);
        assert.strictEqual(m['chat_gw_history_requests_total{status="limited"}'], 1);
    } finally {
        clients.forEach((c) => c.close());
        await sys.stop();
    }
});

test('reply bytes are charged to the address: past its byte budget requests wait for the refill', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-bytes',
        /* The smallest byte budget: 64 KiB at once, 4 KiB a second after. */
        gatewayEnv: { GW_HISTORY_BYTES_BURST: '65536', GW_HISTORY_BYTES_RATE: '4096' },
    });
    let c;
    try {
        const pub = await Publisher.open(sys.redis.port);
        await pub.publish(100, { content: (i) => `${i} `.padEnd(1000, 'x') });
        await pub.settled(sys.gateways[0]);
        pub.close();
        c = await connect(sys.gateways[0].url);
        /* Each reply of 100 messages is about 110 KB: the first goes
         * (the budget was whole), the second finds it spent. */
        assert.strictEqual((await c.request({ after_id: 0 })).length, 100);
        c.send({ after_id: 0, req: 'spent' });
        await c.until(() => errors(c).length === 1, 5000 * SLOW, 'refused');
        assert.match(errors(c)[0].error, /your address/);
    } finally {
        if (c) c.close();
        await sys.stop();
    }
});

test('GW_HISTORY_QUEUED_MAX_BYTES: replies nobody reads stop new requests, for everyone, until read', { timeout: 90000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-queued',
        gatewayEnv: { GW_HISTORY_QUEUED_MAX_BYTES: '1048576' },
    });
    let stalled;
    try {
        const g = sys.gateways[0];
        const pub = await Publisher.open(sys.redis.port);
        await pub.publish(500, { content: (i) => `${i} `.padEnd(4000, 'y') });
        await pub.settled(g);
        pub.close();
        /* A client that asks for 2 MB three times and never reads: the
         * first reply sits in its socket, the other two wait in the
         * gateway. */
        stalled = await connect(g.url, from('198.51.100.10'));
        stalled.ws._socket.pause();
        for (let k = 0; k < 3; k++) stalled.send({ after_id: 0 });
        await waitFor('the three answered and waiting', async () => {
            const m = await metrics(g);
            return m['chat_gw_history_requests_total{status="ok"}'] === 3 &&
                m.chat_gw_history_queued_bytes > 1048576;
        }, 30000 * SLOW);
        const c = await connect(g.url);
        c.send({ after_id: 499, req: 'busy' });
        await c.until(() => c.statuses.some((s) => s.req === 'busy'), 5000 * SLOW, 'an answer');
        const answer = c.statuses.find((s) => s.req === 'busy');
        assert.strictEqual(answer.type, 'error', JSON.stringify(answer).slice(0, 200));
        assert.match(answer.error, /busy/);
        assert.strictEqual((await metrics(g))['chat_gw_history_requests_total{status="busy"}'], 1);
        /* Once it goes, its replies go with it and requests are served. */
        stalled.ws.terminate();
        await waitFor('queued replies freed', async () => (await metrics(g)).chat_gw_history_queued_bytes === 0,
            10000 * SLOW);
        assert.strictEqual((await c.request({ after_id: 499 })).length, 1);
        c.close();
    } finally {
        if (stalled) stalled.ws.terminate();
        await sys.stop();
    }
});

test('refusals are logged a few at a time with the rest counted, not one line each', { timeout: 60000 * SLOW }, async () => {
    const fs = require('node:fs');
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-loglimit',
        gatewayEnv: { LOG_REPEAT_BURST: '5', LOG_REPEAT_INTERVAL_MS: '1000' },
    });
    try {
        const g = sys.gateways[0];
        const N = 300;
        for (let i = 0; i < N; i++) {
            await assert.rejects(new ChatClient(g.url, { origin: 'http://evil.example' }).opened, /403/);
        }
        /* The window closes within a second; the sweep writes its count. */
        await waitFor('the summary', async () => {
            const all = fs.readFileSync(g.proc.logPath, 'utf8');
            return /event=suppressed kind=refused_origin/.test(all.slice(all.lastIndexOf('event=listening')));
        }, 10000 * SLOW);
        /* Logs are appended to across runs: this gateway's start on. */
        const all = fs.readFileSync(g.proc.logPath, 'utf8');
        const log = all.slice(all.lastIndexOf('event=listening'));
        const lines = log.split('\n').filter((l) => /event=refused reason=origin/.test(l)).length;
        const held = [...log.matchAll(/event=suppressed kind=refused_origin lines=(\d+)/g)]
            .reduce((n, m) => n + Number(m[1]), 0);
        console.log(`${N} refusals: ${lines} lines written, ${held} counted in summaries`);
        assert.strictEqual(lines + held, N, 'every refusal accounted for');
        assert.ok(lines < N / 10, `${lines} lines for ${N} refusals`);
        assert.strictEqual((await metrics(g))['chat_gw_refused_total{reason="origin"}'], N);
    } finally {
        await sys.stop();
    }
});
