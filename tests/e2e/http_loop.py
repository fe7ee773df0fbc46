#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Requests on a new connection each, back to back, for the e2e suites.

http_loop.py URL LOG STOPFILE [MAX_SECONDS]

GETs URL over and over (timeout 2 s each) until STOPFILE exists (or MAX_SECONDS pass), and
appends one line per request to LOG: the answer's first line, or "FAIL why". Exits 0 only if
every request got an answer.
"""
import os
import sys
import time
import urllib.request


def main():
    url, log, stop = sys.argv[1:4]
    deadline = time.monotonic() + (float(sys.argv[4]) if len(sys.argv) > 4 else 120)
    failed = 0
    with open(log, "a", buffering=1) as out:
        while not os.path.exists(stop) and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    out.write(r.read().decode().splitlines()[0] + "\n")
            except Exception as e:  # every failure counts, whatever its kind
                failed += 1
                out.write(f"FAIL {e}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
