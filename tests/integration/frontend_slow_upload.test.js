'use strict';
/*
 * Slowly uploaded sends and lighttpd's memory. lighttpd buffers a send's
 * body before it asks a send handler (server.stream-request-body = 0), and
 * it keeps every read() of a body of 64 KiB or less as its own chunk, each
 * with a whole chunk buffer: a body trickled one byte per read cost 4-5 KB
 * of RSS per byte. With server.chunkqueue-chunk-sz at its minimum the cost
 * is one 1 KiB buffer per read. The test holds many trickled bodies, reads
 * lighttpd's RSS from /proc, and bounds its growth by the bytes it holds;
 * then every body is completed and answered.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');
const { startSystem, sleep } = require('../lib/system');
const { connect, message } = require('../lib/client');
const { SLOW, send } = require('../lib/expect');

const CONNS = 40;
const BODY = 600;
const GAP_MS = 20; /* 50 B/s per connection, one byte per segment */
/* What lighttpd may keep per byte of body it holds when every byte arrives
 * in a read of its own: its smallest chunk (1 KiB) and the chunk's own
 * bookkeeping, with room for the allocator. */
const PER_BYTE = 1536;
const SLACK = 2 << 20;

function rssBytes(pid) {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m[1]) * 1024;
}

function mb(bytes) {
    return (bytes / 1048576).toFixed(1);
}

/* A valid urlencoded send body of exactly `bytes` bytes. */
function formBody(i, bytes) {
    const head = `name=Slow${i}&email=slow%40example.com&topic=trickle&content=`;
    return head + 'x'.repeat(bytes - head.length);
}

/* A POST whose headers go at once; its body goes one byte per call. */
function tricklingPost(port, body) {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    const chunks = [];
    const answer = new Promise((resolve) => {
        s.on('data', (d) => chunks.push(d));
        s.on('error', (e) => resolve({ error: e.code || e.message }));
        s.on('close', () => resolve({ text: Buffer.concat(chunks).toString('utf8') }));
    });
    const ready = new Promise((resolve) => s.once('connect', resolve));
    let at = 0;
    return {
        ready: ready.then(() => s.write('POST /chatapp/send HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n' +
            'Content-Type: application/x-www-form-urlencoded\r\n' +
            `Content-Length: ${body.length}\r\n\r\n`)),
        nextByte: () => s.write(body[at++]),
        rest: () => s.write(body.slice(at)),
        answer,
        socket: s,
    };
}

test('bodies trickled a byte at a time cost lighttpd memory in proportion to the bytes it holds', { timeout: 180000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, tag: 'front-slow-upload' });
    const posts = [];
    try {
        const pid = sys.lighttpd.pid;
        /* Warm up the pools lighttpd keeps for connections and requests. */
        for (let i = 0; i < 5; i++) await send(sys.sendUrl, message({ content: `warm-up ${i}` }));
        await sleep(200);
        const before = rssBytes(pid);

        for (let i = 0; i < CONNS; i++) posts.push(tricklingPost(sys.http.port, formBody(i, BODY)));
        await Promise.all(posts.map((p) => p.ready));
        /* All but the last byte, so lighttpd holds every body unfinished. */
        const started = Date.now();
        for (let b = 0; b < BODY - 1; b++) {
            for (const p of posts) p.nextByte();
            await sleep(GAP_MS);
        }
        await sleep(300);
        const during = rssBytes(pid);
        const held = CONNS * (BODY - 1);
        const growth = during - before;
        const perByte = growth / held;
        console.log(`figures: lighttpd RSS ${mb(before)} MB before, ${mb(during)} MB holding ${held} body bytes ` +
            `from ${CONNS} connections trickled one byte per read over ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
            `${perByte.toFixed(0)} bytes of RSS per byte held (bound ${PER_BYTE})`);
        assert.ok(growth <= held * PER_BYTE + SLACK,
            `lighttpd grew by ${mb(growth)} MB for ${held} bytes held (${perByte.toFixed(0)} B per byte; at most ${PER_BYTE})`);

        for (const p of posts) p.rest();
        const answers = await Promise.all(posts.map((p) => p.answer));
        const statuses = answers.map((a) => (/^HTTP\/1\.[01] (\d{3})/.exec(a.text || '') || [])[1] || a.error);
        assert.deepStrictEqual(statuses, posts.map(() => '200'), 'every trickled send is answered 200 once complete');
        const watcher = await connect(sys.wsUrl);
        try {
            const page = await watcher.request({ after_id: 0 });
            const slow = page.filter((m) => m.topic === 'trickle');
            assert.strictEqual(slow.length, CONNS, 'and stored');
        } finally {
            watcher.close();
        }
    } finally {
        for (const p of posts) p.socket.destroy();
        await sys.stop();
    }
});
