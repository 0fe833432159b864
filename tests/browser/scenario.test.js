'use strict';
/*
 * The ephemeral scenario played by three people through the page itself:
 * Alice stores a message, Bob (on a phone) sends an ephemeral one, Eve
 * arrives later and must see Alice's message only. Also presence, the
 * topic filter, own-message marking, screen-reader announcements and the
 * screenshots a person can look at.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { startSystem } = require('../lib/system');
const { launch, openUser, sendUI, shown, waitShown, screenshot, PHONE } = require('./browser');

test('Alice, Bob and Eve: ephemeral scenario through the UI', { timeout: 120000 }, async (t) => {
    const sys = await startSystem({
        gateways: 2, tag: 'browser-scenario', gatewayEnv: { GW_PRESENCE_REFRESH_MS: '300' },
    });
    const browser = await launch();
    t.after(async () => {
        await browser.close();
        await sys.stop();
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

    const sentB = await sendUI(bob.page, 'psst: this one is never stored', { ephemeral: true, via: 'keys' });
    assert.equal(sentB.status, 200, 'Ctrl+Enter sends');
    assert.equal(sentB.body.ephemeral, true, 'the ticked checkbox made it ephemeral');
    const idB = sentB.body.id;
    for (const [who, u] of [['Alice', alice], ['Bob', bob]]) {
        const m = await waitShown(u.page, (x) => x.id === idB, `Bob's ephemeral message on ${who}'s page`);
        assert.equal(m.ephemeral, true, `marked ephemeral for ${who}`);
        assert.match(m.badge, /ephemeral/i);
        assert.equal(m.topic, 'general', 'an empty topic shows as general');
    }
    await alice.page.waitForFunction((t) => document.querySelector('#announcer').textContent.includes(t),
        'psst: this one is never stored');

    const eve = await openUser(browser, sys, { name: 'Eve', email: 'eve@example.com' });
    await eve.page.waitForSelector('#history-edge[data-state="beginning"]');
    await waitShown(eve.page, (m) => m.id === idA, "Alice's message in Eve's history");
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

    for (const u of [alice, bob, eve]) {
        assert.deepEqual(u.errors, [], 'no script errors');
        assert.ok(u.sent.length > 0 && u.sent[0].first_id === 0 && u.sent[0].last_id === -1,
            'the page asks for the newest page first');
    }

    await alice.page.focus('#content');
    await screenshot(alice.page, 'scenario-desktop-alice');
    await screenshot(bob.page, 'scenario-phone-bob');
    await eve.page.setViewportSize(PHONE);
    await screenshot(eve.page, 'scenario-phone-eve');
    await alice.page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(alice.page, 'scenario-desktop-alice-dark');
});
