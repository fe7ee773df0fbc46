#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""An exact staleness check of a Redis cache: a writer and readers share a file.

  kv_consistency.py writer HOST PORT SHM SECONDS PREFIX HOT MOSTLY
      Writes the HOT keys PREFIX:h0.. one after another as fast as the server acknowledges,
      and one of the MOSTLY keys PREFIX:m0.. every 200 ms. Every value is a sequence number,
      global and increasing. After each +OK it publishes the key's acknowledged number in SHM,
      and it logs (key, number, time of the acknowledgement) to SHM.acks.
  kv_consistency.py readers HOST PORT SHM SECONDS PREFIX HOT MOSTLY N
      N reader processes, each on its own connection, GET a random key (a hot one half of the
      time) in a loop. Before sending, a reader takes the key's acknowledged number from SHM;
      a reply holding a smaller number is a stale read: a value older than a write the writer
      had seen acknowledged before the read was sent. No false positives: the number is
      published only after the acknowledgement. Prints one line of results, and for stale
      reads how long after the acknowledgement of the write that replaced the value each read
      was sent (p50/p99/max).

Times are CLOCK_MONOTONIC, shared by the processes of a host.
"""
import mmap
import os
import random
import struct
import sys
import time

from kv_client import connect, resp  # the same directory

READY = 0  # slot 0: the writer is ready; keys follow


class Conn:
    def __init__(self, host, port):
        self.s = connect(host, port)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.s.recv(65536)
            if not data:
                raise EOFError("server closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def bulk(self):
        head = self.line()
        if head == b"$-1":
            return None
        if not head.startswith(b"$"):
            raise SystemExit("unexpected reply %r" % head)
        n = int(head[1:])
        while len(self.buf) < n + 2:
            data = self.s.recv(65536)
            if not data:
                raise EOFError("server closed the connection")
            self.buf += data
        value, self.buf = self.buf[:n], self.buf[n + 2:]
        return value

    def call(self, *args):
        self.s.sendall(resp(*args))


def keys(prefix, hot, mostly):
    return ["%s:h%d" % (prefix, i) for i in range(hot)] + \
        ["%s:m%d" % (prefix, i) for i in range(mostly)]


def shm_open(path, nkeys, create):
    size = 8 * (nkeys + 1)
    fd = os.open(path, os.O_RDWR | (os.O_CREAT | os.O_TRUNC if create else 0), 0o600)
    if create:
        os.ftruncate(fd, size)
    m = mmap.mmap(fd, size)
    os.close(fd)
    return m


def writer(host, port, path, seconds, prefix, hot, mostly):
    names = keys(prefix, int(hot), int(mostly))
    hot, mostly = int(hot), int(mostly)
    shm = shm_open(path, len(names), True)
    c = Conn(host, port)
    seq = 0
    log = []

    def write(i):
        nonlocal seq
        seq += 1
        c.call("SET", names[i], seq)
        if c.line() != b"+OK":
            raise SystemExit("SET failed")
        t = time.monotonic_ns()
        struct.pack_into("<Q", shm, 8 * (i + 1), seq)
        log.append((i, seq, t))

    for i in range(len(names)):
        write(i)
    struct.pack_into("<Q", shm, 8 * READY, 1)
    end = time.monotonic() + float(seconds)
    next_mostly = time.monotonic() + 0.2
    h = 0
    while time.monotonic() < end:
        if mostly and time.monotonic() >= next_mostly:
            write(hot + random.randrange(mostly))
            next_mostly += 0.2
        elif hot:
            write(h % hot)
            h += 1
        else:
            time.sleep(0.01)
    with open(path + ".acks", "w") as f:
        for i, s, t in log:
            f.write("%d %d %d\n" % (i, s, t))
    print("writes=%d" % seq)


def reader(host, port, shm, names, hot, seconds, out):
    c = Conn(host, port)
    reads = [0, 0]
    stale = []
    end = time.monotonic() + seconds
    rnd = random.Random(os.getpid())
    mostly = len(names) - hot
    while time.monotonic() < end:
        for _ in range(100):
            if hot and (not mostly or rnd.random() < 0.5):
                i = rnd.randrange(hot)
            else:
                i = hot + rnd.randrange(mostly)
            acked = struct.unpack_from("<Q", shm, 8 * (i + 1))[0]
            sent = time.monotonic_ns()
            c.call("GET", names[i])
            v = c.bulk()
            got = int(v) if v is not None else -1
            reads[i >= hot] += 1
            if got < acked:
                stale.append((i, got, sent))
    with open(out, "w") as f:
        f.write("%d %d\n" % tuple(reads))
        for i, got, sent in stale:
            f.write("%d %d %d\n" % (i, got, sent))


def pct(sorted_ms, p):
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p / 100))]


def readers(host, port, path, seconds, prefix, hot, mostly, n):
    names = keys(prefix, int(hot), int(mostly))
    hot, n = int(hot), int(n)
    deadline = time.monotonic() + 10
    while True:
        try:
            shm = shm_open(path, len(names), False)
            if struct.unpack_from("<Q", shm, 8 * READY)[0]:
                break
        except (FileNotFoundError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the writer did not start")
        time.sleep(0.01)
    pids = []
    for r in range(n):
        pid = os.fork()
        if pid == 0:
            try:
                reader(host, port, shm, names, hot, float(seconds), "%s.r%d" % (path, r))
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    reads = [0, 0]
    stale = []
    for r in range(n):
        with open("%s.r%d" % (path, r)) as f:
            a, b = map(int, f.readline().split())
            reads[0] += a
            reads[1] += b
            stale += [tuple(map(int, line.split())) for line in f]
    # Each stale read: how long after the acknowledgement of the write that replaced the value
    # it returned was it sent. The writer's log is complete once it has exited.
    wait = time.monotonic() + 30
    while not os.path.exists(path + ".acks") and time.monotonic() < wait:
        time.sleep(0.05)
    acks = {}
    with open(path + ".acks") as f:
        for line in f:
            i, s, t = map(int, line.split())
            acks.setdefault(i, []).append((s, t))
    ages = []
    for i, got, sent in stale:
        later = [t for s, t in acks[i] if s > got]
        ages.append((sent - min(later)) / 1e6)
    ages.sort()
    hot_stale = sum(1 for i, _, _ in stale if i < hot)
    print("reads_hot=%d reads_mostly=%d stale=%d stale_hot=%d stale_mostly=%d" %
          (reads[0], reads[1], len(stale), hot_stale, len(stale) - hot_stale), end="")
    if ages:
        print(" age_ms_p50=%.3f age_ms_p99=%.3f age_ms_max=%.3f" %
              (pct(ages, 50), pct(ages, 99), ages[-1]))
    else:
        print(" age_ms_p50=- age_ms_p99=- age_ms_max=-")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "writer":
        writer(*args)
    elif cmd == "readers":
        readers(*args)
    else:
        raise SystemExit(__doc__)
