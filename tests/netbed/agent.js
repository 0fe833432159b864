'use strict';
/*
 * A client node's users, run inside that node: WebSocket watchers (the
 * page's side of the stream) and senders (the page's POSTs), driven by
 * the runner through stdin (lines.js). Every time is Date.now(): the
 * machine's CLOCK_REALTIME, which time namespaces do not offset, so times
 * taken on different nodes compare (on real machines that takes NTP).
 *
 * Ops:
 *   open   { id, urls, afterId, livenessMs, heartbeatMs, reconnect }
 *          connect to urls[0] (the next one after a failure), ask
 *          {"after_id":afterId}, resolve once that is answered
 *   close  { id }            report   { id, tag }      -> what it saw
 *   missing { id, ids }      -> how many of ids it has not received
 *   send   { id, urls, rate, concurrency, tag, timeoutMs, retryMs }
 *   sendStop { id }          -> every message and each of its tries
 *   reset  {}                close every watcher, stop every sender
 *   acked  { tag, pairs }    what the senders were told: [[id, content]]
 *   digest { id, tag }       -> one watcher against `acked`, small enough
 *                            for hundreds of watchers: { missing,
 *                            connections, repeats, dupShown, reused,
 *                            breaks, stallMs }
 *
 *   node agent.js NODE
 */
const { ChatClient, postForm, message } = require('../lib/client');
const { serve } = require('./lines');

const HEARTBEAT = '{"after_id":9223372036854775807}'; /* as text: JS numbers lose it */
const PAGE = 500;
const node = process.argv[2] || 'client';

function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}

/*
 * This process's own stalls: a 5 ms timer that fires late means the
 * agent (not the gateway) was not running, and every answer it waited
 * for meanwhile looks that much slower. Kept as [start, ms] while any
 * watcher measures heartbeats; stallsWithin() is what to subtract.
 */
const TICK_MS = 5;
const stalls = [];
let ticker = null;
let lastTick = 0;

function watchStalls() {
    if (ticker) return;
    lastTick = Date.now();
    ticker = setInterval(() => {
        const now = Date.now();
        const late = now - lastTick - TICK_MS;
        if (late > TICK_MS) stalls.push([lastTick + TICK_MS, late]);
        if (stalls.length > 10000) stalls.shift();
        lastTick = now;
    }, TICK_MS);
}

/* Milliseconds of this process's stalls inside [from, to]. */
function stallsWithin(from, to) {
    let sum = 0;
    for (const [at, ms] of stalls) sum += Math.max(0, Math.min(to, at + ms) - Math.max(from, at));
    return sum;
}

/*
 * One user's view of the chat across reconnects. Per connection: when it
 * opened and closed, why, and whether new ids ever arrived out of order
 * once its first reply was in. Per message: the first time it arrived and
 * on which connection; copies of an id already seen count as repeats.
 * With heartbeatMs, one heartbeat at a time: each answer's [sent, ms,
 * ms less this process's own stalls meanwhile].
 */
class Watcher {
    constructor(id, { urls, livenessMs = 0, heartbeatMs = 0, reconnect = true, handshakeMs = 2000 }) {
        this.id = id;
        this.urls = urls;
        this.livenessMs = livenessMs;
        this.heartbeatMs = heartbeatMs;
        this.reconnect = reconnect;
        this.handshakeMs = handshakeMs;
        this.urlIndex = 0;
        this.conns = [];
        this.msgs = new Map(); /* id -> [time, connection, content] */
        this.raw = 0;
        this.repeats = 0;
        this.presence = [];
        this.statusErrors = [];
        this.failures = [];
        this.hb = { sent: 0, answered: 0, maxMs: 0, over100: 0, at: 0, samples: [] };
        this.stopped = false;
        this.maxSeen = 0;
    }

    async start(afterId) {
        this.maxSeen = afterId;
        const conn = await this.connect();
        await conn.synced;
        return { url: conn.url };
    }

    /* Try the urls in turn until one opens; a refused or silent one costs a pause. */
    async connect() {
        for (let tries = 0; !this.stopped; tries++) {
            const url = this.urls[this.urlIndex % this.urls.length];
            const c = new ChatClient(url, { handshakeTimeout: this.handshakeMs });
            try {
                await c.opened;
                return this.attach(c, url);
            } catch (e) {
                this.failures.push([Date.now(), url, e.message]);
                c.ws.terminate();
                this.urlIndex++;
                await sleep(Math.min(100 * 2 ** Math.min(tries, 3), 1000));
            }
        }
        return null;
    }

    attach(c, url) {
        const conn = {
            url, openedAt: Date.now(), closedAt: 0, code: 0, noticed: '', synced: null,
            firstReplyAt: 0, maxNew: 0, breaks: 0, index: this.conns.length,
        };
        this.conns.push(conn);
        this.client = c;
        let markSynced;
        conn.synced = new Promise((r) => { markSynced = r; });
        const parse = c.onFrame.bind(c);
        c.onFrame = (data, isBinary) => {
            const frames = c.frames.length;
            const statuses = c.statuses.length;
            parse(data, isBinary);
            this.alive(conn, c);
            if (c.statuses.length > statuses) this.onStatus(conn, c.statuses[statuses]);
            if (c.frames.length > frames) {
                this.onBatch(conn, c, c.frames[frames].messages);
                if (!conn.firstReplyAt) {
                    conn.firstReplyAt = Date.now();
                    markSynced();
                }
            }
            /* Parsed frames are kept here, not in the client. */
            c.frames.length = 0;
            c.messages.length = 0;
            c.statuses.length = 0;
        };
        c.ws.on('ping', () => this.alive(conn, c));
        c.ws.on('close', (code) => this.onClose(conn, code));
        this.alive(conn, c);
        if (this.heartbeatMs) {
            watchStalls();
            conn.hbTimer = setInterval(() => this.beat(conn, c), this.heartbeatMs);
        }
        conn.resumeOpen = true;
        c.send({ after_id: this.maxSeen });
        return conn;
    }

    onStatus(conn, s) {
        if (s.type === 'presence') this.presence.push([Date.now(), s.online, conn.index]);
        else if (s.type === 'error') this.statusErrors.push([Date.now(), s.error]);
    }

    onBatch(conn, c, msgs) {
        const now = Date.now();
        if (msgs.length === 0 && this.hb.at) {
            const ms = now - this.hb.at;
            this.hb.answered++;
            this.hb.samples.push([this.hb.at, ms, ms - stallsWithin(this.hb.at, now)]);
            this.hb.maxMs = Math.max(this.hb.maxMs, ms);
            if (ms > 100) this.hb.over100++;
            this.hb.at = 0;
        }
        for (const m of msgs) {
            this.raw++;
            if (this.msgs.has(m.id)) {
                this.repeats++;
                continue;
            }
            if (conn.firstReplyAt && m.id < conn.maxNew) conn.breaks++;
            conn.maxNew = Math.max(conn.maxNew, m.id);
            this.maxSeen = Math.max(this.maxSeen, m.id);
            this.msgs.set(m.id, [now, conn.index, m.content]);
        }
        this.page(conn, c, msgs);
    }

    /*
     * While a resume is open, the first array frame is taken as its
     * reply: a full one (500) is continued from its own last id
     * (PROTOCOL §4), a shorter one ends the resume. Live batches can hold
     * 500 messages too, so outside a resume a full frame asks nothing.
     */
    page(conn, c, msgs) {
        if (!conn.resumeOpen) return;
        if (msgs.length < PAGE) {
            conn.resumeOpen = false;
            return;
        }
        c.send({ after_id: msgs[msgs.length - 1].id });
    }

    /* Anything from the gateway (a frame, a ping) proves it is there. */
    alive(conn, c) {
        if (!this.livenessMs) return;
        clearTimeout(conn.liveTimer);
        conn.liveTimer = setTimeout(() => {
            conn.noticed = 'liveness';
            conn.noticedAt = Date.now();
            c.ws.terminate();
        }, this.livenessMs);
    }

    /* The page's heartbeat: an empty range the gateway answers at once. */
    beat(conn, c) {
        if (this.hb.at || !conn.firstReplyAt || conn.closedAt) return;
        this.hb.at = Date.now();
        this.hb.sent++;
        c.send(HEARTBEAT);
    }

    onClose(conn, code) {
        conn.closedAt = Date.now();
        conn.code = code;
        if (!conn.noticed) conn.noticed = 'close';
        clearTimeout(conn.liveTimer);
        clearInterval(conn.hbTimer);
        this.hb.at = 0;
        if (this.stopped || !this.reconnect) return;
        this.urlIndex++;
        this.connect().catch((e) => this.failures.push([Date.now(), '', e.message]));
    }

    stop() {
        this.stopped = true;
        if (this.client) this.client.ws.terminate();
    }

    report(tag) {
        const msgs = [];
        for (const [id, [t, conn, content]] of this.msgs) {
            if (!tag || String(content).startsWith(tag)) msgs.push([id, t, conn, content]);
        }
        const now = Date.now();
        const hb = {
            ...this.hb,
            pendingMs: this.hb.at ? now - this.hb.at : 0,
            pendingOwnMs: this.hb.at ? now - this.hb.at - stallsWithin(this.hb.at, now) : 0,
            pendingSince: this.hb.at,
        };
        delete hb.at;
        const conns = this.conns.map(({ synced, liveTimer, hbTimer, resumeOpen, ...rest }) => rest);
        return {
            id: this.id, node, conns, msgs, raw: this.raw, repeats: this.repeats,
            presence: this.presence, hb, failures: this.failures, statusErrors: this.statusErrors,
        };
    }
}

/*
 * Posts `rate` messages a second (at most `concurrency` in flight),
 * round-robin over urls, each with its own idempotency key. With retryMs,
 * a 503 or an unanswered POST is sent again with the same key and
 * content after a growing pause, until a 200 or retryMs has passed: what
 * the page does for its user.
 */
class Sender {
    constructor(id, { urls, rate, concurrency = 16, tag, timeoutMs = 5000, retryMs = 0 }) {
        Object.assign(this, { id, urls, rate, concurrency, tag, timeoutMs, retryMs });
        this.messages = [];
        this.inflight = new Set();
        this.rr = 0;
        this.skipped = 0;
    }

    start() {
        this.startedAt = Date.now();
        this.timer = setInterval(() => this.tick(), 5);
        return this;
    }

    tick() {
        const due = Math.floor(((Date.now() - this.startedAt) * this.rate) / 1000);
        while (this.messages.length + this.skipped < due) {
            if (this.inflight.size >= this.concurrency) {
                this.skipped++;
                continue;
            }
            const p = this.compose(this.messages.length + 1);
            this.inflight.add(p);
            p.finally(() => this.inflight.delete(p));
        }
    }

    async compose(n) {
        const content = `${this.tag} #${n}`;
        const m = { content, idem: `${this.tag}-${n}`.replace(/[^A-Za-z0-9_-]/g, '_'), tries: [], id: null };
        this.messages.push(m);
        const began = Date.now();
        for (let attempt = 0; ; attempt++) {
            const t = await this.post(m);
            m.tries.push(t);
            if (t.status === 200) {
                m.id = t.id;
                return;
            }
            const again = this.retryMs && (t.status === 503 || t.status <= 0) &&
                Date.now() - began < this.retryMs;
            if (!again) return;
            await sleep(Math.min(200 * 2 ** attempt, 1000));
        }
    }

    async post(m) {
        const url = this.urls[this.rr++ % this.urls.length];
        const t = { url, t0: Date.now(), t1: 0, status: 0, id: null, unknown: false, error: '' };
        try {
            const r = await postForm(url, message({ content: m.content, idem: m.idem }),
                { signal: AbortSignal.timeout(this.timeoutMs) });
            t.status = r.status;
            const body = JSON.parse(r.body);
            if (r.status === 200) t.id = body.id;
            else {
                t.error = typeof body.error === 'string' ? body.error : '';
                t.unknown = body.unknown === true;
            }
        } catch (e) {
            if (t.status === 0) t.status = -1; /* no answer at all */
            t.error = t.error || e.message;
        }
        t.t1 = Date.now();
        return t;
    }

    async stop() {
        clearInterval(this.timer);
        const stoppedAt = Date.now();
        while (this.inflight.size) await Promise.all([...this.inflight]);
        return { messages: this.messages, skipped: this.skipped, startedAt: this.startedAt, stoppedAt };
    }
}

const watchers = new Map();
const senders = new Map();
let acked = { tag: '', byId: new Map(), at: new Map() };

/*
 * A watcher against what the senders were told: acknowledged ids it
 * lacks, contents it got under two ids, ids whose content is another
 * message's (an id handed out twice), order breaks after the first
 * reply, and the longest time from a 200 to its arrival.
 */
function digest(w, tag) {
    const prefix = `${tag} #`;
    const contents = new Map();
    let reused = 0;
    let stallMs = 0;
    for (const [id, [t, , content]] of w.msgs) {
        if (!String(content).startsWith(prefix)) continue;
        contents.set(content, (contents.get(content) || 0) + 1);
        const want = acked.byId.get(id);
        if (want !== undefined && want !== content) reused++;
        if (acked.at.has(id)) stallMs = Math.max(stallMs, t - acked.at.get(id));
    }
    let missing = 0;
    for (const id of acked.byId.keys()) if (!w.msgs.has(id)) missing++;
    return {
        missing, connections: w.conns.length, repeats: w.repeats, reused, stallMs,
        dupShown: [...contents.values()].filter((n) => n > 1).length,
        dupContents: [...contents].filter(([, n]) => n > 1).map(([c]) => c).slice(0, 100),
        breaks: w.conns.reduce((s, c) => s + c.breaks, 0),
    };
}

serve({
    ready() {
        return node;
    },
    async open({ id, urls, afterId = 0, ...opts }) {
        if (watchers.has(id)) throw new Error(`watcher ${id} exists`);
        const w = new Watcher(id, { urls, ...opts });
        watchers.set(id, w);
        return w.start(afterId);
    },
    close({ id }) {
        watchers.get(id).stop();
    },
    /* How many of ids the watcher has not received. */
    missing({ id, ids }) {
        const w = watchers.get(id);
        return ids.filter((i) => !w.msgs.has(i)).length;
    },
    report({ id, tag }) {
        if (id) return watchers.get(id).report(tag);
        return [...watchers.values()].map((w) => w.report(tag));
    },
    send({ id, ...opts }) {
        if (senders.has(id)) throw new Error(`sender ${id} exists`);
        senders.set(id, new Sender(id, opts).start());
    },
    progress({ id }) {
        const s = senders.get(id);
        return { composed: s.messages.length, acked: s.messages.filter((m) => m.id).length, inflight: s.inflight.size };
    },
    async sendStop({ id }) {
        const s = senders.get(id);
        senders.delete(id);
        return s.stop();
    },
    acked({ tag, pairs }) {
        acked = { tag, byId: new Map(pairs.map(([id, c]) => [id, c])), at: new Map(pairs.map(([id, , t]) => [id, t])) };
    },
    digest({ id, tag }) {
        return digest(watchers.get(id), tag);
    },
    async reset() {
        for (const w of watchers.values()) w.stop();
        watchers.clear();
        await Promise.all([...senders.values()].map((s) => s.stop()));
        senders.clear();
    },
});
