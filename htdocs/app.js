/*
 * The chat page. Speaks PROTOCOL.md: POSTs the form as FormData to
 * /chatapp/send and keeps one WebSocket to /chatapp/websocket, whose array
 * frames are message batches (merged by id, so overlaps never show twice)
 * and whose object frames are status objects (presence, error; others are
 * ignored). Every piece of data reaches the page through textContent.
 */
(function () {
    'use strict';

    /* PROTOCOL.md §1 and §4. */
    const RESUME_MAX = 500;
    const CONTENT_MAX_CHARS = 4000;

    const BACKOFF_BASE_MS = 500;
    const BACKOFF_CAP_MS = 15000;
    const BOTTOM_SLACK_PX = 48;
    const TOP_LOAD_PX = 120;
    const ANNOUNCE_KEEP = 5;
    /* A history request unanswered this long no longer blocks the next. */
    const REQUEST_STALE_MS = 10000;
    const STORE_KEY = 'chat.identity';
    const IDENTITY = ['name', 'email', 'topic'];

    const $ = (id) => document.getElementById(id);
    const els = {
        log: $('log'), list: $('messages'), edge: $('history-edge'),
        empty: $('empty'), pill: $('new-pill'), announcer: $('announcer'),
        conn: $('conn'), connText: $('conn-text'), presence: $('presence'),
        filter: $('topic-filter'), topics: $('topics'),
        form: $('composer'), content: $('content'), send: $('send'),
        count: $('content-count'), formError: $('form-error'),
    };

    const state = {
        byId: new Map(), /* id -> <li> */
        ids: [], /* every id shown, ascending */
        topics: new Set(),
        /* Every stored id from the lowest shown up to here has reached the
         * page: where a resume starts. */
        cursor: 0,
        seenMax: 0, /* highest id any socket delivered */
        /* While an after_id chain is open, where its next ask starts. */
        resumeFrom: null,
        loadedNewest: false,
        atBeginning: false,
        pending: null, /* the one request in flight */
        askAttempt: 0, /* refused requests in a row */
        askTimer: 0,
        ws: null,
        everOpen: false,
        attempt: 0,
        retryTimer: 0,
        unseen: 0,
        filter: '',
        sending: false,
    };

    /* ---- small DOM helpers (text only, never markup) ---- */

    function node(tag, cls, text) {
        const e = document.createElement(tag);
        if (cls) e.className = cls;
        if (text !== undefined) e.textContent = text;
        return e;
    }

    const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
    const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
    const yearFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
    const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

    function shortDate(d) {
        const sameYear = d.getFullYear() === new Date().getFullYear();
        return `${(sameYear ? dayFmt : yearFmt).format(d)}, ${timeFmt.format(d)}`;
    }

    function isMessage(m) {
        return m !== null && typeof m === 'object' && Number.isSafeInteger(m.id) && m.id > 0;
    }

    function str(v) {
        return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
    }

    /* A stable colour per sender, so a face is easy to follow. */
    function hue(text) {
        let h = 0;
        for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
        return h % 360;
    }

    function myEmail() {
        return els.form.elements.email.value.trim().toLowerCase();
    }

    /* ---- rendering one message ---- */

    function renderMessage(m) {
        const li = node('li', 'msg');
        const email = str(m.email);
        const topic = str(m.topic) || 'general';
        li.dataset.id = String(m.id);
        li.dataset.topic = topic;
        li.dataset.email = email.toLowerCase();

        const meta = node('div', 'meta');
        /* Focusable so keyboard users get the email the mouse gets on hover. */
        const avatar = node('span', 'avatar', [...str(m.name).trim()][0] || '?');
        avatar.setAttribute('aria-hidden', 'true');
        avatar.style.setProperty('--hue', String(hue(email)));
        const sender = node('span', 'sender');
        sender.tabIndex = 0;
        sender.title = email;
        sender.append(node('span', 'name', str(m.name)), node('span', 'email', email));
        meta.append(avatar, sender, node('span', 'you', 'you'), node('span', 'topic', topic));

        const time = document.createElement('time');
        const d = new Date(str(m.date));
        time.dateTime = str(m.date);
        if (Number.isNaN(d.getTime())) {
            time.textContent = str(m.date);
        } else {
            time.textContent = shortDate(d);
            time.title = fullFmt.format(d);
        }
        meta.append(time);
        if (m.ephemeral === true) {
            li.classList.add('ephemeral');
            const badge = node('span', 'badge', 'ephemeral');
            badge.title = 'Sent live only, never stored: people who join later will not see it';
            meta.append(badge);
        }
        li.append(meta, node('p', 'content', str(m.content)));
        markOwn(li);
        applyFilter(li);
        return li;
    }

    function markOwn(li) {
        const mine = myEmail();
        li.classList.toggle('own', mine !== '' && li.dataset.email === mine);
    }

    function applyFilter(li) {
        li.hidden = state.filter !== '' && li.dataset.topic !== state.filter;
    }

    function noteTopic(topic) {
        if (state.topics.has(topic)) return;
        state.topics.add(topic);
        const sorted = [...state.topics].sort((a, b) => a.localeCompare(b));
        const at = sorted.indexOf(topic);
        const opt = node('option', '', topic);
        opt.value = topic;
        /* option 0 is "All topics" */
        els.filter.insertBefore(opt, els.filter.options[at + 1] || null);
        const dl = node('option');
        dl.value = topic;
        els.topics.insertBefore(dl, els.topics.children[at] || null);
    }

    /* ---- scrolling ---- */

    function atBottom() {
        const l = els.log;
        return l.scrollHeight - l.scrollTop - l.clientHeight < BOTTOM_SLACK_PX;
    }

    function scrollToBottom() {
        els.log.scrollTop = els.log.scrollHeight;
        state.unseen = 0;
        els.pill.hidden = true;
    }

    function showPill(n) {
        state.unseen += n;
        els.pill.textContent = state.unseen === 1 ? '1 new message ↓' : `${state.unseen} new messages ↓`;
        els.pill.hidden = false;
    }

    /*
     * Merge messages into the timeline by id. Older ones (a history page)
     * keep what the reader looks at in place; newer ones follow the reader
     * to the bottom only if the reader was already there. batch holds
     * only objects that passed isMessage. Returns the messages added.
     */
    function merge(batch, opts) {
        const log = els.log;
        const wasAtBottom = atBottom();
        const lowest = state.ids.length ? state.ids[0] : Infinity;
        const fromBottom = log.scrollHeight - log.scrollTop;
        const added = [];
        for (const m of batch) {
            if (state.byId.has(m.id)) continue;
            insert(m);
            added.push(m);
        }
        if (added.length === 0) return added;
        els.empty.hidden = true;
        if (lowest !== Infinity && added.every((m) => m.id < lowest)) {
            log.scrollTop = log.scrollHeight - fromBottom;
        } else if (wasAtBottom || opts.own) {
            scrollToBottom();
        } else {
            const visible = added.filter((m) => !state.byId.get(m.id).hidden).length;
            if (visible) showPill(visible);
        }
        return added;
    }

    function insert(m) {
        let lo = 0;
        let hi = state.ids.length;
        while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (state.ids[mid] < m.id) lo = mid + 1;
            else hi = mid;
        }
        const li = renderMessage(m);
        const next = lo < state.ids.length ? state.byId.get(state.ids[lo]) : null;
        els.list.insertBefore(li, next);
        state.ids.splice(lo, 0, m.id);
        state.byId.set(m.id, li);
        noteTopic(li.dataset.topic);
    }

    function announce(text) {
        els.announcer.append(node('p', '', text));
        while (els.announcer.childElementCount > ANNOUNCE_KEEP) {
            els.announcer.firstElementChild.remove();
        }
    }

    /* Other people's new messages; one's own is confirmed by send(). */
    function announceLive(batch) {
        const added = batch.filter((m) => !state.byId.get(m.id).classList.contains('own'));
        if (added.length === 0) return;
        if (added.length > 3) {
            announce(`${added.length} new messages`);
            return;
        }
        for (const m of added) {
            const content = str(m.content);
            const cut = content.length > 200 ? `${content.slice(0, 200)}…` : content;
            announce(`${str(m.name)} in ${str(m.topic)}: ${cut}`);
        }
    }

    /* ---- history ---- */

    function setEdge(s) {
        els.edge.dataset.state = s;
        els.edge.textContent = s === 'loading' ? 'Loading older messages…'
            : s === 'beginning' ? 'Beginning of history' : '';
    }

    /*
     * Send a request unless one is in flight. Answers carry no request id,
     * so with one at a time an empty array or a status error can only
     * answer it. A request unanswered for long no longer blocks the next.
     */
    function ask(obj, pending) {
        const ws = state.ws;
        if (!ws || ws.readyState !== WebSocket.OPEN) return false;
        if (state.pending && Date.now() - state.pending.at < REQUEST_STALE_MS) return false;
        pending.at = Date.now();
        state.pending = pending;
        ws.send(JSON.stringify(obj));
        return true;
    }

    /* The next request the timeline needs: the newest page first, then
     * the rest of a resume, then older pages while the log cannot scroll. */
    function pump() {
        if (!state.loadedNewest) {
            ask({ first_id: 0, last_id: -1 }, { kind: 'newest' });
        } else if (state.resumeFrom !== null) {
            ask({ after_id: state.resumeFrom }, { kind: 'after' });
        } else {
            fillViewport();
        }
    }

    function loadOlder() {
        if (state.atBeginning || !state.loadedNewest || state.resumeFrom !== null) return;
        if (state.ids.length === 0) {
            reachBeginning();
            return;
        }
        const below = state.ids[0];
        if (ask({ first_id: 0, last_id: below }, { kind: 'older', below })) setEdge('loading');
    }

    function reachBeginning() {
        state.atBeginning = true;
        setEdge('beginning');
        els.empty.hidden = state.ids.length !== 0;
    }

    /* Keep loading older pages until the log can scroll (or history ends),
     * since a reader cannot scroll up a list that does not overflow. */
    function fillViewport() {
        const l = els.log;
        if (l.scrollHeight <= l.clientHeight + TOP_LOAD_PX || l.scrollTop < TOP_LOAD_PX) loadOlder();
    }

    /*
     * Whether an array frame answers the request in flight; the wire does
     * not say. Live batches are never empty and never lie wholly below the
     * lowest id shown, so an "older" answer is told apart; for "newest"
     * and "after" the next array is taken, which track() keeps safe.
     */
    function answers(p, batch) {
        if (p === null) return false;
        if (batch.length === 0) return true;
        return p.kind !== 'older' || batch.every((m) => isMessage(m) && m.id < p.below);
    }

    /*
     * Move the resume cursor. A full batch may be a resume page with more
     * behind it, whether it answered our ask or is a late answer that a
     * live batch was taken for: the chain goes on from that batch's own
     * last id (PROTOCOL.md §4), never from a later live id, which would
     * skip what lies between. While a chain is open live batches leave
     * the cursor alone; a short answer closes it, and then every stored
     * id up to the highest seen has arrived (older ones in that answer,
     * newer ones live). A live batch mistaken for an answer leaves one
     * gap: the connection dropping before the real answer comes.
     */
    function track(msgs, p) {
        for (const m of msgs) state.seenMax = Math.max(state.seenMax, m.id);
        if (p !== null && p.kind === 'older') return;
        if (msgs.length >= RESUME_MAX) {
            const last = msgs[msgs.length - 1].id;
            state.cursor = p !== null && p.kind === 'after' ? last : Math.min(state.cursor, last);
            state.resumeFrom = state.cursor;
        } else if (p !== null || state.resumeFrom === null) {
            if (p !== null) state.resumeFrom = null;
            if (state.loadedNewest) state.cursor = state.seenMax;
        }
    }

    function onBatch(batch) {
        const msgs = batch.filter(isMessage);
        const p = answers(state.pending, batch) ? state.pending : null;
        if (p !== null) {
            state.pending = null;
            state.askAttempt = 0;
        }
        /* Only a socket that delivered something resets the backoff, so a
         * gateway that accepts and drops at once is not hammered. */
        state.attempt = 0;
        const shownMax = state.ids.length ? state.ids[state.ids.length - 1] : 0;
        const added = merge(msgs, {});

        if (p !== null && p.kind === 'newest') state.loadedNewest = true;
        track(msgs, p);
        if (p !== null && batch.length === 0 && p.kind !== 'after') reachBeginning();
        else if (p !== null && p.kind === 'older') setEdge('idle');
        if (p === null || p.kind === 'after') {
            announceLive(added.filter((m) => m.id > shownMax));
        }
        pump();
    }

    /* ---- status objects ---- */

    /*
     * The gateway refused the request in flight (busy, shutting down,
     * Redis slow). What it was to fetch is still missing, so ask again
     * after a growing pause rather than at once.
     */
    function onRefused(text) {
        console.warn('chat: gateway error:', text);
        const p = state.pending;
        if (p === null) return;
        state.pending = null;
        if (p.kind === 'older') setEdge('idle');
        clearTimeout(state.askTimer);
        state.askTimer = setTimeout(pump, backoff(state.askAttempt));
        state.askAttempt = Math.min(state.askAttempt + 1, 16);
    }

    function onStatus(s) {
        if (s.type === 'presence' && Number.isSafeInteger(s.online) && s.online >= 0) {
            els.presence.textContent = `${s.online} online`;
            els.presence.hidden = false;
        } else if (s.type === 'error') {
            onRefused(str(s.error));
        }
        /* Unknown types are ignored (PROTOCOL.md §4). */
    }

    /* ---- connection ---- */

    function setConn(s, text) {
        els.conn.dataset.state = s;
        els.connText.textContent = text;
    }

    function socketUrl() {
        const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
        return `${scheme}//${location.host}/chatapp/websocket`;
    }

    function connect() {
        clearTimeout(state.retryTimer);
        if (state.everOpen) setConn('reconnecting', 'Reconnecting…');
        else setConn('connecting', 'Connecting…');
        let ws;
        try {
            ws = new WebSocket(socketUrl());
        } catch (e) {
            console.warn('chat: cannot open socket:', e);
            scheduleReconnect();
            return;
        }
        state.ws = ws;
        ws.onopen = () => {
            state.everOpen = true;
            setConn('live', 'Live');
            /* Resume from the cursor, not the highest id seen: ids above it
             * may have gaps below them. */
            state.resumeFrom = state.loadedNewest ? state.cursor : null;
            pump();
        };
        ws.onmessage = (ev) => {
            let v;
            try {
                v = JSON.parse(ev.data);
            } catch {
                return;
            }
            if (Array.isArray(v)) onBatch(v);
            else if (v !== null && typeof v === 'object') onStatus(v);
        };
        ws.onclose = () => {
            if (state.ws !== ws) return;
            state.ws = null;
            if (state.pending && state.pending.kind === 'older') setEdge('idle');
            state.pending = null;
            clearTimeout(state.askTimer);
            els.presence.hidden = true;
            scheduleReconnect();
        };
    }

    /* Exponential backoff with jitter, so a restarted gateway is not hit
     * by every browser in the same millisecond. */
    function backoff(attempt) {
        const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
        return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    }

    function scheduleReconnect() {
        const delay = backoff(state.attempt);
        state.attempt = Math.min(state.attempt + 1, 16);
        if (state.everOpen) setConn('reconnecting', `Reconnecting in ${Math.ceil(delay / 1000)} s…`);
        else setConn('connecting', 'Connecting…');
        clearTimeout(state.retryTimer);
        state.retryTimer = setTimeout(connect, delay);
    }

    /* ---- sending ---- */

    function fieldError(name) {
        return $(`${name}-error`);
    }

    function clearErrors() {
        for (const name of ['name', 'email', 'topic', 'content']) {
            fieldError(name).textContent = '';
            els.form.elements[name].removeAttribute('aria-invalid');
        }
        els.formError.textContent = '';
    }

    function showError(field, text) {
        const input = field ? els.form.elements[field] : null;
        const slot = input ? fieldError(field) : null;
        if (input && slot) {
            slot.textContent = text;
            input.setAttribute('aria-invalid', 'true');
            input.focus();
        } else {
            els.formError.textContent = text;
        }
    }

    function setSending(on) {
        state.sending = on;
        els.send.disabled = on;
        els.send.textContent = on ? 'Sending…' : 'Send';
        els.form.setAttribute('aria-busy', on ? 'true' : 'false');
    }

    function saveIdentity() {
        const id = {};
        for (const k of IDENTITY) id[k] = els.form.elements[k].value;
        try {
            localStorage.setItem(STORE_KEY, JSON.stringify(id));
        } catch {
            /* storage off: the page still works, it just forgets */
        }
    }

    function loadIdentity() {
        let id = null;
        try {
            id = JSON.parse(localStorage.getItem(STORE_KEY) || 'null');
        } catch {
            id = null;
        }
        if (!id || typeof id !== 'object') return;
        for (const k of IDENTITY) {
            if (typeof id[k] === 'string') els.form.elements[k].value = id[k];
        }
    }

    function describeFailure(status, body) {
        if (body && typeof body.error === 'string' && body.error !== '') {
            return `Not sent: ${body.error}`;
        }
        if (status === 503) return 'Not sent: the chat service is unavailable right now. Please try again.';
        if (status === 429) return 'Not sent: you are sending too fast. Wait a moment and try again.';
        return `Not sent: the server answered ${status}. Please try again.`;
    }

    async function send(ev) {
        ev.preventDefault();
        if (state.sending) return;
        clearErrors();
        const data = new FormData(els.form);
        setSending(true);
        let ok = false;
        try {
            const r = await fetch(els.form.action, { method: 'POST', body: data });
            const text = await r.text();
            let body = null;
            try {
                body = JSON.parse(text);
            } catch {
                body = null;
            }
            if (r.status === 200) {
                ok = true;
                announce('Message sent');
                els.content.value = '';
                updateCount();
                saveIdentity();
                /* Shown at once; the socket copy is merged by id. The
                 * resume cursor only moves on socket frames, so nothing
                 * stored meanwhile can be skipped. */
                if (isMessage(body)) merge([body], { own: true });
                scrollToBottom();
            } else {
                const field = body && typeof body.field === 'string' ? body.field : '';
                const known = ['name', 'email', 'topic', 'content'].includes(field);
                /* The server's own words beside the field; if it gave none,
                 * the field is still marked and the generic sentence said. */
                const said = known && typeof body.error === 'string' && body.error !== '';
                showError(known ? field : '', said ? body.error : describeFailure(r.status, null));
            }
        } catch (e) {
            showError('', 'Not sent: the network failed. Your message is kept; try again.');
        } finally {
            setSending(false);
            if (ok) els.content.focus();
        }
    }

    function updateCount() {
        const n = [...els.content.value].length;
        els.count.textContent = n > CONTENT_MAX_CHARS * 0.8 ? `${n} / ${CONTENT_MAX_CHARS}` : '';
        els.count.classList.toggle('over', n > CONTENT_MAX_CHARS);
    }

    /* ---- wiring ---- */

    function wire() {
        els.form.addEventListener('submit', send);
        els.content.addEventListener('keydown', (ev) => {
            if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
                ev.preventDefault();
                if (!state.sending) els.form.requestSubmit();
            }
        });
        els.content.addEventListener('input', updateCount);
        /* Following a fragment does not move keyboard focus by itself. */
        document.querySelector('.skip').addEventListener('click', (ev) => {
            ev.preventDefault();
            els.content.focus();
        });
        for (const name of ['name', 'email', 'topic', 'content']) {
            els.form.elements[name].addEventListener('input', () => {
                fieldError(name).textContent = '';
                els.form.elements[name].removeAttribute('aria-invalid');
            });
        }
        for (const k of IDENTITY) els.form.elements[k].addEventListener('change', saveIdentity);
        els.form.elements.email.addEventListener('input', () => {
            for (const li of state.byId.values()) markOwn(li);
        });
        els.log.addEventListener('scroll', () => {
            if (atBottom()) {
                state.unseen = 0;
                els.pill.hidden = true;
            }
            if (els.log.scrollTop < TOP_LOAD_PX) loadOlder();
        }, { passive: true });
        els.pill.addEventListener('click', () => {
            scrollToBottom();
            els.log.focus();
        });
        els.filter.addEventListener('change', () => {
            state.filter = els.filter.value;
            for (const li of state.byId.values()) applyFilter(li);
            scrollToBottom();
            fillViewport();
        });
        window.addEventListener('online', () => {
            if (!state.ws) connect();
        });
    }

    loadIdentity();
    wire();
    updateCount();
    connect();
})();
