/*
 * The chat page's DOM side: it renders what the core modules (core/*.js,
 * loaded before it) decide and wires the page's events to them. The
 * protocol itself (history requests and their tags, resume, merge by id,
 * reconnecting, heartbeats, send retries, where to connect) lives there,
 * with unit tests of its own. Every piece of data reaches the page
 * through textContent, never as markup.
 */
(function () {
    'use strict';

    const core = globalThis.ChatCore;
    const tuning = core.tuning.make(globalThis.chatTuning);

    /* PROTOCOL.md §1. */
    const CONTENT_MAX_CHARS = 4000;

    const BOTTOM_SLACK_PX = 48;
    const TOP_LOAD_PX = 120;
    const ANNOUNCE_KEEP = 5;
    const STORE_KEY = 'chat.identity';
    const IDENTITY = ['name', 'email', 'topic'];
    const FIELDS = ['name', 'email', 'topic', 'content'];

    const $ = (id) => document.getElementById(id);
    const els = {
        log: $('log'), list: $('messages'), edge: $('history-edge'),
        empty: $('empty'), pill: $('new-pill'), announcer: $('announcer'),
        conn: $('conn'), connText: $('conn-text'), presence: $('presence'),
        filter: $('topic-filter'), topics: $('topics'),
        form: $('composer'), content: $('content'), send: $('send'),
        count: $('content-count'), formError: $('form-error'),
        sendStatus: $('send-status'), sendStatusText: $('send-status-text'), sendAgain: $('send-again'),
    };

    const state = {
        byId: new Map(), /* id -> <li> */
        topics: new Set(),
        unseen: 0,
        filter: '',
    };

    const clock = {
        now: () => Date.now(),
        setTimeout: (fn, ms) => setTimeout(fn, ms),
        clearTimeout: (t) => clearTimeout(t),
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

    const str = core.timeline.str;

    /* A stable colour per sender, so a face is easy to follow. */
    function hue(text) {
        let h = 0;
        for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
        return h % 360;
    }

    function myEmail() {
        return els.form.elements.email.value;
    }

    /* ---- rendering one message ---- */

    function renderMessage(m) {
        const li = node('li', 'msg');
        const email = str(m.email);
        const topic = core.news.topicOf(m);
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
        markOwn(li, m);
        applyFilter(li);
        return li;
    }

    function markOwn(li, m) {
        li.classList.toggle('own', core.news.isOwn(m, myEmail()));
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
        els.pill.textContent = core.news.pillText(state.unseen);
        els.pill.hidden = false;
    }

    /* Keep loading older pages until the log can scroll (or history ends),
     * since a reader cannot scroll up a list that does not overflow. */
    function fillViewport() {
        const l = els.log;
        if (link === null) return;
        if (l.scrollHeight <= l.clientHeight + TOP_LOAD_PX || l.scrollTop < TOP_LOAD_PX) link.wantOlder();
    }

    function announce(text) {
        els.announcer.append(node('p', '', text));
        while (els.announcer.childElementCount > ANNOUNCE_KEEP) {
            els.announcer.firstElementChild.remove();
        }
    }

    function setEdge(s) {
        els.edge.dataset.state = s;
        els.edge.textContent = s === 'loading' ? 'Loading older messages…'
            : s === 'beginning' ? 'Beginning of history' : '';
    }

    /*
     * Show what the timeline decided. Older messages (a history page) keep
     * what the reader looks at in place; newer ones follow the reader to
     * the bottom only if the reader was already there, else raise the pill.
     */
    function render(out) {
        if (out.added.length > 0) {
            const log = els.log;
            const wasAtBottom = atBottom();
            const fromBottom = log.scrollHeight - log.scrollTop;
            for (const { message, before } of out.added) {
                const li = renderMessage(message);
                els.list.insertBefore(li, before === null ? null : state.byId.get(before));
                state.byId.set(message.id, li);
                noteTopic(li.dataset.topic);
            }
            els.empty.hidden = true;
            if (out.olderOnly) {
                log.scrollTop = log.scrollHeight - fromBottom;
            } else if (wasAtBottom || out.own) {
                scrollToBottom();
            } else {
                const visible = out.added.filter((a) => !state.byId.get(a.message.id).hidden).length;
                if (visible) showPill(visible);
            }
            for (const line of core.news.announcements(out.fresh, myEmail())) announce(line);
        }
        if (out.edge !== null) setEdge(out.edge);
        if (out.empty !== null) els.empty.hidden = !out.empty;
        if (out.presence !== null) {
            els.presence.textContent = `${out.presence} online`;
            els.presence.hidden = false;
        }
        if (out.send.length > 0 || out.added.length > 0) fillViewport();
    }

    function setConn(s, text) {
        els.conn.dataset.state = s;
        els.connText.textContent = text;
    }

    const timeline = new core.timeline.Timeline({ now: clock.now, random: Math.random, tuning });
    let link = null;

    /* ---- sending ---- */

    function fieldError(name) {
        return $(`${name}-error`);
    }

    function clearErrors() {
        for (const name of FIELDS) {
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
        els.send.disabled = on;
        els.send.textContent = on ? 'Sending…' : 'Send';
        els.form.setAttribute('aria-busy', on ? 'true' : 'false');
    }

    /* The line under the form while a send is retried or has given up. */
    function setSendStatus(s, text) {
        els.sendStatus.dataset.state = s;
        els.sendStatusText.textContent = text;
        els.sendAgain.hidden = s !== 'failed';
    }

    const WHY = {
        unavailable: 'the chat service is unavailable right now',
        unknown: 'the chat service could not say whether it got your message',
        busy: 'you are sending too fast',
        network: 'the network failed',
        timeout: 'the chat service did not answer',
    };

    function describeFailure(status) {
        if (status === 429) return 'Not sent: you are sending too fast. Wait a moment and try again.';
        return `Not sent: the server answered ${status}. Please try again.`;
    }

    const sendView = {
        sending() {
            setSending(true);
        },
        retrying(reason) {
            setSendStatus('retrying', `Not sent yet — trying again (${WHY[reason] || reason}). Your message is kept.`);
        },
        sent(body, fields) {
            setSending(false);
            setSendStatus('idle', '');
            announce('Message sent');
            /* Edited while it was being retried: that text is a new message. */
            if (els.content.value === fields.content) {
                els.content.value = '';
                updateCount();
            }
            saveIdentity();
            /* Shown at once; the socket copy is merged by id. */
            render(timeline.ownSent(body));
            scrollToBottom();
            els.content.focus();
        },
        rejected(status, body) {
            setSending(false);
            setSendStatus('idle', '');
            const field = body && typeof body.field === 'string' ? body.field : '';
            const known = FIELDS.includes(field);
            /* The server's own words beside the field; if it gave none,
             * the field is still marked and the generic sentence said. */
            const said = known && typeof body.error === 'string' && body.error !== '';
            showError(known ? field : '', said ? body.error : describeFailure(status));
        },
        failed(reason) {
            setSending(false);
            setSendStatus('failed', `Could not send — ${WHY[reason] || reason}. Your message is kept.`);
        },
    };

    const sender = new core.sender.Sender({
        fetch: (url, init) => fetch(url, init),
        url: els.form.action,
        clock,
        randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
        random: Math.random,
        tuning,
        view: sendView,
    });

    function composed() {
        const f = els.form.elements;
        return {
            name: f.name.value, email: f.email.value, topic: f.topic.value,
            content: f.content.value, ephemeral: f.ephemeral.checked,
        };
    }

    function send(ev) {
        ev.preventDefault();
        if (sender.busy) return;
        clearErrors();
        setSendStatus('idle', '');
        sender.send(composed());
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

    function updateCount() {
        const n = [...els.content.value].length;
        els.count.textContent = n > CONTENT_MAX_CHARS * 0.8 ? `${n} / ${CONTENT_MAX_CHARS}` : '';
        els.count.classList.toggle('over', n > CONTENT_MAX_CHARS);
    }

    /* ---- wiring ---- */

    function wire() {
        els.form.addEventListener('submit', send);
        els.sendAgain.addEventListener('click', () => els.form.requestSubmit());
        els.content.addEventListener('keydown', (ev) => {
            if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
                ev.preventDefault();
                if (!sender.busy) els.form.requestSubmit();
            }
        });
        els.content.addEventListener('input', updateCount);
        /* Following a fragment does not move keyboard focus by itself. */
        document.querySelector('.skip').addEventListener('click', (ev) => {
            ev.preventDefault();
            els.content.focus();
        });
        for (const name of FIELDS) {
            els.form.elements[name].addEventListener('input', () => {
                fieldError(name).textContent = '';
                els.form.elements[name].removeAttribute('aria-invalid');
            });
        }
        for (const k of IDENTITY) els.form.elements[k].addEventListener('change', saveIdentity);
        els.form.elements.email.addEventListener('input', () => {
            for (const li of state.byId.values()) markOwn(li, { email: li.dataset.email });
        });
        els.log.addEventListener('scroll', () => {
            if (atBottom()) {
                state.unseen = 0;
                els.pill.hidden = true;
            }
            if (els.log.scrollTop < TOP_LOAD_PX && link !== null) link.wantOlder();
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
            if (link !== null) link.online();
        });
    }

    /* Where to connect comes first (a missing or bad config, or none in
     * time, means the same-origin path), then the socket. */
    async function start() {
        const text = await core.endpoints.fetchConfig((url, init) => fetch(url, init), clock, tuning.configTimeoutMs);
        link = new core.link.Link({
            endpoints: core.endpoints.fromConfig(text, location),
            timeline,
            open: (url) => new WebSocket(url),
            clock,
            random: Math.random,
            tuning,
            view: {
                connState: setConn,
                render,
                closed: () => { els.presence.hidden = true; },
                warn: (text) => console.warn('chat:', text),
            },
        });
        link.start();
    }

    loadIdentity();
    wire();
    updateCount();
    start();
})();
