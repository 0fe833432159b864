/*
 * The page's one WebSocket: which URL to open (endpoints.js), reconnecting
 * with backoff, giving up an open that hangs, and noticing a gateway that
 * went silent. A browser never sees WebSocket pings, so after a quiet
 * spell the link sends the heartbeat request (timeline.js) and, if
 * nothing at all arrives within the timeout, drops the socket and
 * reconnects; the timeline then resumes where it was.
 *
 * Everything outside is passed in: open(url) makes a WebSocket-like object
 * (readyState, send, close, onopen/onmessage/onclose), clock has now,
 * setTimeout and clearTimeout, and view gets what to show:
 *   view.connState(state, text)  'connecting' | 'reconnecting' | 'live'
 *   view.render(out)             a timeline Out (timeline.js)
 *   view.closed()                the socket is gone (hide the head count)
 *   view.warn(text)              a line for the console
 */
(function (root, make) {
    'use strict';
    if (typeof module === 'object' && module.exports) {
        module.exports = make(require('./backoff.js'));
    } else {
        const core = root.ChatCore = root.ChatCore || {};
        core.link = make(core.backoff);
    }
}(globalThis, function (backoff) {
    'use strict';

    const ATTEMPTS_CAP = 16;

    class Link {
        constructor({ endpoints, timeline, open, clock, random = Math.random, tuning, view }) {
            this.endpoints = endpoints;
            this.timeline = timeline;
            this.open = open;
            this.clock = clock;
            this.random = random;
            this.tuning = tuning;
            this.view = view;
            this.ws = null;
            this.isOpen = false;
            this.everOpen = false;
            this.attempt = 0; /* failed or fruitless sockets in a row */
            this.retryTimer = 0;
            this.openTimer = 0;
            this.beatTimer = 0;
            this.askTimer = 0;
            this.openedAt = 0;
            this.lastHeard = 0; /* when anything last arrived */
            this.beatSentAt = null; /* a heartbeat out with nothing heard since */
        }

        start() {
            this.connect();
        }

        /* The browser is back online: try now rather than after the pause. */
        online() {
            if (this.ws === null) this.connect();
        }

        wantOlder() {
            this.apply(this.timeline.wantOlder());
        }

        connect() {
            this.clock.clearTimeout(this.retryTimer);
            this.retryTimer = 0;
            if (this.everOpen) this.view.connState('reconnecting', 'Reconnecting…');
            else this.view.connState('connecting', 'Connecting…');
            let ws;
            try {
                ws = this.open(this.endpoints.next());
            } catch (e) {
                this.view.warn(`cannot open socket: ${e}`);
                this.endpoints.failed();
                this.scheduleReconnect();
                return;
            }
            this.ws = ws;
            this.isOpen = false;
            ws.onopen = () => this.onOpen(ws);
            ws.onmessage = (ev) => this.onMessage(ws, ev.data);
            ws.onclose = () => this.onClose(ws);
            this.openTimer = this.clock.setTimeout(() => this.openTimedOut(ws), this.tuning.openTimeoutMs);
        }

        onOpen(ws) {
            if (ws !== this.ws) return;
            this.clock.clearTimeout(this.openTimer);
            this.isOpen = true;
            this.everOpen = true;
            this.endpoints.opened();
            this.view.connState('live', 'Live');
            this.openedAt = this.clock.now();
            this.lastHeard = this.openedAt;
            this.apply(this.timeline.connected());
            /* The probe that connected() sent is the first heartbeat. */
            this.beatSentAt = this.openedAt;
            this.armBeat(this.tuning.heartbeatTimeoutMs);
        }

        onMessage(ws, data) {
            if (ws !== this.ws) return;
            this.lastHeard = this.clock.now();
            /* The timer waits for the heartbeat's timeout; the next quiet
             * spell may end sooner. */
            if (this.beatSentAt !== null) {
                this.beatSentAt = null;
                this.armBeat(this.beatDelay(this.lastHeard));
            }
            let v;
            try {
                v = JSON.parse(data);
            } catch {
                return;
            }
            const out = this.timeline.frame(v);
            if (out.delivered) this.attempt = 0;
            this.apply(out);
        }

        onClose(ws) {
            if (ws === this.ws) this.lose();
        }

        openTimedOut(ws) {
            if (ws !== this.ws || this.isOpen) return;
            this.view.warn('socket did not open in time');
            this.lose();
        }

        /* The current socket closed or is given up: reconnect. */
        lose() {
            const ws = this.ws;
            const wasOpen = this.isOpen;
            this.ws = null;
            this.isOpen = false;
            for (const t of [this.openTimer, this.beatTimer, this.askTimer]) this.clock.clearTimeout(t);
            ws.onopen = null;
            ws.onmessage = null;
            ws.onclose = null;
            /* A frozen peer would hold a closing handshake; nothing waits
             * for it. */
            try {
                ws.close();
            } catch {
                /* already closed */
            }
            if (wasOpen) this.endpoints.dropped();
            else this.endpoints.failed();
            this.apply(this.timeline.disconnected());
            this.view.closed();
            this.scheduleReconnect();
        }

        scheduleReconnect() {
            const delay = backoff.jittered(this.attempt, this.tuning.reconnectBaseMs,
                this.tuning.reconnectCapMs, this.random);
            this.attempt = Math.min(this.attempt + 1, ATTEMPTS_CAP);
            if (this.everOpen) this.view.connState('reconnecting', `Reconnecting in ${Math.ceil(delay / 1000)} s…`);
            else this.view.connState('connecting', 'Connecting…');
            /* Named: tests/browser/connect.test.js finds this timer by it. */
            const connect = () => this.connect();
            this.retryTimer = this.clock.setTimeout(connect, delay);
        }

        /* ---- liveness ---- */

        /* How long from now until beat() has something to decide. */
        beatDelay(now) {
            const { heartbeatIdleMs: idle, heartbeatTimeoutMs: timeout } = this.tuning;
            if (this.beatSentAt !== null) return this.beatSentAt + timeout - now;
            const quiet = this.lastHeard + idle - now;
            return this.timeline.probing() ? Math.min(quiet, this.openedAt + timeout - now) : quiet;
        }

        armBeat(ms) {
            this.clock.clearTimeout(this.beatTimer);
            this.beatTimer = this.clock.setTimeout(() => this.beat(), Math.max(0, ms));
        }

        /*
         * One timer, checked when it fires rather than reset on every
         * frame: a heartbeat out too long with nothing heard, or a probe
         * never answered, gives the socket up; a quiet spell sends one.
         */
        beat() {
            if (this.ws === null || !this.isOpen) return;
            const now = this.clock.now();
            const { heartbeatIdleMs: idle, heartbeatTimeoutMs: timeout } = this.tuning;
            if (this.beatSentAt !== null && now - this.beatSentAt >= timeout) {
                this.view.warn(`nothing heard for ${now - this.beatSentAt} ms after a heartbeat`);
                this.lose();
                return;
            }
            if (this.beatSentAt === null && this.timeline.probing() && now - this.openedAt >= timeout) {
                this.view.warn('the gateway never answered the probe');
                this.lose();
                return;
            }
            if (this.beatSentAt !== null || now - this.lastHeard < idle) {
                this.armBeat(this.beatDelay(now));
                return;
            }
            const text = this.timeline.heartbeat();
            if (text !== null) {
                this.write(text);
                this.beatSentAt = now;
                this.armBeat(timeout);
            } else {
                this.armBeat(idle);
            }
        }

        /* ---- acting on the timeline ---- */

        write(text) {
            try {
                this.ws.send(text);
            } catch (e) {
                this.view.warn(`send failed: ${e}`);
            }
        }

        apply(out) {
            if (this.ws !== null && this.isOpen) for (const text of out.send) this.write(text);
            if (out.retryInMs !== null) {
                this.clock.clearTimeout(this.askTimer);
                this.askTimer = this.clock.setTimeout(() => this.apply(this.timeline.retryDue()), out.retryInMs);
            }
            if (out.warn !== null) this.view.warn(out.warn);
            this.view.render(out);
        }
    }

    return { Link };
}));
