'use strict';
/*
 * tools/run-local.sh (what `./build.sh run` execs) started with no
 * terminal, in its own session, on free ports: it prints the URL once
 * everything is ready, the chat works through it (POST + WebSocket, the
 * page's direct path to the gateway that /chatapp/config.json names, with
 * the page's Origin, and the same-origin path through lighttpd), SIGTERM
 * stops every process it started and it exits 0. A server that dies is
 * started again and says so; one that cannot start stops the script.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { freePort, ROOT, BUILD_DIR, OUT_DIR, httpStatus } = require('../lib/system');
const { connect, postForm, message, ChatClient } = require('../lib/client');
const { SLOW, okMessage } = require('../lib/expect');
const { pageSocket } = require('../lib/page_config');

const SCRIPT = path.join(ROOT, 'tools', 'run-local.sh');

function childrenOf(pid) {
    const kids = [];
    for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
            const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            if (ppid !== pid) continue;
            const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
            kids.push({ pid: Number(d), cmd });
        } catch { /* gone meanwhile */ }
    }
    return kids;
}

function gone(pid) {
    try {
        process.kill(pid, 0);
        return false;
    } catch {
        return true;
    }
}

/* Start the script detached (setsid: no terminal) and wait for its URL line. */
async function startLocal(env = {}) {
    const ports = {};
    for (const k of ['CHAT_HTTP_PORT', 'CHAT_REDIS_PORT', 'CHAT_SEND_PORT', 'CHAT_SEND_HEALTH_PORT', 'CHAT_GATEWAY_PORT']) {
        ports[k] = String(await freePort());
    }
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-run-local-'));
    fs.mkdirSync(OUT_DIR, { recursive: true });
    const asanLog = path.join(OUT_DIR, 'asan');
    const p = spawn(SCRIPT, [BUILD_DIR], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
            ...process.env, ...ports, CHAT_RUN_DIR: runDir, ...env,
            ASAN_OPTIONS: `log_path=${asanLog}:detect_leaks=1`,
            UBSAN_OPTIONS: `log_path=${asanLog}:print_stacktrace=1:halt_on_error=1`,
        },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((resolve) => p.on('exit', (code, signal) => resolve({ code, signal })));
    const end = Date.now() + 60000 * SLOW;
    while (!out.includes('chat is running at')) {
        if (p.exitCode !== null) throw new Error(`run-local.sh exited ${p.exitCode}: ${err}`);
        if (Date.now() > end) {
            p.kill('SIGKILL');
            throw new Error(`run-local.sh printed no URL: ${out} ${err}`);
        }
        await new Promise((r) => setTimeout(r, 50));
    }
    const said = async (re, what) => {
        const until = Date.now() + 60000 * SLOW;
        while (!re.test(err)) {
            if (Date.now() > until || p.exitCode !== null) throw new Error(`run-local.sh did not say ${what}: ${err}`);
            await new Promise((r) => setTimeout(r, 50));
        }
    };
    return { p, ports, runDir, exited, out: () => out, err: () => err, said };
}

/*
 * Last resort after a failed assertion: SIGTERM the script (which stops its
 * servers), then SIGKILL whatever is left of it and of them.
 */
async function cleanUp(local) {
    const kids = childrenOf(local.p.pid);
    if (local.p.exitCode === null && local.p.signalCode === null) {
        local.p.kill('SIGTERM');
        await Promise.race([local.exited, new Promise((r) => setTimeout(r, 15000 * SLOW))]);
        if (local.p.exitCode === null && local.p.signalCode === null) local.p.kill('SIGKILL');
    }
    for (const k of kids) {
        try { process.kill(k.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    fs.rmSync(local.runDir, { recursive: true, force: true });
}

async function stopped(local, kids) {
    for (const k of kids) assert.ok(gone(k.pid), `${k.cmd} (pid ${k.pid}) was stopped`);
    for (const port of Object.values(local.ports)) {
        assert.strictEqual(await httpStatus(`http://127.0.0.1:${port}/`), 0, `nothing listens on ${port} any more`);
    }
    fs.rmSync(local.runDir, { recursive: true, force: true });
}

test('run-local.sh runs the chat with no terminal and SIGTERM stops all of it', { timeout: 120000 * SLOW }, async () => {
    const local = await startLocal();
    let client;
    try {
        const port = local.ports.CHAT_HTTP_PORT;
        assert.match(local.out(), new RegExp(`^chat is running at http://localhost:${port} \\(Ctrl-C stops it\\)$`, 'm'));
        const kids = childrenOf(local.p.pid);
        assert.deepStrictEqual(kids.map((k) => k.cmd.split(' ')[0].split('/').pop()).sort(),
            ['chat-gateway', 'chat-send', 'lighttpd', 'redis-server'], 'the four servers run under the script');

        const page = await fetch(`http://127.0.0.1:${port}/`);
        assert.strictEqual(page.status, 200);
        assert.match(await page.text(), /<form/i, 'the UI is served');

        /* The page's direct path: the gateway's own port, the page's Origin,
         * for each name the page may be loaded by. */
        const gwPort = local.ports.CHAT_GATEWAY_PORT;
        for (const host of ['127.0.0.1', 'localhost']) {
            const cfg = await pageSocket(`http://${host}:${port}`);
            assert.deepStrictEqual(cfg.config, { websocket: `//{host}:${gwPort}/chatapp/websocket` });
            assert.strictEqual(cfg.url, `ws://${host}:${gwPort}/chatapp/websocket`);
            const direct = await connect(cfg.url.replace('localhost', '127.0.0.1'), { origin: cfg.origin });
            direct.close();
        }
        const { url, origin } = await pageSocket(`http://127.0.0.1:${port}`);
        client = await connect(url, { origin });
        const foreign = new ChatClient(url, { origin: `http://evil.example:${port}` });
        await assert.rejects(foreign.opened, /403/, 'the gateway refuses another Origin');
        /* The same-origin path through lighttpd, the page's fallback. */
        const tunnel = await connect(`ws://127.0.0.1:${port}/chatapp/websocket`, { origin });
        const m = okMessage(await postForm(`http://127.0.0.1:${port}/chatapp/send`, message({ content: 'run-local works' })));
        await client.until(() => client.has(m.id), 10000 * SLOW, 'the message over the direct WebSocket');
        await tunnel.until(() => tunnel.has(m.id), 10000 * SLOW, 'the message through lighttpd');
        tunnel.close();
        assert.ok(fs.existsSync(path.join(local.runDir, 'data', 'appendonlydir')), 'Redis keeps an AOF in the run folder');

        client.close();
        local.p.kill('SIGTERM');
        const { code } = await local.exited;
        assert.strictEqual(code, 0, `exit status after SIGTERM; stderr: ${local.err()}`);
        await stopped(local, kids);
    } finally {
        if (client) client.close();
        await cleanUp(local);
    }
});

/* POST until one is answered 200 (a restarted part may take a moment). */
async function sendEventually(port, content) {
    const until = Date.now() + 30000 * SLOW;
    for (;;) {
        const r = await postForm(`http://127.0.0.1:${port}/chatapp/send`, message({ content })).catch(() => null);
        if (r && r.status === 200) return okMessage(r);
        if (Date.now() > until) throw new Error(`no 200 for "${content}": ${r && r.status} ${r && r.body}`);
        await new Promise((res) => setTimeout(res, 200));
    }
}

test('run-local.sh starts a server that dies again, says so, and the chat goes on', { timeout: 180000 * SLOW }, async () => {
    const local = await startLocal();
    const clients = [];
    try {
        const port = local.ports.CHAT_HTTP_PORT;
        const { url, origin } = await pageSocket(`http://127.0.0.1:${port}`);
        const first = await sendEventually(port, 'before anything died');

        for (const part of ['redis-server', 'chat-gateway']) {
            const name = part === 'redis-server' ? 'redis' : part;
            const old = childrenOf(local.p.pid).find((k) => k.cmd.includes(part));
            assert.ok(old, `${part} runs`);
            process.kill(old.pid, 'SIGKILL');
            await local.said(new RegExp(`${name} \\(pid ${old.pid}\\) exited \\(status 137\\) after \\d+s; restarting it in 0\\.500s`),
                `that ${name} died and is restarted`);
            await local.said(new RegExp(`${name} is back \\(pid \\d+\\)`), `that ${name} is back`);
            const now = childrenOf(local.p.pid).find((k) => k.cmd.includes(part));
            assert.ok(now && now.pid !== old.pid, `a new ${part} runs`);
            assert.strictEqual(local.p.exitCode, null, 'the script runs on');

            /* A page reconnecting now gets everything, the old and the new. */
            const ws = await connect(url, { origin });
            clients.push(ws);
            const m = await sendEventually(port, `after ${part} came back`);
            await ws.until(() => ws.has(m.id), 10000 * SLOW, `live delivery after ${part} came back`);
            const page = await ws.request({ after_id: 0 });
            assert.ok(page.some((x) => x.id === first.id), `the history survives ${part} (AOF)`);
        }
        const kids = childrenOf(local.p.pid);
        assert.deepStrictEqual(kids.map((k) => k.cmd.split(' ')[0].split('/').pop()).sort(),
            ['chat-gateway', 'chat-send', 'lighttpd', 'redis-server'], 'the four servers run, once each');
        for (const c of clients) c.close();
        local.p.kill('SIGTERM');
        const { code } = await local.exited;
        assert.strictEqual(code, 0, `exit status after SIGTERM; stderr: ${local.err()}`);
        await stopped(local, kids);
    } finally {
        for (const c of clients) c.close();
        await cleanUp(local);
    }
});

test('run-local.sh stops and fails when a server cannot start', { timeout: 60000 * SLOW }, async () => {
    const ports = {};
    for (const k of ['CHAT_HTTP_PORT', 'CHAT_REDIS_PORT', 'CHAT_SEND_PORT', 'CHAT_SEND_HEALTH_PORT', 'CHAT_GATEWAY_PORT']) {
        ports[k] = String(await freePort());
    }
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-run-local-'));
    try {
        const p = spawn(SCRIPT, [BUILD_DIR], {
            detached: true, stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, ...ports, CHAT_RUN_DIR: runDir, LOG_LEVEL: 'chatty' },
        });
        let err = '';
        p.stderr.on('data', (d) => { err += d; });
        const code = await new Promise((resolve) => p.on('exit', resolve));
        assert.notStrictEqual(code, 0);
        assert.match(err, /chat-send exited while starting/);
        assert.match(err, /LOG_LEVEL/, 'with the end of its log, which names the bad value');
        for (const port of Object.values(ports)) {
            assert.strictEqual(await httpStatus(`http://127.0.0.1:${port}/`), 0, `nothing listens on ${port}`);
        }
    } finally {
        fs.rmSync(runDir, { recursive: true, force: true });
    }
});

/* This machine's first address that is not a loopback one, if any. */
function outsideAddress() {
    for (const list of Object.values(os.networkInterfaces())) {
        for (const a of list) if (a.family === 'IPv4' && !a.internal) return a.address;
    }
    return null;
}

test('run-local.sh with CHAT_HTTP_BIND=0.0.0.0: the gateway is reachable and admits the page wherever lighttpd is', { timeout: 120000 * SLOW }, async (t) => {
    const ip = outsideAddress();
    if (!ip) {
        t.skip('this machine has no address but the loopback');
        return;
    }
    const local = await startLocal({ CHAT_HTTP_BIND: '0.0.0.0' });
    try {
        const port = local.ports.CHAT_HTTP_PORT;
        const gwPort = local.ports.CHAT_GATEWAY_PORT;
        for (const host of [ip, '127.0.0.1']) {
            const pageUrl = `http://${host}:${port}`;
            assert.strictEqual((await fetch(`${pageUrl}/`)).status, 200, `the page from ${host}`);
            const { url, origin } = await pageSocket(pageUrl);
            assert.strictEqual(url, `ws://${host}:${gwPort}/chatapp/websocket`);
            const ws = await connect(url, { origin });
            const m = okMessage(await postForm(`${pageUrl}/chatapp/send`, message({ content: `bound to all, via ${host}` })));
            await ws.until(() => ws.has(m.id), 10000 * SLOW, `live delivery via ${host}`);
            ws.close();
        }
        local.p.kill('SIGTERM');
        assert.strictEqual((await local.exited).code, 0);
    } finally {
        await cleanUp(local);
    }
});

test('run-local.sh refuses to start when one of its ports is taken', { timeout: 30000 * SLOW }, async () => {
    const net = require('node:net');
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-run-local-'));
    try {
        const p = spawn(SCRIPT, [BUILD_DIR], {
            detached: true, stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, CHAT_RUN_DIR: runDir, CHAT_REDIS_PORT: String(blocker.address().port),
                CHAT_HTTP_PORT: String(await freePort()), CHAT_SEND_PORT: String(await freePort()),
                CHAT_SEND_HEALTH_PORT: String(await freePort()), CHAT_GATEWAY_PORT: String(await freePort()) },
        });
        let err = '';
        p.stderr.on('data', (d) => { err += d; });
        const code = await new Promise((resolve) => p.on('exit', resolve));
        assert.notStrictEqual(code, 0);
        assert.match(err, /already in use/);
    } finally {
        blocker.close();
        fs.rmSync(runDir, { recursive: true, force: true });
    }
});
