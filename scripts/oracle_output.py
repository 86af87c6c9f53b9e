#!/usr/bin/env python3
"""Test oracle for Portcullis output shaping (crates/output).

Runs the pinned Python implementations the AWS CLI itself uses -- ``jmespath`` (1.1.0) for
``--query`` and ``awscli.formatter`` (awscli 1.46.3) for ``--output json|text|table`` -- on the
corpora under crates/output/tests/data/ and records what they produce, so that the Rust
tests (crates/output/tests/output.rs) can require byte-identical agreement without Python.

Usage (from the repository root, with the pinned venv):

    .venv/bin/python scripts/oracle_output.py              # regenerate the expected files
    .venv/bin/python scripts/oracle_output.py --check      # fail if they are out of date
    .venv/bin/python scripts/oracle_output.py --tables     # regenerate crates/output/src/unicode_tables.rs
    .venv/bin/python scripts/oracle_output.py --verify-yaml FILE
        # FILE: JSON list of {"value": ..., "yaml": "..."} (written by the Rust test when
        # PORTCULLIS_YAML_DUMP=FILE is set); checks yaml.safe_load(yaml) == value, with key order.

Inputs -> outputs:

    jmespath-cases.json  -> jmespath-expected.json
        {"documents": {name: json}, "cases": [{"document": name, "expressions": [...]}]}
        One expected record per expression: {"document", "expression", "result"} or
        {"document", "expression", "error": class, "phase": "compile"|"search"}.
    documents.json       -> formatter-expected.json
        {"documents": [{"name", "operation", "response"}], "queries": [{"document", "query"}]}
        One record per (document, query-or-null, format): {"output"} or {"error": class}.

Error classes (Python exception -> name): EmptyExpressionError empty, LexerError lexer,
IncompleteExpressionError incomplete, ArityError/VariadictArityError arity, ParseError parse,
JMESPathTypeError invalid-type, UnknownFunctionError unknown-function, TypeError type-error,
ValueError value-error, RecursionError too-deep; a result holding an expression reference
(``&expr``), which the CLI could not print, is expref-result.
"""

import argparse
import copy
import io
import json
import math
import os
import sys
import unicodedata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "crates", "output", "tests", "data")
TABLES = os.path.join(REPO, "crates", "output", "src", "unicode_tables.rs")

import jmespath  # noqa: E402
from jmespath import exceptions as jex  # noqa: E402
from jmespath import visitor as jvisitor  # noqa: E402


def classify(e):
    if isinstance(e, jex.EmptyExpressionError):
        return "empty"
    if isinstance(e, jex.LexerError):
        return "lexer"
    if isinstance(e, jex.IncompleteExpressionError):
        return "incomplete"
    if isinstance(e, jex.ArityError):
        return "arity"
    if isinstance(e, jex.ParseError):
        return "parse"
    if isinstance(e, jex.JMESPathTypeError):
        return "invalid-type"
    if isinstance(e, jex.UnknownFunctionError):
        return "unknown-function"
    if isinstance(e, RecursionError):
        return "too-deep"
    if isinstance(e, TypeError):
        return "type-error"
    if isinstance(e, ValueError):
        return "value-error"
    raise e


def has_expref(v):
    if isinstance(v, jvisitor._Expression):
        return True
    if isinstance(v, list):
        return any(has_expref(x) for x in v)
    if isinstance(v, dict):
        return any(has_expref(x) for x in v.values())
    return False


def check_representable(v, where):
    """Our values are serde_json values: no NaN/Infinity, integers within 64 bits."""
    if isinstance(v, float) and not math.isfinite(v):
        raise SystemExit("%s: result %r has no JSON form; drop the case" % (where, v))
    if isinstance(v, int) and not isinstance(v, bool) and not (-(2**63) <= v < 2**64):
        raise SystemExit("%s: integer %r beyond 64 bits; drop the case" % (where, v))
    if isinstance(v, list):
        for x in v:
            check_representable(x, where)
    if isinstance(v, dict):
        for x in v.values():
            check_representable(x, where)


def run_jmespath():
    with open(os.path.join(DATA, "jmespath-cases.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    docs = corpus["documents"]
    out = []
    for group in corpus["cases"]:
        name = group["document"]
        for expr in group["expressions"]:
            rec = {"document": name, "expression": expr}
            try:
                compiled = jmespath.compile(expr)
            except Exception as e:  # noqa: BLE001 - classify() re-raises what it does not know
                rec.update(error=classify(e), phase="compile")
                out.append(rec)
                continue
            try:
                result = compiled.search(copy.deepcopy(docs[name]))
            except Exception as e:  # noqa: BLE001
                rec.update(error=classify(e), phase="search")
                out.append(rec)
                continue
            if has_expref(result):
                rec.update(error="expref-result", phase="search")
            else:
                check_representable(result, "%s / %s" % (name, expr))
                rec["result"] = result
            out.append(rec)
    return out


def run_formatters():
    from awscli import formatter as awsfmt
    from awscli import table as awstable

    # No terminal: the width awscli assumes when stdout is not a tty (what an MCP server is).
    awstable.determine_terminal_width = lambda default_width=80: 80

    with open(os.path.join(DATA, "documents.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    docs = {d["name"]: d for d in corpus["documents"]}
    runs = [(d["name"], None) for d in corpus["documents"]]
    runs += [(q["document"], q["query"]) for q in corpus["queries"]]
    out = []
    for name, query in runs:
        doc = docs[name]
        for fmt in ("json", "text", "table"):
            args = argparse.Namespace(
                query=jmespath.compile(query) if query is not None else None, color="off"
            )
            stream = io.StringIO()
            rec = {"document": name, "query": query, "format": fmt}
            try:
                awsfmt.get_formatter(fmt, args)(
                    doc["operation"], copy.deepcopy(doc["response"]), stream=stream
                )
                rec["output"] = stream.getvalue()
            except Exception as e:  # noqa: BLE001 - any failure is the CLI failing
                rec["error"] = type(e).__name__
            out.append(rec)
    return out


def dump(path, value):
    text = json.dumps(value, indent=1, ensure_ascii=False) + "\n"
    if ARGS.check:
        with open(path, encoding="utf-8") as f:
            if f.read() != text:
                raise SystemExit("%s is out of date: rerun scripts/oracle_output.py" % path)
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def ranges(pred):
    out, start = [], None
    for cp in range(0x110000):
        ok = pred(cp)
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            out.append((start, cp - 1))
            start = None
    if start is not None:
        out.append((start, 0x10FFFF))
    return out


def gen_tables():
    wide = ranges(lambda cp: unicodedata.east_asian_width(chr(cp)) in "WFA")
    nonprint = ranges(lambda cp: not chr(cp).isprintable())

    def table(name, doc, rs):
        lines = ["/// %s" % doc, "pub(crate) static %s: &[(u32, u32)] = &[" % name]
        for i in range(0, len(rs), 6):
            lines.append(
                "    " + " ".join("(0x%X, 0x%X)," % r for r in rs[i : i + 6])
            )
        lines.append("];")
        return "\n".join(lines)

    text = "\n".join(
        [
            "//! Unicode tables from Python %s's `unicodedata` (Unicode %s), generated by"
            % (sys.version.split()[0], unicodedata.unidata_version),
            "//! `scripts/oracle_output.py --tables`; do not edit by hand.",
            "",
            table(
                "WIDE",
                "Characters awscli's table counts as two columns: East Asian Width W, F or A.",
                wide,
            ),
            "",
            table(
                "NON_PRINTABLE",
                "Characters for which Python's `str.isprintable()` is false (escaped by `repr`).",
                nonprint,
            ),
            "",
        ]
    )
    with open(TABLES, "w", encoding="utf-8") as f:
        f.write(text)


def verify_yaml(path):
    import yaml

    with open(path, encoding="utf-8") as f:
        items = json.load(f)
    bad = 0
    for item in items:
        loaded = yaml.safe_load(item["yaml"])
        # Compare with key order and int/float distinction.
        if json.dumps(loaded, sort_keys=False) != json.dumps(item["value"], sort_keys=False):
            bad += 1
            print("MISMATCH:\n%s\n--- loaded: %r\n--- expected: %r" % (item["yaml"], loaded, item["value"]))
    print("%d YAML documents checked with PyYAML %s, %d mismatches" % (len(items), yaml.__version__, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true")
    p.add_argument("--tables", action="store_true")
    p.add_argument("--verify-yaml", metavar="FILE")
    ARGS = p.parse_args()
    if ARGS.verify_yaml:
        sys.exit(verify_yaml(ARGS.verify_yaml))
    if ARGS.tables:
        gen_tables()
        sys.exit(0)
    dump(os.path.join(DATA, "jmespath-expected.json"), run_jmespath())
    dump(os.path.join(DATA, "formatter-expected.json"), run_formatters())
