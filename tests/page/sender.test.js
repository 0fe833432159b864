'use strict';
/*
 * Sending with an idempotency key and retries: the decision after each
 * attempt as rows, the key's life, and whole sends against a fake fetch
 * on a fake clock.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { Sender, IdemKeys, decide, retryAfterMs, newIdemKey, formBody, IDEM_RE, IDEM_LENGTH } = require('../../htdocs/core/sender.js');
const tuningOf = require('../../htdocs/core/tuning.js').make;
const { FakeClock, settle } = require('./fakes');

const T = tuningOf({});
const answer = (status, body = null, retryAfter = null) => ({ kind: 'answer', status, body, retryAfterMs: retryAfter });

test('after each attempt: sent, final, or again after a pause', () => {
    /* [outcome, attempt, elapsed, random, expected] with the default
     * tuning: pauses of half to all of 1 s * 2^(attempt-1), at most 8 s;
     * 6 attempts; 60 s in all. */
    const rows = [
        [answer(200, { id: 1 }), 1, 0, 0, { action: 'sent' }],
        [answer(400, { error: 'x', field: 'email' }), 1, 0, 0, { action: 'reject' }],
        [answer(404), 1, 0, 0, { action: 'reject' }],
        [answer(405), 1, 0, 0, { action: 'reject' }],
        [answer(411), 1, 0, 0, { action: 'reject' }],
        [answer(413), 1, 0, 0, { action: 'reject' }],
        [answer(415), 1, 0, 0, { action: 'reject' }],
        [answer(204), 1, 0, 0, { action: 'reject' }],
        [answer(503, { error: 'Redis unreachable' }), 1, 0, 0, { action: 'retry', delayMs: 500, reason: 'unavailable' }],
        [answer(503, { error: 'x', unknown: true }), 1, 0, 0, { action: 'retry', delayMs: 500, reason: 'unknown' }],
        [answer(503, { error: 'x', unknown: 'yes' }), 1, 0, 0, { action: 'retry', delayMs: 500, reason: 'unavailable' }],
        [answer(503, null), 2, 0, 0.999999, { action: 'retry', delayMs: 2000, reason: 'unavailable' }],
        [answer(500), 1, 0, 0, { action: 'retry', delayMs: 500, reason: 'unavailable' }],
        [answer(502), 3, 0, 0, { action: 'retry', delayMs: 2000, reason: 'unavailable' }],
        [answer(504), 4, 0, 0, { action: 'retry', delayMs: 4000, reason: 'unavailable' }],
        [answer(408), 1, 0, 0, { action: 'retry', delayMs: 500, reason: 'unavailable' }],
        [answer(503), 5, 0, 0.999999, { action: 'retry', delayMs: 8000, reason: 'unavailable' }], /* capped */
        [{ kind: 'network' }, 1, 0, 0, { action: 'retry', delayMs: 500, reason: 'network' }],
        [{ kind: 'timeout' }, 1, 10000, 0, { action: 'retry', delayMs: 500, reason: 'timeout' }],
        [answer(429, { error: 'slow down' }, 3000), 1, 0, 0, { action: 'retry', delayMs: 3000, reason: 'busy' }],
        [answer(429, { error: 'slow down' }, null), 1, 0, 0, { action: 'retry', delayMs: 500, reason: 'busy' }],
        /* the bounds: the sixth attempt is the last; no pause past 60 s */
        [answer(503), 5, 0, 0, { action: 'retry', delayMs: 4000, reason: 'unavailable' }],
        [answer(503), 6, 0, 0, { action: 'give-up', reason: 'unavailable' }],
        [{ kind: 'timeout' }, 6, 0, 0, { action: 'give-up', reason: 'timeout' }],
        [answer(503), 2, 59000, 0, { action: 'retry', delayMs: 1000, reason: 'unavailable' }], /* ends at 60 s */
        [answer(503), 2, 59001, 0, { action: 'give-up', reason: 'unavailable' }],
        [answer(429, null, 61000), 1, 0, 0, { action: 'give-up', reason: 'busy' }],
        [answer(200), 6, 70000, 0, { action: 'sent' }], /* a late 200 is still a 200 */
        [answer(400), 6, 70000, 0, { action: 'reject' }],
    ];
    for (const [outcome, attempt, elapsedMs, r, want] of rows) {
        assert.deepEqual(decide(outcome, { attempt, elapsedMs, tuning: T, random: () => r }), want,
            `${JSON.stringify(outcome)} at attempt ${attempt}, ${elapsedMs} ms`);
    }
});

test('Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    const rows = [
        ['3', 3000], [' 1 ', 1000], ['0', 0], ['120', 120000],
        ['Wed, 21 Oct 2026 07:28:05 GMT', 5000],
        ['Wed, 21 Oct 2026 07:27:00 GMT', 0], /* already past */
        ['-1', null], ['1.5', null], ['soon', null], ['', null], [null, null], [undefined, null],
    ];
    for (const [h, want] of rows) assert.equal(retryAfterMs(h, now), want, JSON.stringify(h));
});

test('an idempotency key per composed message', () => {
    const base = { name: 'Ann', email: 'ann@example.com', topic: '', content: 'hi', ephemeral: false };
    let n = 0;
    const keys = new IdemKeys((len) => Uint8Array.from({ length: len }, (_, i) => (i + n++) % 256));
    const k1 = keys.keyFor(base);
    assert.match(k1, IDEM_RE);
    assert.equal(k1.length, IDEM_LENGTH);
    assert.equal(keys.keyFor({ ...base }), k1, 'the same message again: the same key');
    for (const change of [{ content: 'hi!' }, { name: 'Anne' }, { email: 'a@example.com' }, { topic: 'x' }, { ephemeral: true }]) {
        const k = keys.keyFor({ ...base, ...change });
        assert.notEqual(k, k1, `a new key after editing ${Object.keys(change)[0]}`);
        keys.keyFor(base);
    }
    const before = keys.keyFor(base);
    keys.settled();
    assert.notEqual(keys.keyFor(base), before, 'after a 200 the same text is a new message');
    /* Every byte value maps into the alphabet; real randomness differs. */
    const all = newIdemKey((len) => Uint8Array.from({ length: len }, (_, i) => 255 - i));
    assert.match(all, /^[A-Za-z0-9_-]{22}$/);
    const real = (len) => crypto.getRandomValues(new Uint8Array(len));
    assert.notEqual(newIdemKey(real), newIdemKey(real));
    assert.match('a'.repeat(64), IDEM_RE);
    assert.doesNotMatch('a'.repeat(65), IDEM_RE);
    assert.doesNotMatch('', IDEM_RE);
});

test('the form body: the fields a browser form sends, and the key', async () => {
    const fd = formBody({ name: 'A', email: 'a@b.c', topic: '', content: 'x\ny', ephemeral: true }, 'KEY_1-a');
    assert.deepEqual([...fd.entries()], [['name', 'A'], ['email', 'a@b.c'], ['topic', ''], ['content', 'x\ny'], ['ephemeral', 'on'], ['idem', 'KEY_1-a']]);
    const stored = formBody({ name: 'A', email: 'a@b.c', topic: 't', content: 'x', ephemeral: false }, 'K');
    assert.equal(stored.has('ephemeral'), false, 'unticked: absent, as a browser sends it');
});

/* A send handler played by the test: each call takes the next answer. */
function rig(answers, tuning = {}) {
    const clock = new FakeClock();
    const calls = [];
    const events = [];
    const fetch = (url, init) => {
        calls.push({ url, idem: init.body.get('idem'), content: init.body.get('content'), at: clock.now() });
        const a = answers.shift();
        if (a === 'network') return Promise.reject(new TypeError('Failed to fetch'));
        if (a === 'hang') {
            return new Promise((resolve, reject) => init.signal.addEventListener('abort', () => reject(new Error('aborted'))));
        }
        const [status, body, headers = {}] = a;
        return Promise.resolve({
            status, headers: { get: (k) => headers[k.toLowerCase()] ?? null },
            text: async () => (typeof body === 'string' ? body : JSON.stringify(body)),
        });
    };
    const sender = new Sender({
        fetch, url: '/chatapp/send', clock, random: () => 0, tuning: tuningOf(tuning),
        randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
        view: {
            sending: (n) => events.push(['sending', n]),
            retrying: (reason, ms, n) => events.push(['retrying', reason, ms, n]),
            sent: (body) => events.push(['sent', body.id]),
            rejected: (status, body) => events.push(['rejected', status, body && body.field]),
            failed: (reason) => events.push(['failed', reason]),
        },
    });
    return { clock, calls, events, sender };
}

const FIELDS = { name: 'Ann', email: 'ann@example.com', topic: '', content: 'hello', ephemeral: false };

test('a send through two 503s and a timeout: one key on every attempt, then a 200', async () => {
    const r = rig([[503, { error: 'Redis unreachable' }], [503, { error: 'x', unknown: true }], 'hang', [200, { id: 7 }], [200, { id: 8 }]],
        { sendTimeoutMs: 3000 });
    const done = r.sender.send(FIELDS);
    assert.equal(r.sender.busy, true);
    await r.clock.advanceAsync(500 + 1000 + 3000 + 2000 + 100);
    await done;
    assert.equal(r.calls.length, 4);
    assert.equal(new Set(r.calls.map((c) => c.idem)).size, 1, 'the same idem on every attempt');
    assert.deepEqual(r.calls.map((c) => c.at - r.calls[0].at), [0, 500, 1500, 6500], 'pauses 500, 1000, then 3 s timeout + 2000');
    assert.deepEqual(r.events, [
        ['sending', 1], ['retrying', 'unavailable', 500, 1],
        ['sending', 2], ['retrying', 'unknown', 1000, 2],
        ['sending', 3], ['retrying', 'timeout', 2000, 3],
        ['sending', 4], ['sent', 7],
    ]);
    assert.equal(r.sender.busy, false);
    /* The next message gets a new key, even with the same text. */
    await r.sender.send(FIELDS);
    assert.equal(r.calls.length, 5);
    assert.notEqual(r.calls[4].idem, r.calls[0].idem, 'after a 200, a new key');
});

test('a 400 is final at once; a network error is retried; a 429 waits Retry-After', async () => {
    const bad = rig([[400, { error: 'email must contain one @', field: 'email' }]]);
    await bad.sender.send(FIELDS);
    await bad.clock.advanceAsync(60000);
    assert.equal(bad.calls.length, 1, 'not retried');
    assert.deepEqual(bad.events, [['sending', 1], ['rejected', 400, 'email']]);

    const net = rig(['network', [200, { id: 3 }]]);
    const p = net.sender.send(FIELDS);
    await net.clock.advanceAsync(600);
    await p;
    assert.deepEqual(net.events.map((e) => e[0]), ['sending', 'retrying', 'sending', 'sent']);
    assert.equal(net.events[1][1], 'network');

    const busy = rig([[429, { error: 'too fast' }, { 'retry-after': '2' }], [200, { id: 4 }]]);
    const q = busy.sender.send(FIELDS);
    await busy.clock.advanceAsync(1990);
    assert.equal(busy.calls.length, 1, 'still waiting the 2 s');
    await busy.clock.advanceAsync(30);
    await q;
    assert.equal(busy.calls.length, 2);
    assert.equal(busy.calls[1].at - busy.calls[0].at, 2000);
    assert.equal(busy.calls[0].idem, busy.calls[1].idem);
});

test('retries are bounded: six attempts, then "could not send"; trying again keeps the key', async () => {
    const r = rig(Array.from({ length: 7 }, () => [503, { error: 'down' }]).concat([[200, { id: 9 }]]));
    const p = r.sender.send(FIELDS);
    await r.clock.advanceAsync(60000);
    await p;
    assert.equal(r.calls.length, 6);
    assert.deepEqual(r.events.at(-1), ['failed', 'unavailable']);
    assert.equal(r.sender.busy, false);
    /* The user presses "try again" with the message unchanged (its first
     * answer is a 503 again, then a 200) ... */
    const again = r.sender.send(FIELDS);
    await r.clock.advanceAsync(1000);
    await again;
    assert.equal(r.calls.length, 8);
    assert.equal(new Set(r.calls.map((c) => c.idem)).size, 1, 'the same key across the retry button too');
    assert.deepEqual(r.events.at(-1), ['sent', 9]);

    /* ... or edits it first: a new message, a new key. */
    const e = rig([[503, {}], [200, { id: 1 }]], { sendAttemptsMax: 1 });
    await e.sender.send(FIELDS);
    await e.sender.send({ ...FIELDS, content: 'hello, edited' });
    assert.notEqual(e.calls[0].idem, e.calls[1].idem);
});

test('one send at a time', async () => {
    const r = rig([[503, {}], [200, { id: 2 }]]);
    const p = r.sender.send(FIELDS);
    await r.sender.send({ ...FIELDS, content: 'second' });
    await r.clock.advanceAsync(600);
    await p;
    assert.deepEqual(r.calls.map((c) => c.content), ['hello', 'hello'], 'the second press did nothing');
    await settle();
});
