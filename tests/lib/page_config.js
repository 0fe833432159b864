'use strict';
/*
 * The page's config (GET /chatapp/config.json, HELPERS contract 1) read the
 * way the page reads it, for test clients that must connect where a
 * browser would: `websocket` absolute (ws://, wss://) or scheme-relative
 * (//host:port/path, the scheme following the page's), "{host}" replaced
 * by the page's own host name; missing, bad or empty means the same-origin
 * path through the front end.
 *
 *   const { url, origin, config } = await pageSocket('http://127.0.0.1:30222');
 *   new WebSocket(url, { origin });
 */

/* The WebSocket URL a page at pageUrl opens for this config object. */
function socketUrlFor(config, pageUrl) {
    const page = new URL(pageUrl);
    const scheme = page.protocol === 'https:' ? 'wss:' : 'ws:';
    const direct = config && typeof config.websocket === 'string' ? config.websocket : '';
    if (!direct) return `${scheme}//${page.host}/chatapp/websocket`;
    const url = direct.split('{host}').join(page.hostname);
    return url.startsWith('//') ? `${scheme}${url}` : url;
}

/* Fetch pageUrl's config.json; the URL and Origin its page would use. */
async function pageSocket(pageUrl) {
    const r = await fetch(new URL('/chatapp/config.json', pageUrl));
    const text = await r.text();
    let config = null;
    try {
        config = r.status === 200 ? JSON.parse(text) : null;
    } catch {
        config = null;
    }
    return { url: socketUrlFor(config, pageUrl), origin: new URL(pageUrl).origin, config, status: r.status, text };
}

module.exports = { socketUrlFor, pageSocket };
