"""The fleet backup at scale, on the local stack with a fast job clock (`make bench-fleet`).

Starts its own local stack (scripts/local-up.sh, jobs lasting BACKUP_SECONDS, 1 by default),
seeds minimal tenants (one small file, an access point and an RDS instance each) and runs a
fleet backup of each size in BENCH_FLEETS (default "100 1000"), each over its own tenants
(tenantPrefix). For each fleet it reads every execution of the run (its pages, and each
tenant's execution of the tenant backup state machine) and GetExecutionHistory of each, and
prints:

  wall time; total state transitions (every state entered, plus every task retry, as Step
  Functions bills them); the most history events in any one execution; the backup jobs
  started (expected: 1 on the shared file system + 1 per tenant database); the Step
  Functions cost per tenant at $0.025 per 1,000 transitions;

the AWS Backup quotas the run kept to: the copy jobs of the shared file-system point (1),
the most tags on any recovery point of the run (<= 50), the most backup-or-copy jobs at once
on any one resource (1), the failed tenants (0); then the catalog function on one hourly
plan event of the shared file system for every tenant of the fleet (their lives written to
the catalog first): the event is invoked through the front server as EventBridge would,
and its duration is given against the function's 60 s timeout (target: <= 30 %);

then how transitions per tenant scale with the polling settings, for jobs of 10 minutes:
the tenant flow's transitions outside its poll loop are measured here, and each poll is 3
transitions (wait, poll, choice); the number of polls follows from the poll schedule
(first wait, then doubling from pollSeconds up to maxPollSeconds), computed as poll-job
computes it. A table, then one JSON line last.

Never part of `make test`. Settings: BENCH_FLEETS, BENCH_PAGE_SIZE (100),
BENCH_MAX_CONCURRENCY (50), BACKUP_SECONDS (1); the stack's ports and directory from
FRONT_PORT, MOTO_PORT_LISTEN, LAMBDA_PORT, REDIS_PORT, LOCAL_DIR as for scripts/local-up.sh.
"""
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = "http://127.0.0.1:%s" % os.environ.get("FRONT_PORT", "4599")
REGION = "us-east-1"
PRICE_PER_TRANSITION = 0.025 / 1000
# Every poll of the tenant flow's wait loop: "Wait for backup jobs", "Poll backup jobs",
# "Are the backup jobs done?".
TRANSITIONS_PER_POLL = 3
TEN_MINUTES = 600
TARGET_EVENTS = 5000
TARGET_TRANSITIONS_PER_TENANT = 25

for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(name, "local")


def client(service):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION)


def sh(*args, env=None):
    subprocess.run(args, cwd=ROOT, check=True, env={**os.environ, **(env or {})})


def seed(prefix, count):
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "scripts/local_seed.py", "tenants", prefix, str(count)],
        cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"seeding {count} tenants failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)["tenants"]


def history(sfn, arn):
    events, token = [], None
    while True:
        kwargs = {"executionArn": arn, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events


def transitions(events):
    """State transitions as Step Functions bills them: each state entered, and each retry
    of a task (a task scheduled again within one entry of its state)."""
    entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
    task_entries = sum(1 for e in events if e["type"] == "TaskStateEntered")
    scheduled = sum(1 for e in events if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled"))
    return entered + max(0, scheduled - task_entries)


def polls(events):
    return sum(1 for e in events if e["type"] == "TaskStateEntered"
               and e.get("stateEnteredEventDetails", {}).get("name") == "Poll backup jobs")


def run_fleet(sfn, machines, prefix, size):
    name = f"bench-{prefix}-{int(time.time())}"
    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    arn = sfn.start_execution(
        stateMachineArn=machines["fleet-backup"], name=name,
        input=json.dumps({"tenantPrefix": f"{prefix}-", "copyToDr": True,
                          "pollSeconds": 1, "maxPollSeconds": 2,
                          "pageSize": int(os.environ.get("BENCH_PAGE_SIZE", "100")),
                          "maxConcurrency": int(os.environ.get("BENCH_MAX_CONCURRENCY", "50"))}),
    )["executionArn"]
    pages = []
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] == "RUNNING":
            time.sleep(0.5)
            continue
        pages.append(d)
        nxt = json.loads(d.get("output") or "null") or {}
        if d["status"] == "SUCCEEDED" and nxt.get("continuedAs"):
            arn = nxt["continuedAs"]
            continue
        break
    wall = time.monotonic() - t0
    last = pages[-1]
    if last["status"] != "SUCCEEDED":
        raise SystemExit(f"fleet of {size} ended {last['status']}: {last.get('error')} {last.get('cause')}")
    out = json.loads(last["output"])
    key = out["runKey"]
    tenant_arns = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machines["backup"]):
        tenant_arns += [e["executionArn"] for e in page["executions"]
                        if e["name"].startswith(f"fleet-{key}-")]
    page_histories = [history(sfn, p["executionArn"]) for p in pages]
    tenant_histories = [history(sfn, a) for a in tenant_arns]
    page_transitions = sum(transitions(h) for h in page_histories)
    tenant_transitions = [transitions(h) for h in tenant_histories]
    tenant_polls = [polls(h) for h in tenant_histories]
    biggest = max(len(h) for h in page_histories + tenant_histories)
    biggest_page = max(len(h) for h in page_histories)
    backup = client("backup")
    jobs = []
    for page in backup.get_paginator("list_backup_jobs").paginate(ByCreatedAfter=started):
        jobs += page["BackupJobs"]
    fs_jobs = sum(1 for j in jobs if ":file-system/" in j["ResourceArn"])
    db_jobs = sum(1 for j in jobs if f":db:{prefix}-" in j["ResourceArn"])
    quotas = quota_figures(backup, started, out)
    total = page_transitions + sum(tenant_transitions)
    n = len(tenant_arns)
    # The tenant flow's transitions outside its poll loop, and the fleet's share per tenant.
    base = (sum(tenant_transitions) - TRANSITIONS_PER_POLL * sum(tenant_polls)) / n
    return {
        "tenants": size, "executions": n + len(pages), "pages": len(pages),
        "succeeded": out["succeeded"], "wallSeconds": round(wall, 1),
        "transitions": total, "transitionsPerTenant": round(total / n, 2),
        "maxEventsInOneExecution": biggest, "maxEventsInAPage": biggest_page,
        "backupJobs": {"fileSystem": fs_jobs, "databases": db_jobs, "expected": 1 + size},
        "costPerTenantUsd": round(total * PRICE_PER_TRANSITION / n, 7),
        "pollsPerTenant": round(sum(tenant_polls) / n, 2),
        "tenantFlowTransitionsOutsidePolls": round(base, 2),
        "fleetTransitionsPerTenant": round(page_transitions / n, 3),
        **quotas,
    }


def most_at_once(spans):
    """The most intervals (start, end) open at one time."""
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def quota_figures(backup, started, out):
    """The quotas the run kept to, read from the stand-in: copy jobs of the shared point,
    the most tags on a recovery point, the most backup-or-copy jobs at once on a resource."""
    jobs = [j for page in backup.get_paginator("list_backup_jobs").paginate(ByCreatedAfter=started)
            for j in page["BackupJobs"]]
    copies = [j for page in backup.get_paginator("list_copy_jobs").paginate(ByCreatedAfter=started)
              for j in page["CopyJobs"]]
    shared = backup.describe_backup_job(
        BackupJobId=out["sharedFileSystemJob"]["jobId"])["RecoveryPointArn"]
    shared_copies = sum(1 for c in copies if c["SourceRecoveryPointArn"] == shared)
    # A copy holds the resource its source point protects (the quotas page counts both).
    by_resource = {}
    for j in jobs + copies:
        end = j.get("CompletionDate") or datetime.now(timezone.utc)
        by_resource.setdefault(j["ResourceArn"], []).append((j["CreationDate"], end))
    rds = client("rds")
    most_tags = 0
    for j in jobs:
        arn = j.get("RecoveryPointArn")
        if not arn:
            continue
        if arn.split(":")[2] == "backup":
            tags = backup.list_tags(ResourceArn=arn)["Tags"]
        else:
            tags = rds.list_tags_for_resource(ResourceName=arn)["TagList"]
        most_tags = max(most_tags, len(tags))
    return {"sharedPointCopies": shared_copies, "sharedPoint": shared,
            "mostTagsOnAPoint": most_tags,
            "mostJobsAtOnceOnAResource": max(most_at_once(s) for s in by_resource.values()),
            "failedTenants": out.get("failedCount", 0)}


def catalog_event(platform, tenants, prefix):
    """Times the catalog function on one hourly plan event of the shared file system while
    `tenants` (the fleet's) are on it: their lives go into the catalog as onboarding writes
    them, the template's file-system plan runs (the stand-in's admin API), and the job's
    COMPLETED event is taken from the catalog rule's queue and invoked through the front."""
    import urllib.request
    ddb = client("dynamodb")
    table = platform["catalogTable"]
    aps = {a["RootDirectory"]["Path"].lstrip("/"): a["AccessPointId"]
           for page in client("efs").get_paginator("describe_access_points").paginate(
               FileSystemId=platform["fileSystemId"]) for a in page["AccessPoints"]}
    onboarded = int(time.time()) - 3600
    items = []
    for i, t in enumerate(tenants):
        # A tenant the catalog-only bench did not seed gets an access point id of its own.
        ap = aps.get(t) or f"fsap-{abs(hash(prefix)) % 10**6:06d}{i:011x}"
        items.append({"PutRequest": {"Item": {
            "pk": {"S": f"tenant#{t}"}, "sk": {"S": f"life#{ap}"},
            "tenantId": {"S": t}, "accessPointId": {"S": ap},
            "onboardedAt": {"N": str(onboarded)},
            "livesKey": {"S": "life"}, "livesSort": {"S": f"{t}#{ap}"}}}})
    for i in range(0, len(items), 25):
        batch = {table: items[i:i + 25]}
        while batch:
            batch = ddb.batch_write_item(RequestItems=batch).get("UnprocessedItems") or None
    sqs = client("sqs")
    queue = platform["catalogQueueUrl"]

    def drain():
        got = []
        while True:
            msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return got
            for m in msgs:
                got.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])

    # The fleet's DR copy of its shared point holds the file system (one backup-or-copy job
    # per resource): the plan's job would wait for it, so it ends first.
    backup = client("backup")
    deadline = time.monotonic() + 900
    while any(backup.list_copy_jobs(ByState=state).get("CopyJobs")
              for state in ("CREATED", "RUNNING")):
        if time.monotonic() > deadline:
            raise SystemExit("the fleet's copy jobs did not end")
        time.sleep(2)
    # The fleet's own events (thousands) are not this measurement's: purged, not read.
    # SQS takes one purge a minute per queue: the second fleet's waits for it.
    for attempt in range(3):
        try:
            sqs.purge_queue(QueueUrl=queue)
            break
        except sqs.exceptions.PurgeQueueInProgress:
            time.sleep(61)
    req = urllib.request.Request(f"{ENDPOINT}/_local/plan-run", method="POST",
                                 data=json.dumps({"plan": "efs"}).encode(),
                                 headers={"content-type": "application/json"})
    started = json.loads(urllib.request.urlopen(req).read())["jobs"]
    fs_job = next(j["backupJobId"] for j in started if ":file-system/" in j["resourceArn"])
    deadline = time.monotonic() + 600
    while backup.describe_backup_job(BackupJobId=fs_job)["State"] != "COMPLETED":
        if time.monotonic() > deadline:
            raise SystemExit(f"the plan's file-system job {fs_job} did not complete")
        time.sleep(1)
    # After a fleet run the stand-in still delivers the run's thousands of events: the plan
    # job's comes behind them.
    event, waited = None, time.monotonic() + 900
    while event is None:
        if time.monotonic() > waited:
            raise SystemExit(f"no COMPLETED event of the plan's job {fs_job} reached the catalog's queue")
        time.sleep(2)
        event = next((e for e in drain() if e["detail-type"] == "Backup Job State Change"
                      and e["detail"].get("backupJobId") == fs_job
                      and e["detail"].get("state") == "COMPLETED"), None)
    from botocore.config import Config
    lam = boto3.client("lambda", endpoint_url=ENDPOINT, region_name=REGION,
                       config=Config(read_timeout=900, retries={"max_attempts": 0}))
    # A warm function, as an hourly event finds it: the first invocation starts the binary.
    lam.invoke(FunctionName="catalog", Payload=json.dumps(
        {"source": "aws.backup", "detail-type": "Copy Job State Change", "resources": [], "detail": {}}))
    t0 = time.monotonic()
    answer = lam.invoke(FunctionName="catalog", Payload=json.dumps(event))
    seconds = time.monotonic() - t0
    body = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        raise SystemExit(f"the catalog function failed: {body}")
    recorded = len([t for t in body.get("tenants", []) if t.startswith(f"{prefix}-")])
    return {"catalogSeconds": round(seconds, 2), "catalogTimeoutShare": round(seconds / 60, 3),
            "catalogTenantsRecorded": recorded}


def polls_for(duration, initial, maximum, first_wait=None):
    """How many polls find a job of `duration` seconds done: the first after `first_wait`
    (pollSeconds when unknown), then waits doubling from pollSeconds up to maxPollSeconds
    (bbws::config::Polling::wait_after)."""
    elapsed, count, attempt = first_wait or initial, 1, 0
    while elapsed < duration:
        attempt += 1
        elapsed += max(1, min(initial * 2 ** attempt, maximum))
        count += 1
    return count


def scaling(base, fleet_share):
    rows = []
    settings = [(15, 60, None, "15 s doubling to 60 s (the defaults)"),
                (30, 120, None, "30 s doubling to 120 s"),
                (60, 300, None, "60 s doubling to 300 s"),
                (15, 60, 600, "first wait = last backup's 600 s, then 15..60 s"),
                (15, 60, 540, "first wait = last backup's 540 s (10% shorter), then 15..60 s"),
                (15, 60, 300, "first wait = last backup's 300 s (half), then 15..60 s")]
    for initial, maximum, first, label in settings:
        p = polls_for(TEN_MINUTES, initial, maximum, first)
        per_tenant = base + TRANSITIONS_PER_POLL * p + fleet_share
        rows.append({"settings": label, "polls": p, "transitionsPerTenant": round(per_tenant, 1),
                     "costPerTenantUsd": round(per_tenant * PRICE_PER_TRANSITION, 7),
                     "withinTarget": per_tenant <= TARGET_TRANSITIONS_PER_TENANT})
    return rows


def main():
    sizes = [int(s) for s in os.environ.get("BENCH_FLEETS", "100 1000").split()]
    os.environ.setdefault("BACKUP_SECONDS", "1")
    # moto counts each DB instance's automated snapshot against a snapshot quota of 1,000
    # (MOTO_RDS_SNAPSHOT_LIMIT); AWS counts only manual snapshots against its quota. The
    # bench's 1,100 databases need more.
    os.environ.setdefault("MOTO_RDS_SNAPSHOT_LIMIT", "10000")
    sh("scripts/local-up.sh")
    results = []
    try:
        platform = json.loads((Path(os.environ.get("LOCAL_DIR", ROOT / ".local")) / "platform.json").read_text())
        machines = platform["stateMachines"]
        sfn = client("stepfunctions")
        for i, size in enumerate(sizes):
            prefix = f"bench{i}"
            # BENCH_CATALOG_ONLY=1 times the catalog alone (no fleet run, no tenant seeded):
            # the catalog takes a shared point's tenants from their lives only, which
            # catalog_event writes. Its figure at sizes whose fleet run takes hours locally.
            if os.environ.get("BENCH_CATALOG_ONLY") == "1":
                result = {"tenants": size}
            else:
                t0 = time.monotonic()
                seed(prefix, size)
                print(f"seeded {size} tenants in {time.monotonic() - t0:.0f} s", file=sys.stderr)
                result = run_fleet(sfn, machines, prefix, size)
            tenants = [f"{prefix}-{i:05d}" for i in range(1, size + 1)]
            # Each fleet's figures as soon as they are measured, so a later failure loses none.
            print(json.dumps({"fleet": result}), file=sys.stderr)
            result.update(catalog_event(platform, tenants, prefix))
            print(json.dumps({"measured": result}), file=sys.stderr)
            results.append(result)
    finally:
        sh("scripts/local-down.sh")

    if os.environ.get("BENCH_CATALOG_ONLY") == "1":
        print(f"{'tenants':>8} {'catalog s':>9} {'% of 60 s':>9} {'recorded':>8}")
        for r in results:
            print(f"{r['tenants']:>8} {r['catalogSeconds']:>9} {100 * r['catalogTimeoutShare']:>8.1f}% "
                  f"{r['catalogTenantsRecorded']:>8}")
        print(json.dumps({"catalog": results}))
        return
    print(f"{'tenants':>8} {'pages':>5} {'wall s':>7} {'transitions':>11} {'per tenant':>10} "
          f"{'max events/exec':>15} {'max events/page':>15} {'jobs fs+db (expected)':>22} {'$/tenant':>10}")
    for r in results:
        j = r["backupJobs"]
        print(f"{r['tenants']:>8} {r['pages']:>5} {r['wallSeconds']:>7} {r['transitions']:>11} "
              f"{r['transitionsPerTenant']:>10} {r['maxEventsInOneExecution']:>15} {r['maxEventsInAPage']:>15} "
              f"{str(j['fileSystem']) + '+' + str(j['databases']) + ' (' + str(j['expected']) + ')':>22} "
              f"{r['costPerTenantUsd']:>10.7f}")
    print(f"\n{'tenants':>8} {'shared-point copies':>19} {'most tags/point':>15} "
          f"{'most jobs/resource':>18} {'failed':>6} {'catalog s':>9} {'% of 60 s':>9} {'recorded':>8}")
    for r in results:
        print(f"{r['tenants']:>8} {r['sharedPointCopies']:>19} {r['mostTagsOnAPoint']:>15} "
              f"{r['mostJobsAtOnceOnAResource']:>18} {r['failedTenants']:>6} {r['catalogSeconds']:>9} "
              f"{100 * r['catalogTimeoutShare']:>8.1f}% {r['catalogTenantsRecorded']:>8}")
    base = results[-1]["tenantFlowTransitionsOutsidePolls"]
    share = results[-1]["fleetTransitionsPerTenant"]
    rows = scaling(base, share)
    print(f"\nA tenant whose jobs take 10 minutes: {base} transitions outside the poll loop "
          f"(measured) + {TRANSITIONS_PER_POLL} per poll + {share} for the fleet's pages (measured)")
    print(f"{'poll settings':<62} {'polls':>5} {'transitions/tenant':>18} {'$/tenant':>10} {'<= 25':>6}")
    for row in rows:
        print(f"{row['settings']:<62} {row['polls']:>5} {row['transitionsPerTenant']:>18} "
              f"{row['costPerTenantUsd']:>10.7f} {'yes' if row['withinTarget'] else 'no':>6}")
    worst = max(r["maxEventsInOneExecution"] for r in results)
    print(json.dumps({"fleets": results, "tenMinuteJobs": rows,
                      "targets": {"maxEventsInOneExecution": worst,
                                  "maxEventsBelow5000": worst < TARGET_EVENTS,
                                  "quotasKept": all(r["sharedPointCopies"] == 1 and r["mostTagsOnAPoint"] <= 50
                                                    and r["mostJobsAtOnceOnAResource"] == 1
                                                    and r["failedTenants"] == 0 for r in results),
                                  "catalogWithin30Percent": all(r["catalogTimeoutShare"] <= 0.3 for r in results),
                                  "jobsAsExpected": all(r["backupJobs"]["fileSystem"] == 1 and r["backupJobs"]["databases"] == r["tenants"] for r in results)}}))


if __name__ == "__main__":
    main()
