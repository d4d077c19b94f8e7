"""How fast the emulator serves and takes data: 1,000,000 calls.

Usage: python bench/emulator_speed.py [--calls N] [--page-size N] [--parallel K]
                                      [--post-only] [--rounds R] [--in-flight K] [--shape S]

Prints the generation time and the process's RSS once the tenant is rendered, pages per second
and MB/s serving every call (bodies read and dropped by curl), and the time to POST every call
back with 5 attribute columns (6 columns with the key) in 100,000-row columnar bodies rendered
before the clock starts, `--in-flight` at a time (the client's 4 by default), into the fresh
tenant ("first time": every row gets its attribute storage then) and again.

`--shape bench` (the default) renders the bodies as `push_updates` does the frame of
`bench/run.py --only write`: 4 labels, 17-digit floats with a tenth null, a year of dates,
booleans, 3 categories. `--shape unique` is the older body: a distinct label per row, short
floats, one date. `--post-only --rounds 3` measures the POSTs alone, each round with a fresh
emulator, and prints the medians.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import random
import statistics
import subprocess
import threading
import time
import urllib.parse

import psutil

from converz.testing import Emulator

ROWS_PER_BODY = 100_000


def serve(emu: Emulator, calls: int, page_size: int, parallel: int) -> str:
    pages = -(-calls // page_size)
    base = f"{emu.url}/calls?n_per_page={page_size}&page="
    command = ["curl", "-s", "--parallel", "--parallel-max", str(parallel)]
    command += ["-H", f"X-API-Key: {emu.api_key}", "-w", "%{size_download}\\n"]
    for page in range(1, pages + 1):
        command += [f"{base}{page}", "-o", "/dev/null"]
    started = time.perf_counter()
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - started
    total = sum(int(line) for line in output.split())
    return (
        f"GET: {pages} pages of {page_size:,} in {seconds:.2f} s: {pages / seconds:.0f} pages/s, "
        f"{total / 1e6 / seconds:.0f} MB/s ({total / 1e6:.0f} MB)"
    )


def unique_body(chunk: list[int]) -> dict[str, list[object]]:
    """A distinct label per row, short floats with a tenth null, one date."""
    n = len(chunk)
    return {
        "call_id": chunk,
        "label": [f"label {i}" for i in range(n)],
        "score": [None if i % 10 == 0 else i + 0.5 for i in range(n)],
        "flag": [True] * n,
        "bucket": [f"bucket {i % 7}" for i in range(n)],
        "follow_up": ["2025-01-02"] * n,
    }


def bench_body(chunk: list[int], rng: random.Random) -> dict[str, list[object]]:
    """The frame of `bench/methods.py`'s write methods, as the client's encoder writes it
    (floats in their shortest round-trip form, dates as `YYYY-MM-DD` strings)."""
    n = len(chunk)
    first = datetime.date(2025, 1, 1)
    days = [(first + datetime.timedelta(days=d)).isoformat() for d in range(365)]
    return {
        "call_id": chunk,
        "label": [rng.choice(("good", "bad", "neutral", "escalate")) for _ in range(n)],
        "score": [None if rng.random() < 0.1 else rng.random() for _ in range(n)],
        "follow_up": [rng.choice(days) for _ in range(n)],
        "flag": [rng.random() < 0.5 for _ in range(n)],
        "bucket": [rng.choice("abc") for _ in range(n)],
    }


def bodies(emu: Emulator, calls: int, shape: str) -> list[bytes]:
    """Columnar bodies of 100,000 rows: every call id and 5 attribute columns."""
    ids = [row["call_id"] for row in fetch_ids(emu, calls)]
    rng = random.Random(0)
    out = []
    for start in range(0, len(ids), ROWS_PER_BODY):
        chunk = ids[start : start + ROWS_PER_BODY]
        body = bench_body(chunk, rng) if shape == "bench" else unique_body(chunk)
        out.append(json.dumps(body, separators=(",", ":")).encode())
    return out


def fetch_ids(emu: Emulator, calls: int) -> list[dict[str, int]]:
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(emu.url).netloc)
    path = f"/api/v1/calls?n_per_page={calls}&columns=call_id"
    connection.request("GET", path, headers={"X-API-Key": emu.api_key})
    rows = json.loads(connection.getresponse().read())
    connection.close()
    return list(rows)


def post_all(emu: Emulator, payloads: list[bytes], in_flight: int) -> float:
    """Seconds to POST every payload, `in_flight` keep-alive connections taking turns."""
    netloc = urllib.parse.urlsplit(emu.url).netloc
    headers = {"X-API-Key": emu.api_key, "Content-Type": "application/json"}
    queue = list(reversed(payloads))
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        connection = http.client.HTTPConnection(netloc)
        while True:
            with lock:
                if not queue:
                    break
                payload = queue.pop()
            connection.request("POST", "/api/v1/calls", body=payload, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200 or json.loads(answer)["updated"] != ROWS_PER_BODY:
                failures.append(answer.decode(errors="replace")[:200])
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(in_flight)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    assert not failures, failures[0]
    return seconds


def push(emu: Emulator, payloads: list[bytes], in_flight: int) -> tuple[float, float]:
    """The first push into the tenant, then the same again."""
    return post_all(emu, payloads, in_flight), post_all(emu, payloads, in_flight)


def describe_push(payloads: list[bytes], in_flight: int, first: float, again: float) -> str:
    megabytes = sum(map(len, payloads)) / 1e6
    return (
        f"POST: {len(payloads)} bodies x 100,000 rows x 6 columns ({megabytes:.0f} MB, "
        f"{in_flight} in flight): {first:.3f} s first time ({megabytes / first:.0f} MB/s), "
        f"{again:.3f} s again ({megabytes / again:.0f} MB/s)"
    )


def post_rounds(args: argparse.Namespace) -> None:
    """`--post-only`: the POSTs alone, a fresh emulator each round, then the medians."""
    firsts, agains = [], []
    for number in range(args.rounds):
        with Emulator(calls=args.calls, reps=2_000, seed=0) as emu:
            payloads = bodies(emu, args.calls, args.shape)
            first, again = push(emu, payloads, args.in_flight)
        firsts.append(first)
        agains.append(again)
        print(f"round {number + 1}: " + describe_push(payloads, args.in_flight, first, again))
    first, again = statistics.median(firsts), statistics.median(agains)
    print(f"median of {args.rounds}: " + describe_push(payloads, args.in_flight, first, again))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--post-only", action="store_true", help="only the POSTs, --rounds times")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--shape", choices=["bench", "unique"], default="bench")
    args = parser.parse_args()
    if args.post_only:
        post_rounds(args)
        return
    process = psutil.Process()
    before = process.memory_info().rss
    started = time.perf_counter()
    with Emulator(calls=args.calls, reps=2_000, seed=0) as emu:
        generated = time.perf_counter() - started
        rss = (process.memory_info().rss - before) / 1e6
        print(
            f"{args.calls:,} calls generated and rendered in {generated:.1f} s, RSS +{rss:.0f} MB"
        )
        print(serve(emu, args.calls, args.page_size, args.parallel))
        payloads = bodies(emu, args.calls, args.shape)
        first, again = push(emu, payloads, args.in_flight)
        print(describe_push(payloads, args.in_flight, first, again))
        rss = (process.memory_info().rss - before) / 1e6
        print(f"RSS after the POSTs: +{rss:.0f} MB (changed rows render again when read)")
        print(serve(emu, args.calls, args.page_size, args.parallel) + " after the POSTs")
        print(serve(emu, args.calls, args.page_size, args.parallel) + " again (kept)")


if __name__ == "__main__":
    main()
