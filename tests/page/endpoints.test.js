'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Endpoints, directUrl, sameOriginUrl, fetchConfig, fromConfig } = require('../../htdocs/core/endpoints.js');
const { FakeClock, settle } = require('./fakes');

const HTTP = { protocol: 'http:', host: 'chat.example:30222', hostname: 'chat.example' };
const HTTPS = { protocol: 'https:', host: 'chat.example', hostname: 'chat.example' };
const V6 = { protocol: 'http:', host: '[::1]:30222', hostname: '[::1]' };

test('the direct URL a config names, or null', () => {
    const ws = (url) => JSON.stringify({ websocket: url });
    const rows = [
        [ws('//{host}:30226/chatapp/websocket'), HTTP, 'ws://chat.example:30226/chatapp/websocket'],
        [ws('//{host}:30226/chatapp/websocket'), HTTPS, 'wss://chat.example:30226/chatapp/websocket'],
        [ws('//{host}:30226/chatapp/websocket'), V6, 'ws://[::1]:30226/chatapp/websocket'],
        [ws('ws://gw.example:7681/chatapp/websocket'), HTTPS, 'ws://gw.example:7681/chatapp/websocket'],
        [ws('wss://{host}/ws'), HTTP, 'wss://chat.example/ws'],
        [ws('  //{host}:1/x  '), HTTP, 'ws://chat.example:1/x'],
        [ws('//{host}:1/{host}'), HTTP, 'ws://chat.example:1/chat.example'],
        [JSON.stringify({ websocket: '//h:1/x', other: 1 }), HTTP, 'ws://h:1/x'],
        /* everything below: no usable URL, so the same-origin path */
        [ws(''), HTTP, null],
        [ws('   '), HTTP, null],
        [JSON.stringify({}), HTTP, null],
        [JSON.stringify({ websocket: null }), HTTP, null],
        [JSON.stringify({ websocket: 7 }), HTTP, null],
        [JSON.stringify(['//h:1/x']), HTTP, null],
        [JSON.stringify('//h:1/x'), HTTP, null],
        ['null', HTTP, null],
        ['', HTTP, null],
        ['{"websocket":', HTTP, null],
        ['<html>404</html>', HTTP, null],
        [ws('http://h:1/x'), HTTP, null],
        [ws('https://h:1/x'), HTTP, null],
        [ws('/chatapp/websocket'), HTTP, null],
        [ws('h:1/x'), HTTP, null],
        [ws('//{host}:1/x#frag'), HTTP, null],
        [ws('//{host}:1/x#'), HTTP, null],
        [ws('ws://'), HTTP, null],
        [ws('//{host}:99999/x'), HTTP, null],
    ];
    for (const [text, loc, want] of rows) assert.equal(directUrl(text, loc), want, `${text} at ${loc.protocol}`);
});

test('the same-origin URL follows the page scheme and host', () => {
    assert.equal(sameOriginUrl(HTTP), 'ws://chat.example:30222/chatapp/websocket');
    assert.equal(sameOriginUrl(HTTPS), 'wss://chat.example/chatapp/websocket');
    assert.equal(sameOriginUrl(V6), 'ws://[::1]:30222/chatapp/websocket');
});

/* Each row: the events in order (o: opened, f: failed open, d: an open
 * connection dropped) and the URL each next() gives after each event. */
test('endpoints: two failed opens switch, a drop goes back to direct', () => {
    const D = 'ws://d/';
    const S = 'ws://s/';
    const rows = [
        ['', [D]],
        ['f', [D, D]],
        ['ff', [D, D, S]],
        ['fff', [D, D, S, S]],
        ['ffff', [D, D, S, S, D]],
        ['fffff', [D, D, S, S, D, D]],
        ['fo', [D, D, D]],
        ['fof', [D, D, D, D]], /* not in a row: stays */
        ['ffo', [D, D, S, S]], /* open on S: stays there */
        ['ffod', [D, D, S, S, D]], /* a later cycle tries direct again */
        ['ffodf', [D, D, S, S, D, D]],
        ['ffodff', [D, D, S, S, D, D, S]],
        ['od', [D, D, D]],
        ['odff', [D, D, D, D, S]],
        ['ffof', [D, D, S, S, S]], /* one failure on S after an open */
        ['ffoff', [D, D, S, S, S, D]],
    ];
    for (const [events, want] of rows) {
        const e = new Endpoints(D, S);
        const got = [e.next()];
        for (const ev of events) {
            if (ev === 'o') e.opened();
            else if (ev === 'f') e.failed();
            else e.dropped();
            got.push(e.next());
        }
        assert.deepEqual(got, want, `events "${events}"`);
    }
    /* Without a direct URL only the same-origin one exists. */
    const none = new Endpoints(null, S);
    for (const ev of ['failed', 'failed', 'failed', 'dropped', 'failed']) {
        none[ev]();
        assert.equal(none.next(), S);
    }
});

test('fetchConfig: the text of a 200, else null (404, network error, no answer in time)', async () => {
    const clock = new FakeClock();
    const answer = (status, text) => async () => ({ status, text: async () => text });
    const asked = [];
    const ok = await fetchConfig(async (url, init) => {
        asked.push([url, init.cache]);
        return { status: 200, text: async () => '{"websocket":"//{host}:1/x"}' };
    }, clock, 3000);
    assert.equal(ok, '{"websocket":"//{host}:1/x"}');
    assert.deepEqual(asked, [['/chatapp/config.json', 'no-store']]);
    assert.equal(await fetchConfig(answer(404, 'not found'), clock, 3000), null);
    assert.equal(await fetchConfig(answer(500, '{}'), clock, 3000), null);
    assert.equal(await fetchConfig(async () => { throw new TypeError('Failed to fetch'); }, clock, 3000), null);
    assert.equal(clock.timers.size, 0, 'no timer left behind');

    /* A front end that never answers: given up after the timeout. */
    let signal = null;
    const hung = fetchConfig((url, init) => new Promise((resolve, reject) => {
        signal = init.signal;
        init.signal.addEventListener('abort', () => reject(new Error('aborted')));
    }), clock, 3000);
    let settled = false;
    hung.then(() => { settled = true; });
    clock.advance(2999);
    await settle();
    assert.equal(settled, false, 'still waiting at 2999 ms');
    clock.advance(1);
    assert.equal(await hung, null);
    assert.equal(signal.aborted, true);

    const e = fromConfig(null, HTTP);
    assert.equal(e.next(), 'ws://chat.example:30222/chatapp/websocket');
    assert.equal(fromConfig('{"websocket":"//{host}:9/x"}', HTTP).next(), 'ws://chat.example:9/x');
});
