#!/usr/bin/env bash
# Load benchmark of `portcullis serve` with the native load generator (crates/loadtest,
# `portcullis-load`): over streamable HTTP and over stdio, in read-only mode with a temporary
# HOME, token file and audit trail, at several connection levels. Scenarios:
#   denied   call_aws `aws iam delete-user --user-name x` (refused by read-only mode)
#   check    check_aws_command `aws s3api list-buckets` (assessed, never run)
#   read     call_aws `aws sts get-caller-identity` against a local moto (skipped without the venv)
# Prints one table per scenario and transport; asserts nothing (a benchmark, not a test).
#
#   scripts/bench-load.sh [--connections 1,16,64,256] [--duration 5s] [--warmup 1s]
#                         [--only http|stdio] [--scenarios denied,check,read]
#                         [--fsync always|100ms|never] [--no-build] [--awslabs]
#
# --awslabs: also drive the pinned awslabs.aws-api-mcp-server over streamable HTTP with the same
# generator and scenarios (denied by its deny list, read; `check` is Portcullis-only). It runs
# from .venv-awslabs (scripts/bench-mcp.sh creates it) through bench/awslabs_launcher.py.
# --fsync: the audit trail's PORTCULLIS_AUDIT_FSYNC (default `always`, the server's default).
#
# PORTCULLIS_BIN / PORTCULLIS_LOAD_BIN: use those binaries instead of building the release ones.
# Every process started here is stopped on exit; each load run is bounded by `timeout`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

connections=1,16,64,256
duration=5s
warmup=1s
only=
scenarios=denied,check,read
fsync=always
build=1
awslabs=0
while [ $# -gt 0 ]; do
  case $1 in
    --connections) connections=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --fsync) fsync=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --awslabs) awslabs=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "${PORTCULLIS_BIN:-}" ] || [ -z "${PORTCULLIS_LOAD_BIN:-}" ]; then
  if [ "$build" = 1 ]; then
    cargo build --release -p portcullis -p portcullis-loadtest --quiet
  fi
fi
bin=${PORTCULLIS_BIN:-$root/target/release/portcullis}
load=${PORTCULLIS_LOAD_BIN:-$root/target/release/portcullis-load}
for b in "$bin" "$load"; do
  [ -x "$b" ] || { echo "missing binary: $b" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-bench-load.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

home=$tmp/home
mkdir -p "$home"
# The server's whole environment: fake credentials, no AWS config, everything under $home.
server_env=(
  env -i "PATH=$PATH" "HOME=$home"
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
  "AWS_API_MCP_WORKING_DIR=$home"
  "PORTCULLIS_AUDIT_DIR=$tmp/audit" "PORTCULLIS_AUDIT_KEY_FILE=$tmp/audit.key" "PORTCULLIS_AUDIT_FSYNC=$fsync"
  PORTCULLIS_MODE=read-only
  # Every client here is one peer (loopback): the per-peer cap (64) would refuse the 256 level.
  PORTCULLIS_MAX_CONNECTIONS_PER_PEER=1024
  # A benchmark of throughput, not of the rate limits (defaults: 100 calls/s a session, burst 200, which
  # would refuse nearly every read; policy-only calls send nothing and are not rate-limited).
  "PORTCULLIS_RATE_PER_PRINCIPAL=100000/s burst 100000" "PORTCULLIS_RATE_PER_SESSION=100000/s burst 100000"
)

# Waits (bounded) for a line matching $2 in file $1 and prints the port after $3.
wait_port() {
  local file=$1 pattern=$2 prefix=$3 pid=$4 i
  for i in $(seq 1 600); do
    if grep -q "$pattern" "$file" 2>/dev/null; then
      grep -o "$prefix[0-9]*" "$file" | head -1 | sed "s|$prefix||"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "no port in $file:" >&2
  cat "$file" >&2
  return 1
}

# moto for the read scenario, from the project venv (scripts/setup-venv.sh), if there is one.
moto_url=
if [[ ",$scenarios," == *,read,* ]]; then
  if [ ! -x "$root/.venv/bin/python" ]; then
    scripts/setup-venv.sh || true
  fi
  if [ -x "$root/.venv/bin/python" ]; then
    MOTO_CALL_RESET_API=true "$root/.venv/bin/python" -m moto.server -H 127.0.0.1 -p 0 \
      >"$tmp/moto.log" 2>&1 &
    moto=$!
    pids+=("$moto")
    if port=$(wait_port "$tmp/moto.log" "Running on http://127.0.0.1:" "Running on http://127.0.0.1:" "$moto"); then
      moto_url=http://127.0.0.1:$port
    fi
  fi
  [ -n "$moto_url" ] || echo "moto unavailable: the read scenario is skipped" >&2
fi

# The scenario's tool and command; empty when it cannot run.
scenario() {
  case $1 in
    denied) echo "call_aws|aws iam delete-user --user-name x" ;;
    check) echo "check_aws_command|aws s3api list-buckets" ;;
    read) [ -n "$moto_url" ] && echo "call_aws|aws sts get-caller-identity --endpoint-url $moto_url" ;;
  esac
  return 0
}

# A bound on one load run: levels × (warm-up + duration) plus slack for timeouts.
secs() { local d=$1; case $d in *ms) echo 1 ;; *s) echo "${d%s}" ;; *m) echo $((${d%m} * 60)) ;; *) echo "$d" ;; esac; }
levels=$(tr ',' '\n' <<<"$connections" | grep -c .)
bound=$(( levels * ($(secs "$duration" | cut -d. -f1) + $(secs "$warmup" | cut -d. -f1) + 35) + 30 ))
common=(--connections "$connections" --duration "$duration" --warmup "$warmup" --timeout 30s)

echo "$("$bin" --version 2>/dev/null || echo 'portcullis ?'); $(nproc) cores; levels $connections, $duration each after $warmup warm-up"

if [ "$only" != stdio ]; then
  "${server_env[@]}" "$bin" serve --transport http --port 0 --token-file "$tmp/token" \
    >/dev/null 2>"$tmp/http.log" &
  server=$!
  pids+=("$server")
  port=$(wait_port "$tmp/http.log" "serving MCP on http://127.0.0.1:" "serving MCP on http://127.0.0.1:" "$server")
  for s in ${scenarios//,/ }; do
    spec=$(scenario "$s")
    [ -n "$spec" ] || continue
    echo
    echo "== http: $s"
    timeout -k 5 "$bound" "$load" --http "http://127.0.0.1:$port/mcp" --token-file "$tmp/token" \
      --tool "${spec%%|*}" --command "${spec#*|}" "${common[@]}" || echo "(load run failed: $?)"
  done
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
fi

if [ "$awslabs" = 1 ]; then
  venv=$root/.venv-awslabs
  [ -x "$venv/bin/python" ] || { echo "no $venv: run scripts/bench-mcp.sh once to create it" >&2; exit 1; }
  mkdir -p "$tmp/awslabs/.aws/aws-api-mcp" "$tmp/awslabs/wd"
  echo '{"version": "1.0", "policy": {"denyList": ["aws iam delete-user"], "elicitList": []}}' \
    >"$tmp/awslabs/.aws/aws-api-mcp/mcp-security-policy.json"
  aport=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  env -i "PATH=$PATH" "HOME=$tmp/awslabs" LANG=C.UTF-8 AUTH_TYPE=no-auth \
    AWS_API_MCP_TRANSPORT=streamable-http AWS_API_MCP_HOST=127.0.0.1 "AWS_API_MCP_PORT=$aport" \
    READ_OPERATIONS_ONLY=false AWS_API_MCP_TELEMETRY=false "AWS_API_MCP_WORKING_DIR=$tmp/awslabs/wd" \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true "$venv/bin/python" "$root/bench/awslabs_launcher.py" \
    >"$tmp/awslabs.log" 2>&1 &
  aws_server=$!
  pids+=("$aws_server")
  wait_port "$tmp/awslabs.log" "Uvicorn running on" "Uvicorn running on http://127.0.0.1:" "$aws_server" >/dev/null
  for s in ${scenarios//,/ }; do
    [ "$s" = check ] && continue
    spec=$(scenario "$s")
    [ -n "$spec" ] || continue
    echo
    echo "== awslabs http: $s"
    timeout -k 5 "$bound" "$load" --http "http://127.0.0.1:$aport/mcp" \
      --tool "${spec%%|*}" --command "${spec#*|}" "${common[@]}" || echo "(load run failed: $?)"
  done
  kill "$aws_server" 2>/dev/null || true
  wait "$aws_server" 2>/dev/null || true
fi

if [ "$only" != http ]; then
  for s in ${scenarios//,/ }; do
    spec=$(scenario "$s")
    [ -n "$spec" ] || continue
    echo
    echo "== stdio: $s"
    # The load generator starts the server (and stops it when done); it runs in the server's
    # environment, which the child inherits.
    timeout -k 5 "$bound" "${server_env[@]}" "$load" --tool "${spec%%|*}" --command "${spec#*|}" \
      "${common[@]}" --server-log "$tmp/stdio.log" --stdio "$bin" serve \
      || echo "(load run failed: $?)"
  done
fi
