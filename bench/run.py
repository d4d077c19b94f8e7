"""`make bench`: converz against what an analyst would otherwise write, from one run.

Starts the emulator in its own process (1,000,000 calls, 2,000 reps), runs every method in a
fresh process for several rounds, alternating methods, and prints one table per scenario with
the median/min/max wall time, MB/s of JSON, peak RSS above the RSS when the clock started
(after imports and any input built before it; the ratio to the result's or input's size) and
the ratio to converz. Results go to bench/results/<name>.json.

The WAN scenario (``--only wan``, also part of the default run) starts its own emulator with a
40 ms round trip before every answer and 50 MB/s shared by all connections, every method asking
for gzip, and reports the compressed bytes each method moved and the link utilisation (those
bytes / seconds / bandwidth).

A full run into ``latest.json`` ends by rewriting README.md's benchmark tables from the results
(``bench/readme.py``) unless ``--no-readme``.

Usage: python bench/run.py [--rows N] [--rounds K] [--name NAME] [--only read|write|latency|wan]
                           [--no-readme]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
READ = [
    "read_converz_polars",
    "read_converz_polars_frame",
    "read_converz_pandas",
    "read_requests_pandas",
    "read_httpx_polars",
    "read_transfer_ceiling",
    "read_decode_ceiling",
]
STREAM = ["iter_converz"]
WRITE = ["write_converz", "write_requests"]
LATENCY = ["latency_report", "latency_one_rep"]
WAN = [
    "read_wan_converz",
    "read_wan_converz_frame",
    "read_wan_converz_table",
    "read_wan_httpx_polars",
    "read_wan_transfer_ceiling",
]
KEY = "bench-key"
# The WAN profile: the emulator waits this long before every answer (a request and its answer's
# first byte each cross the link once: one round trip) and paces all bodies to the bandwidth.
WAN_RTT = 0.04
WAN_BANDWIDTH = 50e6


def run_metadata(rounds: int) -> dict[str, object]:
    """What bench/readme.py prints above each table: when, where, how many rounds."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "python": platform.python_version(),
        "rounds": rounds,
    }


def load_average() -> float:
    # Other work on the machine (builds, another bench) lowers every CPU-bound figure.
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_emulator(rows: int, port: int) -> subprocess.Popen[bytes]:
    # A port some other server holds would make every method measure *that* server.
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(f"port {port} is in use; pass --port 0 for a free one") from None
    command = [
        sys.executable, "-m", "converz", "emulator",
        "--port", str(port), "--calls", str(rows), "--reps", "2000", "--seed", "0",
        "--api-key", KEY,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the emulator exited with status {process.returncode}")
        try:
            request = urllib.request.Request(f"{url}/reps?n_per_page=1", headers={"X-API-Key": KEY})
            with urllib.request.urlopen(request, timeout=2) as response:
                first_rep = json.loads(response.read())[0]["rep_id"]
                os.environ["BENCH_REP_ID"] = first_rep
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the emulator did not start")


def run_method(method: str, url: str, rows: int, concurrency: int, *extra: str) -> dict[str, float]:
    command = [
        sys.executable, str(HERE / "methods.py"), method, "--url", url, "--key", KEY,
        "--rows", str(rows), "--concurrency", str(concurrency),
        "--rep-id", os.environ.get("BENCH_REP_ID", ""), *extra,
    ]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure(methods: list[str], url: str, args: argparse.Namespace) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for round_number in range(args.rounds):
        # Alternate the order so no method always runs on a warm (or cold) machine.
        order = methods if round_number % 2 == 0 else list(reversed(methods))
        for method in order:
            result = run_method(method, url, args.rows, args.concurrency)
            runs[method].append(result)
            print(
                f"  round {round_number + 1} {method:<24} {result['seconds']:8.3f} s "
                f"{result['peak_rss_mb'] - result['baseline_rss_mb']:8.0f} MB",
                flush=True,
            )
    return runs


def timing(method: str, results: list[dict], ref: float) -> dict:
    """The time columns of one method's row: median, spread, every round, ratio to `ref`."""
    seconds = [r["seconds"] for r in results]
    median = statistics.median(seconds)
    return {
        "method": method,
        "rows": results[0]["rows"],
        "median_s": median,
        "min_s": min(seconds),
        "max_s": max(seconds),
        "seconds": seconds,  # by round: a target "in every round" is checked per round
        "x_converz": median / ref,
    }


def summarize(runs: dict[str, list[dict]], json_bytes: float, reference: str) -> list[dict]:
    ref = statistics.median(r["seconds"] for r in runs[reference])
    table = []
    for method, results in runs.items():
        row = timing(method, results, ref)
        median = row["median_s"]
        table.append(
            {
                **row,
                "json_mb_per_s": json_bytes / 1e6 / median if json_bytes else None,
                "peak_rss_mb": max(r["peak_rss_mb"] - r["baseline_rss_mb"] for r in results),
                "data_mb": results[0]["data_bytes"] / 1e6,
                "rss_x_data": (
                    max(r["peak_rss_mb"] - r["baseline_rss_mb"] for r in results)
                    * 2**20
                    / results[0]["data_bytes"]
                    if results[0]["data_bytes"]
                    else None
                ),
            }
        )
    return table


def print_table(title: str, table: list[dict]) -> None:
    print(f"\n{title}")
    print(
        f"| {'method':<24} | {'rows':>9} | {'median s':>8} | {'min s':>7} | {'max s':>7} "
        f"| {'JSON MB/s':>9} | {'peak RSS MB':>11} | {'data MB':>8} | {'RSS/data':>8} "
        f"| {'x converz':>9} |"
    )
    print("|" + "|".join("-" * w for w in (26, 11, 10, 9, 9, 11, 13, 10, 10, 11)) + "|")
    for row in table:
        mbps = f"{row['json_mb_per_s']:9.0f}" if row["json_mb_per_s"] else f"{'':>9}"
        ratio = f"{row['rss_x_data']:8.2f}" if row["rss_x_data"] else f"{'':>8}"
        print(
            f"| {row['method']:<24} | {row['rows']:>9,} | {row['median_s']:8.3f} "
            f"| {row['min_s']:7.3f} | {row['max_s']:7.3f} | {mbps} "
            f"| {row['peak_rss_mb']:11.0f} | {row['data_mb']:8.0f} | {ratio} "
            f"| {row['x_converz']:9.2f} |"
        )


def run_wan(args: argparse.Namespace) -> dict[str, object]:
    """The WAN scenario on its own emulator (a child process); its table and settings."""
    sys.path.insert(0, str(HERE))
    from soak_emulator import EmulatorProcess

    rows = args.wan_rows
    faults = {"latency": WAN_RTT, "bandwidth": WAN_BANDWIDTH}
    link = f"{WAN_RTT * 1e3:.0f} ms RTT, {WAN_BANDWIDTH / 1e6:.0f} MB/s"
    print(f"\n== wan: {rows:,} calls, {link}, gzip ==")
    options = {"calls": rows, "reps": 2000, "seed": 0, "api_key": KEY, **faults}
    meta = run_metadata(args.rounds)
    load_at_start = load_average()
    with EmulatorProcess(**options) as emulator:
        converz_concurrency = args.wan_concurrency or args.concurrency
        settings = {
            "read_wan_converz": ["--page-size", str(args.wan_page_size)],
            "read_wan_converz_frame": ["--page-size", str(args.wan_page_size)],
            "read_wan_converz_table": ["--page-size", str(args.wan_page_size)],
            "read_wan_httpx_polars": ["--gzip"],
            "read_wan_transfer_ceiling": ["--gzip"],
        }
        concurrency = {m: args.concurrency for m in WAN} | {
            m: converz_concurrency for m in WAN if m.startswith("read_wan_converz")
        }

        def one(method: str) -> dict:
            before = emulator.wire_stats()["body_bytes"]
            result = run_method(method, emulator.url, rows, concurrency[method], *settings[method])
            result["wire_bytes"] = emulator.wire_stats()["body_bytes"] - before
            return result

        # An untimed first pass: the emulator compresses each page once and keeps it.
        for method in WAN:
            one(method)
        runs: dict[str, list[dict]] = {m: [] for m in WAN}
        for round_number in range(args.rounds):
            for method in WAN if round_number % 2 == 0 else list(reversed(WAN)):
                runs[method].append(one(method))
                last = runs[method][-1]
                print(
                    f"  round {round_number + 1} {method:<26} {last['seconds']:8.3f} s "
                    f"{last['wire_bytes'] / 1e6:8.1f} MB on the wire",
                    flush=True,
                )
    ref = statistics.median(r["seconds"] for r in runs["read_wan_converz"])
    table = []
    for method, results in runs.items():
        row = timing(method, results, ref)
        wire = statistics.median(r["wire_bytes"] for r in results)
        table.append(
            {
                **row,
                "wire_mb": wire / 1e6,
                "link_utilisation": wire / row["median_s"] / WAN_BANDWIDTH,
            }
        )
    print(f"\nwan ({rows:,} calls; utilisation = bytes on the wire / seconds / bandwidth)")
    print(
        f"| {'method':<26} | {'median s':>8} | {'min s':>7} | {'max s':>7} | {'wire MB':>7} "
        f"| {'link use':>8} | {'x converz':>9} |"
    )
    print("|" + "|".join("-" * w for w in (28, 10, 9, 9, 9, 10, 11)) + "|")
    for row in table:
        print(
            f"| {row['method']:<26} | {row['median_s']:8.3f} | {row['min_s']:7.3f} "
            f"| {row['max_s']:7.3f} | {row['wire_mb']:7.1f} | {row['link_utilisation']:8.0%} "
            f"| {row['x_converz']:9.2f} |"
        )
    return {
        **meta,
        "load_average": [load_at_start, load_average()],
        "rows": rows,
        "rtt_s": WAN_RTT,
        "bandwidth_bytes_per_s": WAN_BANDWIDTH,
        "page_size": {"converz": args.wan_page_size, "others": 20_000},
        "concurrency": {"converz": converz_concurrency, "others": args.concurrency},
        "table": table,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--name", default="latest")
    parser.add_argument("--only", choices=["read", "write", "latency", "wan"], default=None)
    # 1M: a run must be long against the link's fixed costs (one 40 ms round trip to start, the
    # last page's decode): at 200,000 calls (0.35 s of link time) they alone cap use near 85%.
    parser.add_argument("--wan-rows", type=int, default=1_000_000, help="calls of the WAN run")
    parser.add_argument(
        "--wan-page-size", type=int, default=20_000, help="converz's page size on the WAN run"
    )
    parser.add_argument(
        "--wan-concurrency", type=int, default=None, help="converz's on the WAN run (default: same)"
    )
    parser.add_argument(
        "--no-readme", action="store_true", help="leave README.md's tables alone after a full run"
    )
    args = parser.parse_args()
    if args.only == "wan":
        out = HERE / "results" / f"{args.name}.json"
        results = json.loads(out.read_text()) if out.exists() else {}
        results["wan"] = run_wan(args)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {out}")
        return

    load_at_start = load_average()
    port = args.port or free_port()
    emulator = start_emulator(args.rows, port)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        json_bytes = run_method("read_transfer_ceiling", url, args.rows, args.concurrency)[
            "data_bytes"
        ]
        results: dict[str, object] = {
            **run_metadata(args.rounds),
            "rows": args.rows,
            "json_mb": json_bytes / 1e6,
            "page_size": 20_000,
            "concurrency": args.concurrency,
        }
        scenarios = [
            ("read", READ + STREAM, json_bytes, "read_converz_polars"),
            ("write", WRITE, 0, "write_converz"),
            ("latency", LATENCY, 0, "latency_report"),
        ]
        for name, methods, nbytes, reference in scenarios:
            if args.only and args.only != name:
                continue
            print(f"\n== {name}: {args.rows:,} calls, {json_bytes / 1e6:.0f} MB of JSON ==")
            table = summarize(measure(methods, url, args), nbytes, reference)
            print_table(f"{name} (peak RSS is above the RSS when the clock started)", table)
            results[name] = table
        results["load_average"] = [load_at_start, load_average()]
    finally:
        emulator.send_signal(signal.SIGTERM)
        try:
            emulator.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print("the emulator did not stop within 30 s; killed it", file=sys.stderr)
            emulator.kill()
            emulator.wait()
    if args.only is None:
        results["wan"] = run_wan(args)
    out = HERE / "results" / f"{args.name}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")

    if args.only is None:
        # Issue #10, a separate run: Dask with 2 workers vs one machine (its own emulator).
        print("\n== scale: bench/scale.py ==", flush=True)
        scale = [sys.executable, str(HERE / "scale.py"), "--rows", str(args.rows)]
        subprocess.run(scale, check=True)
        if args.name == "latest" and not args.no_readme:
            print("\n== README.md: bench/readme.py ==", flush=True)
            subprocess.run([sys.executable, str(HERE / "readme.py")], check=True)


if __name__ == "__main__":
    main()
