"""The push into a fresh emulator: each method's push is the first one its emulator sees.

`bench/run.py --only write` pushes every round into one emulator, so only its first push finds
rows no POST has touched yet (the slow case: every row gets its attribute storage then). Here
every run of every method gets an emulator of its own, started just before, and the table
reports each round as well as the median, so "at least 10x the baseline in every round, the first
push included" can be read off directly.

Usage: python bench/push_fresh.py [--rows N] [--rounds K]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess

from run import KEY, free_port, run_method, start_emulator  # noqa: F401  (KEY: same tenant)

METHODS = ["write_converz", "write_requests"]


def run_fresh(method: str, rows: int, concurrency: int) -> dict[str, float]:
    port = free_port()
    emulator = start_emulator(rows, port)
    try:
        return run_method(method, f"http://127.0.0.1:{port}/api/v1", rows, concurrency)
    finally:
        emulator.send_signal(signal.SIGTERM)
        try:
            emulator.wait(timeout=30)
        except subprocess.TimeoutExpired:
            emulator.kill()
            emulator.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {m: [] for m in METHODS}
    rss: dict[str, list[float]] = {m: [] for m in METHODS}
    for round_number in range(args.rounds):
        order = METHODS if round_number % 2 == 0 else list(reversed(METHODS))
        for method in order:
            result = run_fresh(method, args.rows, args.concurrency)
            seconds[method].append(result["seconds"])
            rss[method].append(
                (result["peak_rss_mb"] - result["baseline_rss_mb"]) * 2**20 / result["data_bytes"]
            )
            print(f"  round {round_number + 1} {method:<16} {result['seconds']:7.3f} s", flush=True)
    print(f"\nfirst push into a fresh emulator, {args.rows:,} rows x 6 columns")
    print("| round | converz s | requests s | x requests | converz RSS/frame |")
    print("| --- | ---: | ---: | ---: | ---: |")
    converz, baseline = seconds["write_converz"], seconds["write_requests"]
    for number, (ours, theirs, peak) in enumerate(zip(converz, baseline, rss["write_converz"])):
        print(f"| {number + 1} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.1f} | {peak:.2f} |")
    ours, theirs = statistics.median(converz), statistics.median(baseline)
    print(f"| median | {ours:.3f} | {theirs:.3f} | {theirs / ours:.1f} | |")


if __name__ == "__main__":
    main()
