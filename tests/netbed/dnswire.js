'use strict';
/*
 * DNS messages (RFC 1035) as far as the bed's name server needs them: read
 * a query's id, flags and one question; write an answer of A records, an
 * empty answer (the name exists, not with that type) or NXDOMAIN. Pure:
 * Buffers in, Buffers out, no sockets.
 */

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const RCODE_OK = 0;
const RCODE_FORMERR = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;
const HEADER = 12;
const MAX_NAME = 255;

/*
 * Parse a query. Returns { id, rd, opcode, name, type, cls, questionEnd }
 * (name in lower case, without the final dot), or null when the bytes are
 * not a query with exactly one question that this reader understands.
 */
function parseQuery(buf) {
    if (!Buffer.isBuffer(buf) || buf.length < HEADER) return null;
    const id = buf.readUInt16BE(0);
    const flags = buf.readUInt16BE(2);
    if (flags & 0x8000) return null; /* a response, not a query */
    if (buf.readUInt16BE(4) !== 1) return null;
    const labels = [];
    let off = HEADER;
    let total = 0;
    for (;;) {
        if (off >= buf.length) return null;
        const len = buf[off++];
        if (len === 0) break;
        if (len > 63 || off + len > buf.length) return null; /* no pointers in a question */
        total += len + 1;
        if (total + 1 > MAX_NAME) return null; /* the final zero byte counts too */
        labels.push(buf.toString('latin1', off, off + len).toLowerCase());
        off += len;
    }
    if (off + 4 > buf.length) return null;
    return {
        id,
        rd: (flags >> 8) & 1,
        opcode: (flags >> 11) & 0xf,
        name: labels.join('.'),
        type: buf.readUInt16BE(off),
        cls: buf.readUInt16BE(off + 2),
        questionEnd: off + 4,
    };
}

function header(q, rcode, answers) {
    const h = Buffer.alloc(HEADER);
    h.writeUInt16BE(q.id, 0);
    /* QR, the query's opcode and RD, AA (we own the zone), RA. */
    h.writeUInt16BE(0x8000 | (q.opcode << 11) | 0x0400 | (q.rd << 8) | 0x0080 | rcode, 2);
    h.writeUInt16BE(1, 4);
    h.writeUInt16BE(answers, 6);
    return h;
}

function ipv4(addr) {
    const parts = addr.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
        throw new Error(`not an IPv4 address: ${addr}`);
    }
    return Buffer.from(parts);
}

/*
 * The answer to query q (from parseQuery), whose raw bytes are buf, given
 * the addresses the zone holds for q.name (undefined: the name is not in
 * the zone). ttl in seconds.
 */
function answer(buf, q, addrs, ttl = 0) {
    const question = buf.subarray(HEADER, q.questionEnd);
    if (q.opcode !== 0) return Buffer.concat([header(q, RCODE_NOTIMP, 0), question]);
    if (q.cls !== CLASS_IN) return Buffer.concat([header(q, RCODE_NOTIMP, 0), question]);
    if (addrs === undefined) return Buffer.concat([header(q, RCODE_NXDOMAIN, 0), question]);
    const list = q.type === TYPE_A ? addrs : [];
    const records = list.map((a) => {
        const rr = Buffer.alloc(12);
        rr.writeUInt16BE(0xc000 | HEADER, 0); /* pointer to the question's name */
        rr.writeUInt16BE(TYPE_A, 2);
        rr.writeUInt16BE(CLASS_IN, 4);
        rr.writeUInt32BE(ttl, 6);
        rr.writeUInt16BE(4, 10);
        return Buffer.concat([rr, ipv4(a)]);
    });
    return Buffer.concat([header(q, RCODE_OK, records.length), question, ...records]);
}

/* A FORMERR for bytes that carry at least a header, else null. */
function formatError(buf) {
    if (!Buffer.isBuffer(buf) || buf.length < HEADER) return null;
    const q = { id: buf.readUInt16BE(0), opcode: 0, rd: 0 };
    const h = header(q, RCODE_FORMERR, 0);
    h.writeUInt16BE(0, 4);
    return h;
}

/* A query for name and type: what a resolver would send (for tests). */
function buildQuery(id, name, type = TYPE_A) {
    const parts = name.split('.').filter(Boolean).map((l) => {
        const b = Buffer.from(l, 'latin1');
        return Buffer.concat([Buffer.from([b.length]), b]);
    });
    const h = Buffer.alloc(HEADER);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(0x0100, 2);
    h.writeUInt16BE(1, 4);
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(type, 0);
    tail.writeUInt16BE(CLASS_IN, 2);
    return Buffer.concat([h, ...parts, Buffer.from([0]), tail]);
}

/* Read an answer (for tests): { id, rcode, answers: ['a.b.c.d', ...] }. */
function parseAnswer(buf) {
    const q = parseQuery(Buffer.concat([buf.subarray(0, 2), Buffer.from([0, 0]), buf.subarray(4)]));
    if (!q) return null;
    const rcode = buf.readUInt16BE(2) & 0xf;
    const n = buf.readUInt16BE(6);
    const answers = [];
    let off = q.questionEnd;
    for (let i = 0; i < n; i++) {
        const rdlen = buf.readUInt16BE(off + 10);
        answers.push([...buf.subarray(off + 12, off + 12 + rdlen)].join('.'));
        off += 12 + rdlen;
    }
    return { id: q.id, rcode, answers };
}

module.exports = {
    TYPE_A, TYPE_AAAA, RCODE_OK, RCODE_NXDOMAIN, RCODE_NOTIMP, RCODE_FORMERR,
    parseQuery, answer, formatError, buildQuery, parseAnswer,
};
