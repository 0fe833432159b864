'use strict';
/*
 * Clients that speak to the system the way a browser does: FormData or
 * urlencoded POSTs to /chatapp/send and a WebSocket that collects batches
 * (arrays) and status objects separately.
 */
const WebSocket = require('ws');

/*
 * POST a message as multipart/form-data (what a browser FormData sends).
 * init: more fetch options, e.g. { signal } to give up after a while.
 */
async function postForm(sendUrl, fields, init = {}) {
    const fd = new FormData();
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    const r = await fetch(sendUrl, { ...init, method: 'POST', body: fd });
    return { status: r.status, headers: r.headers, body: await r.text() };
}

/* POST a message urlencoded (what curl -d sends). */
async function postUrlencoded(sendUrl, fields) {
    const body = typeof fields === 'string' ? fields : new URLSearchParams(fields).toString();
    const r = await fetch(sendUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
    });
    return { status: r.status, headers: r.headers, body: await r.text() };
}

let seq = 0;
/* A valid message; override any field. */
function message(over = {}) {
    seq++;
    return {
        name: 'Tester', email: 'tester@example.com', topic: 'tests',
        content: `message ${process.pid}-${seq}`, ...over,
    };
}

class ChatClient {
    /*
     * Every received frame is parsed: arrays go to frames/messages (all
     * messages in arrival order, duplicates kept so tests can see them),
     * objects to statuses.
     */
    constructor(url, opts = {}) {
        this.url = url;
        this.frames = [];
        this.messages = [];
        this.statuses = [];
        this.closed = null;
        this.waiters = [];
        this.ws = new WebSocket(url, opts);
        this.opened = new Promise((resolve, reject) => {
            this.ws.once('open', resolve);
            this.ws.once('error', reject);
            this.ws.once('unexpected-response', (_req, res) =>
                reject(new Error(`handshake refused: ${res.statusCode}`)));
        });
        this.ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
        this.ws.on('close', (code, reason) => {
            this.closed = { code, reason: reason.toString() };
            this.wake();
        });
        this.ws.on('error', () => { /* surfaced through close/opened */ });
    }

    onFrame(data, isBinary) {
        const v = JSON.parse(data.toString());
        if (Array.isArray(v)) {
            this.frames.push({ binary: isBinary, messages: v });
            this.messages.push(...v);
        } else {
            this.statuses.push(v);
        }
        this.wake();
    }

    wake() {
        for (const w of this.waiters.splice(0)) w();
    }

    send(obj) {
        this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
    }

    /* Resolve when pred() is true; reject after timeoutMs. */
    async until(pred, timeoutMs = 10000, what = 'condition') {
        const end = Date.now() + timeoutMs;
        while (!pred()) {
            const left = end - Date.now();
            if (left <= 0) throw new Error(`timed out waiting for ${what}`);
            await new Promise((resolve) => {
                const t = setTimeout(resolve, Math.min(left, 200));
                this.waiters.push(() => { clearTimeout(t); resolve(); });
            });
        }
    }

    /* Send a history request and resolve with the next array frame. */
    async request(obj, timeoutMs = 10000) {
        const before = this.frames.length;
        this.send(obj);
        await this.until(() => this.frames.length > before, timeoutMs, 'history reply');
        return this.frames[before].messages;
    }

    /* Distinct ids received, ascending. */
    ids() {
        return [...new Set(this.messages.map((m) => m.id))].sort((a, b) => a - b);
    }

    has(id) {
        return this.messages.some((m) => m.id === id);
    }

    close() {
        this.ws.close();
    }
}

async function connect(url, opts) {
    const c = new ChatClient(url, opts);
    await c.opened;
    return c;
}

module.exports = { postForm, postUrlencoded, message, ChatClient, connect };
