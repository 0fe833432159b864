/*
 * The page's history protocol (PROTOCOL.md §4), without a socket or a DOM:
 * which requests to send and when, what an incoming frame means, which
 * messages are new, and where a resume starts. Every call returns an
 * Out (see newOut) that the caller acts on: frames to send, messages to
 * render and where, and what the history edge should say.
 *
 * Every request carries a fresh tag ("req"), and a tagged answer is
 * matched to its request by that tag alone, so a live batch is never
 * taken for an answer. Each new connection first sends the heartbeat
 * request of the page-config contract as a probe: a gateway that reads
 * tags answers it {"type":"reply","req":...}; an older one refuses it
 * with an untagged error (or answers a bare []), and the connection then
 * speaks the classic untagged protocol, with one request at a time.
 */
(function (root, make) {
    'use strict';
    if (typeof module === 'object' && module.exports) {
        module.exports = make(require('./backoff.js'));
    } else {
        const core = root.ChatCore = root.ChatCore || {};
        core.timeline = make(core.backoff);
    }
}(globalThis, function (backoff) {
    'use strict';

    /* PROTOCOL.md §4: a full after_id reply, and a full page. */
    const RESUME_MAX = 500;
    const PAGE_MAX = 50;
    /* An empty range the gateway answers at once without Redis. A JS
     * number cannot hold it, so the request is written as text. */
    const HEARTBEAT_AFTER_ID = '9223372036854775807';
    const REFUSALS_CAP = 16;
    /* Which requests may be in flight together: one of each slot. */
    const SLOT = { newest: 'sync', after: 'sync', older: 'older', probe: 'beat', heartbeat: 'beat' };
    const TAG_PREFIX = { newest: 'n', after: 'a', older: 'o', probe: 'hb', heartbeat: 'hb' };

    function isMessage(m) {
        return m !== null && typeof m === 'object' && Number.isSafeInteger(m.id) && m.id > 0;
    }

    function str(v) {
        return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
    }

    /* Where id goes in the ascending array ids. */
    function insertionPoint(ids, id) {
        let lo = 0;
        let hi = ids.length;
        while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (ids[mid] < id) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /* The JSON text of a request; tag null for an untagged one. */
    function requestText(kind, arg, tag) {
        if (kind === 'probe' || kind === 'heartbeat') {
            return `{"after_id":${HEARTBEAT_AFTER_ID},"req":"${tag}"}`;
        }
        const obj = kind === 'newest' ? { first_id: 0, last_id: -1 }
            : kind === 'older' ? { first_id: 0, last_id: arg } : { after_id: arg };
        if (tag !== null) obj.req = tag;
        return JSON.stringify(obj);
    }

    /*
     * What the caller does after a call:
     *   send      request texts to write to the socket, in order
     *   added     [{message, before}] newly shown, in the order to insert:
     *             before is the id of the shown message it goes in front
     *             of (null: at the end)
     *   olderOnly every added message lies below what was shown (a page of
     *             older history: keep the reader's view where it is)
     *   fresh     the added messages that are news: live or resumed, and
     *             above everything shown before
     *   own       the caller's own sent message was added
     *   delivered a socket delivered messages (resets the reconnect
     *             backoff, so a gateway that accepts and drops at once is
     *             not hammered)
     *   edge      null, or the history edge: 'loading' | 'idle' | 'beginning'
     *   empty     at the beginning of history: whether nothing is shown
     *   presence  null, or the online count to show
     *   retryInMs null, or: call retryDue() after this pause
     *   warn      null, or a line for the console
     */
    function newOut() {
        return {
            send: [], added: [], olderOnly: false, fresh: [], own: false, delivered: false,
            edge: null, empty: null, presence: null, retryInMs: null, warn: null,
        };
    }

    class Timeline {
        /*
         * opts.now() (ms, for old gateways' stale requests), opts.random()
         * (jitter), opts.tuning (requestStaleMs, refusedBaseMs,
         * reconnectCapMs; see tuning.js).
         */
        constructor(opts = {}) {
            const tuning = opts.tuning || {};
            this.now = opts.now || (() => Date.now());
            this.random = opts.random || Math.random;
            this.staleMs = tuning.requestStaleMs || 10000;
            this.refusedBaseMs = tuning.refusedBaseMs || 500;
            this.refusedCapMs = tuning.reconnectCapMs || 15000;
            this.ids = []; /* every id shown, ascending */
            this.shown = new Set();
            /* Highest id any socket delivered (a sent message's own 200
             * does not count: stored messages below it may be missing). */
            this.seenMax = 0;
            /* Every stored id from the lowest shown up to here has
             * arrived: where a resume starts. */
            this.cursor = 0;
            /* While an after_id chain is open, where its next ask starts. */
            this.resumeFrom = null;
            this.loadedNewest = false;
            this.atBeginning = false;
            /* null: no socket; 'probing', 'tagged' or 'legacy'. */
            this.mode = null;
            this.pending = new Map(); /* tag -> {kind, arg, slot} */
            this.legacy = null; /* old gateways: the one request in flight */
            this.tagSeq = 0;
            this.refusals = 0; /* refused requests in a row */
            this.holding = false; /* after a refusal, until retryDue() */
        }

        /* ---- what the caller tells it ---- */

        /* A socket opened: probe it, and resume once the probe is answered. */
        connected() {
            const out = newOut();
            this.mode = 'probing';
            this.pending.clear();
            this.legacy = null;
            this.holding = false;
            this.resumeFrom = this.loadedNewest ? this.cursor : null;
            this.ask(out, 'probe', null);
            return out;
        }

        /* The socket is gone: nothing in flight can be answered any more. */
        disconnected() {
            const out = newOut();
            const olderOut = [...this.pending.values()].some((p) => p.kind === 'older')
                || (this.legacy !== null && this.legacy.kind === 'older');
            if (olderOut) out.edge = 'idle';
            this.mode = null;
            this.pending.clear();
            this.legacy = null;
            this.holding = false;
            return out;
        }

        /* One parsed frame from the socket. */
        frame(v) {
            const out = newOut();
            if (this.mode === null) return out;
            if (Array.isArray(v)) {
                if (this.mode === 'legacy') this.legacyBatch(out, v);
                else if (this.mode === 'probing' && v.length === 0) this.probeAnswered(out, 'legacy');
                else this.live(out, v);
            } else if (v !== null && typeof v === 'object') {
                this.status(out, v);
            }
            return out;
        }

        /* The reader is near the top: ask for the page below, if due. */
        wantOlder() {
            const out = newOut();
            if (this.atBeginning || !this.loadedNewest || this.holding) return out;
            if (this.mode === 'tagged' && this.slotBusy('older')) return out;
            if (this.mode === 'legacy' && this.resumeFrom !== null) return out;
            if (this.mode !== 'tagged' && this.mode !== 'legacy') return out;
            if (this.ids.length === 0) {
                this.reachBeginning(out);
                return out;
            }
            this.ask(out, 'older', this.ids[0]);
            return out;
        }

        /* The pause after a refusal is over. */
        retryDue() {
            const out = newOut();
            this.holding = false;
            this.pump(out);
            return out;
        }

        /*
         * The heartbeat request to send now, or null while probing (the
         * probe is one) or on an old gateway (which does not answer it at
         * once). The link asks only after a quiet spell that followed
         * progress, so an earlier heartbeat still unanswered is dropped:
         * waiting on it would stop every later one.
         */
        heartbeat() {
            if (this.mode !== 'tagged') return null;
            for (const [tag, p] of this.pending) if (p.kind === 'heartbeat') this.pending.delete(tag);
            const out = newOut();
            this.ask(out, 'heartbeat', null);
            return out.send[0];
        }

        probing() {
            return this.mode === 'probing';
        }

        /* The send handler's 200: show the message at once. */
        ownSent(m) {
            const out = newOut();
            if (isMessage(m)) this.merge(out, [m], false);
            out.own = out.added.length > 0;
            return out;
        }

        /* ---- requests ---- */

        slotBusy(slot) {
            for (const p of this.pending.values()) if (p.slot === slot) return true;
            return false;
        }

        /* Old gateways get one request at a time: only then can an
         * untagged answer be told from a live batch at all. */
        ask(out, kind, arg) {
            if (this.mode === 'legacy') {
                if (this.legacy !== null && this.now() - this.legacy.at < this.staleMs) return;
                this.legacy = { kind, arg, at: this.now() };
                out.send.push(requestText(kind, arg, null));
            } else {
                const tag = `${TAG_PREFIX[kind]}-${++this.tagSeq}`;
                this.pending.set(tag, { kind, arg, slot: SLOT[kind] });
                out.send.push(requestText(kind, arg, tag));
            }
            if (kind === 'older') out.edge = 'loading';
        }

        /* The next request the timeline needs: the newest page first, then
         * the rest of a resume (older pages are asked by wantOlder). */
        pump(out) {
            if (this.holding) return;
            if (this.mode === 'tagged' && this.slotBusy('sync')) return;
            if (this.mode !== 'tagged' && this.mode !== 'legacy') return;
            if (!this.loadedNewest) this.ask(out, 'newest', null);
            else if (this.resumeFrom !== null) this.ask(out, 'after', this.resumeFrom);
        }

        holdOff(out) {
            this.holding = true;
            out.retryInMs = backoff.jittered(this.refusals, this.refusedBaseMs, this.refusedCapMs, this.random);
            this.refusals = Math.min(this.refusals + 1, REFUSALS_CAP);
        }

        /* ---- answers ---- */

        status(out, s) {
            const p = typeof s.req === 'string' ? this.pending.get(s.req) : undefined;
            if (s.type === 'presence') {
                if (Number.isSafeInteger(s.online) && s.online >= 0) out.presence = s.online;
            } else if (s.type === 'reply' && p !== undefined) {
                this.pending.delete(s.req);
                this.answered(out, p, Array.isArray(s.messages) ? s.messages : []);
            } else if (s.type === 'error' && p !== undefined) {
                this.pending.delete(s.req);
                this.refused(out, p, s.error);
            } else if (s.type === 'error' && this.mode === 'probing') {
                /* An error without our tag can only come from a gateway
                 * that could not read the tag at all. */
                this.probeAnswered(out, 'legacy');
            } else if (s.type === 'error' && this.mode === 'legacy') {
                this.legacyRefused(out, s.error);
            }
            /* Anything else answers nothing of ours, or is a type we do
             * not know (PROTOCOL.md §4 says to ignore those). */
        }

        probeAnswered(out, mode) {
            this.pending.clear();
            this.mode = mode;
            this.pump(out);
        }

        answered(out, p, raw) {
            if (p.kind === 'probe') {
                this.probeAnswered(out, 'tagged');
                return;
            }
            if (p.kind === 'heartbeat') return;
            const msgs = raw.filter(isMessage);
            out.delivered = true;
            this.refusals = 0;
            this.noteSeen(msgs);
            if (p.kind === 'older') {
                this.merge(out, msgs, false);
                if (raw.length === 0) this.reachBeginning(out);
                else out.edge = 'idle';
            } else if (p.kind === 'newest') {
                this.merge(out, msgs, false);
                this.loadedNewest = true;
                if (raw.length === 0) this.reachBeginning(out);
                this.resumeFrom = this.gapBelow(msgs);
                this.cursor = this.resumeFrom === null ? this.seenMax : this.resumeFrom;
            } else {
                this.merge(out, msgs, true);
                this.afterAnswered(msgs, raw.length >= RESUME_MAX);
            }
            this.pump(out);
        }

        /*
         * A full after_id reply goes on from its own last id (PROTOCOL.md
         * §4), never from a later live id, which would skip what lies
         * between; a short one ends the chain, and then every stored id
         * up to the highest seen has arrived (older ones in the replies,
         * newer ones live, since the live feed began before the ask).
         */
        afterAnswered(msgs, full) {
            if (full && msgs.length > 0) {
                const last = Math.max(...msgs.map((m) => m.id));
                this.cursor = last;
                this.resumeFrom = last;
            } else {
                this.resumeFrom = null;
                this.cursor = this.seenMax;
            }
        }

        /*
         * A full newest page with messages shown below it (live ones from
         * a socket that dropped before its first page came) may have
         * left a hole between them: resume from the highest one below.
         */
        gapBelow(msgs) {
            if (msgs.length < PAGE_MAX) return null;
            const first = Math.min(...msgs.map((m) => m.id));
            const at = insertionPoint(this.ids, first);
            return at > 0 ? this.ids[at - 1] : null;
        }

        /*
         * The gateway refused a request (busy, shutting down, Redis slow).
         * What it was to fetch is still missing, so ask again after a
         * growing pause rather than at once.
         */
        refused(out, p, text) {
            out.warn = `gateway error: ${str(text)}`;
            if (p.kind === 'probe') {
                /* It echoed our tag, so it speaks tags. */
                this.probeAnswered(out, 'tagged');
                return;
            }
            if (p.kind === 'heartbeat') return;
            if (p.kind === 'older') out.edge = 'idle';
            this.holdOff(out);
        }

        live(out, batch) {
            const msgs = batch.filter(isMessage);
            out.delivered = true;
            this.noteSeen(msgs);
            this.merge(out, msgs, true);
            /* Once this connection has caught up, live messages follow on
             * without gaps; before that they may lie above one. */
            if (this.mode === 'tagged' && this.loadedNewest && this.resumeFrom === null) {
                this.cursor = this.seenMax;
            }
        }

        /* ---- old gateways: untagged answers ---- */

        /*
         * Whether an array answers the request in flight; the classic wire
         * does not say. Live batches are never empty and never lie wholly
         * below the lowest id shown, so an "older" answer is told apart;
         * for "newest" and "after" the next array is taken, which
         * legacyTrack keeps safe.
         */
        legacyAnswers(batch) {
            const p = this.legacy;
            if (p === null) return false;
            if (batch.length === 0) return true;
            return p.kind !== 'older' || batch.every((m) => isMessage(m) && m.id < p.arg);
        }

        legacyBatch(out, batch) {
            const msgs = batch.filter(isMessage);
            const p = this.legacyAnswers(batch) ? this.legacy : null;
            if (p !== null) {
                this.legacy = null;
                this.refusals = 0;
            }
            out.delivered = true;
            this.noteSeen(msgs);
            this.merge(out, msgs, p === null || p.kind === 'after');
            if (p !== null && p.kind === 'newest') this.loadedNewest = true;
            this.legacyTrack(msgs, p);
            if (p !== null && batch.length === 0 && p.kind !== 'after') this.reachBeginning(out);
            else if (p !== null && p.kind === 'older') out.edge = 'idle';
            this.pump(out);
        }

        /*
         * A full batch may be a resume page with more behind it, whether it
         * answered our ask or is a late answer that a live batch was taken
         * for: the chain goes on from that batch's own last id. While a
         * chain is open live batches leave the cursor alone; a short
         * answer closes it. A live batch mistaken for an answer leaves one
         * gap: the connection dropping before the real answer comes.
         */
        legacyTrack(msgs, p) {
            if (p !== null && p.kind === 'older') return;
            if (msgs.length >= RESUME_MAX) {
                const last = msgs[msgs.length - 1].id;
                this.cursor = p !== null && p.kind === 'after' ? last : Math.min(this.cursor, last);
                this.resumeFrom = this.cursor;
            } else if (p !== null || this.resumeFrom === null) {
                if (p !== null) this.resumeFrom = null;
                if (this.loadedNewest) this.cursor = this.seenMax;
            }
        }

        legacyRefused(out, text) {
            out.warn = `gateway error: ${str(text)}`;
            const p = this.legacy;
            if (p === null) return;
            this.legacy = null;
            if (p.kind === 'older') out.edge = 'idle';
            this.holdOff(out);
        }

        /* ---- the timeline itself ---- */

        noteSeen(msgs) {
            for (const m of msgs) if (m.id > this.seenMax) this.seenMax = m.id;
        }

        merge(out, msgs, news) {
            const lowest = this.ids.length ? this.ids[0] : Infinity;
            const highest = this.ids.length ? this.ids[this.ids.length - 1] : 0;
            let below = lowest !== Infinity;
            for (const m of msgs) {
                if (this.shown.has(m.id)) continue;
                const at = insertionPoint(this.ids, m.id);
                this.ids.splice(at, 0, m.id);
                this.shown.add(m.id);
                out.added.push({ message: m, before: at + 1 < this.ids.length ? this.ids[at + 1] : null });
                if (m.id > lowest) below = false;
                if (news && m.id > highest) out.fresh.push(m);
            }
            out.olderOnly = out.added.length > 0 && below;
        }

        reachBeginning(out) {
            this.atBeginning = true;
            out.edge = 'beginning';
            out.empty = this.ids.length === 0;
        }
    }

    return { Timeline, isMessage, str, requestText, RESUME_MAX, PAGE_MAX, HEARTBEAT_AFTER_ID };
}));
