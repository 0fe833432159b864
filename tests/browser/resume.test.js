'use strict';
/*
 * A resume that goes wrong in the two ways the wire allows, made to
 * happen on purpose by a proxy between the page and the real gateway:
 * a live message overtakes the first full (500) reply, so the page first
 * takes the live batch for the answer; and the gateway refuses the next
 * ask with a status error. The page must still go on from the full
 * page's own last id (never from the live id, which would skip the rest),
 * ask again after the refusal, and end with every stored message once.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { postForm, message } = require('../lib/client');
const { startWithBrowser, openUser, proxySocket, sendUI, shown, waitShown, storeMany } = require('./browser');

const MISSED = 520; /* one full resume reply and a short one */
const OVERTAKER = 'live while the resume is under way';

test('a resume survives a live batch ahead of a full reply and a refused ask', { timeout: 120000 }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 1, tag: 'browser-resume' });

    const hooks = {};
    let conns;
    const user = await openUser(browser, sys, {
        name: 'Rene', email: 'rene@example.com',
        before: async (page) => { conns = await proxySocket(page, hooks); },
    });
    const page = user.page;
    const first = await sendUI(page, 'before the outage');
    assert.equal(first.status, 200);
    await waitShown(page, (m) => m.id === first.body.id, 'the first message');

    await sys.stopGateway(0);
    await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 10000 });
    const bulk = await storeMany(sys, Array.from({ length: MISSED }, (_, i) => message({ content: `missed #${i + 1}` })));
    const missed = bulk.map((m) => m.id);

    /* On the connection after the outage: hold the full reply until a
     * live message has overtaken it, and refuse the second resume ask. */
    let held = null;
    let overtake;
    const posted = new Promise((resolve) => { overtake = resolve; });
    let asks = 0;
    hooks.toPage = (text, conn) => {
        if (conn.index === 0) return false;
        const v = JSON.parse(text);
        if (!Array.isArray(v)) return false;
        if (held === null && v.length === 500) {
            held = text;
            overtake(postForm(sys.sendUrl, message({ content: OVERTAKER })));
            return true;
        }
        if (held !== null && v.some((m) => m.content === OVERTAKER)) {
            conn.toPage(text);
            conn.toPage(held);
            hooks.toPage = null;
            return true;
        }
        return false;
    };
    hooks.toServer = (text, conn) => {
        if (conn.index === 0 || !('after_id' in JSON.parse(text)) || ++asks !== 2) return false;
        conn.toPage(JSON.stringify({ type: 'error', error: 'server busy, try again later' }));
        return true;
    };

    await sys.startGateway(0);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 30000 });
    const r = await posted; /* once the full reply came */
    assert.equal(r.status, 200, r.body);
    const live = JSON.parse(r.body).id;
    await waitShown(page, (m) => m.id === missed[MISSED - 1], 'the last missed message', 20000);
    await waitShown(page, (m) => m.id === live, 'the overtaking live message');

    const ids = (await shown(page)).map((m) => m.id);
    assert.deepEqual(ids, [first.body.id, ...missed, live], 'every message once, in id order');
    const resumes = conns.slice(1).flatMap((c) => c.sent).filter((f) => 'after_id' in f).map((f) => f.after_id);
    assert.deepEqual(resumes, [first.body.id, missed[499], missed[499]],
        'resumed from the highest id seen, went on from the full reply\'s last id, asked again after the refusal');
    assert.equal(await page.$$eval('#messages > li', (lis) => lis.filter((li) => /busy/.test(li.textContent)).length), 0,
        'the status error is not shown as a message');
    assert.deepEqual(user.errors, []);
});
