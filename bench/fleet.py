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
    }


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
            t0 = time.monotonic()
            seed(prefix, size)
            print(f"seeded {size} tenants in {time.monotonic() - t0:.0f} s", file=sys.stderr)
            results.append(run_fleet(sfn, machines, prefix, size))
    finally:
        sh("scripts/local-down.sh")

    print(f"{'tenants':>8} {'pages':>5} {'wall s':>7} {'transitions':>11} {'per tenant':>10} "
          f"{'max events/exec':>15} {'max events/page':>15} {'jobs fs+db (expected)':>22} {'$/tenant':>10}")
    for r in results:
        j = r["backupJobs"]
        print(f"{r['tenants']:>8} {r['pages']:>5} {r['wallSeconds']:>7} {r['transitions']:>11} "
              f"{r['transitionsPerTenant']:>10} {r['maxEventsInOneExecution']:>15} {r['maxEventsInAPage']:>15} "
              f"{str(j['fileSystem']) + '+' + str(j['databases']) + ' (' + str(j['expected']) + ')':>22} "
              f"{r['costPerTenantUsd']:>10.7f}")
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
                                  "jobsAsExpected": all(r["backupJobs"]["fileSystem"] == 1 and r["backupJobs"]["databases"] == r["tenants"] for r in results)}}))


if __name__ == "__main__":
    main()
