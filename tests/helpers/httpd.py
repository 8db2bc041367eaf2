#!/usr/bin/env python3
"""Plain HTTP test server for mpshim's tests and demo.

GET serves files from --dir.  PUT (curl -T) reads the body, stores nothing,
and answers with the SHA-256 of what arrived and its length, so a test can
check an upload byte for byte without keeping it.

    httpd.py --bind 127.0.0.1 --port 8000 --dir /tmp/www
"""
import argparse
import hashlib
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("httpd: " + (fmt % args) + "\n")

    def end_headers(self):
        # one request per connection keeps every transfer one meta connection
        self.send_header("Connection", "close")
        super().end_headers()

    def do_PUT(self):
        digest = hashlib.sha256()
        total = 0
        length = self.headers.get("Content-Length")
        if length is not None:
            left = int(length)
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                digest.update(chunk)
                total += len(chunk)
                left -= len(chunk)
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunk = self.rfile.read(size)
                digest.update(chunk)
                total += len(chunk)
                self.rfile.readline()
        body = ("%s %d\n" % (digest.hexdigest(), total)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", default=".")
    args = ap.parse_args()
    os.chdir(args.dir)
    server = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
