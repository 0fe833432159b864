/*
 * What the page tells a reader about new messages, apart from where it
 * shows it: which are someone else's, what a screen reader hears, and
 * the "new messages" pill's words.
 */
(function (root, make) {
    'use strict';
    if (typeof module === 'object' && module.exports) {
        module.exports = make();
    } else {
        (root.ChatCore = root.ChatCore || {}).news = make();
    }
}(globalThis, function () {
    'use strict';

    /* More new messages at once than this are read out as a count. */
    const ANNOUNCE_EACH_MAX = 3;
    const ANNOUNCE_CUT = 200;

    function str(v) {
        return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
    }

    /* The reader's own message: same email, ignoring case and spaces. */
    function isOwn(m, myEmail) {
        const mine = str(myEmail).trim().toLowerCase();
        return mine !== '' && str(m.email).toLowerCase() === mine;
    }

    function topicOf(m) {
        return str(m.topic) || 'general';
    }

    /* Lines for the aria-live region: other people's new messages only
     * (one's own send is confirmed as "Message sent"). */
    function announcements(msgs, myEmail) {
        const others = msgs.filter((m) => !isOwn(m, myEmail));
        if (others.length > ANNOUNCE_EACH_MAX) return [`${others.length} new messages`];
        return others.map((m) => {
            const content = str(m.content);
            const cut = content.length > ANNOUNCE_CUT ? `${content.slice(0, ANNOUNCE_CUT)}…` : content;
            return `${str(m.name)} in ${str(m.topic)}: ${cut}`;
        });
    }

    function pillText(unseen) {
        return unseen === 1 ? '1 new message ↓' : `${unseen} new messages ↓`;
    }

    return { isOwn, topicOf, announcements, pillText };
}));
