'use strict';
/*
 * Store and publish messages the way the send handler does, by running
 * fcgi/publish.lua itself in Redis (pipelined EVALSHA), so gateway tests
 * need no chat-send. Also reads a gateway's /metrics.
 *
 *   const pub = await Publisher.open(sys.redis.port);
 *   const sent = await pub.publish(120);        // message objects, id order
 *   await pub.settled(sys.gateways[0]);         // the gateway has them all
 *   const m = await metrics(sys.gateways[0]);   // { name: number }
 */
const fs = require('node:fs');
const path = require('node:path');
const { Resp } = require('./resp');
const { ROOT } = require('./system');

const SCRIPT = fs.readFileSync(path.join(ROOT, 'fcgi', 'publish.lua'), 'utf8');

class Publisher {
    static async open(port) {
        const p = new Publisher();
        p.resp = await Resp.connect(port);
        p.sha = (await p.resp.command('SCRIPT', 'LOAD', SCRIPT)).toString();
        return p;
    }

    /* The message text without id, in protocol member order. */
    static body(content, ephemeral) {
        return JSON.stringify({
            name: 'Tester', email: 'tester@example.com', topic: 'tests',
            content, date: '2026-11-28T06:01:23.456Z', ephemeral,
        });
    }

    /*
     * Publish n messages at once (one pipeline). content(i) gives each
     * content. Resolves with the published objects in id order.
     */
    async publish(n, { ephemeral = false, content = (i) => `message ${i}` } = {}) {
        const replies = [];
        for (let i = 0; i < n; i++) {
            replies.push(this.resp.command('EVALSHA', this.sha, '2', 'messages:id',
                'messages:history', Publisher.body(content(i), ephemeral),
                ephemeral ? '0' : '1', '100000', 'messages'));
        }
        return (await Promise.all(replies)).map((b) => JSON.parse(b.toString()));
    }

    /*
     * Resolve once the gateway has taken in every message published so far
     * (its messages_in counter reaches messages:id). A client that connects
     * before that may get the tail as a live batch, and the wire cannot
     * tell a live batch from the answer to a request.
     */
    async settled(gateway, timeoutMs = 10000) {
        const want = Number((await this.resp.command('GET', 'messages:id')).toString());
        const end = Date.now() + timeoutMs;
        while ((await metrics(gateway)).chat_gw_messages_in_total < want) {
            if (Date.now() > end) throw new Error(`gateway took in fewer than ${want} messages`);
            await new Promise((r) => setTimeout(r, 20));
        }
    }

    close() {
        this.resp.close();
    }
}

/* A gateway's /metrics as { 'name{labels}': number }. */
async function metrics(gateway) {
    const r = await fetch(`${gateway.httpUrl}/metrics`);
    const out = {};
    for (const line of (await r.text()).split('\n')) {
        const m = /^([a-z_]+(?:\{[^}]*\})?) (-?\d+)$/.exec(line);
        if (m) out[m[1]] = Number(m[2]);
    }
    return out;
}

module.exports = { Publisher, metrics };
