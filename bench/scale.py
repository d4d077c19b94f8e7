"""Scaling out: 1M calls through Dask (LocalCluster, 2 worker processes) vs one machine.

Starts the emulator in its own process (as bench/run.py does), then times, in rounds:
- ``single``: ``client.calls()`` of the year into polars, in this process;
- ``dask_collect``: ``converz.dask.read_calls(partition="day")`` computed into one pandas
  frame in this process (every row crosses from the workers);
- ``dask_count``: the same partitions counted on the workers (rows stay where they were
  fetched, the way a cluster job that aggregates or writes Parquet uses them).
Cluster start-up is timed once, apart. Results go to bench/results/scale.json.

``--faults-check`` (run by ``make soak``) times nothing: it checks that 1M calls partitioned by
day, fetched through Dask (2 worker processes) and Ray (2 CPUs) while the emulator injects
errors, HTML 5xx, 429s, cut-off bodies, latency and a page cap, and written as Parquet by the
engine, equal a single-process ``client.calls()`` of the same query with no faults, by key and
every value (and so does the single-process fetch under the same faults). Exit status 1 if not.

Usage: python bench/scale.py [--rows N] [--rounds K] [--partition day|week|month]
       python bench/scale.py --faults-check [--rows N] [--engines dask,ray]
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from run import KEY, free_port, load_average, run_metadata, start_emulator  # noqa: E402


def timed(work) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


SCALE_FAULTS = {
    "error_rate": 0.05,
    "html_errors": True,
    "rate_limit_rate": 0.05,
    "retry_after": 0.05,
    "drop_rate": 0.02,
    "latency": 0.002,
    "page_cap": 2_000,
}


def same(name: str, got: Any, want: Any) -> list[str]:
    """Problems found comparing ``got`` (any order) with ``want`` (sorted by call_id)."""
    got = got.select(want.columns).sort("call_id") if set(got.columns) == set(want.columns) else got
    if got.schema != want.schema:
        return [f"{name}: schema {dict(got.schema)} != {dict(want.schema)}"]
    if not got["call_id"].is_unique().all():
        return [f"{name}: {got.height - got['call_id'].n_unique()} duplicate rows"]
    if got.height != want.height:
        return [f"{name}: {got.height:,} rows, the single-process fetch has {want.height:,}"]
    if not got.equals(want):
        return [f"{name}: same keys, different values"]
    return []


def quiet() -> None:
    logging.getLogger("converz").setLevel(logging.ERROR)


def through_dask(url: str, key: str, query: dict[str, str], out: Path) -> Any:
    import polars as pl
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    import converz.dask

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        DaskClient(cluster) as dask_client,
    ):
        dask_client.run(quiet)  # the workers' retry warnings are expected here
        ddf = converz.dask.read_calls(
            base_url=url, api_key=key, partition="day", page_size=5_000, **query
        )
        ddf.reset_index().to_parquet(out, write_index=False)
    return pl.read_parquet(out / "*.parquet")  # `date` first: it was the index


def through_ray(url: str, key: str, query: dict[str, str], out: Path) -> Any:
    import polars as pl
    import ray

    import converz.ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        ds = converz.ray.read_calls(
            base_url=url, api_key=key, partition="day", page_size=5_000, **query
        )
        ds.write_parquet(str(out))
    finally:
        ray.shutdown()
    return pl.read_parquet(out / "*.parquet")


def faults_check(rows: int, engines: list[str]) -> int:
    """Engines under faults against the single-process fetch; 0 when every result is equal."""
    from soak import Retries
    from soak_emulator import EmulatorProcess

    import converz

    retries = Retries()  # counts the driver's retries instead of printing each one
    logging.getLogger("converz").addHandler(retries)
    logging.getLogger("converz").propagate = False
    query = {"start_date": "2025-07-31", "end_date": "2025-09-30"}  # 61 days, one task each
    problems: list[str] = []
    print(f"scale-out faults check: {rows:,} calls by day, faults {SCALE_FAULTS}", flush=True)
    with (
        EmulatorProcess(calls=rows, reps=300, seed=11, today=query["end_date"], days=61) as emu,
        tempfile.TemporaryDirectory() as tmp,
    ):
        client = converz.Client(base_url=emu.url, api_key=emu.api_key, progress=False)
        want = client.calls(**query).to_polars().sort("call_id")
        emu.set_faults(**SCALE_FAULTS)
        runs = {"single process": lambda out: client.calls(**query, page_size=5_000).to_polars()}
        runs.update(
            {"dask": partial(through_dask, emu.url, emu.api_key, query)}
            if "dask" in engines
            else {}
        )
        runs.update(
            {"ray": partial(through_ray, emu.url, emu.api_key, query)} if "ray" in engines else {}
        )
        for name, run in runs.items():
            started = time.perf_counter()
            got = run(Path(tmp) / name.replace(" ", "_"))
            found = same(name, got, want)
            seconds = time.perf_counter() - started
            verdict = found if found else "equal"
            print(f"- {name}, faults on: {got.height:,} rows in {seconds:.1f} s: {verdict}")
            if name == "single process":
                print(f"  its retries: {retries.take()}")
            problems += found
    print(f"SCALE FAULTS {'FAIL' if problems else 'PASS'}: {want.height:,} calls", flush=True)
    return 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--partition", default="day")
    parser.add_argument("--faults-check", action="store_true")
    parser.add_argument("--engines", default="dask,ray")
    args = parser.parse_args()
    if args.faults_check:
        sys.exit(faults_check(args.rows, args.engines.split(",")))

    from distributed import Client as DaskClient
    from distributed import LocalCluster

    import converz
    import converz.dask

    meta = run_metadata(args.rounds)
    load_at_start = load_average()
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
            "seconds": seconds,
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
        **meta,
        "load_average": [load_at_start, load_average()],
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
