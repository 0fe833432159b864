/*
 * Sending a message (PROTOCOL.md §2) so that a resend is always safe:
 * each composed message gets an idempotency key ("idem") that every
 * attempt at it carries, and a new key only once it was sent (a 200) or
 * the user changed it. Attempts that may be worth repeating (a 503, with
 * or without "unknown":true, any other 5xx or 408, a network error, no
 * answer in time) are repeated on their own after growing, jittered
 * pauses, a bounded number of times within a bounded total; a 429 waits
 * what Retry-After says; any other answer is final.
 */
(function (root, make) {
    'use strict';
    if (typeof module === 'object' && module.exports) {
        module.exports = make(require('./backoff.js'));
    } else {
        const core = root.ChatCore = root.ChatCore || {};
        core.sender = make(core.backoff);
    }
}(globalThis, function (backoff) {
    'use strict';

    /* PROTOCOL.md §2: 1..64 of A-Za-z0-9_-. 22 of 64 symbols: 132 bits. */
    const IDEM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const IDEM_LENGTH = 22;
    const IDEM_RE = /^[A-Za-z0-9_-]{1,64}$/;
    const FIELDS = ['name', 'email', 'topic', 'content', 'ephemeral'];

    /* randomBytes(n) returns n random bytes (crypto.getRandomValues). */
    function newIdemKey(randomBytes) {
        let key = '';
        for (const b of randomBytes(IDEM_LENGTH)) key += IDEM_ALPHABET[b & 63];
        return key;
    }

    function sameMessage(a, b) {
        return FIELDS.every((k) => a[k] === b[k]);
    }

    /* One key per composed message. */
    class IdemKeys {
        constructor(randomBytes) {
            this.randomBytes = randomBytes;
            this.key = null;
            this.fields = null;
        }

        /* The key for this message: the last one, unless it changed. */
        keyFor(fields) {
            if (this.key === null || !sameMessage(fields, this.fields)) {
                this.key = newIdemKey(this.randomBytes);
                this.fields = { ...fields };
            }
            return this.key;
        }

        /* That message was sent: the next one is a new message. */
        settled() {
            this.key = null;
            this.fields = null;
        }
    }

    /* Retry-After (RFC 9110: seconds or an HTTP date) in ms, or null. */
    function retryAfterMs(header, nowMs) {
        if (typeof header !== 'string') return null;
        const h = header.trim();
        if (/^\d+$/.test(h)) return Number(h) * 1000;
        /* An HTTP date names its zone; Date.parse would read "-1" as one. */
        if (!/GMT$/.test(h)) return null;
        const t = Date.parse(h);
        return Number.isNaN(t) ? null : Math.max(0, t - nowMs);
    }

    /*
     * What to do after an attempt. outcome is {kind:'answer', status,
     * body, retryAfterMs} or {kind:'network'} or {kind:'timeout'};
     * attempt counts attempts made (1 after the first); elapsedMs since
     * the first began. Returns {action:'sent'}, {action:'reject'},
     * {action:'retry', delayMs, reason} or {action:'give-up', reason};
     * reason is 'unavailable', 'unknown' (a 503 that cannot say whether
     * the message was stored), 'busy' (429), 'network' or 'timeout'.
     */
    function decide(outcome, { attempt, elapsedMs, tuning, random }) {
        const pause = () => backoff.jittered(attempt - 1, tuning.sendRetryBaseMs, tuning.sendRetryCapMs, random);
        const again = (delayMs, reason) => (attempt >= tuning.sendAttemptsMax
            || elapsedMs + delayMs > tuning.sendRetryTotalMs
            ? { action: 'give-up', reason } : { action: 'retry', delayMs, reason });
        if (outcome.kind !== 'answer') return again(pause(), outcome.kind);
        const s = outcome.status;
        if (s === 200) return { action: 'sent' };
        if (s === 429) return again(outcome.retryAfterMs ?? pause(), 'busy');
        if (s === 408 || s >= 500) {
            const unknown = s === 503 && outcome.body !== null && typeof outcome.body === 'object'
                && outcome.body.unknown === true;
            return again(pause(), unknown ? 'unknown' : 'unavailable');
        }
        return { action: 'reject' };
    }

    /* The form body: what a browser's FormData of the form holds, and the key. */
    function formBody(fields, key) {
        const fd = new FormData();
        for (const k of ['name', 'email', 'topic', 'content']) fd.append(k, fields[k]);
        if (fields.ephemeral) fd.append('ephemeral', 'on');
        fd.append('idem', key);
        return fd;
    }

    /*
     * Sends one message at a time. opts: fetch, url, clock (now,
     * setTimeout, clearTimeout), randomBytes, random, tuning, view:
     *   view.sending(attempt)               an attempt starts (1, 2, ...)
     *   view.retrying(reason, delayMs, n)   attempt n failed; next after delayMs
     *   view.sent(body, fields)             the 200 and its message
     *   view.rejected(status, body)         a final answer (body: parsed JSON or null)
     *   view.failed(reason)                 retries used up: the user may try again
     */
    class Sender {
        constructor(opts) {
            this.fetch = opts.fetch;
            this.url = opts.url;
            this.clock = opts.clock;
            this.random = opts.random || Math.random;
            this.tuning = opts.tuning;
            this.view = opts.view;
            this.makeBody = opts.makeBody || formBody;
            this.keys = new IdemKeys(opts.randomBytes);
            this.busy = false;
        }

        /* Send fields ({name, email, topic, content, ephemeral}); does
         * nothing while a send is under way. Resolves when it is over. */
        async send(fields) {
            if (this.busy) return;
            this.busy = true;
            try {
                await this.run({ ...fields });
            } finally {
                this.busy = false;
            }
        }

        async run(fields) {
            const key = this.keys.keyFor(fields);
            const startedAt = this.clock.now();
            for (let attempt = 1; ; attempt++) {
                this.view.sending(attempt);
                const outcome = await this.attempt(fields, key);
                const d = decide(outcome, {
                    attempt, elapsedMs: this.clock.now() - startedAt, tuning: this.tuning, random: this.random,
                });
                if (d.action === 'sent') {
                    this.keys.settled();
                    this.view.sent(outcome.body, fields);
                    return;
                }
                if (d.action === 'reject') {
                    this.view.rejected(outcome.status, outcome.body);
                    return;
                }
                if (d.action === 'give-up') {
                    this.view.failed(d.reason);
                    return;
                }
                this.view.retrying(d.reason, d.delayMs, attempt);
                await new Promise((resolve) => this.clock.setTimeout(resolve, d.delayMs));
            }
        }

        async attempt(fields, key) {
            const ctl = new AbortController();
            const timer = this.clock.setTimeout(() => ctl.abort(), this.tuning.sendTimeoutMs);
            try {
                const r = await this.fetch(this.url, { method: 'POST', body: this.makeBody(fields, key), signal: ctl.signal });
                const text = await r.text();
                let body = null;
                try {
                    body = JSON.parse(text);
                } catch {
                    body = null;
                }
                return {
                    kind: 'answer', status: r.status, body,
                    retryAfterMs: retryAfterMs(r.headers.get('retry-after'), this.clock.now()),
                };
            } catch {
                return { kind: ctl.signal.aborted ? 'timeout' : 'network' };
            } finally {
                this.clock.clearTimeout(timer);
            }
        }
    }

    return { Sender, IdemKeys, decide, retryAfterMs, newIdemKey, formBody, IDEM_RE, IDEM_LENGTH };
}));
