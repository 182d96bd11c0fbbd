#!/usr/bin/env bash
# Stops exactly the processes scripts/local-up.sh started (each in its own session).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh
[ -f "$LOCAL_DIR/pids" ] || { echo "the local stack is not running"; exit 0; }
while read -r pid name; do
  kill -TERM -- "-$pid" 2>/dev/null && echo "stopped $name"
done < "$LOCAL_DIR/pids"
sleep 0.5
while read -r pid name; do
  kill -KILL -- "-$pid" 2>/dev/null || true
done < "$LOCAL_DIR/pids"
rm -f "$LOCAL_DIR/pids"
