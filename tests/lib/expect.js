'use strict';
/*
 * Assertions the end-to-end tests share: what a message object and an
 * error answer must look like (PROTOCOL.md §1, §2), and the few steps every
 * scenario repeats.
 */
const assert = require('node:assert');
const { postForm } = require('./client');

/* Servers run ~20x slower under valgrind; stretch waits, not assertions. */
const SLOW = (process.env.CHAT_WRAPPER || '').trim() ? 10 : 1;

const MEMBERS = ['content', 'date', 'email', 'ephemeral', 'id', 'name', 'topic'];
const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/*
 * m has exactly the seven members with the right types; its date is
 * RFC 3339 UTC with milliseconds and within maxSkewMs of now.
 */
function assertMessageShape(m, maxSkewMs = 30000 * SLOW) {
    assert.ok(m && typeof m === 'object' && !Array.isArray(m), `not an object: ${JSON.stringify(m)}`);
    assert.deepStrictEqual(Object.keys(m).sort(), MEMBERS, 'exactly the protocol members');
    assert.ok(Number.isSafeInteger(m.id) && m.id >= 1, `id is a positive integer: ${m.id}`);
    for (const k of ['name', 'email', 'topic', 'content', 'date']) {
        assert.strictEqual(typeof m[k], 'string', `${k} is a string`);
    }
    assert.strictEqual(typeof m.ephemeral, 'boolean', 'ephemeral is a boolean');
    assert.match(m.date, RFC3339_MS, 'date is RFC 3339 UTC with milliseconds');
    const skew = Math.abs(Date.parse(m.date) - Date.now());
    assert.ok(skew <= maxSkewMs, `date ${m.date} is ${skew} ms from now`);
}

/* A 200 answer: JSON content type; returns the parsed message. */
function okMessage(r, what = 'send') {
    assert.strictEqual(r.status, 200, `${what}: status ${r.status}, body ${r.body}`);
    assert.match(r.headers.get('content-type') || '', /^application\/json/, `${what}: JSON content type`);
    const m = JSON.parse(r.body);
    assertMessageShape(m);
    return m;
}

/*
 * An error answer of PROTOCOL §2: the status, a JSON body with a
 * non-empty "error" sentence and, when given, the field at fault.
 */
function assertError(r, status, field, what = 'error') {
    assert.strictEqual(r.status, status, `${what}: status ${r.status}, body ${r.body}`);
    assert.match(r.headers.get('content-type') || '', /^application\/json/, `${what}: JSON content type`);
    const e = JSON.parse(r.body);
    assert.strictEqual(typeof e.error, 'string', `${what}: "error" is a string`);
    assert.ok(e.error.length > 0, `${what}: "error" says something`);
    assert.ok(!('id' in e), `${what}: no message in an error`);
    if (field === undefined) return e;
    if (field === null) assert.ok(!('field' in e), `${what}: no field named`);
    else assert.strictEqual(e.field, field, `${what}: field`);
    return e;
}

/* POST fields as FormData and expect a 200; returns the message. */
async function send(url, fields) {
    return okMessage(await postForm(url, fields), `send ${JSON.stringify(fields).slice(0, 80)}`);
}

/* The message texts of a client, id-ascending, duplicates kept. */
function idsOf(msgs) {
    return msgs.map((m) => m.id);
}

function assertAscending(ids, what) {
    for (let i = 1; i < ids.length; i++) {
        assert.ok(ids[i] > ids[i - 1], `${what}: ${ids[i - 1]} then ${ids[i]} at ${i}`);
    }
}

module.exports = {
    SLOW, MEMBERS, RFC3339_MS, assertMessageShape, okMessage, assertError, send,
    idsOf, assertAscending,
};
