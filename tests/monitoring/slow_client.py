#!/usr/bin/env python3
"""A WebSocket client that stops reading, the way a stalled phone does.

    slow_client.py PORT

Its receive buffer is made small before it connects, so the gateway's
socket fills after some tens of kilobytes (a Node client cannot shrink its
buffer, and Linux grows one that is left alone to megabytes). After the
handshake it prints {"event": "open"} and reads nothing until a line
arrives on stdin; then it reads until the server closes the connection or
10 s pass, and prints {"event": "end", "closed_by_server": bool, "code":
close code or null, "reason": str, "messages": live messages received}.
"""
import base64
import json
import os
import socket
import sys
import time

READ_WINDOW_S = 10.0


def say(**fields):
    print(json.dumps(fields), flush=True)


def handshake(sock, port):
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((
        "GET /chatapp/websocket HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("closed during the handshake")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"handshake refused: {head.splitlines()[0]!r}")
    return rest


def frames(buf):
    """Complete server frames at the start of buf (servers never mask)."""
    out = []
    while len(buf) >= 2:
        fin, opcode = buf[0] & 0x80, buf[0] & 0x0F
        n, at = buf[1] & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                break
            n, at = int.from_bytes(buf[2:4], "big"), 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, at = int.from_bytes(buf[2:10], "big"), 10
        if len(buf) < at + n:
            break
        out.append((fin, opcode, buf[at:at + n]))
        buf = buf[at + n:]
    return out, buf


def count_messages(payload):
    try:
        value = json.loads(payload)
    except ValueError:
        return 0
    return len(value) if isinstance(value, list) else 0


def read_to_end(sock, buf):
    end = {"closed_by_server": False, "code": None, "reason": "", "messages": 0}
    message = b""
    deadline = time.monotonic() + READ_WINDOW_S
    while time.monotonic() < deadline:
        done, buf = frames(buf)
        for fin, opcode, payload in done:
            if opcode == 0x8:
                if len(payload) >= 2:
                    end["code"] = int.from_bytes(payload[:2], "big")
                end["reason"] = payload[2:].decode("utf-8", "replace")
            elif opcode in (0x0, 0x1):
                message += payload
                if fin:
                    end["messages"] += count_messages(message)
                    message = b""
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            end["closed_by_server"] = True
            break
        buf += chunk
    return end


def main():
    port = int(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    buf = handshake(sock, port)
    say(event="open")
    sys.stdin.readline()
    say(event="end", **read_to_end(sock, buf))
    sock.close()


if __name__ == "__main__":
    main()
