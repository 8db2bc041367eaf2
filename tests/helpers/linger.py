#!/usr/bin/env python3
"""SO_LINGER and reset peers for mpshim's tests.

read-server: accept a connection, wait --delay seconds, read until EOF or
             an error, print "eof N" or "reset N" (N bytes read), exit.
             A connection closed with nothing sent (a probe of the port)
             is skipped.
read-client: connect, read the same way, print the same line.
send-client: connect, send --size bytes, set SO_LINGER {1, --linger},
             close, print "closed", stay --stay seconds, and leave with
             _exit: no exit handler (the shim's exit drain included) runs,
             so whatever close() did not wait for is lost.
"""
import argparse
import os
import socket
import struct
import sys
import time


def read_all(sock):
    total = 0
    try:
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                return "eof %d" % total
            total += len(chunk)
    except ConnectionResetError:
        return "reset %d" % total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["read-server", "read-client", "send-client"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--linger", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--stay", type=float, default=0.0)
    args = ap.parse_args()

    if args.mode == "read-server":
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind((args.host, args.port))
        lsock.listen(8)
        while True:
            conn, _ = lsock.accept()
            time.sleep(args.delay)
            result = read_all(conn)
            if result != "eof 0":
                print(result, flush=True)
                return 0
    try:
        sock = socket.create_connection((args.host, args.port), timeout=30)
    except ConnectionResetError:
        if args.mode != "read-client":
            raise
        # a server that resets at once can beat a slow client to its
        # connect's result (create_connection polls, then reads
        # SO_ERROR): the reset reached the application all the same
        print("reset 0", flush=True)
        return 0
    if args.mode == "read-client":
        print(read_all(sock), flush=True)
        return 0
    sock.sendall(b"m" * args.size)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, args.linger))
    sock.close()
    print("closed", flush=True)
    time.sleep(args.stay)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
