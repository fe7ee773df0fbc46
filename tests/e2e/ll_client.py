#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Long-lived connections for the e2e suites.

ll_client.py HOST PORT CONNS LOG STOPFILE [MAX_SECONDS]

Opens CONNS TCP connections to HOST:PORT and, every 0.1 s, sends a line on each and reads the
answer (a backend's name). After every round it appends "ROUND NAME1 NAME2 ..." to LOG. It
stops when STOPFILE exists (or after MAX_SECONDS), and exits 0 only if no connection broke
and every connection got the same name throughout; otherwise it says what happened on stderr
and exits 1.
"""
import os
import socket
import sys
import time


def main():
    host, port, conns, log, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:6]
    deadline = time.monotonic() + (float(sys.argv[6]) if len(sys.argv) > 6 else 60)
    socks, first = [], []
    for _ in range(conns):
        s = socket.create_connection((host, port), timeout=2)
        socks.append((s, s.makefile("rb")))
    rnd = 0
    with open(log, "a", buffering=1) as out:
        while not os.path.exists(stop) and time.monotonic() < deadline:
            names = []
            for i, (s, f) in enumerate(socks):
                try:
                    s.sendall(b"ping\n")
                    line = f.readline()
                except OSError as e:
                    print(f"round {rnd}: connection {i} broke: {e}", file=sys.stderr)
                    return 1
                if not line:
                    print(f"round {rnd}: connection {i} closed by the peer", file=sys.stderr)
                    return 1
                names.append(line.decode().strip())
            if not first:
                first = names
            elif names != first:
                print(f"round {rnd}: backends changed from {first} to {names}", file=sys.stderr)
                return 1
            out.write(f"{rnd} {' '.join(names)}\n")
            rnd += 1
            time.sleep(0.1)
    for s, f in socks:
        f.close()
        s.close()
    print(f"{rnd} rounds on {first}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
