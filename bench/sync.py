"""The content sync at scale, on the local stack (`make bench-sync`).

Starts its own local stack (scripts/local-up.sh), seeds two tenants, and syncs each with
`bbws sync` (the sync state machine, its function under cargo lambda watch, moto's S3):

  * BENCH_SMALL_FILES (default 10,000) small files of 1 KiB (100 per directory), beside the
    seeded site's: the first sync (every file uploaded), then a second one (nothing
    changed: every file skipped on its size and mtime);
  * one file of BENCH_LARGE_MB (default 200) MB: the first sync (a multipart upload of
    8 MiB parts), then a second one.

For each run: wall time, files and MB synced, files/s and MB/s (of the files looked at, and
of the bytes uploaded), the executions and batches, and the AWS calls sync-content made,
counted from the front server's record of every call (`$LOCAL_DIR/state/calls.jsonl`,
lines before and after), per file and by operation. A table, then one JSON line last.

The functions are the debug builds cargo lambda watch serves (as every local run), so the
figures are the local stack's, not Lambda's. Never part of `make test`, never a timed test.
The stack's ports and directory come from FRONT_PORT, MOTO_PORT_LISTEN, LAMBDA_PORT,
LOCAL_DIR as for scripts/local-up.sh.
"""
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = "http://127.0.0.1:%s" % os.environ.get("FRONT_PORT", "4599")
LOCAL_DIR = Path(os.environ.get("LOCAL_DIR", ROOT / ".local"))
CALLS = LOCAL_DIR / "state" / "calls.jsonl"
BBWS = ROOT / "target" / "debug" / "bbws"

for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(name, "local")
for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
    os.environ.setdefault(name, "us-east-1")


def sh(*args):
    subprocess.run(args, cwd=ROOT, check=True)


def calls_so_far():
    if not CALLS.exists():
        return 0
    with CALLS.open() as f:
        return sum(1 for _ in f)


def calls_since(start):
    with CALLS.open() as f:
        lines = f.readlines()[start:]
    return [json.loads(l) for l in lines if l.strip()]


def seed(tenant):
    out = subprocess.run([str(ROOT / ".venv/bin/python"), "scripts/local_seed.py", "tenant", tenant],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"seeding {tenant} failed: {out.stderr[-2000:]}")
    return Path(json.loads(out.stdout)["directory"])


def operation(call):
    """What an S3 (or other) call was, from its method and parameters."""
    if call.get("operation"):
        return call["operation"]
    params, method = call.get("params", {}), call.get("method")
    if "list-type" in params:
        return "ListObjectsV2"
    if "uploads" in params:
        return "CreateMultipartUpload"
    if "uploadId" in params:
        return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload",
                "DELETE": "AbortMultipartUpload"}.get(method, method)
    return {"PUT": "PutObject", "HEAD": "HeadObject", "GET": "GetObject",
            "DELETE": "DeleteObject"}.get(method, method)


def sync(name, tenant, looked_at):
    start = calls_so_far()
    execution = f"bench-{tenant}-{time.time_ns()}"
    t0 = time.monotonic()
    out = subprocess.run([str(BBWS), "--endpoint-url", ENDPOINT, "--json", "--poll-interval", "0.5",
                          "sync", "--tenant", tenant, "--execution-name", execution],
                         cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - t0
    lines = [l for l in out.stdout.splitlines() if l.strip().startswith("{")]
    last = json.loads(lines[-1]) if lines else {}
    if out.returncode != 0 or "output" not in last:
        raise SystemExit(f"{name}: the sync failed ({out.returncode}): {last} {out.stderr[-2000:]}")
    result = last["output"]
    made = [c for c in calls_since(start) if c.get("caller") == "sync-content"]
    ops = Counter(operation(c) for c in made)
    mb = result["bytesSynced"] / 1e6
    return {
        "name": name, "wallSeconds": round(wall, 1), "filesLookedAt": looked_at,
        "filesSynced": result["filesSynced"], "filesSkipped": result["filesSkipped"],
        "mbSynced": round(mb, 1),
        "filesPerSecond": round(looked_at / wall, 1),
        "mbPerSecond": round(mb / wall, 1),
        "executions": result["executions"], "batches": result["batches"],
        "awsCalls": len(made), "awsCallsPerFile": round(len(made) / max(looked_at, 1), 3),
        "operations": dict(ops.most_common()),
    }


def main():
    small = int(os.environ.get("BENCH_SMALL_FILES", "10000"))
    large_mb = int(os.environ.get("BENCH_LARGE_MB", "200"))
    sh("scripts/local-up.sh")
    results = []
    try:
        many = seed("bench-sync-many")
        block = bytes(range(256)) * 4  # 1 KiB
        for i in range(small):
            d = many / "uploads" / "bench" / f"{i // 100:03d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"file-{i:05d}.txt").write_bytes(block[: 1000 + i % 24])
        many_files = sum(1 for p in many.rglob("*") if p.is_file())
        one = seed("bench-sync-large")
        big = one / "uploads" / "2026" / "11" / "film.mp4"
        with big.open("wb") as f:
            chunk = os.urandom(1024 * 1024)
            for _ in range(large_mb):
                f.write(chunk)
        one_files = sum(1 for p in one.rglob("*") if p.is_file())
        print(f"seeded {many_files} files and {one_files} files (one of {large_mb} MB)", file=sys.stderr)
        results.append(sync(f"{small} small files, first sync", "bench-sync-many", many_files))
        results.append(sync(f"{small} small files, unchanged", "bench-sync-many", many_files))
        results.append(sync(f"one {large_mb} MB file, first sync", "bench-sync-large", one_files))
        results.append(sync(f"one {large_mb} MB file, unchanged", "bench-sync-large", one_files))
    finally:
        sh("scripts/local-down.sh")

    print(f"{'run':<34} {'wall s':>7} {'synced':>7} {'MB':>7} {'files/s':>8} {'MB/s':>6} "
          f"{'calls':>6} {'calls/file':>10}  operations")
    for r in results:
        ops = ", ".join(f"{k} {v}" for k, v in r["operations"].items())
        print(f"{r['name']:<34} {r['wallSeconds']:>7} {r['filesSynced']:>7} {r['mbSynced']:>7} "
              f"{r['filesPerSecond']:>8} {r['mbPerSecond']:>6} {r['awsCalls']:>6} "
              f"{r['awsCallsPerFile']:>10}  {ops}")
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
