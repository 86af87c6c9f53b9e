#!/usr/bin/env python3
"""Regenerate crates/model/data/models.pack from pinned upstream packages.

Inputs (pinned, fetched from PyPI with `pip download`, never installed):
  * botocore==BOTOCORE_VERSION  - the service models (Apache-2.0)
  * the CLI table dumped from the pinned awscli by scripts/dump_awscli_cli.py
    (run with the project venv, see scripts/setup-venv.sh)

What it does, per service directory of botocore/data:
  * keeps the latest API version only;
  * applies the `*.sdk-extras.json` merges the way botocore's loader does;
  * strips documentation, keeping a one-sentence summary per operation;
  * minifies each part (service, paginators, waiters, endpoint rules, cli) and
    deflates it on its own, so the binary can decode one service at a time.

The pack layout (little endian) is read by crates/model/src/pack.rs:
  magic b"PCLSPK01" | u32 entry count | entries: u16 name length, name,
  u32 offset, u32 compressed length, u32 raw length | blobs
Output is byte-for-byte reproducible for the same inputs.
"""
import argparse
import gzip
import html
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

BOTOCORE_VERSION = "1.43.62"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "model", "data", "models.pack")
CLI_TABLE = os.path.join(ROOT, "crates", "model", "data", "awscli-table.json.gz")
MAGIC = b"PCLSPK01"

# Keys that only carry documentation; dropped everywhere.
DOC_KEYS = {"documentation", "documentationUrl", "deprecatedMessage", "examples"}


def fetch_wheel(name, version, cache):
    os.makedirs(cache, exist_ok=True)
    for f in os.listdir(cache):
        if f.startswith(f"{name}-{version}-") and f.endswith(".whl"):
            return os.path.join(cache, f)
    subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                           "-d", cache, f"{name}=={version}"])
    return fetch_wheel(name, version, cache)


class Wheel:
    def __init__(self, path):
        self.zip = zipfile.ZipFile(path)
        self.names = set(self.zip.namelist())

    def load(self, path):
        """Load a JSON file, transparently handling the .gz variants botocore ships."""
        if path in self.names:
            return json.loads(self.zip.read(path))
        if path + ".gz" in self.names:
            return json.loads(gzip.decompress(self.zip.read(path + ".gz")))
        return None


def deep_merge(base, extra):
    """botocore.utils.merge_dicts semantics: nested dicts merge, other values replace."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value


TAG = re.compile(r"<[^>]+>")
SPACE = re.compile(r"\s+")
SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]])\.(\s|$)")


# Admonitions (<important>, <note>) come before the description in some services (S3's
# "End of support notice"); the summary skips them unless nothing else is left.
ADMONITION = re.compile(r"<(important|note)>.*?</\1>", re.S | re.I)


def summary(doc):
    """First sentence of an HTML documentation string, as plain text (at most 300 chars),
    skipping admonitions."""
    if not doc:
        return None
    plain = ADMONITION.sub(" ", doc)
    if TAG.sub("", plain).strip():
        doc = plain
    text = SPACE.sub(" ", html.unescape(TAG.sub(" ", doc))).strip()
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    m = SENTENCE_END.search(text)
    if m:
        text = text[: m.start() + 1]
    if len(text) > 300:
        text = text[:297].rstrip() + "..."
    return text or None


def strip_docs(node, names=False):
    """Drops documentation keys; `names` marks a dict whose keys are names (members, shapes,
    operations), where a key like `examples` is data and must stay."""
    if isinstance(node, dict):
        return {k: strip_docs(v, k in NAME_MAPS and not names) for k, v in node.items()
                if names or k not in DOC_KEYS}
    if isinstance(node, list):
        return [strip_docs(v) for v in node]
    return node


# Dicts keyed by names rather than by model keywords.
NAME_MAPS = {"members", "shapes", "operations", "pagination", "waiters", "parameters"}


def service_model(model):
    ops = model.get("operations", {})
    summaries = {name: summary(op.get("documentation")) for name, op in ops.items()}
    model = strip_docs(model)
    for name, s in summaries.items():
        if s:
            model["operations"][name]["summary"] = s
    return model


def minify(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=False).encode("utf-8")


def build(botocore_whl, cli_table):
    wheel = Wheel(botocore_whl)
    data = "botocore/data/"
    services = {}
    for name in sorted(wheel.names):
        if not name.startswith(data):
            continue
        parts = name[len(data):].split("/")
        if len(parts) == 3:
            services.setdefault(parts[0], set()).add(parts[1])
    entries = []
    operations = {}
    index = {"botocore": BOTOCORE_VERSION, "services": {}}
    for svc in sorted(services):
        version = max(services[svc])
        base = f"{data}{svc}/{version}/"
        model = wheel.load(base + "service-2.json")
        if model is None:
            continue
        extras = wheel.load(base + "service-2.sdk-extras.json")
        if extras:
            deep_merge(model, extras.get("merge", {}))
        model = service_model(model)
        operations[svc] = {
            name: list(model["shapes"].get(op.get("input", {}).get("shape", ""), {}).get("members", {}))
            for name, op in model["operations"].items()}
        entries.append((f"service/{svc}", minify(model)))
        has = ["service"]
        pag = wheel.load(base + "paginators-1.json")
        if pag is not None:
            pextras = wheel.load(base + "paginators-1.sdk-extras.json")
            if pextras:
                deep_merge(pag, pextras.get("merge", {}))
            entries.append((f"paginators/{svc}", minify(pag.get("pagination", {}))))
            has.append("paginators")
        waiters = wheel.load(base + "waiters-2.json")
        if waiters is not None:
            entries.append((f"waiters/{svc}", minify(strip_docs(waiters))))
            has.append("waiters")
        rules = wheel.load(base + "endpoint-rule-set-1.json")
        if rules is not None:
            entries.append((f"endpoint-rules/{svc}", minify(strip_docs(rules))))
            has.append("endpoint-rules")
        index["services"][svc] = {"api_version": version, "parts": has}
    for glob in ("partitions.json", "_retry.json", "sdk-default-configuration.json"):
        obj = wheel.load(data + glob)
        if obj is not None:
            entries.append((f"global/{glob[:-5].lstrip('_')}", minify(strip_docs(obj))))
    # The CLI layer: command names, operation names, argument renames, custom commands.
    table = json.loads(gzip.open(cli_table).read())
    index["cli"] = {"awscli": table["awscli"], "commands": {}}
    for cli_name, cmd in sorted(table["commands"].items()):
        svc = cmd.get("service")
        if svc:
            entries.append((f"cli/{svc}", minify(cli_service(cmd, operations[svc]))))
        index["cli"]["commands"][cli_name] = {k: v for k, v in cmd.items() if k in ("service", "custom_subcommands")}
    index["cli"]["global_args"] = table["global_args"]
    index["cli"]["paramfile_disabled"] = table["paramfile_disabled"]
    entries.insert(0, ("index", minify(index)))
    return entries


def kebab(name):
    """botocore.xform_name(name, '-') as the AWS CLI applies it (no special-case cache)."""
    if "-" in name:
        return name
    m = re.search(r"[A-Z]{2,}s$", name)
    if m:
        name = name[: -len(m.group())] + "-" + m.group().lower()
    s1 = re.sub(r"(.)([A-Z][a-z]+)", r"\1-\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", s1).lower()


def cli_service(cmd, model_ops):
    """Keep only what the Rust side cannot derive itself: exceptions to the default naming.

    Exceptions are keyed by CLI operation name, since one API operation can have several CLI
    names with different arguments (rds add-option-to-option-group / remove-option-from-option-group).
    """
    out = {"operations": {}, "renamed": {}, "extra_commands": {},
           "custom_operations": cmd.get("custom_operations", [])}
    by_op = {}
    for cli_op, op in cmd["operations"].items():
        by_op.setdefault(op["operation"], []).append(cli_op)
    for api_op, names in by_op.items():
        default = kebab(api_op)
        if default in names:
            extra = [n for n in names if n != default]
        elif len(names) == 1:
            out["renamed"][api_op] = names[0]
            extra = []
        else:
            extra = names
        for n in extra:
            out["extra_commands"][n] = api_op
    out["removed_operations"] = sorted(
        op for op in model_ops if op not in out["renamed"] and kebab(op) not in cmd["operations"])
    for cli_op, op in cmd["operations"].items():
        rec = {}
        members = set(model_ops.get(op["operation"], []))
        for arg in op["args"]:
            if arg.get("member") is not None and arg["member"] not in members:
                # Bound to a nested member by an awscli customization: not a plain member argument.
                arg["class"] = "NestedMemberArgument"
                arg["nested_member"] = arg.pop("member")
        renames, negatives, aliases = {}, {}, {}
        by_member = {}
        for arg in op["args"]:
            if arg.get("member") is not None:
                by_member.setdefault(arg["member"], []).append(arg)
        for member, args in by_member.items():
            primary = next((a for a in args if "boolean" not in a), None) \
                or next((a for a in args if a.get("boolean") == "positive"), args[0])
            if primary["name"] != kebab(member):
                renames[member] = primary["name"]
            is_bool = primary.get("boolean") == "positive"
            has_default_negative = False
            for a in args:
                if a is primary:
                    continue
                if is_bool and a.get("boolean") == "negative" and a["name"] == "no-" + primary["name"]:
                    has_default_negative = True
                    continue
                aliases[a["name"]] = {"member": member, "boolean": a.get("boolean")}
            if is_bool and not has_default_negative:
                negatives[member] = None
        if renames:
            rec["args"] = renames
        if negatives:
            rec["no_negative"] = sorted(negatives)
        if aliases:
            rec["aliases"] = aliases
        hidden = [m for m in op.get("hidden_members", [])]
        if hidden:
            rec["hidden"] = hidden
        extra = [a for a in op["args"] if a.get("member") is None and a["name"] not in COMMON_OP_ARGS]
        if extra:
            rec["custom_args"] = extra
        if renames or extra or aliases:
            # The CLI builds parameters in its argument table's order, which customizations change.
            rec["order"] = [a["name"] for a in op["args"] if a["name"] not in COMMON_OP_ARGS]
        if rec:
            out["operations"][cli_op] = rec
    return out


COMMON_OP_ARGS = {"cli-input-json", "generate-cli-skeleton", "starting-token", "page-size", "max-items"}


def write_pack(entries, out):
    blobs = []
    offset = 0
    header = io.BytesIO()
    header.write(MAGIC)
    header.write(struct.pack("<I", len(entries)))
    for name, raw in entries:
        comp = zlib.compress(raw, 9)
        # Raw deflate (no zlib header) keeps the reader to one code path.
        comp = comp[2:-4]
        nb = name.encode()
        header.write(struct.pack("<H", len(nb)) + nb)
        header.write(struct.pack("<III", offset, len(comp), len(raw)))
        blobs.append(comp)
        offset += len(comp)
    with open(out, "wb") as f:
        f.write(header.getvalue())
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--botocore-wheel", help="use this wheel instead of downloading the pinned one")
    ap.add_argument("--cache", default=os.path.join(ROOT, ".cache", "wheels"))
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--cli-table", default=CLI_TABLE, help="the awscli table from dump_awscli_table.py")
    args = ap.parse_args()
    whl = args.botocore_wheel or fetch_wheel("botocore", BOTOCORE_VERSION, args.cache)
    entries = build(whl, args.cli_table)
    write_pack(entries, args.out)
    raw = sum(len(r) for _, r in entries)
    print(f"wrote {args.out}: {len(entries)} entries, {raw/1e6:.1f} MB raw, "
          f"{os.path.getsize(args.out)/1e6:.2f} MB packed")


if __name__ == "__main__":
    main()
