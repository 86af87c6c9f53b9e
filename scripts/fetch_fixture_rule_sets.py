#!/usr/bin/env python3
"""Extracts, from the botocore release the endpoint-test fixtures were taken from, the rule sets and partitions
those tests were written against, so the evaluator can be checked on matching data.

The fixtures in crates/endpoints/tests/data/endpoint-tests are byte-identical to botocore 1.43.66 .. 1.43.75's
tests/functional/endpoint-rules (checked against the sdists); the pack is pinned to 1.43.62, the version awscli
1.46.3 bundles, so its rule sets are a little older than the tests. Output: one raw-deflate file per service
(`<service>.json.deflate`), `partitions.json.deflate`, and SOURCE.txt naming the wheel and its sha256.

Usage: scripts/fetch_fixture_rule_sets.py [--out DIR]   (needs PyPI; not part of the test run)
"""
import argparse, gzip, hashlib, os, subprocess, sys, tempfile, zipfile, zlib

VERSION = "1.43.70"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "crates/endpoints/tests/data/endpoint-tests")


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "crates/endpoints/tests/data/fixture-rule-sets"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"botocore=={VERSION}",
                        "-d", tmp], check=True)
        wheel = os.path.join(tmp, f"botocore-{VERSION}-py3-none-any.whl")
        digest = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
        z = zipfile.ZipFile(wheel)
        os.makedirs(args.out, exist_ok=True)
        services = sorted(os.listdir(TESTS))
        for s in services:
            names = sorted(n for n in z.namelist()
                           if n.startswith(f"botocore/data/{s}/") and n.endswith("/endpoint-rule-set-1.json.gz"))
            if not names:
                sys.exit(f"no rule set for {s} in botocore {VERSION}")
            # The newest API version's rule set, as botocore's loader picks it.
            data = gzip.decompress(z.read(names[-1]))
            open(os.path.join(args.out, f"{s}.json.deflate"), "wb").write(deflate(data))
        partitions = z.read("botocore/data/partitions.json")
        open(os.path.join(args.out, "partitions.json.deflate"), "wb").write(deflate(partitions))
        with open(os.path.join(args.out, "SOURCE.txt"), "w") as f:
            f.write(f"botocore {VERSION} wheel from PyPI, sha256 {digest}\n")
            f.write("Apache-2.0: see ../LICENSE.txt and ../NOTICE. Raw deflate of each service's newest\n")
            f.write("endpoint-rule-set-1.json and of partitions.json. Regenerate: scripts/fetch_fixture_rule_sets.py\n")
    print(f"wrote {len(services)} rule sets and partitions from botocore {VERSION}")


if __name__ == "__main__":
    main()
