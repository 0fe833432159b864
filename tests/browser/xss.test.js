'use strict';
/*
 * Markup typed into any field (name, email, topic, content) is shown as
 * the very characters typed, both live and from history, and never
 * becomes an element or runs script.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { startWithBrowser, openUser, sendUI, shown, waitShown } = require('./browser');

const IMG = '<img src=x onerror=alert(1)>';
const BOLD = '<b>&amp;</b>';
const MAIL = '<b>&amp;</b>@example.com'; /* a valid email: no spaces, one @ */

test('markup in name, topic and content is shown as text and runs nothing', { timeout: 90000 }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 2, tag: 'browser-xss' });

    const mallory = await openUser(browser, sys, { name: IMG, email: 'mallory@example.com', topic: IMG });
    const a = await sendUI(mallory.page, IMG);
    assert.equal(a.status, 200);
    await mallory.page.fill('#name', BOLD);
    await mallory.page.fill('#topic', BOLD);
    await mallory.page.fill('#email', MAIL);
    const b = await sendUI(mallory.page, `${BOLD}\n${IMG}`);
    assert.equal(b.status, 200);
    await waitShown(mallory.page, (m) => m.id === b.body.id, 'the second message live');

    /* A later visitor gets both from history. */
    const viewer = await openUser(browser, sys, { name: 'Viewer', email: 'viewer@example.com' });
    await waitShown(viewer.page, (m) => m.id === b.body.id, 'the second message from history');

    for (const u of [mallory, viewer]) {
        const list = await shown(u.page);
        const first = list.find((m) => m.id === a.body.id);
        const second = list.find((m) => m.id === b.body.id);
        assert.equal(first.name, IMG);
        assert.equal(first.topic, IMG);
        assert.equal(first.content, IMG);
        assert.equal(second.name, BOLD);
        assert.equal(second.topic, BOLD);
        assert.equal(second.content, `${BOLD}\n${IMG}`);
        assert.equal(second.email, MAIL, 'the email on hover is text too');
        assert.equal(await u.page.textContent(`li[data-id="${b.body.id}"] .sender .email`), MAIL);
        const options = await u.page.$$eval('#topic-filter option', (os) => os.map((o) => o.textContent));
        assert.ok(options.includes(IMG) && options.includes(BOLD), 'topic filter lists them as text');
        /* Give an injected image the time to fail and fire onerror. */
        await u.page.waitForTimeout(300);
        assert.equal(await u.page.$$eval('img, b, #messages *[onerror]', (e) => e.length), 0,
            'no element was created from the data');
        assert.deepEqual(u.dialogs, [], 'no dialog fired');
        assert.deepEqual(u.errors, []);
    }
});
