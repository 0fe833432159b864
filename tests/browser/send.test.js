'use strict';
/*
 * Sending through the page when the service is not there: the page gives
 * each composed message an idempotency key (idem), shows "not sent yet -
 * trying again" and retries on its own with the same key, and the message
 * is stored once when the service is back. Also: a 400 is not retried, a
 * 429 waits what Retry-After says, a request lost on the way is given up
 * after the send timeout and sent again, and retries that run out say
 * "could not send" with a button that tries again, with the same key
 * unless the message was edited.
 *
 * The page's timings are shortened (htdocs/core/tuning.js); every request
 * the page makes is recorded by the browser itself (user.posts).
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { Relay } = require('../lib/relay');
const { signal, waitFor } = require('../lib/system');
const { startWithBrowser, openUser, shown, waitShown, screenshot, PHONE, SLOW } = require('./browser');

const IDEM = /^[A-Za-z0-9_-]{1,64}$/;
const FAST = { sendRetryBaseMs: 300, sendRetryCapMs: 1000, sendAttemptsMax: 30, sendRetryTotalMs: 60000 };

/* Stored messages (the stream itself) whose content is text. */
function storedWith(sys, text) {
    return sys.redisCli('XRANGE', 'messages:history', '-', '+').split('\n')
        .filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
        .filter((m) => m.content === text);
}

async function type(page, content) {
    await page.fill('#content', content);
    await page.click('#send');
}

test('Redis frozen: "not sent yet", retried with one key, stored once when it is back', { timeout: 120000 * SLOW }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 1, tag: 'browser-send-redis' });
    const user = await openUser(browser, sys, { name: 'Olga', email: 'olga@example.com', tuning: FAST });
    const { page } = user;
    const text = 'sent while Redis is frozen';
    signal(sys.redis.proc, 'SIGSTOP');
    try {
        await type(page, text);
        await page.waitForSelector('#send-status[data-state="retrying"]', { timeout: 10000 });
        assert.match(await page.textContent('#send-status'), /not sent yet — trying again/i);
        assert.equal(await page.inputValue('#content'), text, 'the text is kept');
        assert.equal(await page.isDisabled('#send'), true, 'no second send meanwhile');
        assert.equal(await page.isVisible('#send-again'), false);
        await screenshot(page, 'send-retrying-desktop');
        await waitFor('three failed attempts', async () => user.posts.filter((p) => p.status === 503).length >= 3, 20000);
    } finally {
        signal(sys.redis.proc, 'SIGCONT');
    }
    const thawed = Date.now();
    const m = await waitShown(page, (x) => x.content === text, 'the message, sent by itself', 30000);
    t.diagnostic(`${user.posts.length} attempts; shown ${Date.now() - thawed} ms after Redis woke`);
    await page.waitForSelector('#send-status[data-state="idle"]', { state: 'attached' });
    assert.equal(m.own, true);
    assert.equal(await page.inputValue('#content'), '', 'cleared once sent');

    const posts = user.posts;
    assert.ok(posts.every((p) => p.fields.content === text), 'every attempt was that message');
    const keys = new Set(posts.map((p) => p.fields.idem));
    assert.equal(keys.size, 1, `one idem on every attempt: ${[...keys]}`);
    assert.match([...keys][0], IDEM);
    assert.deepEqual(posts.map((p) => p.status).filter((s) => s !== 503), [200], 'failed attempts were 503s, then one 200');
    assert.equal(storedWith(sys, text).length, 1, 'stored exactly once');
    assert.equal((await shown(page)).filter((x) => x.content === text).length, 1, 'shown once');

    /* The next message is a new one: a new key. */
    await type(page, 'and the next one');
    await waitShown(page, (x) => x.content === 'and the next one', 'the next message');
    assert.notEqual(user.posts.at(-1).fields.idem, [...keys][0]);
    assert.deepEqual(user.errors, []);
});

test('a 400 is final; a 429 waits Retry-After, then goes through', { timeout: 90000 * SLOW }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, {
        gateways: 1, tag: 'browser-send-limits', sendEnv: { SEND_RATE_PER_MIN: '60', SEND_RATE_BURST: '1' },
    });
    const user = await openUser(browser, sys, { name: 'Pia', email: 'pia at example', tuning: FAST });
    const { page } = user;
    await type(page, 'bad email');
    await page.waitForSelector('#email-error:not(:empty)');
    await page.waitForTimeout(1500); /* several retry pauses */
    assert.equal(user.posts.length, 1, 'not retried');
    assert.equal(user.posts[0].status, 400);
    assert.equal(await page.getAttribute('#send-status', 'data-state'), 'idle');
    assert.equal(await page.isEnabled('#send'), true);

    /* The 400 spent a token; wait it back before the two under test. */
    await page.fill('#email', 'pia@example.com');
    await page.waitForTimeout(1100);
    await type(page, 'first');
    await waitShown(page, (m) => m.content === 'first', 'the first message');
    await type(page, 'second, too soon');
    await page.waitForSelector('#send-status[data-state="retrying"]');
    assert.match(await page.textContent('#send-status'), /too fast/);
    await waitShown(page, (m) => m.content === 'second, too soon', 'the second message', 15000);
    const second = user.posts.filter((p) => p.fields.content === 'second, too soon');
    assert.deepEqual(second.map((p) => p.status), [429, 200]);
    assert.equal(second[0].fields.idem, second[1].fields.idem);
    assert.ok(second[1].at - second[0].at >= 950, `waited ${second[1].at - second[0].at} ms of Retry-After: 1`);
    assert.notEqual(second[0].fields.idem, user.posts.find((p) => p.fields.content === 'first').fields.idem);
    assert.deepEqual(user.errors, []);
});

test('a request lost on the way: no answer within the timeout, sent again with the same key', { timeout: 90000 * SLOW }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 1, tag: 'browser-send-timeout' });
    const relay = await Relay.open(sys.http.port);
    t.after(() => relay.close());
    const user = await openUser(browser, sys, {
        name: 'Quinn', email: 'quinn@example.com', url: `http://127.0.0.1:${relay.port}/`,
        tuning: { ...FAST, sendTimeoutMs: 3000, sendRetryBaseMs: 2000, sendRetryCapMs: 2000 },
    });
    const { page } = user;
    /* The first send's bytes never reach the front end: once the page
     * gives that request up, the relay drops the connection holding them
     * (releasing it could still pass them on) and holds nothing more. */
    relay.hold('POST /chatapp/send');
    page.on('requestfailed', (r) => {
        if (!r.url().endsWith('/chatapp/send')) return;
        relay.cut('POST /chatapp/send');
        relay.release();
    });
    const text = 'lost once on the way';
    const started = Date.now();
    await type(page, text);
    await relay.held;
    await page.waitForSelector('#send-status[data-state="retrying"]', { timeout: 10000 + 3000 * SLOW });
    assert.ok(Date.now() - started >= 2900, 'given up only after the send timeout');
    assert.match(await page.textContent('#send-status'), /did not answer/);
    await waitFor('the second attempt answered', async () => user.posts.length >= 2 && user.posts[1].status !== null, 20000 * SLOW);
    await waitShown(page, (m) => m.content === text, 'the message, on the second attempt');
    assert.deepEqual(user.posts.map((p) => p.status), [0, 200]);
    assert.equal(user.posts[0].fields.idem, user.posts[1].fields.idem);
    assert.equal(storedWith(sys, text).length, 1);
    assert.deepEqual(user.errors, []);
});

test('retries run out: "could not send" and a button; it keeps the key, an edit makes a new one', { timeout: 120000 * SLOW }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 1, tag: 'browser-send-giveup' });
    const user = await openUser(browser, sys, {
        name: 'Rui', email: 'rui@example.com', tuning: { ...FAST, sendAttemptsMax: 3 },
    });
    const { page } = user;
    await sys.stopSendHandler(0);
    await type(page, 'nobody there');
    await page.waitForSelector('#send-status[data-state="failed"]', { timeout: 20000 });
    assert.match(await page.textContent('#send-status'), /could not send/i);
    assert.equal(await page.isVisible('#send-again'), true);
    assert.equal(await page.isEnabled('#send'), true);
    await screenshot(page, 'send-failed-desktop');
    await page.setViewportSize(PHONE);
    assert.equal(await page.isVisible('#send-again'), true);
    const fits = await page.$eval('#send-again', (b) => b.getBoundingClientRect().right <= innerWidth);
    assert.ok(fits, 'the button fits a phone screen');
    await screenshot(page, 'send-failed-phone');
    assert.equal(await page.inputValue('#content'), 'nobody there');
    assert.equal(user.posts.length, 3, 'three attempts');
    assert.equal(new Set(user.posts.map((p) => p.fields.idem)).size, 1);

    /* Edited: a new message, a new key. */
    await page.fill('#content', 'nobody there, edited');
    await page.click('#send');
    await page.waitForFunction(() => document.querySelector('#send-status').dataset.state === 'failed'
        && !document.querySelector('#send').disabled, null, { timeout: 20000 });
    assert.equal(user.posts.length, 6);
    const edited = user.posts[3].fields.idem;
    assert.notEqual(edited, user.posts[0].fields.idem);
    assert.equal(new Set(user.posts.slice(3).map((p) => p.fields.idem)).size, 1);

    await sys.startSendHandler(0);
    await sys.waitSendable();
    await page.click('#send-again');
    await waitShown(page, (m) => m.content === 'nobody there, edited', 'the message, after "try again"');
    assert.equal(user.posts.at(-1).status, 200);
    assert.equal(user.posts.at(-1).fields.idem, edited, 'the button kept the key');
    assert.equal(await page.isVisible('#send-again'), false);
    assert.equal(storedWith(sys, 'nobody there, edited').length, 1);
    assert.equal(storedWith(sys, 'nobody there').length, 0);
    assert.deepEqual(user.errors, []);
});
