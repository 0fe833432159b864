'use strict';
/*
 * Drill: one client stops reading while 1000 large messages flow. The
 * gateway must disconnect it (close 1008 or 1013 with a reason) instead of
 * queueing without bound, while the other clients get every message. The
 * gateway's RSS and the fast clients' latency are printed.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, sleep } = require('../lib/system');
const { connect, postForm, message } = require('../lib/client');
const {
    WRAPPED, SLOW, procStats, measurableAsanEnv, tally, eventually,
} = require('../lib/drill');

const COUNT = 1000;
/* With the "<n> " prefix, just under the 4000-character limit, 4 bytes a
 * character: ~16 KB a message, ~16 MB in all, well beyond what the
 * kernel's socket buffers can hide. */
const BIG = '\u{1F600}'.repeat(3990);
/* The gateway's default queue cap is 8 MiB per client; allow that plus room. */
const RSS_GROWTH_MAX_KB = 48 * 1024;

function percentile(sorted, p) {
    if (!sorted.length) return null;
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

test('a client that stops reading is cut off, the others get everything', { timeout: 120000 * SLOW }, async (t) => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 1, tag: 'fault-slow', gatewayEnv: measurableAsanEnv(),
    });
    const clients = [];
    let sampler;
    try {
        const g = sys.gateways[0];
        const fast = [];
        for (let i = 0; i < 3; i++) fast.push(await connect(g.url));
        const slow = await connect(g.url);
        clients.push(...fast, slow);
        const arrival = fast.map(() => new Map());
        fast.forEach((c, i) => {
            const on = c.onFrame.bind(c);
            c.onFrame = (data, bin) => {
                on(data, bin);
                const now = Date.now();
                for (const m of c.frames[c.frames.length - 1]?.messages || []) {
                    if (!arrival[i].has(m.id)) arrival[i].set(m.id, now);
                }
            };
        });
        slow.ws._socket.pause();

        const base = procStats(g.proc.pid);
        let peakKb = base.rssKb;
        sampler = setInterval(() => {
            try { peakKb = Math.max(peakKb, procStats(g.proc.pid).rssKb); } catch { /* gone */ }
        }, 100);

        const sent = [];
        let next = 0;
        const workers = Array.from({ length: 4 }, async () => {
            while (next < COUNT) {
                const n = next++;
                const startedAt = Date.now();
                const r = await postForm(sys.sendUrl, message({ content: `${n} ${BIG}` }));
                sent.push({ status: r.status, id: r.status === 200 ? JSON.parse(r.body).id : null, startedAt });
            }
        });
        await Promise.all(workers);
        const acked = sent.filter((s) => s.status === 200);
        const ids = acked.map((s) => s.id);
        await eventually(() => fast.every((c) => ids.every((id) => c.has(id))), 30000 * SLOW);
        const slowClosedByServer = slow.closed; /* must still be null: it is paused */
        slow.ws._socket.resume();
        await eventually(() => slow.closed !== null, 15000 * SLOW);
        clearInterval(sampler);
        const after = procStats(g.proc.pid);

        const lat = [];
        acked.forEach((s) => arrival.forEach((a) => {
            if (a.has(s.id)) lat.push(a.get(s.id) - s.startedAt);
        }));
        lat.sort((a, b) => a - b);
        const lost = fast.reduce((n, c) => n + ids.filter((id) => !c.has(id)).length, 0);
        const dupLive = fast.reduce((n, c) => n + (c.messages.length - c.ids().length), 0);
        tally(t, 'slow-reader', {
            sent: COUNT, acknowledged: acked.length, stored: Number(sys.redisCli('XLEN', 'messages:history').trim()),
            delivered: fast.reduce((n, c) => n + ids.filter((id) => c.has(id)).length, 0),
            lost, duplicated: dupLive,
            slow_close: slow.closed, slow_received: slow.messages.length,
            latency_ms: { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), max: lat[lat.length - 1] },
            rss_kb: { base: base.rssKb, peak: peakKb, after: after.rssKb },
            fds: { base: base.fds, after: after.fds },
        });

        assert.strictEqual(slowClosedByServer, null);
        assert.strictEqual(acked.length, COUNT, 'every message acknowledged');
        assert.strictEqual(lost, 0, 'the fast clients get every message');
        assert.strictEqual(dupLive, 0, 'live messages arrive once each');
        for (const c of fast) assert.strictEqual(c.closed, null, 'fast clients stay connected');
        assert.ok(slow.closed, 'the slow client was disconnected');
        assert.ok([1008, 1013].includes(slow.closed.code), `close code 1008/1013, got ${slow.closed.code}`);
        assert.ok(slow.closed.reason.length > 0, 'the close carries a reason');
        assert.ok(slow.messages.length < COUNT, 'the slow client did not get the whole flow');
        assert.ok(WRAPPED || peakKb - base.rssKb < RSS_GROWTH_MAX_KB,
            `gateway RSS grew ${peakKb - base.rssKb} kB (bound ${RSS_GROWTH_MAX_KB})`);
        assert.strictEqual(g.proc.exitCode, null, 'the gateway is alive');
    } finally {
        clearInterval(sampler);
        for (const c of clients) c.close();
        await sleep(100);
        await sys.stop();
    }
});
