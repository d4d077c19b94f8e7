"""Scaling out: 1M calls through Dask (LocalCluster, 2 worker processes) vs one machine.

Starts the emulator in its own process (as bench/run.py does), then times, in rounds:
- ``single``: ``client.calls()`` of the year into polars, in this process;
- ``dask_collect``: ``converz.dask.read_calls(partition="day")`` computed into one pandas
  frame in this process (every row crosses from the workers);
- ``dask_count``: the same partitions counted on the workers (rows stay where they were
  fetched, the way a cluster job that aggregates or writes Parquet uses them).
Cluster start-up is timed once, apart. Results go to bench/results/scale.json.

Usage: python bench/scale.py [--rows N] [--rounds K] [--partition day|week|month]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from run import KEY, free_port, start_emulator  # noqa: E402


def timed(work) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--partition", default="day")
    args = parser.parse_args()

    from distributed import Client as DaskClient
    from distributed import LocalCluster

    import converz
    import converz.dask

    port = free_port()
    emulator = start_emulator(args.rows, port)
    url = f"http://127.0.0.1:{port}/api/v1"
    query = {"start_date": "2024-10-01", "end_date": "2025-09-30"}
    try:
        client = converz.Client(base_url=url, api_key=KEY, progress=False)
        start = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        dask_client = DaskClient(cluster)
        startup = time.perf_counter() - start

        def ddf():  # type: ignore[no-untyped-def]
            return converz.dask.read_calls(
                base_url=url, api_key=KEY, partition=args.partition, **query
            )

        methods = {
            "single": lambda: client.calls(**query).to_polars(),
            "dask_collect": lambda: ddf().compute(),
            "dask_count": lambda: ddf().map_partitions(len).compute().sum(),
        }
        rows = {
            "single": client.calls(**query).num_rows,
            "dask": int(ddf().map_partitions(len).compute().sum()),
        }
        assert rows["single"] == rows["dask"], rows
        runs: dict[str, list[float]] = {name: [] for name in methods}
        for round_number in range(args.rounds):
            order = list(methods) if round_number % 2 == 0 else list(reversed(methods))
            for name in order:
                seconds = timed(methods[name])
                runs[name].append(seconds)
                print(f"  round {round_number + 1} {name:<14} {seconds:7.2f} s", flush=True)
        dask_client.close()
        cluster.close()
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=30)

    single = statistics.median(runs["single"])
    table = [
        {
            "method": name,
            "median_s": statistics.median(seconds),
            "min_s": min(seconds),
            "max_s": max(seconds),
            "x_single": statistics.median(seconds) / single,
        }
        for name, seconds in runs.items()
    ]
    print(f"\nscale: {rows['single']:,} calls, partition={args.partition}, 2 Dask workers")
    print(f"cluster start-up (not in the figures): {startup:.1f} s")
    print("| method | median s | min-max s | x single |")
    print("| --- | ---: | ---: | ---: |")
    for row in table:
        print(
            f"| {row['method']} | {row['median_s']:.2f} | {row['min_s']:.2f}-{row['max_s']:.2f} "
            f"| {row['x_single']:.2f} |"
        )
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "python": platform.python_version(),
        "rows": rows["single"],
        "partition": args.partition,
        "cluster_startup_s": startup,
        "scale": table,
    }
    out = HERE / "results" / "scale.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
