#!/usr/bin/env python3
"""Counts every implementation's system calls (or instructions) per operation.

    swift build -c release --package-path Benchmarks
    python3 Benchmarks/count.py [--filter SCENARIO,...] [--impl NAME,...] [--out results/syscalls.json]
    python3 Benchmarks/count.py --instructions --filter oneshot,pingpong-same-loop
    python3 Benchmarks/count.py --cpu-time --filter select

loop-bench counts our own dispatchers' eventfd writes and epoll waits in-process; the
peers' locks and futexes, and the blocking calls of a plain thread on our side (recvSync,
ThreadSignal.waitSync), are only visible from outside. This script runs loop-bench under
strace once per implementation (`--impl`), twice: with 5 and with 10 measured runs. The
difference of the two totals, divided by 5 runs x the operations per run, is the system
calls per operation with set-up and warm-up cancelled out. Every thread of the process is
counted (`-f`): the loop threads, NIO's threads, the plain producer threads.

strace slows each system call down a lot, which changes timing (a consumer that would have
kept up may now sleep more), so treat the figures as the order of magnitude, not a constant.
Needs `strace` (Debian: `apt-get install strace`).

With `--instructions` it counts user-space instructions instead, with `perf stat -e
instructions:u` (Debian: linux-perf), the same way (10 runs minus 5 runs). Unlike times
these repeat from run to run, but only where no thread spins: in the cross-thread
scenarios a waiting side's spin adds instructions that depend on timing.

With `--cpu-time` it measures CPU time instead (`perf stat -e task-clock`, every thread, in
ns per operation), which needs no hardware counters: the cost of a wait whose wall time is
the wait itself (`select-timeout`), where ns/op beyond the timeout is mostly the kernel's
wake-up latency.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.path.join(HERE, ".build", "release", "loop-bench")


def run(scenario, impl, runs, instructions=False, cpu_time=False):
    """Returns (total system calls or instructions, ops per run) of one quick loop-bench run."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "trace.txt")
        results = os.path.join(tmp, "results.json")
        bench = [BINARY, "--quick", "--filter", scenario + "$", "--impl", impl, "--runs", str(runs), "--json", results]
        if instructions or cpu_time:
            event = "instructions:u" if instructions else "task-clock"
            command = ["perf", "stat", "-x,", "-e", event, "-o", trace] + bench
        else:
            command = ["strace", "-f", "-c", "-o", trace] + bench
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(trace) as f:
            if instructions:
                # "123456789,,instructions:u,...": the count is the first field.
                calls = int(next(line for line in f if "instructions" in line).split(",")[0])
            elif cpu_time:
                # "123.45,msec,task-clock,...": milliseconds, as nanoseconds.
                calls = float(next(line for line in f if "task-clock" in line).split(",")[0]) * 1e6
            else:
                # "100.00    0.012345           3      4567       123 total": calls is the 4th field.
                calls = int(next(line for line in f if line.strip().endswith("total")).split()[3])
        with open(results) as f:
            rows = [r for r in json.load(f) if r["scenario"] == scenario and r["impl"] == impl]
        if not rows:
            raise RuntimeError(f"{scenario} / {impl}: no result (did it fail?)")
        return calls, rows[0]["ops_per_run"]


def implementations(filters, impls):
    """(scenario, impl) pairs of a quick run with the given scenario and implementation filters."""
    with tempfile.TemporaryDirectory() as tmp:
        results = os.path.join(tmp, "results.json")
        command = [BINARY, "--quick", "--json", results]
        if filters:
            command += ["--filter", filters]
        if impls:
            command += ["--impl", impls]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(results) as f:
            return [(r["scenario"], r["impl"]) for r in json.load(f)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", default="", help="scenarios, as loop-bench's --filter")
    parser.add_argument("--impl", default="", help="implementations, as loop-bench's --impl")
    parser.add_argument("--out", help="also write the figures as JSON here")
    parser.add_argument("--instructions", action="store_true", help="count instructions (perf stat), not system calls")
    parser.add_argument("--cpu-time", action="store_true", help="measure CPU time (perf stat task-clock), not system calls")
    args = parser.parse_args()
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is missing: swift build -c release --package-path Benchmarks")
    figures = []
    if args.instructions:
        key, what, digits = "instructions_per_op", "instructions/op (perf stat, user space)", 0
    elif args.cpu_time:
        key, what, digits = "cpu_ns_per_op", "CPU ns/op (perf stat task-clock, all threads)", 0
    else:
        key, what, digits = "syscalls_per_op", "syscalls/op (strace -f, all threads)", 4
    print(f"| scenario | impl | {what} |")
    print("|---|---|---:|")
    for scenario, impl in implementations(args.filter, args.impl):
        short, operations = run(scenario, impl, 5, args.instructions, args.cpu_time)
        long, _ = run(scenario, impl, 10, args.instructions, args.cpu_time)
        per_op = max(long - short, 0) / (5 * operations)
        figures.append({"scenario": scenario, "impl": impl, key: round(per_op, 4)})
        print(f"| {scenario} | {impl} | {per_op:.{digits}f} |", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
