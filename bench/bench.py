#!/usr/bin/env python3
"""Start-up figures for the Lambda functions: `make bench` (never part of `make test`).

Per function in `functions/*` (binary name = directory name):

* init time: from process start to its first `GET /2018-06-01/runtime/invocation/next`
  on a local Runtime API stub (127.0.0.1), which never hands out an event: the process is
  killed once the request is seen;
* peak RSS: the process's `VmHWM` (peak resident set since exec) read from /proc just
  before it is killed. Not `wait4`'s `ru_maxrss`: Linux carries the parent's peak into a
  child over vfork+exec, so that figure would be this harness's own size;
* the same two figures for a Python/boto3 peer (`bench/python_peer.py`) that builds the
  boto3 clients the function builds (`PEER_CLIENTS` below) and polls the same stub;
* the ratio Rust init / Python init, and the arm64 zip size from `make build`.

Each figure is the median of BENCH_RUNS runs (default 20), Rust and Python runs
alternating so load from other work on the machine falls on both alike, after one
untimed warm-up run of each (file cache). Stdlib only; run it with the project's venv
Python so the peer has boto3.

Environment:
  BENCH_PROFILE    cargo profile whose binaries are measured: release (default) or dev
  BENCH_FUNCTIONS  space-separated functions to measure (default: every functions/* dir)
  BENCH_RUNS       runs per figure (default 20)
  BENCH_TIMEOUT    seconds a process may take to reach `next` (default 30)
  BENCH_COLD=1     also time `make demo` from a fresh clone with an empty target/, last
  CARGO_TARGET_DIR where the binaries and target/lambda zips are (default: ./target)

Output: a table, then one JSON line (last) with the same figures.
"""

import json
import re
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEER = BENCH / "python_peer.py"

# ---------------------------------------------------------------------------------------
# The boto3 clients the Python peer builds for each function: the SDK clients the Rust
# function builds at start-up (its `sdk-*` features of bbws), by boto3 service name. Edit
# this table with the function's Cargo.toml (tests/tests/layout.rs checks that side).
PEER_CLIENTS = {
    "advance-fleet": ("stepfunctions",),
    "catalog": ("backup", "dynamodb", "resourcegroupstaggingapi"),
    "copy-to-dr": ("backup",),
    "flush-cache": ("secretsmanager",),
    "force-redeploy": ("ecs",),
    "ingest-media": ("s3", "resourcegroupstaggingapi", "events"),
    "list-tenants": ("resourcegroupstaggingapi",),
    "offboard-tenant": ("backup", "dynamodb", "efs"),
    "onboard-tenant": ("dynamodb", "efs", "resourcegroupstaggingapi", "events"),
    "poll-job": ("backup", "dynamodb", "ecs", "rds"),
    "promote-restore": (),
    "publish-outcome": ("events",),
    "restore": ("backup", "dynamodb", "efs", "resourcegroupstaggingapi", "rds", "ssm"),
    "restore-drill": ("dynamodb", "events", "rds", "stepfunctions"),
    "sync-content": ("s3", "stepfunctions", "resourcegroupstaggingapi"),
    "start-backup": ("backup", "efs", "resourcegroupstaggingapi"),
    "upload-media": ("s3",),
}
# A function missing from the table gets this (and a warning).
DEFAULT_PEER_CLIENTS = ("backup", "ecs", "efs", "resourcegroupstaggingapi", "rds", "ssm", "events")
# ---------------------------------------------------------------------------------------

NEXT = "/2018-06-01/runtime/invocation/next"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Round:
    """One measured process: when its first `next` arrived, and what else it sent."""

    def __init__(self):
        self.first_next_ns = None
        self.seen = threading.Event()
        self.release = threading.Event()
        self.other = []


class Stub(ThreadingHTTPServer):
    """The Lambda Runtime API, as far as start-up needs it: records the first `next` of
    the current round and holds the request open (no event) until the round ends."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.round = Round()
        self.lock = threading.Lock()

    def new_round(self):
        with self.lock:
            self.round.release.set()
            self.round = Round()
            return self.round


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        now = time.monotonic_ns()
        rnd = self.server.round
        if self.path == NEXT:
            with self.server.lock:
                if rnd.first_next_ns is None:
                    rnd.first_next_ns = now
                    rnd.seen.set()
            # A long poll that never yields an event: wait for the harness to end the
            # round (the process is killed by then), then drop the connection.
            rnd.release.wait(120)
            self.close_connection = True
            return
        rnd.other.append(f"GET {self.path}")
        self.send_error(404)

    def do_POST(self):
        rnd = self.server.round
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rnd.other.append(f"POST {self.path} {body[:300]!r}")
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def vm_hwm_kib(pid):
    """Peak resident set of `pid` since exec, in KiB (None if unreadable)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class BenchError(Exception):
    pass


def measure(stub, argv, env, log_path, timeout):
    """Starts `argv`, waits for its first `next`, reads its peak RSS and kills it.
    Returns (init ms, peak RSS KiB)."""
    rnd = stub.new_round()
    with open(log_path, "wb") as out:
        t0 = time.monotonic_ns()
        proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=env.get("LAMBDA_TASK_ROOT"),
        )
    exited = None
    deadline = time.monotonic() + timeout
    try:
        while not rnd.seen.wait(0.002):
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                exited = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                break
        rss = vm_hwm_kib(proc.pid) if exited is None else None
    finally:
        if exited is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.wait4(proc.pid, 0)
        proc.returncode = exited if exited is not None else -signal.SIGKILL
        stub.new_round()
    if rnd.first_next_ns is None:
        why = f"exited with {exited}" if exited is not None else f"no `next` in {timeout}s"
        tail = Path(log_path).read_text(errors="replace")[-2000:]
        extra = "".join(f"\n  stub saw: {o}" for o in rnd.other)
        raise BenchError(f"{' '.join(argv)}: {why}{extra}\n--- output ---\n{tail}")
    return (rnd.first_next_ns - t0) / 1e6, rss


def unused_port():
    """A port nothing listens on, kept bound (not listening) so it stays that way:
    connections to it are refused at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def base_env(fn, stub_port, endpoint_port, scratch):
    """What Lambda gives a function, and the project's configuration (a superset of what
    `Config::from_lookup` reads, so this keeps working when functions need less). No
    variable from the caller's environment leaks in."""
    mount = scratch / "efs"
    mount.mkdir(exist_ok=True)
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "HOME": str(home),
        "LAMBDA_TASK_ROOT": str(scratch),
        "_HANDLER": "bootstrap",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{stub_port}",
        "AWS_LAMBDA_FUNCTION_NAME": f"bbws-dev-{fn}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/bbws-dev-{fn}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]00000000000000000000000000000000",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # Nothing may reach the network: every SDK call would go to a refused local port,
        # and no profile, credentials file or instance metadata is consulted.
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{endpoint_port}",
        "AWS_CONFIG_FILE": str(scratch / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        # The project's configuration (examples name the documentation account).
        "BACKUP_VAULT_NAME": "bbws-dev-backup-vault",
        "BACKUP_ROLE_ARN": "arn:aws:iam::123456789012:role/bbws-dev-backup",
        "DR_VAULT_ARN": "arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault",
        "FILE_SYSTEM_ID": "fs-0123456789abcdef0",
        "EFS_MOUNT_PATH": str(mount),
        "EVENT_BUS_NAME": "default",
        "BBWS_ENVIRONMENT": "dev",
        "CATALOG_TABLE_NAME": "bbws-dev-backup-catalog",
        "TENANT_BACKUP_STATE_MACHINE_ARN":
            "arn:aws:states:us-east-1:123456789012:stateMachine:bbws-dev-tenant-backup",
        "RESTORE_STATE_MACHINE_ARN":
            "arn:aws:states:us-east-1:123456789012:stateMachine:bbws-dev-tenant-restore",
        "CACHE_ENDPOINT": "127.0.0.1:6379",
        "CACHE_AUTH_SECRET_ARN":
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:bbws-dev-redis-flush-cache-AbCdEf",
    }


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve()


def functions():
    all_fns = sorted(p.name for p in (ROOT / "functions").iterdir() if p.is_dir())
    wanted = os.environ.get("BENCH_FUNCTIONS", "").split()
    unknown = [f for f in wanted if f not in all_fns]
    if unknown:
        sys.exit(f"BENCH_FUNCTIONS names no function in functions/: {' '.join(unknown)}")
    return wanted or all_fns


def median(xs):
    return statistics.median(xs) if xs else None


def bench_function(fn, binary, stub, endpoint_port, runs, timeout, scratch):
    clients = PEER_CLIENTS.get(fn)
    if clients is None:
        log(f"warning: {fn} is not in bench.py's PEER_CLIENTS; its peer builds {DEFAULT_PEER_CLIENTS}")
        clients = DEFAULT_PEER_CLIENTS
    env = base_env(fn, stub.server_address[1], endpoint_port, scratch)
    rust_argv = [str(binary)]
    py_argv = [sys.executable, str(PEER), *clients]
    rust_log, py_log = scratch / f"{fn}.rust.log", scratch / f"{fn}.python.log"
    # One untimed run of each first: the file cache, not the code, would set the first.
    measure(stub, rust_argv, env, rust_log, timeout)
    measure(stub, py_argv, env, py_log, timeout)
    rust, py = [], []
    for _ in range(runs):
        rust.append(measure(stub, rust_argv, env, rust_log, timeout))
        py.append(measure(stub, py_argv, env, py_log, timeout))
    rust_ms = median([r[0] for r in rust])
    py_ms = median([p[0] for p in py])
    rust_rss = median([r[1] for r in rust if r[1] is not None])
    py_rss = median([p[1] for p in py if p[1] is not None])
    zip_path = target_dir() / "lambda" / fn / "bootstrap.zip"
    return {
        "function": fn,
        "rust_init_ms": round(rust_ms, 2),
        "rust_rss_mib": round(rust_rss / 1024, 2) if rust_rss else None,
        "python_init_ms": round(py_ms, 2),
        "python_rss_mib": round(py_rss / 1024, 2) if py_rss else None,
        "ratio": round(rust_ms / py_ms, 4) if py_ms else None,
        "zip_bytes": zip_path.stat().st_size if zip_path.is_file() else None,
        "rust_init_ms_min": round(min(r[0] for r in rust), 2),
        "python_init_ms_min": round(min(p[0] for p in py), 2),
        "python_clients": list(clients),
    }


def cold_demo():
    """Wall time of `make demo` from a fresh clone of this commit with an empty target/.
    Dependency sources come from the local cargo cache; everything is compiled."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()
    if dirty:
        log("note: the cold demo runs the last commit; uncommitted changes are not in it")
    tmp = Path(tempfile.mkdtemp(prefix="bbws-cold-demo-"))
    clone = tmp / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", head], cwd=clone, check=True)
    env = dict(os.environ)
    # The clone builds into its own (empty) target/ with its own venv, as a fresh make.
    for name in ("CARGO_TARGET_DIR", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV"):
        env.pop(name, None)
    ours = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != ours)
    demo_log = tmp / "make-demo.log"
    log(f"cold demo: make demo in {clone} (log: {demo_log}) ...")
    # In the steps `make demo` takes, each timed: the venv, the workspace build (with cargo's
    # --timings report, to say which crates dominate), then the demo itself, which finds the
    # build done. Their sum is the cold `make demo`.
    steps = [
        ("venv", ["make", "venv"]),
        ("cargo build", ["cargo", "build", "--workspace", "--bins", "--timings"]),
        ("demo", ["make", "demo"]),
    ]
    phases = {}
    rc = 0
    with open(demo_log, "wb") as out:
        for name, command in steps:
            t0 = time.monotonic()
            rc = subprocess.run(command, cwd=clone, env=env, stdout=out,
                                stderr=subprocess.STDOUT).returncode
            phases[name] = round(time.monotonic() - t0, 1)
            if rc != 0:
                break
    result = {"commit": head, "seconds": round(sum(phases.values()), 1), "exit_code": rc,
              "phases": phases, "slowest_crates": slowest_crates(clone)}
    if rc == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        result["log"] = str(demo_log)
        log(Path(demo_log).read_text(errors="replace")[-3000:])
    return result


def slowest_crates(clone, count=8):
    """The crates that took longest in the cold build, from cargo's --timings report."""
    report = clone / "target" / "cargo-timings" / "cargo-timing.html"
    try:
        text = report.read_text(errors="replace")
    except OSError:
        return []
    match = re.search(r"const UNIT_DATA = (\[.*?\]);", text, re.S)
    if not match:
        return []
    units = json.loads(match.group(1))
    units.sort(key=lambda u: u.get("duration", 0), reverse=True)
    return [{"crate": f"{u['name']} {u.get('target', '').strip()}".strip(),
             "seconds": round(u.get("duration", 0), 1)} for u in units[:count]]


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def main():
    profile = os.environ.get("BENCH_PROFILE", "release")
    runs = int(os.environ.get("BENCH_RUNS", "20"))
    timeout = float(os.environ.get("BENCH_TIMEOUT", "30"))
    cold = os.environ.get("BENCH_COLD", "") not in ("", "0")
    if runs < 1:
        sys.exit("BENCH_RUNS must be at least 1")
    profile_dir = target_dir() / ("debug" if profile == "dev" else profile)
    fns = functions()
    missing = [f for f in fns if not (profile_dir / f).is_file()]
    if missing:
        sys.exit(
            f"no {profile} binary for {' '.join(missing)} in {profile_dir}: build them first "
            f"(cargo build --profile {profile} -p ...), or use `make bench`"
        )

    stub = Stub()
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    refused, endpoint_port = unused_port()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="bbws-bench-") as scratch:
            for fn in fns:
                log(f"{fn}: {runs} runs each of the {profile} binary and the Python peer ...")
                try:
                    rows.append(bench_function(fn, profile_dir / fn, stub, endpoint_port,
                                               runs, timeout, Path(scratch)))
                except BenchError as e:
                    sys.exit(f"{fn}: {e}")
    finally:
        stub.new_round()
        stub.shutdown()
        refused.close()

    cold_result = cold_demo() if cold else None

    load = os.getloadavg()
    print(f"Lambda start-up, {profile} binaries, median of {runs} runs "
          f"({os.cpu_count()} CPUs, load {load[0]:.2f}, nice {os.nice(0)}, "
          f"Python {platform.python_version()})")
    print("init: process start to first GET .../invocation/next; RSS: peak (VmHWM) MiB; "
          "ratio: Rust init / Python init")
    header = ("function", "init ms", "RSS MiB", "py init ms", "py RSS MiB", "ratio", "zip bytes")
    widths = (18, 9, 9, 11, 11, 7, 10)
    line = "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        cells = (
            r["function"].ljust(widths[0]),
            fmt(r["rust_init_ms"], ".2f").rjust(widths[1]),
            fmt(r["rust_rss_mib"], ".1f").rjust(widths[2]),
            fmt(r["python_init_ms"], ".1f").rjust(widths[3]),
            fmt(r["python_rss_mib"], ".1f").rjust(widths[4]),
            fmt(r["ratio"], ".3f").rjust(widths[5]),
            fmt(r["zip_bytes"], "d").rjust(widths[6]),
        )
        print("  ".join(cells))
    if cold_result is not None:
        print(f"cold `make demo` from a fresh clone ({cold_result['commit'][:10]}): "
              f"{cold_result['seconds']:.1f} s, exit code {cold_result['exit_code']}; "
              + ", ".join(f"{k} {v:.1f} s" for k, v in cold_result["phases"].items()))
        for c in cold_result["slowest_crates"]:
            print(f"  {c['crate']:<40} {c['seconds']:>7.1f} s")
    summary = {
        "profile": profile,
        "runs": runs,
        "rss": "VmHWM",
        "functions": rows,
    }
    if cold_result is not None:
        summary["cold_demo"] = cold_result
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    if cold_result is not None and cold_result["exit_code"] != 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
