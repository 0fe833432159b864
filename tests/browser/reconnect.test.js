'use strict';
/*
 * Every gateway goes away while a page is open. The page says it is
 * reconnecting, retries with backoff, comes back and resumes with
 * {"after_id": highest id seen}, asking again while replies are full
 * (500), so every message stored meanwhile shows exactly once.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { postForm, message } = require('../lib/client');
const { startWithBrowser, openUser, sendUI, shown, waitShown, waitLive, storeMany, screenshot, isHeartbeat, waitDelivered } = require('./browser');

const MISSED = 520; /* more than one full resume reply of 500 */

test('gateways restarted under an open page: reconnecting, then every missed message once', { timeout: 180000 }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 2, tag: 'browser-reconnect' });

    const user = await openUser(browser, sys, { name: 'Rita', email: 'rita@example.com' });
    const page = user.page;
    const first = await sendUI(page, 'before the outage');
    assert.equal(first.status, 200);
    await waitShown(page, (m) => m.id === first.body.id, 'the first message');
    await waitDelivered(user, first.body.id);

    await Promise.all(sys.gateways.map((_, i) => sys.stopGateway(i)));
    await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 10000 });
    assert.match(await page.textContent('#conn'), /reconnecting/i);
    assert.equal(await page.isVisible('#presence'), false, 'no head count while away');
    await screenshot(page, 'reconnecting-desktop');

    /* Stored while the page is away: one by POST, many at once through
     * the publish script, plus an ephemeral one that is gone by design. */
    const r = await postForm(sys.sendUrl, message({ content: 'missed #0' }));
    assert.equal(r.status, 200, r.body);
    const eph = await postForm(sys.sendUrl, message({ content: 'missed and ephemeral', ephemeral: 'on' }));
    assert.equal(eph.status, 200, eph.body);
    const bulk = await storeMany(sys, Array.from({ length: MISSED }, (_, i) => message({ content: `missed #${i + 1}` })));
    const missed = [JSON.parse(r.body).id, ...bulk.map((m) => m.id)];

    await Promise.all(sys.gateways.map((_, i) => sys.startGateway(i)));
    await waitLive(page, 30000);
    const newest = missed[missed.length - 1];
    await waitShown(page, (m) => m.id === newest, 'the newest missed message', 20000);
    /* Let any further (duplicate) reply arrive before counting. */
    await page.waitForTimeout(500);

    const list = await shown(page);
    const ids = list.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'no message shown twice');
    assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'in id order');
    for (const id of missed) assert.ok(ids.includes(id), `missed message ${id} shown`);
    assert.ok(!ids.includes(JSON.parse(eph.body).id), 'an ephemeral message sent while away is gone');
    assert.ok(ids.includes(first.body.id));

    const resumes = user.sent.filter((f) => 'after_id' in f && !isHeartbeat(f)).map((f) => f.after_id);
    assert.ok(resumes.length >= 2, `asked again after a full reply (asked ${JSON.stringify(resumes)})`);
    assert.equal(resumes[0], first.body.id, 'resumed from the highest id seen');
    assert.ok(resumes.includes(missed[499]), 'second ask starts after the 500th missed message');

    await page.waitForSelector('#presence', { state: 'visible' });
    /* And it is live again. */
    const after = await sendUI(page, 'back again');
    assert.equal(after.status, 200);
    await waitShown(page, (m) => m.id === after.body.id, 'a message after the restart');
    assert.deepEqual(user.errors, []);
});
