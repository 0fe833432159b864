'use strict';
/*
 * Helpers for the fault drills (tests/integration/fault_*.test.js): what a
 * drill measures about the real system, never a stand-in for a part of it.
 *
 *   procStats(pid)        { rssKb, fds } from /proc
 *   storedMessages(sys)   every stream entry, parsed, checked id == entry
 *   publishDirect(sys, m) run fcgi/publish.lua itself, as the send handler
 *   Chatter               posts messages in a loop, remembers every answer
 *   Follower              a WebSocket client that resumes by after_id
 *   tally(t, name, nums)  prints sent/acknowledged/stored/delivered/lost/
 *                         duplicated (and extras) as one line
 */
const fs = require('node:fs');
const path = require('node:path');
const { ChatClient, postForm, message } = require('./client');
const { sleep, ROOT, OUT_DIR } = require('./system');

/*
 * Under CHAT_WRAPPER (valgrind) servers run ~20x slower and their RSS is
 * valgrind's: drills scale counts by SCALE, time by SLOW, and skip RSS
 * bounds.
 */
const WRAPPED = Boolean(process.env.CHAT_WRAPPER);
const SCALE = WRAPPED ? 0.1 : 1;
const SLOW = WRAPPED ? 10 : 1;

function procStats(pid) {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+)/.exec(status);
    return {
        rssKb: rss ? Number(rss[1]) : 0,
        fds: fs.readdirSync(`/proc/${pid}/fd`).length,
    };
}

/*
 * Environment for a server whose memory a drill measures: ASan's
 * quarantine (256 MB by default) would otherwise hold every freed block
 * and hide whether memory comes back. Reports still go to OUT_DIR.
 */
function measurableAsanEnv() {
    return {
        ASAN_OPTIONS: `log_path=${path.join(OUT_DIR, 'asan')}:detect_leaks=1:abort_on_error=0:` +
            'quarantine_size_mb=8:thread_local_quarantine_size_kb=64:allocator_release_to_os_interval_ms=100',
    };
}

/*
 * All entries of messages:history. redis-cli prints, one per line, the
 * entry id, the field name "m" and the JSON text (which never holds a raw
 * line break); each JSON's id must equal its entry id.
 */
function storedMessages(sys) {
    const out = sys.redisCli('XRANGE', 'messages:history', '-', '+');
    const lines = out.split('\n');
    const msgs = [];
    for (let i = 0; i < lines.length; i++) {
        if (!/^\d+-\d+$/.test(lines[i])) continue;
        if (lines[i + 1] !== 'm') throw new Error(`stream entry ${lines[i]} without field m`);
        const m = JSON.parse(lines[i + 2]);
        if (`${m.id}-0` !== lines[i]) throw new Error(`entry ${lines[i]} holds id ${m.id}`);
        msgs.push(m);
        i += 2;
    }
    return msgs;
}

const PUBLISH_LUA = fs.readFileSync(path.join(ROOT, 'fcgi', 'publish.lua'), 'utf8');

/*
 * Store and publish a message with the project's own script, bypassing
 * the send handler: for drills that need messages to land at a moment the
 * send handler cannot be asked to hit (e.g. before gateways resubscribe).
 * Returns the published message object.
 */
function publishDirect(sys, fields) {
    const body = JSON.stringify({
        name: fields.name, email: fields.email, topic: fields.topic || 'general',
        content: fields.content, date: new Date().toISOString(), ephemeral: false,
    });
    const out = sys.redisCli('EVAL', PUBLISH_LUA, '2', 'messages:id', 'messages:history',
        body, '1', '100000', 'messages');
    return JSON.parse(out.trim());
}

/*
 * Posts messages one after another on `workers` parallel loops until
 * stop(). Every attempt is recorded: { content, status, id, startedAt,
 * endedAt }. Contents are unique, so a stored message can be traced back
 * to its post.
 */
class Chatter {
    constructor(url, { workers = 2, tag = 'chat', gapMs = 0, fields = {} } = {}) {
        this.url = url;
        this.workers = workers;
        this.tag = tag;
        this.gapMs = gapMs;
        this.fields = fields;
        this.attempts = [];
        this.running = false;
        this.seq = 0;
    }

    start() {
        this.running = true;
        this.loops = Array.from({ length: this.workers }, () => this.loop());
        return this;
    }

    async loop() {
        while (this.running) {
            await this.postOne();
            if (this.gapMs) await sleep(this.gapMs);
        }
    }

    async postOne() {
        const content = `${this.tag} ${process.pid} #${++this.seq}`;
        const a = { content, status: 0, id: null, startedAt: Date.now(), endedAt: 0 };
        this.attempts.push(a);
        try {
            const r = await postForm(this.url, message({ ...this.fields, content }));
            a.status = r.status;
            if (r.status === 200) a.id = JSON.parse(r.body).id;
        } catch (e) {
            a.status = -1; /* connection failed: no answer at all */
            a.error = e.message;
        }
        a.endedAt = Date.now();
        return a;
    }

    async stop() {
        this.running = false;
        await Promise.all(this.loops || []);
    }

    acked() {
        return this.attempts.filter((a) => a.status === 200);
    }

    statusCounts() {
        const c = {};
        for (const a of this.attempts) c[a.status] = (c[a.status] || 0) + 1;
        return c;
    }
}

/*
 * A client that keeps a timeline across reconnects: on open it asks
 * {"after_id": highest id seen} and keeps asking while replies are full
 * (500), as PROTOCOL.md §4 tells a resuming client to. When its
 * connection drops it reconnects to the next URL in its list.
 */
class Follower {
    constructor(urls, { name = 'follower', reconnect = true } = {}) {
        this.urls = urls;
        this.name = name;
        this.reconnect = reconnect;
        this.seen = new Map(); /* id -> message */
        this.received = 0;     /* message copies, overlaps included */
        this.conflicts = 0;    /* same id, different message */
        this.connections = 0;
        this.closes = [];
        this.urlIndex = 0;
        this.stopped = false;
    }

    maxId() {
        let max = 0;
        for (const id of this.seen.keys()) if (id > max) max = id;
        return max;
    }

    absorb(msgs) {
        for (const m of msgs) {
            this.received++;
            const old = this.seen.get(m.id);
            if (old && JSON.stringify(old) !== JSON.stringify(m)) this.conflicts++;
            this.seen.set(m.id, m);
        }
    }

    async start() {
        await this.open();
        return this;
    }

    async open() {
        for (let tries = 0; !this.stopped; tries++) {
            const url = this.urls[this.urlIndex % this.urls.length];
            const c = new ChatClient(url);
            try {
                await c.opened;
            } catch {
                this.urlIndex++;
                if (tries > 50) throw new Error(`${this.name}: cannot reconnect`);
                await sleep(100);
                continue;
            }
            this.attach(c);
            return;
        }
    }

    attach(c) {
        this.client = c;
        this.connections++;
        const push = c.onFrame.bind(c);
        let taken = c.messages.length;
        c.onFrame = (data, isBinary) => {
            push(data, isBinary);
            this.absorb(c.messages.slice(taken));
            taken = c.messages.length;
            this.maybePage(c);
        };
        c.ws.on('close', (code) => {
            this.closes.push(code);
            if (this.stopped || !this.reconnect) return;
            this.urlIndex++;
            this.reconnecting = this.open().catch((e) => { this.failure = e.message; });
        });
        this.pageFrom = this.maxId();
        c.send({ after_id: this.pageFrom });
    }

    /*
     * A full page (500 messages) means ask again from its last id. Asking
     * once too often only costs an empty reply.
     */
    maybePage(c) {
        const f = c.frames[c.frames.length - 1];
        if (!f || f.messages.length < 500) return;
        const last = f.messages[f.messages.length - 1].id;
        if (last > this.pageFrom) {
            this.pageFrom = last;
            c.send({ after_id: last });
        }
    }

    missing(ids) {
        return ids.filter((id) => !this.seen.has(id));
    }

    async stop() {
        this.stopped = true;
        if (this.client) this.client.close();
    }
}

/* One line of figures per drill, in the test output and the TAP stream. */
function tally(t, drill, nums) {
    const line = `drill ${drill}: ` +
        Object.entries(nums).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
    console.log(line);
    if (t && t.diagnostic) t.diagnostic(line);
}

/* Wait until pred() holds, polling; false after timeoutMs. */
async function eventually(pred, timeoutMs, stepMs = 100) {
    const end = Date.now() + timeoutMs;
    for (;;) {
        if (await pred()) return true;
        if (Date.now() > end) return false;
        await sleep(stepMs);
    }
}

module.exports = {
    WRAPPED, SCALE, SLOW, procStats, measurableAsanEnv, storedMessages, publishDirect, Chatter, Follower, tally, eventually,
};
