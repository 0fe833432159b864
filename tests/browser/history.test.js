'use strict';
/*
 * Scroll-back: with 130 stored messages the page loads the newest 50, then
 * older pages as the reader reaches the top, in order, each message once,
 * without moving what the reader looks at, until "Beginning of history".
 * A message arriving while the reader is up there raises the "new
 * messages" pill instead of yanking the view down.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { postForm, message } = require('../lib/client');
const { startWithBrowser, openUser, shown, waitShown } = require('./browser');

const STORED = 130;

test('scrolling to the top loads older pages in order until the beginning', { timeout: 120000 }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 2, tag: 'browser-history' });

    const ids = [];
    for (let i = 1; i <= STORED; i++) {
        const r = await postForm(sys.sendUrl, message({ name: `Poster ${i % 7}`, content: `history #${i}` }));
        assert.equal(r.status, 200, r.body);
        ids.push(JSON.parse(r.body).id);
    }

    const reader = await openUser(browser, sys, { name: 'Reader', email: 'reader@example.com' });
    const page = reader.page;
    await waitShown(page, (m) => m.id === ids[STORED - 1], 'the newest message');
    await page.waitForFunction(() => document.querySelectorAll('#messages > li').length >= 50);
    let list = await shown(page);
    assert.deepEqual(list.map((m) => m.id), ids.slice(-50), 'the newest page of 50 first');
    assert.equal(await page.$eval('#log', (l) => l.scrollHeight - l.scrollTop - l.clientHeight < 48), true,
        'starts at the bottom');

    let pages = 0;
    while ((await page.getAttribute('#history-edge', 'data-state')) !== 'beginning') {
        assert.ok(++pages <= 10, 'history ends');
        const before = list.length;
        const anchorId = list[0].id;
        /* Scroll to the very top, note where the oldest shown message sits. */
        const topBefore = await page.$eval('#log', (l, id) => {
            l.scrollTop = 0;
            return document.querySelector(`li[data-id="${id}"]`).getBoundingClientRect().top;
        }, anchorId);
        await page.waitForFunction((n) => document.querySelectorAll('#messages > li').length > n
            || document.querySelector('#history-edge').dataset.state === 'beginning', before);
        list = await shown(page);
        if (list.length > before) {
            const topAfter = await page.$eval(`li[data-id="${anchorId}"]`, (e) => e.getBoundingClientRect().top);
            assert.ok(Math.abs(topAfter - topBefore) <= 2,
                `view kept steady (oldest shown moved ${topAfter - topBefore}px)`);
        }
    }
    list = await shown(page);
    assert.deepEqual(list.map((m) => m.id), ids, 'every stored message, in id order, once');
    assert.deepEqual(list.map((m) => m.content), ids.map((_, i) => `history #${i + 1}`));
    assert.equal(await page.textContent('#history-edge'), 'Beginning of history');

    const asked = reader.sent.filter((f) => 'last_id' in f).map((f) => f.last_id);
    assert.deepEqual(asked, [-1, ids[80], ids[30], ids[0]],
        'newest page, then pages below the lowest id shown, then the empty one');

    /* Up at the top, a new message must not pull the view down. */
    const scrolled = await page.$eval('#log', (l) => l.scrollTop);
    const r = await postForm(sys.sendUrl, message({ content: 'while you were reading' }));
    const late = JSON.parse(r.body).id;
    await waitShown(page, (m) => m.id === late, 'the late message');
    await page.waitForSelector('#new-pill:not([hidden])');
    assert.match(await page.textContent('#new-pill'), /1 new message/);
    assert.equal(await page.$eval('#log', (l) => l.scrollTop), scrolled, 'not auto-scrolled');
    /* From the composer one step back reaches the pill, keyboard only. */
    await page.focus('#name');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'new-pill');
    await page.keyboard.press('Enter');
    assert.equal(await page.$eval('#log', (l) => l.scrollHeight - l.scrollTop - l.clientHeight < 48), true,
        'the pill brings the reader to the bottom');
    assert.equal(await page.isHidden('#new-pill'), true);

    /* At the bottom, the next one scrolls into view by itself. */
    const r2 = await postForm(sys.sendUrl, message({ content: 'and one more' }));
    const last = JSON.parse(r2.body).id;
    await waitShown(page, (m) => m.id === last, 'the next message');
    await page.waitForFunction(() => {
        const l = document.querySelector('#log');
        return l.scrollHeight - l.scrollTop - l.clientHeight < 48;
    }, null, { timeout: 5000 });
    assert.equal(await page.isHidden('#new-pill'), true);

    /* Under a topic filter, scrolled up: a message the filter hides is no
     * news, one it shows raises the pill. */
    await page.selectOption('#topic-filter', 'tests');
    await page.$eval('#log', (l) => { l.scrollTop = 0; });
    const hiddenOne = JSON.parse((await postForm(sys.sendUrl, message({ topic: 'elsewhere', content: 'filtered out' }))).body).id;
    assert.equal((await waitShown(page, (m) => m.id === hiddenOne, 'the filtered message')).hidden, true);
    /* The pill is raised in the same task that inserts the message. */
    assert.equal(await page.isHidden('#new-pill'), true, 'a hidden message raises no pill');
    const shownOne = JSON.parse((await postForm(sys.sendUrl, message({ topic: 'tests', content: 'on topic' }))).body).id;
    await waitShown(page, (m) => m.id === shownOne, 'the on-topic message');
    await page.waitForSelector('#new-pill:not([hidden])');
    assert.match(await page.textContent('#new-pill'), /^1 new message/);
    assert.deepEqual(reader.errors, []);
});
