"""What a fetch into a frame costs after its last byte: `client.calls()` timed apart from the
conversion into polars, pandas or pyarrow, the conversion split into building the string form
the library stores (`stream_as`: views for polars, LargeUtf8 for pandas) and the library's own
import, each with its CPU and minor page faults, and the peak RSS against the frame.

Usage: python bench/frame_tail.py [--calls N] [--rounds R] [--wan] [--targets polars,pandas,arrow]

Every run is a fresh process (the peak is per run), targets alternate within a round, and the
load average is printed with each run: on a shared machine compare medians taken under the same
load. ``--wan`` puts the emulator behind a 40 ms, 50 MB/s link and asks for gzip; "link" is then
the compressed bytes over the whole wall time (fetch and conversion) against the bandwidth.
Issue #13's views19 profile used it: on polars nearly all of `to_polars` is building views
(~36k page faults for 1M calls), polars' import ~0.015 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

KEY = "tail-key"
RTT, BANDWIDTH = 0.04, 50e6
FORMS = {"polars": "utf8_view", "pandas": "large_utf8"}


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _usage() -> tuple[float, float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def _phase(name: str, start: float, before: tuple[float, float, int]) -> dict[str, float]:
    user, system, faults = _usage()
    return {
        f"{name}_s": time.perf_counter() - start,
        f"{name}_user": user - before[0],
        f"{name}_sys": system - before[1],
        f"{name}_faults": faults - before[2],
    }


def child(target: str, url: str, gzip: bool) -> dict[str, Any]:
    """One fetch and conversion in this process; the libraries are imported before the clock."""
    import pandas  # noqa: F401  (imported before the clock, as a caller's would be)
    import polars
    import pyarrow

    import converz
    from converz._table import _Stream

    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # resets the peak-RSS high-water mark (Linux)
    base = _status_mb("VmRSS")
    options: dict[str, Any] = {"compression": "gzip"} if gzip else {}
    client = converz.Client(api_key=KEY, base_url=url, progress=False, **options)
    start, before = time.perf_counter(), _usage()
    table = client.calls(page_size=20_000)
    out = _phase("fetch", start, before)
    start, before = time.perf_counter(), _usage()
    if target in FORMS:
        table._raw.stream_as(FORMS[target])  # converts every batch before returning
    out |= _phase("form", start, before)
    start, before = time.perf_counter(), _usage()
    if target == "polars":
        frame = polars.DataFrame(_Stream(table._raw, FORMS[target]))
        size = 0  # after the peak is read (methods._frame_bytes)
    elif target == "pandas":
        frame = table.to_pandas()
        size = int(frame.memory_usage(deep=False).sum())
    else:
        frame = pyarrow.table(table)
        size = frame.nbytes
    out |= _phase("import", start, before)
    peak = _status_mb("VmHWM") - base
    if target == "polars":
        from methods import _frame_bytes

        size, _ = _frame_bytes(frame)
    return out | {"peak_mb": peak, "frame_mb": size / 2**20, "peak_x_frame": peak / (size / 2**20)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wan", action="store_true", help="40 ms, 50 MB/s link, gzip")
    parser.add_argument("--targets", default="polars,pandas,arrow")
    parser.add_argument("--child", nargs=2, metavar=("TARGET", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.wan)))
        return
    from soak_emulator import EmulatorProcess

    targets = args.targets.split(",")
    link = {"latency": RTT, "bandwidth": BANDWIDTH} if args.wan else {}
    options = {"calls": args.calls, "reps": 2000, "seed": 0, "api_key": KEY, **link}
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    with EmulatorProcess(**options) as emulator:

        def one(target: str) -> dict[str, Any]:
            wire = emulator.wire_stats()["body_bytes"]
            command = [sys.executable, __file__, "--child", target, emulator.url]
            command += ["--wan"] if args.wan else []
            line = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            result: dict[str, Any] = json.loads(line.splitlines()[-1])
            total = result["fetch_s"] + result["form_s"] + result["import_s"]
            wire = emulator.wire_stats()["body_bytes"] - wire
            result |= {"total_s": total, "load": os.getloadavg()[0]}
            if args.wan:
                result["link"] = wire / total / BANDWIDTH
            return result

        one(targets[0])  # untimed: the emulator renders (and compresses) each page once
        for round_number in range(args.rounds):
            for target in targets if round_number % 2 == 0 else targets[::-1]:
                runs[target].append(one(target))
                shown = {k: round(v, 3) for k, v in runs[target][-1].items()}
                print(f"round {round_number + 1} {target:<7} {shown}", flush=True)
    for target, results in runs.items():
        medians = {k: round(statistics.median(r[k] for r in results), 3) for k in results[0]}
        print(f"median {target:<7} {medians}")


if __name__ == "__main__":
    main()
