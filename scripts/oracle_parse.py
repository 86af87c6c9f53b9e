#!/usr/bin/env python3
"""Test oracle for the Portcullis command parser.

Runs the *real* AWS CLI v1 driver (the pinned ``awscli==1.46.3``, which bundles
botocore as ``awscli.botocore``) in-process on each corpus command, lets it parse
the command exactly as ``aws ...`` would, and captures the API parameters at the
moment awscli hands them to the botocore client -- then aborts before anything
is signed or sent.  No network is used: credentials are fake, IMDS is disabled,
and the call is aborted in ``before-call`` at the latest.

Usage (from the repository root, with the pinned venv):

    .venv/bin/python scripts/oracle_parse.py            # regenerate everything
    .venv/bin/python scripts/oracle_parse.py --check    # fail if outputs differ
    .venv/bin/python scripts/oracle_parse.py --one 'aws sts get-caller-identity'

Inputs / outputs (all under crates/cli/tests/corpus/, which is also the working
directory while awscli runs, so ``file://files/x.json`` resolves there):

    positive.txt  -> positive.expected.jsonl
    negative.txt  -> negative.expected.jsonl

See crates/cli/tests/corpus/README.md for the file formats.
"""

import argparse
import base64
import copy
import datetime
import decimal
import io
import json
import os
import shlex
import sys
import multiprocessing

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "crates", "cli", "tests", "corpus")

SHELL_SYNTAX_NA = "n/a (shell syntax)"
NOT_AWS_NA = "n/a (not an aws command)"

# Environment for every awscli run: fake credentials, fixed region, no user
# config, no instance metadata, no endpoint overrides.
ORACLE_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEORACLE000",
    "AWS_SECRET_ACCESS_KEY": "EXAMPLE-FAKE-SECRET-oracle",
    "AWS_DEFAULT_REGION": "us-east-1",
    # The config file only defines fake profiles (dev, prod, ...) so that
    # --profile works; it has no secrets.
    "AWS_CONFIG_FILE": os.path.join(CORPUS, "files", "aws_config"),
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_DEFAULT_OUTPUT": "json",
}


# Values of awscli's parsed global options when none is given; the oracle
# records (in "globals") only the ones a command changed.
GLOBAL_DEFAULTS = {
    "debug": False, "endpoint_url": None, "paginate": True,
    "output": None, "query": None, "profile": None, "region": None,
    "color": "auto", "sign_request": True, "ca_bundle": None,
    "v2_debug": False,
    # after awscli resolved them (no --no-verify-ssl / --ca-bundle, no timeouts):
    "verify_ssl": None, "read_timeout": 60, "connect_timeout": 60,
}
# Pagination options are operation arguments in awscli; recorded with globals.
PAGINATION_ARGS = ("page_size", "max_items", "starting_token")

# --------------------------------------------------------------------------
# Worker side (runs awscli)
# --------------------------------------------------------------------------

class _Captured(Exception):
    """Raised from an event handler to stop the call before it is sent."""


def _setup_env():
    for k in list(os.environ):
        if k.startswith("AWS_") or k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            del os.environ[k]
    os.environ.update(ORACLE_ENV)
    os.environ["HOME"] = os.path.join(CORPUS, "files", "home")  # nonexistent: no ~/.aws
    os.chdir(CORPUS)
    sys.argv[0] = "aws"  # argparse puts the program name into some messages


def _jsonify(value):
    """Convert awscli/botocore parameter values to JSON-compatible data."""
    if isinstance(value, dict):
        return {str(k): _jsonify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonify(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes_b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        # awscli's cloudwatch put-metric-data --value/--statistic-values
        # customization passes decimal.Decimal; botocore sends it as a double.
        return float(value)
    if isinstance(value, float) and value != value:  # NaN
        return {"$float": "NaN"}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "read"):
        # Streaming blob (e.g. s3api put-object --body PATH): awscli passes an
        # open file object.  Record the path it opened and its contents.
        name = getattr(value, "name", None)
        pos = value.tell() if hasattr(value, "tell") else None
        data = value.read()
        if pos is not None and hasattr(value, "seek"):
            value.seek(pos)
        if isinstance(data, str):
            data = data.encode("utf-8")
        return {"$file": name, "$bytes_b64": base64.b64encode(data).decode("ascii")}
    return {"$repr": repr(value)}


def _clean_error(text):
    """Reduce awscli's stderr to its message (drop the usage block)."""
    lines = [ln.rstrip() for ln in text.replace("\r", "").split("\n")]
    out = []
    in_usage = False
    for ln in lines:
        s = ln.strip()
        if not s:
            in_usage = False
            continue
        if s.startswith("usage:"):
            in_usage = True
            continue
        if in_usage and (ln.startswith(" ") or s.startswith("aws [options]")):
            continue
        in_usage = False
        if s.startswith("To see help text, you can run"):
            continue
        if s.startswith("aws help") or s.startswith("aws <command> help") or s.startswith("aws <command> <subcommand> help"):
            continue
        if "UPGRADE WARNING" in s or s.startswith("https://docs.aws.amazon.com/cli/latest/userguide/cliv2-migration"):
            continue
        out.append(s)
        if s.endswith("valid choices are:"):
            break  # drop argparse's long table of service/operation names
    msg = "\n".join(out[:8])
    return msg[:800] if msg else text.strip()[:800]


def _idempotency_members(operation_model):
    shape = operation_model.input_shape
    if shape is None:
        return []
    return [n for n, m in shape.members.items() if m.metadata.get("idempotencyToken")]


def run_command(argv):
    """Run awscli on argv (without the leading 'aws').

    Returns dict with either service/operation/params[/sdk_params] or error.
    """
    from awscli.clidriver import create_clidriver

    driver = create_clidriver()
    state = {}

    def on_provide_client_params(params, model, **kwargs):
        # First API call only (a paginator would make more, but we abort).
        if "params" not in state:
            state["service"] = model.service_model.service_name
            state["operation"] = model.name
            state["params"] = _jsonify(copy.copy(params))
            state["model"] = model
            state["client_region"] = (kwargs.get("context") or {}).get("client_region")

    def on_calling_command(parsed_globals, parsed_args=None, **kwargs):
        if "globals" not in state:
            g = {}
            for k, v in sorted(vars(parsed_globals).items()):
                if k == "command" or GLOBAL_DEFAULTS.get(k, None) == v:
                    continue
                if hasattr(v, "expression"):  # compiled JMESPath (--query)
                    v = v.expression
                g[k] = _jsonify(v)
            for k in PAGINATION_ARGS:
                v = getattr(parsed_args, k, None)
                if v is not None:
                    g[k] = v
            state["globals"] = dict(sorted(g.items()))

    def on_before_parameter_build(params, model, **kwargs):
        if "sdk_params" not in state:
            sdk = _jsonify(copy.copy(params))
            original = state.get("params", {})
            for name in _idempotency_members(model):
                if name in sdk and name not in original:
                    sdk[name] = {"$idempotency_token": True}
            state["sdk_params"] = sdk

    def on_before_call(**kwargs):
        state["validated"] = True
        raise _Captured()

    session = driver.session
    # register_last: run after awscli's own provide-client-params handlers.
    session.get_component("event_emitter").register_last("calling-command.*", on_calling_command)
    session.get_component("event_emitter").register_last("provide-client-params.*.*", on_provide_client_params)
    # The generic 'before-parameter-build' event runs after all the more
    # specific ones; register_last puts us after botocore's idempotency-token
    # injection too.  This snapshot is only reported when it differs.
    session.get_component("event_emitter").register_last("before-parameter-build", on_before_parameter_build)
    session.get_component("event_emitter").register_first("before-call", on_before_call)

    err_buf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="replace")
    out_buf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="replace")
    old_err, old_out = sys.stderr, sys.stdout
    sys.stderr, sys.stdout = err_buf, out_buf
    rc = None
    try:
        try:
            rc = driver.main(list(argv))
        except SystemExit as e:
            rc = e.code
        except _Captured:
            rc = 0
    finally:
        sys.stderr, sys.stdout = old_err, old_out
    err_buf.flush()
    err_text = err_buf.buffer.getvalue().decode("utf-8", "replace")

    if state.get("validated"):
        result = {
            "service": state["service"],
            "operation": state["operation"],
            "params": state["params"],
            "region": state.get("client_region"),
            "globals": state.get("globals", {}),
        }
        if state.get("sdk_params") is not None and state["sdk_params"] != state["params"]:
            result["sdk_params"] = state["sdk_params"]
        return result
    msg = _clean_error(err_text)
    if not msg:
        out_buf.flush()
        out_text = out_buf.buffer.getvalue().decode("utf-8", "replace").strip()
        msg = "no API call made (rc=%r)%s" % (rc, (": " + out_text[:200]) if out_text else "")
    return {"error": msg, "rc": rc}


def _worker_init():
    _setup_env()


def _oracle_task(task):
    kind, command = task
    if kind == "shell_syntax":
        return {"awscli_error": SHELL_SYNTAX_NA}
    try:
        words = shlex.split(command)
    except ValueError as e:
        return {"error": "shlex: %s" % e}
    if not words or words[0] != "aws":
        return {"error": NOT_AWS_NA}
    return run_command(words[1:])


# --------------------------------------------------------------------------
# Corpus handling
# --------------------------------------------------------------------------

def _decode_command(text):
    if text.startswith("json:"):
        return json.loads(text[len("json:"):])
    return text


def read_positive(path):
    cmds = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cmds.append(_decode_command(line.strip()))
    return cmds


NEG_KINDS = {
    "shell_syntax", "not_aws", "unknown_service", "unknown_operation",
    "unknown_option", "missing_required", "invalid_type", "invalid_value",
    "duplicate_option", "missing_value", "bad_file",
}


def read_negative(path):
    cases = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            if "\t" not in line:
                raise SystemExit("%s:%d: expected '<kind>\\t<command>'" % (path, n))
            kind, command = line.split("\t", 1)
            if kind not in NEG_KINDS:
                raise SystemExit("%s:%d: unknown kind %r" % (path, n, kind))
            cases.append((kind, _decode_command(command)))
    return cases


def _run_all(tasks, jobs):
    if jobs <= 1:
        _worker_init()
        return [_oracle_task(t) for t in tasks]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs, initializer=_worker_init, maxtasksperchild=50) as pool:
        return pool.map(_oracle_task, tasks, chunksize=4)


def _dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


def build_positive(jobs):
    cmds = read_positive(os.path.join(CORPUS, "positive.txt"))
    results = _run_all([("positive", c) for c in cmds], jobs)
    lines = []
    for cmd, res in zip(cmds, results):
        rec = {"command": cmd}
        if "error" in res:
            rec["error"] = res["error"]
        else:
            rec.update(res)
        lines.append(_dump(rec))
    return lines, cmds, results


def build_negative(jobs):
    cases = read_negative(os.path.join(CORPUS, "negative.txt"))
    results = _run_all(cases, jobs)
    lines = []
    for (kind, cmd), res in zip(cases, results):
        if "awscli_error" in res:
            err = res["awscli_error"]
        elif "error" in res:
            err = res["error"]
        else:
            err = None
        lines.append(_dump({"command": cmd, "kind": kind, "awscli_error": err}))
    return lines, cases, results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if outputs would change")
    ap.add_argument("--one", metavar="COMMAND", help="run one command and print the record")
    ap.add_argument("-j", "--jobs", type=int, default=min(8, os.cpu_count() or 1))
    args = ap.parse_args()

    if args.one is not None:
        res = _run_all([("positive", args.one)], 1)[0]
        print(json.dumps(dict({"command": args.one}, **res), indent=2, ensure_ascii=False))
        return 0

    outputs = {}
    pos_lines, cmds, pos_res = build_positive(args.jobs)
    outputs["positive.expected.jsonl"] = pos_lines
    neg_lines, cases, neg_res = build_negative(args.jobs)
    outputs["negative.expected.jsonl"] = neg_lines

    rejected = [(c, r["error"]) for c, r in zip(cmds, pos_res) if "error" in r]
    for c, e in rejected:
        print("positive command rejected by awscli: %s\n    %s" % (c, e.replace("\n", "\n    ")), file=sys.stderr)
    accepted = sum(1 for (k, _), r in zip(cases, neg_res) if "error" not in r and "awscli_error" not in r)

    changed = []
    for name, lines in outputs.items():
        path = os.path.join(CORPUS, name)
        text = "\n".join(lines) + "\n"
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != text:
            changed.append(name)
            if not args.check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    print("positive: %d commands (%d rejected by awscli); negative: %d cases (%d accepted by awscli)"
          % (len(cmds), len(rejected), len(cases), accepted), file=sys.stderr)
    if args.check and changed:
        print("out of date: %s" % ", ".join(changed), file=sys.stderr)
        return 1
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
