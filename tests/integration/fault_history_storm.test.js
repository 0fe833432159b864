'use strict';
/*
 * Drill: a history storm (issue 15 row 1). Many WebSockets from one
 * address keep 8 {"after_id":0} requests in flight each (replies of about
 * 87 KB), while a canary posts through lighttpd and reads its own
 * WebSocket on the same gateway. What the bystander sees is the verdict:
 * its live delivery time and whether any message went missing. The
 * storm's figures (answered, refused, Redis memory, reconnects, gateway
 * RSS) are printed beside it.
 *
 * Before the fix the storm queued replies in Redis without bound, timed
 * out the PING watchdog sharing their connection, tore the subscription
 * down again and again, and the canary's messages arrived seconds late.
 */
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { startSystem, sleep } = require('../lib/system');
const { connect, postForm, message } = require('../lib/client');
const { metrics } = require('../lib/gateway_publish');
const { Resp } = require('../lib/resp');
const { WRAPPED, SCALE, SLOW, procStats, measurableAsanEnv, publishDirect, tally } = require('../lib/drill');

const STORM_CLIENTS = Math.max(10, Math.round(150 * SCALE));
const IN_FLIGHT = 8;
const SEED = 500;
const STORM_MS = 10000 * SLOW;
/* 200 posts in the storm: a p99 over 100 samples would be the single worst. */
const CANARY_EVERY_MS = 50 * SLOW;
const CANARY_P99_MS = 100 * SLOW;
const QUIET_MS = 2000 * SLOW;

function percentile(values, p) {
    const s = [...values].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
}

/* CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid) {
    const f = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8');
    const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(v[11]) + Number(v[12])) / 100;
}

/*
 * Peak gateway RSS and Redis memory, on a timer of their own until
 * stop(), over one Redis connection: a redis-cli run beside the canary
 * (fork and exec, on this thread) would hold back the canary's own frames
 * and be counted as delivery time.
 */
async function startSampler(sys, pid) {
    const redis = await Resp.connect(sys.redis.port);
    const usedMb = async () => {
        const info = String(await redis.command('INFO', 'memory'));
        const m = /used_memory:(\d+)/.exec(info);
        return m ? Number(m[1]) / (1 << 20) : 0;
    };
    const peaks = { rss0: procStats(pid).rssKb, rss: 0, redis: await usedMb() };
    peaks.rss = peaks.rss0;
    let running = true;
    const loop = (async () => {
        while (running) {
            peaks.rss = Math.max(peaks.rss, procStats(pid).rssKb);
            peaks.redis = Math.max(peaks.redis, await usedMb());
            await sleep(100);
        }
    })();
    const stop = async () => {
        running = false;
        await loop;
        redis.close();
    };
    return { peaks, stop };
}

/* Start the storm in its own thread; resolves once its clients are open. */
function startStorm(url) {
    const worker = new Worker(path.join(__dirname, '..', 'lib', 'storm_worker.js'), {
        workerData: {
            url, clients: STORM_CLIENTS, inFlight: IN_FLIGHT, ms: STORM_MS,
            request: JSON.stringify({ after_id: 0 }), headers: {},
        },
    });
    const done = new Promise((resolve, reject) => {
        worker.on('message', (m) => {
            if (m.error) reject(new Error(m.error));
            if (m.done) resolve(m.stats);
        });
        worker.on('error', reject);
    });
    const ready = new Promise((resolve, reject) => {
        worker.on('message', (m) => { if (m.ready) resolve(); });
        worker.on('error', reject);
    });
    return { worker, ready, done };
}

/*
 * Post every CANARY_EVERY_MS until `until` and time each message from the
 * POST to its arrival on the canary's own WebSocket (and, to tell the
 * send path from the fan-out, from the send handler's "date" stamp).
 */
async function canaryRun(sys, canary, until) {
    const sent = new Map();
    const run = { posted: 0, acked: 0, delays: [], fromStamp: [], posts: [], missed: 0 };
    const onFrame = (data) => {
        const v = JSON.parse(data.toString());
        if (!Array.isArray(v)) return;
        for (const m of v) {
            const at = sent.get(m.content);
            if (at === undefined) continue;
            run.delays.push(Date.now() - at);
            run.fromStamp.push(Date.now() - Date.parse(m.date));
            sent.delete(m.content);
        }
    };
    canary.ws.on('message', onFrame);
    while (Date.now() < until) {
        const content = `canary ${process.pid} ${Date.now()} ${run.posted++}`;
        const at = Date.now();
        sent.set(content, at);
        const r = await postForm(sys.sendUrl, message({ content }));
        run.posts.push(Date.now() - at);
        if (r.status === 200) run.acked++;
        else sent.delete(content);
        await sleep(Math.max(0, CANARY_EVERY_MS - (Date.now() - at)));
    }
    await sleep(2000 * SLOW);
    canary.ws.off('message', onFrame);
    run.missed = sent.size;
    return run;
}

test('a history storm from one address leaves a bystander\'s live feed alone', { timeout: 180000 * SLOW }, async (t) => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 1, tag: 'fault-storm', gatewayEnv: measurableAsanEnv(),
    });
    let stormWorker;
    let sampler;
    try {
        const g = sys.gateways[0];
        for (let i = 0; i < SEED; i++) {
            publishDirect(sys, message({ content: `seed ${i} `.padEnd(150, 's') }));
        }
        const canary = await connect(g.url);
        await canary.request({ first_id: 0, last_id: -1 });
        const before = await metrics(g);
        sampler = await startSampler(sys, g.proc.pid);
        const quiet = await canaryRun(sys, canary, Date.now() + QUIET_MS);
        const storm = startStorm(g.url);
        stormWorker = storm.worker;
        await storm.ready;
        const cpu0 = cpuSeconds(g.proc.pid);
        const loud = await canaryRun(sys, canary, Date.now() + STORM_MS);
        const stormCpu = cpuSeconds(g.proc.pid) - cpu0;
        const stats = await storm.done;
        await sleep(1000 * SLOW);
        await sampler.stop();
        const { rss0, rss: rssPeak, redis: redisPeak } = sampler.peaks;
        const after = await metrics(g);
        const missed = loud.missed;
        const figures = {
            sent: loud.posted, acknowledged: loud.acked, stored: loud.acked, lost: missed, duplicated: 0,
            storm_clients: STORM_CLIENTS, storm_replies: stats.replies,
            storm_reply_mb: (stats.replyBytes / (1 << 20)).toFixed(1), storm_refused: stats.refused,
            refusals: stats.reasons,
            canary_p50_ms: percentile(loud.delays, 50), canary_p99_ms: percentile(loud.delays, 99),
            canary_max_ms: percentile(loud.delays, 100),
            post_p99_ms: percentile(loud.posts, 99),
            stamp_to_canary_p99_ms: percentile(loud.fromStamp, 99),
            quiet_canary_p50_ms: percentile(quiet.delays, 50),
            quiet_canary_p99_ms: percentile(quiet.delays, 99),
            gateway_cpu_pct: Math.round((100 * stormCpu) / (STORM_MS / 1000 + 2 * SLOW)),
            redis_peak_mb: redisPeak.toFixed(1),
            gateway_rss_kb: { before: rss0, peak: rssPeak },
            redis_reconnects: after.chat_gw_redis_reconnects_total - before.chat_gw_redis_reconnects_total,
        };
        tally(t, 'history-storm', figures);
        assert.strictEqual(loud.acked, loud.posted, 'every canary post acknowledged');
        assert.strictEqual(missed, 0, `canary messages not delivered: ${missed}`);
        assert.ok(figures.canary_p99_ms < CANARY_P99_MS, `canary p99 ${figures.canary_p99_ms} ms`);
        assert.strictEqual(figures.redis_reconnects, 0, 'no link torn down by the storm');
        assert.ok(stats.replies > 0, 'the storm was served, within its budget');
        assert.ok(WRAPPED || rssPeak - rss0 < 256 * 1024, `gateway RSS grew ${rssPeak - rss0} kB`);
        assert.ok(redisPeak < 64, `Redis used ${figures.redis_peak_mb} MB`);
        canary.close();
    } finally {
        if (sampler) await sampler.stop();
        if (stormWorker) await stormWorker.terminate();
        await sys.stop();
    }
});
