'use strict';
/*
 * GET /chatapp/config.json (HELPERS contract 1): the front end tells the
 * page where to open its WebSocket, from CHAT_WEBSOCKET_URL; empty means
 * the same-origin path through lighttpd, which stays served. A client that
 * follows the config the way the page does, with the page's Origin,
 * reaches the gateway directly, past lighttpd, when the gateway's
 * GW_ALLOWED_ORIGINS holds the page's origin. A value that is no
 * WebSocket URL stops lighttpd at start.
 */
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startSystem, freePort, ROOT } = require('../lib/system');
const { connect, message, ChatClient } = require('../lib/client');
const { SLOW, send } = require('../lib/expect');
const { pageSocket } = require('../lib/page_config');

const WAIT = 10000 * SLOW;

test('no CHAT_WEBSOCKET_URL: config.json says the same-origin path, which works', async () => {
    const sys = await startSystem({ gateways: 1, tag: 'front-config-none' });
    try {
        const r = await fetch(`${sys.httpUrl}/chatapp/config.json`);
        assert.strictEqual(r.status, 200);
        assert.match(r.headers.get('content-type'), /^application\/json/);
        assert.deepStrictEqual(await r.json(), { websocket: '' });
        const { url } = await pageSocket(sys.httpUrl);
        assert.strictEqual(url, sys.wsUrl, 'the page opens the same-origin path');
        const ws = await connect(url, { origin: sys.httpUrl });
        try {
            const m = await send(sys.sendUrl, message({ content: 'same origin' }));
            await ws.until(() => ws.has(m.id), WAIT, 'live delivery through lighttpd');
        } finally {
            ws.close();
        }
    } finally {
        await sys.stop();
    }
});

test('CHAT_WEBSOCKET_URL: a client following config.json with the page\'s Origin reaches the gateway directly', async () => {
    const httpPort = await freePort();
    const pageOrigin = `http://127.0.0.1:${httpPort}`;
    const sys = await startSystem({
        gateways: 1, lighttpd: false, tag: 'front-config-direct',
        gatewayEnv: { GW_ALLOWED_ORIGINS: pageOrigin },
    });
    try {
        const gw = sys.gateways[0];
        const direct = `//{host}:${gw.port}/chatapp/websocket`;
        sys.http = { port: httpPort };
        sys.opts.lighttpdEnv = { CHAT_WEBSOCKET_URL: direct };
        await sys.startLighttpd();

        const r = await fetch(`${sys.httpUrl}/chatapp/config.json`);
        assert.strictEqual(r.status, 200);
        assert.match(r.headers.get('content-type'), /^application\/json/);
        assert.strictEqual(r.headers.get('cache-control'), 'no-store', 'a restart with a new URL reaches the next page load');
        assert.strictEqual(await r.text(), JSON.stringify({ websocket: direct }));
        const head = await fetch(`${sys.httpUrl}/chatapp/config.json`, { method: 'HEAD' });
        assert.strictEqual(head.status, 200);
        const post = await fetch(`${sys.httpUrl}/chatapp/config.json`, { method: 'POST', body: 'x' });
        assert.strictEqual(post.status, 405);
        assert.strictEqual(post.headers.get('allow'), 'GET, HEAD');
        assert.strictEqual(typeof (await post.json()).error, 'string');

        const { url, origin } = await pageSocket(pageOrigin);
        assert.strictEqual(url, `ws://127.0.0.1:${gw.port}/chatapp/websocket`, 'the page\'s own host name, the gateway\'s port');
        const ws = await connect(url, { origin });
        try {
            const m = await send(sys.sendUrl, message({ content: 'straight to the gateway' }));
            await ws.until(() => ws.has(m.id), WAIT, 'live delivery on the direct socket');
            const page = await ws.request({ after_id: m.id - 1 });
            assert.deepStrictEqual(page.map((x) => x.id), [m.id], 'history on the direct socket');
        } finally {
            ws.close();
        }
        /* The allow-list is the page's origin, not anything. */
        const foreign = new ChatClient(url, { origin: 'http://evil.example' });
        await assert.rejects(foreign.opened, /403/, 'another Origin is refused at the handshake');
        /* The same-origin path through lighttpd stays served. */
        const fallback = await connect(sys.wsUrl, { origin });
        fallback.close();
    } finally {
        await sys.stop();
    }
});

test('a CHAT_WEBSOCKET_URL that is no WebSocket URL stops lighttpd with a message naming it', () => {
    const good = ['', 'ws://gw.example.com:7681/chatapp/websocket', 'wss://chat.example.com/chatapp/websocket',
        '//{host}:30226/chatapp/websocket', 'ws://[::1]:7681/chatapp/websocket'];
    const bad = ['http://gw.example.com/chatapp/websocket', 'javascript:alert(1)', 'ws://a"b/',
        'ws://x y/', 'ws://a/\nws://b/', 'gw.example.com:7681', 'ws://x/</script>'];
    const check = (value) => spawnSync('lighttpd', ['-tt', '-f', path.join(ROOT, 'conf', 'lighttpd.conf')], {
        encoding: 'utf8',
        env: {
            ...process.env, CHAT_CONF_DIR: path.join(ROOT, 'conf'), CHAT_HTDOCS: path.join(ROOT, 'htdocs'),
            CHAT_HTTP_BIND: '127.0.0.1', CHAT_HTTP_PORT: '1', CHAT_SEND_BACKENDS: '127.0.0.1:2',
            CHAT_GATEWAY_BACKENDS: '127.0.0.1:3', CHAT_WEBSOCKET_URL: value,
        },
    });
    for (const v of good) {
        const r = check(v);
        assert.strictEqual(r.status, 0, `'${v}' is accepted: ${r.stderr}`);
    }
    for (const v of bad) {
        const r = check(v);
        assert.notStrictEqual(r.status, 0, `'${v}' is refused`);
        assert.match(r.stderr, /CHAT_WEBSOCKET_URL must be/, `'${v}': the message names the variable`);
    }
});
