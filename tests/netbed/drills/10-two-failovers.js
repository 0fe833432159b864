'use strict';
/*
 * Drill 10 (issue 13, drill 3): the new primary is killed right after
 * it took over, so Sentinel fails over twice in a row. The first node
 * killed comes back from its AOF meanwhile (a pod restarted), so the
 * last primary has a replica to confirm writes.
 */
const { seconds } = require('../report');
const ha = require('./ha');

const FAILOVER_TIMEOUT_MS = ha.sentinelSettingMs('failover-timeout');

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
     * Two outages back to back: two of the 5 s targets, plus what
     * Sentinel itself may add once in two failovers, both seen in the
     * sentinels' logs of a CI run that took 15.4 s: an election that
     * split the vote (-failover-abort-not-elected) is tried again only
     * after twice failover-timeout, and a failover whose other replica
     * is still dead announces the new primary only when failover-timeout
     * ends it (+failover-end-for-timeout).
     */
    }, { acceptMs: 2 * ha.ACCEPT_MS + 3 * FAILOVER_TIMEOUT_MS });
}

module.exports = { name: '10-two-failovers', timeoutMs: 150000, title: 'two failovers in a row (the new primary killed as it took over)', run };
