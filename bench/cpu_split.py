"""Where a read's time goes: the CPU the client and the emulator each use during one fetch of
1,000,000 calls, against its wall time, then `to_polars()` (Linux: the emulator's CPU is read
from ``/proc``).

Usage: python bench/cpu_split.py [--calls N] [--rounds R] [--page-size N] [--concurrency K]

Both processes share the machine's cores, so "busy" is their CPU over wall time times cores: near
1.0 means the fetch is bound by CPU, and the split says whose.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from soak_emulator import EmulatorProcess


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--page-size", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    import converz

    cores = os.cpu_count() or 1
    with EmulatorProcess(calls=args.calls, reps=2000, seed=0, api_key="cpu-key") as emulator:
        assert emulator.pid is not None
        client = converz.Client(
            api_key=emulator.api_key,
            base_url=emulator.url,
            max_concurrency=args.concurrency,
            progress=False,
        )
        print(f"{args.calls:,} calls, {cores} cores, page size {args.page_size:,}")
        for round_number in range(1, args.rounds + 1):
            served_before = process_cpu(emulator.pid)
            wall, cpu = time.perf_counter(), time.process_time()
            table = client.calls(page_size=args.page_size)
            fetch_wall = time.perf_counter() - wall
            fetch_cpu = time.process_time() - cpu
            served = process_cpu(emulator.pid) - served_before
            wall, cpu = time.perf_counter(), time.process_time()
            frame = table.to_polars()
            polars_wall = time.perf_counter() - wall
            polars_cpu = time.process_time() - cpu
            busy = (fetch_cpu + served) / (fetch_wall * cores)
            print(
                f"round {round_number}: fetch {fetch_wall:.2f} s wall, "
                f"client CPU {fetch_cpu:.2f} s, emulator CPU {served:.2f} s, "
                f"cores busy {busy:.0%}; to_polars {polars_wall:.2f} s wall, "
                f"{polars_cpu:.2f} s CPU; {frame.height:,} rows"
            )
            del table, frame


if __name__ == "__main__":
    main()
