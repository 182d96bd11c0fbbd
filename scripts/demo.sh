#!/usr/bin/env bash
# The demo: on a machine with no AWS account, a tenant backup and restore end to end on the
# local stack. Ends with one JSON line: tenant, tenant backup id, recovery points, copy job
# states, the restore's outcome, files verified identical, elapsed seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh
started=$(date +%s)
TENANT="${TENANT:-demo-tenant}"
trap 'scripts/local-down.sh > /dev/null 2>&1 || true' EXIT
bbws() { target/debug/bbws --endpoint-url "$ENDPOINT" "$@"; }
digest() { # directory -> {relative path: sha256}
  python3 - "$1" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
out = {}
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        out[os.path.relpath(p, root)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
print(json.dumps(out, sort_keys=True))
PY
}

echo "== starting the local stack"
scripts/local-up.sh
echo "== creating tenant $TENANT"
.venv/bin/python scripts/local_seed.py tenant "$TENANT" | tee "$LOCAL_DIR/demo-tenant.json"
DIR=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["directory"])' "$LOCAL_DIR/demo-tenant.json")
digest "$DIR" > "$LOCAL_DIR/demo-before.json"

echo "== bbws backup --tenant $TENANT"
bbws --json backup --tenant "$TENANT" --poll-seconds 1 --wait-for-copy | tee "$LOCAL_DIR/demo-backup.out"
BACKUP_ID=$(python3 -c '
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip().startswith("{")]
print(json.loads(lines[-1])["output"]["backupId"])' "$LOCAL_DIR/demo-backup.out")
echo "== bbws backups --tenant $TENANT"
bbws backups --tenant "$TENANT"

echo "== damaging the tenant's files"
echo "<?php echo 'defaced';" > "$DIR/index.php"
rm -f "$DIR/uploads/2026/11/logo.bin"
echo "<?php eval(\$_GET['x']);" > "$DIR/malware.php"
find "$DIR" -type f | sed "s|$DIR/||" | sort

echo "== bbws restore --yes --tenant $TENANT --backup $BACKUP_ID"
bbws --json restore --yes --tenant "$TENANT" --backup "$BACKUP_ID" --poll-seconds 1 | tee "$LOCAL_DIR/demo-restore.out"
digest "$DIR" > "$LOCAL_DIR/demo-after.json"

scripts/local-down.sh > /dev/null
trap - EXIT
python3 - "$LOCAL_DIR" "$TENANT" "$started" <<'PY'
import json, sys, time
local, tenant, started = sys.argv[1], sys.argv[2], int(sys.argv[3])
def last_json(name):
    lines = [l for l in open(f"{local}/{name}") if l.strip().startswith("{")]
    return json.loads(lines[-1])
backup, restore = last_json("demo-backup.out"), last_json("demo-restore.out")
before = json.load(open(f"{local}/demo-before.json"))
after = json.load(open(f"{local}/demo-after.json"))
identical = sum(1 for path, sha in before.items() if after.get(path) == sha)
out, rout = backup.get("output") or {}, restore.get("output") or {}
summary = {
    "tenant": tenant,
    "backupId": out.get("backupId"),
    "backup": backup.get("status"),
    "recoveryPoints": [{"component": p["resource"], "arn": p.get("recoveryPointArn"),
                        "state": p["state"], "joined": p.get("joined", False)}
                       for p in out.get("recoveryPoints", [])],
    "copyJobs": [{"id": c["jobId"], "state": c["state"], "drRecoveryPoint": c.get("recoveryPointArn")}
                 for c in out.get("drCopies", [])],
    "restore": restore.get("status"),
    "restoreError": restore.get("error"),
    "restoreJobs": [{"id": j["jobId"], "component": j["resource"], "state": j["state"]}
                    for j in rout.get("restoreJobs", [])],
    "restoredDatabase": next((j["createdResourceArn"] for j in (rout.get("database") or {}).get("jobs", [])
                              if j["state"] == "COMPLETED"), None),
    "keptAside": (rout.get("files") or {}).get("keptAside"),
    "serviceRedeployed": [j["state"] for j in (rout.get("deployment") or {}).get("jobs", [])] == ["COMPLETED"],
    "filesVerifiedIdentical": identical,
    "filesInBackup": len(before),
    "unexpectedFiles": sorted(set(after) - set(before)),
    "elapsedSeconds": round(time.time() - started),
}
print(json.dumps(summary))
ok = (backup.get("status") == "SUCCEEDED" and restore.get("status") == "SUCCEEDED"
      and identical == len(before) and not summary["unexpectedFiles"])
sys.exit(0 if ok else 1)
PY
