'use strict';
/*
 * A minimal Redis (RESP2) client for tests that must see exactly what is in
 * Redis, byte for byte, without redis-cli's text formatting: bulk strings
 * come back as Buffers.
 *
 *   const r = await Resp.connect(port);
 *   await r.command('XRANGE', 'messages:history', '-', '+');
 *   await r.subscribe('messages', (payload) => ...);   // payload: Buffer
 *   r.close();
 *
 *   streamEntries(reply)  XRANGE reply -> [{ entry, m }] (m: Buffer)
 */
const net = require('node:net');

/* Parse one RESP value at buf[pos]; null when more bytes are needed. */
function parse(buf, pos) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return null;
    const type = String.fromCharCode(buf[pos]);
    const line = buf.toString('utf8', pos + 1, eol);
    const next = eol + 2;
    switch (type) {
    case '+': return { value: line, end: next };
    case '-': return { value: new Error(line), end: next };
    case ':': return { value: Number(line), end: next };
    case '$': {
        const n = Number(line);
        if (n < 0) return { value: null, end: next };
        if (buf.length < next + n + 2) return null;
        return { value: buf.subarray(next, next + n), end: next + n + 2 };
    }
    case '*': {
        const n = Number(line);
        if (n < 0) return { value: null, end: next };
        const items = [];
        let at = next;
        for (let i = 0; i < n; i++) {
            const r = parse(buf, at);
            if (!r) return null;
            items.push(r.value);
            at = r.end;
        }
        return { value: items, end: at };
    }
    default:
        throw new Error(`RESP: unexpected type byte ${JSON.stringify(type)}`);
    }
}

function encode(args) {
    const parts = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
        const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
        parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
    return Buffer.concat(parts);
}

class Resp {
    constructor(sock) {
        this.sock = sock;
        this.buf = Buffer.alloc(0);
        this.pending = [];
        this.onPush = null;
        sock.on('data', (d) => this.feed(d));
        sock.on('error', (e) => this.failAll(e));
        sock.on('close', () => this.failAll(new Error('redis connection closed')));
    }

    static connect(port, host = '127.0.0.1') {
        return new Promise((resolve, reject) => {
            const s = net.connect(port, host);
            s.once('connect', () => resolve(new Resp(s)));
            s.once('error', reject);
        });
    }

    feed(d) {
        this.buf = Buffer.concat([this.buf, d]);
        for (;;) {
            const r = parse(this.buf, 0);
            if (!r) return;
            this.buf = this.buf.subarray(r.end);
            this.deliver(r.value);
        }
    }

    deliver(v) {
        /* In subscribed mode published messages arrive unasked. */
        if (this.onPush && Array.isArray(v) && Buffer.isBuffer(v[0]) &&
            v[0].toString() === 'message') {
            this.onPush(v[2], v[1].toString());
            return;
        }
        const p = this.pending.shift();
        if (!p) return;
        if (v instanceof Error) p.reject(v);
        else p.resolve(v);
    }

    failAll(e) {
        for (const p of this.pending.splice(0)) p.reject(e);
    }

    command(...args) {
        return new Promise((resolve, reject) => {
            this.pending.push({ resolve, reject });
            this.sock.write(encode(args));
        });
    }

    /* Resolves once Redis confirmed the subscription. */
    subscribe(channel, onMessage) {
        this.onPush = onMessage;
        return this.command('SUBSCRIBE', channel);
    }

    close() {
        this.sock.destroy();
    }
}

/* An XRANGE reply as [{ entry: '<id>-0', fields: {name: Buffer} }]. */
function streamEntries(reply) {
    return reply.map(([entry, kv]) => {
        const fields = {};
        for (let i = 0; i + 1 < kv.length; i += 2) fields[kv[i].toString()] = kv[i + 1];
        return { entry: entry.toString(), fields };
    });
}

module.exports = { Resp, streamEntries };
