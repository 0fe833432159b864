'use strict';
/*
 * Issue 15 row 11: a refused request writes a JSON line, so whoever sends
 * refused requests decides how fast the log grows. 10,000 of them (four
 * kinds) through lighttpd: per kind at most LOG_REPEAT_BURST lines per
 * LOG_REPEAT_INTERVAL_MS are written, then one summary line with the
 * count held back, so the written lines and the summaries' counts still
 * add up to every refusal. Prints the log bytes the burst cost.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const { startSystem, waitFor } = require('../lib/system');
const { SLOW } = require('../lib/expect');

const TOTAL = 10000;
/* The defaults, spelled out so the bound below follows them. */
const BURST = 10;
const INTERVAL_MS = 10000;
const CONCURRENCY = 16;

const URLENC = { 'content-type': 'application/x-www-form-urlencoded' };
/* Four kinds of refusal, each with its own status or field. */
const KINDS = [
    { status: 400, field: 'email', init: { method: 'POST', headers: URLENC, body: 'name=A&email=nope&content=x' } },
    { status: 400, field: 'name', init: { method: 'POST', headers: URLENC, body: 'email=a@b.c&content=x' } },
    { status: 405, field: undefined, init: { method: 'GET' } },
    { status: 415, field: undefined, init: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' } },
];

function jsonLines(text) {
    return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

/* Written answer lines and summarised counts of one kind in the log. */
function account(entries, kind) {
    const same = (e) => e.status === kind.status && e.field === kind.field;
    const written = entries.filter((e) => e.event === 'answer' && same(e)).length;
    const suppressed = entries.filter((e) => e.event === 'answers_suppressed' && same(e))
        .reduce((n, e) => n + e.suppressed, 0);
    return { written, suppressed };
}

test(`${TOTAL} refused requests: the log grows by a bounded amount and still counts them all`, { timeout: 120000 * SLOW }, async () => {
    const sys = await startSystem({
        gateways: 1, sendHandlers: 1, tag: 'send-logvol',
        sendEnv: { LOG_REPEAT_BURST: String(BURST), LOG_REPEAT_INTERVAL_MS: String(INTERVAL_MS) },
    });
    try {
        const log = sys.sendHandlers[0].proc.logPath;
        const before = fs.statSync(log).size;
        const statuses = new Map();
        let next = 0;
        const started = Date.now();
        await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
            while (next < TOTAL) {
                const kind = KINDS[next++ % KINDS.length];
                const r = await fetch(sys.sendUrl, kind.init);
                await r.arrayBuffer();
                statuses.set(r.status, (statuses.get(r.status) || 0) + 1);
            }
        }));
        const burstMs = Date.now() - started;
        assert.deepStrictEqual([...statuses.keys()].sort(), [400, 405, 415], `statuses ${[...statuses]}`);

        /* The last window's summary is written once it has ended. */
        const per = TOTAL / KINDS.length;
        let entries = [];
        await waitFor('every refusal written or summarised', async () => {
            entries = jsonLines(fs.readFileSync(log, 'utf8').slice(before));
            return KINDS.every((k) => { const a = account(entries, k); return a.written + a.suppressed >= per; });
        }, (INTERVAL_MS + 5000) * SLOW).catch(() => {});
        const bytes = fs.statSync(log).size - before;
        console.log(`log bytes for ${TOTAL} refused requests in ${burstMs} ms: ${bytes} ` +
            `(${(bytes / TOTAL).toFixed(1)} per request; ${entries.length} lines)`);

        for (const k of KINDS) {
            const a = account(entries, k);
            assert.strictEqual(a.written + a.suppressed, per,
                `${k.status} ${k.field || ''}: ${a.written} written + ${a.suppressed} summarised`);
        }
        /* Per kind and window: BURST lines and one summary. */
        const windows = Math.ceil((Date.now() - started) / INTERVAL_MS) + 1;
        const bound = KINDS.length * windows * (BURST + 1);
        assert.ok(entries.length <= bound, `${entries.length} lines, at most ${bound} allowed (${windows} windows)`);
    } finally {
        await sys.stop();
    }
});
