'use strict';
const test = require('node:test');
const assert = require('node:assert');
const wire = require('../dnswire');

test('an A query for a zone name is answered with every address, in order', () => {
    const q = wire.buildQuery(0x1234, 'Chat-Gateway.chat.test');
    const p = wire.parseQuery(q);
    assert.strictEqual(p.name, 'chat-gateway.chat.test');
    assert.strictEqual(p.type, wire.TYPE_A);
    const a = wire.parseAnswer(wire.answer(q, p, ['10.212.0.31', '10.212.0.32']));
    assert.deepStrictEqual(a, { id: 0x1234, rcode: wire.RCODE_OK, answers: ['10.212.0.31', '10.212.0.32'] });
});

test('AAAA for a zone name is an empty answer, not an error (so glibc does not wait)', () => {
    const q = wire.buildQuery(7, 'redis.chat.test', wire.TYPE_AAAA);
    const a = wire.parseAnswer(wire.answer(q, wire.parseQuery(q), ['10.212.0.10']));
    assert.deepStrictEqual(a, { id: 7, rcode: wire.RCODE_OK, answers: [] });
});

test('a name outside the zone is NXDOMAIN', () => {
    const q = wire.buildQuery(9, 'nowhere.chat.test');
    assert.strictEqual(wire.parseAnswer(wire.answer(q, wire.parseQuery(q), undefined)).rcode, wire.RCODE_NXDOMAIN);
});

test('the answer echoes the id, sets QR, AA and RA and keeps RD', () => {
    const q = wire.buildQuery(0xbeef, 'a.chat.test');
    const out = wire.answer(q, wire.parseQuery(q), ['1.2.3.4']);
    assert.strictEqual(out.readUInt16BE(0), 0xbeef);
    const flags = out.readUInt16BE(2);
    assert.ok(flags & 0x8000, 'QR');
    assert.ok(flags & 0x0400, 'AA');
    assert.ok(flags & 0x0100, 'RD kept');
    assert.ok(flags & 0x0080, 'RA');
});

test('bytes that are not one question are refused by the reader', () => {
    assert.strictEqual(wire.parseQuery(Buffer.alloc(5)), null, 'shorter than a header');
    const q = wire.buildQuery(1, 'a.chat.test');
    assert.strictEqual(wire.parseQuery(q.subarray(0, q.length - 1)), null, 'cut question');
    const two = Buffer.from(q);
    two.writeUInt16BE(2, 4);
    assert.strictEqual(wire.parseQuery(two), null, 'two questions');
    const resp = Buffer.from(q);
    resp.writeUInt16BE(0x8100, 2);
    assert.strictEqual(wire.parseQuery(resp), null, 'a response');
    const ptr = Buffer.from(q);
    ptr[12] = 0xc0;
    assert.strictEqual(wire.parseQuery(ptr), null, 'a compression pointer in the question');
    assert.ok(wire.formatError(Buffer.alloc(12)), 'a header gets a FORMERR');
    assert.strictEqual(wire.formatError(Buffer.alloc(11)), null, 'less than a header gets nothing');
});

test('a name of 255 bytes is read, 256 is refused', () => {
    const label = (n) => 'x'.repeat(n);
    /* on the wire: each label and its length byte, then a zero byte: 64 * 3 + 62 + 1 = 255 */
    const ok = [label(63), label(63), label(63), label(61)].join('.');
    assert.ok(wire.parseQuery(wire.buildQuery(1, ok)), '255');
    const over = [label(63), label(63), label(63), label(62)].join('.');
    assert.strictEqual(wire.parseQuery(wire.buildQuery(1, over)), null, '256');
});

test('a label of 63 bytes is read, 64 is refused', () => {
    assert.ok(wire.parseQuery(wire.buildQuery(1, `${'y'.repeat(63)}.test`)));
    assert.strictEqual(wire.parseQuery(wire.buildQuery(1, `${'y'.repeat(64)}.test`)), null);
});
