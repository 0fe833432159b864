'use strict';
/*
 * A FastCGI client that speaks to chat-send directly, without lighttpd, so
 * a test can hold a request half-sent or queue connections behind it.
 *
 *   const r = fcgiRequest(port, { body: 'name=A&...' });
 *   r.sendHead();            BEGIN_REQUEST and the params
 *   r.sendBody();            the body and the end of stdin
 *   await r.reply            { status, headers, body } or { reset: true }
 *
 * Only what the send handler needs: one responder request per connection.
 */
const net = require('node:net');

const VERSION = 1;
const BEGIN_REQUEST = 1;
const END_REQUEST = 3;
const PARAMS = 4;
const STDIN = 5;
const STDOUT = 6;
const RESPONDER = 1;
const REQUEST_ID = 1;

function record(type, content = Buffer.alloc(0)) {
    const head = Buffer.alloc(8);
    head.writeUInt8(VERSION, 0);
    head.writeUInt8(type, 1);
    head.writeUInt16BE(REQUEST_ID, 2);
    head.writeUInt16BE(content.length, 4);
    return Buffer.concat([head, content]);
}

function lengthBytes(n) {
    if (n < 128) return Buffer.from([n]);
    const b = Buffer.alloc(4);
    b.writeUInt32BE((n | 0x80000000) >>> 0);
    return b;
}

function paramsContent(params) {
    const parts = [];
    for (const [k, v] of Object.entries(params)) {
        const kb = Buffer.from(k);
        const vb = Buffer.from(String(v));
        parts.push(lengthBytes(kb.length), lengthBytes(vb.length), kb, vb);
    }
    return Buffer.concat(parts);
}

/* Split the CGI-style stdout ("Status: 200\r\n...\r\n\r\nbody"). */
function parseStdout(out) {
    const text = out.toString('utf8');
    const end = text.indexOf('\r\n\r\n');
    const head = end < 0 ? text : text.slice(0, end);
    const headers = {};
    for (const line of head.split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const status = Number((headers.status || '200').split(' ')[0]);
    return { status, headers, body: end < 0 ? '' : text.slice(end + 4) };
}

function fcgiRequest(port, { body, contentType = 'application/x-www-form-urlencoded' }) {
    const bodyBuf = Buffer.from(body);
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let ended = false;
    const reply = new Promise((resolve) => {
        let buf = Buffer.alloc(0);
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            while (buf.length >= 8) {
                const type = buf.readUInt8(1);
                const len = buf.readUInt16BE(4);
                const pad = buf.readUInt8(6);
                if (buf.length < 8 + len + pad) break;
                const content = buf.subarray(8, 8 + len);
                buf = buf.subarray(8 + len + pad);
                if (type === STDOUT) chunks.push(Buffer.from(content));
                if (type === END_REQUEST) ended = true;
            }
        });
        const done = (why) => {
            if (ended) resolve(parseStdout(Buffer.concat(chunks)));
            else resolve({ reset: true, why, partial: Buffer.concat(chunks).toString() });
        };
        sock.on('error', (e) => done(e.code || e.message));
        sock.on('close', () => done('closed'));
    });
    const connected = new Promise((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
    });
    return {
        connected,
        reply,
        sendHead() {
            const begin = Buffer.alloc(8);
            begin.writeUInt16BE(RESPONDER, 0);
            sock.write(record(BEGIN_REQUEST, begin));
            sock.write(record(PARAMS, paramsContent({
                REQUEST_METHOD: 'POST',
                SCRIPT_NAME: '/chatapp/send',
                REQUEST_URI: '/chatapp/send',
                CONTENT_TYPE: contentType,
                CONTENT_LENGTH: bodyBuf.length,
                REMOTE_ADDR: '127.0.0.1',
                SERVER_PROTOCOL: 'HTTP/1.1',
            })));
            sock.write(record(PARAMS));
        },
        sendBody() {
            for (let i = 0; i < bodyBuf.length; i += 65535) {
                sock.write(record(STDIN, bodyBuf.subarray(i, i + 65535)));
            }
            sock.write(record(STDIN));
        },
        destroy() {
            sock.destroy();
        },
    };
}

module.exports = { fcgiRequest };
