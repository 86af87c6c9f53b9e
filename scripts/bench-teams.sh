#!/usr/bin/env bash
# Team deployment benchmark: the per-call cost of the policy path with OAuth (JWT validation on
# every request) on one replica, then on two replicas at once (one Redis, one sealing key, one
# OpenID provider: oidc-provider from crates/portcullis/tests/oidc, scripts/setup-node.sh), and
# the same path with the token file for comparison. Native load generator (`portcullis-load`),
# release builds, read-only mode; scenarios `denied` (call_aws refused by the policy) and `check`
# (check_aws_command). Two replicas on one 2-core machine share its CPUs with two generators:
# the figure that should not move is the per-call latency at equal load per replica.
# Prints tables; asserts nothing (a benchmark, not a test).
#
#   scripts/bench-teams.sh [--connections 8] [--duration 5s] [--no-build]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
connections=8
duration=5s
build=1
while [ $# -gt 0 ]; do
  case $1 in
    --connections) connections=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$build" = 1 ]; then
  cargo build --release -p portcullis -p portcullis-loadtest --quiet
fi
scripts/setup-node.sh
scripts/setup-redis.sh
bin=$root/target/release/portcullis
load=$root/target/release/portcullis-load
tmp=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-bench-teams.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cat >"$tmp/fmt.py" <<'PY'
import json, sys
lv = json.load(sys.stdin)["levels"][0]
l = lv["latency_ms"]
print("%9.0f calls/s  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  (ok %d, tool errors %d, http errors %d)"
      % (lv["rps"], l["p50"], l["p90"], l["p99"], lv["ok"], lv["tool_error"], lv["http_error"]))
PY

wait_for() { # file pattern pid
  local i
  for i in $(seq 1 300); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "not ready: $1" >&2; cat "$1" >&2; return 1
}

# The identity provider and a token for the owner.
node crates/portcullis/tests/oidc/provider.mjs --port 0 --keys "$tmp/idp.json" >"$tmp/idp.out" 2>/dev/null &
pids+=($!)
wait_for "$tmp/idp.out" issuer "$!"
issuer=$(sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p' "$tmp/idp.out")
resource=https://portcullis.bench/mcp
curl -s "$issuer/token" -d grant_type=client_credentials -d client_id=alice -d client_secret=alice-secret \
  -d scope=mcp:tools --data-urlencode "resource=$resource" \
  | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' >"$tmp/jwt"
[ -s "$tmp/jwt" ] || { echo "no token from the provider" >&2; exit 1; }

redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
pids+=($!)
openssl rand -hex 32 >"$tmp/sealing.key" 2>/dev/null || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/sealing.key"
chmod 600 "$tmp/sealing.key"

# start NAME AUTH(oauth|token): prints the port.
start() {
  local name=$1 auth=$2 home=$tmp/$1
  mkdir -p "$home"
  local extra=()
  if [ "$auth" = oauth ]; then
    extra=(AUTH_TYPE=oauth "AUTH_ISSUER=$issuer" "AUTH_JWKS_URI=$issuer/jwks" "PORTCULLIS_AUTH_RESOURCE=$resource"
      PORTCULLIS_AUTH_OWNER=alice "PORTCULLIS_SEALING_KEY_FILE=$tmp/sealing.key"
      "PORTCULLIS_REDIS_URL=redis://127.0.0.1:$redis_port" "PORTCULLIS_REPLICA_ID=$name")
  fi
  env -i "PATH=$PATH" "HOME=$home" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    AWS_EC2_METADATA_DISABLED=true "AWS_API_MCP_WORKING_DIR=$home" PORTCULLIS_MODE=read-only \
    PORTCULLIS_MAX_CONNECTIONS_PER_PEER=1024 \
    "PORTCULLIS_RATE_PER_PRINCIPAL=100000/s burst 100000" "PORTCULLIS_RATE_PER_SESSION=100000/s burst 100000" \
    "${extra[@]}" "$bin" serve --transport http --port 0 >"$home/log" 2>&1 &
  pids+=($!)
  wait_for "$home/log" "serving MCP on" "$!"
  sed -n 's|.*serving MCP on http://127.0.0.1:\([0-9]*\)/mcp.*|\1|p' "$home/log" | head -1
}

# run PORT TOKENFILE TOOL COMMAND LABEL
run() {
  "$load" --http "http://127.0.0.1:$1/mcp" --token-file "$2" --tool "$3" --command "$4" \
    --connections "$connections" --duration "$duration" --warmup 1s --json 2>/dev/null \
    | python3 "$tmp/fmt.py" \
    | sed "s|^|$5 |"
}

token_port=$(start token token)
token_file=$(sed -n 's|.*(token file: \([^,)]*\).*|\1|p' "$tmp/token/log" | head -1)
a=$(start a oauth)
for sc in "denied|call_aws|aws iam delete-user --user-name x" "check|check_aws_command|aws s3api list-buckets"; do
  IFS='|' read -r name tool cmd <<<"$sc"
  echo "== $name, $connections connections per replica, $duration"
  run "$token_port" "$token_file" "$tool" "$cmd" "token-file, 1 replica:"
  run "$a" "$tmp/jwt" "$tool" "$cmd" "oauth, 1 replica:     "
done
b=$(start b oauth)
for sc in "denied|call_aws|aws iam delete-user --user-name x" "check|check_aws_command|aws s3api list-buckets"; do
  IFS='|' read -r name tool cmd <<<"$sc"
  echo "== $name, 2 replicas at once, $connections connections each, $duration"
  run "$a" "$tmp/jwt" "$tool" "$cmd" "oauth, replica a:     " &
  ra=$!
  run "$b" "$tmp/jwt" "$tool" "$cmd" "oauth, replica b:     " &
  rb=$!
  wait "$ra" "$rb"
done
