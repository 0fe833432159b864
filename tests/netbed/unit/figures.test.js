'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fig = require('../figures');

const TAG = 'd9';
const tr = (t0, t1, status, extra = {}) => ({ t0, t1, status, id: null, unknown: false, error: status === 200 ? '' : 'try again', ...extra });
const msg = (n, tries) => {
    const last = tries[tries.length - 1];
    return { content: `${TAG} #${n}`, idem: `${TAG}-${n}`, id: last.status === 200 ? last.id : null, tries };
};
const stored = (id, n, dateMs) => ({ id, content: `${TAG} #${n}`, date: new Date(dateMs).toISOString() });
const send = (messages) => fig.sendFigures([{ messages, skipped: 0, startedAt: 0, stoppedAt: 1000 }]);

test('send figures count messages, tries, final answers and unknowns', () => {
    const f = send([
        msg(1, [tr(0, 10, 200, { id: 5 })]),
        msg(2, [tr(0, 1000, 503, { unknown: true }), tr(1200, 1210, 200, { id: 6 })]),
        msg(3, [tr(0, 5, 503), tr(300, 305, 503)]),
    ]);
    assert.strictEqual(f.sent, 3);
    assert.strictEqual(f.posts, 5);
    assert.strictEqual(f.acked.length, 2);
    assert.deepStrictEqual(f.statuses, { 200: 2, 503: 1 });
    assert.deepStrictEqual(f.tryStatuses, { 200: 2, 503: 3 });
    assert.strictEqual(f.unknown, 1);
    assert.strictEqual(f.slowestMs, 1000);
    assert.strictEqual(f.rate, 3);
});

test('store figures find a 200 not stored, one stored twice, one stored unacknowledged; other tags are ignored', () => {
    const f = send([msg(1, [tr(0, 10, 200, { id: 5 })]), msg(2, [tr(0, 10, 200, { id: 6 })]), msg(3, [tr(0, 10, 503)])]);
    const s = fig.storeFigures(f, [stored(6, 2, 5), stored(7, 2, 8), stored(8, 3, 5), { id: 9, content: 'd99 #1', date: '' }], TAG);
    assert.strictEqual(s.stored, 3);
    assert.deepStrictEqual(s.ackedNotStored.map((m) => m.content), ['d9 #1']);
    assert.deepStrictEqual(s.storedTwice.map((es) => es.map((e) => e.id)), [[6, 7]]);
    assert.deepStrictEqual(s.storedNotAcked.map((e) => e.id), [8]);
});

test('the storing try is the last one that began before the stored date', () => {
    const m = msg(1, [tr(100, 1100, 503), tr(1300, 1310, 200, { id: 4 })]);
    assert.strictEqual(fig.storingTry(m, stored(4, 1, 150)), m.tries[0]);
    assert.strictEqual(fig.storingTry(m, stored(4, 1, 1300)), m.tries[1], 'a date equal to the start belongs to that try');
    assert.strictEqual(fig.storingTry(m, stored(4, 1, 50)), null, 'stored before any try began');
});

test('a plain 503 for a try that stored is dishonest; an unknown 503 or a later try storing is not', () => {
    const lying = msg(1, [tr(100, 1100, 503), tr(1300, 1310, 200, { id: 4 })]);
    const honest = msg(2, [tr(100, 1100, 503, { unknown: true }), tr(1300, 1310, 200, { id: 5 })]);
    const retried = msg(3, [tr(100, 105, 503), tr(300, 310, 200, { id: 6 })]);
    const f = send([lying, honest, retried]);
    const s = fig.storeFigures(f, [stored(4, 1, 200), stored(5, 2, 200), stored(6, 3, 305)], TAG);
    assert.deepStrictEqual(fig.dishonest503(f, s).map((x) => x.content), ['d9 #1']);
});

test('client figures: lost, shown twice, order breaks, stall within a window', () => {
    const f = send([msg(1, [tr(0, 100, 200, { id: 1 })]), msg(2, [tr(0, 200, 200, { id: 2 })]),
        msg(3, [tr(0, 300, 200, { id: 3 })]), msg(4, [tr(0, 400, 200, { id: 4 })])]);
    const report = {
        id: 'w', node: 'cl1', repeats: 2,
        msgs: [[1, 150, 0, 'd9 #1'], [3, 900, 0, 'd9 #3'], [2, 950, 0, 'd9 #2'], [9, 960, 0, 'd9 #3'], [7, 970, 0, 'other #1']],
        conns: [{ breaks: 1 }, { breaks: 3 }],
    };
    const c = fig.clientFigures(report, f, TAG);
    assert.deepStrictEqual(c.lost, [4]);
    assert.strictEqual(c.delivered, 4, 'ids 1, 2, 3 and 9 carry the tag');
    assert.strictEqual(c.dupShown, 1, '#3 under ids 3 and 9');
    assert.deepStrictEqual(c.breaks, [1, 3]);
    assert.strictEqual(c.stallMs, 750, 'id 2: acknowledged at 200, arrived at 950');
    assert.strictEqual(fig.clientFigures(report, f, TAG, [250, 1000]).stallMs, 600, 'only id 3 was acknowledged in the window');
    assert.strictEqual(c.connections, 2);
});

test('complete-at is the arrival of the last wanted id, null if one never came', () => {
    const r = { msgs: [[1, 10], [2, 30], [3, 20]] };
    assert.strictEqual(fig.completeAt(r, [1, 3]), 20);
    assert.strictEqual(fig.completeAt(r, [1, 4]), null);
    assert.strictEqual(fig.completeAt(r, []), 0);
});

test('presence: the value held at a time, and since when the expected value holds unchanged', () => {
    const r = { presence: [[10, 3], [20, 5], [30, 4], [40, 5]] };
    assert.strictEqual(fig.presenceAt(r, 25), 5);
    assert.strictEqual(fig.presenceAt(r, 5), null);
    assert.strictEqual(fig.presenceSettledAt(r, 5, 100), 40, 'the last change to 5');
    assert.strictEqual(fig.presenceSettledAt(r, 5, 35), null, 'at 35 it showed 4');
    assert.strictEqual(fig.presenceSettledAt(r, 4, 35), 30);
});
