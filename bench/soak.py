"""`make soak`: millions of calls fetched and pushed back under every fault mode, exactly once.

Starts the emulator in its own process (10,000,000 calls by default; ``SOAK_ROWS`` or
``--rows`` to change), then:

1. reads the whole listing with no faults, streamed, keeping each row's key and a hash of all
   its values (the reference), and checks the count against the emulator's own ``/report``;
2. with errors (JSON and HTML 5xx), 429s, latency, bodies cut off mid-way, a page cap and rows
   inserted while paging, reads it again with ``iter_calls()`` (RSS sampled every page) and
   with ``calls()``: every original row must arrive exactly once with its reference values,
   and every extra row must be one the emulator inserted meanwhile;
3. pushes updates of ``--update-rows`` calls (3 columns set, one cleared) under errors, 429s
   and latency, and reads back: each update applied, nothing else changed;
4. unless ``--no-scale``, runs ``bench/scale.py --faults-check`` (1M calls through Dask and
   Ray under faults equal a single-process fetch).

Prints rows/s per phase, peak RSS, retries seen (from the ``converz`` logger), the fetches'
warnings and one ``SOAK PASS``/``SOAK FAIL`` line; exits non-zero on any loss, duplicate or
wrong value. Not part of ``make test`` (minutes, gigabytes).

Usage: python bench/soak.py [--rows N] [--update-rows M] [--no-scale]
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from soak_emulator import EmulatorProcess

HERE = Path(__file__).parent
PAGE_SIZE = 20_000
FETCH_FAULTS = {
    "error_rate": 0.04,
    "html_errors": True,
    "rate_limit_rate": 0.03,
    "retry_after": 0.01,
    "latency": 0.002,
    "drop_rate": 0.02,
    "page_cap": 10_000,
}
PUSH_FAULTS = {"error_rate": 0.1, "rate_limit_rate": 0.05, "retry_after": 0.01, "latency": 0.002}


class Retries(logging.Handler):
    """Counts the client's "attempt N failed" warnings by cause; prints none of them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.causes: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "failed (" in message:
            status = re.search(r"answered HTTP (\d+)", message)
            cause = f"HTTP {status[1]}" if status else message.split("failed (", 1)[1][:24]
            self.causes[cause] += 1

    def take(self) -> dict[str, int]:
        taken = dict(self.causes)
        self.causes.clear()
        return taken


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM, the peak-RSS high-water mark (Linux)
    except OSError:
        pass


# The eager read projects these columns: 10M rows of all 20 columns, read while rows move
# (the repair pass holds a second copy), would not fit next to the emulator in 23 GB.
EAGER_COLUMNS = ["call_id", "vendor_call_id", "rep_id", "campaign", "start_time", "date",
                 "duration", "sentiment"]  # fmt: skip


class Keyed:
    """Sorted keys and row hashes of a fetch (over ``columns``, default all), page by page."""

    def __init__(self, schema: pl.Schema | None = None, columns: list[str] | None = None) -> None:
        self.schema = schema
        self.columns = columns
        self.ids: list[np.ndarray] = []
        self.hashes: list[np.ndarray] = []

    def add(self, frame: pl.DataFrame) -> None:
        if self.columns is not None:
            frame = frame.select(self.columns)
        if self.schema is None:
            self.schema = frame.schema
        # The same columns and types as the reference, so equal values hash equal.
        frame = frame.select(
            pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
            for name, dtype in self.schema.items()
        )
        # Copies: a zero-copy view of one column would keep the whole imported page alive.
        self.ids.append(frame["call_id"].to_numpy().copy())
        self.hashes.append(frame.hash_rows(seed=0).to_numpy().copy())

    def done(self) -> tuple[np.ndarray, np.ndarray]:
        ids = np.concatenate(self.ids) if self.ids else np.empty(0, np.int64)
        hashes = np.concatenate(self.hashes) if self.hashes else np.empty(0, np.uint64)
        order = np.argsort(ids, kind="stable")
        return ids[order], hashes[order]


def id_snapshot(client: Any) -> np.ndarray:
    """Every call_id the emulator serves now (no faults on)."""
    ids = client.calls(columns=["call_id"]).to_polars()["call_id"].to_numpy()
    return np.sort(ids)


def check(
    name: str, got: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray],
    before: np.ndarray, after: np.ndarray,
) -> list[str]:  # fmt: skip
    """Every row of ``before`` once with its reference values; extras only rows of ``after``."""
    ids, hashes = got
    problems = []
    duplicates = int((np.diff(ids) == 0).sum())
    if duplicates:
        problems.append(f"{name}: {duplicates} rows arrived more than once")
    missing = np.setdiff1d(before, ids, assume_unique=True)
    if missing.size:
        problems.append(f"{name}: {missing.size} rows lost (first ids {missing[:5].tolist()})")
    unknown = np.setdiff1d(ids, after)
    if unknown.size:
        problems.append(f"{name}: {unknown.size} rows the emulator never served")
    ref_ids, ref_hashes = ref
    at = np.searchsorted(ids, ref_ids)
    present = (at < ids.size) & (ids[np.minimum(at, ids.size - 1)] == ref_ids)
    wrong = int((hashes[at[present]] != ref_hashes[present]).sum())
    if wrong:
        problems.append(f"{name}: {wrong} rows with values other than the reference's")
    return problems


def stream(client: Any, keyeds: list[Keyed], label: str) -> dict[str, Any]:
    """Reads the listing with iter_calls into ``keyeds``, sampling RSS on every page."""
    reset_peak()
    start_rss = rss_mb()
    samples = []
    started = time.perf_counter()
    pages = client.iter_calls(page_size=PAGE_SIZE)
    for page in pages:
        frame = page.to_polars()
        for keyed in keyeds:
            keyed.add(frame)
        samples.append(rss_mb())
    seconds = time.perf_counter() - started
    rows = sum(part.size for part in keyeds[0].ids)
    # Only the keys and hashes grow (16 bytes a row each): the stream's own RSS is the rest.
    kept = len(keyeds) * rows * 16 / 2**20
    tenth = max(len(samples) // 10, 1)
    return {
        "phase": label,
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "rss_start_mb": start_rss,
        "rss_at_10pct_mb": samples[tenth - 1] if samples else start_rss,
        "rss_end_mb": samples[-1] if samples else start_rss,
        "peak_rss_mb": rss_mb("VmHWM"),
        "keys_and_hashes_mb": kept,
        "warnings": list(pages.warnings),
    }


def eager(client: Any, keyed: Keyed) -> dict[str, Any]:
    reset_peak()
    started = time.perf_counter()
    table = client.calls(page_size=PAGE_SIZE, columns=EAGER_COLUMNS)
    seconds = time.perf_counter() - started
    peak = rss_mb("VmHWM")
    warnings = list(table.warnings)
    frame = table.to_polars()
    del table
    for offset in range(0, frame.height, 1_000_000):
        keyed.add(frame.slice(offset, 1_000_000))
    rows = frame.height
    del frame
    return {
        "phase": f"calls() eager ({len(EAGER_COLUMNS)} columns), faults on",
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mb": peak,
        "warnings": warnings,
    }


PUSHED = ["call_id", "duration", "sentiment", "subcampaign", "soak_mark"]


def push_phase(emu: EmulatorProcess, client: Any, ids: np.ndarray, n: int) -> dict[str, Any]:
    """Updates ``n`` calls spread over the listing under faults, then reads back every call."""
    before = client.calls(columns=PUSHED[:4]).to_polars()
    chosen = pl.Series("call_id", ids[:: max(ids.size // n, 1)][:n])
    cleared = chosen % 20 == 0  # these rows' subcampaign is cleared (row-wise bodies)
    updates = pl.DataFrame(
        {
            "call_id": chosen,
            "duration": (chosen * 7 % 3_600 + 1).cast(pl.Int64),
            "sentiment": (chosen % 1_000).cast(pl.Float64) / 1_000 - 0.5,
            "subcampaign": pl.Series(["soak-sub"] * len(chosen)).zip_with(
                ~cleared, pl.Series([None] * len(chosen), dtype=pl.String)
            ),
            "soak_mark": ("s" + chosen.cast(pl.String)),
        }
    )
    emu.set_faults(**PUSH_FAULTS)
    reset_peak()
    started = time.perf_counter()
    result = client.push_updates(updates, clear=["subcampaign"], chunk_rows=20_000)
    seconds = time.perf_counter() - started
    peak = rss_mb("VmHWM")
    emu.set_faults()
    after = client.calls(columns=PUSHED).to_polars()
    want = (
        before.with_columns(pl.lit(None, pl.String).alias("soak_mark"))
        .update(updates, on="call_id", include_nulls=True)
        .sort("call_id")
    )
    got = after.select(want.columns).sort("call_id").cast(dict(want.schema))  # type: ignore[arg-type]
    problems = []
    if result.updated != n or list(result.not_found):
        problems.append(f"push: updated {result.updated} of {n}, not found {result.not_found[:5]}")
    if got.height != want.height:
        problems.append(f"push: {got.height} rows read back, {want.height} expected")
    else:
        same = [got[c].eq_missing(want[c]) for c in want.columns]
        differ = int((~pl.DataFrame(same).select(pl.all_horizontal(pl.all())).to_series()).sum())
        if differ:
            problems.append(f"push: {differ} rows differ from the intended state")
    return {
        "phase": f"push_updates {n:,} rows x 4 columns, faults on",
        "rows": n,
        "seconds": seconds,
        "rows_per_s": n / seconds,
        "peak_rss_mb": peak,
        "requests": result.requests,
        "problems": problems,
    }


def report_count(client: Any) -> int:
    """The emulator's own count of calls over its whole period (``/report``'s ``n_calls``)."""
    table = client.report(start_date="2000-01-01", end_date="2025-09-30", metric=["n_calls"])
    return int(table.to_polars()["n_calls"].sum())


PEAKS: list[float] = []  # each phase's client peak RSS (VmHWM is reset between phases)


def print_phase(phase: dict[str, Any], retries: dict[str, int]) -> None:
    PEAKS.append(phase["peak_rss_mb"])
    figures = ", ".join(
        f"{key} {value:,.1f}" if isinstance(value, float) else f"{key} {value:,}"
        for key, value in phase.items()
        if key not in ("phase", "warnings", "problems")
    )
    print(f"- {phase['phase']}: {figures}; retries {sum(retries.values())} {retries}", flush=True)
    for warning in phase.get("warnings", []):
        print(f"    warning: {warning[:160]}")


def fetch_phases(emu: EmulatorProcess, client: Any, retries: Retries, rows: int) -> list[str]:
    """Phases 1 and 2: the reference, then the faulted stream and eager reads checked."""
    expected = report_count(client)
    reference, projected = Keyed(), Keyed(columns=EAGER_COLUMNS)
    phase = stream(client, [reference, projected], "iter_calls() reference, no faults")
    print_phase(phase, retries.take())
    ref, ref_projected = reference.done(), projected.done()
    problems = [] if ref[0].size == expected == rows else [
        f"reference: {ref[0].size} rows read, /report counts {expected}, {rows} generated"
    ]  # fmt: skip
    # Inserts shift every later row; each one moves ~90% of the emulator's row vectors, so
    # aim at ~15 insert rounds per read whatever the size (3 rows each).
    faults = {**FETCH_FAULTS, "insert_every": max(rows // FETCH_FAULTS["page_cap"] // 15, 2)}
    for name in ("iter_calls() faults on", "calls() eager, faults on"):
        before = id_snapshot(client)
        emu.set_faults(**faults)
        if name.startswith("iter"):
            keyed, want = Keyed(reference.schema), ref
            phase = stream(client, [keyed], name)
        else:
            keyed, want = Keyed(projected.schema, EAGER_COLUMNS), ref_projected
            phase = eager(client, keyed)
        emu.set_faults()
        after = id_snapshot(client)
        print_phase(phase, retries.take())
        print(f"    rows inserted by the emulator meanwhile: {after.size - before.size:,}")
        problems += check(name, keyed.done(), want, before, after)
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("SOAK_ROWS", 10_000_000)))
    parser.add_argument("--update-rows", type=int, default=1_000_000)
    parser.add_argument("--no-scale", action="store_true", help="skip the Dask/Ray check")
    args = parser.parse_args()
    retries = Retries()
    logger = logging.getLogger("converz")
    logger.addHandler(retries)
    logger.propagate = False
    import converz

    print(f"soak: {args.rows:,} calls, faults {FETCH_FAULTS}, push faults {PUSH_FAULTS}")
    started = time.perf_counter()
    with EmulatorProcess(calls=args.rows, reps=2_000, seed=7) as emu:
        print(f"- emulator up in {time.perf_counter() - started:.1f} s, RSS {emu.rss_mb()}")
        client = converz.Client(base_url=emu.url, api_key=emu.api_key, progress=False)
        problems = fetch_phases(emu, client, retries, args.rows)
        update_rows = min(args.update_rows, args.rows)
        phase = push_phase(emu, client, id_snapshot(client), update_rows)
        print_phase(phase, retries.take())
        problems += phase["problems"]
        print(f"- emulator RSS {emu.rss_mb()}")
    print(f"- client peak RSS over the run: {max(PEAKS):,.0f} MB")
    print(f"- soak wall time {time.perf_counter() - started:.0f} s")
    if not args.no_scale:
        scale = subprocess.run([sys.executable, str(HERE / "scale.py"), "--faults-check"])
        if scale.returncode:
            problems.append(f"scale-out faults check failed (exit {scale.returncode})")
    for problem in problems:
        print(f"  FAIL: {problem}")
    print(f"SOAK {'FAIL' if problems else 'PASS'}: {args.rows:,} calls", flush=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
