'use strict';
/*
 * Starts the real system for a test: redis-server on a free port in a
 * temporary folder, send handlers, gateways and lighttpd with conf/, each
 * on free ports. Waits on sockets and /readyz, never on fixed sleeps.
 * Everything started is killed by stop(), and by process exit as a last
 * resort.
 *
 *   const sys = await startSystem({ gateways: 2, sendHandlers: 1 });
 *   sys.httpUrl, sys.wsUrl, sys.sendUrl, sys.gateways[i].port, ...
 *   await sys.stop();
 *
 * With ha: { replicas: 2, sentinels: 3 } Redis is a primary with replicas
 * and Sentinels (issue 13), every node on its own port; the servers find
 * the primary through REDIS_SENTINELS, and sys.redisCli() talks to
 * whichever node is the primary now (sys.primary()).
 *
 * Environment:
 *   CHAT_BUILD_DIR   folder with chat-send and chat-gateway (build/asan)
 *   CHAT_OUT_DIR     where sanitizer reports and logs go (tests/out)
 *   CHAT_WRAPPER     command to run chat-send and chat-gateway under, e.g.
 *                    valgrind (redis-server and lighttpd are not ours to
 *                    check and run unwrapped)
 */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD_DIR = process.env.CHAT_BUILD_DIR || path.join(ROOT, 'build', 'asan');
const OUT_DIR = process.env.CHAT_OUT_DIR || path.join(ROOT, 'tests', 'out');
const WRAPPER = (process.env.CHAT_WRAPPER || '').split(' ').filter(Boolean);
const SLOW = WRAPPER.length ? 10 : 1; /* valgrind runs ~20x slower */

const live = new Set();
process.on('exit', () => {
    for (const p of live) {
        signal(p, 'SIGKILL');
        try { p.kill('SIGKILL'); } catch { /* already gone */ }
    }
});

function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}

/*
 * A port nobody listens on right now (the kernel picks it), and never one
 * this process handed out before: the kernel may offer a port again as
 * soon as the probe closes, before the server meant for it has bound it.
 */
const handedOut = new Set();
function probePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

async function freePort() {
    for (;;) {
        const port = await probePort();
        if (!handedOut.has(port)) {
            handedOut.add(port);
            return port;
        }
    }
}

function canConnect(port) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
    });
}

async function waitFor(what, test, timeoutMs = 10000 * SLOW) {
    const end = Date.now() + timeoutMs;
    for (;;) {
        if (await test()) return;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(25);
    }
}

/*
 * waitFor a server to come up, giving up as soon as it has exited: a
 * server refusing its configuration must not cost the whole timeout.
 */
async function waitForServer(what, proc, test) {
    await waitFor(what, async () => {
        if (proc.exit) throw new Error(`${what} exited (${JSON.stringify(proc.exit)}) before it was up`);
        return test();
    });
}

async function httpStatus(url) {
    try {
        const r = await fetch(url, { signal: AbortSignal.timeout(1000 * SLOW) });
        await r.arrayBuffer();
        return r.status;
    } catch {
        return 0;
    }
}

function sanitizerEnv() {
    fs.mkdirSync(OUT_DIR, { recursive: true });
    const log = path.join(OUT_DIR, 'asan');
    return {
        ASAN_OPTIONS: `log_path=${log}:detect_leaks=1:abort_on_error=0`,
        UBSAN_OPTIONS: `log_path=${log}:print_stacktrace=1:halt_on_error=1`,
    };
}

/*
 * Spawn a long-running server. Its stderr goes to OUT_DIR/<name>.log so a
 * failing test can show it.
 */
function launch(name, cmd, args, env, wrap = false, prefix = []) {
    const logPath = path.join(OUT_DIR, `${name}.log`);
    const log = fs.openSync(logPath, 'a');
    const full = [...prefix, ...(wrap ? WRAPPER : []), cmd, ...args];
    const proc = spawn(full[0], full.slice(1), {
        env: { ...process.env, ...sanitizerEnv(), ...env },
        stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    live.add(proc);
    proc.exited = new Promise((resolve) => proc.on('exit', (code, sig) => {
        live.delete(proc);
        proc.exit = { code, signal: sig };
        resolve(proc.exit);
    }));
    proc.logPath = logPath;
    proc.prefixed = prefix.length > 0;
    return proc;
}

/*
 * The pid to signal: a prefix such as `unshare --time` stays as the
 * parent, ignoring SIGTERM and SIGINT, so signals go to its one child.
 */
function targetPid(proc) {
    if (!proc.prefixed) return proc.pid;
    try {
        const kids = fs.readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8')
            .trim().split(/\s+/).filter(Boolean);
        return kids.length ? Number(kids[0]) : proc.pid;
    } catch {
        return proc.pid;
    }
}

/* Send sig to a launched server (to its child when it has a prefix). */
function signal(proc, sig) {
    try { process.kill(targetPid(proc), sig); } catch { /* already gone */ }
}

/* Send sig and wait for exit; SIGKILL after graceMs. */
async function kill(proc, sig = 'SIGTERM', graceMs = 5000 * SLOW) {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    signal(proc, sig);
    const t = setTimeout(() => { signal(proc, 'SIGKILL'); proc.kill('SIGKILL'); }, graceMs);
    await proc.exited;
    clearTimeout(t);
}

/*
 * The HA topology's settings, as the manifests ship them
 * (manifests/chatapp.yaml): a primary refuses writes unless a replica
 * acknowledged within 5 s, so an isolated one stops taking sends; a
 * sentinel calls a node down after 1.5 s of silence.
 */
const HA_MASTER = 'chat';
const HA_REDIS_ARGS = ['--min-replicas-to-write', '1', '--min-replicas-max-lag', '5'];
const HA_SENTINEL_SETTINGS = [
    'down-after-milliseconds NAME 1500', 'failover-timeout NAME 2500', 'parallel-syncs NAME 2',
];

class System {
    constructor(opts) {
        this.opts = opts;
        this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-test-'));
        this.redis = null;
        this.gateways = [];
        this.sendHandlers = [];
        this.lighttpd = null;
        this.tag = opts.tag || `t${process.pid}`;
    }

    redisCli(...args) {
        return this.redisCliAt(this.ha ? this.primary().port : this.redis.port, ...args);
    }

    redisCliAt(port, ...args) {
        /* A drill's whole history passes the default 1 MiB on a fast run. */
        return execFileSync('redis-cli', ['-p', String(port), ...args],
            { encoding: 'utf8', maxBuffer: 512 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
    }

    /* ---- the HA topology (opts.ha) ---- */

    /* The Redis node the sentinels name as primary now. */
    primary() {
        for (const s of this.ha.sentinels) {
            try {
                const out = this.redisCliAt(s.port, 'SENTINEL', 'get-master-addr-by-name', HA_MASTER).trim().split('\n');
                const node = this.ha.nodes.find((n) => String(n.port) === out[1]);
                if (node) return node;
            } catch { /* ask the next one */ }
        }
        throw new Error('no sentinel names a primary');
    }

    /* Every Redis node's ROLE, by port. */
    roles() {
        const out = {};
        for (const n of this.ha.nodes) {
            try { out[n.port] = this.redisCliAt(n.port, 'ROLE').split('\n')[0]; } catch { out[n.port] = 'down'; }
        }
        return out;
    }

    async startHaNode(n, replicaOf) {
        fs.mkdirSync(n.dir, { recursive: true });
        n.proc = launch(`${this.tag}-redis${n.index}`, 'redis-server', [
            '--port', String(n.port), '--bind', '127.0.0.1',
            '--dir', n.dir, '--appendonly', 'yes', '--save', '',
            '--protected-mode', 'no', '--daemonize', 'no',
            '--maxmemory', '256mb', '--maxmemory-policy', 'noeviction',
            ...HA_REDIS_ARGS, ...(replicaOf ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []),
        ], {});
        await waitFor(`redis ${n.index}`, async () => {
            try { return this.redisCliAt(n.port, 'PING').trim() === 'PONG'; } catch { return false; }
        });
    }

    async startSentinel(s) {
        fs.mkdirSync(s.dir, { recursive: true });
        const conf = path.join(s.dir, 'sentinel.conf');
        if (!fs.existsSync(conf)) {
            fs.writeFileSync(conf, [
                `port ${s.port}`, 'bind 127.0.0.1', `dir ${s.dir}`,
                `sentinel monitor ${HA_MASTER} 127.0.0.1 ${this.ha.nodes[0].port} 2`,
                ...HA_SENTINEL_SETTINGS.map((x) => `sentinel ${x.replace('NAME', HA_MASTER)}`), '',
            ].join('\n'));
        }
        s.proc = launch(`${this.tag}-sentinel${s.index}`, 'redis-sentinel', [conf], {});
        await waitFor(`sentinel ${s.index}`, async () => {
            try { return this.redisCliAt(s.port, 'PING').trim() === 'PONG'; } catch { return false; }
        });
    }

    async startHa() {
        const { replicas = 2, sentinels = 3 } = this.opts.ha;
        this.ha = { nodes: [], sentinels: [] };
        for (let i = 0; i <= replicas; i++) {
            this.ha.nodes.push({ index: i, port: await freePort(), dir: path.join(this.tmp, `redis${i}`) });
        }
        for (let i = 0; i < sentinels; i++) {
            this.ha.sentinels.push({ index: i, port: await freePort(), dir: path.join(this.tmp, `sentinel${i}`) });
        }
        this.redis = this.ha.nodes[0];
        await this.startHaNode(this.ha.nodes[0], null);
        for (const n of this.ha.nodes.slice(1)) await this.startHaNode(n, this.ha.nodes[0].port);
        await waitFor('replicas in sync', async () => {
            const info = this.redisCliAt(this.ha.nodes[0].port, 'INFO', 'replication');
            return (info.match(/state=online/g) || []).length === replicas;
        });
        for (const s of this.ha.sentinels) await this.startSentinel(s);
        /* Every sentinel has found the replicas and the other sentinels. */
        await waitFor('sentinels to know each other', async () => this.ha.sentinels.every((s) => {
            try {
                const m = this.redisCliAt(s.port, 'SENTINEL', 'master', HA_MASTER).split('\n');
                const field = (k) => Number(m[m.indexOf(k) + 1]);
                return field('num-slaves') === replicas && field('num-other-sentinels') === sentinels - 1;
            } catch { return false; }
        }), 30000 * SLOW);
    }

    sentinelList() {
        return this.ha.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
    }

    /*
     * A planned failover as README's HA section tells operators to do
     * it: writes paused on the primary (so it cannot acknowledge what a
     * replica about to follow the new one would then drop), then SENTINEL
     * FAILOVER; wait until the sentinels name the new primary and it
     * takes writes. Returns the old and the new primary.
     */
    async failover() {
        const old = this.primary();
        this.redisCliAt(old.port, 'CLIENT', 'PAUSE', '5000', 'WRITE');
        this.redisCliAt(this.ha.sentinels[0].port, 'SENTINEL', 'failover', HA_MASTER);
        await waitFor('the failover', async () => {
            try {
                const now = this.primary();
                return now !== old && this.redisCliAt(now.port, 'ROLE').startsWith('master');
            } catch { return false; }
        }, 30000 * SLOW);
        return { old, now: this.primary() };
    }

    /* Start (or restart, same port and data) redis-server with AOF on. */
    async startRedis() {
        if (!this.redis) this.redis = { port: await freePort(), dir: path.join(this.tmp, 'redis') };
        fs.mkdirSync(this.redis.dir, { recursive: true });
        this.redis.proc = launch(`${this.tag}-redis`, 'redis-server', [
            '--port', String(this.redis.port), '--bind', '127.0.0.1',
            '--dir', this.redis.dir, '--appendonly', 'yes', '--save', '',
            '--protected-mode', 'no', '--daemonize', 'no',
            /* As shipped (docker/redis.conf): full refuses, never evicts. */
            '--maxmemory', '256mb', '--maxmemory-policy', 'noeviction',
        ], {});
        await waitFor('redis', async () => {
            try { return this.redisCli('PING').trim() === 'PONG'; } catch { return false; }
        });
    }

    /*
     * Every running send handler and gateway answers /readyz with 200: what
     * a load balancer waits for before it sends traffic again (after a
     * Redis restart the servers reconnect on their own backoff).
     */
    async waitReady() {
        const urls = [
            ...this.sendHandlers.filter((h) => h.proc && h.proc.exitCode === null)
                .map((h) => `http://127.0.0.1:${h.healthPort}/readyz`),
            ...this.gateways.filter((g) => g.proc && g.proc.exitCode === null)
                .map((g) => `${g.httpUrl}/readyz`),
        ];
        for (const u of urls) await waitFor(u, async () => (await httpStatus(u)) === 200);
    }

    /*
     * lighttpd passes a send to a handler again: it keeps a backend it
     * could not reach disabled for a while (fastcgi "disable-time"), so
     * after a handler restart the first sends may get lighttpd's own 503.
     * An empty form is answered 400 by a handler, never stored.
     */
    async waitSendable() {
        await waitFor('lighttpd to reach a send handler', async () => {
            try {
                const r = await fetch(this.sendUrl, {
                    method: 'POST', body: '',
                    headers: { 'content-type': 'application/x-www-form-urlencoded' },
                });
                const body = await r.text();
                return r.status === 400 && body.startsWith('{"error"');
            } catch {
                return false;
            }
        });
    }

    async stopRedis(sig = 'SIGTERM') {
        await kill(this.redis.proc, sig);
    }

    commonEnv() {
        return {
            REDIS_HOST: '127.0.0.1',
            REDIS_PORT: String(this.redis.port),
            ...(this.ha ? { REDIS_SENTINELS: this.sentinelList(), REDIS_MASTER_NAME: HA_MASTER } : {}),
            LOG_LEVEL: process.env.LOG_LEVEL || 'info',
            ...this.opts.env,
        };
    }

    /* Start send handler i (reusing its ports when restarted). */
    async startSendHandler(i, env = {}) {
        let h = this.sendHandlers[i];
        if (!h) {
            h = { port: await freePort(), healthPort: await freePort() };
            if (this.opts.sendSocket) h.socket = path.join(this.tmp, `send${i}.sock`);
            this.sendHandlers[i] = h;
        }
        h.proc = launch(`${this.tag}-send${i}`, path.join(BUILD_DIR, 'chat-send'), [], {
            ...this.commonEnv(),
            SEND_BIND: '127.0.0.1',
            SEND_PORT: String(h.port),
            SEND_HEALTH_PORT: String(h.healthPort),
            ...(h.socket ? { SEND_SOCKET: h.socket } : {}),
            ...this.opts.sendEnv,
            ...env,
        }, true);
        await waitForServer(`send handler ${i}`, h.proc,
            async () => (h.socket ? fs.existsSync(h.socket) : canConnect(h.port)));
        if (this.opts.waitReady !== false) {
            await waitForServer(`send handler ${i} ready`, h.proc,
                async () => (await httpStatus(`http://127.0.0.1:${h.healthPort}/readyz`)) === 200);
        }
        return h;
    }

    async stopSendHandler(i, sig = 'SIGTERM') {
        await kill(this.sendHandlers[i].proc, sig);
    }

    /*
     * Start gateway i (reusing its port when restarted). prefix: a command
     * to run it under, e.g. ['unshare', '--time', ...] for its own clock.
     */
    async startGateway(i, env = {}, prefix = []) {
        let g = this.gateways[i];
        if (!g) {
            g = { port: await freePort() };
            g.url = `ws://127.0.0.1:${g.port}/chatapp/websocket`;
            g.httpUrl = `http://127.0.0.1:${g.port}`;
            this.gateways[i] = g;
        }
        g.proc = launch(`${this.tag}-gw${i}`, path.join(BUILD_DIR, 'chat-gateway'), [], {
            ...this.commonEnv(),
            GW_BIND: '127.0.0.1',
            GW_PORT: String(g.port),
            ...this.opts.gatewayEnv,
            ...env,
        }, true, prefix);
        await waitForServer(`gateway ${i}`, g.proc, () => canConnect(g.port));
        if (this.opts.waitReady !== false) {
            await waitForServer(`gateway ${i} ready`, g.proc,
                async () => (await httpStatus(`${g.httpUrl}/readyz`)) === 200);
        }
        return g;
    }

    async stopGateway(i, sig = 'SIGTERM') {
        await kill(this.gateways[i].proc, sig);
    }

    /* Start lighttpd (again, on its port); env adds to its environment. */
    async startLighttpd(env = {}) {
        if (!this.http) this.http = { port: await freePort() };
        const send = this.sendHandlers.map((h) => (h.socket ? `unix:${h.socket}` : `127.0.0.1:${h.port}`)).join(',');
        const gws = this.gateways.map((g) => `127.0.0.1:${g.port}`).join(',');
        this.lighttpd = launch(`${this.tag}-lighttpd`, 'lighttpd', [
            '-D', '-f', path.join(ROOT, 'conf', 'lighttpd.conf'),
        ], {
            CHAT_CONF_DIR: path.join(ROOT, 'conf'),
            CHAT_HTDOCS: this.opts.htdocs || path.join(ROOT, 'htdocs'),
            CHAT_HTTP_BIND: '127.0.0.1',
            CHAT_HTTP_PORT: String(this.http.port),
            CHAT_SEND_BACKENDS: send,
            CHAT_GATEWAY_BACKENDS: gws,
            ...env,
            ...this.opts.lighttpdEnv,
        });
        await waitFor('lighttpd', () => canConnect(this.http.port));
        this.httpUrl = `http://127.0.0.1:${this.http.port}`;
        this.sendUrl = `${this.httpUrl}/chatapp/send`;
        this.wsUrl = `ws://127.0.0.1:${this.http.port}/chatapp/websocket`;
    }

    async stop() {
        const all = [this.lighttpd,
            ...this.gateways.map((g) => g.proc),
            ...this.sendHandlers.map((h) => h.proc)];
        await Promise.all(all.map((p) => kill(p)));
        if (this.ha) {
            await Promise.all(this.ha.sentinels.map((x) => kill(x.proc)));
            await Promise.all(this.ha.nodes.map((n) => kill(n.proc)));
        } else if (this.redis) await kill(this.redis.proc);
        fs.rmSync(this.tmp, { recursive: true, force: true });
    }
}

/*
 * opts: gateways (default 1), sendHandlers (default 1), lighttpd (default
 * true), env (both servers), sendEnv, gatewayEnv, lighttpdEnv (CHAT_* of
 * conf/), htdocs, redis (default
 * true: false starts no Redis but still reserves its port), waitReady,
 * sendSocket (true: send handlers listen on Unix sockets, not TCP),
 * ha ({ replicas, sentinels }: Redis with replicas and Sentinel).
 */
async function startSystem(opts = {}) {
    const sys = new System(opts);
    try {
        if (opts.ha) {
            await sys.startHa();
        } else if (opts.redis === false) {
            sys.redis = { port: await freePort(), dir: path.join(sys.tmp, 'redis') };
        } else {
            await sys.startRedis();
        }
        for (let i = 0; i < (opts.sendHandlers ?? 1); i++) await sys.startSendHandler(i);
        for (let i = 0; i < (opts.gateways ?? 1); i++) await sys.startGateway(i);
        if (opts.lighttpd !== false) await sys.startLighttpd();
    } catch (e) {
        await sys.stop();
        throw e;
    }
    return sys;
}

module.exports = {
    HA_MASTER, HA_REDIS_ARGS, HA_SENTINEL_SETTINGS,
    startSystem, freePort, waitFor, sleep, httpStatus, signal, kill, ROOT, BUILD_DIR, OUT_DIR,
};
