'use strict';
/*
 * GW_METRICS_PORT: the gateway's port is what users reach (the node port
 * 30226 in Kubernetes), so with a metrics port set /metrics moves there
 * and the public port answers it 404. Probes keep working on both; the
 * metrics port takes no WebSocket. Without the setting /metrics stays on
 * GW_PORT, as PROTOCOL.md §5 and every local setup expect.
 */
const test = require('node:test');
const assert = require('node:assert');
const WebSocket = require('ws');
const { startSystem, freePort } = require('../lib/system');
const { connect } = require('../lib/client');
const { SLOW } = require('../lib/expect');

async function get(url) {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000 * SLOW) });
    return { status: r.status, body: await r.text() };
}

/* The value of an unlabelled metric in a /metrics text. */
function gauge(text, name) {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
}

/* The HTTP status a WebSocket handshake to url is refused with. */
function handshakeStatus(url) {
    return new Promise((resolve) => {
        const ws = new WebSocket(url);
        ws.once('open', () => { ws.terminate(); resolve(101); });
        ws.once('unexpected-response', (req, res) => { resolve(res.statusCode); req.destroy(); });
        ws.once('error', () => resolve(0));
    });
}

test('without GW_METRICS_PORT, /metrics is on the gateway port', { timeout: 60000 * SLOW }, async () => {
    const sys = await startSystem({ gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-metrics-same' });
    try {
        const g = sys.gateways[0];
        const r = await get(`${g.httpUrl}/metrics`);
        assert.strictEqual(r.status, 200);
        assert.strictEqual(gauge(r.body, 'chat_gw_connections'), 0);
    } finally {
        await sys.stop();
    }
});

test('with GW_METRICS_PORT, /metrics is there and only there; probes answer on both ports', { timeout: 60000 * SLOW }, async () => {
    const metricsPort = await freePort();
    const sys = await startSystem({
        gateways: 1, sendHandlers: 0, lighttpd: false, tag: 'gw-metrics-port',
        gatewayEnv: { GW_METRICS_PORT: String(metricsPort) },
    });
    try {
        const g = sys.gateways[0];
        const m = `http://127.0.0.1:${metricsPort}`;
        const client = await connect(g.url);
        const pub = await get(`${g.httpUrl}/metrics`);
        const priv = await get(`${m}/metrics`);
        const figures = {
            public_metrics: pub.status, metrics_port_metrics: priv.status,
            connections_seen: gauge(priv.body, 'chat_gw_connections'),
            public_healthz: (await get(`${g.httpUrl}/healthz`)).status,
            public_readyz: (await get(`${g.httpUrl}/readyz`)).status,
            metrics_healthz: (await get(`${m}/healthz`)).status,
            metrics_readyz: (await get(`${m}/readyz`)).status,
            metrics_other: (await get(`${m}/chatapp/websocket`)).status,
            metrics_websocket: await handshakeStatus(`ws://127.0.0.1:${metricsPort}/chatapp/websocket`),
        };
        console.log(`figures: ${JSON.stringify(figures)}`);
        assert.strictEqual(figures.public_metrics, 404, 'the public port hides /metrics');
        assert.ok(!/chat_gw_/.test(pub.body), 'no metric in the public 404');
        assert.strictEqual(figures.metrics_port_metrics, 200);
        assert.strictEqual(figures.connections_seen, 1, 'the same server\'s counts: one client');
        assert.deepStrictEqual(
            [figures.public_healthz, figures.public_readyz, figures.metrics_healthz, figures.metrics_readyz],
            [200, 200, 200, 200]);
        assert.strictEqual(figures.metrics_other, 404);
        assert.strictEqual(figures.metrics_websocket, 404, 'no chat on the metrics port');
        /* The chat itself is untouched. */
        const history = await client.request({ first_id: 0, last_id: -1 });
        assert.ok(Array.isArray(history), 'history answered on the public port');
        client.close();
    } finally {
        await sys.stop();
    }
});
