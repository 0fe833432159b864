'use strict';
/*
 * Drill 9 (issue 13, drill 2): the primary's node loses its network. It
 * must stop acknowledging at once: it cannot reach a replica, so WAIT
 * fails (503 unknown) and, past min-replicas-max-lag, it refuses writes;
 * every 200 after the cut comes from the new primary. Healed, the old
 * primary rejoins as a replica and drops what only it had.
 */
const { seconds } = require('../report');
const { sleep } = require('../bed');
const ha = require('./ha');

async function run(bed, v) {
    let old;
    let cutAt;
    const r = await ha.runHaDrill(bed, v, 'd9', 'the primary\'s node isolated', async () => {
        old = bed.primary;
        cutAt = Date.now();
        bed.isolate(old);
        const [now, named] = await ha.newPrimary(bed, old);
        await sleep(3000);
        bed.unisolate(old);
        return { lines: [`${old} isolated; the sentinels named ${now} ${seconds(named - cutAt)} later; healed after 3 s more`] };
    });
    /*
     * The new primary's ids start a fence (1e9) above the old one's, so
     * a message first tried after the cut and answered with an id below
     * that came from the isolated node. A message tried before the cut
     * may rightly get one: stored and replicated just before it, its
     * answer lost (a 503 "unknown"), the resend with its key is answered
     * by the new primary with the id it was stored under.
     */
    const last = (m) => m.tries[m.tries.length - 1];
    const before = Math.max(0, ...r.sendF.acked.filter((m) => last(m).t1 < cutAt).map((m) => m.id));
    const fromOld = r.sendF.acked.filter((m) => m.tries[0].t0 > cutAt + 200 && m.id < before + 5e8);
    v.check(fromOld.length === 0, `the isolated primary acknowledged nothing after the cut (${fromOld.length} 200s with ids near ${before})`,
        fromOld.slice(0, 5).map((m) => m.id).join(' '));
    /* Sentinel converts a primary that comes back once it sees it again (its INFO period). */
    const healedAt = Date.now();
    let rejoined = false;
    while (!rejoined && Date.now() - healedAt < 20000) {
        rejoined = (await ha.role(bed, old)) === 'slave';
        if (!rejoined) await sleep(200);
    }
    v.check(rejoined, `${old} rejoined as a replica after the heal (${seconds(Date.now() - healedAt)} after the drill's end)`);
}

module.exports = { name: '9-primary-isolated', timeoutMs: 150000, title: 'the primary\'s node isolated at 200 msg/s, 300 watchers', run };
