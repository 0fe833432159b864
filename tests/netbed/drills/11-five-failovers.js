'use strict';
/*
 * Drill 11 (issue 13, drill 4): five failovers in a row; each killed
 * primary comes back from its AOF and rejoins as a replica before the
 * next one is killed. The counter is fenced on every new primary, so no
 * id is ever handed out twice however often the primary moves.
 */
const { seconds } = require('../report');
const ha = require('./ha');

async function run(bed, v) {
    const seen = [];
    await ha.runHaDrill(bed, v, 'd11', 'five failovers in a row, old primaries rejoining', async () => {
        const lines = [];
        for (let i = 0; i < 5; i++) {
            const [old, at] = ha.killPrimary(bed);
            const [now, named] = await ha.newPrimary(bed, old);
            await ha.restartRedis(bed, old);
            await ha.settled(bed, 2, 30000);
            seen.push(now);
            lines.push(`failover ${i + 1}: ${old} killed, ${now} named after ${seconds(named - at)}, ${old} back as a replica`);
        }
        return { lines };
    });
    v.check(seen.length === 5, `five failovers happened (${seen.join(' -> ')})`);
}

module.exports = { name: '11-five-failovers', timeoutMs: 240000, title: 'five failovers in a row, old primaries rejoining as replicas', run };
