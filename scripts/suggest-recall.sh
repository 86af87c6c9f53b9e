#!/usr/bin/env bash
# Quality report of `suggest_aws_commands`: recall@1 and recall@5 of the offline ranking over the
# plain-words intents of crates/model/tests/data/intents.json, every intent not ranked first (with
# what was suggested instead), and the time to build the index and to answer a query. The test
# behind it fails when recall drops under its floors or the issue's examples stop ranking as
# asked.
#
#   scripts/suggest-recall.sh            # debug build
#   scripts/suggest-recall.sh --release  # optimised timings
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo test -p portcullis-model --offline "$@" --test suggest -- --nocapture --test-threads 1
