#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Persistent line server for the e2e suites: answers every line with NAME, on [::]:PORT
(dual stack), one thread per connection, connections kept open until the client closes."""
import socket
import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for _ in self.rfile:
            self.wfile.write(NAME + b"\n")
            self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


if __name__ == "__main__":
    NAME = sys.argv[1].encode()
    Server(("::", int(sys.argv[2])), Handler).serve_forever()
