#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Large payloads both ways for the e2e suites, dual stack ([::], v4-mapped too):

  HTTP on PORT/tcp: GET /N answers N bytes of big_server.pattern(N); POST and PUT read the
  body (Content-Length) and answer "NAME LENGTH SHA256" of what they read.
  UDP on PORT/udp: every datagram (up to 65507 bytes) goes back to its sender unchanged.

Usage: big_server.py NAME PORT"""
import hashlib
import http.server
import socket
import sys
import threading


def pattern(n):
    """N bytes nobody would send by accident: a counter, so a lost or moved segment shows."""
    return b"".join(b"%07d\n" % i for i in range(n // 8 + 1))[:n]


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1 so that curl's "Expect: 100-continue" is answered at once (no 1 s wait).
    protocol_version = "HTTP/1.1"

    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_GET(self):
        try:
            n = int(self.path.strip("/"))
        except ValueError:
            self.send_error(404)
            return
        self.answer(pattern(n))

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        self.answer(b"%s %d %s\n" % (NAME, len(body), hashlib.sha256(body).hexdigest().encode()))

    do_PUT = do_POST

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def udp_echo(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)


if __name__ == "__main__":
    NAME = sys.argv[1].encode()
    PORT = int(sys.argv[2])
    threading.Thread(target=udp_echo, args=(PORT,), daemon=True).start()
    Server(("::", PORT), Handler).serve_forever()
