'use strict';
/*
 * One figure from a send handler's /metrics (Prometheus text): the value
 * on the line that starts with name, NaN when there is none.
 *
 *   await sendMetric(sys.sendHandlers[0], 'chat_send_requests_total{status="503"}')
 */
async function sendMetric(h, name) {
    const text = await (await fetch(`http://127.0.0.1:${h.healthPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
}

module.exports = { sendMetric };
