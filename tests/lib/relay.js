'use strict';
/*
 * A TCP relay between a server under test and Redis, owned by the test, so
 * that a test can order what the network would otherwise race: hold what
 * a connection sends from the first chunk that contains a pattern until
 * release(), or cut the connections that have sent a pattern.
 *
 *   const relay = await Relay.open(sys.redis.port);
 *   relay.hold('XRANGE');         // the next XRANGE and all after it wait
 *   relay.cut('SUBSCRIBE');       // drop the subscription's connection
 *   await relay.held;             // something is being held
 *   relay.release();
 *   relay.arm('after-reply');     // the next EVALSHA runs in Redis, its
 *                                 // reply is swallowed and both ends cut
 *   relay.arm('before-forward');  // the next EVALSHA is swallowed, cut
 *   relay.cuts                    // connections cut by arm()
 *   await relay.close();
 */
const net = require('node:net');

/* What a connection has sent, kept short: patterns are command names. */
const SEEN_MAX = 64 * 1024;

class Relay {
    static open(targetPort, targetHost = '127.0.0.1') {
        const r = new Relay(targetPort, targetHost);
        return new Promise((resolve, reject) => {
            r.server.once('error', reject);
            r.server.listen(0, '127.0.0.1', () => {
                r.port = r.server.address().port;
                resolve(r);
            });
        });
    }

    constructor(targetPort, targetHost) {
        this.conns = new Set();
        this.pattern = null;
        this.held = null;
        this.armed = null;
        this.cuts = 0;
        this.server = net.createServer((client) => this.accept(client, targetPort, targetHost));
    }

    accept(client, port, host) {
        const upstream = net.connect(port, host);
        const c = { client, upstream, seen: '', holding: false, queue: [], awaitingReply: false };
        this.conns.add(c);
        const end = () => {
            this.conns.delete(c);
            client.destroy();
            upstream.destroy();
        };
        client.on('data', (chunk) => this.fromClient(c, chunk));
        upstream.on('data', (chunk) => {
            if (c.awaitingReply) this.cutArmed(c);
            else client.write(chunk);
        });
        client.on('close', end);
        upstream.on('close', end);
        client.on('error', end);
        upstream.on('error', end);
    }

    fromClient(c, chunk) {
        const text = chunk.toString('latin1');
        c.seen = (c.seen + text).slice(-SEEN_MAX);
        if (this.armed && text.includes(this.armed.pattern)) {
            const { mode } = this.armed;
            this.armed = null;
            if (mode === 'before-forward') {
                this.cutArmed(c);
                return;
            }
            c.awaitingReply = true;
        }
        if (!c.holding && this.pattern && text.includes(this.pattern)) {
            c.holding = true;
            this.heldNow();
        }
        if (c.holding) c.queue.push(chunk);
        else c.upstream.write(chunk);
    }

    /* From the next chunk containing pattern on, that connection waits. */
    hold(pattern) {
        this.pattern = pattern;
        this.held = new Promise((resolve) => { this.heldNow = resolve; });
    }

    release() {
        this.pattern = null;
        for (const c of this.conns) {
            if (!c.holding) continue;
            c.holding = false;
            for (const chunk of c.queue.splice(0)) c.upstream.write(chunk);
        }
    }

    /*
     * Cut the next connection to send pattern (EVALSHA by default) at an
     * exact point: 'before-forward' swallows the command, 'after-reply'
     * lets Redis run it and swallows its reply.
     */
    arm(mode, pattern = 'EVALSHA') {
        this.armed = { mode, pattern };
    }

    cutArmed(c) {
        this.cuts++;
        c.client.destroy();
        c.upstream.destroy();
        this.conns.delete(c);
    }

    /* Close (both ends) every connection that has sent pattern; the count. */
    cut(pattern) {
        let n = 0;
        for (const c of [...this.conns]) {
            if (!c.seen.includes(pattern)) continue;
            c.client.destroy();
            c.upstream.destroy();
            this.conns.delete(c);
            n++;
        }
        return n;
    }

    close() {
        for (const c of this.conns) {
            c.client.destroy();
            c.upstream.destroy();
        }
        this.conns.clear();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}

module.exports = { Relay };
