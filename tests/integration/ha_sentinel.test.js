'use strict';
/*
 * Redis with replicas and Sentinel (issue 13), with real redis-server and
 * redis-sentinel processes (tests/lib/system.js, option ha): the send
 * handler and the gateway find the primary through REDIS_SENTINELS,
 * follow a failover, never hand an id out twice (the counter is fenced
 * on a new primary), and with SEND_MIN_REPLICAS a 200 means a replica
 * has the message; when it cannot be confirmed the sender is told so.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem, sleep, signal, waitFor } = require('../lib/system');
const { connect, postForm, message } = require('../lib/client');
const { sendMetric } = require('../lib/metrics');
const { storedMessages } = require('../lib/drill');
const { SLOW, okMessage, assertError } = require('../lib/expect');

/* publish.lua's fence (fcgi/fence.lua): a new primary's first id. */
const FENCE = 1000000000;

async function gwMetric(g, name) {
    const text = await (await fetch(`${g.httpUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
}

/* POST with the page's habit: resend with the same key until a 200. */
async function sendUntilOk(url, fields, timeoutMs) {
    const end = Date.now() + timeoutMs;
    const answers = [];
    for (;;) {
        const r = await postForm(url, fields);
        answers.push(r.status);
        if (r.status === 200) return { m: okMessage(r), answers };
        if (Date.now() > end) throw new Error(`no 200 within ${timeoutMs} ms: ${answers.join(' ')} ${r.body}`);
        await sleep(100);
    }
}

test('both programs find the primary through Sentinel and follow a failover; no id twice, nothing missed', { timeout: 120000 * SLOW }, async () => {
    const sys = await startSystem({
        ha: { replicas: 2, sentinels: 3 }, gateways: 1, sendHandlers: 1, tag: 'ha-follow',
        sendEnv: { SEND_MIN_REPLICAS: '1', SEND_THREADS: '2' },
    });
    let watcher;
    try {
        watcher = await connect(sys.gateways[0].url);
        await watcher.request({ first_id: 0, last_id: -1 });
        const before = [];
        for (let i = 0; i < 10; i++) {
            before.push(okMessage(await postForm(sys.sendUrl, message({ content: `before ${i}`, idem: `ha-b${i}` }))));
        }
        const { old, now } = await sys.failover();
        const after = [];
        const began = Date.now();
        let firstOkMs = 0;
        for (let i = 0; i < 10; i++) {
            after.push((await sendUntilOk(sys.sendUrl, message({ content: `after ${i}`, idem: `ha-a${i}` }), 15000 * SLOW)).m);
            if (i === 0) firstOkMs = Date.now() - began;
        }
        const ids = [...before, ...after].map((m) => m.id);
        assert.strictEqual(new Set(ids).size, ids.length, `no id handed out twice: ${ids}`);
        for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `ids ascend: ${ids}`);
        assert.ok(after[0].id > before[9].id + FENCE - 1,
            `the new primary's counter was fenced: ${before[9].id} then ${after[0].id}`);
        assert.notStrictEqual(old.port, now.port);
        /* Stored on the new primary, all twenty, each once. */
        const stored = storedMessages(sys).filter((m) => /^(before|after) \d$/.test(m.content));
        assert.deepStrictEqual(stored.map((m) => m.id), ids, 'every 200 is stored on the new primary');
        /* The gateway resubscribed to the new primary and backfilled. */
        await watcher.until(() => ids.every((id) => watcher.has(id)), 15000 * SLOW, 'every message at the watcher');
        const got = watcher.messages.map((m) => m.id).filter((id) => ids.includes(id));
        assert.deepStrictEqual(got, ids, 'the watcher got each message once, in id order');
        assert.ok(await sendMetric(sys.sendHandlers[0], 'chat_send_redis_failovers_total') >= 1, 'the send handler counted the move');
        await waitFor('the gateway to count the move', async () => (await gwMetric(sys.gateways[0], 'chat_gw_redis_failovers_total')) >= 1);
        /* Its three links may still be finding their way. */
        await waitFor('the gateway up on the new primary', async () => (await gwMetric(sys.gateways[0], 'chat_gw_redis_up')) === 1);
        await waitFor('send handler ready', async () => (await sendMetric(sys.sendHandlers[0], 'chat_send_redis_up')) === 1);
        /* The demoted primary follows the new one and holds the messages too. */
        await waitFor('the old primary to become a replica', async () => sys.roles()[old.port] === 'slave', 30000 * SLOW);
        console.log(`  the first send after the failover was acknowledged ${firstOkMs} ms after the sentinels named the new primary`);
    } finally {
        if (watcher) watcher.close();
        await sys.stop();
    }
});

test('SEND_MIN_REPLICAS=1: no replica to confirm gives an honest 503; the resend with the same key settles it', { timeout: 120000 * SLOW }, async () => {
    const sys = await startSystem({
        ha: { replicas: 2, sentinels: 3 }, gateways: 1, sendHandlers: 1, tag: 'ha-wait',
        sendEnv: { SEND_MIN_REPLICAS: '1', SEND_THREADS: '1', SEND_WAIT_TIMEOUT_MS: '300' },
    });
    const replicas = () => sys.ha.nodes.filter((n) => n !== sys.primary());
    try {
        okMessage(await postForm(sys.sendUrl, message({ content: 'warm up' })));
        /* Replicas that stop answering: their last acknowledgement is fresh,
         * so the primary still takes the write, and WAIT cannot be met. */
        const frozen = replicas();
        for (const n of frozen) signal(n.proc, 'SIGSTOP');
        const fields = message({ content: 'unconfirmed', idem: 'ha-wait-1' });
        const r1 = await postForm(sys.sendUrl, fields);
        const e1 = assertError(r1, 503, null, 'unconfirmed');
        assert.strictEqual(e1.unknown, true, `not confirmed on a replica: unknown, not "nothing stored": ${r1.body}`);
        assert.ok(storedMessages(sys).some((m) => m.content === 'unconfirmed'), 'it is on the primary (the 503 said it may be)');
        /* The same key again while no replica answers: still not confirmed. */
        const r2 = await postForm(sys.sendUrl, fields);
        assert.strictEqual(assertError(r2, 503, null, 'replay unconfirmed').unknown, true, r2.body);
        /* Past min-replicas-max-lag the primary refuses writes: a plain 503, nothing stored. */
        let tries = 0;
        let refused = '';
        await waitFor('the primary to refuse writes', async () => {
            const content = `refused ${tries++}`;
            const r = await postForm(sys.sendUrl, message({ content }));
            if (r.status === 503 && JSON.parse(r.body).unknown !== true) refused = content;
            else assert.strictEqual(JSON.parse(r.body).unknown, true, `until then, every answer is unknown: ${r.status} ${r.body}`);
            return refused !== '';
        }, 15000 * SLOW);
        assert.ok(!storedMessages(sys).some((m) => m.content === refused), `a plain 503 stored nothing (${refused})`);
        for (const n of frozen) signal(n.proc, 'SIGCONT');
        const { m, answers } = await sendUntilOk(sys.sendUrl, fields, 15000 * SLOW);
        const firstStored = storedMessages(sys).filter((x) => x.content === 'unconfirmed');
        assert.strictEqual(firstStored.length, 1, 'stored once');
        assert.strictEqual(m.id, firstStored[0].id, `the resend answers the stored message (${answers.join(' ')})`);
    } finally {
        for (const n of sys.ha ? sys.ha.nodes : []) signal(n.proc, 'SIGCONT');
        await sys.stop();
    }
});

/*
 * A failover ends the send handler's backoff. While the primary was
 * failing it, the handler stopped asking Redis for a while (the backoff);
 * Sentinel's +switch-master names a node nobody has failed on yet, so the
 * next send goes there at once. Before, the backoff ran out first: on the
 * multi-node bed (drill 9) that added up to half a second to the time
 * without a 200. Here the backoff is 10-20 s so that waiting it out cannot
 * pass for following the switch.
 */
test('a failover ends the send handler\'s backoff: the first send after the switch is served', { timeout: 120000 * SLOW }, async () => {
    const sys = await startSystem({
        ha: { replicas: 2, sentinels: 3 }, gateways: 1, sendHandlers: 1, tag: 'ha-backoff',
        sendEnv: { SEND_THREADS: '2', REDIS_BACKOFF_MIN_MS: '20000', REDIS_BACKOFF_MAX_MS: '20000' },
    });
    try {
        okMessage(await postForm(sys.sendUrl, message({ content: 'before the fault' })));
        const old = sys.primary();
        /* More replicas than there are: the primary answers NOREPLICAS. */
        sys.redisCliAt(old.port, 'CONFIG', 'SET', 'min-replicas-to-write', '3');
        const refused = await postForm(sys.sendUrl, message({ content: 'refused' }));
        assert.strictEqual(refused.status, 503, refused.body);
        const held = await postForm(sys.sendUrl, message({ content: 'in the backoff' }));
        assert.strictEqual(held.status, 503, 'the backoff holds the next send back');
        const { now } = await sys.failover();
        const seen = Date.now();
        const { m, answers } = await sendUntilOk(sys.sendUrl,
            message({ content: 'after the switch', idem: 'ha-backoff-1' }), 3000 * SLOW);
        const ms = Date.now() - seen;
        console.log(`figures: first 200 ${ms} ms after the new primary was named (answers ${answers.join(' ')})`);
        assert.ok(m.id > FENCE, `id ${m.id} from the fenced counter of the new primary`);
        assert.ok(storedMessages(sys).some((x) => x.id === m.id), 'stored on the new primary');
        assert.notStrictEqual(now.port, old.port);
    } finally {
        await sys.stop();
    }
});
