'use strict';
/*
 * A WebSocket client at the byte level, for frames no library will send
 * (a header announcing 2^62 bytes, an unmasked frame): it does the
 * handshake, then writes what the test gives and parses what the server
 * sends (server frames are never masked).
 *
 *   const ws = await RawWebSocket.open(port);
 *   ws.write(RawWebSocket.header(0x1, 2n ** 62n));   // then payload bytes
 *   await ws.closed;           // { code, reason, at } or { code: null }
 */
const crypto = require('node:crypto');
const net = require('node:net');

class RawWebSocket {
    static open(port, host = '127.0.0.1', path = '/chatapp/websocket') {
        const ws = new RawWebSocket(port, host, path);
        return ws.ready;
    }

    /* A client frame header: FIN, opcode, masked with a zero mask. */
    static header(opcode, length, masked = true) {
        const len = BigInt(length);
        let h;
        if (len < 126n) {
            h = Buffer.from([0x80 | opcode, Number(len)]);
        } else if (len < 65536n) {
            h = Buffer.alloc(4);
            h[0] = 0x80 | opcode;
            h[1] = 126;
            h.writeUInt16BE(Number(len), 2);
        } else {
            h = Buffer.alloc(10);
            h[0] = 0x80 | opcode;
            h[1] = 127;
            h.writeBigUInt64BE(len, 2);
        }
        if (!masked) return h;
        h[1] |= 0x80;
        return Buffer.concat([h, Buffer.alloc(4)]);
    }

    constructor(port, host, path) {
        this.frames = [];
        this.t0 = Date.now();
        this.buf = Buffer.alloc(0);
        this.upgraded = false;
        this.sock = net.connect(port, host);
        this.closed = new Promise((resolve) => {
            this.sock.on('close', () => resolve(this.close || { code: null, at: Date.now() - this.t0 }));
        });
        this.ready = new Promise((resolve, reject) => {
            this.sock.on('error', (e) => { if (!this.upgraded) reject(e); });
            this.sock.on('data', (d) => {
                this.buf = Buffer.concat([this.buf, d]);
                if (!this.upgraded) {
                    const end = this.buf.indexOf('\r\n\r\n');
                    if (end < 0) return;
                    if (!/^HTTP\/1\.1 101/.test(this.buf.toString('latin1', 0, end))) {
                        reject(new Error(`handshake refused: ${this.buf.toString('latin1', 0, end)}`));
                        return;
                    }
                    this.upgraded = true;
                    this.buf = this.buf.subarray(end + 4);
                    resolve(this);
                }
                this.parse();
            });
        });
        this.sock.on('connect', () => this.sock.write(
            `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
            'Sec-WebSocket-Version: 13\r\n\r\n'));
    }

    parse() {
        while (this.buf.length >= 2) {
            let len = this.buf[1] & 0x7f;
            let at = 2;
            if (len === 126) {
                if (this.buf.length < 4) return;
                len = this.buf.readUInt16BE(2);
                at = 4;
            } else if (len === 127) {
                if (this.buf.length < 10) return;
                len = Number(this.buf.readBigUInt64BE(2));
                at = 10;
            }
            if (this.buf.length < at + len) return;
            const opcode = this.buf[0] & 0x0f;
            const payload = this.buf.subarray(at, at + len);
            this.frames.push({ opcode, payload });
            if (opcode === 8 && !this.close) {
                this.close = {
                    code: payload.length >= 2 ? payload.readUInt16BE(0) : null,
                    reason: payload.subarray(2).toString(),
                    at: Date.now() - this.t0,
                };
            }
            this.buf = this.buf.subarray(at + len);
        }
    }

    write(bytes) {
        if (!this.sock.destroyed) this.sock.write(bytes);
    }

    destroy() {
        this.sock.destroy();
    }
}

module.exports = { RawWebSocket };
