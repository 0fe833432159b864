'use strict';
/*
 * The form against the real send handler: a server-side error lands beside
 * the field at fault with the typed text kept, an outage is shown and the
 * message retried by the page itself, sending is disabled while a send
 * is in flight, and name, email and topic survive a reload.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { startWithBrowser, openUser, sendUI, shown, waitShown } = require('./browser');

test('form errors, in-flight guard and remembered identity', { timeout: 120000 }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 2, tag: 'browser-form' });

    const u = await openUser(browser, sys, { name: 'Carol', email: 'carol at example', topic: 'typos' });
    const page = u.page;

    await t.test('a bad email is refused by the server and shown beside the email field', async () => {
        const r = await sendUI(page, 'keep this text\nplease');
        assert.equal(r.status, 400);
        assert.equal(r.body.field, 'email');
        await page.waitForSelector('#email-error:not(:empty)');
        assert.equal(await page.textContent('#email-error'), r.body.error, "the server's own words");
        assert.equal(await page.getAttribute('#email', 'aria-invalid'), 'true');
        assert.equal(await page.inputValue('#content'), 'keep this text\nplease', 'content kept');
        assert.equal(await page.inputValue('#email'), 'carol at example', 'email kept');
        assert.equal(await page.textContent('#name-error'), '');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'email', 'focus moves to the field');
        assert.deepEqual(await shown(page), [], 'nothing was shown as sent');
        await page.fill('#email', 'carol@example.com');
        assert.equal(await page.textContent('#email-error'), '', 'editing the field clears its error');
    });

    await t.test('blank content is refused beside the message field', async () => {
        const r = await sendUI(page, '   ');
        assert.equal(r.status, 400);
        assert.equal(r.body.field, 'content');
        assert.equal(await page.textContent('#content-error'), r.body.error);
    });

    await t.test('an error naming a field but saying nothing still marks the field', async () => {
        await page.route('**/chatapp/send', (route) => route.fulfill({
            status: 400, contentType: 'application/json', body: '{"field":"topic"}',
        }));
        const r = await sendUI(page, 'kept again');
        await page.unroute('**/chatapp/send');
        assert.equal(r.status, 400);
        assert.match(await page.textContent('#topic-error'), /not sent.*400/i);
        assert.equal(await page.getAttribute('#topic', 'aria-invalid'), 'true');
        assert.equal(await page.inputValue('#content'), 'kept again');
        await page.fill('#topic', 'typos');
    });

    await t.test('sending is disabled while a send is in flight', async () => {
        let posts = 0;
        let release;
        const held = new Promise((res) => { release = res; });
        await page.route('**/chatapp/send', async (route) => {
            posts++;
            await held;
            await route.continue();
        });
        await page.fill('#content', 'only once');
        await page.click('#send');
        await page.waitForSelector('#send:disabled');
        await page.press('#content', 'Control+Enter');
        await page.waitForTimeout(200);
        assert.equal(posts, 1, 'a second send while one is in flight does nothing');
        const answer = page.waitForResponse((r) => r.url().endsWith('/chatapp/send'));
        release();
        const r = await answer;
        assert.equal(r.status(), 200);
        await page.waitForSelector('#send:enabled');
        await page.unroute('**/chatapp/send');
        assert.equal(await page.inputValue('#content'), '');
        const body = await r.json();
        const m = await waitShown(page, (x) => x.id === body.id, 'the message');
        assert.equal(m.own, true);
        assert.equal((await shown(page)).filter((x) => x.content === 'only once').length, 1);
    });

    /* With the page's own retry timings (send.test.js shortens them). */
    await t.test('a send handler outage: "not sent yet", the text kept, sent once it is back', async () => {
        await sys.stopSendHandler(0);
        const r = await sendUI(page, 'sent during the outage');
        assert.equal(r.status, 503, 'lighttpd answers for the missing handler');
        assert.strictEqual(typeof r.body?.error, 'string', 'with the JSON error body');
        await page.waitForSelector('#send-status[data-state="retrying"]');
        assert.match(await page.textContent('#send-status'), /not sent yet — trying again/i);
        assert.equal(await page.textContent('#form-error'), '', 'not an error yet');
        assert.equal(await page.inputValue('#content'), 'sent during the outage');
        await sys.startSendHandler(0);
        await waitShown(page, (m) => m.content === 'sent during the outage', 'the message, retried by the page', 30000);
        assert.equal(await page.inputValue('#content'), '');
    });

    await t.test('Redis down: the handler\'s 503 starts the retries, the text kept, sent once Redis is back', async () => {
        await sys.stopRedis();
        const r = await sendUI(page, 'sent while Redis is down');
        assert.equal(r.status, 503);
        assert.strictEqual(typeof r.body?.error, 'string', 'the send handler\'s own JSON 503, not lighttpd\'s');
        await page.waitForSelector('#send-status[data-state="retrying"]');
        assert.equal(await page.inputValue('#content'), 'sent while Redis is down');
        await sys.startRedis();
        await sys.waitReady();
        await waitShown(page, (m) => m.content === 'sent while Redis is down', 'the message, once Redis is back', 30000);
        assert.equal((await shown(page)).filter((m) => m.content === 'sent while Redis is down').length, 1);
    });

    await t.test('keyboard only: skip link, type, Ctrl+Enter', async () => {
        await page.reload();
        await page.waitForSelector('#conn[data-state="live"]');
        await page.keyboard.press('Tab');
        assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to message box');
        await page.keyboard.press('Enter');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'content');
        await page.keyboard.type('typed without a mouse');
        const answer = page.waitForResponse((r) => r.url().endsWith('/chatapp/send'));
        await page.keyboard.press('Control+Enter');
        assert.equal((await answer).status(), 200);
        await waitShown(page, (m) => m.content === 'typed without a mouse', 'the keyboard message');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'content', 'focus stays in the box');
        /* The email behind a name is reachable from the keyboard too. */
        await page.focus('#messages li:last-child .sender');
        assert.equal(await page.isVisible('#messages li:last-child .sender .email'), true);
    });

    await t.test('every input has a label', async () => {
        const unlabeled = await page.$$eval('input, textarea, select',
            (els) => els.filter((e) => e.labels.length === 0).map((e) => e.id));
        assert.deepEqual(unlabeled, []);
    });

    await t.test('name, email and topic are remembered across visits', async () => {
        /* A new tab, not a reload: a reload may restore form fields by
         * itself, which would hide a broken localStorage path. */
        const again = await u.ctx.newPage();
        await again.goto(`${sys.httpUrl}/`);
        assert.equal(await again.inputValue('#name'), 'Carol');
        assert.equal(await again.inputValue('#email'), 'carol@example.com');
        assert.equal(await again.inputValue('#topic'), 'typos');
        assert.equal(await again.inputValue('#content'), '');
        const fresh = await browser.newContext();
        const other = await fresh.newPage();
        await other.goto(`${sys.httpUrl}/`);
        assert.equal(await other.inputValue('#name'), '', 'another profile starts empty');
        await fresh.close();
    });

    assert.deepEqual(u.errors, []);
});
