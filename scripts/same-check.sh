#!/usr/bin/env bash
# Fails unless another build of portcullis classifies a fixed set of commands exactly as this
# checkout's Linux build does (`portcullis check`: the request, IAM actions, access level, flags
# and the digest a consent is bound to), with the same exit status and nothing on stderr. Used by scripts/test-platforms.sh
# (Windows under Wine, static musl) and scripts/test-package.sh (the binary installed from the
# packaged crates); target/debug/portcullis must be built.
#
#   scripts/same-check.sh LABEL COMMAND...   (COMMAND: the other binary, or a runner and it)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
label=$1; shift
CASES=(
  "aws s3api delete-bucket --bucket b"
  "aws ec2 describe-instances --filters Name=tag:env,Values=prod --query Reservations[].Instances[].InstanceId"
  "aws iam create-access-key --user-name u"
  "aws s3 sync ./site s3://b/site --delete"
  "aws dynamodb put-item --table-name t --item {\"id\":{\"S\":\"1\"}}"
)
errs=$(mktemp)
trap 'rm -f "$errs"' EXIT
for c in "${CASES[@]}"; do
  want=$("$root/target/debug/portcullis" check "$c" 2>>"$errs") && want_rc=0 || want_rc=$?
  got=$("$@" check "$c" 2>>"$errs") && got_rc=0 || got_rc=$?
  got=$(tr -d '\r' <<<"$got")
  if [ "$want_rc" != "$got_rc" ]; then
    echo "FAIL: $label: \`portcullis check '$c'\` exited $got_rc, the Linux build $want_rc" >&2
    exit 1
  fi
  if [ "$want" != "$got" ]; then
    echo "FAIL: $label: \`portcullis check '$c'\` differs from the Linux build's:" >&2
    diff <(echo "$want") <(echo "$got") >&2 || true
    exit 1
  fi
done
if [ -s "$errs" ]; then
  echo "FAIL: $label: \`portcullis check\` wrote to stderr:" >&2
  cat "$errs" >&2
  exit 1
fi
echo "$label: ${#CASES[@]} commands classified exactly as on Linux (stdout identical, stderr empty)"
