#!/usr/bin/env python3
"""The AWS CLI documentation examples as a parser corpus, with the pinned awscli's verdict.

The pinned awscli package (awscli==1.46.3, Apache-2.0) ships the examples of its reference
documentation under ``awscli/examples/<command>/<operation>.rst``. This script takes every command
line from them (``aws ...``, with ``\\`` continuations joined), runs each through the real awscli
parser in-process exactly as ``scripts/oracle_parse.py`` does (fake credentials, no network, the call
aborted before it is signed), and writes one JSON line per command to
``crates/cli/tests/corpus/doc-examples.jsonl``:

    {"source": "ec2/describe-instances.rst", "command": "aws ec2 ...", "awscli": "accepts"}
    {"source": "...", "command": "...", "awscli": "refuses", "error": "..."}

``awscli`` is ``accepts`` when awscli parsed the command and was about to call AWS, or when it
finished with exit code 0 without calling (commands computed locally, like
``rds generate-db-auth-token``). The Rust test ``crates/cli/tests/doc_examples.rs`` then requires
that Portcullis accepts every command awscli accepts, or refuses it for a reason on the documented
list of deliberate refusals (docs/cli-fidelity.md).

Usage (from the repository root, with the pinned venv):

    .venv/bin/python scripts/doc_examples.py            # regenerate
    .venv/bin/python scripts/doc_examples.py --check    # exit 1 if the file would change

It takes a few minutes (7,000 commands); CI does not regenerate it.
"""

import argparse
import json
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_parse  # noqa: E402

OUT = os.path.join(oracle_parse.CORPUS, "doc-examples.jsonl")


def examples_root():
    # Found without importing awscli: importing it before the oracle's environment is set up
    # leaves its data loader unable to find its own data.
    import importlib.util

    spec = importlib.util.find_spec("awscli")
    return os.path.join(os.path.dirname(spec.origin), "examples")


def extract():
    """Every `aws ...` command line of the examples, in a stable order."""
    root = examples_root()
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            if not f.endswith(".rst"):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            with open(path, encoding="utf-8") as fh:
                lines = fh.read().split("\n")
            i = 0
            while i < len(lines):
                s = lines[i].strip()
                if s.startswith("aws "):
                    cmd = s
                    while cmd.endswith("\\") and i + 1 < len(lines):
                        i += 1
                        cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
                    out.append((rel, cmd))
                i += 1
    return out


# Commands that change local configuration or files when awscli runs them (configure, kubeconfig,
# logins): never run here; Portcullis refuses them on purpose (docs/cli-fidelity.md).
LOCAL_CHANGES = (("configure",), ("eks", "update-kubeconfig"), ("codeartifact", "login"), ("ecr", "get-login"),
                 ("history",), ("emr", "ssh"), ("emr", "sock"), ("emr", "get"), ("emr", "put"), ("deploy", "install"),
                 ("deploy", "uninstall"), ("ecs", "deploy"))


def verdict(task):
    rel, cmd = task
    try:
        words = shlex.split(cmd)
    except ValueError as e:
        return {"source": rel, "command": cmd, "awscli": "refuses", "error": "shlex: %s" % e}
    for prefix in LOCAL_CHANGES:
        if tuple(words[1:1 + len(prefix)]) == prefix:
            return {"source": rel, "command": cmd, "awscli": "not run", "error": "changes local configuration or files"}
    try:
        res = oracle_parse.run_command(words[1:])
    except Exception as e:  # an awscli internal failure on this command: it does not accept it
        return {"source": rel, "command": cmd, "awscli": "refuses", "error": "awscli raised %s: %s" % (type(e).__name__, str(e)[:200])}
    if "error" not in res:
        return {"source": rel, "command": cmd, "awscli": "accepts"}
    if res.get("rc") == 0 and res["error"].startswith("no API call made"):
        return {"source": rel, "command": cmd, "awscli": "accepts", "local": True}
    return {"source": rel, "command": cmd, "awscli": "refuses", "error": res["error"][:300]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    tasks = extract()
    # awscli runs in a scratch copy of the corpus directory with its own HOME and config, so that
    # no example can change a file of the repository.
    import shutil
    import tempfile

    scratch = tempfile.mkdtemp(prefix="portcullis-doc-examples-")
    shutil.copytree(os.path.join(oracle_parse.CORPUS, "files"), os.path.join(scratch, "files"))
    oracle_parse.CORPUS = scratch
    oracle_parse.ORACLE_ENV["AWS_CONFIG_FILE"] = os.path.join(scratch, "files", "aws_config")
    oracle_parse._setup_env()
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.jobs, initializer=oracle_parse._worker_init, maxtasksperchild=50) as pool:
        rows = pool.map(verdict, tasks, chunksize=8)
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    accepted = sum(1 for r in rows if r["awscli"] == "accepts")
    print("%d example commands, awscli accepts %d" % (len(rows), accepted), file=sys.stderr)
    if args.check:
        with open(OUT, encoding="utf-8") as fh:
            if fh.read() != text:
                print("doc-examples.jsonl is out of date; run scripts/doc_examples.py", file=sys.stderr)
                return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as fh:
        fh.write(text)
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
