'use strict';
/*
 * tools/run-local.sh (what `./build.sh run` execs) started with no
 * terminal, in its own session, on free ports: it prints the URL once
 * everything is ready, the chat works through it (POST + WebSocket), SIGTERM
 * stops every process it started and it exits 0; when one of its servers
 * dies it stops the others and exits non-zero.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { freePort, ROOT, BUILD_DIR, OUT_DIR, httpStatus } = require('../lib/system');
const { connect, postForm, message } = require('../lib/client');
const { SLOW, okMessage } = require('../lib/expect');

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
async function startLocal() {
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
            ...process.env, ...ports, CHAT_RUN_DIR: runDir,
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
    return { p, ports, runDir, exited, out: () => out, err: () => err };
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
        client = await connect(`ws://127.0.0.1:${port}/chatapp/websocket`);
        const m = okMessage(await postForm(`http://127.0.0.1:${port}/chatapp/send`, message({ content: 'run-local works' })));
        await client.until(() => client.has(m.id), 10000 * SLOW, 'the message over the WebSocket');
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

test('run-local.sh stops the rest and fails when one of its servers dies', { timeout: 120000 * SLOW }, async () => {
    const local = await startLocal();
    try {
        const kids = childrenOf(local.p.pid);
        const gw = kids.find((k) => k.cmd.includes('chat-gateway'));
        assert.ok(gw, 'a gateway runs');
        process.kill(gw.pid, 'SIGKILL');
        const { code } = await local.exited;
        assert.notStrictEqual(code, 0, 'a dead server is a failure');
        assert.match(local.err(), /chat-gateway .*exited/);
        await stopped(local, kids);
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
