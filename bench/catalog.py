"""The catalog at 10,000 backups of one tenant, on the local stack (`make bench-catalog`).

Starts its own local stack (scripts/local-up.sh), seeds one tenant, backs it up once for
real (`bbws backup`, so the newest backup has real recovery points), then writes
BENCH_ITEMS - 1 (default 9,999) older hourly backups of that tenant straight into the
catalog table with BatchWriteItem (25 items a call), one an hour back from the real one.
Then, each timed once after one untimed warm-up, it measures:

  * `bbws backups --tenant T --limit 20` (the release build of the CLI);
  * `bbws backups --tenant T --id B` of the oldest backup (one backup in detail);
  * the restore's lookup: the restore function's plan step (`action: plan`, which changes
    nothing in AWS) for the real backup id, and for `at` = now (which takes the real backup's points), invoked
    through the front server (the function runs under cargo lambda watch).

For each: wall time and the AWS calls it made, counted from the front server's record of
every call (`$LOCAL_DIR/state/calls.jsonl`, lines before and after), with how many of them
went to DynamoDB. A table, then one JSON line last.

Never part of `make test`, never a timed test. Settings: BENCH_ITEMS (10000); the stack's
ports and directory from FRONT_PORT, MOTO_PORT_LISTEN, LAMBDA_PORT, REDIS_PORT, LOCAL_DIR as for
scripts/local-up.sh.
"""
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = "http://127.0.0.1:%s" % os.environ.get("FRONT_PORT", "4599")
LOCAL_DIR = Path(os.environ.get("LOCAL_DIR", ROOT / ".local"))
CALLS = LOCAL_DIR / "state" / "calls.jsonl"
REGION = "us-east-1"
TENANT = "bench-catalog"
TABLE = "bbws-dev-backup-catalog"
BBWS = ROOT / "target" / "release" / "bbws"
ACCOUNT = "123456789012"

for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(name, "local")
# The CLI and the functions sign for the local stack's region, as scripts/local-env.sh sets it.
for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
    os.environ.setdefault(name, REGION)


def client(service):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION)


def sh(*args):
    subprocess.run(args, cwd=ROOT, check=True)


def calls():
    """Every call the front has recorded so far."""
    if not CALLS.exists():
        return []
    return [json.loads(line) for line in CALLS.read_text().splitlines() if line.strip()]


def compact(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def bbws(*args):
    out = subprocess.run([str(BBWS), "--endpoint-url", ENDPOINT, "--json", *args],
                         cwd=ROOT, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.strip().startswith(("{", "["))]
    return out.returncode, (json.loads(lines[-1]) if lines else None), out.stderr


def measured(name, run, check):
    """Runs `run` once untimed, then once timed; the calls of the timed run."""
    run()
    before = len(calls())
    t0 = time.monotonic()
    result = run()
    wall = time.monotonic() - t0
    made = calls()[before:]
    problem = check(result)
    if problem:
        raise SystemExit(f"{name}: {problem}")
    ops = Counter(f"{c['service']}:{c['operation']}" for c in made)
    return {"name": name, "wallSeconds": round(wall, 3), "awsCalls": len(made),
            "dynamodbCalls": sum(1 for c in made if c["service"] == "dynamodb"),
            "operations": dict(sorted(ops.items()))}


def synthetic(newest, count):
    """`count` hourly backups of the tenant, one an hour before `newest` and back."""
    fs = f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-bench"
    db = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{TENANT}"
    start = newest - newest % 3600
    for i in range(1, count + 1):
        t = start - i * 3600
        backup_id = "hourly-" + datetime.fromtimestamp(t, timezone.utc).strftime("%Y%m%dT%H00Z")

        def point(kind, resource, rtype, at, size):
            return {"M": {
                "recoveryPointArn": {"S": f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:bench-{kind}-{i}"},
                "resourceArn": {"S": resource}, "resourceType": {"S": rtype},
                "vault": {"S": "bbws-dev-backup-vault"}, "createdAt": {"N": str(at)},
                "sizeBytes": {"N": str(size)}, "status": {"S": "COMPLETED"},
                "deleteAt": {"N": str(at + 91 * 86400)}}}

        yield {
            "pk": {"S": f"tenant#{TENANT}"}, "sk": {"S": f"backup#{compact(t)}#{backup_id}"},
            "tenantId": {"S": TENANT}, "backupId": {"S": backup_id}, "kind": {"S": "hourly"},
            "time": {"N": str(t)},
            "files": point("efs", fs, "EFS", t + 30, 10_000_000 + i),
            "database": point("db", db, "RDS", t + 40, 2_000_000 + i),
            "expiresAt": {"N": str(t + 91 * 86400)},
        }


def write_items(dynamodb, items):
    batch = []
    written = 0
    for item in items:
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == 25:
            written += flush(dynamodb, batch)
            batch = []
    if batch:
        written += flush(dynamodb, batch)
    return written


def flush(dynamodb, batch):
    request = {TABLE: batch}
    while request:
        out = dynamodb.batch_write_item(RequestItems=request)
        request = out.get("UnprocessedItems") or {}
    return len(batch)


def invoke_plan(lam, request):
    def run():
        out = lam.invoke(FunctionName="restore", Payload=json.dumps({
            "action": "plan",
            "executionId": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:bbws-dev-tenant-restore:bench",
            "request": request}).encode())
        return out.get("FunctionError"), json.loads(out["Payload"].read() or b"null")
    return run


def main():
    items = int(os.environ.get("BENCH_ITEMS", "10000"))
    sh("scripts/local-up.sh")
    results = []
    try:
        seeded = subprocess.run([str(ROOT / ".venv/bin/python"), "scripts/local_seed.py", "tenant", TENANT],
                                cwd=ROOT, capture_output=True, text=True)
        if seeded.returncode != 0:
            raise SystemExit(f"seeding failed: {seeded.stderr[-2000:]}")
        code, out, err = bbws("backup", "--tenant", TENANT, "--no-dr-copy", "--poll-seconds", "1")
        if code != 0:
            raise SystemExit(f"the real backup failed ({code}): {out} {err[-2000:]}")
        backup_id = out["output"]["backupId"]
        newest = int(datetime.strptime(backup_id.split("-")[1], "%Y%m%dT%H%M%SZ")
                     .replace(tzinfo=timezone.utc).timestamp())
        dynamodb = client("dynamodb")
        t0 = time.monotonic()
        written = write_items(dynamodb, synthetic(newest, items - 1))
        print(f"wrote {written} catalog items in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        count = dynamodb.query(TableName=TABLE, KeyConditionExpression="pk = :pk",
                               ExpressionAttributeValues={":pk": {"S": f"tenant#{TENANT}"}},
                               Select="COUNT")
        total = count["Count"]
        while "LastEvaluatedKey" in count:
            count = dynamodb.query(TableName=TABLE, KeyConditionExpression="pk = :pk",
                                   ExpressionAttributeValues={":pk": {"S": f"tenant#{TENANT}"}},
                                   Select="COUNT", ExclusiveStartKey=count["LastEvaluatedKey"])
            total += count["Count"]
        oldest = list(synthetic(newest, items - 1))[-1]["backupId"]["S"] if items > 1 else backup_id

        results.append(measured(
            "bbws backups --limit 20",
            lambda: bbws("backups", "--tenant", TENANT, "--limit", "20"),
            lambda r: None if r[0] == 0 and len(r[1]) == 20 and r[1][0]["backupId"] == backup_id
            else f"expected 20 backups, newest {backup_id}: {r}"))
        results.append(measured(
            "bbws backups --id <oldest>",
            lambda: bbws("backups", "--tenant", TENANT, "--id", oldest),
            lambda r: None if r[0] == 0 and r[1]["backupId"] == oldest else f"{r}"))
        lam = client("lambda")
        results.append(measured(
            "restore plan, backupId",
            invoke_plan(lam, {"tenantId": TENANT, "backupId": backup_id}),
            lambda r: None if r[0] is None and r[1]["backupId"] == backup_id else f"{r}"))
        at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        results.append(measured(
            "restore plan, at",
            invoke_plan(lam, {"tenantId": TENANT, "at": at}),
            lambda r: None if r[0] is None and r[1]["pointInTime"]["filesBackupId"] == backup_id
            else f"{r}"))
    finally:
        sh("scripts/local-down.sh")

    print(f"catalog items of {TENANT}: {total}")
    print(f"{'lookup':<28} {'wall s':>7} {'AWS calls':>9} {'DynamoDB':>8}  operations")
    for r in results:
        ops = ", ".join(f"{k} {v}" for k, v in r["operations"].items())
        print(f"{r['name']:<28} {r['wallSeconds']:>7} {r['awsCalls']:>9} {r['dynamodbCalls']:>8}  {ops}")
    print(json.dumps({"catalogItems": total, "results": results}))


if __name__ == "__main__":
    main()
