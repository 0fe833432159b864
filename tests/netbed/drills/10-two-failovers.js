'use strict';
/*
 * Drill 10 (issue 13, drill 3): the new primary is killed right after
 * it took over, so Sentinel fails over twice in a row. The first node
 * killed comes back from its AOF meanwhile (a pod restarted), so the
 * last primary has a replica to confirm writes.
 */
const { seconds } = require('../report');
const ha = require('./ha');

async function run(bed, v) {
    await ha.runHaDrill(bed, v, 'd10', 'the primary killed, then the new one right after it took over', async () => {
        const [first, at] = ha.killPrimary(bed);
        const [second, named] = await ha.newPrimary(bed, first);
        bed.signal(second, 'SIGKILL');
        const killed2 = Date.now();
        await ha.restartRedis(bed, first);
        const [third, named2] = await ha.newPrimary(bed, second, 30000);
        await ha.restartRedis(bed, second);
        return {
            lines: [`${first} killed; ${second} named after ${seconds(named - at)} and killed at once; ` +
                `${third} named ${seconds(named2 - killed2)} after that; both killed nodes restarted from their AOF`],
        };
    /*
     * Two outages back to back, and Sentinel starts a second failover of
     * one master no sooner than twice failover-timeout (2 x 2.5 s) after
     * the first: two of the 5 s targets, plus that wait beyond the first.
     */
    }, { acceptMs: 2 * ha.ACCEPT_MS + 2500 });
}

module.exports = { name: '10-two-failovers', timeoutMs: 150000, title: 'two failovers in a row (the new primary killed as it took over)', run };
