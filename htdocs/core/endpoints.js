/*
 * Where the page's socket goes (the page-config contract): the front end
 * may serve /chatapp/config.json as {"websocket":"<url>"}, a ws:/wss: URL
 * or a scheme-relative //host:port/path, in which {host} stands for the
 * page's own host name. Without a usable one, and whenever the direct URL
 * fails to open twice in a row, the page uses the same-origin path
 * /chatapp/websocket through the front end.
 */
(function (root, make) {
    'use strict';
    if (typeof module === 'object' && module.exports) {
        module.exports = make();
    } else {
        (root.ChatCore = root.ChatCore || {}).endpoints = make();
    }
}(globalThis, function () {
    'use strict';

    const CONFIG_PATH = '/chatapp/config.json';
    const SOCKET_PATH = '/chatapp/websocket';
    /* Failed opens of one URL in a row before the other is tried. */
    const FAILS_TO_SWITCH = 2;

    function socketScheme(loc) {
        return loc.protocol === 'https:' ? 'wss:' : 'ws:';
    }

    function sameOriginUrl(loc) {
        return `${socketScheme(loc)}//${loc.host}${SOCKET_PATH}`;
    }

    /*
     * The direct socket URL the config text names, or null when there is
     * none to use (missing, not JSON, not an object, empty or not a
     * string, not ws:/wss:, or carrying a fragment, which a WebSocket
     * refuses). loc is the page's location (protocol, host, hostname).
     * location.hostname keeps an IPv6 address in brackets, so {host} can
     * stand before a port as it is.
     */
    function directUrl(text, loc) {
        let v;
        try {
            v = JSON.parse(text);
        } catch {
            return null;
        }
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
        if (typeof v.websocket !== 'string') return null;
        let s = v.websocket.trim().split('{host}').join(loc.hostname);
        if (s === '') return null;
        if (s.startsWith('//')) s = socketScheme(loc) + s;
        let u;
        try {
            u = new URL(s);
        } catch {
            return null;
        }
        if ((u.protocol !== 'ws:' && u.protocol !== 'wss:') || s.includes('#')) return null;
        return u.href;
    }

    /*
     * The config's text, or null if it could not be had: any answer but a
     * 200, a network error, or no answer within timeoutMs. fetchFn is
     * fetch; clock has setTimeout/clearTimeout.
     */
    async function fetchConfig(fetchFn, clock, timeoutMs) {
        const ctl = new AbortController();
        const timer = clock.setTimeout(() => ctl.abort(), timeoutMs);
        try {
            const r = await fetchFn(CONFIG_PATH, { cache: 'no-store', signal: ctl.signal });
            if (r.status !== 200) return null;
            return await r.text();
        } catch {
            return null;
        } finally {
            clock.clearTimeout(timer);
        }
    }

    /*
     * Which URL the next open uses. While opens fail, FAILS_TO_SWITCH on
     * one URL move to the other (direct, direct, same-origin, same-origin,
     * direct, ...), so neither a dead direct port nor a dead front end
     * strands the page. A connection that was open and closed starts a
     * new cycle on the direct URL.
     */
    class Endpoints {
        constructor(direct, sameOrigin) {
            this.direct = direct;
            this.sameOrigin = sameOrigin;
            this.onDirect = direct !== null;
            this.fails = 0;
        }

        next() {
            return this.onDirect ? this.direct : this.sameOrigin;
        }

        opened() {
            this.fails = 0;
        }

        failed() {
            this.fails++;
            if (this.fails >= FAILS_TO_SWITCH) {
                this.fails = 0;
                if (this.direct !== null) this.onDirect = !this.onDirect;
            }
        }

        dropped() {
            this.fails = 0;
            this.onDirect = this.direct !== null;
        }
    }

    /* Endpoints for a page at loc, given the config text (null: none). */
    function fromConfig(text, loc) {
        const direct = text === null ? null : directUrl(text, loc);
        return new Endpoints(direct, sameOriginUrl(loc));
    }

    return { CONFIG_PATH, SOCKET_PATH, Endpoints, directUrl, sameOriginUrl, fetchConfig, fromConfig };
}));
