"""Portcullis and the pinned awslabs.aws-api-mcp-server side by side, driven by the same MCP client.

Run with the project venv's Python (.venv: mcp 2.3.0 client, moto, botocore); scripts/bench-mcp.sh
sets everything up and is the usual entry point:

    .venv/bin/python bench/mcp_bench.py --portcullis target/release/portcullis \
        --awslabs-python .venv-awslabs/bin/python [--startup-runs 10 --awslabs-startup-runs 5 --calls 50]

One moto server (loopback, started from .venv) stands in for AWS for both servers. Each server gets
the same sandboxed environment (fake keys, AWS_ENDPOINT_URL = moto, a fresh HOME holding the awslabs
policy file that denies `aws iam delete-user`) and the same measurements:

  start-up   process spawn to the `initialize` response, median of N fresh processes
  sts / s3   median `call_aws` latency of `aws sts get-caller-identity` / `aws s3api list-buckets`
  denied     median `call_aws` latency of `aws iam delete-user --user-name bench` (denied by policy)
  ping       median MCP `ping` round trip: the client + stdio transport floor of every MCP figure
  RSS        VmRSS of the server process (and any children) after its first 100 `call_aws` calls

Start-up and latencies are measured twice: with the MCP Python SDK (what an agent host sees, client cost included) and
with a raw JSON-RPC client (json + pipes, no SDK: the server's own cost, on which the targets are
judged). The moto floor is one request per operation signed once with botocore and replayed raw with
Python's http.client, sampled interleaved with the raw client's calls so both see the same load;
botocore's own client calls are printed for reference. Benchmarks only print: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parent.parent
STS = "aws sts get-caller-identity"
S3 = "aws s3api list-buckets"
DENIED = "aws iam delete-user --user-name bench"
POLICY = {"version": "1.0", "policy": {"denyList": ["aws iam delete-user"], "elicitList": []}}
TARGETS = {"startup_ms": 50.0, "denied_ms": 1.0, "read_ratio": 1.3, "rss_mb": 30.0}


def ms(seconds: float) -> float:
    return seconds * 1000.0


def median_ms(samples: list[float]) -> float:
    return ms(statistics.median(samples))


# ---------------------------------------------------------------------------------------------
# moto


class Moto:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        port: list[int] = []
        found = threading.Event()

        def reader() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if not found.is_set():
                    m = re.search(r"Running on http://127\.0\.0\.1:(\d+)", line)
                    if m:
                        port.append(int(m.group(1)))
                        found.set()

        threading.Thread(target=reader, daemon=True).start()
        if not found.wait(30):
            self.stop()
            raise SystemExit("moto did not report its port within 30 s")
        self.port = port[0]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("moto never answered /moto-api/")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Floor:
    """The moto floor: one request per operation, signed once with botocore (SigV4, as the servers
    sign), then replayed raw with Python's http.client. moto's werkzeug server closes every
    connection, so each exchange includes a loopback TCP connect, as the servers' requests do."""

    def __init__(self, endpoint: str) -> None:
        from botocore.auth import S3SigV4Auth, SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        creds = Credentials("testing", "testing")
        self.endpoint = endpoint
        self.conn = http.client.HTTPConnection(endpoint.removeprefix("http://"), timeout=10)
        self.keepalive = True
        sts = AWSRequest(
            method="POST",
            url=endpoint + "/",
            data="Action=GetCallerIdentity&Version=2011-06-15",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        SigV4Auth(creds, "sts", "us-east-1").add_auth(sts)
        s3 = AWSRequest(method="GET", url=endpoint + "/", headers={})
        S3SigV4Auth(creds, "s3", "us-east-1").add_auth(s3)
        self.requests = {"sts": sts, "s3": s3}
        assert b"GetCallerIdentityResult" in self.exchange("sts")
        assert b"ListAllMyBucketsResult" in self.exchange("s3")

    def exchange(self, name: str) -> bytes:
        req = self.requests[name]
        body = req.body if isinstance(req.body, (bytes, type(None))) else req.body.encode()
        self.conn.request(req.method, "/", body=body, headers=dict(req.headers.items()))
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.keepalive = False
        if resp.status != 200:
            raise SystemExit(f"moto floor request failed: {resp.status} {data[:300]!r}")
        return data

    def timed(self, name: str) -> float:
        t = time.perf_counter()
        self.exchange(name)
        return time.perf_counter() - t


def botocore_reference(endpoint: str, n: int) -> dict:
    """Medians of the same two operations through botocore clients (what the awslabs server runs)."""
    import botocore.session

    session = botocore.session.get_session()
    kw = dict(region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing")
    clients = {"sts": session.create_client("sts", **kw), "s3": session.create_client("s3", **kw)}
    calls = {"sts": lambda: clients["sts"].get_caller_identity(), "s3": lambda: clients["s3"].list_buckets()}
    out = {}
    for name, call in calls.items():
        for _ in range(5):
            call()
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            call()
            samples.append(time.perf_counter() - t)
        out[f"botocore_{name}_ms"] = median_ms(samples)
    return out


def seed_buckets(endpoint: str) -> None:
    import botocore.session

    s3 = botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    for b in ("bench-alpha", "bench-beta", "bench-gamma"):
        s3.create_bucket(Bucket=b)


# ---------------------------------------------------------------------------------------------
# processes and memory


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the ppid is the 2nd field after the parenthesised command name
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry))
    return out


def tree_rss_kb(pid: int) -> int:
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        stack.extend(children(p))
    return total


def server_pid(exclude: set[int]) -> int:
    pids = [p for p in children(os.getpid()) if p not in exclude]
    if len(pids) != 1:
        raise SystemExit(f"expected one server process among my children, found {pids}")
    return pids[0]


# ---------------------------------------------------------------------------------------------
# one server


def make_env(moto: Moto, work: Path) -> dict[str, str]:
    home = work / "home"
    (home / ".aws" / "aws-api-mcp").mkdir(parents=True, exist_ok=True)
    (home / ".aws" / "aws-api-mcp" / "mcp-security-policy.json").write_text(json.dumps(POLICY))
    wd = work / "workdir"
    wd.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_API_MCP_WORKING_DIR": str(wd),
        "AWS_API_MCP_TELEMETRY": "false",
        "READ_OPERATIONS_ONLY": "false",
    }


def text_of(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def startup_once(params: StdioServerParameters, errlog) -> tuple[float, str, str]:
    t0 = time.perf_counter()
    async with stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            elapsed = time.perf_counter() - t0
            return elapsed, init.protocol_version, f"{init.server_info.name} {init.server_info.version}"


async def bench_server(label: str, params: StdioServerParameters, runs: int, calls: int, errlog, exclude: set[int]) -> dict:
    print(f"[{label}] start-up x{runs} ...", file=sys.stderr, flush=True)
    startups = []
    for _ in range(runs):
        with anyio.fail_after(120):
            elapsed, protocol, info = await startup_once(params, errlog)
        startups.append(elapsed)
    res: dict = {"startup_ms": median_ms(startups), "startup_min_ms": ms(min(startups)), "protocol": protocol, "server": info}

    print(f"[{label}] calls ...", file=sys.stderr, flush=True)
    async with stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            pid = server_pid(exclude)
            res["rss_init_mb"] = tree_rss_kb(pid) / 1024

            async def timed_call(cmd: str) -> tuple[float, object]:
                t = time.perf_counter()
                with anyio.fail_after(60):
                    r = await session.call_tool("call_aws", {"cli_command": cmd})
                return time.perf_counter() - t, r

            samples: dict[str, list[float]] = {"sts": [], "s3": [], "denied": [], "ping": []}
            ncalls = 0
            for key, cmd, must in (("sts", STS, "123456789012"), ("s3", S3, "bench-alpha")):
                for _ in range(calls):
                    dt, r = await timed_call(cmd)
                    ncalls += 1
                    if r.is_error or must not in text_of(r):
                        raise SystemExit(f"[{label}] unexpected result for {cmd}: is_error={r.is_error} {text_of(r)[:400]}")
                    samples[key].append(dt)
                    if ncalls == 100:
                        res["calls_before_rss"] = ncalls
                        res["rss_mb"] = tree_rss_kb(pid) / 1024
            if "rss_mb" not in res:  # fewer than 100 calls asked for
                res["calls_before_rss"] = ncalls
                res["rss_mb"] = tree_rss_kb(pid) / 1024
            for _ in range(calls):
                dt, r = await timed_call(DENIED)
                text = text_of(r)
                if "denied" not in text.lower() and "deny" not in text.lower():
                    raise SystemExit(f"[{label}] the denied command was not denied: is_error={r.is_error} {text[:400]}")
                samples["denied"].append(dt)
            res["denied_is_error"] = bool(r.is_error)
            res["denied_text"] = text[:160].replace("\n", " ")
            for _ in range(calls):
                t = time.perf_counter()
                await session.send_ping()
                samples["ping"].append(time.perf_counter() - t)
            for key, s in samples.items():
                res[f"{key}_ms"] = median_ms(s)
            res["rss_end_mb"] = tree_rss_kb(pid) / 1024
            res["calls_total"] = ncalls + calls
    return res


# ---------------------------------------------------------------------------------------------
# a client without the SDK


class RawClient:
    """Newline-delimited JSON-RPC over the server's stdin/stdout, no SDK: json + pipes only.

    Offers protocol 2025-06-18, which both servers speak. Notifications the server sends (awslabs logs
    each denial as a `notifications/message`) are read and skipped.
    """

    def __init__(self, params: StdioServerParameters, errlog) -> None:
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [params.command, *params.args], env=params.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog
        )
        self.next_id = 0

    def request(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"server closed stdout while waiting for {method}")
            reply = json.loads(line)
            if reply.get("id") == self.next_id and ("result" in reply or "error" in reply):
                if "error" in reply:
                    raise SystemExit(f"{method} failed: {reply['error']}")
                return reply["result"]

    def initialize(self) -> dict:
        result = self.request(
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "mcp-bench-raw", "version": "0"}},
        )
        assert self.proc.stdin
        self.proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        self.proc.stdin.flush()
        return result

    def close(self) -> None:
        assert self.proc.stdin
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def raw_text(result: dict) -> str:
    return "\n".join(c.get("text", "") for c in result.get("content", []) if c.get("type") == "text")


def bench_raw(label: str, params: StdioServerParameters, runs: int, calls: int, errlog, floor: Floor) -> dict:
    print(f"[{label}] raw JSON-RPC client ...", file=sys.stderr, flush=True)
    startups = []
    for _ in range(runs):
        c = RawClient(params, errlog)
        c.initialize()
        startups.append(time.perf_counter() - c.t0)
        c.close()
    res: dict = {"raw_startup_ms": median_ms(startups)}
    c = RawClient(params, errlog)
    try:
        c.initialize()
        for key, cmd, must in (("sts", STS, "123456789012"), ("s3", S3, "bench-alpha"), ("denied", DENIED, "den")):
            samples, floors = [], []
            for i in range(calls):
                # The floor is sampled interleaved with the calls (alternating which goes first), so
                # both see the same machine load and the same moto state.
                if key in floor.requests and i % 2 == 0:
                    floors.append(floor.timed(key))
                t = time.perf_counter()
                r = c.request("tools/call", {"name": "call_aws", "arguments": {"cli_command": cmd}})
                samples.append(time.perf_counter() - t)
                if key in floor.requests and i % 2 == 1:
                    floors.append(floor.timed(key))
                if must not in raw_text(r).lower():
                    raise SystemExit(f"[{label}] raw client: unexpected result for {cmd}: {raw_text(r)[:400]}")
            res[f"raw_{key}_ms"] = median_ms(samples)
            if floors:
                res[f"floor_{key}_ms"] = median_ms(floors)
        samples = []
        for _ in range(calls):
            t = time.perf_counter()
            c.request("ping")
            samples.append(time.perf_counter() - t)
        res["raw_ping_ms"] = median_ms(samples)
    finally:
        c.close()
    return res


# ---------------------------------------------------------------------------------------------
# report


def fmt(v, unit="ms", width=12) -> str:
    if v is None:
        return "-".rjust(width)
    if unit == "ms":
        return (f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms").rjust(width)
    if unit == "MB":
        return f"{v:.1f} MB".rjust(width)
    if unit == "x":
        return f"{v:.2f}x".rjust(width)
    return str(v).rjust(width)


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "NOT met")


def report(p: dict | None, a: dict | None, ref: dict, keepalive: bool, args) -> None:
    flo = {k: p[f"floor_{k}_ms"] for k in ("sts", "s3")} if p else {}
    load = os.getloadavg()
    t = TARGETS
    print()
    print("MCP side by side: Portcullis `serve` (release build) vs awslabs.aws-api-mcp-server 1.5.6 (bench/awslabs_launcher.py)")
    print(f"protocol negotiated by the SDK client: Portcullis {p['protocol'] if p else '-'}, awslabs {a['protocol'] if a else '-'};"
          f" moto 5.2.5 on loopback; medians of {args.calls} calls; start-up runs: Portcullis {args.startup_runs},"
          f" awslabs {args.awslabs_startup_runs}; load average {load[0]:.2f} on {os.cpu_count()} CPUs")
    print()
    hdr = f"{'measure (medians)':<46}{'Portcullis':>12}{'awslabs':>12}{'awslabs/P':>11}  target for Portcullis"
    print(hdr)
    print("-" * len(hdr))

    def row(name, key, unit="ms", target="", ratio=True):
        pv = p.get(key) if p else None
        av = a.get(key) if a else None
        ratio = f"{av / pv:.1f}x" if pv and av and ratio else "-"
        print(f"{name:<46}{fmt(pv, unit)}{fmt(av, unit)}{ratio:>11}  {target}")

    def judged(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print("MCP Python SDK client (mcp 2.3.0), as an agent host would call:")
    row("  start-up: spawn to initialize", "startup_ms")
    row(f"  call_aws {STS.removeprefix('aws ')}", "sts_ms")
    row(f"  call_aws {S3.removeprefix('aws ')}", "s3_ms")
    row("  call_aws denied (iam delete-user)", "denied_ms")
    row("  ping round trip", "ping_ms")
    row(f"  RSS after {p['calls_before_rss'] if p else args.calls * 2} call_aws calls", "rss_mb", "MB",
        f"< {t['rss_mb']:.0f} MB: {judged(p['rss_mb'] < t['rss_mb'])}" if p else "")
    print("raw JSON-RPC client (json + pipes, no SDK): the servers' own cost:")
    row("  start-up: spawn to initialize", "raw_startup_ms", target=f"< {t['startup_ms']:.0f} ms: {judged(p['raw_startup_ms'] < t['startup_ms'])}" if p else "")
    row(f"  call_aws {STS.removeprefix('aws ')}", "raw_sts_ms",
        target=f"<= {t['read_ratio']}x floor ({flo['sts']:.2f} ms): {p['raw_sts_ms'] / flo['sts']:.2f}x {judged(p['raw_sts_ms'] <= t['read_ratio'] * flo['sts'])}" if p else "")
    row(f"  call_aws {S3.removeprefix('aws ')}", "raw_s3_ms",
        target=f"<= {t['read_ratio']}x floor ({flo['s3']:.2f} ms): {p['raw_s3_ms'] / flo['s3']:.2f}x {judged(p['raw_s3_ms'] <= t['read_ratio'] * flo['s3'])}" if p else "")
    row("  call_aws denied (iam delete-user)", "raw_denied_ms", target=f"< {t['denied_ms']:.0f} ms: {judged(p['raw_denied_ms'] < t['denied_ms'])}" if p else "")
    row("  ping round trip (pipe floor)", "raw_ping_ms")
    row("  sts read / moto floor (*)", "sts_ratio", "x")
    row("  s3 read / moto floor (*)", "s3_ratio", "x")
    print()
    row("moto floor: pre-signed raw HTTP, sts (*)", "floor_sts_ms", ratio=False)
    row("moto floor: pre-signed raw HTTP, s3 (*)", "floor_s3_ms", ratio=False)
    print()
    print("(*) one request per operation, signed once with botocore and replayed with Python's http.client")
    print("    (" + ("keep-alive" if keepalive else "moto closes each connection, so a loopback connect is included, as for the servers")
          + "), sampled")
    print("    interleaved with each server's raw-client calls; the read targets compare against these.")
    print(f"moto through botocore clients in Python (what the awslabs server runs inside): sts {ref['botocore_sts_ms']:.2f} ms, s3 {ref['botocore_s3_ms']:.2f} ms")
    for label, r in (("Portcullis", p), ("awslabs", a)):
        if r:
            print(f"{label}: denial answered with isError={str(r['denied_is_error']).lower()}: {r['denied_text'][:110]!r};"
                  f" RSS at initialize {r['rss_init_mb']:.1f} MB, after {r['calls_total']} calls {r['rss_end_mb']:.1f} MB")
    print()
    print("How to read this: the SDK rows are what an agent host sees; each includes the Python client's own cost")
    print("(pydantic models, anyio task groups, output-schema validation: the SDK row minus the raw row). The raw")
    print("rows send the same JSON-RPC lines without the SDK: the server's time plus a pipe round trip and json")
    print("parsing (the raw ping row). The targets are about the server, so they are judged on the raw rows. RSS is")
    print("VmRSS of the server's process tree (awslabs runs the AWS CLI in process). Start-up includes the spawn.")


async def amain() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--portcullis", default=str(ROOT / "target/release/portcullis"))
    ap.add_argument("--awslabs-python", default=str(ROOT / ".venv-awslabs/bin/python"))
    ap.add_argument("--startup-runs", type=int, default=10)
    ap.add_argument("--awslabs-startup-runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--only", choices=["portcullis", "awslabs"])
    ap.add_argument("--json", help="also write the raw figures to this file")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="portcullis-mcp-bench-"))
    moto = Moto()
    try:
        seed_buckets(moto.endpoint)
        floor = Floor(moto.endpoint)
        for _ in range(10):  # warm moto up
            floor.exchange("sts")
            floor.exchange("s3")
        print("[moto] botocore reference ...", file=sys.stderr, flush=True)
        ref = botocore_reference(moto.endpoint, args.calls)
        servers = {
            "portcullis": StdioServerParameters(command=args.portcullis, args=["serve"], env=make_env(moto, work / "portcullis")),
            "awslabs": StdioServerParameters(
                command=args.awslabs_python, args=[str(ROOT / "bench/awslabs_launcher.py")], env=make_env(moto, work / "awslabs")
            ),
        }
        runs = {"portcullis": args.startup_runs, "awslabs": args.awslabs_startup_runs}
        results: dict[str, dict | None] = {"portcullis": None, "awslabs": None}
        for name, params in servers.items():
            if args.only and args.only != name:
                continue
            with open(work / f"{name}.stderr.log", "w") as errlog:
                r = await bench_server(name, params, runs[name], args.calls, errlog, {moto.proc.pid})
                r.update(bench_raw(name, params, runs[name], args.calls, errlog, floor))
            for k in ("sts", "s3"):
                r[f"{k}_ratio"] = r[f"raw_{k}_ms"] / r[f"floor_{k}_ms"]
            results[name] = r
        report(results["portcullis"], results["awslabs"], ref, floor.keepalive, args)
        if args.json:
            Path(args.json).write_text(json.dumps({"botocore_reference": ref, **results}, indent=2))
    except BaseException:
        print(f"bench failed; the servers' stderr logs are kept in {work}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(work, ignore_errors=True)
    finally:
        moto.stop()


if __name__ == "__main__":
    asyncio.run(amain())
