'use strict';
/*
 * Where the page connects (the page-config contract): it reads
 * /chatapp/config.json and opens the socket its "websocket" names ({host}
 * being its own host name) straight at the gateway; with no usable config
 * it uses the same-origin path through lighttpd; two failed opens of the
 * direct URL in a row fall back to that path, and a later reconnect
 * cycle tries the direct URL again.
 *
 * One system; each page is given its config by the browser (a route),
 * so that configs lighttpd would never serve can be tried too; one more
 * test takes lighttpd's own answer, from CHAT_WEBSOCKET_URL.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { freePort, kill } = require('../lib/system');
const { postForm, message } = require('../lib/client');
const { startWithBrowser, openUser, waitLive, waitShown, SLOW } = require('./browser');

const FAST = { reconnectBaseMs: 100, reconnectCapMs: 400, openTimeoutMs: 1500 };

test('the socket goes where the config says, else through the front end', { timeout: 180000 * SLOW }, async (t) => {
    const { sys, browser } = await startWithBrowser(t, { gateways: 1, tag: 'browser-config' });
    /* Browsers reach the gateway from the page's origin: allow exactly it. */
    await sys.stopGateway(0);
    await sys.startGateway(0, { GW_ALLOWED_ORIGINS: sys.httpUrl });
    /* What this page gets as /chatapp/config.json (null: none at all). */
    let current = null;
    const setConfig = (text) => { current = text; };
    const gw = sys.gateways[0];
    const direct = `ws://127.0.0.1:${gw.port}/chatapp/websocket`;
    const sameOrigin = sys.wsUrl;
    const users = [];
    const open = async (opts = {}) => {
        /* A config lighttpd never served is not in its CSP's connect-src
         * either: those pages run without the CSP (csp.test.js has it). */
        const routed = !('config' in opts);
        const u = await openUser(browser, sys, {
            name: 'Cleo', email: 'cleo@example.com', tuning: FAST, config: current,
            context: routed ? { bypassCSP: true } : {}, ...opts,
        });
        users.push(u);
        return u;
    };
    /* A message posted now reaches the page: the socket really works. */
    const liveThrough = async (u, what) => {
        const r = await postForm(sys.sendUrl, message({ content: `through ${what}` }));
        assert.equal(r.status, 200, r.body);
        await waitShown(u.page, (m) => m.id === JSON.parse(r.body).id, `a live message through ${what}`);
    };

    await t.test('a config naming the gateway\'s own port: straight there', async () => {
        setConfig(JSON.stringify({ websocket: `//{host}:${gw.port}/chatapp/websocket` }));
        const u = await open();
        assert.deepEqual(u.socketUrls, [direct]);
        await liveThrough(u, 'the gateway port');
        await u.ctx.close();
    });

    await t.test('an absolute ws: URL is taken as it is', async () => {
        setConfig(JSON.stringify({ websocket: direct }));
        const u = await open();
        assert.deepEqual(u.socketUrls, [direct]);
        await u.ctx.close();
    });

    for (const [what, text] of [['no config', null], ['not JSON', '<h1>oops'], ['an empty websocket', '{"websocket":""}'],
        ['no websocket member', '{"ws":"//{host}:1/x"}'], ['an http: URL', '{"websocket":"http://127.0.0.1:1/x"}']]) {
        await t.test(`${what}: the same-origin path`, async () => {
            setConfig(text);
            const u = await open();
            assert.deepEqual(u.socketUrls, [sameOrigin]);
            await liveThrough(u, `the front end (${what})`);
            await u.ctx.close();
        });
    }

    await t.test('lighttpd\'s own config (CHAT_WEBSOCKET_URL) sends the page straight to the gateway', async () => {
        await kill(sys.lighttpd);
        await sys.startLighttpd({ CHAT_WEBSOCKET_URL: `//{host}:${gw.port}/chatapp/websocket` });
        const u = await open({ config: undefined });
        assert.deepEqual(u.socketUrls, [direct]);
        await liveThrough(u, 'the gateway port, as lighttpd said');
        await u.ctx.close();
    });

    await t.test('a dead direct port: two refused opens, then the front end; a later cycle tries direct again', async () => {
        const dead = await freePort();
        const deadUrl = `ws://127.0.0.1:${dead}/chatapp/websocket`;
        setConfig(JSON.stringify({ websocket: `//{host}:${dead}/chatapp/websocket` }));
        const u = await open();
        assert.deepEqual(u.socketUrls, [deadUrl, deadUrl, sameOrigin]);
        await liveThrough(u, 'the fallback');
        /* The gateway restarts: the page's next cycle starts on the direct
         * URL again, and falls back again. */
        await sys.stopGateway(0);
        await sys.startGateway(0, { GW_ALLOWED_ORIGINS: sys.httpUrl });
        await waitLive(u.page, 30000 * SLOW);
        const again = u.socketUrls.slice(3);
        assert.deepEqual(again.slice(0, 2), [deadUrl, deadUrl], `after the drop: ${again}`);
        assert.equal(again.at(-1), sameOrigin);
        await liveThrough(u, 'the fallback, again');
        assert.deepEqual(u.errors, []);
        await u.ctx.close();
    });

    await t.test('a direct port that accepts and never answers: given up after the open timeout', async () => {
        const hung = net.createServer(() => { /* holds every connection, says nothing */ });
        await new Promise((resolve) => hung.listen(0, '127.0.0.1', resolve));
        t.after(() => hung.close());
        const port = hung.address().port;
        setConfig(JSON.stringify({ websocket: `ws://127.0.0.1:${port}/chatapp/websocket` }));
        const started = Date.now();
        const u = await open({ live: false });
        await waitLive(u.page, (20000 + 2 * FAST.openTimeoutMs) * SLOW);
        assert.deepEqual(u.socketUrls, [`ws://127.0.0.1:${port}/chatapp/websocket`, `ws://127.0.0.1:${port}/chatapp/websocket`, sameOrigin]);
        assert.ok(Date.now() - started >= 2 * FAST.openTimeoutMs, 'each hung open waited its timeout');
        await liveThrough(u, 'the fallback from a hung port');
        await u.ctx.close();
    });

    for (const u of users) assert.deepEqual(u.errors, []);
});
