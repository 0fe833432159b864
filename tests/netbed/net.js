'use strict';
/*
 * The kernel side of the bed: namespaces, the bridge, veth links, the
 * per-node resolver files, firewall chains and qdiscs, and the sweep that
 * removes whatever a run (this one or a dead one) left behind. Every call
 * is synchronous, so the same code serves a signal handler.
 *
 * Inside each node the filter table gets two chains, hooked first into
 * INPUT and OUTPUT: FAULT_CHAIN (partitions, isolation) and LOSS_CHAIN
 * (random drops). They live and die with the node's namespace, so the
 * host's own firewall is never touched.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const topo = require('./topology');

const NETNS_ETC = '/etc/netns';
const FAULT_CHAIN = `${topo.PREFIX}fault`;
const LOSS_CHAIN = `${topo.PREFIX}loss`;

function sh(cmd, args, opts = {}) {
    try {
        return execFileSync(cmd, args, {
            encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 256 << 20, ...opts,
        });
    } catch (e) {
        const why = (e.stderr || '').toString().trim() || e.message;
        const shown = args.map((a) => (a.length > 80 ? `${a.slice(0, 40)}...(${a.length} bytes)` : a));
        throw new Error(`${cmd} ${shown.join(' ')}: ${why.slice(0, 2000)}`);
    }
}

function nsName(node) {
    return topo.PREFIX + node;
}

function inNode(node, cmd, args, opts) {
    return sh('ip', ['netns', 'exec', nsName(node), cmd, ...args], opts);
}

/* ---- what exists ---- */

function bedNamespaces() {
    return sh('ip', ['netns', 'list']).split('\n')
        .map((l) => l.split(' ')[0]).filter((n) => n.startsWith(topo.PREFIX));
}

function bedEtcDirs() {
    if (!fs.existsSync(NETNS_ETC)) return [];
    return fs.readdirSync(NETNS_ETC).filter((d) => d.startsWith(topo.PREFIX))
        .map((d) => path.join(NETNS_ETC, d));
}

/* Links with the prefix in the machine's own namespace (none, normally). */
function bedHostLinks() {
    return sh('ip', ['-o', 'link', 'show']).split('\n')
        .map((l) => (/^\d+: ([^:@]+)/.exec(l) || [])[1])
        .filter((n) => n && n.startsWith(topo.PREFIX));
}

function pidsIn(ns) {
    try {
        return sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean).map(Number);
    } catch {
        return [];
    }
}

/* Everything with the bed's prefix that exists right now, as sentences. */
function leftovers() {
    const found = [];
    for (const ns of bedNamespaces()) {
        const pids = pidsIn(ns);
        found.push(`network namespace ${ns}${pids.length ? ` (processes ${pids.join(' ')})` : ''}`);
    }
    for (const d of bedEtcDirs()) found.push(`resolver folder ${d}`);
    for (const l of bedHostLinks()) found.push(`link ${l} in the host namespace`);
    return found;
}

/*
 * Remove everything with the prefix: SIGKILL every process inside a bed
 * namespace, delete the namespaces (their links, bridge, firewall rules
 * and qdiscs go with them), the /etc/netns folders and any stray host
 * link. Returns what is still there afterwards.
 */
function sweep() {
    const spaces = bedNamespaces();
    for (const ns of spaces) {
        for (const pid of pidsIn(ns)) {
            try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ }
        }
    }
    /* A killed process leaves its namespace only once it is reaped. */
    const end = Date.now() + 3000;
    while (spaces.some((ns) => pidsIn(ns).length) && Date.now() < end) {
        sh('sleep', ['0.05']);
    }
    for (const ns of spaces) {
        try { sh('ip', ['netns', 'del', ns]); } catch { /* reported below */ }
    }
    for (const l of bedHostLinks()) {
        try { sh('ip', ['link', 'del', l]); } catch { /* reported below */ }
    }
    for (const d of bedEtcDirs()) {
        try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* reported below */ }
    }
    try { fs.rmdirSync(NETNS_ETC); } catch { /* not empty, or not ours */ }
    return leftovers();
}

function ipToInt(ip) {
    return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/* Do two IPv4 prefixes ("a.b.c.d/n") share an address? */
function overlaps(a, b) {
    const [ipA, lenA = '32'] = a.split('/');
    const [ipB, lenB = '32'] = b.split('/');
    const len = Math.min(Number(lenA), Number(lenB));
    const block = 2 ** (32 - len);
    return Math.floor(ipToInt(ipA) / block) === Math.floor(ipToInt(ipB) / block);
}

/*
 * A route of this machine (any table, default routes aside) that reaches
 * into the bed's subnet, or null.
 */
function subnetClash() {
    const mine = `${topo.SUBNET}.0/${topo.PREFIX_LEN}`;
    const routes = sh('ip', ['-4', 'route', 'show', 'table', 'all']).split('\n');
    for (const r of routes) {
        const dest = r.split(/\s+/).find((t) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(t));
        if (dest && !r.startsWith('default') && overlaps(dest, mine)) return r;
    }
    return null;
}

/* ---- building ---- */

function makeSwitch() {
    sh('ip', ['netns', 'add', topo.SWITCH]);
    sh('ip', ['-n', topo.SWITCH, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', topo.SWITCH, 'link', 'add', topo.BRIDGE, 'type', 'bridge']);
    sh('ip', ['-n', topo.SWITCH, 'link', 'set', topo.BRIDGE, 'up']);
}

function resolverFiles(node) {
    const dir = path.join(NETNS_ETC, nsName(node.name));
    fs.mkdirSync(dir, { recursive: true });
    const ip = topo.address(node.host);
    fs.writeFileSync(path.join(dir, 'hosts'),
        `127.0.0.1 localhost\n::1 localhost ip6-localhost\n${ip} ${topo.fqdn(node.name)} ${node.name}\n`);
    /*
     * Every other name comes from the bed's name server. timeout:1
     * attempts:2 (glibc waits 5 s x 2 by default) keeps a hung lookup at
     * about 2 s: long enough to freeze a loop that waits for it, short
     * enough for the drills' time budget.
     */
    fs.writeFileSync(path.join(dir, 'resolv.conf'),
        `nameserver ${topo.address(topo.DNS_HOST)}\noptions timeout:1 attempts:2\n`);
}

function makeNode(node) {
    const ns = nsName(node.name);
    const link = nsName(node.name);
    resolverFiles(node);
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['-n', topo.SWITCH, 'link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['-n', topo.SWITCH, 'link', 'set', link, 'master', topo.BRIDGE, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${topo.address(node.host)}/${topo.PREFIX_LEN}`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    inNode(node.name, 'iptables-restore', ['--noflush'], {
        input: ['*filter', `:${FAULT_CHAIN} - [0:0]`, `:${LOSS_CHAIN} - [0:0]`,
            `-I INPUT 1 -j ${FAULT_CHAIN}`, `-I INPUT 1 -j ${LOSS_CHAIN}`,
            `-I OUTPUT 1 -j ${FAULT_CHAIN}`, `-I OUTPUT 1 -j ${LOSS_CHAIN}`,
            'COMMIT', ''].join('\n'),
    });
}

/* Remove one node: its processes, namespace (and so its link) and resolver folder. */
function removeNode(name) {
    const ns = nsName(name);
    for (const pid of pidsIn(ns)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ }
    }
    const end = Date.now() + 3000;
    while (pidsIn(ns).length && Date.now() < end) sh('sleep', ['0.05']);
    sh('ip', ['netns', 'del', ns]);
    fs.rmSync(path.join(NETNS_ETC, ns), { recursive: true, force: true });
}

/* ---- faults ---- */

function addRule(node, chain, spec) {
    inNode(node, 'iptables', ['-A', chain, ...spec]);
}

function delRule(node, chain, spec) {
    inNode(node, 'iptables', ['-D', chain, ...spec]);
}

function flushChain(node, chain) {
    inNode(node, 'iptables', ['-F', chain]);
}

/* Packets and bytes each rule of a chain has matched: [{ pkts, bytes, rule }]. */
function chainCounters(node, chain) {
    const out = inNode(node, 'iptables', ['-L', chain, '-v', '-n', '-x']);
    return out.split('\n').slice(2).filter((l) => l.trim()).map((l) => {
        const f = l.trim().split(/\s+/);
        return { pkts: Number(f[0]), bytes: Number(f[1]), rule: l.trim() };
    });
}

/* A token bucket on one direction of a link: ns '' is the switch side. */
function setRate(ns, dev, rateKbit) {
    const burst = Math.max(4, Math.ceil(rateKbit / 8 / 10)); /* ~100 ms of tokens, in KB */
    sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf',
        'rate', `${rateKbit}kbit`, 'burst', `${burst}kb`, 'latency', '200ms']);
}

function clearRate(ns, dev) {
    try {
        sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root']);
    } catch { /* none set */ }
}

function qdiscStats(ns, dev) {
    return sh('ip', ['netns', 'exec', ns, 'tc', '-s', 'qdisc', 'show', 'dev', dev]);
}

function setLink(node, up) {
    sh('ip', ['-n', topo.SWITCH, 'link', 'set', nsName(node), up ? 'up' : 'down']);
}

module.exports = {
    FAULT_CHAIN, LOSS_CHAIN, NETNS_ETC, sh, nsName, inNode, leftovers, sweep, subnetClash,
    makeSwitch, makeNode, removeNode, overlaps, addRule, delRule, flushChain, chainCounters, setRate, clearRate,
    qdiscStats, setLink, pidsIn,
};
