'use strict';
/*
 * A TCP relay on 127.0.0.1 in front of Redis, for cutting a send handler's
 * link at an exact point of the publish step: the test's own process, so
 * the cut is the test's to time.
 *
 *   const relay = await RedisRelay.start(redisPort);
 *   relay.arm('after-reply');     next EVALSHA reaches Redis, Redis runs it,
 *                                 its reply is swallowed and both sides cut
 *   relay.arm('before-forward');  next EVALSHA is swallowed and both cut
 *   relay.cuts                    how many links were cut
 *   relay.close();
 *
 * Everything else passes through untouched, in both directions.
 */
const net = require('node:net');

class RedisRelay {
    constructor(server, target) {
        this.server = server;
        this.target = target;
        this.port = server.address().port;
        this.mode = null;
        this.cuts = 0;
        this.links = new Set();
    }

    static start(targetPort) {
        return new Promise((resolve, reject) => {
            const server = net.createServer();
            let relay;
            server.on('connection', (c) => relay.link(c));
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => {
                relay = new RedisRelay(server, targetPort);
                resolve(relay);
            });
        });
    }

    arm(mode) {
        this.mode = mode;
    }

    link(client) {
        const upstream = net.connect(this.target, '127.0.0.1');
        const link = { client, upstream, awaitingReply: false };
        this.links.add(link);
        const cut = () => {
            this.cuts++;
            this.drop(link);
        };
        client.on('data', (d) => {
            if (this.mode && d.includes('EVALSHA')) {
                const mode = this.mode;
                this.mode = null;
                if (mode === 'before-forward') return cut();
                link.awaitingReply = true;
            }
            upstream.write(d);
        });
        upstream.on('data', (d) => {
            if (link.awaitingReply) return cut();
            client.write(d);
        });
        for (const s of [client, upstream]) {
            s.on('error', () => this.drop(link));
            s.on('close', () => this.drop(link));
        }
    }

    drop(link) {
        if (!this.links.delete(link)) return;
        link.client.destroy();
        link.upstream.destroy();
    }

    close() {
        for (const l of [...this.links]) this.drop(l);
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}

module.exports = { RedisRelay };
