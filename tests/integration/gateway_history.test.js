'use strict';
/*
 * The gateway's request side (PROTOCOL.md §4): history pages and resume
 * from the stream, bad requests answered with an error status on a
 * connection that stays usable, the 4 KiB frame limit at N and N+1,
 * binary frames and foreign origins refused, and the HTTP endpoints.
 */
const test = require('node:test');
const assert = require('node:assert');
const WebSocket = require('ws');
const { startSystem, httpStatus } = require('../lib/system');
const { connect, ChatClient } = require('../lib/client');
const { Publisher, metrics } = require('../lib/gateway_publish');
const { RawWebSocket } = require('../lib/rawws');

let sys;
let pub;
let stored;

test.before(async () => {
    sys = await startSystem({ gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-history' });
    pub = await Publisher.open(sys.redis.port);
    stored = await pub.publish(120);
    await pub.settled(sys.gateways[0]);
});

test.after(async () => {
    if (pub) pub.close();
    if (sys) await sys.stop();
});

function ids(msgs) {
    return msgs.map((m) => m.id);
}

function range(from, to) {
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/* The close code and reason a client gets after sending data. */
function closeAfter(url, send, opts) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(url, opts);
        ws.on('open', () => send(ws));
        ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        ws.on('error', () => {});
        setTimeout(() => reject(new Error('no close')), 10000);
    });
}

test('history pages over 120 stored messages come back 50/50/20, in order, no gaps', async () => {
    const c = await connect(sys.gateways[0].url);
    try {
        const first = await c.request({ first_id: 0, last_id: -1 });
        assert.deepStrictEqual(ids(first), range(71, 120));
        const second = await c.request({ first_id: 0, last_id: first[0].id });
        assert.deepStrictEqual(ids(second), range(21, 70));
        const third = await c.request({ first_id: 0, last_id: second[0].id });
        assert.deepStrictEqual(ids(third), range(1, 20));
        const none = await c.request({ first_id: 0, last_id: third[0].id });
        assert.deepStrictEqual(none, []);
        assert.deepStrictEqual([...third, ...second, ...first], stored);
    } finally {
        c.close();
    }
});

test('a page is the newest of its range: F <= id < L, at most 50', async () => {
    const c = await connect(sys.gateways[0].url);
    try {
        assert.deepStrictEqual(ids(await c.request({ first_id: 10, last_id: 15 })), range(10, 14));
        assert.deepStrictEqual(ids(await c.request({ first_id: 10, last_id: 100 })), range(50, 99));
        assert.deepStrictEqual(ids(await c.request({ first_id: 100 })), range(100, 120));
        assert.deepStrictEqual(await c.request({ first_id: 15, last_id: 15 }), []);
        assert.deepStrictEqual(await c.request({ first_id: 500, last_id: -1 }), []);
    } finally {
        c.close();
    }
});

test('after_id returns exactly the messages after it', async () => {
    const c = await connect(sys.gateways[0].url);
    try {
        assert.deepStrictEqual(ids(await c.request({ after_id: 117 })), [118, 119, 120]);
        assert.deepStrictEqual(await c.request({ after_id: 120 }), []);
        assert.deepStrictEqual(await c.request({ after_id: 1000000 }), []);
        assert.deepStrictEqual(await c.request('{"after_id":9223372036854775807}'), []);
        const all = await c.request({ after_id: 0 });
        assert.deepStrictEqual(all, stored);
    } finally {
        c.close();
    }
});

test('after_id replies hold at most 500; asking again from the last id gets the rest', async () => {
    const more = await pub.publish(1000);
    await pub.settled(sys.gateways[0]);
    const c = await connect(sys.gateways[0].url);
    try {
        const got = [];
        let after = 0;
        const sizes = [];
        for (;;) {
            const page = await c.request({ after_id: after });
            sizes.push(page.length);
            got.push(...page);
            if (page.length < 500) break;
            after = page[page.length - 1].id;
        }
        assert.deepStrictEqual(sizes, [500, 500, 120]);
        assert.deepStrictEqual(ids(got), range(1, 1120));
        assert.deepStrictEqual(got.slice(120), more);
    } finally {
        c.close();
    }
});

test('bad requests get an error status and the connection stays usable', async () => {
    const c = await connect(sys.gateways[0].url);
    const bad = [
        'not json', '[]', '{}', '{"first_id":-1}', '{"last_id":-2}', '{"first_id":"0"}',
        '{"after_id":1.5}', '{"after_id":-1}', '{"after_id":0,"first_id":0}',
        '{"first_id":0,"extra":1}', '{"after_id":99999999999999999999}', '',
    ];
    try {
        for (const text of bad) {
            const before = c.statuses.filter((s) => s.type === 'error').length;
            c.send(text);
            await c.until(() => c.statuses.filter((s) => s.type === 'error').length > before,
                5000, `error status for ${JSON.stringify(text)}`);
            const err = c.statuses.filter((s) => s.type === 'error').pop();
            assert.strictEqual(typeof err.error, 'string');
            assert.ok(err.error.length > 0);
        }
        assert.strictEqual(c.closed, null);
        assert.deepStrictEqual(ids(await c.request({ after_id: 1118 })), [1119, 1120]);
        const m = await metrics(sys.gateways[0]);
        assert.ok(m.chat_gw_bad_requests_total >= bad.length);
    } finally {
        c.close();
    }
});

/* The next status of a type with this tag. */
async function tagged(c, type, req) {
    const pick = () => c.statuses.find((s) => s.type === type && s.req === req);
    await c.until(() => pick(), 5000, `${type} for ${req}`);
    return pick();
}

test('a tagged request is answered with its tag; an untagged one with a bare array', async () => {
    const c = await connect(sys.gateways[0].url);
    try {
        c.send({ after_id: 1117, req: 'resume-1' });
        c.send({ first_id: 5, last_id: 8, req: 'page_2' });
        /* The largest id, as text: a JS number cannot hold it. */
        c.send('{"after_id":9223372036854775807,"req":"empty"}');
        c.send('{"after_id":-1,"req":"bad-3"}');
        c.send({ after_id: 0, req: 'x'.repeat(33) });
        const resume = await tagged(c, 'reply', 'resume-1');
        assert.deepStrictEqual(Object.keys(resume).sort(), ['messages', 'req', 'type']);
        assert.deepStrictEqual(ids(resume.messages), [1118, 1119, 1120]);
        assert.deepStrictEqual(ids((await tagged(c, 'reply', 'page_2')).messages), [5, 6, 7]);
        assert.deepStrictEqual((await tagged(c, 'reply', 'empty')).messages, []);
        const bad = await tagged(c, 'error', 'bad-3');
        assert.match(bad.error, /after_id/);
        /* An invalid tag cannot be echoed: the error has none. */
        await c.until(() => c.statuses.some((s) => s.type === 'error' && !('req' in s) && /req/.test(s.error)),
            5000, 'an untagged error for the bad tag');
        /* None of those came as arrays; an untagged request still does. */
        assert.strictEqual(c.frames.length, 0);
        assert.deepStrictEqual(ids(await c.request({ after_id: 1119 })), [1120]);
        assert.strictEqual(c.closed, null);
    } finally {
        c.close();
    }
});

test('a request of exactly 4096 bytes is served; 4097 bytes closes with 1009', async () => {
    const url = sys.gateways[0].url;
    const at = (n) => '{"after_id":1119}'.padEnd(n, ' ');
    const c = await connect(url);
    try {
        assert.deepStrictEqual(ids(await c.request(at(4096))), [1120]);
    } finally {
        c.close();
    }
    const closed = await closeAfter(url, (ws) => ws.send(at(4097)));
    assert.strictEqual(closed.code, 1009);
    /* The same limit holds when the request comes in fragments. */
    const frag = await closeAfter(url, (ws) => {
        ws.send(at(4000), { fin: false });
        ws.send(' '.repeat(97), { fin: true });
    });
    assert.strictEqual(frag.code, 1009);
});

test('a frame announcing 2^62 bytes is closed with 1009 at once, while its sender goes on', async () => {
    const ws = await RawWebSocket.open(sys.gateways[0].port);
    ws.write(RawWebSocket.header(0x1, 2n ** 62n));
    /* Never-ending payload (zero mask: 'a' stays 'a'). */
    const drip = setInterval(() => ws.write(Buffer.alloc(4096, 0x61)), 20);
    try {
        const closed = await ws.closed;
        assert.strictEqual(closed.code, 1009, `close ${JSON.stringify(closed)}`);
        assert.ok(closed.at < 2000, `closed after ${closed.at} ms`);
    } finally {
        clearInterval(drip);
        ws.destroy();
    }
});

test('binary frames are refused with 1003', async () => {
    const closed = await closeAfter(sys.gateways[0].url,
        (ws) => ws.send(Buffer.from('{"after_id":0}'), { binary: true }));
    assert.strictEqual(closed.code, 1003);
});

test('a text frame that is not UTF-8 closes with 1007', async () => {
    const closed = await closeAfter(sys.gateways[0].url,
        (ws) => ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }));
    assert.strictEqual(closed.code, 1007);
});

test('a foreign Origin is refused at the handshake; same host and no Origin are accepted', async () => {
    const g = sys.gateways[0];
    const foreign = new ChatClient(g.url, { origin: 'http://evil.example' });
    await assert.rejects(foreign.opened, /403/);
    const same = await connect(g.url, { origin: `http://127.0.0.1:${g.port}` });
    same.close();
    const none = await connect(g.url);
    none.close();
    const m = await metrics(g);
    assert.ok(m['chat_gw_refused_total{reason="origin"}'] >= 1);
});

test('with no list, only the very same origin passes: scheme, host and port, and no DNS rebinding', async () => {
    const g = sys.gateways[0];
    const host = `127.0.0.1:${g.port}`;
    const refusedWith = async (origin, headers = {}) => {
        await assert.rejects(new ChatClient(g.url, { origin, headers }).opened, /403/, `${origin} refused`);
    };
    await refusedWith(`https://${host}`);
    await refusedWith(`evil://${host}`);
    await refusedWith(`http://127.0.0.1:${g.port + 1}`);
    await refusedWith('null');
    /* A name the attacker points at us: Host and Origin agree, both his. */
    await refusedWith(`http://evil.example:${g.port}`, { Host: `evil.example:${g.port}` });
    /* Behind a trusted proxy that says the page came over https. */
    const tls = await connect(g.url, { origin: `https://${host}`, headers: { 'X-Forwarded-Proto': 'https' } });
    tls.close();
    (await connect(g.url, { origin: `http://localhost:${g.port}`, headers: { Host: `localhost:${g.port}` } })).close();
});

test('GW_ALLOWED_ORIGINS lists the origins allowed', async () => {
    const s2 = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-origins',
        gatewayEnv: { GW_ALLOWED_ORIGINS: 'http://chat.example, https://other.example' },
    });
    try {
        const url = s2.gateways[0].url;
        (await connect(url, { origin: 'http://chat.example' })).close();
        (await connect(url, { origin: 'https://other.example' })).close();
        await assert.rejects(new ChatClient(url, { origin: `http://127.0.0.1:${s2.gateways[0].port}` }).opened, /403/);
        await assert.rejects(new ChatClient(url, { origin: 'http://chat.example.evil' }).opened, /403/);
        /* Whole origins: the scheme counts, the default port is implied. */
        await assert.rejects(new ChatClient(url, { origin: 'https://chat.example' }).opened, /403/);
        (await connect(url, { origin: 'http://chat.example:80' })).close();
    } finally {
        await s2.stop();
    }
});

test('GW_ALLOWED_ORIGINS: a host of * matches any host on that scheme and port', async () => {
    const s2 = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-origin-wild',
        gatewayEnv: { GW_ALLOWED_ORIGINS: 'http://*:30222' },
    });
    try {
        const url = s2.gateways[0].url;
        (await connect(url, { origin: 'http://10.1.2.3:30222' })).close();
        (await connect(url, { origin: 'http://chat.example:30222' })).close();
        await assert.rejects(new ChatClient(url, { origin: 'http://chat.example:30223' }).opened, /403/);
        await assert.rejects(new ChatClient(url, { origin: 'https://chat.example:30222' }).opened, /403/);
    } finally {
        await s2.stop();
    }
});

test('a GW_ALLOWED_ORIGINS entry that is not an origin stops the gateway at start', async () => {
    const s2 = await startSystem({
        gateways: 0, sendHandlers: 0, lighttpd: false, tag: 'gw-origin-bad', waitReady: false,
    });
    try {
        const g = s2.startGateway(0, { GW_ALLOWED_ORIGINS: 'http://chat.example/page' });
        await assert.rejects(g, /gateway 0/);
        const exit = await s2.gateways[0].proc.exited;
        assert.strictEqual(exit.code, 2);
    } finally {
        await s2.stop();
    }
});

test('healthz, readyz and metrics answer on the WebSocket port', async () => {
    const g = sys.gateways[0];
    assert.strictEqual(await httpStatus(`${g.httpUrl}/healthz`), 200);
    assert.strictEqual(await httpStatus(`${g.httpUrl}/readyz`), 200);
    assert.strictEqual(await httpStatus(`${g.httpUrl}/nope`), 404);
    const m = await metrics(g);
    for (const name of ['chat_gw_connections', 'chat_gw_frames_out_total', 'chat_gw_bytes_out_total',
        'chat_gw_batches_out_total', 'chat_gw_queue_drops_total', 'chat_gw_slow_client_closes_total',
        'chat_gw_redis_reconnects_total', 'chat_gw_backfilled_messages_total',
        'chat_gw_history_requests_total{status="ok"}']) {
        assert.ok(name in m, `metric ${name}`);
    }
    assert.strictEqual(m.chat_gw_redis_up, 1);
    assert.ok(m['chat_gw_history_requests_total{status="ok"}'] > 10);
});

test('the newest page is answered from memory until a message moves the feed', async () => {
    const g = sys.gateways[0];
    const c = await connect(g.url);
    try {
        const first = await c.request({ first_id: 0, last_id: -1 });
        const hits = (await metrics(g)).chat_gw_history_cache_hits_total;
        const again = await c.request({ first_id: 0, last_id: -1 });
        assert.deepStrictEqual(again, first);
        c.send({ first_id: 0, last_id: -1, req: 'cached' });
        const tagged = await c.until(() => c.statuses.find((s) => s.req === 'cached'), 5000, 'tagged')
            .then(() => c.statuses.find((s) => s.req === 'cached'));
        assert.deepStrictEqual(tagged.messages, first);
        assert.strictEqual((await metrics(g)).chat_gw_history_cache_hits_total, hits + 2);
        /* A new message: the next newest page has it (read anew). */
        const [fresh] = await pub.publish(1);
        await pub.settled(g);
        /*
         * This client gets it live too: a request sent before that frame
         * came would take the live frame for its answer (the wire cannot
         * tell them apart without a tag), as it once did under memcheck.
         */
        await c.until(() => c.has(fresh.id), 5000, 'the new message, live');
        const later = await c.request({ first_id: 0, last_id: -1 });
        assert.strictEqual(later[later.length - 1].id, fresh.id);
        assert.deepStrictEqual(ids(later), [...ids(first).slice(1), fresh.id]);
        assert.strictEqual((await metrics(g)).chat_gw_history_cache_hits_total, hits + 2);
        /* An ephemeral message moves the feed too: no stale page either. */
        const [eph] = await pub.publish(1, { ephemeral: true });
        await pub.settled(g);
        await c.until(() => c.has(eph.id), 5000, 'the ephemeral message, live');
        const newest = await c.request({ first_id: 0, last_id: -1 });
        assert.strictEqual(newest[newest.length - 1].id, fresh.id, 'the newest page holds no ephemeral');
        assert.strictEqual((await metrics(g)).chat_gw_history_cache_hits_total, hits + 2);
    } finally {
        c.close();
    }
});
