#!/usr/bin/env python3
"""Dump the pinned awscli's command table: the CLI's names for services, operations and arguments.

Run with the project venv (scripts/setup-venv.sh installs the pinned awscli):
    .venv/bin/python scripts/dump_awscli_table.py
It writes crates/model/data/awscli-table.json.gz, which scripts/gen_model_pack.py folds into the
model pack (only the exceptions to the default kebab-case derivation are kept there), and which the
naming conformance test reads in full.

The awscli package is Apache-2.0; what is kept are facts about its interface (names), not its code.
"""
import gzip
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "model", "data", "awscli-table.json.gz")


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=OUT)
    out_path = ap.parse_args().out
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    import awscli
    from awscli import clidriver
    from awscli.clidriver import ServiceCommand, ServiceOperation
    from awscli.arguments import CLIArgument, BooleanArgument

    driver = clidriver.create_clidriver()
    table = driver._get_command_table()
    from awscli.paramfile import PARAMFILE_DISABLED
    out = {"awscli": awscli.__version__, "global_args": [], "commands": {},
           # "<endpoint prefix>.<cli operation>.<arg>" whose file:// values are taken literally.
           "paramfile_disabled": sorted(PARAMFILE_DISABLED)}
    for name, arg in driver._get_argument_table().items():
        out["global_args"].append({"name": name, "nargs": getattr(arg, "nargs", None),
                                   "action": getattr(arg, "_action", None),
                                   "choices": getattr(arg, "choices", None)})
    for cli_name in sorted(table):
        cmd = table[cli_name]
        rec = {}
        if isinstance(cmd, ServiceCommand):
            rec["service"] = cmd._service_model.service_name if cmd._service_model else cmd.service_model.service_name
            ops = {}
            custom = []
            for op_name, op in cmd._get_command_table().items():
                if not isinstance(op, ServiceOperation):
                    custom.append(op_name)
                    continue
                model = op._operation_model
                args = []
                exposed = set()
                for arg_name, arg in op.arg_table.items():
                    a = {"name": arg_name}
                    member = getattr(arg, "_serialized_name", None)
                    if isinstance(arg, (CLIArgument,)) and member and getattr(arg, "argument_model", None) is not None:
                        a["member"] = member
                        exposed.add(member)
                        if isinstance(arg, BooleanArgument):
                            a["boolean"] = "negative" if getattr(arg, "_action", "") == "store_false" else "positive"
                        if getattr(arg, "required", False):
                            a["required"] = True
                        if getattr(arg, "positional_arg", False):
                            a["positional"] = True
                    else:
                        a["class"] = type(arg).__name__
                        if getattr(arg, "nargs", None) not in (None,):
                            a["nargs"] = arg.nargs
                        if getattr(arg, "_action", None):
                            a["action"] = arg._action
                        if getattr(arg, "required", False):
                            a["required"] = True
                        if getattr(arg, "positional_arg", False):
                            a["positional"] = True
                    args.append(a)
                members = list(model.input_shape.members) if model.input_shape is not None else []
                ops[op_name] = {"operation": model.name, "args": args,
                                "hidden_members": [m for m in members if m not in exposed]}
            rec["operations"] = ops
            if custom:
                rec["custom_operations"] = sorted(custom)
        else:
            rec["service"] = None
            sub = getattr(cmd, "subcommand_table", None) or getattr(cmd, "SUBCOMMANDS", None) or []
            names = []
            for s in sub:
                names.append(s["name"] if isinstance(s, dict) else s)
            rec["custom_subcommands"] = sorted(names)
        out["commands"][cli_name] = rec
    data = json.dumps(out, sort_keys=True, separators=(",", ":")).encode()
    with open(out_path, "wb") as f:
        # mtime=0 keeps the file reproducible.
        f.write(gzip.compress(data, compresslevel=9, mtime=0))
    n_ops = sum(len(c.get("operations", {})) for c in out["commands"].values())
    print(f"wrote {out_path}: {len(out['commands'])} commands, {n_ops} operations, {len(data)/1e6:.1f} MB raw",
          file=sys.stderr)


if __name__ == "__main__":
    main()
