'use strict';
/*
 * The bed's name server, run on its own node: answers A queries for the
 * bed's names over UDP from a zone it is given, the way a cluster's DNS
 * answers for Services. Names outside the zone get NXDOMAIN, other types
 * an empty answer. Controlled through stdin (lines.js):
 *
 *   zone   { names: { "redis.chat.test": ["10.212.0.10"], ... } }  replace the zone
 *   set    { name, addrs }        one name (a Service whose endpoints moved)
 *   hang   { from: [addr, ...] }  read queries from these sources (all when
 *                                 absent) and never answer them: a resolver
 *                                 that has gone quiet
 *   answer {}                     answer everyone again
 *   stats  {}                     { bySource: { addr: { queries, answered, ignored } } }
 *
 *   node dns.js BIND_ADDR [PORT]
 */
const dgram = require('node:dgram');
const wire = require('./dnswire');
const { serve } = require('./lines');

const bind = process.argv[2] || '0.0.0.0';
const port = Number(process.argv[3] || 53);

let zone = new Map();
let hangAll = false;
let hangFrom = new Set();
const bySource = {};

function count(addr, what) {
    const s = bySource[addr] || (bySource[addr] = { queries: 0, answered: 0, ignored: 0 });
    s[what]++;
}

const sock = dgram.createSocket('udp4');
sock.on('message', (buf, rinfo) => {
    count(rinfo.address, 'queries');
    if (hangAll || hangFrom.has(rinfo.address)) {
        count(rinfo.address, 'ignored');
        return;
    }
    const q = wire.parseQuery(buf);
    const out = q ? wire.answer(buf, q, zone.get(q.name)) : wire.formatError(buf);
    if (!out) return;
    count(rinfo.address, 'answered');
    sock.send(out, rinfo.port, rinfo.address);
});
sock.on('error', (e) => {
    process.stderr.write(`dns: ${e.message}\n`);
    process.exit(1);
});

serve({
    zone({ names }) {
        zone = new Map(Object.entries(names).map(([k, v]) => [k.toLowerCase(), v]));
        return zone.size;
    },
    set({ name, addrs }) {
        zone.set(name.toLowerCase(), addrs);
    },
    hang({ from }) {
        if (from) hangFrom = new Set(from);
        else hangAll = true;
    },
    answer() {
        hangAll = false;
        hangFrom = new Set();
    },
    stats() {
        return { bySource };
    },
    ready() {
        return listening;
    },
});
const listening = new Promise((resolve) => sock.once('listening', () => resolve(sock.address())));
sock.bind(port, bind);
