'use strict';
/*
 * Pages opened while no gateway runs: they say "connecting" (not
 * "reconnecting": they were never live), retry with exponential backoff
 * (PROTOCOL.md leaves the figures to us: htdocs/core/link.js waits
 * between half and all of 500 ms * 2^attempt), each with its own jitter
 * so browsers do not return in step, and go live with the history once a
 * gateway is up.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { message } = require('../lib/client');
const { startWithBrowser, openUser, waitLive, waitShown, storeMany } = require('./browser');

const BASE_MS = 500;
const GAPS = 3;

/*
 * Runs in the page before its scripts: notes when each socket is made and
 * closed, and the delay of every timer whose callback is named connect
 * (htdocs/core/link.js names its retry callback so). Wall-clock gaps on
 * a busy machine only ever grow, so they pin the lower bound; the
 * requested delays pin the rest exactly.
 */
function recordRetries() {
    const log = { sockets: [], delays: [] };
    window.chatRetries = log;
    const Real = window.WebSocket;
    window.WebSocket = class extends Real {
        constructor(...args) {
            super(...args);
            const rec = { made: performance.now(), closed: null };
            log.sockets.push(rec);
            this.addEventListener('close', () => { rec.closed = performance.now(); });
        }
    };
    const realSetTimeout = window.setTimeout;
    window.setTimeout = function (fn, ms, ...rest) {
        if (typeof fn === 'function' && fn.name === 'connect') log.delays.push(ms);
        return realSetTimeout.call(this, fn, ms, ...rest);
    };
}

test('no gateway yet: connecting, retries back off with jitter, then live', { timeout: 90000 }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 1, tag: 'browser-connect' });
    await sys.stopGateway(0);

    const users = await Promise.all(['Ann', 'Ben'].map((name) => openUser(browser, sys, {
        name, email: `${name.toLowerCase()}@example.com`, live: false,
        before: (page) => page.addInitScript(recordRetries),
    })));
    const ratios = [];
    for (const u of users) {
        await u.page.waitForFunction((n) => window.chatRetries.sockets.length > n, GAPS, { timeout: 20000 });
        assert.equal(await u.page.getAttribute('#conn', 'data-state'), 'connecting');
        assert.equal(await u.page.isVisible('#conn'), true);
        assert.equal(await u.page.isVisible('#presence'), false, 'no head count before any');
        assert.match(await u.page.textContent('#conn'), /connecting/i);
        assert.doesNotMatch(await u.page.textContent('#conn'), /reconnecting|live/i);
        assert.equal(await u.page.getAttribute('#conn', 'role'), 'status', 'announced politely');
        const { sockets, delays } = await u.page.evaluate(() => window.chatRetries);
        for (let i = 0; i < GAPS; i++) {
            const ceiling = BASE_MS * 2 ** i;
            assert.ok(delays[i] >= ceiling / 2 && delays[i] <= ceiling,
                `retry ${i + 1} asked for ${delays[i]} ms, not within [${ceiling / 2}, ${ceiling}]`);
            const waited = sockets[i + 1].made - sockets[i].closed;
            assert.ok(waited >= delays[i] - 5, `retry ${i + 1} came ${waited} ms after the close, not ${delays[i]}`);
            ratios.push(delays[i] / ceiling);
        }
    }
    /* Without jitter every ratio would be one value; six random ones all
     * within 0.001 of each other happen about once in 10^13. */
    assert.ok(Math.max(...ratios) - Math.min(...ratios) > 0.001, `retries in step ${JSON.stringify(ratios)}: no jitter`);

    const [m] = await storeMany(sys, [message({ content: 'waiting for you' })]);
    await sys.startGateway(0);
    for (const u of users) {
        await waitLive(u.page, 20000);
        assert.equal(await u.page.textContent('#conn-text'), 'Live');
        await waitShown(u.page, (x) => x.id === m.id, 'the history once live');
        assert.deepEqual(u.errors, []);
    }
});
