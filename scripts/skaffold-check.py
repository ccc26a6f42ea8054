#!/usr/bin/python3
"""Offline sanity check of a skaffold.yaml (skaffold itself and its JSON
schema are not installable here: not in Debian, not on npm).
(A copy of the shared verification tool that also follows manifests.kustomize.)

Usage: skaffold-check.py [path/to/skaffold.yaml]   (default ./skaffold.yaml)

Checks (for apiVersion skaffold/v2beta*, v3*, v4beta*):
  * apiVersion matches skaffold/vN..., kind is Config
  * no unknown keys at the top level, in build, build.local, build.artifacts[],
    artifacts[].docker, manifests, deploy, deploy.kubectl, portForward[],
    profiles[]  (allow-lists below follow the v4beta11 schema)
  * referenced files exist: artifact context dir, its Dockerfile,
    manifests.rawYaml / deploy.kubectl.manifests globs (each must match),
    manifests.kustomize.paths (each a kustomization, whose resources,
    patches and bases must exist, recursively)
  * every artifact image is referenced by some rendered manifest (warning)
Exit: 0 ok, 1 errors, 2 usage. Needs python3-yaml (Debian's python3).
"""
import glob
import os
import re
import sys

import yaml

KEYS = {
    "top": {"apiVersion", "kind", "metadata", "requires", "build", "test", "manifests",
            "deploy", "portForward", "resourceSelector", "verify", "customActions", "profiles"},
    "metadata": {"name", "labels", "annotations"},
    "build": {"artifacts", "insecureRegistries", "tagPolicy", "platforms", "local",
              "googleCloudBuild", "cluster"},
    "local": {"push", "tryImportMissing", "useDockerCLI", "useBuildkit", "concurrency"},
    "artifact": {"image", "context", "sync", "requires", "hooks", "platforms", "runtimeType",
                 "docker", "bazel", "ko", "jib", "kaniko", "buildpacks", "custom"},
    "docker": {"dockerfile", "target", "buildArgs", "network", "addHost", "cacheFrom",
               "cliFlags", "pullParent", "noCache", "cacheTo", "secrets", "ssh"},
    "manifests": {"rawYaml", "kustomize", "helm", "kpt", "hooks", "transform", "validate"},
    "deploy": {"kubectl", "helm", "kpt", "docker", "cloudrun", "kubeContext", "logs",
               "statusCheck", "statusCheckDeadlineSeconds", "tolerateFailuresUntilDeadline"},
    "kubectl": {"manifests", "remoteManifests", "flags", "defaultNamespace", "hooks"},
    "portForward": {"resourceType", "resourceName", "namespace", "port", "localPort", "address"},
    "profile": {"name", "activation", "patches", "requiresAllActivations", "build", "test",
                "manifests", "deploy", "portForward", "resourceSelector", "verify",
                "customActions"},
}


def main(argv):
    path = argv[0] if argv else "skaffold.yaml"
    if not os.path.isfile(path):
        print(__doc__, file=sys.stderr)
        return 2
    base = os.path.dirname(os.path.abspath(path))
    errs, warns = [], []
    with open(path) as fh:
        try:
            docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        except yaml.YAMLError as e:
            print("ERROR YAML: %s" % e)
            return 1

    def keys(obj, allowed, where):
        if obj is None:
            return
        if not isinstance(obj, dict):
            errs.append("%s: expected a mapping" % where)
            return
        for k in obj:
            if k not in KEYS[allowed]:
                errs.append("%s: unknown key %r" % (where, k))

    def globs(patterns, where):
        files = []
        for p in patterns or []:
            m = glob.glob(os.path.join(base, p), recursive=True)
            if not m and not re.match(r"https?://", p):
                errs.append("%s: %r matches no file" % (where, p))
            files += m
        return files

    def kustomization(d, where):
        """The YAML files a kustomization directory uses, recursively."""
        for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            k = os.path.join(d, name)
            if os.path.isfile(k):
                break
        else:
            errs.append("%s: %r has no kustomization file" % (where, d))
            return []
        with open(k) as fh:
            kust = yaml.safe_load(fh) or {}
        files = [k]
        refs = list(kust.get("resources") or []) + list(kust.get("bases") or [])
        refs += [p if isinstance(p, str) else p.get("path")
                 for p in (kust.get("patches") or []) + (kust.get("patchesStrategicMerge") or [])]
        for r in refs:
            if not r or re.match(r"https?://|git@", r):
                continue
            f = os.path.normpath(os.path.join(d, r))
            if os.path.isdir(f):
                files += kustomization(f, where)
            elif os.path.isfile(f):
                files.append(f)
            else:
                errs.append("%s: %s refers to %r, which does not exist" % (where, k, r))
        return files

    manifests_text = ""
    for i, d in enumerate(docs):
        w = "doc%d" % i
        av = str(d.get("apiVersion", ""))
        if not re.match(r"^skaffold/v\d+((alpha|beta)\d+)?$", av):
            errs.append("%s: apiVersion %r is not skaffold/vN[alpha|betaN]" % (w, av))
        if d.get("kind") != "Config":
            errs.append("%s: kind must be Config" % w)
        keys(d, "top", w)
        keys(d.get("metadata"), "metadata", w + ".metadata")
        sections = [(w, d)] + [("%s.profiles[%d]" % (w, j), p)
                               for j, p in enumerate(d.get("profiles") or [])]
        for j, p in enumerate(d.get("profiles") or []):
            keys(p, "profile", "%s.profiles[%d]" % (w, j))
        for sw, s in sections:
            b = s.get("build") or {}
            keys(b, "build", sw + ".build")
            keys(b.get("local"), "local", sw + ".build.local")
            for k, a in enumerate(b.get("artifacts") or []):
                aw = "%s.build.artifacts[%d]" % (sw, k)
                keys(a, "artifact", aw)
                if not isinstance(a, dict):
                    continue
                if not a.get("image"):
                    errs.append("%s: image is required" % aw)
                ctx = os.path.join(base, a.get("context", "."))
                if not os.path.isdir(ctx):
                    errs.append("%s: context %r is not a directory" % (aw, a.get("context")))
                dk = a.get("docker")
                keys(dk, "docker", aw + ".docker")
                builders = KEYS["artifact"] & {"docker", "bazel", "ko", "jib", "kaniko",
                                                "buildpacks", "custom"} & set(a)
                if dk is not None or not builders:
                    df = (dk or {}).get("dockerfile", "Dockerfile")
                    if not os.path.isfile(os.path.join(ctx, df)):
                        errs.append("%s: Dockerfile %r not found in context" % (aw, df))
            m = s.get("manifests") or {}
            keys(m, "manifests", sw + ".manifests")
            dep = s.get("deploy") or {}
            keys(dep, "deploy", sw + ".deploy")
            kctl = dep.get("kubectl")
            keys(kctl, "kubectl", sw + ".deploy.kubectl")
            files = globs(m.get("rawYaml"), sw + ".manifests.rawYaml")
            files += globs((kctl or {}).get("manifests"), sw + ".deploy.kubectl.manifests")
            for j, kp in enumerate((m.get("kustomize") or {}).get("paths") or []):
                files += kustomization(os.path.join(base, kp),
                                       "%s.manifests.kustomize.paths[%d]" % (sw, j))
            for f in files:
                if os.path.isfile(f):
                    with open(f) as fh:
                        manifests_text += fh.read()
            for k, pf in enumerate(s.get("portForward") or []):
                keys(pf, "portForward", "%s.portForward[%d]" % (sw, k))
        for a in (d.get("build") or {}).get("artifacts") or []:
            img = isinstance(a, dict) and a.get("image")
            if img and manifests_text and img not in manifests_text:
                warns.append("image %r is not referenced by any manifest" % img)
    for e in errs:
        print("ERROR " + e)
    for x in warns:
        print("WARN  " + x)
    print("%s: %d error(s), %d warning(s)" % (path, len(errs), len(warns)), file=sys.stderr)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
