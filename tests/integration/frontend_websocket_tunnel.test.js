'use strict';
/*
 * The WebSocket tunnel through lighttpd (the same-origin path) over a long
 * life: lighttpd counts what a client sends up an upgraded connection as
 * one request body, so server.max-request-size (128 KiB, for the sends)
 * must not apply there. A client that has sent more than that stays
 * connected, and a frame over the gateway's 4 KiB limit gets the gateway's
 * close 1009 through lighttpd however large it is.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem } = require('../lib/system');
const { connect, message } = require('../lib/client');
const { SLOW, send } = require('../lib/expect');

const FRAME_MAX = 4096; /* PROTOCOL §4, common/chat_limits.h */
const LIGHTTPD_CAP = 128 * 1024; /* conf/lighttpd.conf server.max-request-size */
const WAIT = 10000 * SLOW;

let sys;

test.before(async () => {
    sys = await startSystem({ gateways: 1, tag: 'front-tunnel' });
});

test.after(async () => {
    if (sys) await sys.stop();
});

/* A valid resume request padded with JSON white space to `bytes`. */
function paddedRequest(afterId, bytes) {
    const core = `{"after_id":${afterId}`;
    return `${core}${' '.repeat(bytes - core.length - 1)}}`;
}

/* Bytes a client frame of n payload bytes takes on the wire (masked). */
function wireBytes(n) {
    return n + 4 + (n < 126 ? 2 : n < 65536 ? 4 : 10);
}

test('a client that has sent more than 128 KiB up the tunnel stays connected', { timeout: 120000 * SLOW }, async () => {
    const first = await send(sys.sendUrl, message({ content: 'before the long life' }));
    const ws = await connect(sys.wsUrl);
    try {
        const SIZE = 1000;
        let sent = 0;
        let requests = 0;
        /* Eight in flight at most (GW_SESSION_MAX_PENDING), paced like a
         * client that lives long rather than one that floods. */
        while (sent <= LIGHTTPD_CAP + 32 * 1024) {
            const before = ws.frames.length;
            for (let i = 0; i < 8; i++) {
                ws.send(paddedRequest(first.id, SIZE));
                sent += wireBytes(SIZE);
                requests++;
            }
            await ws.until(() => ws.frames.length >= before + 8 || ws.closed, WAIT, 'eight replies');
            assert.strictEqual(ws.closed, null, `cut after ${sent} bytes (${requests} requests) sent up the tunnel`);
            await new Promise((r) => setTimeout(r, 20));
        }
        console.log(`figures: ${requests} requests, ${sent} bytes sent up one tunnel through lighttpd`);
        assert.ok(ws.frames.every((f) => f.messages.length === 0), 'every reply is the empty range after the newest id');
        const live = await send(sys.sendUrl, message({ content: 'after the long life' }));
        await ws.until(() => ws.has(live.id) || ws.closed, WAIT, 'a live message after 128 KiB');
        assert.ok(ws.has(live.id), `live delivery goes on (closed: ${JSON.stringify(ws.closed)})`);
        const reply = await ws.request({ after_id: first.id });
        assert.deepStrictEqual(reply.map((m) => m.id), [live.id], 'and requests are still answered');
        assert.strictEqual(ws.closed, null);
    } finally {
        ws.close();
    }
});

/* Send one text frame of `size` bytes; resolve with how the socket ended. */
async function oversized(size) {
    const ws = await connect(sys.wsUrl);
    ws.send('x'.repeat(size));
    await ws.until(() => ws.closed, WAIT, `the close after a ${size}-byte frame`);
    return ws.closed;
}

test('a frame over 4 KiB gets close 1009 through lighttpd, at any size; 4 KiB is answered', { timeout: 60000 * SLOW }, async () => {
    const ws = await connect(sys.wsUrl);
    try {
        const reply = await ws.request(paddedRequest(0, FRAME_MAX));
        assert.ok(Array.isArray(reply), 'a 4096-byte request is answered');
        assert.strictEqual(ws.closed, null, 'and the connection stays open');
    } finally {
        ws.close();
    }
    for (const size of [FRAME_MAX + 1, 64 * 1024, LIGHTTPD_CAP + 1, 1024 * 1024]) {
        const closed = await oversized(size);
        assert.strictEqual(closed.code, 1009, `a ${size}-byte frame: close ${closed.code} "${closed.reason}"`);
        assert.match(closed.reason, /4096/, 'the reason names the limit');
    }
});
