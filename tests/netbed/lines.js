'use strict';
/*
 * The bed's control channel to a process it started on a node (the name
 * server, the client agents): one JSON object per line on the process's
 * stdin, one reply per request on its stdout, matched by "seq". Nothing
 * goes over the bed's network, so a partition never cuts the bed off
 * from its own instruments.
 *
 *   serve({ op(args) {...} })          inside the process
 *   const ch = new Channel(child);     in the runner
 *   await ch.call('op', { ... })       resolves with the reply's "result"
 */
const readline = require('node:readline');

/* Answer requests from stdin with handlers[op](args) (may be async). */
function serve(handlers) {
    const rl = readline.createInterface({ input: process.stdin });
    const reply = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
    rl.on('line', async (line) => {
        let req;
        try {
            req = JSON.parse(line);
        } catch {
            reply({ seq: null, error: `not JSON: ${line.slice(0, 80)}` });
            return;
        }
        const h = handlers[req.op];
        if (!h) {
            reply({ seq: req.seq, error: `unknown op ${req.op}` });
            return;
        }
        try {
            reply({ seq: req.seq, result: (await h(req.args || {})) ?? null });
        } catch (e) {
            reply({ seq: req.seq, error: e.stack || String(e) });
        }
    });
    /* The runner went away: so does this process. */
    rl.on('close', () => process.exit(0));
}

class Channel {
    constructor(child, name) {
        this.child = child;
        this.name = name;
        this.seq = 0;
        this.pending = new Map();
        const rl = readline.createInterface({ input: child.stdout });
        rl.on('line', (line) => this.onLine(line));
        child.on('exit', () => {
            for (const p of this.pending.values()) p.reject(new Error(`${name} exited`));
            this.pending.clear();
        });
    }

    onLine(line) {
        let msg;
        try {
            msg = JSON.parse(line);
        } catch {
            return; /* a stray print; the process's stderr log has the rest */
        }
        const p = this.pending.get(msg.seq);
        if (!p) return;
        this.pending.delete(msg.seq);
        clearTimeout(p.timer);
        if (msg.error) p.reject(new Error(`${this.name} ${p.op}: ${msg.error}`));
        else p.resolve(msg.result);
    }

    call(op, args = {}, timeoutMs = 20000) {
        const seq = ++this.seq;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(seq);
                reject(new Error(`${this.name} ${op}: no reply in ${timeoutMs} ms`));
            }, timeoutMs);
            this.pending.set(seq, { resolve, reject, timer, op });
            this.child.stdin.write(`${JSON.stringify({ seq, op, args })}\n`);
        });
    }
}

module.exports = { serve, Channel };
