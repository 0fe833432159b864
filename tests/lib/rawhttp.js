'use strict';
/*
 * One HTTP/1.1 exchange over a plain socket, for requests fetch() will not
 * make (a POST with no length at all). The request text is sent as given;
 * the answer is read until the server closes, so send "Connection: close".
 */
const net = require('node:net');

function rawHttp(port, request, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        const chunks = [];
        const t = setTimeout(() => {
            s.destroy();
            reject(new Error('no complete answer in time'));
        }, timeoutMs);
        s.on('connect', () => s.write(request));
        s.on('data', (d) => chunks.push(d));
        s.on('error', (e) => { clearTimeout(t); reject(e); });
        s.on('close', () => {
            clearTimeout(t);
            const text = Buffer.concat(chunks).toString('utf8');
            const head = text.split('\r\n\r\n', 1)[0];
            const lines = head.split('\r\n');
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] || '');
            const headers = new Map();
            for (const l of lines.slice(1)) {
                const i = l.indexOf(':');
                if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
            }
            resolve({
                status: m ? Number(m[1]) : 0,
                headers: { get: (k) => headers.get(k.toLowerCase()) ?? null },
                body: text.slice(head.length + 4),
            });
        });
    });
}

module.exports = { rawHttp };
