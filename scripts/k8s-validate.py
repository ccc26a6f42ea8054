#!/usr/bin/python3
"""Offline, strict validation of Kubernetes manifests (no cluster needed).
(A copy of the shared verification tool, with autoscaling/v2 added.)

Usage: k8s-validate.py FILE_OR_DIR...   (multi-document YAML; dirs: *.yaml|*.yml)

Checks every object against the model classes of Debian's python3-kubernetes
(22.6 = Kubernetes 1.22 API):
  * unknown fields (typos such as "readinesProbe")      -> error
  * wrong scalar types (runAsNonRoot: "yes")             -> error
  * required fields (containers, selector, ...)          -> error
Fields newer than Kubernetes 1.22 are reported as unknown; allow them with
  K8S_VALIDATE_ALLOW="hostUsers,resizePolicy" (comma-separated field names).
Kinds unknown to the client (CRDs, skaffold Config, ...) are skipped with a note.
autoscaling/v2 (GA in 1.23, after this client) is checked against the
autoscaling/v2beta2 models it was promoted from unchanged.

Needs: apt-get install python3-kubernetes python3-yaml   (Debian's python3)
Exit status: 0 all valid, 1 errors, 2 usage.
"""
import os
import re
import sys

try:
    import yaml
    import kubernetes.client as kc
    from kubernetes.client import ApiClient
except ImportError as e:  # pragma: no cover
    sys.exit("k8s-validate: %s (apt-get install python3-kubernetes python3-yaml; "
             "run with Debian's python3, not a pyenv/venv one)" % e)

ALLOW = {f for f in os.environ.get("K8S_VALIDATE_ALLOW", "").split(",") if f}
QUANTITY_MAPS = {"limits", "requests", "capacity", "hard", "allocatable"}
# GA API versions newer than the client -> the beta models they promoted
PROMOTED = {"autoscaling/v2": "autoscaling/v2beta2"}


def class_for(api_version, kind):
    if api_version in PROMOTED and class_for_exact(api_version, kind) is None:
        api_version = PROMOTED[api_version]
    return class_for_exact(api_version, kind)


def class_for_exact(api_version, kind):
    group, _, version = api_version.rpartition("/")
    v = version[:1].upper() + version[1:]
    names = []
    if group:
        g = group.split(".")[0]
        names.append(g[:1].upper() + g[1:] + v + kind)   # EventsV1Event, ...
    names.append(v + kind)                                # V1Deployment
    for n in names:
        cls = getattr(kc, n, None)
        if cls is not None and hasattr(cls, "openapi_types"):
            return n
    return None


def check(value, typ, path, errs, key=None):
    if value is None:
        return
    m = re.match(r"list\[(.*)\]$", typ)
    if m:
        if not isinstance(value, list):
            errs.append("%s: expected list, got %s" % (path, type(value).__name__))
            return
        for i, v in enumerate(value):
            check(v, m.group(1), "%s[%d]" % (path, i), errs)
        return
    m = re.match(r"dict\(str, (.*)\)$", typ)
    if m:
        if not isinstance(value, dict):
            errs.append("%s: expected map, got %s" % (path, type(value).__name__))
            return
        for k, v in value.items():
            vt = m.group(1)
            if vt == "str" and key in QUANTITY_MAPS and isinstance(v, (int, float)) \
                    and not isinstance(v, bool):
                continue  # resource quantities may be plain numbers
            check(v, vt, "%s.%s" % (path, k), errs)
        return
    if typ == "str" or typ == "datetime" or typ == "date":
        if not isinstance(value, str):
            errs.append("%s: expected string, got %s %r" % (path, type(value).__name__, value))
        return
    if typ == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            errs.append("%s: expected integer, got %s %r" % (path, type(value).__name__, value))
        return
    if typ == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errs.append("%s: expected number, got %r" % (path, value))
        return
    if typ == "bool":
        if not isinstance(value, bool):
            errs.append("%s: expected boolean, got %s %r" % (path, type(value).__name__, value))
        return
    if typ == "object":      # IntOrString, RawExtension, JSON: anything goes
        return
    cls = getattr(kc, typ, None)
    if cls is None:
        return
    if not isinstance(value, dict):
        errs.append("%s: expected object (%s), got %s" % (path, typ, type(value).__name__))
        return
    known = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    for k, v in value.items():
        if k not in known:
            if k not in ALLOW:
                errs.append("%s: unknown field %r (%s)" % (path, k, typ))
            continue
        check(v, cls.openapi_types[known[k]], "%s.%s" % (path, k), errs, key=k)


class _Resp:  # what ApiClient.deserialize expects
    def __init__(self, obj):
        import json
        self.data = json.dumps(obj)


def validate_obj(obj, where):
    if not isinstance(obj, dict):
        return ["%s: not a mapping" % where]
    av, kind = obj.get("apiVersion"), obj.get("kind")
    if not av or not kind:
        return ["%s: missing apiVersion/kind" % where]
    name = (obj.get("metadata") or {}).get("name", "?")
    where = "%s %s/%s" % (where, kind, name)
    if kind.endswith("List") and isinstance(obj.get("items"), list):
        errs = []
        for i, it in enumerate(obj["items"]):
            errs += validate_obj(it, "%s items[%d]" % (where, i))
        return errs
    cname = class_for(av, kind)
    if cname is None:
        print("skip %s (apiVersion %s not in python3-kubernetes %s)"
              % (where, av, kc.__name__), file=sys.stderr)
        return []
    errs = []
    check(obj, cname, where, errs)
    if not errs:   # required fields: the client raises on missing ones
        try:
            ApiClient().deserialize(_Resp(obj), cname)
        except (ValueError, TypeError) as e:
            errs.append("%s: %s" % (where, e))
    return errs


def files(args):
    for a in args:
        if os.path.isdir(a):
            for root, _, fs in os.walk(a):
                for f in sorted(fs):
                    if f.endswith((".yaml", ".yml")):
                        yield os.path.join(root, f)
        else:
            yield a


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    nerr = nobj = 0
    for f in files(argv):
        with open(f) as fh:
            try:
                docs = list(yaml.safe_load_all(fh))
            except yaml.YAMLError as e:
                print("ERROR %s: YAML: %s" % (f, e))
                nerr += 1
                continue
        for i, d in enumerate(docs):
            if d is None:
                continue
            nobj += 1
            errs = validate_obj(d, "%s#%d" % (f, i))
            for e in errs:
                print("ERROR " + e)
            nerr += len(errs)
    print("%d object(s), %d error(s)" % (nobj, nerr), file=sys.stderr)
    return 1 if nerr else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
