'use strict';
/*
 * The multi-node test bed: a cluster of network namespaces on one bridge,
 * each node with its own address, resolver files, hostname and
 * CLOCK_MONOTONIC, running the real binaries; and the faults a drill
 * injects into it. The layout is topology.js; the kernel calls are net.js.
 *
 *   const bed = new Bed({ buildDir, outDir });
 *   await bed.up();                  refuse leftovers, build the net, name server
 *   await bed.startSystem();         Redis, send handlers, gateways, front ends, agents
 *   bed.partition('gw1', 'redis');   ... faults, see "faults" below
 *   await bed.reset();               heal everything, restart what died
 *   await bed.down();                stop and remove everything; returns leftovers
 *
 * A process on a node is started as
 *   ip netns exec cnb-NODE unshare --uts --time --monotonic S --boottime S
 *       sh -c 'hostname NODE && exec CMD...'
 * and every exec keeps the pid, so the pid the bed holds is the server's
 * own: SIGKILL, SIGSTOP and SIGCONT reach it directly.
 *
 * Adding a part (issue 13: Redis replicas, Sentinels) means nodes in
 * topology.js (or bed.addNode) with a new role, its start function given
 * to bed.registerRole (built on bed.startProcess; startRedis takes extra
 * arguments such as --replicaof), a readiness check in isReady, and, if
 * the primary moves, bed.primary for the instruments and bed.dnsSet for
 * the Service name.
 */
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const topo = require('./topology');
const net = require('./net');
const { Channel } = require('./lines');
const { storedMessages } = require('../lib/drill');

const ROOT = path.resolve(__dirname, '..', '..');
const HERE = __dirname;
const HOUR_S = 3600;

/*
 * Settings that make the servers fit the drills' time budget; each is a
 * documented variable (README, Configuration). A drill may override the
 * gateways' (bed.restartGateways).
 */
const GATEWAY_ENV = {
    GW_PING_INTERVAL_S: '2',
    GW_PING_TIMEOUT_S: '6',
    GW_PRESENCE_REFRESH_MS: '500',
    GW_PRESENCE_TTL_S: '2',
    GW_REDIS_PING_MS: '500',
    GW_REDIS_CONNECT_TIMEOUT_MS: '1000',
    GW_REDIS_BACKOFF_MIN_MS: '100',
    GW_REDIS_BACKOFF_MAX_MS: '1000',
    GW_SHUTDOWN_GRACE_MS: '300',
    GW_HISTORY_TIMEOUT_MS: '3000',
};
const SEND_ENV = {
    SEND_THREADS: '4',
    REDIS_TIMEOUT_MS: '1000',
    REDIS_CONNECT_TIMEOUT_MS: '500',
    SEND_IO_TIMEOUT_MS: '5000',
};

function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}

function run(cmd, args, timeoutMs = 5000) {
    return new Promise((resolve) => {
        execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
            resolve({ code: err ? (err.code ?? -1) : 0, stdout, stderr });
        });
    });
}

async function waitUntil(what, test, timeoutMs) {
    const end = Date.now() + timeoutMs;
    for (;;) {
        if (await test()) return;
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await sleep(50);
    }
}

/* Prometheus text to { name{labels}: number }. */
function parseMetrics(text) {
    const out = {};
    for (const line of text.split('\n')) {
        if (!line || line.startsWith('#')) continue;
        const i = line.lastIndexOf(' ');
        out[line.slice(0, i)] = Number(line.slice(i + 1));
    }
    return out;
}

class NodeProc {
    constructor(bed, node, name, child, logPath, restart) {
        this.bed = bed;
        this.node = node;
        this.name = name;
        this.child = child;
        this.pid = child.pid;
        this.logPath = logPath;
        this.restart = restart; /* async () => a fresh NodeProc for the same part */
        this.exit = null;
        this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
            this.exit = { code, signal };
            resolve(this.exit);
        }));
    }

    alive() {
        return this.exit === null;
    }

    signal(sig) {
        if (!this.alive()) return false;
        try {
            process.kill(this.pid, sig);
            return true;
        } catch {
            return false;
        }
    }

    /* Signal, wait for the exit, SIGKILL after graceMs. */
    async stop(sig = 'SIGTERM', graceMs = 5000) {
        if (!this.alive()) return this.exit;
        this.signal('SIGCONT'); /* a stopped process cannot act on SIGTERM */
        this.signal(sig);
        const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
        await this.exited;
        clearTimeout(t);
        return this.exit;
    }
}

class Bed {
    constructor({ buildDir, outDir, nodes = topo.NODES, gatewayEnv = {}, sendEnv = {} }) {
        this.buildDir = buildDir;
        this.outDir = outDir;
        this.logDir = path.join(outDir, 'netbed');
        this.nodes = new Map(nodes.map((n) => [n.name, { ...n }]));
        this.gatewayEnv = { ...GATEWAY_ENV, ...gatewayEnv };
        this.sendEnv = { ...SEND_ENV, ...sendEnv };
        this.procs = new Map(); /* part name -> NodeProc */
        this.rules = [];        /* { node, chain, spec } the faults added */
        this.rates = [];        /* { ns, dev } with a tbf */
        this.linksDown = new Set();
        this.dns = null;
        this.agents = new Map(); /* client node -> Channel */
        this.built = false;
        this.primary = null;    /* the Redis node instruments read; null: the first */
        this.starters = {
            redis: (n) => this.startRedis(n),
            send: (n) => this.startSend(n),
            gateway: (n) => this.startGateway(n),
            frontend: (n) => this.startFrontend(n),
            client: (n) => this.startAgent(n),
            sender: (n) => this.startAgent(n),
        };
        this.roleOrder = ['dns', 'redis', 'send', 'gateway', 'frontend', 'client', 'sender'];
    }

    node(name) {
        const n = this.nodes.get(name);
        if (!n) throw new Error(`no node ${name}`);
        return n;
    }

    ip(name) {
        return topo.address(this.node(name).host);
    }

    nodesWith(role) {
        return [...this.nodes.values()].filter((n) => n.role === role).map((n) => n.name);
    }

    /* ---------------------------------------------------------- building */

    /*
     * Remove what a dead run left, refuse when something stays, then
     * build the switch, every node and the name server.
     */
    async up() {
        const problems = topo.validate([...this.nodes.values()]);
        if (problems.length) throw new Error(`topology: ${problems.join('; ')}`);
        const clash = net.subnetClash();
        if (clash) throw new Error(`the bed's subnet ${topo.SUBNET}.0/${topo.PREFIX_LEN} is routed here already: ${clash}`);
        const before = net.leftovers();
        if (before.length) {
            console.log(`bed: removing what an earlier run left: ${before.join('; ')}`);
            const still = net.sweep();
            if (still.length) throw new Error(`refusing to start: cannot remove ${still.join('; ')}`);
        }
        fs.rmSync(this.logDir, { recursive: true, force: true });
        fs.mkdirSync(this.logDir, { recursive: true });
        this.built = true;
        net.makeSwitch();
        for (const n of this.nodes.values()) net.makeNode(n);
        await this.startDns();
    }

    /*
     * A node more, while the bed runs (a drill that needs a spare
     * machine, a replica): built like the others, its names in the zone.
     */
    async addNode(spec) {
        const n = { services: [], ...spec };
        const problems = topo.validate([...this.nodes.values(), n]);
        if (problems.length) throw new Error(`node ${n.name}: ${problems.join('; ')}`);
        this.nodes.set(n.name, n);
        net.makeNode(n);
        await this.dns.call('zone', { names: topo.zone([...this.nodes.values()]) });
        return n;
    }

    /* Stop whatever runs on node and remove it, its link and its names. */
    async removeNode(name) {
        for (const p of [...this.procs.values()].filter((x) => x.node === name)) {
            await p.stop('SIGKILL', 1000);
            this.procs.delete(p.name);
        }
        this.agents.delete(name);
        const ip = this.ip(name);
        this.rules = this.rules.filter((r) => {
            if (r.node === name) return false; /* goes with its namespace */
            if (r.spec[1] !== ip) return true;
            net.delRule(r.node, r.chain, r.spec);
            return false;
        });
        this.nodes.delete(name);
        net.removeNode(name);
        await this.dns.call('zone', { names: topo.zone([...this.nodes.values()]) });
    }

    /* ---------------------------------------------------------- processes */

    /* The argv that runs cmd on node with the node's clock and hostname. */
    wrap(nodeName, cmd, args) {
        const n = this.node(nodeName);
        const s = String(Math.round(n.clockH * HOUR_S));
        return ['ip', 'netns', 'exec', net.nsName(nodeName),
            'unshare', '--uts', '--time', '--monotonic', s, '--boottime', s,
            'sh', '-c', 'hostname "$0" && exec "$@"', nodeName, cmd, ...args];
    }

    /*
     * Start a long-running process on a node. Its stdout and stderr go to
     * tests/out/netbed/NODE.NAME.log unless pipe is set (then stdin and
     * stdout are pipes, for a Channel, and stderr goes to the log).
     * restart: how to start the part again (bed.reset uses it).
     */
    startProcess(nodeName, name, cmd, args, { env = {}, pipe = false, restart = null } = {}) {
        const logPath = path.join(this.logDir, `${nodeName}.${name}.log`);
        const log = fs.openSync(logPath, 'a');
        const argv = this.wrap(nodeName, cmd, args);
        const child = spawn(argv[0], argv.slice(1), {
            env: { ...process.env, ...sanitizerEnv(this.outDir), ...env },
            stdio: pipe ? ['pipe', 'pipe', log] : ['ignore', log, log],
        });
        fs.closeSync(log);
        const p = new NodeProc(this, nodeName, name, child, logPath, restart);
        this.procs.set(name, p);
        return p;
    }

    proc(name) {
        const p = this.procs.get(name);
        if (!p) throw new Error(`no process ${name}`);
        return p;
    }

    /* A short command on a node (its network, the machine's clock). */
    exec(nodeName, cmd, args, timeoutMs = 5000) {
        return run('ip', ['netns', 'exec', net.nsName(nodeName), cmd, ...args], timeoutMs);
    }

    async httpStatus(nodeName, url, timeoutMs = 1000) {
        const r = await this.exec(nodeName, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}',
            '--max-time', String(timeoutMs / 1000), url], timeoutMs + 1000);
        return Number(r.stdout) || 0;
    }

    async metrics(part) {
        const p = this.proc(part);
        const port = p.name.startsWith('send') ? topo.PORTS.sendHealth : topo.PORTS.gateway;
        const r = await this.exec(p.node, 'curl', ['-s', '--max-time', '2', `http://127.0.0.1:${port}/metrics`]);
        return parseMetrics(r.stdout);
    }

    /*
     * redis-cli against the Redis on node (synchronous, on that node's
     * loopback, so no fault in the bed's network can cut it).
     */
    redisCliOn(node, ...args) {
        return net.inNode(node, 'redis-cli', ['-h', '127.0.0.1', '-p', String(topo.PORTS.redis), ...args]);
    }

    /* The same against the primary (this.primary: the first Redis node unless a drill moved it). */
    redisCli(...args) {
        return this.redisCliOn(this.primaryNode(), ...args);
    }

    /* redis-cli -x: the last argument comes from input (too big for argv). */
    redisCliInput(input, ...args) {
        return net.inNode(this.primaryNode(), 'redis-cli', ['-h', '127.0.0.1', '-x', ...args], { input });
    }

    primaryNode() {
        return this.primary || this.nodesWith('redis')[0];
    }

    /* Every stored message (tests/lib/drill.js reads the stream). */
    stored() {
        return storedMessages({ redisCli: (...a) => this.redisCli(...a) });
    }

    lastId() {
        return Number(this.redisCli('GET', 'messages:id').trim()) || 0;
    }

    /* ---------------------------------------------------------- parts */

    async startDns() {
        const node = this.nodesWith('dns')[0];
        const p = this.startProcess(node, 'dns', process.execPath, [path.join(HERE, 'dns.js'), '0.0.0.0', String(topo.PORTS.dns)],
            { pipe: true, restart: () => this.startDns() });
        this.dns = new Channel(p.child, 'dns');
        await this.dns.call('zone', { names: topo.zone([...this.nodes.values()]) });
        await this.dns.call('ready');
        return p;
    }

    /*
     * redis-server on node with AOF in tests/out/netbed/NODE.redis-data;
     * args go after the bed's own, e.g. ['--replicaof', topo.fqdn('redis'),
     * '6379'] for a replica. A restart reuses the data and the args.
     */
    async startRedis(node, args = []) {
        const dir = path.join(this.logDir, `${node}.redis-data`);
        fs.mkdirSync(dir, { recursive: true });
        const p = this.startProcess(node, node, 'redis-server', [
            '--bind', '0.0.0.0', '--port', String(topo.PORTS.redis), '--protected-mode', 'no',
            '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no', ...args],
        { restart: () => this.startRedis(node, args) });
        await waitUntil(`redis on ${node}`, async () => {
            const r = await this.exec(node, 'redis-cli', ['-h', '127.0.0.1', 'PING'], 1000);
            return r.stdout.trim() === 'PONG';
        }, 10000);
        return p;
    }

    async startSend(node, env = {}) {
        const p = this.startProcess(node, node, path.join(this.buildDir, 'chat-send'), [], {
            env: {
                SEND_BIND: '0.0.0.0', SEND_PORT: String(topo.PORTS.send),
                SEND_HEALTH_PORT: String(topo.PORTS.sendHealth),
                REDIS_HOST: topo.fqdn('chat-redis'), REDIS_PORT: String(topo.PORTS.redis),
                ...this.sendEnv, ...env,
            },
            restart: () => this.startSend(node, env),
        });
        await this.waitReady(node);
        return p;
    }

    async startGateway(node, env = {}) {
        const p = this.startProcess(node, node, path.join(this.buildDir, 'chat-gateway'), [], {
            env: {
                GW_BIND: '0.0.0.0', GW_PORT: String(topo.PORTS.gateway), GW_ID: node,
                REDIS_HOST: topo.fqdn('chat-redis'), REDIS_PORT: String(topo.PORTS.redis),
                ...this.gatewayEnv, ...env,
            },
            restart: () => this.startGateway(node, env),
        });
        await this.waitReady(node);
        return p;
    }

    async startFrontend(node) {
        const list = (role, port) => this.nodesWith(role)
            .map((n) => `${topo.fqdn(this.node(n).services.find((s) => /-\d+$/.test(s)))}:${port}`).join(',');
        const p = this.startProcess(node, node, 'lighttpd', ['-D', '-f', path.join(ROOT, 'conf', 'lighttpd.conf')], {
            env: {
                CHAT_CONF_DIR: path.join(ROOT, 'conf'),
                CHAT_HTDOCS: path.join(ROOT, 'htdocs'),
                CHAT_HTTP_BIND: '0.0.0.0',
                CHAT_HTTP_PORT: String(topo.PORTS.http),
                CHAT_SEND_BACKENDS: list('send', topo.PORTS.send),
                CHAT_GATEWAY_BACKENDS: list('gateway', topo.PORTS.gateway),
            },
            restart: () => this.startFrontend(node),
        });
        await this.waitReady(node);
        return p;
    }

    async startAgent(node) {
        const name = `agent-${node}`;
        const p = this.startProcess(node, name, process.execPath, [path.join(HERE, 'agent.js'), node],
            { pipe: true, restart: () => this.startAgent(node) });
        const ch = new Channel(p.child, name);
        await ch.call('ready');
        this.agents.set(node, ch);
        return p;
    }

    /* Is the part on node ready for traffic (its /readyz, or its port)? */
    async isReady(node) {
        const role = this.node(node).role;
        if (role === 'send') return (await this.httpStatus(node, `http://127.0.0.1:${topo.PORTS.sendHealth}/readyz`)) === 200;
        if (role === 'gateway') return (await this.httpStatus(node, `http://127.0.0.1:${topo.PORTS.gateway}/readyz`)) === 200;
        if (role === 'frontend') return (await this.httpStatus(node, `http://127.0.0.1:${topo.PORTS.http}/`)) === 200;
        return true;
    }

    async waitReady(node, timeoutMs = 15000) {
        await waitUntil(`${node} ready`, async () => {
            const p = this.procs.get(node);
            if (p && !p.alive()) throw new Error(`${node} exited ${JSON.stringify(p.exit)} (see ${p.logPath})`);
            return this.isReady(node);
        }, timeoutMs);
    }

    /*
     * What starts on a node of each role, and the order roles start in
     * (a later role may need an earlier one: gateways need Redis). A new
     * part (a Redis replica, a Sentinel) registers its role here with
     * bed.registerRole(role, start, { after }).
     */
    registerRole(role, start, { after = 'frontend' } = {}) {
        this.starters[role] = start;
        const i = this.roleOrder.indexOf(after);
        this.roleOrder.splice(i < 0 ? this.roleOrder.length : i + 1, 0, role);
    }

    async startRole(role) {
        const start = this.starters[role];
        if (!start) throw new Error(`no starter for role ${role}`);
        await Promise.all(this.nodesWith(role).map((n) => start(n)));
    }

    /* Every part, role by role in roleOrder (the nodes of one role together). */
    async startSystem() {
        for (const role of this.roleOrder) {
            if (role !== 'dns') await this.startRole(role);
        }
    }

    /* Restart every gateway with these settings on top of the bed's. */
    async restartGateways(env = {}) {
        await Promise.all(this.nodesWith('gateway').map(async (n) => {
            const p = this.procs.get(n);
            if (p) await p.stop('SIGTERM', 3000);
            await this.startGateway(n, env);
        }));
    }

    agent(node) {
        const a = this.agents.get(node);
        if (!a) throw new Error(`no agent on ${node}`);
        return a;
    }

    /* ---------------------------------------------------------- faults */

    addFault(node, spec) {
        net.addRule(node, net.FAULT_CHAIN, spec);
        this.rules.push({ node, chain: net.FAULT_CHAIN, spec });
    }

    /* Drop every packet between a and b, both ways (a pair of firewalls). */
    partition(a, b) {
        this.addFault(a, ['-s', this.ip(b), '-j', 'DROP']);
        this.addFault(a, ['-d', this.ip(b), '-j', 'DROP']);
        this.addFault(b, ['-s', this.ip(a), '-j', 'DROP']);
        this.addFault(b, ['-d', this.ip(a), '-j', 'DROP']);
    }

    /* Drop packets from a to b only: b's answers still reach a. */
    dropOneWay(from, to) {
        this.addFault(from, ['-d', this.ip(to), '-j', 'DROP']);
    }

    /* Remove every fault rule between a and b (either direction). */
    heal(a, b) {
        const ipA = this.ip(a);
        const ipB = this.ip(b);
        this.rules = this.rules.filter((r) => {
            const peer = r.spec[1];
            const hit = (r.node === a && peer === ipB) || (r.node === b && peer === ipA);
            if (hit) net.delRule(r.node, r.chain, r.spec);
            return !hit;
        });
    }

    /* Cut a node off from every other node (its loopback keeps working). */
    isolate(node) {
        this.addFault(node, ['-i', 'eth0', '-j', 'DROP']);
        this.addFault(node, ['-o', 'eth0', '-j', 'DROP']);
    }

    /* Cut a node off from the listed nodes only. */
    isolateFrom(node, others) {
        for (const o of others) this.partition(node, o);
    }

    unisolate(node) {
        this.rules = this.rules.filter((r) => {
            const hit = r.node === node && r.spec[0] !== '-s' && r.spec[0] !== '-d';
            if (hit) net.delRule(r.node, r.chain, r.spec);
            return !hit;
        });
    }

    /* Drop this fraction of the packets entering and leaving node's link. */
    loss(node, probability) {
        const p = String(probability);
        net.addRule(node, net.LOSS_CHAIN, ['-i', 'eth0', '-m', 'statistic', '--mode', 'random', '--probability', p, '-j', 'DROP']);
        net.addRule(node, net.LOSS_CHAIN, ['-o', 'eth0', '-m', 'statistic', '--mode', 'random', '--probability', p, '-j', 'DROP']);
    }

    /* Packets the loss rules of node dropped so far. */
    lossDropped(node) {
        return net.chainCounters(node, net.LOSS_CHAIN).reduce((s, r) => s + r.pkts, 0);
    }

    clearLoss(node) {
        net.flushChain(node, net.LOSS_CHAIN);
    }

    /* Cap node's link at rateKbit each way (tbf on both ends of its veth). */
    bandwidth(node, rateKbit) {
        const ends = [{ ns: net.nsName(node), dev: 'eth0' }, { ns: topo.SWITCH, dev: net.nsName(node) }];
        for (const e of ends) {
            net.setRate(e.ns, e.dev, rateKbit);
            if (!this.rates.some((r) => r.ns === e.ns && r.dev === e.dev)) this.rates.push(e);
        }
    }

    clearBandwidth(node) {
        this.rates = this.rates.filter((e) => {
            const hit = e.ns === net.nsName(node) || e.dev === net.nsName(node);
            if (hit) net.clearRate(e.ns, e.dev);
            return !hit;
        });
    }

    /* Pull node's cable: its link goes down on the switch. */
    unplug(node) {
        net.setLink(node, false);
        this.linksDown.add(node);
    }

    plug(node) {
        net.setLink(node, true);
        this.linksDown.delete(node);
    }

    /* SIGKILL, SIGSTOP, SIGCONT, SIGTERM... to a part's process. */
    signal(part, sig) {
        if (!this.proc(part).signal(sig)) throw new Error(`${part} is not running`);
    }

    /* The name server stops answering queries from these nodes (all: none given). */
    async dnsHang(nodes) {
        await this.dns.call('hang', nodes ? { from: nodes.map((n) => this.ip(n)) } : {});
    }

    async dnsAnswer() {
        await this.dns.call('answer');
    }

    async dnsStats(node) {
        const s = await this.dns.call('stats');
        return s.bySource[this.ip(node)] || { queries: 0, answered: 0, ignored: 0 };
    }

    /* Point a name at other addresses (a Service whose endpoints changed). */
    async dnsSet(name, nodes) {
        await this.dns.call('set', { name: topo.fqdn(name), addrs: nodes.map((n) => this.ip(n)) });
    }

    /*
     * Give node another clock offset; processes started on it from now on
     * (a restart: a machine that rebooted) read it. A running process
     * keeps the clock it started with: a time namespace's offsets are
     * fixed once a process has entered it.
     */
    setClock(node, hours) {
        this.node(node).clockH = hours;
    }

    /* What CLOCK_BOOTTIME reads on node (/proc/uptime honours the offset). */
    async uptimeOn(node) {
        const argv = this.wrap(node, 'cat', ['/proc/uptime']);
        const r = await run(argv[0], argv.slice(1));
        return Number(r.stdout.split(' ')[0]);
    }

    /* ---------------------------------------------------------- reset and teardown */

    /* Undo every fault and bring every part back, ready. */
    async reset() {
        for (const r of this.rules.splice(0)) net.delRule(r.node, r.chain, r.spec);
        for (const n of this.nodes.keys()) net.flushChain(n, net.LOSS_CHAIN);
        for (const e of this.rates.splice(0)) net.clearRate(e.ns, e.dev);
        for (const n of [...this.linksDown]) this.plug(n);
        for (const p of this.procs.values()) p.signal('SIGCONT');
        if (this.dns && this.procs.get('dns').alive()) await this.dnsAnswer();
        const dead = [...this.procs.values()].filter((p) => !p.alive() && p.restart);
        const roleOf = (p) => (p.name === 'dns' ? 'dns' : this.node(p.node).role);
        for (const role of this.roleOrder) {
            await Promise.all(dead.filter((p) => roleOf(p) === role).map((p) => p.restart()));
        }
        for (const n of this.nodes.keys()) await this.waitReady(n);
        await Promise.all([...this.agents.values()].map((a) => a.call('reset')));
    }

    /*
     * Stop every part (SIGTERM first, so sanitizers can report), then
     * sweep. Returns whatever could not be removed.
     */
    async down() {
        if (!this.built) return net.leftovers();
        for (const a of this.agents.values()) a.child.stdin.end();
        await Promise.all([...this.procs.values()].map((p) => p.stop('SIGTERM', 3000)));
        this.built = false;
        return net.sweep();
    }

    /* For a signal handler: SIGKILL everything, sweep, synchronously. */
    downSync() {
        if (!this.built) return net.leftovers();
        for (const p of this.procs.values()) p.signal('SIGKILL');
        this.built = false;
        return net.sweep();
    }
}

/* Sanitizer reports go to OUT_DIR/asan.*, where run.sh looks for them. */
function sanitizerEnv(outDir) {
    const log = path.join(outDir, 'asan');
    return {
        ASAN_OPTIONS: `log_path=${log}:detect_leaks=1:abort_on_error=0`,
        UBSAN_OPTIONS: `log_path=${log}:print_stacktrace=1:halt_on_error=1`,
    };
}

module.exports = { Bed, GATEWAY_ENV, SEND_ENV, parseMetrics, sleep, waitUntil };
