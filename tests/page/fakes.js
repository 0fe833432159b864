'use strict';
/*
 * Stand-ins for what the page's core modules are handed in a browser: a
 * clock whose time moves only when a test says, and a WebSocket whose
 * other end is the test. Only for the pure modules; the browser tests
 * use the real ones.
 */

class FakeClock {
    constructor(start = 1000000) {
        this.t = start;
        this.timers = new Map();
        this.seq = 0;
    }

    now() {
        return this.t;
    }

    setTimeout(fn, ms) {
        const id = ++this.seq;
        this.timers.set(id, { at: this.t + Math.max(0, ms), fn, ms });
        return id;
    }

    clearTimeout(id) {
        this.timers.delete(id);
    }

    /* Run every timer due within ms, in time order, then stand at +ms. */
    advance(ms) {
        const end = this.t + ms;
        for (;;) {
            let next = null;
            for (const [id, t] of this.timers) {
                if (t.at <= end && (next === null || t.at < next[1].at)) next = [id, t];
            }
            if (next === null) break;
            this.timers.delete(next[0]);
            this.t = next[1].at;
            next[1].fn();
        }
        this.t = end;
    }

    /*
     * As advance, for async code: promises settle before each timer, and
     * time stands at each timer's moment while its callbacks run, so
     * timers set from them start at the right time.
     */
    async advanceAsync(ms) {
        const end = this.t + ms;
        for (;;) {
            await settle();
            let next = null;
            for (const t of this.timers.values()) if (t.at <= end && (next === null || t.at < next)) next = t.at;
            if (next === null) break;
            this.advance(next - this.t);
        }
        this.t = end;
        await settle();
    }

    /* Delays of pending timers whose callback has this name. */
    pending(name) {
        return [...this.timers.values()].filter((t) => t.fn.name === name).map((t) => t.ms);
    }
}

/* Let queued promise callbacks run. */
function settle() {
    return new Promise((resolve) => setImmediate(resolve));
}

/* A WebSocket the test plays the server of. */
class FakeSocket {
    constructor(url) {
        this.url = url;
        this.sent = [];
        this.closed = false;
        this.readyState = 0;
        this.onopen = null;
        this.onmessage = null;
        this.onclose = null;
    }

    send(text) {
        if (this.readyState !== 1) throw new Error('not open');
        this.sent.push(text);
    }

    close() {
        this.closed = true;
        this.readyState = 3;
    }

    /* The server side. */
    accept() {
        this.readyState = 1;
        if (this.onopen) this.onopen();
    }

    push(value) {
        if (this.onmessage) this.onmessage({ data: typeof value === 'string' ? value : JSON.stringify(value) });
    }

    drop() {
        this.readyState = 3;
        if (this.onclose) this.onclose();
    }
}

/* A random source that plays back the given values (then 0.5). */
function randoms(...values) {
    let i = 0;
    return () => (i < values.length ? values[i++] : 0.5);
}

module.exports = { FakeClock, FakeSocket, settle, randoms };
