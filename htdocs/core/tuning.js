/*
 * Every timing the page uses, in one place. A test may shorten them by
 * setting globalThis.chatTuning before the page's scripts run (playwright
 * addInitScript); anything but a positive whole number is ignored, so a
 * stray global cannot turn a timer off.
 */
(function (root, make) {
    'use strict';
    if (typeof module === 'object' && module.exports) {
        module.exports = make();
    } else {
        (root.ChatCore = root.ChatCore || {}).tuning = make();
    }
}(globalThis, function () {
    'use strict';

    const DEFAULTS = Object.freeze({
        /* /chatapp/config.json unanswered this long: same-origin socket. */
        configTimeoutMs: 3000,
        /* A socket not open by then counts as a failed open. */
        openTimeoutMs: 10000,
        reconnectBaseMs: 500,
        reconnectCapMs: 15000,
        /* Silence before a heartbeat request, and how long it may go
         * unanswered (nothing at all received) before the page gives the
         * gateway up. Together well inside the gateway's own 60 s. */
        heartbeatIdleMs: 15000,
        heartbeatTimeoutMs: 10000,
        /* A refused history request is asked again after this backoff. */
        refusedBaseMs: 500,
        /* Old gateways only (untagged answers): a request unanswered this
         * long no longer blocks the next. */
        requestStaleMs: 10000,
        /* One send attempt: no answer by then is a timeout. */
        sendTimeoutMs: 10000,
        /* Pauses between send attempts: half to all of base * 2^n, at
         * most the cap; at most attemptsMax attempts, and no pause that
         * would end more than totalMs after the first attempt began. */
        sendRetryBaseMs: 1000,
        sendRetryCapMs: 8000,
        sendAttemptsMax: 6,
        sendRetryTotalMs: 60000,
    });

    function make(overrides) {
        const t = { ...DEFAULTS };
        if (overrides !== null && typeof overrides === 'object') {
            for (const k of Object.keys(DEFAULTS)) {
                const v = overrides[k];
                if (Number.isSafeInteger(v) && v >= 1) t[k] = v;
            }
        }
        return Object.freeze(t);
    }

    return { DEFAULTS, make };
}));
