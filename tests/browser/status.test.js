'use strict';
/*
 * Status objects (PROTOCOL.md §4) and frames no gateway should send, fed
 * to the page by a proxy in front of the real gateway: none is shown as a
 * message, none throws, presence is shown, a refused first page (an
 * error carrying its tag) is asked again, and an error or a reply that
 * answers nothing of the page's changes nothing.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { postForm, message } = require('../lib/client');
const { startWithBrowser, openUser, proxySocket, shown, waitShown, storeMany } = require('./browser');

const IMG = '<img src=x onerror=alert(1)>';
const LOOKALIKE = { id: 999999, name: 'Ghost', email: 'ghost@example.com', topic: 'x', content: 'not an array', date: '2026-11-28T06:01:23.456Z', ephemeral: false };
/* Sent before the refusal of the first page. */
const ODD = [
    { type: 'presence', online: 7 },
    { type: 'presence', online: 'lots' },
    { type: 'typing', who: IMG, messages: [LOOKALIKE] },
    { type: 'error' }, { type: 'error', error: { nested: [1] } },
    LOOKALIKE, {}, null, 42, 'a string',
];

test('status objects are handled or ignored, never shown, never thrown', { timeout: 90000 }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 1, tag: 'browser-status' });
    const stored = (await storeMany(sys, [1, 2, 3].map((i) => message({ content: `stored #${i}` })))).map((m) => m.id);

    let newestAsks = 0;
    const hooks = {
        toServer(text, conn) {
            if (JSON.parse(text).last_id !== -1 || ++newestAsks !== 1) return false;
            for (const v of ODD) conn.toPage(JSON.stringify(v));
            conn.toPage('not json at all');
            /* Someone else's answers, then the refusal of this request. */
            conn.toPage(JSON.stringify({ type: 'reply', req: 'not-ours', messages: [LOOKALIKE] }));
            conn.toPage(JSON.stringify({ type: 'error', req: 'not-ours', error: 'x' }));
            conn.toPage(JSON.stringify({ type: 'error', req: JSON.parse(text).req, error: IMG }));
            return true;
        },
        /* The gateway's own presence would overwrite the count under test. */
        toPage: (text) => !text.startsWith('[') && JSON.parse(text).type === 'presence',
    };
    let conns;
    const user = await openUser(browser, sys, {
        name: 'Sam', email: 'sam@example.com',
        before: async (page) => { conns = await proxySocket(page, hooks); },
    });
    const page = user.page;

    await waitShown(page, (m) => m.id === stored[2], 'the history, asked again after the refusal');
    await page.waitForSelector('#history-edge[data-state="beginning"]');
    assert.deepEqual((await shown(page)).map((m) => m.id), stored, 'only the stored messages');
    assert.equal(newestAsks, 2, 'the refused newest page was asked for again');
    assert.equal(await page.textContent('#presence'), '7 online', 'presence shown, a bad count ignored');
    assert.equal(await page.isVisible('#presence'), true);

    /* A junk array and an error that answers nothing. */
    const before = conns[0].sent.length;
    conns[0].toPage(JSON.stringify([null, 5, { id: 'x' }, { id: -1, content: 'negative' }]));
    conns[0].toPage(JSON.stringify({ type: 'error', error: 'bad request' }));
    await page.waitForTimeout(700); /* a retry would come after 250-500 ms */
    assert.equal(conns[0].sent.length, before, 'an error with nothing in flight asks nothing');
    assert.equal(await page.getAttribute('#conn', 'data-state'), 'live');

    const r = await postForm(sys.sendUrl, message({ content: 'still live' }));
    const late = JSON.parse(r.body).id;
    await waitShown(page, (m) => m.id === late, 'a live message after the odd frames');
    assert.deepEqual((await shown(page)).map((m) => m.id), [...stored, late]);
    assert.equal(await page.$$eval('#messages > li', (lis) => lis.filter((li) =>
        /Ghost|not an array|negative|img|busy/.test(li.textContent)).length), 0, 'nothing else rendered');
    assert.equal(await page.$$eval('img', (e) => e.length), 0);
    assert.deepEqual(user.dialogs, []);
    assert.deepEqual(user.errors, [], 'no page errors');
});
