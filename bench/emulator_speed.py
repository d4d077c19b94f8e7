"""How fast the emulator serves and takes data: 1,000,000 calls.

Usage: python bench/emulator_speed.py [--calls N] [--page-size N] [--parallel K]

Prints the generation time and the process's RSS once the tenant is rendered, pages per second
and MB/s serving every call (bodies read and dropped by curl), and the time to POST every call
back with 5 attribute columns (6 columns with the key) in 100,000-row columnar bodies.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import time
import urllib.parse

import psutil

from converz.testing import Emulator


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


def bodies(emu: Emulator, calls: int) -> list[bytes]:
    """Columnar bodies of 100,000 rows: every call id and 5 attribute columns."""
    ids = [row["call_id"] for row in fetch_ids(emu, calls)]
    out = []
    for start in range(0, len(ids), 100_000):
        chunk = ids[start : start + 100_000]
        n = len(chunk)
        body = {
            "call_id": chunk,
            "label": [f"label {i}" for i in range(n)],
            "score": [None if i % 10 == 0 else i + 0.5 for i in range(n)],
            "flag": [True] * n,
            "bucket": [f"bucket {i % 7}" for i in range(n)],
            "follow_up": ["2025-01-02"] * n,
        }
        out.append(json.dumps(body, separators=(",", ":")).encode())
    return out


def fetch_ids(emu: Emulator, calls: int) -> list[dict[str, int]]:
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(emu.url).netloc)
    path = f"/api/v1/calls?n_per_page={calls}&columns=call_id"
    connection.request("GET", path, headers={"X-API-Key": emu.api_key})
    rows = json.loads(connection.getresponse().read())
    connection.close()
    return list(rows)


def push(emu: Emulator, payloads: list[bytes]) -> str:
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(emu.url).netloc)
    headers = {"X-API-Key": emu.api_key, "Content-Type": "application/json"}
    timings = []
    for _round in range(2):
        started = time.perf_counter()
        for payload in payloads:
            connection.request("POST", "/api/v1/calls", body=payload, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200, answer
        timings.append(time.perf_counter() - started)
    connection.close()
    megabytes = sum(map(len, payloads)) / 1e6
    first, second = timings
    return (
        f"POST: {len(payloads)} bodies x 100,000 rows x 6 columns ({megabytes:.0f} MB): "
        f"{first:.2f} s first time ({megabytes / first:.0f} MB/s), {second:.2f} s again"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
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
        payloads = bodies(emu, args.calls)
        print(push(emu, payloads))
        rss = (process.memory_info().rss - before) / 1e6
        print(f"RSS after the POSTs: +{rss:.0f} MB (changed rows render again when read)")
        print(serve(emu, args.calls, args.page_size, args.parallel) + " after the POSTs")
        print(serve(emu, args.calls, args.page_size, args.parallel) + " again (kept)")


if __name__ == "__main__":
    main()
