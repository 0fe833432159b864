'use strict';
/*
 * 200 POSTs at once from 4 separate processes, through lighttpd to two send
 * handlers: every one is answered 200 with a unique id; the Redis channel
 * carries them in id order, the stream stores them in id order, every 200
 * body is what was stored and published, and WebSocket clients on both
 * gateways receive them all in id order (PROTOCOL.md §3).
 */
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startSystem } = require('../lib/system');
const { connect } = require('../lib/client');
const { Resp, streamEntries } = require('../lib/resp');
const { SLOW, assertMessageShape, idsOf, assertAscending } = require('../lib/expect');

const PROCS = 4;
const PER_PROC = 50;
const TOTAL = PROCS * PER_PROC;

/*
 * One sender process: fires `count` multipart POSTs at once and prints a
 * JSON array of {status, body}. Any 5xx or failed connection is kept, not
 * retried, so the test sees it.
 */
const SENDER = `
const { postForm, message } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'client.js'))});
const [url, count, tag] = process.argv.slice(1);
Promise.all(Array.from({ length: Number(count) }, (_, i) =>
    postForm(url, message({ name: 'proc ' + tag, content: tag + ' #' + i }))
        .then((r) => ({ status: r.status, body: r.body }),
              (e) => ({ status: -1, body: String(e) }))))
    .then((res) => process.stdout.write(JSON.stringify(res)));
`;

function runSender(url, tag) {
    return new Promise((resolve, reject) => {
        const p = spawn(process.execPath, ['-e', SENDER, url, String(PER_PROC), tag],
            { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        p.stdout.on('data', (d) => { out += d; });
        p.on('error', reject);
        p.on('exit', (code) => {
            if (code !== 0) reject(new Error(`sender ${tag} exited ${code}`));
            else resolve(JSON.parse(out));
        });
    });
}

test(`${TOTAL} concurrent POSTs from ${PROCS} processes keep one order everywhere`, { timeout: 180000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 2, sendHandlers: 2, tag: 'e2e-concurrent' });
    const clients = [];
    let sub;
    let redis;
    try {
        /* Everyone listening before the first POST. */
        sub = await Resp.connect(sys.redis.port);
        const channel = [];
        await sub.subscribe('messages', (payload) => channel.push(payload.toString('utf8')));
        clients.push(await connect(sys.gateways[0].url), await connect(sys.gateways[1].url),
            await connect(sys.wsUrl));

        const results = (await Promise.all(
            Array.from({ length: PROCS }, (_, i) => runSender(sys.sendUrl, `p${i}`)))).flat();

        const statuses = {};
        for (const r of results) statuses[r.status] = (statuses[r.status] || 0) + 1;
        assert.deepStrictEqual(statuses, { 200: TOTAL }, 'every POST answered 200');
        const answered = results.map((r) => JSON.parse(r.body));
        for (const m of answered) assertMessageShape(m);
        const ids = idsOf(answered).sort((a, b) => a - b);
        assert.strictEqual(new Set(ids).size, TOTAL, 'ids are unique');
        const byId = new Map(answered.map((m) => [m.id, m]));

        /* The channel: one-element arrays, in strictly increasing id order. */
        const end = Date.now() + 20000 * SLOW;
        while (channel.length < TOTAL && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
        const published = channel.map((text) => {
            const v = JSON.parse(text);
            assert.ok(Array.isArray(v) && v.length === 1, `a channel payload is [{...}]: ${text.slice(0, 80)}`);
            return v[0];
        });
        assertAscending(idsOf(published), 'channel order');
        assert.deepStrictEqual(idsOf(published), ids, 'the channel carried exactly the answered ids');
        for (const m of published) assert.deepStrictEqual(m, byId.get(m.id), `published ${m.id} as answered`);

        /* The stream: entry <id>-0, ascending, holding every 200 body. */
        redis = await Resp.connect(sys.redis.port);
        const entries = streamEntries(await redis.command('XRANGE', 'messages:history', '-', '+'));
        const stored = entries.map((e) => {
            const m = JSON.parse(e.fields.m.toString('utf8'));
            assert.strictEqual(e.entry, `${m.id}-0`, 'entry id is the message id');
            return m;
        });
        assertAscending(idsOf(stored), 'stream order');
        assert.deepStrictEqual(idsOf(stored), ids, 'the stream holds exactly the answered ids');
        for (const m of stored) assert.deepStrictEqual(m, byId.get(m.id), `stored ${m.id} as answered`);

        /* Every client on either gateway got all of them, in id order. */
        for (const [i, c] of clients.entries()) {
            await c.until(() => c.ids().length >= TOTAL, 20000 * SLOW, `client ${i} to receive all`);
            assert.deepStrictEqual(idsOf(c.messages), ids, `client ${i}: each once, in id order`);
            assert.ok(c.closed === null, `client ${i} still connected`);
        }
    } finally {
        if (sub) sub.close();
        if (redis) redis.close();
        for (const c of clients) c.close();
        await sys.stop();
    }
});
