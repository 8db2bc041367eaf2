#!/usr/bin/env python3
"""Half-close peer for mpshim's tests.

server: for each connection, read until EOF, then answer "SHA256 LENGTH\\n"
        and close: the answer can only come after the client's FIN.
        With --reset-after N, send N bytes then abort with a reset.
client: connect, stay silent --idle seconds, send --size pseudo-random
        bytes, shutdown(SHUT_WR), read the answer until EOF, exit 0 when it
        matches what was sent, 1 otherwise.
"""
import argparse
import hashlib
import random
import socket
import struct
import sys
import threading
import time


def serve_one(conn, reset_after):
    with conn:
        if reset_after is not None:
            conn.sendall(b"x" * reset_after)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            return
        digest, total = hashlib.sha256(), 0
        while True:
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            digest.update(chunk)
            total += len(chunk)
        conn.sendall(("%s %d\n" % (digest.hexdigest(), total)).encode())


def server(args):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.host, args.port))
    lsock.listen(64)
    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=serve_one, args=(conn, args.reset_after),
                         daemon=True).start()


def client(args):
    data = random.Random(args.seed).randbytes(args.size)
    sock = socket.create_connection((args.host, args.port), timeout=30)
    time.sleep(args.idle)
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    want = "%s %d\n" % (hashlib.sha256(data).hexdigest(), len(data))
    if reply.decode() != want:
        print("got %r, want %r" % (reply, want), file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["server", "client"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--idle", type=float, default=0.0)
    ap.add_argument("--reset-after", type=int, default=None)
    args = ap.parse_args()
    if args.mode == "server":
        server(args)
        return 0
    return client(args)


if __name__ == "__main__":
    sys.exit(main())
