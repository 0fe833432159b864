'use strict';
/*
 * Running the send handler: probes and metrics on its own port, one JSON
 * log line per non-2xx answer (never the message), lighttpd balancing
 * over several handlers, a slow upload that holds no worker, and SIGTERM.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');
const { startSystem, sleep, httpStatus } = require('../lib/system');
const { postForm, postUrlencoded, message } = require('../lib/client');
const { SLOW, okMessage, assertError, send } = require('../lib/expect');
const { fcgiRequest } = require('../lib/fcgi');

async function metrics(h) {
    const r = await fetch(`http://127.0.0.1:${h.healthPort}/metrics`);
    assert.strictEqual(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /^text\/plain/);
    const out = {};
    for (const line of (await r.text()).split('\n')) {
        if (!line || line.startsWith('#')) continue;
        const i = line.lastIndexOf(' ');
        out[line.slice(0, i)] = Number(line.slice(i + 1));
    }
    return out;
}

const OK = 'chat_send_requests_total{status="200"}';

test('probes, metrics and JSON logs of one handler', async (t) => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 1, tag: 'send-ops', sendEnv: { SEND_THREADS: '3' } });
    try {
        const h = sys.sendHandlers[0];
        await t.test('healthz and readyz answer 200, unknown paths 404', async () => {
            assert.strictEqual(await httpStatus(`http://127.0.0.1:${h.healthPort}/healthz`), 200);
            assert.strictEqual(await httpStatus(`http://127.0.0.1:${h.healthPort}/readyz`), 200);
            assert.strictEqual(await httpStatus(`http://127.0.0.1:${h.healthPort}/nope`), 404);
        });

        await t.test('metrics count answers by status, latency and messages', async () => {
            const before = await metrics(h);
            assert.strictEqual(before.chat_send_threads, 3, 'SEND_THREADS is honoured');
            await send(sys.sendUrl, message({ content: 'counted' }));
            await send(sys.sendUrl, message({ content: 'counted, ephemeral', ephemeral: 'on' }));
            assertError(await postForm(sys.sendUrl, message({ email: 'nope' })), 400, 'email');
            assertError(await postUrlencoded(sys.sendUrl, 'a=%zz'), 400);
            const r = await fetch(sys.sendUrl, { method: 'PUT' });
            await r.text();
            const after = await metrics(h);
            const d = (k) => (after[k] || 0) - (before[k] || 0);
            assert.strictEqual(d(OK), 2);
            assert.strictEqual(d('chat_send_requests_total{status="400"}'), 2);
            assert.strictEqual(d('chat_send_requests_total{status="405"}'), 1);
            assert.strictEqual(d('chat_send_messages_total{kind="stored"}'), 1);
            assert.strictEqual(d('chat_send_messages_total{kind="ephemeral"}'), 1);
            assert.strictEqual(d('chat_send_request_duration_seconds_count'), 5);
            assert.strictEqual(after['chat_send_request_duration_seconds_bucket{le="+Inf"}'],
                after.chat_send_request_duration_seconds_count);
            assert.strictEqual(after.chat_send_redis_up, 1);
        });

        await t.test('each non-2xx answer is one JSON log line without the message', async () => {
            const secret = `secret-content-${process.pid}`;
            assertError(await postForm(sys.sendUrl, message({ email: 'bad-at-nothing', content: secret })), 400, 'email');
            await sleep(100);
            const lines = fs.readFileSync(h.proc.logPath, 'utf8').split('\n');
            const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
            const mine = json.filter((e) => e.field === 'email' && e.status === 400);
            assert.ok(mine.length >= 1, 'the 400 was logged');
            const e = mine[mine.length - 1];
            assert.strictEqual(e.component, 'send');
            assert.strictEqual(e.method, 'POST');
            assert.match(e.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
            assert.ok(Number.isInteger(e.duration_us) && e.duration_us >= 0);
            assert.ok(e.body_bytes > 0);
            assert.ok(!lines.some((l) => l.includes(secret) || l.includes('bad-at-nothing')),
                'neither content nor email reaches the log');
            assert.ok(!json.some((x) => x.status === 200), '200s are not logged');
        });
    } finally {
        await sys.stop();
    }
});

test('lighttpd spreads sends over every handler and routes around a dead one', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 3, tag: 'send-balance' });
    try {
        const before = await Promise.all(sys.sendHandlers.map(metrics));
        for (let i = 0; i < 30; i++) await send(sys.sendUrl, message({ content: `spread ${i}` }));
        const after = await Promise.all(sys.sendHandlers.map(metrics));
        const share = after.map((m, i) => m[OK] - before[i][OK]);
        assert.strictEqual(share.reduce((a, b) => a + b, 0), 30);
        for (const n of share) assert.ok(n >= 5, `every handler took a share: ${share}`);

        await sys.stopSendHandler(1, 'SIGKILL');
        const statuses = [];
        for (let i = 0; i < 30; i++) {
            statuses.push((await postForm(sys.sendUrl, message({ content: `around ${i}` }))).status);
        }
        assert.deepStrictEqual([...new Set(statuses)], [200], `every send answered by a live handler: ${statuses}`);

        /* None left: lighttpd's own 503, still the JSON error of §2. */
        await sys.stopSendHandler(0, 'SIGKILL');
        await sys.stopSendHandler(2, 'SIGKILL');
        assertError(await postForm(sys.sendUrl, message({ content: 'nobody there' })), 503, null, 'no handler');
    } finally {
        await sys.stop();
    }
});

test('a client uploading slowly holds no send handler worker', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 1, tag: 'send-slow', sendEnv: { SEND_THREADS: '1' } });
    const sockets = [];
    try {
        /* Three uploads that promise 1000 bytes and send 10: lighttpd
         * holds them; the single worker must stay free. */
        for (let i = 0; i < 3; i++) {
            const s = net.connect(sys.http.port, '127.0.0.1');
            s.on('error', () => {});
            s.write('POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\n' +
                'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nname=Slow&');
            sockets.push(s);
        }
        await sleep(300);
        const started = Date.now();
        const fd = new FormData();
        for (const [k, v] of Object.entries(message({ content: 'not stuck behind slow uploads' }))) fd.append(k, v);
        const r = await fetch(sys.sendUrl, { method: 'POST', body: fd, signal: AbortSignal.timeout(5000 * SLOW) });
        const m = okMessage({ status: r.status, headers: r.headers, body: await r.text() });
        assert.ok(Date.now() - started < 3000 * SLOW, `answered in ${Date.now() - started} ms`);
        assert.strictEqual(m.content, 'not stuck behind slow uploads');
    } finally {
        for (const s of sockets) s.destroy();
        await sys.stop();
    }
});

test('SIGTERM: the handler stops accepting, finishes, and exits 0 promptly', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 1, tag: 'send-term' });
    try {
        const h = sys.sendHandlers[0];
        okMessage(await postForm(sys.sendUrl, message({ content: 'before SIGTERM' })));
        const started = Date.now();
        h.proc.kill('SIGTERM');
        const { code, signal } = await h.proc.exited;
        assert.strictEqual(signal, null, 'exited by itself, not killed');
        assert.strictEqual(code, 0);
        assert.ok(Date.now() - started < 3000 * SLOW, `exited ${Date.now() - started} ms after SIGTERM`);
        const log = fs.readFileSync(h.proc.logPath, 'utf8');
        assert.match(log, /event=stopping signal=15/);
        assert.match(log, /event=stopped/);
    } finally {
        await sys.stop();
    }
});

/*
 * A connection the kernel has queued on the listener was promised an
 * answer; closing the listener at SIGTERM would reset it and lighttpd
 * would answer 500 for a request nobody refused. With one worker held by a
 * half-sent request, five more wait in the queue when SIGTERM comes.
 */
test('SIGTERM: the request in progress and those queued behind it are all answered', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 1, tag: 'send-drain', sendEnv: { SEND_THREADS: '1' } });
    try {
        const h = sys.sendHandlers[0];
        const form = (i) => new URLSearchParams(message({ content: `drain ${i}` })).toString();
        const held = fcgiRequest(h.port, { body: form(0) });
        await held.connected;
        held.sendHead();
        await sleep(200 * SLOW);
        const queued = [];
        for (let i = 1; i <= 5; i++) {
            const r = fcgiRequest(h.port, { body: form(i) });
            await r.connected;
            r.sendHead();
            r.sendBody();
            queued.push(r);
        }
        await sleep(100 * SLOW);
        h.proc.kill('SIGTERM');
        /* Not scaled by SLOW: the drain's 5 s bound runs from SIGTERM, and
         * under valgrind the six requests still need most of it. */
        await sleep(1000);
        assert.strictEqual(h.proc.exitCode, null, 'still serving the request in progress');
        held.sendBody();
        const replies = await Promise.all([held, ...queued].map((r) => r.reply));
        replies.forEach((r, i) => {
            assert.ok(!r.reset, `request ${i} was answered, not reset (${r.why})`);
            assert.strictEqual(r.status, 200, `request ${i}: ${r.body}`);
            assert.strictEqual(JSON.parse(r.body).content, `drain ${i}`);
        });
        const { code, signal } = await h.proc.exited;
        assert.deepStrictEqual({ code, signal }, { code: 0, signal: null });
        const stored = sys.redisCli('XRANGE', 'messages:history', '-', '+').match(/drain \d/g) || [];
        assert.deepStrictEqual(stored.sort(), [0, 1, 2, 3, 4, 5].map((i) => `drain ${i}`));
    } finally {
        await sys.stop();
    }
});

/*
 * libfcgi reads params and body with blocking reads; a peer that goes
 * quiet would hold the only worker for ever (and SIGTERM with it). One
 * connection stalls before its params, one inside its body: both are
 * dropped after SEND_IO_TIMEOUT_MS and the next request is served.
 */
test('a FastCGI peer that goes quiet is dropped after SEND_IO_TIMEOUT_MS and holds no worker', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 1, tag: 'send-stall',
        sendEnv: { SEND_THREADS: '1', SEND_IO_TIMEOUT_MS: String(400 * SLOW) },
    });
    try {
        const h = sys.sendHandlers[0];
        const form = (c) => new URLSearchParams(message({ content: c })).toString();
        const silent = fcgiRequest(h.port, { body: form('never sent') });
        await silent.connected;
        const midBody = fcgiRequest(h.port, { body: form('half a body') });
        await midBody.connected;
        midBody.sendHead();
        const started = Date.now();
        const next = fcgiRequest(h.port, { body: form('after the stalls') });
        await next.connected;
        next.sendHead();
        next.sendBody();
        const r = await next.reply;
        assert.strictEqual(r.status, 200, `the next request is served: ${JSON.stringify(r)}`);
        assert.ok(Date.now() - started < 3000 * SLOW, `served ${Date.now() - started} ms later`);
        const s = await silent.reply;
        assert.ok(s.reset, 'the silent peer was dropped without an answer');
        const m = await midBody.reply;
        assert.ok(m.reset || m.status === 400, `the stalled body was dropped: ${JSON.stringify(m)}`);
        const stored = sys.redisCli('XRANGE', 'messages:history', '-', '+');
        assert.match(stored, /after the stalls/);
        assert.doesNotMatch(stored, /half a body|never sent/);
        /* Idle workers wake on the accept timeout and keep serving. */
        await sleep(1000 * SLOW);
        okMessage(await postForm(sys.sendUrl, message({ content: 'still served after idle timeouts' })));
    } finally {
        await sys.stop();
    }
});

test('over a Unix socket (SEND_SOCKET) lighttpd and the handler keep the same contract', async () => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 2, tag: 'send-unix', sendSocket: true });
    try {
        const h = sys.sendHandlers[0];
        assert.ok(fs.statSync(h.socket).isSocket(), 'the handler listens on its socket');
        const before = await Promise.all(sys.sendHandlers.map(metrics));
        for (let i = 0; i < 6; i++) await send(sys.sendUrl, message({ content: `over a socket ${i}` }));
        assertError(await postForm(sys.sendUrl, message({ email: 'x' })), 400, 'email');
        const after = await Promise.all(sys.sendHandlers.map(metrics));
        assert.deepStrictEqual(after.map((m, i) => m[OK] - before[i][OK]), [3, 3], 'round-robin over both sockets');
        await sys.stopSendHandler(0);
        assert.ok(!fs.existsSync(h.socket), 'the socket is removed on exit');
    } finally {
        await sys.stop();
    }
});
