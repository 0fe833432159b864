'use strict';
/*
 * Drill 12 (issue 13, drill 5): every Redis node is killed and started
 * again at once, all from their AOF. Nothing acknowledged may be lost:
 * a 200 was on the primary and a replica, each wrote it to its AOF (the
 * kernel keeps what a killed process wrote), and the primary comes back
 * with it.
 */
const { seconds } = require('../report');
const ha = require('./ha');

async function run(bed, v) {
    await ha.runHaDrill(bed, v, 'd12', 'every Redis node restarted at once from its AOF', async () => {
        const nodes = bed.nodesWith('redis');
        const at = Date.now();
        for (const n of nodes) bed.signal(n, 'SIGKILL');
        await Promise.all(nodes.map((n) => ha.restartRedis(bed, n)));
        const up = Date.now();
        await ha.settled(bed, 1, 30000);
        return { lines: [`${nodes.join(' ')} killed together and restarted (${seconds(up - at)}); a primary with a replica after ${seconds(Date.now() - at)}`] };
    }, { acceptMs: 3 * ha.ACCEPT_MS });
}

module.exports = { name: '12-all-restarted', timeoutMs: 150000, title: 'every Redis node restarted at once from its AOF', run };
