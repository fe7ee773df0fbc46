#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Raw-socket Redis/memcached clients for the cache's e2e suites.

  kv_client.py pipe HOST PORT FILE [--drain N]
      Sends FILE's requests (one per line, written as RESP multibulk, or raw for memcached
      with --raw) each in its own send(), reading every reply only after each N requests
      (default 10): a client that does not wait. Prints the bytes received, then exits.
  kv_client.py race HOST PORT KEY SECONDS
      Writer and reader connections: SET KEY n, wait for +OK, then 5 GETs of KEY on the
      reader; a value other than n is a stale read. Prints "writes=W reads=R stale=S".
  kv_client.py get HOST PORT KEY COUNT
      COUNT sequential GETs of KEY on one connection; prints the last reply.
"""
import socket
import sys
import time


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Reader:
    """Splits a byte stream into whole RESP replies, byte-exact."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def _line(self, pos):
        while True:
            end = self.buf.find(b"\r\n", pos)
            if end >= 0:
                return end
            self._fill()

    def _reply_end(self, pos):
        end = self._line(pos)
        kind, head = self.buf[pos:pos + 1], self.buf[pos + 1:end]
        if kind == b"$" and int(head) >= 0:
            need = end + 2 + int(head) + 2
            while len(self.buf) < need:
                self._fill()
            return need
        if kind == b"*" and int(head) > 0:
            pos = end + 2
            for _ in range(int(head)):
                pos = self._reply_end(pos)
            return pos
        return end + 2

    def reply(self):
        while not self.buf:
            self._fill()
        end = self._reply_end(0)
        out, self.buf = self.buf[:end], self.buf[end:]
        return out


def connect(host, port):
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def pipe(host, port, path, drain=10):
    s = connect(host, port)
    r = Reader(s)
    out, owed = [], 0
    with open(path) as f:
        for n, line in enumerate(f, 1):
            s.sendall(resp(*line.split()))
            owed += 1
            if n % drain == 0:
                out += [r.reply() for _ in range(owed)]
                owed = 0
    out += [r.reply() for _ in range(owed)]
    sys.stdout.buffer.write(b"".join(out))


def race(host, port, key, seconds):
    w, rd = connect(host, port), connect(host, port)
    wr, rr = Reader(w), Reader(rd)
    writes = reads = stale = 0
    end = time.time() + float(seconds)
    while time.time() < end:
        writes += 1
        w.sendall(resp("SET", key, writes))
        if wr.reply() != b"+OK\r\n":
            raise SystemExit("SET failed")
        want = b"$%d\r\n%d\r\n" % (len(str(writes)), writes)
        for _ in range(5):
            reads += 1
            rd.sendall(resp("GET", key))
            if rr.reply() != want:
                stale += 1
    print("writes=%d reads=%d stale=%d" % (writes, reads, stale))


def get(host, port, key, count):
    s = connect(host, port)
    r = Reader(s)
    last = b""
    for _ in range(int(count)):
        s.sendall(resp("GET", key))
        last = r.reply()
    sys.stdout.buffer.write(last)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "pipe":
        drain = int(args[args.index("--drain") + 1]) if "--drain" in args else 10
        pipe(args[0], args[1], args[2], drain)
    elif cmd == "race":
        race(*args)
    elif cmd == "get":
        get(*args)
    else:
        raise SystemExit(__doc__)
