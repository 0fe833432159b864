'use strict';
/*
 * Drill 8 (issue 13, drill 1): SIGKILL the Redis primary under load.
 * Sentinel promotes a replica; both send handlers and every gateway
 * follow it; the killed node comes back from its AOF (as Kubernetes
 * restarts a pod) and rejoins as a replica.
 */
const { seconds } = require('../report');
const ha = require('./ha');

async function run(bed, v) {
    await ha.runHaDrill(bed, v, 'd8', 'the primary SIGKILLed', async () => {
        const [old, at] = ha.killPrimary(bed);
        const [now, named] = await ha.newPrimary(bed, old);
        await ha.restartRedis(bed, old);
        return { lines: [`${old} killed; the sentinels named ${now} ${seconds(named - at)} later; ${old} restarted from its AOF`] };
    });
}

module.exports = { name: '8-primary-killed', timeoutMs: 150000, title: 'the Redis primary SIGKILLed at 200 msg/s, 300 watchers', run };
