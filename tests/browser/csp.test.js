'use strict';
/*
 * The page under the front end's Content-Security-Policy (conf/runtime.sh):
 * it loads, goes live, sends and shows a message with no CSP violation
 * reported, and may open its WebSocket both on the same-origin path and at
 * the configured direct URL; a socket to any other port is refused by the
 * browser, and the page will not be framed (frame-ancestors 'none').
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { freePort } = require('../lib/system');
const { startWithBrowser, openUser, sendUI, waitShown } = require('./browser');

/* Runs in the page before its own scripts: keeps every CSP violation. */
function recordViolations() {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
        window.cspViolations.push({ directive: e.violatedDirective, blocked: e.blockedURI });
    });
}

/* Open a WebSocket from inside the page; 'open', 'error' or what it threw. */
function openFromPage(page, url) {
    return page.evaluate((u) => new Promise((resolve) => {
        try {
            const ws = new WebSocket(u);
            ws.onopen = () => { ws.close(); resolve('open'); };
            ws.onerror = () => resolve('error');
        } catch (e) {
            resolve(`threw ${e.name}`);
        }
    }), url);
}

test('the page runs under its CSP; only its own origin and the direct URL are reachable', { timeout: 90000 }, async (t) => {
    const httpPort = await freePort();
    const origin = `http://127.0.0.1:${httpPort}`;
    const { sys, browser } = await startWithBrowser(t, {
        gateways: 1, lighttpd: false, tag: 'browser-csp',
        gatewayEnv: { GW_ALLOWED_ORIGINS: origin },
    });
    const gw = sys.gateways[0];
    sys.http = { port: httpPort };
    sys.opts.lighttpdEnv = { CHAT_WEBSOCKET_URL: `//{host}:${gw.port}/chatapp/websocket` };
    await sys.startLighttpd();

    const consoleCsp = [];
    const user = await openUser(browser, sys, {
        name: 'Csp', email: 'csp@example.com',
        before: (page) => {
            page.on('console', (m) => {
                if (/Content Security Policy/i.test(m.text())) consoleCsp.push(m.text());
            });
            return page.addInitScript(recordViolations);
        },
    });
    const page = user.page;
    const sent = await sendUI(page, 'under a strict policy');
    assert.equal(sent.status, 200);
    await waitShown(page, (m) => m.id === sent.body.id, 'the message shown');
    assert.deepEqual(await page.evaluate(() => window.cspViolations), [], 'no violation while loading, going live and sending');
    assert.deepEqual(consoleCsp, [], 'nothing about the policy in the console');
    assert.deepEqual(user.errors, [], 'no page errors');

    assert.equal(await openFromPage(page, `ws://127.0.0.1:${httpPort}/chatapp/websocket`), 'open', 'the same-origin path');
    assert.equal(await openFromPage(page, `ws://127.0.0.1:${gw.port}/chatapp/websocket`), 'open', 'the direct URL');
    assert.deepEqual(await page.evaluate(() => window.cspViolations), [], 'neither is a violation');

    /* The policy is in force: another port is refused by the browser. */
    const other = await freePort();
    assert.notEqual(await openFromPage(page, `ws://127.0.0.1:${other}/chatapp/websocket`), 'open');
    const v = await page.evaluate(() => window.cspViolations);
    assert.equal(v.length, 1, JSON.stringify(v));
    assert.equal(v[0].directive, 'connect-src');
    assert.match(v[0].blocked, new RegExp(`^ws://127\\.0\\.0\\.1:${other}`));

    /* Framed by another page: the browser refuses to show it. */
    const framer = await user.ctx.newPage();
    const refusals = [];
    framer.on('console', (m) => { if (/frame-ancestors/.test(m.text())) refusals.push(m.text()); });
    await framer.setContent(`<iframe src="${sys.httpUrl}/"></iframe>`);
    await framer.waitForTimeout(1000);
    const frame = framer.frames().find((f) => f !== framer.mainFrame());
    const inside = frame ? await frame.evaluate(() => document.querySelector('#composer') !== null).catch(() => false) : false;
    assert.equal(inside, false, 'the chat does not render inside a frame');
    assert.ok(refusals.length > 0, 'the console says frame-ancestors refused it');
});
