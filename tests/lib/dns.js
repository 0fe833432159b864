'use strict';
/*
 * A tiny DNS responder owned by a test: A records for the names it is
 * given, NXDOMAIN for others, no data for other types. In "silent" mode it
 * reads every query and answers none: a resolver that never answers.
 *
 *   const dns = await DnsServer.open('127.53.0.1');   // port 53: root
 *   dns.set('redis.chat.test', '127.0.0.1');
 *   dns.silent = true;
 *   dns.queries                                        // queries read
 */
const dgram = require('node:dgram');

const TYPE_A = 1;
const CLASS_IN = 1;

/* The question's name (lower case) and where its type field starts. */
function question(msg) {
    const labels = [];
    let at = 12;
    while (at < msg.length && msg[at] !== 0) {
        const n = msg[at];
        if (n > 63 || at + 1 + n > msg.length) return null;
        labels.push(msg.toString('latin1', at + 1, at + 1 + n));
        at += 1 + n;
    }
    if (at + 5 > msg.length) return null;
    return { name: labels.join('.').toLowerCase(), typeAt: at + 1 };
}

function answer(msg, records) {
    const q = question(msg);
    if (!q) return null;
    const type = msg.readUInt16BE(q.typeAt);
    const end = q.typeAt + 4;
    const ip = records.get(q.name);
    const head = Buffer.alloc(12);
    msg.copy(head, 0, 0, 2);
    /* QR, RD copied, RA; rcode 3 (NXDOMAIN) for a name we do not know. */
    head.writeUInt16BE(0x8180 | (msg.readUInt16BE(2) & 0x0100) | (ip ? 0 : 3), 2);
    head.writeUInt16BE(1, 4);
    const parts = [head, msg.subarray(12, end)];
    if (ip && type === TYPE_A) {
        head.writeUInt16BE(1, 6);
        const rr = Buffer.alloc(16);
        rr.writeUInt16BE(0xc00c, 0);
        rr.writeUInt16BE(TYPE_A, 2);
        rr.writeUInt16BE(CLASS_IN, 4);
        rr.writeUInt32BE(1, 6);
        rr.writeUInt16BE(4, 10);
        ip.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
        parts.push(rr);
    }
    return Buffer.concat(parts);
}

class DnsServer {
    static open(address, port = 53) {
        const d = new DnsServer();
        return new Promise((resolve, reject) => {
            d.sock.once('error', reject);
            d.sock.bind(port, address, () => resolve(d));
        });
    }

    constructor() {
        this.records = new Map();
        this.silent = false;
        this.queries = 0;
        this.sock = dgram.createSocket('udp4');
        this.sock.on('message', (msg, from) => {
            this.queries++;
            if (this.silent || msg.length < 12) return;
            const reply = answer(msg, this.records);
            if (reply) this.sock.send(reply, from.port, from.address);
        });
    }

    set(name, ip) {
        this.records.set(name.toLowerCase(), ip);
    }

    close() {
        this.sock.close();
    }
}

module.exports = { DnsServer };
