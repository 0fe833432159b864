/*
 * Exponential backoff with jitter, shared by the reconnect loop, refused
 * history requests and send retries. Pure: the random source is passed in.
 * Loads as a plain script (ChatCore.backoff) and as a CommonJS module.
 */
(function (root, make) {
    'use strict';
    if (typeof module === 'object' && module.exports) {
        module.exports = make();
    } else {
        (root.ChatCore = root.ChatCore || {}).backoff = make();
    }
}(globalThis, function () {
    'use strict';

    /* Past this the ceiling is the cap anyway; 2 ** 1000 is Infinity. */
    const ATTEMPT_MAX = 30;

    /*
     * The pause before retry number attempt (0 first): between half and
     * all of min(capMs, baseMs * 2^attempt), so that many clients that
     * failed together do not come back in the same millisecond.
     * random() returns [0, 1) like Math.random.
     */
    function jittered(attempt, baseMs, capMs, random) {
        const n = Math.max(0, Math.min(attempt, ATTEMPT_MAX));
        const ceiling = Math.min(capMs, baseMs * 2 ** n);
        return Math.round(ceiling / 2 + (random() * ceiling) / 2);
    }

    return { jittered };
}));
