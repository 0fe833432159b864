'use strict';
/*
 * The figures every drill prints, computed from what the senders were
 * told, what Redis holds and what each watcher received. Pure: no I/O.
 *
 * Inputs
 *   sent     a sender's result (agent.js sendStop): { messages: [{ content,
 *            idem, id, tries: [{ t0, t1, status, id, unknown, error }] }] }
 *   stored   messages:history entries [{ id, content, date, ... }]
 *   report   a watcher's report (agent.js): { msgs: [[id, time, conn,
 *            content]], conns, repeats, ... }
 * Times are CLOCK_REALTIME milliseconds from every node.
 */

/* Messages of this drill: contents start with the drill's tag. */
function ofTag(tag) {
    const prefix = `${tag} #`;
    return (content) => typeof content === 'string' && content.startsWith(prefix);
}

function lastTry(m) {
    return m.tries[m.tries.length - 1];
}

/* What the senders saw: counts by final answer, each try's answer time. */
function sendFigures(results) {
    const messages = results.flatMap((r) => r.messages);
    const statuses = {};
    const tryStatuses = {};
    let posts = 0;
    let unknown = 0;
    let slowestMs = 0;
    for (const m of messages) {
        const s = lastTry(m) ? lastTry(m).status : 0;
        statuses[s] = (statuses[s] || 0) + 1;
        for (const t of m.tries) {
            posts++;
            tryStatuses[t.status] = (tryStatuses[t.status] || 0) + 1;
            if (t.unknown) unknown++;
            slowestMs = Math.max(slowestMs, t.t1 - t.t0);
        }
    }
    const acked = messages.filter((m) => m.id !== null);
    const spanMs = Math.max(0, ...results.map((r) => r.stoppedAt)) - Math.min(...results.map((r) => r.startedAt));
    return {
        messages, acked, sent: messages.length, posts, statuses, tryStatuses, unknown, slowestMs,
        rate: spanMs > 0 ? Math.round((messages.length * 1000) / spanMs) : 0,
        skipped: results.reduce((s, r) => s + (r.skipped || 0), 0),
    };
}

/*
 * Stored entries of the drill, grouped by content, against what was
 * acknowledged: acknowledged but not stored (or stored under another id),
 * stored twice, stored though never acknowledged.
 */
function storeFigures(sendF, stored, tag) {
    const mine = stored.filter((e) => ofTag(tag)(e.content));
    const byContent = new Map();
    for (const e of mine) {
        if (!byContent.has(e.content)) byContent.set(e.content, []);
        byContent.get(e.content).push(e);
    }
    const ackedNotStored = sendF.acked.filter((m) => {
        const es = byContent.get(m.content) || [];
        return !es.some((e) => e.id === m.id);
    });
    const storedTwice = [...byContent.values()].filter((es) => es.length > 1);
    const ackedContents = new Set(sendF.acked.map((m) => m.content));
    const storedNotAcked = mine.filter((e) => !ackedContents.has(e.content));
    return { stored: mine.length, byContent, ackedNotStored, storedTwice, storedNotAcked };
}

/*
 * Which try of message m stored the entry e: the last try that began
 * before the send handler stamped e's date (a try begins only after the
 * previous one was answered). Returns the try or null.
 */
function storingTry(m, e) {
    const d = Date.parse(e.date);
    let found = null;
    for (const t of m.tries) if (t.t0 <= d) found = t;
    return found;
}

/*
 * Answers that claimed "nothing was stored" (a 503 without "unknown")
 * for a try that did store its message: the dishonest 503s.
 */
function dishonest503(sendF, storeF) {
    const out = [];
    for (const m of sendF.messages) {
        for (const e of storeF.byContent.get(m.content) || []) {
            const t = storingTry(m, e);
            if (t && t.status === 503 && !t.unknown) out.push({ content: m.content, id: e.id, try: t });
        }
    }
    return out;
}

/*
 * One watcher against the acknowledged messages. window [from, to]
 * restricts the stall to messages acknowledged in it (undefined: all).
 *   delivered  distinct ids of the drill received
 *   lost       acknowledged ids never received
 *   dupShown   contents received under two ids (a user sees them twice)
 *   repeats    copies of an id already received (the page drops them)
 *   breaks     new ids lower than one already received on the same
 *              connection after its first reply: [initial, later ones]
 *   stallMs    the longest time from a message's 200 to its arrival
 */
function clientFigures(report, sendF, tag, window) {
    const is = ofTag(tag);
    const got = new Map();
    const contents = new Map();
    for (const [id, t, , content] of report.msgs) {
        if (!is(content)) continue;
        got.set(id, t);
        contents.set(content, (contents.get(content) || 0) + 1);
    }
    let stallMs = 0;
    const lost = [];
    for (const m of sendF.acked) {
        const t = got.get(m.id);
        if (t === undefined) {
            lost.push(m.id);
            continue;
        }
        const ackAt = lastTry(m).t1;
        if (window && (ackAt < window[0] || ackAt > window[1])) continue;
        stallMs = Math.max(stallMs, t - ackAt);
    }
    const conns = report.conns || [];
    return {
        id: report.id,
        node: report.node,
        delivered: got.size,
        lost,
        dupShown: [...contents.values()].filter((n) => n > 1).length,
        repeats: report.repeats,
        breaks: [conns[0] ? conns[0].breaks : 0, conns.slice(1).reduce((s, c) => s + c.breaks, 0)],
        stallMs,
        connections: conns.length,
    };
}

/* When the watcher had every one of ids (ms), or null if some never came. */
function completeAt(report, ids) {
    const got = new Map(report.msgs.map(([id, t]) => [id, t]));
    let at = 0;
    for (const id of ids) {
        const t = got.get(id);
        if (t === undefined) return null;
        at = Math.max(at, t);
    }
    return at;
}

/* The first presence value a watcher held at time t (last one before it). */
function presenceAt(report, t) {
    let v = null;
    for (const [at, online] of report.presence) if (at <= t) v = online;
    return v;
}

/*
 * Since when (ms) the watcher's presence has equalled `expected` without
 * a change, as of time `until`; null when it does not equal it then.
 */
function presenceSettledAt(report, expected, until) {
    let since = null;
    for (const [at, online] of report.presence) {
        if (at > until) break;
        if (online === expected) {
            if (since === null) since = at;
        } else {
            since = null;
        }
    }
    return since;
}

module.exports = {
    ofTag, sendFigures, storeFigures, storingTry, dishonest503, clientFigures, completeAt,
    presenceAt, presenceSettledAt,
};
