'use strict';
/*
 * A history storm in a worker thread of its own, so that the clients
 * under test (in the main thread) are timed by their own event loop, not
 * one busy with the storm. workerData: { url, clients, inFlight, ms,
 * request, headers }. Posts { replies, replyBytes, refused, reasons } when
 * the storm is over. Replies are told by their first bytes, never parsed.
 */
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require('ws');

const { url, clients, inFlight, ms, request, headers } = workerData;
const stats = { replies: 0, replyBytes: 0, refused: 0, reasons: {} };
const answer = Buffer.from('[{"id":1,');
const socks = [];

function open() {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(url, { headers });
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
    });
}

function storm(ws, until) {
    let outstanding = 0;
    const ask = () => {
        while (outstanding < inFlight && Date.now() < until && ws.readyState === WebSocket.OPEN) {
            outstanding++;
            ws.send(request);
        }
    };
    ws.on('message', (data) => {
        if (data[0] === 0x5b) {
            if (data.subarray(0, answer.length).compare(answer) !== 0) return;
            stats.replies++;
            stats.replyBytes += data.length;
        } else {
            const v = JSON.parse(data.toString());
            if (v.type !== 'error') return;
            stats.refused++;
            stats.reasons[v.error] = (stats.reasons[v.error] || 0) + 1;
        }
        outstanding--;
        ask();
    });
    ask();
}

(async () => {
    for (let i = 0; i < clients; i++) socks.push(await open());
    parentPort.postMessage({ ready: true });
    const until = Date.now() + ms;
    socks.forEach((ws) => storm(ws, until));
    setTimeout(() => {
        socks.forEach((ws) => ws.terminate());
        parentPort.postMessage({ done: true, stats });
    }, ms + 1000);
})().catch((e) => parentPort.postMessage({ error: e.message }));
