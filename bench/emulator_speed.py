"""How fast the emulator serves pages: 1,000,000 calls, n_per_page=10000, read with curl.

Usage: python bench/emulator_speed.py [--calls N] [--parallel K]
Prints the generation time, pages per second and MB/s (bodies read and dropped by curl).
"""

from __future__ import annotations

import argparse
import subprocess
import time

from converz.testing import Emulator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    started = time.perf_counter()
    with Emulator(calls=args.calls, reps=2_000, seed=0) as emu:
        generated = time.perf_counter() - started
        pages = -(-args.calls // args.page_size)
        base = f"{emu.url}/calls?n_per_page={args.page_size}&page="
        urls = [f"{base}{p}" for p in range(1, pages + 1)]
        command = ["curl", "-s", "--parallel", "--parallel-max", str(args.parallel)]
        command += ["-H", f"X-API-Key: {emu.api_key}", "-w", "%{size_download}\\n"]
        for url in urls:
            command += [url, "-o", "/dev/null"]
        started = time.perf_counter()
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        seconds = time.perf_counter() - started
    total = sum(int(line) for line in output.split())
    print(
        f"{args.calls:,} calls generated and rendered in {generated:.1f} s; "
        f"{pages} pages of {args.page_size:,} in {seconds:.2f} s: "
        f"{pages / seconds:.0f} pages/s, {total / 1e6 / seconds:.0f} MB/s ({total / 1e6:.0f} MB)"
    )


if __name__ == "__main__":
    main()
