#!/usr/bin/env python3
"""Runs every test suite of the workspace once it is built, several at a time, and prints a
per-suite timing summary and the failing tests at the end.

A suite is one unit-test binary that `cargo test --no-run --message-format=json` built (its JSON
is read from the file given as the first argument), one top-level module of a crate's one
integration-test binary (`tests/it/`), or one of the commands given after it as
`NAME=COMMAND`. Commands given after `--serial` run first, one at a time, before the others:
those that take cargo's build lock (doc tests compile), which would otherwise stall suites whose
tests run `cargo build` themselves. Every suite runs even when others fail; the exit status is 1
when any failed.

Why not `cargo test`: it runs the binaries one after the other and stops at the first failing
one. Most suites wait on real servers (PostgreSQL, Redis, Docker, Node) far more than they use
the CPU, so running a few side by side shortens the wall time even on two cores.

Suites start longest-first, by the durations the previous run recorded in
target/test-suites/timings.json, so the slowest ones do not end up starting last. Each suite's
output goes to target/test-suites/<suite>.log; a failing suite's failures are printed at the end.

A suite still running after its time limit (a test waiting on something that never answers)
is stopped, with every process it started, and reported failed: the other suites' verdicts
still come.

Environment: STACKR_TEST_JOBS (suites at a time, default: 2 per core, at least 3),
STACKR_TEST_THREADS (tests at a time inside one suite, default 2), STACKR_SUITE_TIME_LIMIT
(seconds a suite may run, default 900: the slowest take about three minutes on two busy
cores).
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "target" / "test-suites"
TIMINGS = STATE / "timings.json"


def binary_suites(cargo_json: Path):
    """(name, argv, cwd) for every test binary in cargo's build messages."""
    suites = []
    for line in cargo_json.read_text().splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("reason") != "compiler-artifact" or not message.get("executable"):
            continue
        if not message["profile"]["test"]:
            continue
        target = message["target"]
        package = Path(message["manifest_path"]).parent
        crate = message["package_id"].split("#")[-1].split("@")[0].rsplit("/", 1)[-1]
        kind = target["kind"][0]
        threads = os.environ.get("STACKR_TEST_THREADS", "2")
        executable = message["executable"]
        if kind == "test":
            for module, tests in tests_by_module(executable, package, target["name"]):
                argv = [executable, "--exact", *tests, f"--test-threads={threads}"]
                suites.append((f"{crate}::{module}", argv, package))
            continue
        if kind == "bin":
            name = f"{crate} (unit tests of bin {target['name']})"
        else:
            name = f"{crate} ({kind} unit tests)"
        suites.append((name, [executable, f"--test-threads={threads}"], package))
    return suites


def tests_by_module(executable: str, cwd: Path, binary: str):
    """A crate's one integration-test binary holds a module per suite: its tests grouped by their
    top-level module, so each suite runs in its own process as a binary of its own would. Tests
    at the binary's root (a crate whose few tests need no modules) make one suite."""
    listing = subprocess.run([executable, "--list", "--format=terse"], cwd=cwd, check=True,
                             capture_output=True, text=True).stdout
    modules = {}
    for line in listing.splitlines():
        test, _, kind = line.rpartition(": ")
        if kind == "test":
            module = test.split("::")[0] if "::" in test else binary
            modules.setdefault(module, []).append(test)
    return sorted(modules.items())


def command_suites(specs):
    suites = []
    for spec in specs:
        name, _, command = spec.partition("=")
        suites.append((name, ["bash", "-c", command], ROOT))
    return suites


def log_path(name: str) -> Path:
    return STATE / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".log")


def failures_in(log: str):
    """The failing tests' names and their captured output, from libtest's report."""
    names = re.findall(r"^test (\S+) \.\.\. FAILED$", log, re.M)
    report = re.search(r"^failures:\n\n(.*?)^failures:$", log, re.M | re.S)
    return names, report.group(1).strip() if report else None


class Runner:
    def __init__(self, suites, jobs):
        previous = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
        # Longest first; unknown suites (new ones) first of all, since they may be long.
        self.queue = sorted(suites, key=lambda s: -previous.get(s[0], float("inf")))
        self.jobs = jobs
        self.results = {}
        self.lock = threading.Lock()
        self.total = len(suites)

    def run_one(self, name, argv, cwd):
        started = time.monotonic()
        env = dict(os.environ, CARGO_MANIFEST_DIR=str(cwd), RUST_BACKTRACE="1")
        limit = int(os.environ.get("STACKR_SUITE_TIME_LIMIT", "900"))
        with open(log_path(name), "w") as log:
            # A session of its own, so that a suite stopped at its limit is stopped whole.
            suite = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
            try:
                code = suite.wait(timeout=limit)
                verdict = "ok" if code == 0 else f"FAILED (exit {code})"
            except subprocess.TimeoutExpired:
                os.killpg(suite.pid, signal.SIGKILL)
                suite.wait()
                code = "timeout"
                verdict = f"FAILED (stopped after the {limit} s time limit)"
                log.write(f"\nstopped after the {limit} s time limit (STACKR_SUITE_TIME_LIMIT)\n")
        took = time.monotonic() - started
        with self.lock:
            self.results[name] = (code, took)
            done = len(self.results)
            print(f"[{done}/{self.total}] {name}: {verdict} in {took:.1f}s", flush=True)

    def worker(self):
        while True:
            with self.lock:
                if not self.queue:
                    return
                suite = self.queue.pop(0)
            self.run_one(*suite)

    def run(self):
        threads = [threading.Thread(target=self.worker) for _ in range(self.jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def main():
    STATE.mkdir(parents=True, exist_ok=True)
    args = sys.argv[2:]
    serial_at = args.index("--serial") if "--serial" in args else len(args)
    parallel_specs, serial_specs = args[:serial_at], args[serial_at + 1:]
    serial = command_suites(serial_specs)
    parallel = binary_suites(Path(sys.argv[1])) + command_suites(parallel_specs)
    jobs = int(os.environ.get("STACKR_TEST_JOBS", max(3, 2 * (os.cpu_count() or 1))))
    print(f"running {len(serial)} suites one at a time, then {len(parallel)} suites {jobs} at a "
          f"time; logs in {STATE.relative_to(ROOT)}/", flush=True)
    wall_start = time.monotonic()
    first = Runner(serial, 1)
    first.total = len(serial) + len(parallel)
    first.run()
    runner = Runner(parallel, jobs)
    runner.total = first.total
    runner.results = first.results
    runner.run()
    wall = time.monotonic() - wall_start

    results = runner.results
    TIMINGS.write_text(json.dumps({n: round(t, 1) for n, (_, t) in results.items()}, indent=1))
    print("\nsuite timings (slowest first):")
    for name, (code, took) in sorted(results.items(), key=lambda r: -r[1][1]):
        print(f"  {took:7.1f}s  {'ok    ' if code == 0 else 'FAILED'}  {name}")
    busy = sum(t for _, t in results.values())
    print(f"  {wall:7.1f}s  wall time for the suites ({busy:.0f}s of suite time, {jobs} at a time)")

    failed = sorted(n for n, (code, _) in results.items() if code != 0)
    for name in failed:
        log = log_path(name).read_text(errors="replace")
        names, report = failures_in(log)
        print(f"\n==== FAILED: {name} (full log: {log_path(name).relative_to(ROOT)})")
        if names:
            print("failing tests: " + ", ".join(names))
        print(report if report else "\n".join(log.splitlines()[-40:]))
    if failed:
        print(f"\n{len(failed)} of {len(results)} suites failed: {', '.join(failed)}")
        return 1
    print(f"\nall {len(results)} suites passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
