'use strict';
/*
 * The socket's life with a fake clock and a fake WebSocket: which URL
 * each attempt opens, the reconnect pauses, an open that hangs, and the
 * heartbeat that finds a gateway gone silent.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { Link } = require('../../htdocs/core/link.js');
const { Timeline } = require('../../htdocs/core/timeline.js');
const { Endpoints } = require('../../htdocs/core/endpoints.js');
const tuningOf = require('../../htdocs/core/tuning.js').make;
const { FakeClock, FakeSocket } = require('./fakes');

const D = 'ws://gw.example:30226/chatapp/websocket';
const S = 'ws://chat.example/chatapp/websocket';
const HB = (tag) => `{"after_id":9223372036854775807,"req":"${tag}"}`;

function rig({ direct = D, tuning = {} } = {}) {
    const clock = new FakeClock();
    const sockets = [];
    const states = [];
    const warnings = [];
    const rendered = [];
    const t = tuningOf(tuning);
    const link = new Link({
        endpoints: new Endpoints(direct, S),
        timeline: new Timeline({ now: () => clock.now(), random: () => 0, tuning: t }),
        open: (url) => {
            const s = new FakeSocket(url);
            sockets.push(s);
            return s;
        },
        clock,
        random: () => 0,
        tuning: t,
        view: {
            connState: (s, text) => states.push([s, text]),
            render: (out) => rendered.push(out),
            closed: () => states.push(['closed']),
            warn: (w) => warnings.push(w),
        },
    });
    const last = () => sockets[sockets.length - 1];
    /* Open the latest socket and answer its probe as a tagged gateway. */
    const up = () => {
        last().accept();
        const tag = /"req":"([^"]+)"/.exec(last().sent[0])[1];
        last().push({ type: 'reply', req: tag, messages: [] });
    };
    return { clock, sockets, states, warnings, rendered, link, last, up, t };
}

test('opens: two refused direct opens fall back to the same origin; a drop tries direct again', () => {
    const r = rig();
    r.link.start();
    r.last().drop(); /* refused before it opened */
    r.clock.advance(r.clock.pending('connect')[0]);
    r.last().drop();
    r.clock.advance(r.clock.pending('connect')[0]);
    r.up();
    assert.deepEqual(r.sockets.map((s) => s.url), [D, D, S]);
    assert.deepEqual(r.states.at(-1), ['live', 'Live']);
    r.last().drop(); /* the gateway behind the front end went away */
    r.clock.advance(r.clock.pending('connect')[0]);
    assert.deepEqual(r.sockets.map((s) => s.url), [D, D, S, D], 'a later cycle tries the direct URL first');
    /* No config: the same origin every time. */
    const n = rig({ direct: null });
    n.link.start();
    n.last().drop();
    n.clock.advance(n.clock.pending('connect')[0]);
    n.last().drop();
    n.clock.advance(n.clock.pending('connect')[0]);
    assert.deepEqual(n.sockets.map((s) => s.url), [S, S, S]);
});

test('an open that hangs is given up after the open timeout and counts as failed', () => {
    const r = rig({ tuning: { openTimeoutMs: 2000 } });
    r.link.start();
    r.clock.advance(1999);
    assert.equal(r.sockets.length, 1);
    assert.equal(r.sockets[0].closed, false);
    r.clock.advance(1);
    assert.equal(r.sockets[0].closed, true, 'closed by the page');
    assert.deepEqual(r.clock.pending('connect'), [250], 'first reconnect pause');
    r.clock.advance(250);
    r.clock.advance(2000);
    r.clock.advance(r.clock.pending('connect')[0]);
    assert.deepEqual(r.sockets.map((s) => s.url), [D, D, S]);
    /* The abandoned socket's late events change nothing. */
    r.sockets[0].onopen && r.sockets[0].onopen();
    assert.equal(r.sockets[0].onopen, null);
});

test('reconnect pauses double from 500 ms with jitter, and reset only once a socket delivered', () => {
    const r = rig({ direct: null });
    r.link.start();
    const pauses = [];
    for (let i = 0; i < 6; i++) {
        r.last().drop();
        pauses.push(r.clock.pending('connect')[0]);
        r.clock.advance(pauses[i]);
    }
    assert.deepEqual(pauses, [250, 500, 1000, 2000, 4000, 7500], 'random 0: half of each ceiling, capped at 15 s');
    /* Accepted and dropped at once, having delivered nothing: no reset. */
    r.up();
    r.last().drop();
    assert.deepEqual(r.clock.pending('connect'), [7500]);
    r.clock.advance(7500);
    r.up();
    r.last().push([{ id: 1, name: 'a', email: 'a@b.c', content: 'x' }]);
    r.last().drop();
    assert.deepEqual(r.clock.pending('connect'), [250], 'a socket that delivered a message resets the pause');
    assert.match(r.states.find((s) => s[0] === 'reconnecting')[1], /^Reconnecting/);
    assert.deepEqual(r.states.filter((s) => s[0] === 'connecting').length > 0, true, 'connecting before the first open');
});

test('liveness: a heartbeat after the quiet spell; nothing heard within the timeout drops the socket', () => {
    const r = rig({ tuning: { heartbeatIdleMs: 15000, heartbeatTimeoutMs: 10000 } });
    r.link.start();
    r.up();
    const ws = r.last();
    assert.equal(ws.sent.length, 2, 'probe, newest page');
    ws.push({ type: 'reply', req: 'n-2', messages: [] });
    r.clock.advance(14999);
    assert.equal(ws.sent.length, 2, 'no heartbeat before 15 s of silence');
    r.clock.advance(1);
    assert.equal(ws.sent[2], HB('hb-3'));
    /* Any frame is progress: the heartbeat need not be the one answered. */
    r.clock.advance(9000);
    ws.push({ type: 'presence', online: 3 });
    r.clock.advance(5000);
    assert.equal(ws.closed, false, 'alive: something came');
    assert.equal(ws.sent.length, 3, 'one heartbeat out at a time');
    r.clock.advance(9999);
    assert.equal(ws.sent.length, 3);
    r.clock.advance(1); /* 15 s since the presence: a quiet spell again */
    assert.equal(ws.sent[3], HB('hb-4'), 'a heartbeat never answered does not stop the next');
    r.clock.advance(9999);
    assert.equal(ws.closed, false);
    r.clock.advance(1);
    assert.equal(ws.closed, true, 'nothing for 10 s after the heartbeat: given up');
    assert.ok(r.warnings.some((w) => /heartbeat/.test(w)));
    assert.deepEqual(r.states.at(-1)[0], 'reconnecting');
    assert.equal(r.states.filter((s) => s[0] === 'closed').length, 1);
    r.clock.advance(r.clock.pending('connect')[0]);
    assert.equal(r.sockets.length, 2, 'reconnected');
    assert.equal(r.last().url, D, 'an open socket that died starts a new cycle on the direct URL');
});

test('liveness: a socket that opens and then says nothing at all, or never answers the probe', () => {
    const r = rig({ tuning: { heartbeatIdleMs: 15000, heartbeatTimeoutMs: 10000 } });
    r.link.start();
    r.last().accept();
    r.clock.advance(9999);
    assert.equal(r.last().closed, false);
    r.clock.advance(1);
    assert.equal(r.sockets[0].closed, true, 'the probe is the first heartbeat');

    const p = rig({ tuning: { heartbeatIdleMs: 15000, heartbeatTimeoutMs: 10000 } });
    p.link.start();
    p.last().accept();
    p.clock.advance(3000);
    p.last().push({ type: 'presence', online: 1 });
    p.clock.advance(6999);
    assert.equal(p.last().closed, false);
    p.clock.advance(1);
    assert.equal(p.sockets[0].closed, true, 'frames but no answer to the probe: given up too');

    /* An old gateway never gets heartbeats, so silence there is kept. */
    const o = rig({ tuning: { heartbeatIdleMs: 15000, heartbeatTimeoutMs: 10000 } });
    o.link.start();
    o.last().accept();
    o.last().push({ type: 'error', error: 'request has a member other than first_id, last_id, after_id' });
    o.clock.advance(120000);
    assert.equal(o.last().closed, false);
    assert.equal(o.last().sent.length, 2, 'probe and the untagged newest page only');
});

test('a refused request is asked again when the pause is over, unless the socket went first', () => {
    const r = rig();
    r.link.start();
    r.up();
    r.last().push({ type: 'error', req: 'n-2', error: 'busy' });
    r.clock.advance(249);
    assert.equal(r.last().sent.length, 2);
    r.clock.advance(1);
    assert.equal(r.last().sent[2], JSON.stringify({ first_id: 0, last_id: -1, req: 'n-3' }));
    r.last().push({ type: 'error', req: 'n-3', error: 'busy' });
    r.last().drop();
    r.clock.advance(400);
    assert.equal(r.sockets[0].sent.length, 3, 'the retry died with its socket');
});

test('online: a browser back online connects at once', () => {
    const r = rig();
    r.link.start();
    r.last().drop();
    assert.equal(r.sockets.length, 1);
    r.link.online();
    assert.equal(r.sockets.length, 2);
    assert.deepEqual(r.clock.pending('connect'), [], 'the pending retry is replaced');
    r.link.online();
    assert.equal(r.sockets.length, 2, 'nothing while a socket is there');
});

test('liveness: after an answered heartbeat the next one follows the quiet spell, even when it is shorter than the timeout', () => {
    const r = rig({ tuning: { heartbeatIdleMs: 600, heartbeatTimeoutMs: 1200 } });
    r.link.start();
    r.up();
    const ws = r.last();
    ws.push({ type: 'reply', req: 'n-2', messages: [] });
    r.clock.advance(600);
    assert.equal(ws.sent[2], HB('hb-3'));
    r.clock.advance(50);
    ws.push({ type: 'reply', req: 'hb-3', messages: [] });
    r.clock.advance(599);
    assert.equal(ws.sent.length, 3);
    r.clock.advance(1);
    assert.equal(ws.sent[3], HB('hb-4'), '600 ms after the answer, not 1200 ms after the heartbeat');
    /* Frozen from here: given up 600 + 1200 ms after the last frame. */
    r.clock.advance(1199);
    assert.equal(ws.closed, false);
    r.clock.advance(1);
    assert.equal(ws.closed, true);
});
