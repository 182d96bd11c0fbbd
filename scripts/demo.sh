#!/usr/bin/env bash
# The demo: on a machine with no AWS account, a tenant backup and restore end to end on the
# local stack. Ends with one JSON line: tenant, tenant backup id, recovery points, copy job
# states, the restore's outcome, files verified identical, rows verified equal (the restored
# database, read through the endpoint the site reads, against the rows at backup time),
# elapsed seconds.
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
rows() { # schema -> {table: [rows]}, each WordPress core table's rows in key order
  python3 - "$LOCAL_DIR/db/admin.cnf" "$1" <<'PY'
import json, subprocess, sys
cnf, schema = sys.argv[1], sys.argv[2]
out = {}
for table in ("wp_users", "wp_posts", "wp_postmeta", "wp_options"):
    got = subprocess.run(["mariadb", f"--defaults-extra-file={cnf}", "--batch",
                          "--skip-column-names", schema, "-e", f"SELECT * FROM {table} ORDER BY 1"],
                         capture_output=True, text=True, check=True).stdout
    out[table] = [line for line in got.split("\n") if line]
print(json.dumps(out, sort_keys=True))
PY
}

echo "== starting the local stack"
scripts/local-up.sh
echo "== creating tenant $TENANT"
.venv/bin/python scripts/local_seed.py tenant "$TENANT" | tee "$LOCAL_DIR/demo-tenant.json"
DIR=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["directory"])' "$LOCAL_DIR/demo-tenant.json")
digest "$DIR" > "$LOCAL_DIR/demo-before.json"
# The tenant's database is schema <identifier>@<region> on the stack's MariaDB server.
rows "$TENANT@$REGION" > "$LOCAL_DIR/demo-rows-before.json"

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
echo "== defacing the tenant's database: a post overwritten, an administrator added"
mariadb --defaults-extra-file="$LOCAL_DIR/db/admin.cnf" "$TENANT@$REGION" -e "
  UPDATE wp_posts SET post_content = 'HACKED' WHERE ID = 1;
  INSERT INTO wp_users (user_login, user_pass, user_email, display_name)
  VALUES ('intruder', 'x', 'intruder@example.net', 'admin2');"

echo "== bbws restore --yes --tenant $TENANT --backup $BACKUP_ID"
bbws --json restore --yes --tenant "$TENANT" --backup "$BACKUP_ID" --poll-seconds 1 | tee "$LOCAL_DIR/demo-restore.out"
digest "$DIR" > "$LOCAL_DIR/demo-after.json"
# The database the site now reads: the promoted endpoint's host names its identifier and
# region (<identifier>.<...>.<region>.rds.amazonaws.com), as on the stand-in's server.
RESTORED_SCHEMA=$(python3 -c '
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip().startswith("{")]
endpoint = ((json.loads(lines[-1]).get("output") or {}).get("databasePromotion") or {}).get("endpoint", "")
labels = endpoint.rsplit(":", 1)[0].split(".")
print(f"{labels[0]}@{labels[-4]}" if len(labels) >= 5 else "")' "$LOCAL_DIR/demo-restore.out")
echo "== the site's database endpoint leads to $RESTORED_SCHEMA"
if [ -n "$RESTORED_SCHEMA" ]; then rows "$RESTORED_SCHEMA" > "$LOCAL_DIR/demo-rows-after.json"; else echo '{}' > "$LOCAL_DIR/demo-rows-after.json"; fi

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
rows_before = json.load(open(f"{local}/demo-rows-before.json"))
rows_after = json.load(open(f"{local}/demo-rows-after.json"))
rows_verified = sum(len(set(r) & set(rows_after.get(t, []))) for t, r in rows_before.items())
rows_in_backup = sum(len(r) for r in rows_before.values())
unexpected_rows = sorted(f"{t}: {row}" for t, r in rows_after.items()
                         for row in set(r) - set(rows_before.get(t, [])))
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
    "rowsVerified": rows_verified,
    "rowsInBackup": rows_in_backup,
    "unexpectedRows": unexpected_rows,
    "elapsedSeconds": round(time.time() - started),
}
print(json.dumps(summary))
ok = (backup.get("status") == "SUCCEEDED" and restore.get("status") == "SUCCEEDED"
      and identical == len(before) and not summary["unexpectedFiles"]
      and rows_in_backup > 0 and rows_verified == rows_in_backup and not unexpected_rows)
sys.exit(0 if ok else 1)
PY
