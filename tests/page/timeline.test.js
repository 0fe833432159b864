'use strict';
/*
 * The history protocol as rows: a script of what the socket and the
 * reader do, and what the page must have asked, shown and kept. Requests
 * are compared as text, so the heartbeat's id (too big for a JS number)
 * is checked exactly.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { Timeline, RESUME_MAX } = require('../../htdocs/core/timeline.js');

const HB = (tag) => `{"after_id":9223372036854775807,"req":"${tag}"}`;
const NEWEST = (tag) => JSON.stringify({ first_id: 0, last_id: -1, req: tag });
const AFTER = (a, tag) => JSON.stringify({ after_id: a, req: tag });
const OLDER = (below, tag) => JSON.stringify({ first_id: 0, last_id: below, req: tag });
const M = (id) => ({ id, name: 'n', email: 'e@x.org', topic: 't', content: `c${id}`, date: '2026-11-28T06:01:23.456Z', ephemeral: false });
const range = (lo, hi) => Array.from({ length: hi - lo + 1 }, (_, i) => M(lo + i));
const reply = (tag, msgs) => ({ type: 'reply', req: tag, messages: msgs });
const error = (tag) => ({ type: 'error', req: tag, error: 'server busy' });

/*
 * Play steps on a fresh timeline. A step is [method, ...args] or a
 * function (tl, outs) for anything else. Returns the timeline, every
 * request sent (text, in order) and every Out.
 */
function play(steps, opts = {}) {
    let t = 0;
    const tl = new Timeline({ now: () => t, random: () => 0, tuning: opts.tuning });
    const sent = [];
    const outs = [];
    for (const step of steps) {
        let out;
        if (typeof step === 'function') out = step(tl, outs);
        else if (step[0] === 'wait') t += step[1];
        else out = tl[step[0]](...step.slice(1));
        if (out && typeof out === 'object') {
            outs.push(out);
            sent.push(...out.send);
        } else if (typeof out === 'string') {
            sent.push(out);
        }
    }
    return { tl, sent, outs, last: outs[outs.length - 1] };
}

/* Connected to a tagged gateway, newest page [1..3] loaded. */
const READY = [['connected'], ['frame', reply('hb-1', [])], ['frame', reply('n-2', range(1, 3))]];

test('every request carries a fresh tag, the probe first', () => {
    const { sent } = play([
        ...READY,
        ['disconnected'], ['connected'], ['frame', reply('hb-3', [])],
        ['frame', reply('a-4', range(4, 5))],
        ['heartbeat'], ['frame', reply('hb-5', [])],
        ['wantOlder'],
    ]);
    assert.deepEqual(sent, [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), AFTER(3, 'a-4'), HB('hb-5'), OLDER(1, 'o-6')]);
    const tags = sent.map((s) => /"req":"([^"]+)"/.exec(s)[1]);
    assert.equal(new Set(tags).size, tags.length, 'no tag used twice');
    for (const tag of tags) assert.match(tag, /^[A-Za-z0-9_-]{1,32}$/);
});

test('answers are matched by tag alone: a live batch is never an answer', () => {
    const rows = [
        {
            name: 'a live batch while the newest page is asked for is live, and the page still comes',
            steps: [['connected'], ['frame', reply('hb-1', [])], ['frame', [M(9)]], ['frame', reply('n-2', range(5, 9))]],
            want: { ids: [5, 6, 7, 8, 9], loadedNewest: true, cursor: 9, sent: [HB('hb-1'), NEWEST('n-2')] },
        },
        {
            name: 'an empty live array is no answer to the newest page',
            steps: [['connected'], ['frame', reply('hb-1', [])], ['frame', []]],
            want: { ids: [], loadedNewest: false, atBeginning: false },
        },
        {
            name: 'a full (500) live batch during a resume does not move the resume point',
            steps: [...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])],
                ['frame', range(600, 1099)], ['disconnected'], ['connected'], ['frame', reply('hb-5', [])]],
            want: { cursor: 3, resumeFrom: 3, sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), AFTER(3, 'a-4'), HB('hb-5'), AFTER(3, 'a-6')] },
        },
        {
            name: 'a reply with a tag we never sent is not ours',
            steps: [...READY, ['frame', reply('n-77', [M(50)])]],
            want: { ids: [1, 2, 3] },
        },
        {
            name: 'a reply for an older page is not taken for the sync (and the reverse)',
            steps: [...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])], ['wantOlder'],
                ['frame', reply('o-5', [])], ['frame', reply('a-4', range(4, 4))]],
            want: { atBeginning: true, resumeFrom: null, cursor: 4, sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), AFTER(3, 'a-4'), OLDER(1, 'o-5')] },
        },
        {
            name: 'an error without our tag refuses nothing once tags are spoken',
            steps: [...READY, ['wantOlder'], ['frame', { type: 'error', error: 'bad request' }]],
            want: { holding: false, sent: [HB('hb-1'), NEWEST('n-2'), OLDER(1, 'o-3')] },
        },
        {
            name: 'the heartbeat answer changes nothing',
            steps: [...READY, ['heartbeat'], ['frame', reply('hb-3', [])]],
            want: { ids: [1, 2, 3], cursor: 3, sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3')] },
        },
        {
            name: 'a new heartbeat replaces one never answered, whose late answer is then nobody\'s',
            steps: [...READY, ['heartbeat'], ['heartbeat'], ['frame', reply('hb-3', [M(70)])]],
            want: { ids: [1, 2, 3], sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), HB('hb-4')] },
        },
        {
            name: 'no heartbeat while the probe is out',
            steps: [['connected'], ['heartbeat']],
            want: { sent: [HB('hb-1')] },
        },
        {
            name: 'a refused heartbeat still shows the gateway alive and refuses nothing else',
            steps: [...READY, ['heartbeat'], ['frame', error('hb-3')], ['heartbeat']],
            want: { holding: false, sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), HB('hb-4')] },
        },
    ];
    for (const row of rows) {
        const { tl, sent } = play(row.steps);
        for (const [k, v] of Object.entries(row.want)) {
            if (k === 'sent') assert.deepEqual(sent, v, `${row.name}: sent`);
            else assert.deepEqual(tl[k], v, `${row.name}: ${k}`);
        }
    }
});

test('the resume rule: a full reply goes on from its own last id, a short one closes the chain', () => {
    const rows = [
        {
            name: 'resume starts from the highest id seen once caught up',
            steps: [...READY, ['frame', [M(4)]], ['frame', [M(5), M(6)]], ['disconnected'], ['connected'], ['frame', reply('hb-3', [])]],
            want: { sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), AFTER(6, 'a-4')] },
        },
        {
            name: 'full reply, then a live id far above: the next ask is from the reply\'s last id',
            steps: [...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])],
                ['frame', [M(2000)]], ['frame', reply('a-4', range(4, 503))]],
            want: { cursor: 503, resumeFrom: 503, sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), AFTER(3, 'a-4'), AFTER(503, 'a-5')] },
        },
        {
            name: 'a short reply closes the chain at the highest id seen, live ones included',
            steps: [...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])],
                ['frame', reply('a-4', range(4, 503))], ['frame', [M(900)]], ['frame', reply('a-5', range(504, 510))]],
            want: { cursor: 900, resumeFrom: null },
        },
        {
            name: 'a reply of 499 is short',
            steps: [...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])], ['frame', reply('a-4', range(4, 502))]],
            want: { cursor: 502, resumeFrom: null, sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), AFTER(3, 'a-4')] },
        },
        {
            name: 'a reply of exactly 500 asks again',
            steps: [...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])], ['frame', reply('a-4', range(4, 503))]],
            want: { cursor: 503, resumeFrom: 503 },
        },
        {
            name: 'a full reply with gaps in its ids goes on from its last one',
            steps: [...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])],
                ['frame', reply('a-4', range(1, 500).map((m) => M(m.id * 2 + 3)))]],
            want: { cursor: 1003, resumeFrom: 1003 },
        },
        {
            name: 'dropped mid-chain: the next socket resumes from the last full reply, never from live ids',
            steps: [...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])],
                ['frame', reply('a-4', range(4, 503))], ['frame', [M(3000)]], ['disconnected'], ['connected'], ['frame', reply('hb-6', [])]],
            want: { sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), AFTER(3, 'a-4'), AFTER(503, 'a-5'), HB('hb-6'), AFTER(503, 'a-7')] },
        },
        {
            name: 'live ids do not move the cursor before the newest page came',
            steps: [['connected'], ['frame', reply('hb-1', [])], ['frame', [M(40)]], ['disconnected'], ['connected'], ['frame', reply('hb-3', [])]],
            want: { cursor: 0, loadedNewest: false, sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), NEWEST('n-4')] },
        },
        {
            name: 'a full newest page above live ids from an earlier socket: the hole between is resumed',
            steps: [['connected'], ['frame', reply('hb-1', [])], ['frame', [M(40)]], ['disconnected'], ['connected'],
                ['frame', reply('hb-3', [])], ['frame', reply('n-4', range(200, 249))]],
            want: { cursor: 40, resumeFrom: 40, sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), NEWEST('n-4'), AFTER(40, 'a-5')] },
        },
        {
            name: 'a short newest page cannot leave a hole',
            steps: [['connected'], ['frame', reply('hb-1', [])], ['frame', [M(40)]], ['disconnected'], ['connected'],
                ['frame', reply('hb-3', [])], ['frame', reply('n-4', range(200, 248))]],
            want: { cursor: 248, resumeFrom: null },
        },
        {
            name: 'an own message (its 200) is shown but moves neither the cursor nor the highest seen',
            steps: [...READY, ['ownSent', M(10)], ['disconnected'], ['connected'], ['frame', reply('hb-3', [])]],
            want: { ids: [1, 2, 3, 10], seenMax: 3, sent: [HB('hb-1'), NEWEST('n-2'), HB('hb-3'), AFTER(3, 'a-4')] },
        },
    ];
    for (const row of rows) {
        const { tl, sent } = play(row.steps);
        for (const [k, v] of Object.entries(row.want)) {
            if (k === 'sent') assert.deepEqual(sent, v, `${row.name}: sent`);
            else assert.deepEqual(tl[k], v, `${row.name}: ${k}`);
        }
    }
    assert.equal(RESUME_MAX, 500);
});

test('refused requests are asked again, with a fresh tag, after a growing pause', () => {
    const { tl, sent, outs } = play([
        ['connected'], ['frame', reply('hb-1', [])], ['frame', error('n-2')],
        (t) => t.retryDue(), ['frame', error('n-3')], (t) => t.retryDue(), ['frame', reply('n-4', range(1, 2))],
    ]);
    assert.deepEqual(sent, [HB('hb-1'), NEWEST('n-2'), NEWEST('n-3'), NEWEST('n-4')]);
    const pauses = outs.map((o) => o.retryInMs).filter((x) => x !== null);
    assert.deepEqual(pauses, [250, 500], 'half of 500 ms, then of 1000 ms (random 0)');
    assert.deepEqual(tl.ids, [1, 2]);
    assert.equal(tl.refusals, 0, 'an answer resets the pause');

    /* While the pause runs nothing else is asked, older pages included. */
    const held = play([...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])], ['frame', error('a-4')], ['wantOlder']]);
    assert.deepEqual(held.sent.slice(3), [AFTER(3, 'a-4')]);
    assert.equal(held.last.send.length, 0);
    /* A refused older page: the edge goes back to idle. */
    const older = play([...READY, ['wantOlder'], ['frame', error('o-3')]]);
    assert.equal(older.last.edge, 'idle');
    assert.ok(older.last.retryInMs > 0);
});

test('older pages: below the lowest shown, one at a time, alongside a resume, until an empty one', () => {
    const r = play([['wantOlder'], ...READY.slice(0, 2), ['wantOlder']]);
    assert.deepEqual(r.sent, [HB('hb-1'), NEWEST('n-2')], 'none before the newest page');
    const { tl, sent, outs } = play([
        ['connected'], ['frame', reply('hb-1', [])], ['frame', reply('n-2', range(51, 100))],
        ['wantOlder'], ['wantOlder'], ['frame', reply('o-3', range(1, 50))],
        ['wantOlder'], ['frame', reply('o-4', [])], ['wantOlder'],
    ]);
    assert.deepEqual(sent, [HB('hb-1'), NEWEST('n-2'), OLDER(51, 'o-3'), OLDER(1, 'o-4')]);
    assert.equal(outs[3].edge, 'loading');
    assert.equal(outs[5].edge, 'idle');
    assert.equal(outs[5].olderOnly, true);
    assert.deepEqual(outs[5].fresh, [], 'history is not news');
    assert.equal(outs[7].edge, 'beginning');
    assert.equal(outs[7].empty, false);
    assert.equal(tl.atBeginning, true);
    assert.equal(tl.cursor, 100, 'older pages leave the resume point alone');
    /* With tags an older page may go while a resume is under way. */
    const both = play([...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])], ['wantOlder']]);
    assert.deepEqual(both.sent.slice(3), [AFTER(3, 'a-4'), OLDER(1, 'o-5')]);
    /* Nothing stored at all. */
    const none = play([['connected'], ['frame', reply('hb-1', [])], ['frame', reply('n-2', [])]]);
    assert.equal(none.last.edge, 'beginning');
    assert.equal(none.last.empty, true);
});

test('merge by id: each message once, in id order, with where it goes', () => {
    const { tl, outs } = play([
        ['connected'], ['frame', reply('hb-1', [])], ['frame', reply('n-2', [M(2), M(4), M(6)])],
        ['frame', [M(4), M(7)]], ['frame', [M(5)]], ['frame', [M(9), M(8), M(8)]],
        ['frame', [null, 5, { id: 'x' }, { id: -1 }, { id: 0 }, { id: 1.5 }, M(10)]],
    ]);
    assert.deepEqual(tl.ids, [2, 4, 5, 6, 7, 8, 9, 10]);
    const added = outs.slice(2).map((o) => o.added.map((a) => [a.message.id, a.before]));
    assert.deepEqual(added, [
        [[2, null], [4, null], [6, null]],
        [[7, null]],
        [[5, 6]],
        [[9, null], [8, 9]],
        [[10, null]],
    ]);
    assert.deepEqual(outs[2].fresh, [], 'the newest page is history, not news');
    assert.deepEqual(outs[3].fresh.map((m) => m.id), [7]);
    assert.deepEqual(outs[4].fresh, [], 'a live message below the highest shown is not news');
    assert.equal(outs[3].olderOnly, false);
    assert.equal(outs[3].delivered, true);
    /* A resumed message above what was shown is news too. */
    const resumed = play([...READY, ['disconnected'], ['connected'], ['frame', reply('hb-3', [])], ['frame', reply('a-4', range(4, 5))]]);
    assert.deepEqual(resumed.last.fresh.map((m) => m.id), [4, 5]);
});

test('status objects: presence shown, unknown types and junk ignored', () => {
    const rows = [
        [{ type: 'presence', online: 7 }, 7],
        [{ type: 'presence', online: 0 }, 0],
        [{ type: 'presence', online: -1 }, null],
        [{ type: 'presence', online: 'lots' }, null],
        [{ type: 'presence', online: 1.5 }, null],
        [{ type: 'typing', messages: [M(99)] }, null],
        [{ id: 99, content: 'not an array' }, null],
    ];
    for (const [frame, presence] of rows) {
        const { tl, last } = play([...READY, ['frame', frame]]);
        assert.equal(last.presence, presence, JSON.stringify(frame));
        assert.deepEqual(tl.ids, [1, 2, 3], `${JSON.stringify(frame)} shows nothing`);
        assert.deepEqual(last.send, []);
    }
    for (const junk of [null, 42, 'a string', true]) {
        const { last } = play([...READY, ['frame', junk]]);
        assert.deepEqual(last.added, []);
    }
    /* Without a socket nothing is taken. */
    const gone = play([...READY, ['disconnected'], ['frame', [M(50)]]]);
    assert.deepEqual(gone.tl.ids, [1, 2, 3]);
});

test('an old gateway (no tags): found by the probe, then one untagged request at a time', () => {
    const OLD_ERR = { type: 'error', error: 'request has a member other than first_id, last_id, after_id' };
    const U = (obj) => JSON.stringify(obj);
    const rows = [
        {
            name: 'an untagged error answers the probe: the classic protocol follows',
            steps: [['connected'], ['frame', OLD_ERR], ['frame', range(1, 3)]],
            want: { mode: 'legacy', ids: [1, 2, 3], loadedNewest: true, cursor: 3, sent: [HB('hb-1'), U({ first_id: 0, last_id: -1 })] },
        },
        {
            name: 'a bare [] answers the probe too (a gateway that ignores tags)',
            steps: [['connected'], ['frame', []], ['frame', range(1, 3)]],
            want: { mode: 'legacy', loadedNewest: true, sent: [HB('hb-1'), U({ first_id: 0, last_id: -1 })] },
        },
        {
            name: 'a live batch while probing is live; the probe is still awaited',
            steps: [['connected'], ['frame', [M(5)]]],
            want: { mode: 'probing', ids: [5], sent: [HB('hb-1')] },
        },
        {
            name: 'no heartbeats on an old gateway',
            steps: [['connected'], ['frame', OLD_ERR], ['frame', range(1, 3)], ['heartbeat']],
            want: { sent: [HB('hb-1'), U({ first_id: 0, last_id: -1 })] },
        },
        {
            name: 'resume: a live batch taken for the answer; the late full reply still goes on from its last id',
            steps: [['connected'], ['frame', OLD_ERR], ['frame', range(1, 3)], ['disconnected'],
                ['connected'], ['frame', OLD_ERR], ['frame', [M(900)]], ['frame', range(4, 503)], ['frame', range(504, 510)]],
            want: {
                cursor: 900, resumeFrom: null,
                sent: [HB('hb-1'), U({ first_id: 0, last_id: -1 }), HB('hb-2'), U({ after_id: 3 }), U({ after_id: 503 })],
            },
        },
        {
            name: 'older pages are told apart by lying below what is shown; not while a resume is open',
            steps: [['connected'], ['frame', OLD_ERR], ['frame', range(51, 100)], ['wantOlder'], ['frame', [M(101)]],
                ['frame', range(1, 50)], ['wantOlder'], ['frame', []]],
            want: { atBeginning: true, cursor: 101, sent: [HB('hb-1'), U({ first_id: 0, last_id: -1 }), U({ first_id: 0, last_id: 51 }), U({ first_id: 0, last_id: 1 })] },
        },
        {
            name: 'one at a time: an older page waits for the one in flight',
            steps: [['connected'], ['frame', OLD_ERR], ['frame', range(51, 100)], ['wantOlder'], ['wantOlder']],
            want: { sent: [HB('hb-1'), U({ first_id: 0, last_id: -1 }), U({ first_id: 0, last_id: 51 })] },
        },
        {
            name: 'a request unanswered past the stale limit no longer blocks the next',
            steps: [['connected'], ['frame', OLD_ERR], ['frame', range(51, 100)], ['wantOlder'], ['wait', 10000], ['wantOlder']],
            want: { sent: [HB('hb-1'), U({ first_id: 0, last_id: -1 }), U({ first_id: 0, last_id: 51 }), U({ first_id: 0, last_id: 51 })] },
        },
        {
            name: 'a refusal (untagged error) holds off, then asks again; an error with nothing in flight does nothing',
            steps: [['connected'], ['frame', OLD_ERR], ['frame', OLD_ERR], (t) => t.retryDue(), ['frame', range(1, 2)], ['frame', OLD_ERR]],
            want: { holding: false, ids: [1, 2], sent: [HB('hb-1'), U({ first_id: 0, last_id: -1 }), U({ first_id: 0, last_id: -1 })] },
        },
    ];
    for (const row of rows) {
        const { tl, sent } = play(row.steps);
        for (const [k, v] of Object.entries(row.want)) {
            if (k === 'sent') assert.deepEqual(sent, v, `${row.name}: sent`);
            else assert.deepEqual(tl[k], v, `${row.name}: ${k}`);
        }
    }
    /* A new connection probes again: the gateway behind may have changed. */
    const upgraded = play([['connected'], ['frame', OLD_ERR], ['frame', range(1, 3)], ['disconnected'],
        ['connected'], ['frame', reply('hb-2', [])]]);
    assert.equal(upgraded.tl.mode, 'tagged');
    assert.deepEqual(upgraded.sent.slice(-1), [AFTER(3, 'a-3')]);
});
