'use strict';
/*
 * Shared pieces of the browser tests: Debian's Chromium driven by
 * playwright-core (never a downloaded browser), one fresh context (own
 * profile, own localStorage) per user, and readers of what a page shows.
 */
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { OUT_DIR, ROOT, startSystem } = require('../lib/system');

const CHROMIUM = process.env.CHAT_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'];
const SHOTS = path.join(OUT_DIR, 'browser');
/* Under valgrind (CHAT_WRAPPER) the servers answer about 20x slower, as
 * tests/lib/system.js allows for in its own waits; the page's waits for
 * an answer are widened to match when a test shortens them. */
const SLOW = process.env.CHAT_WRAPPER ? 10 : 1;
const ANSWER_WAITS = ['heartbeatTimeoutMs', 'openTimeoutMs', 'sendTimeoutMs'];

function scaled(tuning) {
    const t = { ...tuning };
    for (const k of ANSWER_WAITS) if (k in t) t[k] *= SLOW;
    return t;
}
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

async function launch() {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install chromium`);
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

/* The real system and a browser for test t; both stop when it ends. */
async function startWithBrowser(t, opts) {
    const sys = await startSystem(opts);
    let browser = null;
    t.after(async () => {
        if (browser) await browser.close();
        await sys.stop();
    });
    browser = await launch();
    return { sys, browser };
}

/*
 * A user: a fresh browser context on the chat page. Dialogs (which an XSS
 * would open), page errors and every WebSocket frame the page sends are
 * recorded so tests can assert on them.
 */
/*
 * Options beyond the form fields: context (more browser context options,
 * e.g. timezoneId), before(page) (run before the page loads, e.g. to
 * route its socket), live (false: do not wait for the socket), tuning
 * (shorter timings for the page: htdocs/core/tuning.js; its waits for an
 * answer are multiplied by SLOW) and url (where
 * the page is, default the system's front end).
 * user.sockets holds the time each socket attempt started, user.socketUrls
 * the URL it went to, user.sent and user.received the frames (parsed),
 * user.warnings what the page wrote with console.warn (and when),
 * and user.posts every send the page made: its fields (idem included)
 * and the status it got (0: none).
 */
async function openUser(browser, sys, {
    name, email, topic = '', viewport = DESKTOP, context = {}, before = null, live = true,
    tuning = null, url = null, config,
} = {}) {
    const ctx = await browser.newContext({ viewport, ...context });
    /* config: the page config this page gets instead of lighttpd's (a
     * text, or null for none at all); undefined leaves lighttpd's. */
    if (config !== undefined) {
        await ctx.route('**/chatapp/config.json', (route) => (config === null
            ? route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"not found"}' })
            : route.fulfill({ status: 200, contentType: 'application/json', body: config })));
    }
    const page = await ctx.newPage();
    const user = { ctx, page, dialogs: [], errors: [], sent: [], received: [], sockets: [], socketUrls: [], posts: [] };
    page.on('dialog', (d) => {
        user.dialogs.push(d.message());
        d.dismiss().catch(() => {});
    });
    page.on('pageerror', (e) => user.errors.push(String(e)));
    user.warnings = [];
    page.on('console', (m) => { if (m.type() === 'warning') user.warnings.push({ at: Date.now(), text: m.text() }); });
    page.on('websocket', (ws) => {
        user.sockets.push(Date.now());
        user.socketUrls.push(ws.url());
        ws.on('framesent', (f) => user.sent.push(JSON.parse(f.payload)));
        ws.on('framereceived', (f) => {
            try {
                user.received.push(JSON.parse(f.payload));
            } catch {
                user.received.push(f.payload);
            }
        });
    });
    page.on('request', (r) => {
        if (r.method() !== 'POST' || !r.url().endsWith('/chatapp/send')) return;
        const post = { at: Date.now(), fields: formFields(r), status: null };
        user.posts.push(post);
        r.response().then((res) => { post.status = res ? res.status() : 0; }, () => { post.status = 0; });
    });
    page.on('requestfailed', (r) => {
        const post = user.posts.find((p) => p.status === null && r.url().endsWith('/chatapp/send'));
        if (post) post.status = 0;
    });
    if (tuning) await page.addInitScript((t) => { window.chatTuning = t; }, scaled(tuning));
    if (before) await before(page);
    await page.goto(url || `${sys.httpUrl}/`);
    if (live) await waitLive(page);
    if (name !== undefined) await page.fill('#name', name);
    if (email !== undefined) await page.fill('#email', email);
    if (topic !== undefined) await page.fill('#topic', topic);
    return user;
}

/* The fields of a multipart form POST, as the send handler reads them. */
function formFields(request) {
    const type = request.headers()['content-type'] || '';
    const m = /boundary=(.+)$/.exec(type);
    const body = request.postData() || '';
    const fields = {};
    if (!m) return fields;
    for (const part of body.split(`--${m[1]}`)) {
        const h = /name="([^"]+)"\r\n\r\n([\s\S]*)\r\n$/.exec(part);
        if (h) fields[h[1]] = h[2];
    }
    return fields;
}

/* A heartbeat request (contract 3): an after_id too big for a number. */
function isHeartbeat(frame) {
    return frame.after_id > Number.MAX_SAFE_INTEGER;
}

/*
 * Wait until a socket brought the page message id (live or in an
 * answer): only then does the page's resume point pass it. A send's own
 * 200 shows the message sooner, and moves nothing.
 */
async function waitDelivered(user, id, timeout = 10000 * SLOW) {
    const carries = (v) => (Array.isArray(v) ? v : v && v.type === 'reply' && Array.isArray(v.messages) ? v.messages : [])
        .some((m) => m && m.id === id);
    const end = Date.now() + timeout;
    while (!user.received.some(carries)) {
        if (Date.now() > end) throw new Error(`timed out waiting for a socket to deliver message ${id}`);
        await new Promise((r) => setTimeout(r, 25));
    }
}

function waitLive(page, timeout = 15000 * SLOW) {
    return page.waitForSelector('#conn[data-state="live"]', { timeout });
}

/*
 * Put the test between the page and the gateway: every socket the page
 * opens is routed through here and frames pass both ways, unless a hook
 * takes one. hooks.toServer(text, conn) and hooks.toPage(text, conn)
 * return true when they dealt with the frame themselves; conn.toPage(text)
 * and conn.toServer(text) send one. hooks may be changed at any time.
 * Returns the connections in order, each with the requests its page sent.
 */
async function proxySocket(page, hooks) {
    const conns = [];
    await page.routeWebSocket(/\/chatapp\/websocket$/, (ws) => {
        const server = ws.connectToServer();
        const conn = {
            index: conns.length, sent: [],
            toPage: (text) => ws.send(text), toServer: (text) => server.send(text),
            /* Cut both sides, as a network failure would. */
            cut: () => {
                ws.close({ code: 4000, reason: 'cut by the test' });
                server.close();
            },
        };
        conns.push(conn);
        ws.onMessage((text) => {
            conn.sent.push(JSON.parse(text));
            if (!(hooks.toServer && hooks.toServer(text, conn))) server.send(text);
        });
        server.onMessage((text) => {
            if (!(hooks.toPage && hooks.toPage(text, conn))) ws.send(text);
        });
        ws.onClose((code, reason) => server.close({ code, reason }));
        server.onClose((code, reason) => ws.close({ code, reason }));
    });
    return conns;
}

/* Type a message into the UI and send it the way a person does. */
async function sendUI(page, content, { ephemeral = false, via = 'click' } = {}) {
    await page.fill('#content', content);
    await page.setChecked('#ephemeral', ephemeral);
    const answer = page.waitForResponse((r) => r.url().endsWith('/chatapp/send'));
    if (via === 'keys') await page.press('#content', 'Control+Enter');
    else await page.click('#send');
    const r = await answer;
    return { status: r.status(), body: await r.json().catch(() => null) };
}

/* What the page shows, one entry per rendered message, in DOM order. */
function shown(page) {
    return page.$$eval('#messages > li', (lis) => lis.map((li) => ({
        id: Number(li.dataset.id),
        name: li.querySelector('.name').textContent,
        email: li.querySelector('.sender').title,
        topic: li.querySelector('.topic').textContent,
        content: li.querySelector('.content').textContent,
        time: li.querySelector('time').textContent,
        ephemeral: li.classList.contains('ephemeral'),
        badge: li.querySelector('.badge') ? li.querySelector('.badge').textContent : '',
        own: li.classList.contains('own'),
        hidden: li.hidden,
    })));
}

/* Wait until the page shows a message matching pred. */
async function waitShown(page, pred, what, timeout = 10000) {
    const end = Date.now() + timeout;
    for (;;) {
        const list = await shown(page);
        const hit = list.find(pred);
        if (hit) return hit;
        if (Date.now() > end) {
            throw new Error(`timed out waiting for ${what}; page shows ${JSON.stringify(list.map((m) => m.content))}`);
        }
        await page.waitForTimeout(50);
    }
}

async function screenshot(page, name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    const file = path.join(SHOTS, `${name}.png`);
    await page.screenshot({ path: file });
    return file;
}

/*
 * Store many messages at once through fcgi/publish.lua itself (the one
 * atomic step), pipelined over one Redis connection: much faster than as
 * many POSTs when a test needs hundreds of stored messages.
 */
async function storeMany(sys, fields) {
    const lua = fs.readFileSync(path.join(ROOT, 'fcgi', 'publish.lua'), 'utf8');
    const sha = sys.redisCli('SCRIPT', 'LOAD', lua).trim();
    const date = new Date().toISOString();
    const resp = (args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    const wire = fields.map((f) => resp(['EVALSHA', sha, '2', 'messages:id', 'messages:history',
        JSON.stringify({ name: f.name, email: f.email, topic: f.topic, content: f.content, date, ephemeral: false }),
        '1', '100000', 'messages'])).join('');
    const replies = await new Promise((resolve, reject) => {
        const sock = net.connect(sys.redis.port, '127.0.0.1');
        let buf = '';
        const out = [];
        sock.setEncoding('utf8');
        sock.on('error', reject);
        sock.on('data', (d) => {
            buf += d;
            for (;;) {
                const m = /^\$(\d+)\r\n/.exec(buf);
                if (buf.startsWith('-')) return reject(new Error(buf.split('\r\n')[0]));
                if (!m) break;
                const start = m[0].length;
                const bytes = Buffer.from(buf.slice(start), 'utf8');
                const len = Number(m[1]);
                if (bytes.length < len + 2) break;
                const text = bytes.subarray(0, len).toString('utf8');
                out.push(JSON.parse(text));
                buf = bytes.subarray(len + 2).toString('utf8');
            }
            if (out.length === fields.length) {
                sock.end();
                resolve(out);
            }
        });
        sock.write(wire);
    });
    return replies;
}

module.exports = {
    startWithBrowser,
    launch, openUser, waitLive, proxySocket, sendUI, shown, waitShown, screenshot, storeMany,
    isHeartbeat, formFields, waitDelivered,
    DESKTOP, PHONE, SHOTS, SLOW,
};
