#!/usr/bin/env bash
# End-to-end tests: starts the local stack, runs tests/tests/e2e/ one test at a time, checks
# every AWS call they made against the template's IAM policies, stops the stack (also on
# failure).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh
cargo build --quiet --workspace --bins
cargo test --quiet -p bbws-tests --features e2e --test e2e --no-run
trap 'scripts/local-down.sh > /dev/null' EXIT
scripts/local-up.sh
start=$(date +%s)
BBWS_LOCAL_ENDPOINT="$ENDPOINT" cargo test -p bbws-tests --features e2e --test e2e -- --test-threads=1 --show-output
echo "e2e suite: $(( $(date +%s) - start )) s"
# Least privilege: every AWS call the suite's functions made, weighed against the IAM
# policies template.yaml gives them (tests/iam/iam_check.py).
.venv/bin/python tests/iam/iam_check.py "$LOCAL_DIR/state/calls.jsonl" --env "$LOCAL_DIR/functions.env"
