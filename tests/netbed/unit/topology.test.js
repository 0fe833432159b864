'use strict';
const test = require('node:test');
const assert = require('node:assert');
const topo = require('../topology');
const { overlaps } = require('../net');

test('the shipped topology is valid: unique names, addresses, clocks; short link names', () => {
    assert.deepStrictEqual(topo.validate(), []);
});

test('validate names each problem', () => {
    const bad = [
        { name: 'a', host: 5, clockH: 1, services: [] },
        { name: 'a', host: 5, clockH: 1, services: [] },
        { name: 'averyveryverylong', host: 300, clockH: -1, services: [] },
    ];
    const p = topo.validate(bad).join('\n');
    for (const want of ['share the name a', 'share the address 5', 'share the clock offset 1', 'over 15 bytes', 'out of range', 'must not be negative']) {
        assert.match(p, new RegExp(want));
    }
});

test('the topology mirrors the manifest: 2 front ends, 2 send handlers, 3 gateways, a Redis, clients, a name server', () => {
    const count = (role) => topo.NODES.filter((n) => n.role === role).length;
    assert.deepStrictEqual([count('frontend'), count('send'), count('gateway'), count('redis'), count('dns')], [2, 2, 3, 1, 1]);
    assert.ok(count('client') >= 2);
});

test('the zone holds each node and one A record per member of a Service', () => {
    const z = topo.zone();
    assert.deepStrictEqual(z['chat-redis.chat.test'], ['10.212.0.10']);
    assert.deepStrictEqual(z['chat-gateway.chat.test'], ['10.212.0.31', '10.212.0.32', '10.212.0.33']);
    assert.deepStrictEqual(z['chat-gateway-2.chat.test'], ['10.212.0.32']);
    assert.deepStrictEqual(z['gw2.chat.test'], ['10.212.0.32']);
});

test('clock offsets are hours apart', () => {
    const hs = topo.NODES.map((n) => n.clockH).sort((a, b) => a - b);
    for (let i = 1; i < hs.length; i++) assert.ok(hs[i] - hs[i - 1] >= 1, `${hs[i - 1]} and ${hs[i]}`);
});

test('prefix overlap: /8 covers the bed, a neighbour /24 does not, one address inside does', () => {
    assert.ok(overlaps('10.0.0.0/8', '10.212.0.0/24'));
    assert.ok(!overlaps('10.99.0.0/24', '10.212.0.0/24'));
    assert.ok(overlaps('10.212.0.77', '10.212.0.0/24'));
    assert.ok(!overlaps('10.212.1.0/24', '10.212.0.0/24'));
});
