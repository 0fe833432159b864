'use strict';
/*
 * A gateway that stops answering (SIGSTOP: its sockets stay open, nothing
 * comes back, the way a frozen or cut-off node looks). A browser cannot
 * see WebSocket pings, so the page sends the heartbeat request after a
 * quiet spell; unanswered, it gives the socket up, reconnects through the
 * front end to the other gateway and resumes with no gap. Timings are
 * shortened for the test (heartbeat after 600 ms of silence, 1200 ms to
 * answer; the page's defaults are 15 s and 10 s).
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { signal, waitFor } = require('../lib/system');
const { postForm, message, connect } = require('../lib/client');
const { startWithBrowser, openUser, shown, waitShown, isHeartbeat, SLOW } = require('./browser');

const TUNING = { heartbeatIdleMs: 600, heartbeatTimeoutMs: 1200, reconnectBaseMs: 100, openTimeoutMs: 2000 };

async function connections(gw) {
    const r = await fetch(`${gw.httpUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
    return Number(/^chat_gw_connections (\d+)$/m.exec(await r.text())[1]);
}

test('a gateway that stops answering: the page notices, moves to the other one, resumes with no gap', { timeout: 120000 * SLOW }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 2, tag: 'browser-liveness' });
    const user = await openUser(browser, sys, { name: 'Ida', email: 'ida@example.com', tuning: TUNING });
    const { page } = user;
    const before = JSON.parse((await postForm(sys.sendUrl, message({ content: 'before the freeze' }))).body).id;
    await waitShown(page, (m) => m.id === before, 'a message before the freeze');

    /* Quiet, the page keeps the socket alive with heartbeats (the probe
     * and two more). */
    await waitFor('heartbeats while quiet', async () => user.sent.filter(isHeartbeat).length >= 3, 10000 * SLOW);
    const beats = user.sent.filter(isHeartbeat);
    assert.ok(beats.every((f) => typeof f.req === 'string'), 'each tagged');
    assert.equal(user.sockets.length, 1, 'answered heartbeats keep the socket');

    /* Which gateway holds the page; lighttpd balances by fewest
     * connections, first one on a tie, so park one more client through
     * the front end on that gateway: the page's next socket then goes to
     * the other one. */
    const counts = await Promise.all(sys.gateways.map(connections));
    const frozen = counts.indexOf(1);
    assert.ok(frozen >= 0, `the page is on one gateway: ${counts}`);
    const other = 1 - frozen;
    let parked = null;
    const extras = [];
    for (let seen = counts; parked === null;) {
        assert.ok(extras.length < 6, 'a client landed on the page\'s gateway');
        const c = await connect(sys.wsUrl);
        let now = seen;
        await waitFor('the client to land', async () => {
            now = await Promise.all(sys.gateways.map(connections));
            return now[0] + now[1] > seen[0] + seen[1];
        });
        if (now[frozen] > seen[frozen]) parked = c;
        else extras.push(c);
        seen = now;
    }
    for (const c of extras) c.close();
    await waitFor('the extra clients gone', async () => (await connections(sys.gateways[other])) === 0);
    assert.deepEqual(await Promise.all(sys.gateways.map(connections)).then((n) => [n[frozen], n[other]]), [2, 0]);

    signal(sys.gateways[frozen].proc, 'SIGSTOP');
    t.after(() => signal(sys.gateways[frozen].proc, 'SIGCONT'));
    const frozenAt = Date.now();
    const during = [];
    for (let i = 0; i < 3; i++) {
        const r = await postForm(sys.sendUrl, message({ content: `while frozen #${i}` }));
        assert.equal(r.status, 200, r.body);
        during.push(JSON.parse(r.body).id);
    }
    await waitFor('a second socket', async () => user.sockets.length >= 2, 15000 * SLOW);
    const noticed = user.sockets[1] - frozenAt;
    for (const w of user.warnings) t.diagnostic(`page at ${w.at - frozenAt} ms: ${w.text}`);
    t.diagnostic(`frozen gateway noticed after ${noticed} ms (heartbeat after ${TUNING.heartbeatIdleMs} ms of silence, ${TUNING.heartbeatTimeoutMs * SLOW} ms to answer)`);
    assert.ok(noticed <= TUNING.heartbeatIdleMs + TUNING.heartbeatTimeoutMs * SLOW + 3000, `noticed after ${noticed} ms`);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15000 * SLOW });
    for (const id of during) await waitShown(page, (m) => m.id === id, `message ${id}, stored while the gateway was frozen`);
    t.diagnostic(`caught up ${Date.now() - frozenAt} ms after the freeze`);
    assert.equal(await connections(sys.gateways[other]), 1, 'the page is on the other gateway');

    const ids = (await shown(page)).map((m) => m.id);
    assert.deepEqual(ids, [before, ...during], 'every message once, in order');
    const resumes = user.sent.filter((f) => 'after_id' in f && !isHeartbeat(f)).map((f) => f.after_id);
    assert.deepEqual(resumes, [before], 'resumed from the last id it had');
    const after = JSON.parse((await postForm(sys.sendUrl, message({ content: 'after the move' }))).body).id;
    await waitShown(page, (m) => m.id === after, 'live on the other gateway');
    assert.deepEqual(user.errors, []);
    signal(sys.gateways[frozen].proc, 'SIGCONT');
    parked.close();
});
