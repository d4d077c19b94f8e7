"""Shared by the Dask, Spark and Ray tests: one 1M-call emulator per test process, references.

Not a fixture file: each engine's module imports these helpers, and the emulator is started
once, on first use, whichever engine module runs first (pytest runs modules in one process).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import polars as pl

from converz.testing import Emulator

MILLION = 1_000_000
# 1M calls over 61 days: a 1M-call query partitioned by day is 61 tasks of ~16k rows.
DAYS = 61
TODAY = "2025-09-30"
FIRST_DAY = "2025-07-31"
KEY = "scale-test-secret-9f3c1d"
# The faults run reads a smaller query: three days, ~50k rows.
FAULT_QUERY = {"start_date": "2025-09-10", "end_date": "2025-09-12"}
FAULTS = {"error_rate": 0.1, "rate_limit_rate": 0.15, "retry_after": 0.05, "page_cap": 2_000}


@functools.cache
def million() -> Emulator:
    """The 1M-call tenant, started once per process and stopped at exit."""
    emu = Emulator(calls=MILLION, reps=300, seed=11, api_key=KEY, today=TODAY, days=DAYS)
    atexit.register(emu.stop)
    return emu


@functools.cache
def reference(**query: Any) -> pl.DataFrame:
    """``client.calls()`` of the query on one machine, no faults: what every engine must equal."""
    return million().client(progress=False).calls(**query).to_polars()


def whole() -> pl.DataFrame:
    return reference(start_date=FIRST_DAY, end_date=TODAY)


def fault_reference() -> pl.DataFrame:
    return reference(**FAULT_QUERY)


@contextlib.contextmanager
def faults_on() -> Iterator[None]:
    million().set_faults(**FAULTS)
    try:
        yield
    finally:
        million().set_faults()


def same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    """Equal after sorting by call_id: columns, types and every value."""
    got = got.sort("call_id")
    assert got.columns == want.columns
    assert got.schema == want.schema
    assert got.height == want.height
    assert got["call_id"].is_unique().all()
    assert got.equals(want)
