'use strict';
/*
 * The bed's cluster, as data: which nodes exist, their addresses, the
 * names the name server gives them, their clocks, and what runs on each.
 * It mirrors manifests/chatapp.yaml (Services chat-frontend, chat-send,
 * chat-gateway, chat-redis) with more replicas where a drill needs them.
 *
 * A node:
 *   name     short name; its network namespace is PREFIX + name, and it
 *            answers to NAME.chat.test and its own hostname
 *   host     last octet of its address in SUBNET
 *   role     what the bed starts there: dns, redis, send, gateway,
 *            frontend, client (watchers: the page's WebSocket side),
 *            sender (the page's POSTs, apart so that their load never
 *            delays a watcher's clock); issue 13 adds Redis replicas and
 *            Sentinels
 *   services Service names (without the domain) whose A records include
 *            this node, e.g. chat-gateway and chat-gateway-1
 *   clockH   its CLOCK_MONOTONIC (and CLOCK_BOOTTIME) runs this many hours
 *            ahead of the machine's, as if it had booted that long ago;
 *            no two nodes share an offset
 *
 * Every name the bed makes starts with PREFIX (namespaces, links, the
 * bridge, /etc/netns entries), so a sweep can find what a dead run left.
 * SUBNET is routed nowhere on this machine (checked before a run): the
 * bridge lives in its own namespace, so nothing the bed does reaches the
 * host's interfaces, routes or firewall.
 */

const PREFIX = 'cnb-';
const SUBNET = '10.212.0';
const PREFIX_LEN = 24;
const DOMAIN = 'chat.test';
const SWITCH = `${PREFIX}sw`;
const BRIDGE = `${PREFIX}br0`;
const DNS_HOST = 53;

const NODES = [
    { name: 'dns', host: DNS_HOST, role: 'dns', services: [], clockH: 1 },
    { name: 'redis', host: 10, role: 'redis', services: ['chat-redis', 'chat-redis-0'], clockH: 29 },
    { name: 'send1', host: 21, role: 'send', services: ['chat-send', 'chat-send-1'], clockH: 3 },
    { name: 'send2', host: 22, role: 'send', services: ['chat-send', 'chat-send-2'], clockH: 17 },
    { name: 'gw1', host: 31, role: 'gateway', services: ['chat-gateway', 'chat-gateway-1'], clockH: 2 },
    { name: 'gw2', host: 32, role: 'gateway', services: ['chat-gateway', 'chat-gateway-2'], clockH: 9 },
    { name: 'gw3', host: 33, role: 'gateway', services: ['chat-gateway', 'chat-gateway-3'], clockH: 41 },
    { name: 'fe1', host: 41, role: 'frontend', services: ['chat-frontend', 'chat-frontend-1'], clockH: 13 },
    { name: 'fe2', host: 42, role: 'frontend', services: ['chat-frontend', 'chat-frontend-2'], clockH: 5 },
    { name: 'cl1', host: 101, role: 'client', services: [], clockH: 23 },
    { name: 'cl2', host: 102, role: 'client', services: [], clockH: 7 },
    { name: 'cl3', host: 103, role: 'client', services: [], clockH: 31 },
    { name: 'post1', host: 111, role: 'sender', services: [], clockH: 19 },
];

/* Ports inside every node (each node has its own, so they never clash). */
const PORTS = { redis: 6379, send: 9000, sendHealth: 9100, gateway: 7681, http: 8080, dns: 53 };

function address(host) {
    return `${SUBNET}.${host}`;
}

function fqdn(name) {
    return `${name}.${DOMAIN}`;
}

/* The zone the name server answers: each node's own name and its Services. */
function zone(nodes = NODES) {
    const names = {};
    for (const n of nodes) {
        const add = (label) => {
            const key = fqdn(label);
            (names[key] = names[key] || []).push(address(n.host));
        };
        add(n.name);
        for (const s of n.services) add(s);
    }
    return names;
}

/* A check of the table itself: unique names, hosts and clocks; short link names. */
function validate(nodes = NODES) {
    const problems = [];
    const seen = (key, what) => {
        const set = new Set();
        for (const n of nodes) {
            if (set.has(n[key])) problems.push(`two nodes share ${what} ${n[key]}`);
            set.add(n[key]);
        }
    };
    seen('name', 'the name');
    seen('host', 'the address');
    seen('clockH', 'the clock offset');
    for (const n of nodes) {
        if ((PREFIX + n.name).length > 15) problems.push(`${n.name}: link name over 15 bytes`);
        if (!/^[a-z][a-z0-9]*$/.test(n.name)) problems.push(`${n.name}: use a-z0-9 only`);
        if (!(n.host > 1 && n.host < 255)) problems.push(`${n.name}: host ${n.host} out of range`);
        if (!(n.clockH >= 0)) problems.push(`${n.name}: clock offset must not be negative`);
    }
    return problems;
}

module.exports = {
    PREFIX, SUBNET, PREFIX_LEN, DOMAIN, SWITCH, BRIDGE, DNS_HOST, NODES, PORTS,
    address, fqdn, zone, validate,
};
