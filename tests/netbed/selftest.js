'use strict';
/*
 * The bed checks its own instruments before any drill trusts them: each
 * node's clock runs at its own offset, the name server answers for the
 * Services, and each fault a drill may call does what it says (a
 * partition blocks, the hung resolver hangs, a stopped process stops
 * answering, a bandwidth cap slows a transfer). Packet loss is checked
 * where it is used (drill 5 counts the dropped packets).
 */
const fs = require('node:fs');
const topo = require('./topology');
const { sleep } = require('./bed');

/* Can `from` open a TCP connection to ip:port within timeoutS? */
async function tcpOpens(bed, from, ip, port, timeoutS = 1) {
    const r = await bed.exec(from, 'timeout', [String(timeoutS), 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port}`], 5000);
    return r.code === 0;
}

async function resolve(bed, from, name) {
    const t = Date.now();
    const r = await bed.exec(from, 'getent', ['ahostsv4', name], 10000);
    const addrs = [...new Set(r.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]))].sort();
    return { addrs, ms: Date.now() - t, code: r.code };
}

async function clocks(bed, v) {
    const host = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const wrong = [];
    for (const n of bed.nodes.values()) {
        const up = await bed.uptimeOn(n.name);
        if (Math.abs(up - host - n.clockH * 3600) > 10) wrong.push(`${n.name}: ${up} s, machine ${host} s`);
    }
    v.check(wrong.length === 0, `every node's boot clock runs at its own offset (hours ahead: ${[...bed.nodes.values()].map((n) => `${n.name}=${n.clockH}`).join(' ')})`, wrong.join('; '));
}

async function names(bed, v) {
    const redis = await resolve(bed, 'cl1', topo.fqdn('chat-redis'));
    v.check(redis.addrs.join() === bed.ip('redis'), `cl1 resolves chat-redis through the bed's name server (${redis.addrs})`);
    const gws = await resolve(bed, 'cl1', topo.fqdn('chat-gateway'));
    const want = bed.nodesWith('gateway').map((n) => bed.ip(n)).sort();
    v.check(gws.addrs.join() === want.join(), `chat-gateway has one address per gateway node (${gws.addrs})`);
    const none = await resolve(bed, 'cl1', topo.fqdn('no-such-part'));
    v.check(none.code !== 0 && none.ms < 1000, `a name outside the zone fails at once (${none.ms} ms)`);
}

async function partition(bed, v) {
    const ip = bed.ip('redis');
    const before = await tcpOpens(bed, 'cl1', ip, topo.PORTS.redis);
    bed.partition('cl1', 'redis');
    const during = await tcpOpens(bed, 'cl1', ip, topo.PORTS.redis);
    const other = await tcpOpens(bed, 'cl2', ip, topo.PORTS.redis);
    bed.heal('cl1', 'redis');
    const after = await tcpOpens(bed, 'cl1', ip, topo.PORTS.redis);
    v.check(before && !during && other && after,
        `a partition blocks exactly its pair, and heals (cl1->redis ${before}/${during}/${after}, cl2 ${other})`);
    bed.isolate('cl2');
    const iso = await tcpOpens(bed, 'cl2', ip, topo.PORTS.redis);
    bed.unisolate('cl2');
    v.check(!iso && (await tcpOpens(bed, 'cl2', ip, topo.PORTS.redis)), 'isolating a node cuts it off, and heals');
}

async function resolverHang(bed, v) {
    await bed.dnsHang(['cl1']);
    const hung = await resolve(bed, 'cl1', topo.fqdn('chat-redis'));
    const other = await resolve(bed, 'cl2', topo.fqdn('chat-redis'));
    await bed.dnsAnswer();
    const back = await resolve(bed, 'cl1', topo.fqdn('chat-redis'));
    const stats = await bed.dnsStats('cl1');
    v.check(hung.code !== 0 && hung.ms >= 1500 && other.code === 0 && back.code === 0 && stats.ignored > 0,
        `the hung resolver never answers cl1 (lookup gave up after ${hung.ms} ms, ${stats.ignored} queries ignored) and still answers cl2`);
}

async function stopCont(bed, v) {
    const gw = bed.nodesWith('gateway')[0];
    bed.signal(gw, 'SIGSTOP');
    const stopped = await bed.isReady(gw);
    bed.signal(gw, 'SIGCONT');
    await sleep(100);
    const resumed = await bed.isReady(gw);
    v.check(!stopped && resumed, `SIGSTOP freezes ${gw} (no /readyz answer) and SIGCONT thaws it`);
}

/* Fetch a 256 KiB value from Redis on cl1, in ms. */
async function fetchMs(bed) {
    const t = Date.now();
    const r = await bed.exec('cl1', 'redis-cli', ['-h', topo.fqdn('chat-redis'), 'GET', 'netbed:blob'], 20000);
    if (r.code !== 0 || r.stdout.length < 256 * 1024) throw new Error(`GET netbed:blob: ${r.stderr}`);
    return Date.now() - t;
}

async function bandwidth(bed, v) {
    bed.redisCliInput('x'.repeat(256 * 1024), 'SET', 'netbed:blob');
    const free = await fetchMs(bed);
    const kbit = 2048;
    bed.bandwidth('cl1', kbit);
    const capped = await fetchMs(bed);
    bed.clearBandwidth('cl1');
    bed.redisCli('DEL', 'netbed:blob');
    const expect = (256 * 8 * 1000) / kbit; /* ms at the cap */
    v.check(capped >= expect * 0.7 && free < expect * 0.5,
        `a ${kbit} kbit/s cap slows 256 KiB from ${free} ms to ${capped} ms (${Math.round(expect)} ms at the cap)`);
}

/* The extension path: a node added while the bed runs is built, named and reachable, and goes again. */
async function spareNode(bed, v) {
    const n = await bed.addNode({ name: 'spare', host: 200, role: 'spare', services: ['chat-spare'], clockH: 47 });
    const named = await resolve(bed, 'cl1', topo.fqdn('chat-spare'));
    const reaches = await tcpOpens(bed, n.name, bed.ip('redis'), topo.PORTS.redis);
    const up = await bed.uptimeOn(n.name);
    await bed.removeNode(n.name);
    const gone = await resolve(bed, 'cl1', topo.fqdn('chat-spare'));
    v.check(named.addrs.join() === topo.address(200) && reaches && up > 47 * 3600 && gone.code !== 0,
        `a node added at run time is named (${named.addrs}), reaches Redis, has its own clock, and is removed again`);
}

async function run(bed, v) {
    console.log('\n=== bed self-test');
    await clocks(bed, v);
    await names(bed, v);
    await partition(bed, v);
    await resolverHang(bed, v);
    await stopCont(bed, v);
    await bandwidth(bed, v);
    await spareNode(bed, v);
}

module.exports = { run, tcpOpens, resolve };
