'use strict';
/*
 * The ephemeral scenario played by three people through the page itself:
 * Alice stores a message, Bob (on a phone) sends an ephemeral one, Eve
 * arrives later and must see Alice's message only. Also presence, the
 * topic filter, own-message marking, screen-reader announcements, local
 * time, the layout at phone and desktop widths, the dark theme and the
 * screenshots a person can look at.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { startWithBrowser, openUser, sendUI, shown, waitShown, screenshot, isHeartbeat, PHONE } = require('./browser');

/* Eve reads in another time zone and locale than the machine's. */
const EVE_ZONE = { timezoneId: 'Asia/Kolkata', locale: 'en-GB' };

/* The page fits its viewport: no sideways scrolling, the composer and the
 * send button wholly on screen, and room left to read. */
async function assertFits(page, what) {
    const box = await page.evaluate(() => {
        const r = (sel) => document.querySelector(sel).getBoundingClientRect();
        return {
            scrollWidth: document.documentElement.scrollWidth, width: innerWidth, height: innerHeight,
            send: r('#send'), content: r('#content'), log: r('#log'),
            widest: Math.max(...[...document.querySelectorAll('.msg')].map((e) => e.getBoundingClientRect().right)),
        };
    });
    assert.ok(box.scrollWidth <= box.width, `${what}: page scrolls sideways (${box.scrollWidth} > ${box.width})`);
    for (const k of ['send', 'content']) {
        assert.ok(box[k].left >= 0 && box[k].right <= box.width && box[k].bottom <= box.height, `${what}: #${k} off screen`);
    }
    assert.ok(box.widest <= box.log.right, `${what}: a message sticks out of the log`);
    assert.ok(box.log.height >= 200, `${what}: only ${box.log.height}px left to read`);
}

/* Relative luminance of a computed rgb() colour, 0 (black) to 1. */
function luminance(rgb) {
    const [r, g, b] = rgb.match(/[\d.]+/g).map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

function colours(page, id) {
    return page.evaluate((msgId) => {
        const c = (e) => ({ bg: getComputedStyle(e).backgroundColor, fg: getComputedStyle(e).color });
        return { body: c(document.body), msg: c(document.querySelector(`li[data-id="${msgId}"]`)) };
    }, id);
}

test('Alice, Bob and Eve: ephemeral scenario through the UI', { timeout: 120000 }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, {
        gateways: 2, tag: 'browser-scenario', gatewayEnv: { GW_PRESENCE_REFRESH_MS: '300' },
    });

    const alice = await openUser(browser, sys, { name: 'Alice', email: 'alice@example.com', topic: 'lunch' });
    const sentA = await sendUI(alice.page, 'Anyone up for lunch?\nThinking 12:30 at the usual place.');
    assert.equal(sentA.status, 200);
    const idA = sentA.body.id;
    assert.equal(await alice.page.inputValue('#content'), '', 'content clears after a 200');
    assert.equal(await alice.page.inputValue('#name'), 'Alice', 'name is kept');
    const onA = await waitShown(alice.page, (m) => m.id === idA, "Alice's message on Alice's page");
    assert.equal(onA.content, 'Anyone up for lunch?\nThinking 12:30 at the usual place.');
    assert.equal(onA.topic, 'lunch');
    assert.equal(onA.own, true, 'own message marked on the sender page');
    assert.equal(onA.ephemeral, false);
    assert.match(onA.time, /\d/, 'a local date/time is shown');
    assert.equal(await alice.page.$eval(`li[data-id="${idA}"] .content`, (e) => getComputedStyle(e).whiteSpace),
        'pre-wrap', 'line breaks are kept');

    const bob = await openUser(browser, sys, { name: 'Bob', email: 'bob@example.com', viewport: PHONE });
    const aOnBob = await waitShown(bob.page, (m) => m.id === idA, "Alice's message in Bob's history");
    assert.equal(aOnBob.own, false, "Alice's message is not Bob's own");
    assert.equal(aOnBob.email, 'alice@example.com', 'email on hover (title)');
    const bobsEmail = bob.page.locator(`li[data-id="${idA}"] .sender .email`);
    assert.equal(await bobsEmail.isVisible(), false, 'the email waits for hover');
    await bob.page.hover(`li[data-id="${idA}"] .sender`);
    assert.equal(await bobsEmail.isVisible(), true, 'hovering the name shows the email');
    assert.equal(await bobsEmail.textContent(), 'alice@example.com');
    await bob.page.mouse.move(0, 0);

    const sentB = await sendUI(bob.page, 'psst: this one is never stored', { ephemeral: true, via: 'keys' });
    assert.equal(sentB.status, 200, 'Ctrl+Enter sends');
    assert.equal(sentB.body.ephemeral, true, 'the ticked checkbox made it ephemeral');
    const idB = sentB.body.id;
    for (const [who, u] of [['Alice', alice], ['Bob', bob]]) {
        const m = await waitShown(u.page, (x) => x.id === idB, `Bob's ephemeral message on ${who}'s page`);
        assert.equal(m.ephemeral, true, `marked ephemeral for ${who}`);
        assert.match(m.badge, /ephemeral/i);
        assert.equal(await u.page.isVisible(`li[data-id="${idB}"] .badge`), true, `the mark is visible to ${who}`);
        assert.equal(m.topic, 'general', 'an empty topic shows as general');
    }
    await alice.page.waitForFunction((t) => document.querySelector('#announcer').textContent.includes(t),
        'psst: this one is never stored');
    assert.equal(await alice.page.getAttribute('#announcer', 'aria-live'), 'polite', 'the announcer is a live region');
    const heard = await alice.page.$$eval('#announcer > *', (ps) => ps.map((e) => e.textContent));
    assert.ok(heard.includes('Bob in general: psst: this one is never stored'), `who, where and what: ${heard}`);
    assert.ok(heard.includes('Message sent'), 'a send is confirmed');
    assert.ok(!heard.some((h) => h.startsWith('Alice')), 'one\'s own message is not news');

    /* Own messages stand apart: on the right, tagged "you". */
    const side = (page, id) => page.$eval(`li[data-id="${id}"]`, (li) => ({
        align: getComputedStyle(li).alignSelf, you: li.querySelector('.you').checkVisibility(),
    }));
    assert.deepEqual(await side(alice.page, idA), { align: 'flex-end', you: true }, 'own message on Alice\'s page');
    assert.deepEqual(await side(alice.page, idB), { align: 'flex-start', you: false }, 'Bob\'s message on Alice\'s page');
    assert.deepEqual(await side(bob.page, idB), { align: 'flex-end', you: true }, 'own message on Bob\'s page');

    const eve = await openUser(browser, sys, { name: 'Eve', email: 'eve@example.com', context: EVE_ZONE });
    await eve.page.waitForSelector('#history-edge[data-state="beginning"]');
    const aOnEve = await waitShown(eve.page, (m) => m.id === idA, "Alice's message in Eve's history");
    const there = new Intl.DateTimeFormat('en-GB', { timeZone: EVE_ZONE.timezoneId, hour: '2-digit', minute: '2-digit' });
    assert.ok(aOnEve.time.includes(there.format(new Date(sentA.body.date))),
        `Eve sees her local time: ${aOnEve.time} for ${sentA.body.date}`);
    assert.equal(await eve.page.getAttribute(`li[data-id="${idA}"] time`, 'datetime'), sentA.body.date);
    assert.equal(await eve.page.textContent('#announcer'), '', 'history is not read out as new');
    assert.notEqual((await colours(eve.page, idA)).msg.bg, (await colours(alice.page, idA)).msg.bg,
        'the same message looks different when it is your own');
    const onEve = await shown(eve.page);
    assert.deepEqual(onEve.map((m) => m.id), [idA], 'Eve sees Alice\'s stored message and not Bob\'s ephemeral one');
    assert.equal(await eve.page.textContent('#history-edge'), 'Beginning of history');
    assert.equal(sys.redisCli('XLEN', 'messages:history').trim(), '1', 'Redis holds exactly one stored message');

    /* Both earlier pages still show both messages, each once. */
    for (const u of [alice, bob]) {
        const ids = (await shown(u.page)).map((m) => m.id);
        assert.deepEqual(ids, [idA, idB]);
    }

    /* Presence: every page says how many are online, across both
     * gateways (they share counts through Redis every refresh). */
    for (const u of [alice, bob, eve]) {
        await u.page.waitForFunction(() => {
            const p = document.querySelector('#presence');
            return !p.hidden && p.textContent === '3 online';
        }, null, { timeout: 15000 });
    }

    /* Topic filter, client side. */
    await alice.page.selectOption('#topic-filter', 'lunch');
    let view = await shown(alice.page);
    assert.deepEqual(view.filter((m) => !m.hidden).map((m) => m.id), [idA], 'only lunch shown');
    await alice.page.selectOption('#topic-filter', '');
    view = await shown(alice.page);
    assert.deepEqual(view.filter((m) => !m.hidden).map((m) => m.id), [idA, idB], 'all topics again');

    /* A message of another topic arriving under a filter stays hidden,
     * and its topic joins the list (the pill under a filter: history). */
    await alice.page.selectOption('#topic-filter', 'lunch');
    await eve.page.fill('#topic', 'dinner');
    const sentE = await sendUI(eve.page, 'Dinner at eight?');
    assert.equal(sentE.status, 200);
    const eOnAlice = await waitShown(alice.page, (m) => m.id === sentE.body.id, "Eve's message on Alice's page");
    assert.equal(eOnAlice.hidden, true, 'filtered out');
    assert.equal(await alice.page.isVisible(`li[data-id="${sentE.body.id}"]`), false);
    assert.deepEqual(await alice.page.$$eval('#topic-filter option', (os) => os.map((o) => [o.value, o.textContent])),
        [['', 'All topics'], ['dinner', 'dinner'], ['general', 'general'], ['lunch', 'lunch']]);
    await alice.page.selectOption('#topic-filter', 'dinner');
    view = await shown(alice.page);
    assert.deepEqual(view.filter((m) => !m.hidden).map((m) => m.id), [sentE.body.id], 'only dinner shown');
    await alice.page.selectOption('#topic-filter', '');
    assert.equal(await alice.page.isVisible(`li[data-id="${sentE.body.id}"]`), true);

    for (const u of [alice, bob, eve]) {
        assert.deepEqual(u.errors, [], 'no script errors');
        const asks = u.sent.filter((f) => !isHeartbeat(f));
        assert.ok(asks.length > 0 && asks[0].first_id === 0 && asks[0].last_id === -1,
            'the page asks for the newest page first');
        assert.ok(u.sent.every((f) => typeof f.req === 'string'), 'every request is tagged');
    }

    await waitShown(bob.page, (m) => m.id === sentE.body.id, "Eve's message on Bob's page");
    await assertFits(alice.page, 'desktop');
    await assertFits(bob.page, 'phone');
    await alice.page.focus('#content');
    await screenshot(alice.page, 'scenario-desktop-alice');
    await screenshot(bob.page, 'scenario-phone-bob');
    await eve.page.setViewportSize(PHONE);
    await assertFits(eve.page, 'phone, after turning from desktop');
    await screenshot(eve.page, 'scenario-phone-eve');

    /* The theme follows the system: dark when the system is dark. */
    await alice.page.emulateMedia({ colorScheme: 'light' });
    const light = await colours(alice.page, idA);
    await alice.page.emulateMedia({ colorScheme: 'dark' });
    const dark = await colours(alice.page, idA);
    assert.ok(luminance(light.body.bg) > 0.8 && luminance(light.body.fg) < 0.3, `light theme ${JSON.stringify(light)}`);
    assert.ok(luminance(dark.body.bg) < 0.2 && luminance(dark.body.fg) > 0.7, `dark theme ${JSON.stringify(dark)}`);
    assert.notEqual(dark.msg.bg, light.msg.bg, 'messages follow the theme too');
    await screenshot(alice.page, 'scenario-desktop-alice-dark');
    await bob.page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(bob.page, 'scenario-phone-bob-dark');
});
