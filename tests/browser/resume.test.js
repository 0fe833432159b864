'use strict';
/*
 * A resume that goes wrong in the ways the wire allows, made to happen on
 * purpose by a proxy between the page and the real gateway: a live
 * message overtakes the first full (500) reply, and the gateway refuses
 * the next ask. The page must still go on from the full reply's own last
 * id (never from the live id, which would skip the rest), ask again after
 * the refusal, and end with every stored message once.
 *
 * Twice: against the gateway as it is (tagged answers), and against an
 * old gateway, which refuses any request with a "req" member with an
 * untagged error (the proxy plays that part) and answers untagged
 * requests with bare arrays; the page must find that out and fall back.
 *
 * And with tags, the case the classic wire cannot get right: the socket
 * drops after a live batch and before the answer it overtook.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { postForm, message } = require('../lib/client');
const { startWithBrowser, openUser, proxySocket, sendUI, shown, waitShown, storeMany, isHeartbeat, waitDelivered, SLOW } = require('./browser');

const MISSED = 520; /* one full resume reply and a short one */
const OVERTAKER = 'live while the resume is under way';
const OLD_REFUSAL = 'request has a member other than first_id, last_id, after_id';

/* The messages a frame carries as a batch or a tagged reply, else null. */
function carried(v) {
    if (Array.isArray(v)) return v;
    return v !== null && v.type === 'reply' ? v.messages : null;
}

/* hooks for a proxy playing an old gateway: tagged requests refused. */
function oldGateway(hooks) {
    return (text, conn) => {
        if (!('req' in JSON.parse(text))) return hooks.toServerUntagged ? hooks.toServerUntagged(text, conn) : false;
        conn.toPage(JSON.stringify({ type: 'error', error: OLD_REFUSAL }));
        return true;
    };
}

/* A page that saw one message, then an outage during which MISSED were stored. */
async function pageAfterOutage(t, tag, old) {
    const { sys, browser } = await startWithBrowser(t, { gateways: 1, tag });
    const hooks = {};
    const proxyHooks = old ? { toServer: oldGateway(hooks), toPage: (...a) => (hooks.toPage ? hooks.toPage(...a) : false) }
        : { toServer: (...a) => (hooks.toServerUntagged ? hooks.toServerUntagged(...a) : false), toPage: (...a) => (hooks.toPage ? hooks.toPage(...a) : false) };
    let conns;
    const user = await openUser(browser, sys, {
        name: 'Rene', email: 'rene@example.com',
        before: async (page) => { conns = await proxySocket(page, proxyHooks); },
    });
    const page = user.page;
    const first = await sendUI(page, 'before the outage');
    assert.equal(first.status, 200);
    await waitShown(page, (m) => m.id === first.body.id, 'the first message');
    await waitDelivered(user, first.body.id);

    await sys.stopGateway(0);
    await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 10000 * SLOW });
    const bulk = await storeMany(sys, Array.from({ length: MISSED }, (_, i) => message({ content: `missed #${i + 1}` })));
    return { sys, user, page, hooks, conns: () => conns, first: first.body.id, missed: bulk.map((m) => m.id) };
}

const resumesOf = (conns) => conns.flatMap((c) => c.sent).filter((f) => 'after_id' in f && !isHeartbeat(f)).map((f) => f.after_id);

for (const old of [false, true]) {
    const kind = old ? 'an old gateway (untagged)' : 'a tagged gateway';
    test(`${kind}: a resume survives a live batch ahead of a full reply and a refused ask`, { timeout: 120000 * SLOW }, async (t) => {
        const { sys, user, page, hooks, conns, first, missed } = await pageAfterOutage(t, `browser-resume-${old ? 'old' : 'tagged'}`, old);

        /* On the connection after the outage: hold the full reply until a
         * live message has overtaken it, and refuse the second resume ask. */
        let held = null;
        let overtake;
        const posted = new Promise((resolve) => { overtake = resolve; });
        let asks = 0;
        hooks.toPage = (text, conn) => {
            if (conn.index === 0) return false;
            const msgs = carried(JSON.parse(text));
            if (msgs === null) return false;
            if (held === null && msgs.length === 500) {
                held = text;
                overtake(postForm(sys.sendUrl, message({ content: OVERTAKER })));
                return true;
            }
            if (held !== null && msgs.some((m) => m.content === OVERTAKER)) {
                conn.toPage(text);
                conn.toPage(held);
                hooks.toPage = null;
                return true;
            }
            return false;
        };
        hooks.toServerUntagged = (text, conn) => {
            const f = JSON.parse(text);
            if (conn.index === 0 || !('after_id' in f) || isHeartbeat(f) || ++asks !== 2) return false;
            conn.toPage(JSON.stringify(old ? { type: 'error', error: 'server busy, try again later' }
                : { type: 'error', req: f.req, error: 'server busy, try again later' }));
            return true;
        };

        await sys.startGateway(0);
        await page.waitForSelector('#conn[data-state="live"]', { timeout: 30000 * SLOW });
        const r = await posted; /* once the full reply came */
        assert.equal(r.status, 200, r.body);
        const live = JSON.parse(r.body).id;
        await waitShown(page, (m) => m.id === missed[MISSED - 1], 'the last missed message', 20000 * SLOW);
        await waitShown(page, (m) => m.id === live, 'the overtaking live message');

        const ids = (await shown(page)).map((m) => m.id);
        assert.deepEqual(ids, [first, ...missed, live], 'every message once, in id order');
        assert.deepEqual(resumesOf(conns().slice(1)), [first, missed[499], missed[499]],
            'resumed from the highest id seen, went on from the full reply\'s last id, asked again after the refusal');
        const sent = conns().slice(1).flatMap((c) => c.sent);
        if (old) {
            assert.ok(sent.filter((f) => !isHeartbeat(f)).every((f) => !('req' in f)), 'untagged requests once the gateway refused a tag');
        } else {
            assert.ok(sent.every((f) => typeof f.req === 'string'), 'every request tagged');
        }
        assert.equal(await page.$$eval('#messages > li', (lis) => lis.filter((li) => /busy/.test(li.textContent)).length), 0,
            'the status error is not shown as a message');
        assert.deepEqual(user.errors, []);
    });
}

test('a live batch is never an answer: the socket drops between it and the reply it overtook', { timeout: 120000 * SLOW }, async (t) => {
    const { sys, user, page, hooks, conns, first, missed } = await pageAfterOutage(t, 'browser-resume-drop', false);

    /* On the connection that brings the first full reply: hold it, pass
     * the live message, then cut the connection before the reply is
     * delivered. Frames without messages (heartbeat answers, presence)
     * pass, so the page has no reason of its own to drop the socket. */
    let overtake;
    const posted = new Promise((resolve) => { overtake = resolve; });
    let heldOn = null;
    hooks.toPage = (text, conn) => {
        if (conn.index === 0) return false;
        const msgs = carried(JSON.parse(text));
        if (msgs === null || msgs.length === 0) return false;
        if (heldOn === null && msgs.length === 500) {
            heldOn = conn;
            overtake(postForm(sys.sendUrl, message({ content: OVERTAKER })));
            return true;
        }
        if (conn !== heldOn) return false;
        if (msgs.some((m) => m.content === OVERTAKER)) {
            conn.toPage(text);
            setTimeout(() => conn.cut(), 300);
        }
        return true;
    };

    await sys.startGateway(0);
    const r = await posted;
    assert.equal(r.status, 200, r.body);
    const live = JSON.parse(r.body).id;
    await waitShown(page, (m) => m.id === live, 'the overtaking live message');
    await waitShown(page, (m) => m.id === missed[MISSED - 1], 'the last missed message, after a reconnect', 30000 * SLOW);
    const ids = (await shown(page)).map((m) => m.id);
    assert.deepEqual(ids, [first, ...missed, live], 'nothing skipped, nothing twice');
    assert.ok(conns().length > heldOn.index + 1, 'the cut connection was replaced');
    assert.deepEqual(resumesOf(conns().slice(heldOn.index)), [first, first, missed[499]],
        'the next socket resumed from where the page really was, not from the live id');
    assert.deepEqual(user.errors, []);
    /* And it is live on the new socket. */
    const after = await sendUI(page, 'after the cut');
    assert.equal(after.status, 200);
    await waitShown(page, (m) => m.id === after.body.id, 'a message after the cut');
});
