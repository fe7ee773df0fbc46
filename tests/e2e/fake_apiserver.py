#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A small Kubernetes API server for veer's tests: no real one can run on the test machines.

It speaks the real protocol for the two resources veerd reads (v1 Services and
discovery.k8s.io/v1 EndpointSlices), as kubectl and client libraries see it:

- HTTPS with the certificate and key given (a test CA's), bearer tokens checked against a file
  re-read on every request (so a test can rotate them); 401 with a Status object otherwise;
- list (cluster-wide and namespaced paths) with metadata.resourceVersion, in pages
  (limit/continue) when asked, get of one object,
  and watch (?watch=1&resourceVersion=N&allowWatchBookmarks=true): a chunked stream of
  {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...} lines. One resourceVersion
  counter for every object, as etcd's revision. A watch from a compacted resourceVersion gets
  410 Gone as the real server answers it: a 200 stream whose one event is an ERROR carrying a
  Status with code 410 ("too old resource version"), or, when the control channel asks, a
  plain HTTP 410 with the Status as body;
- the discovery documents (/version, /api, /apis, /api/v1, /apis/discovery.k8s.io/v1) kubectl
  needs, and server-side Table output for kubectl's default printing.

A second, plain-HTTP port on 127.0.0.1 is the test's control channel (see Control below);
every API request is logged as one JSON line (method, path, query, verb, resource, group,
namespace, status) so a test can check what a client asked for against an RBAC role.

Python 3 standard library only.
"""

import argparse
import copy
import datetime
import http.server
import json
import os
import queue
import select
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import uuid

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

# resource -> what it is. Both are namespaced.
RESOURCES = {
    "services": {
        "group": "",
        "version": "v1",
        "kind": "Service",
        "singular": "service",
        "shortNames": ["svc"],
    },
    "endpointslices": {
        "group": "discovery.k8s.io",
        "version": "v1",
        "kind": "EndpointSlice",
        "singular": "endpointslice",
        "shortNames": [],
    },
}
KINDS = {r["kind"]: name for name, r in RESOURCES.items()}
VERBS = ["get", "list", "watch"]


def api_version(res):
    r = RESOURCES[res]
    return f"{r['group']}/{r['version']}" if r["group"] else r["version"]


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status(code, reason, message, details=None):
    s = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        s["details"] = details
    return s


def parse_selector(sel):
    """label or field selector: comma-separated key=value, key==value, key!=value, key, !key."""
    terms = []
    for t in filter(None, (x.strip() for x in sel.split(","))):
        if "!=" in t:
            k, v = t.split("!=", 1)
            terms.append(("!=", k.strip(), v.strip()))
        elif "==" in t:
            k, v = t.split("==", 1)
            terms.append(("=", k.strip(), v.strip()))
        elif "=" in t:
            k, v = t.split("=", 1)
            terms.append(("=", k.strip(), v.strip()))
        elif t.startswith("!"):
            terms.append(("!", t[1:].strip(), None))
        else:
            terms.append(("?", t, None))
    return terms


def selector_match(terms, values):
    for op, k, v in terms:
        have = values.get(k)
        if op == "=" and have != v:
            return False
        if op == "!=" and have == v:
            return False
        if op == "?" and have is None:
            return False
        if op == "!" and have is not None:
            return False
    return True


class Watcher:
    def __init__(self, res, ns, labels, fields, bookmarks, table):
        self.res, self.ns, self.labels, self.fields = res, ns, labels, fields
        self.bookmarks, self.table = bookmarks, table
        self.q = queue.Queue()
        self.since = time.time()

    def matches(self, res, obj):
        md = obj["metadata"]
        if res != self.res or (self.ns is not None and md.get("namespace") != self.ns):
            return False
        fields = {"metadata.name": md.get("name"), "metadata.namespace": md.get("namespace")}
        return selector_match(self.labels, md.get("labels") or {}) and selector_match(
            self.fields, fields
        )


class Store:
    """The objects, one resourceVersion counter, the event history and the watchers."""

    def __init__(self, token_file):
        self.lock = threading.Lock()
        self.rv = 1000
        self.compacted = 0  # a watch from a resourceVersion below this gets 410
        self.objects = {}  # (res, ns, name) -> object as stored (kind and apiVersion set)
        self.history = []  # (rv, res, type, object)
        self.watchers = set()
        self.pages = {}  # continue token -> (the list's remaining objects, its resourceVersion)
        self.gone_mode = "event"
        self.token_file = token_file

    def tokens(self):
        try:
            with open(self.token_file) as f:
                return {line.strip() for line in f if line.strip()}
        except OSError:
            return set()

    def _emit(self, res, etype, obj):
        self.history.append((self.rv, res, etype, obj))
        for w in self.watchers:
            if w.matches(res, obj):
                w.q.put(("event", etype, obj))

    def apply(self, obj):
        kind = obj.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {sorted(KINDS)}")
        res = KINDS[kind]
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = api_version(res)
        md = obj.setdefault("metadata", {})
        if not md.get("name"):
            raise ValueError("metadata.name missing")
        md.setdefault("namespace", "default")
        key = (res, md["namespace"], md["name"])
        old = self.objects.get(key)
        self.rv += 1
        md["resourceVersion"] = str(self.rv)
        if old:
            omd = old["metadata"]
            md["uid"] = omd["uid"]
            md["creationTimestamp"] = omd["creationTimestamp"]
            md["generation"] = omd.get("generation", 1) + 1
        else:
            md["uid"] = str(uuid.uuid4())
            # A test may give its own, to order Services by creation.
            md["creationTimestamp"] = md.get("creationTimestamp") or now_rfc3339()
            md["generation"] = 1
        self.objects[key] = obj
        self._emit(res, "MODIFIED" if old else "ADDED", obj)
        return self.rv

    def delete(self, kind, ns, name):
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {sorted(KINDS)}")
        res = KINDS[kind]
        obj = self.objects.pop((res, ns, name), None)
        if obj is None:
            raise ValueError(f"{kind} {ns}/{name} does not exist")
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self._emit(res, "DELETED", obj)
        return self.rv

    def drop(self, how):
        for w in self.watchers:
            w.q.put((how,))
        self.watchers = set()

    def compact(self):
        # As in a real cluster, where other objects' writes move the revision on: the
        # resourceVersion a client holds is now older than the oldest one kept.
        self.rv += 1
        self.compacted = self.rv
        self.history = [e for e in self.history if e[0] >= self.compacted]

    def bookmark(self):
        for w in self.watchers:
            if w.bookmarks:
                w.q.put(("bookmark", self.rv))

    def raw(self, data, res=None):
        for w in self.watchers:
            if res is None or w.res == res:
                w.q.put(("raw", data))

    def items(self, res, ns, labels, fields):
        w = Watcher(res, ns, labels, fields, False, False)
        return [
            o
            for k, o in sorted(self.objects.items())
            if k[0] == res and w.matches(res, o)
        ]


# ---- Table output (what kubectl asks for to print without -o) ----

def age(ts):
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc
        )
    except (TypeError, ValueError):
        return "<unknown>"
    s = int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())
    return f"{s}s" if s < 120 else f"{s // 60}m" if s < 7200 else f"{s // 3600}h"


def col(name, typ, desc, fmt="", priority=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


TABLE_COLUMNS = {
    "services": [
        col("Name", "string", "Name must be unique within a namespace.", "name"),
        col("Type", "string", "type determines how the Service is exposed."),
        col("Cluster-IP", "string", "clusterIP is the IP address of the service."),
        col("External-IP", "string", "externalIPs of the service."),
        col("Port(s)", "string", "The ports exposed by this service."),
        col("Age", "string", "creationTimestamp of the object."),
        col("Selector", "string", "Route traffic to pods with these labels.", "", 1),
    ],
    "endpointslices": [
        col("Name", "string", "Name must be unique within a namespace.", "name"),
        col("AddressType", "string", "The type of addresses carried by this EndpointSlice."),
        col("Ports", "string", "The ports of this EndpointSlice."),
        col("Endpoints", "string", "The addresses of this EndpointSlice."),
        col("Age", "string", "creationTimestamp of the object."),
    ],
}


def table_cells(res, o):
    md = o["metadata"]
    if res == "services":
        spec = o.get("spec") or {}
        ports = ",".join(
            f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []
        )
        sel = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items())
        return [
            md["name"],
            spec.get("type", "ClusterIP"),
            spec.get("clusterIP", "<none>"),
            ",".join(spec.get("externalIPs") or []) or "<none>",
            ports or "<none>",
            age(md.get("creationTimestamp")),
            sel or "<none>",
        ]
    ports = ",".join(str(p.get("port")) for p in o.get("ports") or []) or "<unset>"
    addrs = [a for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    shown = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [
        md["name"],
        o.get("addressType", ""),
        ports,
        shown or "<unset>",
        age(md.get("creationTimestamp")),
    ]


def table_row(res, o):
    md = {k: v for k, v in o["metadata"].items()}
    return {
        "cells": table_cells(res, o),
        "object": {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": md,
        },
    }


def to_table(res, objs, rv):
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": TABLE_COLUMNS[res],
        "rows": [table_row(res, o) for o in objs],
    }


# ---- discovery ----

def resource_list(group_version, names):
    out = []
    for name in names:
        r = RESOURCES[name]
        out.append(
            {
                "name": name,
                "singularName": r["singular"],
                "namespaced": True,
                "kind": r["kind"],
                "verbs": VERBS,
                "shortNames": r["shortNames"],
            }
        )
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": out}


DISCOVERY = {
    "/version": SERVER_VERSION,
    "/api": {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    },
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": "discovery.k8s.io",
                "versions": [{"groupVersion": "discovery.k8s.io/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "discovery.k8s.io/v1", "version": "v1"},
            }
        ],
    },
    "/api/v1": resource_list("v1", ["services"]),
    "/apis/discovery.k8s.io": {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": "discovery.k8s.io",
        "versions": [{"groupVersion": "discovery.k8s.io/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "discovery.k8s.io/v1", "version": "v1"},
    },
    "/apis/discovery.k8s.io/v1": resource_list("discovery.k8s.io/v1", ["endpointslices"]),
}


def namespace_object(name):
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def parse_resource_path(path):
    """(res, namespace or None, name or None) for a resource path, else None."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        rest, group = parts[2:], ""
    elif parts[:3] == ["apis", "discovery.k8s.io", "v1"]:
        rest, group = parts[3:], "discovery.k8s.io"
    else:
        return None
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if not rest or len(rest) > 2 or rest[0] not in RESOURCES:
        return None
    if RESOURCES[rest[0]]["group"] != group:
        return None
    return rest[0], ns, rest[1] if len(rest) == 2 else None


class ApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver"
    # Headers and body go out in separate writes: with Nagle's algorithm the second would wait
    # for the client's delayed ACK (40 ms), as no real API server makes a client wait.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake-apiserver: %s\n" % (fmt % args))

    def record(self, code, verb=None, res=None, ns=None, name=None):
        u = urllib.parse.urlsplit(self.path)
        entry = {
            "time": time.time(),
            "method": self.command,
            "path": u.path,
            "query": u.query,
            "status": code,
            "verb": verb,
            "resource": res,
            "group": RESOURCES[res]["group"] if res in RESOURCES else "" if res else None,
            "namespace": ns,
            "name": name,
            "user_agent": self.headers.get("User-Agent", ""),
        }
        self.server.log_request_entry(entry)

    def send_json(self, code, body, extra=None):
        data = json.dumps(body).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def fail(self, code, reason, message, **log):
        self.send_json(code, status(code, reason, message))
        self.record(code, **log)

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:].strip() in self.server.store.tokens():
            return True
        self.fail(401, "Unauthorized", "Unauthorized")
        return False

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        if not self.authorized():
            return
        if u.path in DISCOVERY:
            self.send_json(200, DISCOVERY[u.path])
            self.record(200)
            return
        parts = [p for p in u.path.split("/") if p]
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 4:
            # kubectl asks whether a namespace exists when something in it was not found:
            # every namespace that holds an object exists, and default.
            with self.server.store.lock:
                known = {k[1] for k in self.server.store.objects} | {"default"}
            log = dict(verb="get", res="namespaces", ns=None, name=parts[3])
            if parts[3] in known:
                self.send_json(200, namespace_object(parts[3]))
                self.record(200, **log)
            else:
                self.fail(404, "NotFound", f'namespaces "{parts[3]}" not found', **log)
            return
        parsed = parse_resource_path(u.path)
        if parsed is None:
            self.fail(404, "NotFound", "the server could not find the requested resource")
            return
        res, ns, name = parsed
        try:
            labels = parse_selector(q.get("labelSelector", ""))
            fields = parse_selector(q.get("fieldSelector", ""))
        except ValueError as e:
            self.fail(400, "BadRequest", str(e))
            return
        for op, k, _ in fields:
            if k not in ("metadata.name", "metadata.namespace"):
                self.fail(400, "BadRequest",
                          f'"{k}" is not a known field selector: only "metadata.name", '
                          '"metadata.namespace"')
                return
        table = "as=Table" in self.headers.get("Accept", "")
        if q.get("watch") in ("1", "true"):
            if name is not None:
                fields.append(("=", "metadata.name", name))
            self.watch(res, ns, labels, fields, q, table)
        elif name is not None:
            self.get_one(res, ns, name, table)
        else:
            self.list(res, ns, labels, fields, table, q)

    def get_one(self, res, ns, name, table):
        with self.server.store.lock:
            obj = self.server.store.objects.get((res, ns, name))
            rv = str(self.server.store.rv)
        log = dict(verb="get", res=res, ns=ns, name=name)
        if obj is None:
            r = RESOURCES[res]
            self.send_json(404, status(404, "NotFound", f'{res} "{name}" not found',
                                       {"name": name, "group": r["group"], "kind": res}))
            self.record(404, **log)
            return
        self.send_json(200, to_table(res, [obj], rv) if table else obj)
        self.record(200, **log)

    def list(self, res, ns, labels, fields, table, q):
        # Pages (?limit=N, then ?continue=TOKEN) are cut from one snapshot, as the real
        # server serves them from one resourceVersion; a token older than the compaction is
        # answered 410 Expired, after which a client lists from the start.
        store = self.server.store
        log = dict(verb="list", res=res, ns=ns)
        cont = q.get("continue", "")
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            self.fail(400, "BadRequest", f'invalid limit "{q.get("limit")}"', **log)
            return
        with store.lock:
            if cont:
                page = store.pages.pop(cont, None)
                if page is None:
                    self.fail(400, "BadRequest", "invalid continue token", **log)
                    return
                objs, rv = page
                if int(rv) < store.compacted:
                    self.fail(410, "Expired", "The provided continue parameter is too old to "
                              "display a consistent list result. You can start a new list "
                              "without the continue parameter.", **log)
                    return
            else:
                objs = store.items(res, ns, labels, fields)
                rv = str(store.rv)
            token, remaining = "", 0
            if limit > 0 and len(objs) > limit:
                token = uuid.uuid4().hex
                store.pages[token] = (objs[limit:], rv)
                remaining = len(objs) - limit
                objs = objs[:limit]
        if table:
            body = to_table(res, objs, rv)
            if token:
                body["metadata"]["continue"] = token
        else:
            items = []
            for o in objs:
                # Items of a list carry no kind and apiVersion: the list's say them.
                o = dict(o)
                o.pop("kind", None)
                o.pop("apiVersion", None)
                items.append(o)
            md = {"resourceVersion": rv}
            if token:
                md["continue"] = token
                md["remainingItemCount"] = remaining
            body = {
                "kind": RESOURCES[res]["kind"] + "List",
                "apiVersion": api_version(res),
                "metadata": md,
                "items": items,
            }
        self.send_json(200, body)
        self.record(200, **log)

    # A watch: a chunked stream of JSON lines, until the client goes, timeoutSeconds pass, or
    # the control channel drops it.
    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def event(self, etype, obj, res, table):
        if table and etype != "BOOKMARK" and etype != "ERROR":
            obj = to_table(res, [obj], obj["metadata"]["resourceVersion"])
        self.chunk(json.dumps({"type": etype, "object": obj}).encode() + b"\n")

    def bookmark(self, res, rv, extra=None):
        md = {"resourceVersion": str(rv)}
        if extra:
            md["annotations"] = extra
        return {"kind": RESOURCES[res]["kind"], "apiVersion": api_version(res), "metadata": md}

    def client_gone(self):
        # A watching client sends nothing: readable means it closed (or broke the protocol).
        sock = self.connection
        try:
            r, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        if not r:
            return False
        sock.settimeout(0.0)
        try:
            return sock.recv(1) == b""
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        except OSError:
            return True
        finally:
            sock.settimeout(None)

    def watch(self, res, ns, labels, fields, q, table):
        store = self.server.store
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true")
        initial = q.get("sendInitialEvents") in ("1", "true")
        rvs = q.get("resourceVersion", "")
        timeout = float(q.get("timeoutSeconds") or self.server.watch_timeout)
        w = Watcher(res, ns, labels, fields, bookmarks, table)
        log = dict(verb="watch", res=res, ns=ns)
        try:
            since = int(rvs) if rvs not in ("", "0") else None
        except ValueError:
            self.fail(400, "BadRequest", f'invalid resource version "{rvs}"', **log)
            return
        with store.lock:
            gone = since is not None and since < store.compacted and not initial
            if not gone:
                if since is None or initial:
                    backlog = [("ADDED", o) for o in store.items(res, ns, labels, fields)]
                else:
                    backlog = [(t, o) for (rv, r, t, o) in store.history
                               if rv > since and w.matches(r, o)]
                store.watchers.add(w)
            rv_now, compacted, gone_mode = store.rv, store.compacted, store.gone_mode
        if gone and gone_mode == "http":
            self.fail(410, "Expired", f"too old resource version: {since} ({compacted})", **log)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.record(200, **log)
        try:
            if gone:
                st = status(410, "Expired", f"too old resource version: {since} ({compacted})")
                self.event("ERROR", st, res, False)
                self.chunk(b"")
                return
            for etype, obj in backlog:
                self.event(etype, obj, res, table)
            if initial and bookmarks:
                self.event("BOOKMARK",
                           self.bookmark(res, rv_now, {"k8s.io/initial-events-end": "true"}),
                           res, False)
            deadline = time.monotonic() + timeout
            last_write = time.monotonic()
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.chunk(b"")
                    return
                try:
                    item = w.q.get(timeout=min(left, 0.5))
                except queue.Empty:
                    if self.client_gone():
                        return
                    if bookmarks and time.monotonic() - last_write >= self.server.bookmark_every:
                        with store.lock:
                            rv = store.rv if w.q.empty() else None
                        if rv is not None:
                            self.event("BOOKMARK", self.bookmark(res, rv), res, False)
                            last_write = time.monotonic()
                    continue
                if item[0] == "event":
                    self.event(item[1], item[2], res, table)
                elif item[0] == "bookmark":
                    self.event("BOOKMARK", self.bookmark(res, item[1]), res, False)
                elif item[0] == "raw":
                    self.chunk(item[1].encode())
                elif item[0] == "close":
                    self.chunk(b"")
                    return
                elif item[0] == "reset":
                    # An abortive close (RST), as a crashed server or a broken path gives.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                last_write = time.monotonic()
        except (OSError, ssl.SSLError):
            self.close_connection = True
        finally:
            with store.lock:
                store.watchers.discard(w)
            self.close_connection = True

    def do_POST(self):
        self.not_allowed()

    do_PUT = do_PATCH = do_DELETE = do_POST

    def not_allowed(self):
        if self.authorized():
            u = urllib.parse.urlsplit(self.path)
            parsed = parse_resource_path(u.path)
            res, ns, name = parsed if parsed else (None, None, None)
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
            self.fail(405, "MethodNotAllowed", "this fake API server is read-only",
                      verb=verb[self.command], res=res, ns=ns, name=name)


class ApiServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, ctx, store, log_path, verbose):
        self.ctx, self.store, self.verbose = ctx, store, verbose
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", buffering=1) if log_path else None
        self.watch_timeout = 1800.0
        self.bookmark_every = 60.0
        super().__init__(addr, ApiHandler)

    def finish_request(self, request, client_address):
        # The TLS handshake in the connection's own thread: a client that connects and says
        # nothing must not hold up the others.
        try:
            request.settimeout(10)
            tls = self.ctx.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except (OSError, ssl.SSLError) as e:
            if self.verbose:
                sys.stderr.write(f"fake-apiserver: TLS handshake with {client_address}: {e}\n")
            return
        try:
            ApiHandler(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def log_request_entry(self, entry):
        if self.log_file:
            with self.log_lock:
                self.log_file.write(json.dumps(entry) + "\n")


# ---- Control ----
#
# POST /ops with {"ops": [OP, ...]} (or one OP): applied in order under the store's lock, so
# no client sees a state between two of them. The answer: {"rv": N, "t_ns": T} where T is
# CLOCK_MONOTONIC (ns) when the events were handed to the watches. OPs:
#   {"op": "apply", "object": {...}}            create or replace (ADDED or MODIFIED)
#   {"op": "delete", "kind": K, "namespace": NS, "name": N}
#   {"op": "drop", "how": "close"|"reset"}     end every watch (cleanly, or with a RST)
#   {"op": "compact"}                           resourceVersions held so far are now too old
#   {"op": "gone", "mode": "event"|"http"}      how a too-old watch is answered (see top)
#   {"op": "bookmark"}                          a BOOKMARK to every watch that allows them
#   {"op": "raw", "data": "...", "resource": R} bytes as one chunk of every watch (of R)
#   {"op": "token", "tokens": ["..."]}          the tokens accepted from now on
#   {"op": "bookmark_every", "seconds": S}      periodic bookmarks on idle watches
# GET /state: {"rv", "compacted", "watches": [{"resource", "namespace", "since"}], "objects"}

class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the answer's time counts in the benchmark (part M)

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        store = self.server.api.store
        if self.path == "/state":
            with store.lock:
                body = {
                    "rv": store.rv,
                    "compacted": store.compacted,
                    "watches": [
                        {"resource": w.res, "namespace": w.ns, "since": w.since}
                        for w in store.watchers
                    ],
                    "objects": len(store.objects),
                }
            self.reply(200, body)
        elif self.path == "/objects":
            with store.lock:
                body = list(store.objects.values())
            self.reply(200, body)
        elif self.path == "/healthz":
            self.reply(200, {"ok": True})
        else:
            self.reply(404, {"error": "no such control path"})

    def do_POST(self):
        if self.path != "/ops":
            self.reply(404, {"error": "no such control path"})
            return
        try:
            n = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(n) or b"{}")
        except ValueError as e:
            self.reply(400, {"error": f"bad JSON: {e}"})
            return
        ops = body.get("ops", [body]) if isinstance(body, dict) else body
        api = self.server.api
        store = api.store
        try:
            with store.lock:
                for op in ops:
                    self.one(api, store, op)
                rv = store.rv
                t = time.monotonic_ns()
        except (ValueError, KeyError, TypeError) as e:
            self.reply(400, {"error": str(e)})
            return
        self.reply(200, {"rv": rv, "t_ns": t})

    def one(self, api, store, op):
        kind = op.get("op")
        if kind == "apply":
            store.apply(op["object"])
        elif kind == "delete":
            store.delete(op["kind"], op.get("namespace", "default"), op["name"])
        elif kind == "drop":
            how = op.get("how", "close")
            if how not in ("close", "reset"):
                raise ValueError(f"drop how {how!r}")
            store.drop(how)
        elif kind == "compact":
            store.compact()
        elif kind == "gone":
            if op.get("mode") not in ("event", "http"):
                raise ValueError(f"gone mode {op.get('mode')!r}")
            store.gone_mode = op["mode"]
        elif kind == "bookmark":
            store.bookmark()
        elif kind == "raw":
            store.raw(op["data"], op.get("resource"))
        elif kind == "token":
            tmp = store.token_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("".join(t + "\n" for t in op["tokens"]))
            os.replace(tmp, store.token_file)
        elif kind == "bookmark_every":
            api.bookmark_every = float(op["seconds"])
        else:
            raise ValueError(f"unknown op {kind!r}")


class ControlServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True, help="HTTPS port (API)")
    p.add_argument("--control-port", type=int, required=True, help="plain HTTP control port")
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--cert", required=True, help="server certificate (PEM)")
    p.add_argument("--key", required=True, help="server key (PEM)")
    p.add_argument("--token-file", required=True, help="accepted bearer tokens, one a line")
    p.add_argument("--log", help="request log: one JSON line per API request")
    p.add_argument("--objects", help="JSON list of objects to start with")
    p.add_argument("--bookmark-every", type=float, default=60.0)
    p.add_argument("--watch-timeout", type=float, default=1800.0)
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    store = Store(a.token_file)
    if a.objects:
        with open(a.objects) as f:
            for o in json.load(f):
                store.apply(o)
    api = ApiServer((a.address, a.port), ctx, store, a.log, a.verbose)
    api.bookmark_every = a.bookmark_every
    api.watch_timeout = a.watch_timeout
    ctl = ControlServer(("127.0.0.1", a.control_port), ControlHandler)
    ctl.api = api
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    sys.stderr.write(f"fake-apiserver: https://{a.address}:{a.port}, control "
                     f"http://127.0.0.1:{a.control_port}\n")
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
