#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks and queries deploy/*.yaml for tests/e2e/deploy.bats, with no cluster.

  deploy_manifest.py check FILE...     every document parses (YAML, no key given twice) and
                                       fits the Kubernetes API's types: each key a field of
                                       its object, each value of the field's type, required
                                       fields present (the models of python3-kubernetes)
  deploy_manifest.py eval EXPR FILE... prints EXPR (Python) over the files' documents:
                                       docs (all), one(KIND) (the only one of that kind),
                                       pod() (the DaemonSet's pod spec), ctr(NAME) (its
                                       container or init container), mounts(CTR, SOURCE)
                                       ((volume source, mount) pairs: SOURCE hostPath,
                                       configMap, secret), caps(CTR) (added, space-separated)
  deploy_manifest.py rbac FILE LOG     the ClusterRole of FILE against a request log (one
                                       JSON object a line with verb, group, resource, as
                                       tests/e2e/fake_apiserver.py writes it): every request
                                       allowed by a rule, every rule's resource requested

Debian's python3-yaml and python3-kubernetes, hence /usr/bin/python3.
"""
import json
import re
import sys

import yaml
from kubernetes import client

# Fields of Kubernetes releases after python3-kubernetes' models (API 1.22): (model, field).
NEWER = {
    # 1.30: AppArmor as a field, the annotation before it.
    ("V1PodSecurityContext", "appArmorProfile"),
    ("V1SecurityContext", "appArmorProfile"),
}


class Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in a map (PyYAML keeps the last)."""


def _mapping(loader, node, deep=False):
    seen = set()
    for k, _ in node.value:
        key = loader.construct_object(k, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice", k.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=Loader) if d is not None]


def model(doc):
    """The model class of a document: apps/v1 DaemonSet -> V1DaemonSet."""
    version = doc["apiVersion"].split("/")[-1]
    name = version[0].upper() + version[1:] + doc["kind"]
    cls = getattr(client, name, None)
    if cls is None:
        raise ValueError(f"{doc['apiVersion']} {doc['kind']}: no such kind")
    return cls


def walk(value, typ, path, errors):
    """Checks value against the model type name typ (as in openapi_types)."""
    if typ.startswith("list["):
        if not isinstance(value, list):
            errors.append(f"{path}: a list is wanted, not {value!r}")
            return
        for i, v in enumerate(value):
            walk(v, typ[5:-1], f"{path}[{i}]", errors)
    elif typ.startswith("dict("):
        inner = re.match(r"dict\(str, (.*)\)$", typ).group(1)
        if not isinstance(value, dict):
            errors.append(f"{path}: a map is wanted, not {value!r}")
            return
        for k, v in value.items():
            walk(v, inner, f"{path}.{k}", errors)
    elif typ == "str":
        if not isinstance(value, str):
            errors.append(f"{path}: a string is wanted, not {value!r}")
    elif typ == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: a number is wanted, not {value!r}")
    elif typ == "bool":
        if not isinstance(value, bool):
            errors.append(f"{path}: true or false is wanted, not {value!r}")
    elif typ == "object":
        # IntOrString (ports, maxUnavailable), quantities: a number or a string.
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            errors.append(f"{path}: a number or string is wanted, not {value!r}")
    elif typ == "datetime":
        pass
    else:
        cls = getattr(client, typ)
        if not isinstance(value, dict):
            errors.append(f"{path}: a map ({typ}) is wanted, not {value!r}")
            return
        fields = {json: attr for attr, json in cls.attribute_map.items()}
        for k, v in value.items():
            if (typ, k) in NEWER:
                continue
            if k not in fields:
                errors.append(f"{path}.{k}: not a field of {typ} "
                              f"({', '.join(sorted(fields))})")
                continue
            walk(v, cls.openapi_types[fields[k]], f"{path}.{k}", errors)


def check(path):
    errors = []
    docs = load(path)
    if not docs:
        errors.append(f"{path}: no document")
    api = client.ApiClient()
    for i, doc in enumerate(docs):
        where = f"{path}: document {i + 1} ({doc.get('kind', '?')})"
        try:
            cls = model(doc)
        except (KeyError, ValueError) as e:
            errors.append(f"{where}: {e}")
            continue
        walk(doc, cls.__name__, where, errors)
        stripped = strip_newer(doc, cls.__name__)
        try:
            # The models' own checks: required fields, allowed values.
            api._ApiClient__deserialize(stripped, cls.__name__)
        except (ValueError, TypeError) as e:
            errors.append(f"{where}: {e}")
    return errors


def strip_newer(value, typ):
    """value without the NEWER fields, which the models cannot build."""
    if typ.startswith("list[") and isinstance(value, list):
        return [strip_newer(v, typ[5:-1]) for v in value]
    cls = getattr(client, typ, None)
    if cls is None or not isinstance(value, dict):
        return value
    fields = {json: attr for attr, json in cls.attribute_map.items()}
    return {k: strip_newer(v, cls.openapi_types[fields[k]]) if k in fields else v
            for k, v in value.items() if (typ, k) not in NEWER}


def rbac(path, log):
    """Problems of the ClusterRole in path against the requests in log, as lines."""
    roles = [d for d in load(path) if d.get("kind") == "ClusterRole"]
    if len(roles) != 1:
        return [f"{path}: {len(roles)} ClusterRoles"]
    rules = roles[0].get("rules") or []
    used = set()
    errors = []
    with open(log, encoding="utf-8") as f:
        requests = [json.loads(line) for line in f if line.strip()]
    for r in requests:
        if r.get("verb") is None:  # discovery, /version: not a resource
            continue
        allowed = [i for i, rule in enumerate(rules)
                   if r["group"] in rule.get("apiGroups", [])
                   and r["resource"] in rule.get("resources", [])
                   and r["verb"] in rule.get("verbs", [])]
        if not allowed:
            errors.append(f"{r.get('method')} {r.get('path')}: {r['verb']} "
                          f"{r['resource']} ({r['group'] or 'core'}) is not granted")
        used.update(allowed)
    for i, rule in enumerate(rules):
        if i not in used:
            errors.append(f"rule {i} ({', '.join(rule.get('resources', []))}) "
                          "grants what no request used")
    if not requests:
        errors.append(f"{log}: no request")
    return errors


def main(argv):
    if len(argv) >= 2 and argv[0] == "check":
        errors = []
        for path in argv[1:]:
            try:
                errors += check(path)
            except (OSError, yaml.YAMLError) as e:
                errors.append(f"{path}: {e}")
        for e in errors:
            print(e, file=sys.stderr)
        return 1 if errors else 0
    if len(argv) >= 3 and argv[0] == "eval":
        docs = [d for path in argv[2:] for d in load(path)]

        def one(kind):
            found = [d for d in docs if d.get("kind") == kind]
            if len(found) != 1:
                raise SystemExit(f"{len(found)} documents of kind {kind}")
            return found[0]

        def pod():
            return one("DaemonSet")["spec"]["template"]["spec"]

        def ctr(name):
            found = [c for c in pod().get("initContainers", []) + pod()["containers"]
                     if c["name"] == name]
            if len(found) != 1:
                raise SystemExit(f"{len(found)} containers named {name}")
            return found[0]

        def mounts(c, source):
            vols = {v["name"]: v for v in pod().get("volumes", [])}
            return [(vols[m["name"]][source], m) for m in c.get("volumeMounts", [])
                    if source in vols[m["name"]]]

        def caps(c):
            return " ".join(c["securityContext"]["capabilities"]["add"])

        names = {"docs": docs, "one": one, "pod": pod, "ctr": ctr, "mounts": mounts,
                 "caps": caps}
        print(eval(argv[1], names))
        return 0
    if len(argv) == 3 and argv[0] == "rbac":
        errors = rbac(argv[1], argv[2])
        for e in errors:
            print(e, file=sys.stderr)
        return 1 if errors else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
