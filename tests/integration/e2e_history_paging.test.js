'use strict';
/*
 * History over the WebSocket (PROTOCOL.md §4) with 120 stored messages
 * whose ids have gaps (ephemeral messages in between): the classic
 * client's scroll-up paging returns 50, 50, 20 and then [], in order, with
 * no gap and no duplicate; after_id returns exactly what a client missed.
 */
const test = require('node:test');
const assert = require('node:assert');
const { startSystem } = require('../lib/system');
const { connect, message } = require('../lib/client');
const { SLOW, send, idsOf, assertAscending } = require('../lib/expect');

const STORED = 120;

let sys;
const stored = []; /* the 200 answers of stored messages, in send order */
const ephemeralIds = [];

test.before(async () => {
    sys = await startSystem({ gateways: 2, tag: 'e2e-history' });
    for (let i = 1; i <= STORED; i++) {
        stored.push(await send(sys.sendUrl, message({ content: `history #${i}` })));
        /* An ephemeral message now and then puts gaps into the stored ids. */
        if (i % 17 === 0) ephemeralIds.push((await send(sys.sendUrl, message({ content: `gap ${i}`, ephemeral: 'on' }))).id);
    }
});

test.after(async () => {
    if (sys) await sys.stop();
});

/* Scroll up from the newest page the way the classic client does. */
async function pageAll(client) {
    const pages = [await client.request({ first_id: 0, last_id: -1 })];
    for (;;) {
        const last = pages[pages.length - 1];
        if (last.length === 0) break;
        if (pages.length > 10) throw new Error('paging does not end');
        pages.push(await client.request({ first_id: 0, last_id: last[0].id }));
    }
    return pages;
}

for (const via of ['lighttpd', 'gateway 1']) {
    test(`paging through ${STORED} stored messages gives 50/50/20 in order (${via})`, { timeout: 60000 * SLOW }, async () => {
        const client = await connect(via === 'lighttpd' ? sys.wsUrl : sys.gateways[1].url);
        try {
            assert.ok(ephemeralIds.length > 0 && stored[stored.length - 1].id > STORED, 'stored ids have gaps');
            const pages = await pageAll(client);
            assert.deepStrictEqual(pages.map((p) => p.length), [50, 50, 20, 0]);
            for (const p of pages) assertAscending(idsOf(p), 'within a page');
            /* Oldest page first, each page ascending: the whole history. */
            const all = pages.slice().reverse().flat();
            assert.deepStrictEqual(all, stored, 'every stored message once, in id order, as answered');
            for (const id of ephemeralIds) assert.ok(!all.some((m) => m.id === id), `ephemeral ${id} not in history`);
            assert.deepStrictEqual(client.statuses.filter((s) => s.type === 'error'), [], 'no error status');
        } finally {
            client.close();
        }
    });
}

test('a page between two ids holds first_id <= id < last_id, the newest 50 of them', async () => {
    const client = await connect(sys.wsUrl);
    try {
        const lo = stored[10].id;
        const hi = stored[30].id;
        assert.deepStrictEqual(await client.request({ first_id: lo, last_id: hi }), stored.slice(10, 30));
        const wide = await client.request({ first_id: stored[0].id, last_id: stored[99].id });
        assert.deepStrictEqual(wide, stored.slice(49, 99), 'a range over 50 gives its newest 50');
        const empty = await client.request({ first_id: hi, last_id: hi });
        assert.deepStrictEqual(empty, []);
    } finally {
        client.close();
    }
});

test('after_id returns exactly the stored messages a client missed', { timeout: 60000 * SLOW }, async () => {
    const first = await connect(sys.gateways[0].url);
    const newest = await first.request({ first_id: 0, last_id: -1 });
    const seen = newest[newest.length - 1].id;
    first.close();

    const missed = [];
    for (let i = 1; i <= 7; i++) {
        missed.push(await send(sys.sendUrl, message({ content: `while away #${i}` })));
        if (i === 3) await send(sys.sendUrl, message({ content: 'ephemeral while away', ephemeral: '1' }));
    }
    const back = await connect(sys.wsUrl);
    try {
        assert.deepStrictEqual(await back.request({ after_id: seen }), missed,
            'the stored messages after the last seen id, no ephemeral one');
        assert.deepStrictEqual(await back.request({ after_id: missed[missed.length - 1].id }), [],
            'nothing after the newest');
        const everything = await back.request({ after_id: 0 });
        assert.deepStrictEqual(everything, [...stored, ...missed], 'after_id 0 gives the whole history');
        assert.deepStrictEqual(await back.request({ after_id: stored[59].id }), [...stored.slice(60), ...missed]);
    } finally {
        back.close();
    }
});
