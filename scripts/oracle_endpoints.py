#!/usr/bin/env python3
"""Test oracle for Portcullis endpoint resolution (crates/endpoints) at the pinned botocore.

botocore's per-service endpoint fixtures (crates/endpoints/tests/data/endpoint-tests/<service>/
endpoint-tests-1.json) come from a different botocore release than our model pack, so a few of
their expectations do not hold for the pack's rule sets (see tests/service_endpoints.rs). This
script records what the PINNED implementation says instead: for every case of every fixture file,
it runs the same params through botocore 1.43.62's own ``EndpointProvider`` (bundled with the
pinned awscli as ``awscli.botocore``) over that service's rule set and ``partitions.json`` from
the bundled data, and writes the outcome -- url, headers, properties, or the error message -- to
crates/endpoints/tests/data/pinned-oracle.json. crates/endpoints/tests/pinned_oracle.rs then
requires our evaluator to agree with every recorded case, without Python.

Before evaluating anything it checks that the bundled data IS the pack's data: each rule set and
the partitions, with documentation keys dropped and minified exactly as scripts/gen_model_pack.py
does, must equal byte for byte the entry decoded from crates/model/data/models.pack
(``endpoint-rules/<service>``, ``global/partitions``). Any difference is an error.

Usage (from the repository root, with the pinned venv):

    .venv/bin/python scripts/oracle_endpoints.py            # regenerate pinned-oracle.json
    .venv/bin/python scripts/oracle_endpoints.py --check    # fail if it is out of date

Output (keys sorted except within `params`, which keep the fixture's order; stable): {"botocore", "awscli", "generator", "cases" (count),
"fixture_disagreements" (cases whose fixture expectation the pinned botocore does not meet),
"services": {service: {"rules_sha256", "cases": [{"index" (position in the fixture file),
"documentation", "params", "expect": {"endpoint": {"url", "headers", "properties"}} or
{"error": message}}]}}}. ``rules_sha256`` is the SHA-256 of the pack's (minified) rule set.
"""

import argparse
import hashlib
import json
import os
import struct
import sys
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "crates", "endpoints", "tests", "data", "endpoint-tests")
OUT = os.path.join(REPO, "crates", "endpoints", "tests", "data", "pinned-oracle.json")
PACK = os.path.join(REPO, "crates", "model", "data", "models.pack")
PINNED_BOTOCORE = "1.43.62"
MAGIC = b"PCLSPK01"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_model_pack import minify, strip_docs  # noqa: E402  (the pack's own normalisation)

# The pinned awscli bundles its botocore and registers it as the top-level `botocore` module (the
# venv also holds an unrelated standalone botocore). Import it under that name, as the bundled code
# does itself, so that its exception classes are the ones it raises.
import awscli  # noqa: E402
import botocore  # noqa: E402
from botocore import loaders  # noqa: E402
from botocore.endpoint_provider import EndpointProvider  # noqa: E402
from botocore.exceptions import EndpointResolutionError  # noqa: E402

if os.path.dirname(os.path.abspath(botocore.__file__)) != os.path.join(os.path.dirname(os.path.abspath(awscli.__file__)), "botocore"):
    sys.exit(f"`botocore` is {botocore.__file__}, not the awscli-bundled one")


def read_pack(path):
    """{entry name: raw bytes} of a PCLSPK01 pack."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != MAGIC:
        sys.exit(f"{path}: bad magic {data[:8]!r}")
    (count,) = struct.unpack_from("<I", data, 8)
    pos, index = 12, []
    for _ in range(count):
        (n,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + n].decode()
        pos += 2 + n
        offset, comp, raw = struct.unpack_from("<III", data, pos)
        pos += 12
        index.append((name, offset, comp, raw))
    entries = {}
    for name, offset, comp, raw in index:
        blob = zlib.decompress(data[pos + offset : pos + offset + comp], -15)
        if len(blob) != raw:
            sys.exit(f"{path}: {name}: {len(blob)} bytes inflated, header says {raw}")
        entries[name] = blob
    return entries


def same_as_pack(what, bundled, packed):
    """Fails unless the bundled document, normalised like the pack, is the pack's entry."""
    if packed is None:
        sys.exit(f"{what}: not in {PACK}")
    if minify(strip_docs(bundled)) != packed:
        sys.exit(
            f"{what}: awscli-bundled botocore {botocore.__version__} data differs from the model pack "
            "(regenerate the pack or pin the matching awscli)"
        )


def outcome(provider, params):
    try:
        ep = provider.resolve_endpoint(**params)
    except EndpointResolutionError as e:
        return {"error": str(e)}
    return {"endpoint": {"url": ep.url, "headers": ep.headers, "properties": ep.properties}}


def meets_fixture(got, expect):
    if "error" in expect:
        return got.get("error") == expect["error"]
    want = expect["endpoint"]
    return "endpoint" in got and got["endpoint"] == {
        "url": want.get("url"),
        "headers": want.get("headers", {}),
        "properties": want.get("properties", {}),
    }


def build():
    if botocore.__version__ != PINNED_BOTOCORE:
        sys.exit(f"awscli bundles botocore {botocore.__version__}, expected {PINNED_BOTOCORE}")
    pack = read_pack(PACK)
    # Only the bundled data: no ~/.aws/models, no AWS_DATA_PATH.
    loader = loaders.Loader(extra_search_paths=[loaders.Loader.BUILTIN_DATA_PATH], include_default_search_paths=False)
    partitions = loader.load_data("partitions")
    same_as_pack("partitions", partitions, pack.get("global/partitions"))
    services, disagreements, total = {}, [], 0
    for service in sorted(os.listdir(FIXTURES)):
        rules = loader.load_service_model(service, "endpoint-rule-set-1")
        packed = pack.get(f"endpoint-rules/{service}")
        same_as_pack(f"endpoint-rules/{service}", rules, packed)
        provider = EndpointProvider(ruleset_data=rules, partition_data=partitions)
        with open(os.path.join(FIXTURES, service, "endpoint-tests-1.json"), encoding="utf-8") as f:
            fixture = json.load(f)
        cases = []
        for i, case in enumerate(fixture["testCases"]):
            params = case.get("params", {})
            # resolve_endpoint fills defaults into the dict it gets: hand it a copy.
            got = outcome(provider, json.loads(json.dumps(params)))
            if not meets_fixture(got, case["expect"]):
                disagreements.append(f"{service}[{i}]: {case['documentation']}")
            cases.append({"index": i, "documentation": case["documentation"], "params": params, "expect": got})
        total += len(cases)
        services[service] = {"rules_sha256": hashlib.sha256(packed).hexdigest(), "cases": cases}
    return {
        "botocore": botocore.__version__,
        "awscli": awscli.__version__,
        "generator": "scripts/oracle_endpoints.py",
        "cases": total,
        "fixture_disagreements": disagreements,
        "services": services,
    }


def sorted_tree(node, key=None):
    """Sorts every object's keys, except a case's `params`: those keep the fixture's order, which
    is the order botocore saw them in (it shows in "No endpoint found for parameters" messages)."""
    if isinstance(node, dict):
        items = node.items() if key == "params" else sorted(node.items())
        return {k: sorted_tree(v, k) for k, v in items}
    if isinstance(node, list):
        return [sorted_tree(v) for v in node]
    return node


def render(oracle):
    return json.dumps(sorted_tree(oracle), indent=1, ensure_ascii=False) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="fail if the recorded oracle is out of date")
    args = p.parse_args()
    oracle = build()
    text = render(oracle)
    summary = (
        f"{oracle['cases']} cases in {len(oracle['services'])} services, botocore {oracle['botocore']}; "
        f"{len(oracle['fixture_disagreements'])} where the pinned botocore does not meet the fixture"
    )
    if args.check:
        try:
            with open(OUT, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            sys.exit(f"{os.path.relpath(OUT, REPO)} is out of date; run scripts/oracle_endpoints.py")
        print(f"up to date: {summary}")
        return
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT, REPO)}: {summary}")


if __name__ == "__main__":
    main()
