#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A webhook receiver for the e2e tests and the benchmark, as a user would write one.

serve PORT SECRET_FILE RECORDS [--fail N] [--delay S]: listens on 127.0.0.1:PORT (HTTP/1.1, keep-alive),
verifies every POST's X-Veer-Signature (HMAC-SHA256 of the body with SECRET_FILE's bytes,
compared with hmac.compare_digest) and appends one JSON line per POST to RECORDS, flushed
before the answer goes out, so that every event veerd saw acknowledged is on record:
  {"status": 200|401|415|503, "sig_ok": bool, "path": "/hook", "id": ..., "type": ..., "seq": ...,
   "body": "..."}
A bad signature is answered 401, a body that is not JSON or a wrong Content-Type 415. --fail N
answers the first N good POSTs 503 (recorded), to make veerd retry; --delay S waits S seconds
before each answer (a slow receiver, so that a test can kill veerd mid-delivery). GET / answers
200 "ok": a readiness probe for the tests.

report RECORDS [--ids FILE] [--path P]: prints a JSON summary of RECORDS: accepted (2xx), unique ids,
duplicates, bad signatures, whether the events arrived in order (by "seq": first deliveries
increasing), gaps in seq, and with --ids (one expected id a line) which expected ids are
missing. --path counts only the POSTs to that path.
"""
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time


def serve(port, secret_file, records, fail, delay):
    with open(secret_file, "rb") as f:
        secret = f.read()
    out = open(records, "a", buffering=1)
    lock = threading.Lock()
    state = {"fail": fail}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The status line and headers go out in one write, the body in another: with Nagle's
        # algorithm the body would wait for veerd's delayed ACK, 40 ms per event.
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            pass

        def answer(self, status, text):
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.answer(200, "ok\n")

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            sig = self.headers.get("X-Veer-Signature", "")
            want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            sig_ok = hmac.compare_digest(sig, want)
            rec = {"sig_ok": sig_ok, "path": self.path, "body": body.decode("utf-8", "replace")}
            try:
                ev = json.loads(body)
                rec.update(id=ev.get("id"), type=ev.get("type"), seq=ev.get("seq"))
                is_json = isinstance(ev, dict)
            except ValueError:
                is_json = False
            ctype = self.headers.get("Content-Type", "")
            if not sig_ok:
                status = 401
            elif not is_json or ctype.split(";")[0].strip() != "application/json":
                status = 415
            else:
                status = 200
            with lock:
                if status == 200 and state["fail"] > 0:
                    state["fail"] -= 1
                    status = 503
                rec["status"] = status
                out.write(json.dumps(rec, sort_keys=True) + "\n")
                out.flush()
            if delay:
                time.sleep(delay)
            self.answer(status, "ok\n" if status == 200 else "refused\n")

    class Server(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        request_queue_size = 1024
        daemon_threads = True

    srv = Server(("127.0.0.1", port), Handler)
    srv.serve_forever()


def report(records, ids_file, path):
    recs = []
    with open(records) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line the receiver's kill -9 cut short
                if path is None or rec.get("path") == path:
                    recs.append(rec)
    accepted = [r for r in recs if r.get("status") == 200]
    seen, first = set(), []
    dups = 0
    for r in accepted:
        if r.get("id") in seen:
            dups += 1
        else:
            seen.add(r.get("id"))
            first.append(r)
    seqs = [r.get("seq") for r in first if isinstance(r.get("seq"), int)]
    in_order = all(a < b for a, b in zip(seqs, seqs[1:]))
    gaps = sum(b - a - 1 for a, b in zip(seqs, seqs[1:]) if b > a + 1)
    res = {
        "posts": len(recs),
        "accepted": len(accepted),
        "unique": len(seen),
        "duplicates": dups,
        "bad_signatures": sum(1 for r in recs if not r.get("sig_ok")),
        "in_order": in_order,
        "seq_first": seqs[0] if seqs else None,
        "seq_last": seqs[-1] if seqs else None,
        "seq_gaps": gaps,
        "types": sorted({r.get("type") for r in accepted if r.get("type")}),
    }
    if ids_file:
        with open(ids_file) as f:
            want = [line.strip() for line in f if line.strip()]
        missing = [i for i in want if i not in seen]
        # Expected ids in the order they were produced: their first deliveries keep it.
        pos = {r.get("id"): i for i, r in enumerate(first)}
        order = [pos[i] for i in want if i in pos]
        res.update(expected=len(want), missing=len(missing), missing_ids=missing[:10],
                   expected_in_order=all(a < b for a, b in zip(order, order[1:])))
    print(json.dumps(res, sort_keys=True))


def main():
    args = sys.argv[1:]
    def opt(name, default):
        return args[args.index(name) + 1] if name in args else default

    if len(args) >= 4 and args[0] == "serve":
        serve(int(args[1]), args[2], args[3], int(opt("--fail", 0)), float(opt("--delay", 0)))
    elif len(args) >= 2 and args[0] == "report":
        report(args[1], opt("--ids", None), opt("--path", None))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
