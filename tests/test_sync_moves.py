"""A synced dataset equals the API's answer after any run, whatever pushes moved calls' dates.

The API lists a call by its recorded start; the dataset files it under its ``date``, which a
push can move anywhere: into an incremental run's window from before it, out of the window to
an earlier day, and back. Each run must leave every call once, in the day its ``date`` says
(outside trial 22b found a call dropped and a run refused). Property-tested over random moves,
against the emulator over HTTP.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from converz._sync import sync_calls
from converz.testing import Emulator

START = dt.date(2025, 8, 1)
END = dt.date(2025, 9, 20)
DAYS = (END - START).days

# Each step moves a few calls' dates: (a call started in the runs' window or before it, by
# rank among a few, so that one call moves again; the day, as days after START, often near
# the end, where the window is, and often far before it; whether its `start_time` moves to
# that day too, which does not change the start the API lists it by).
days = st.one_of(st.integers(DAYS - 5, DAYS), st.integers(0, 5), st.integers(0, DAYS))
moves = st.lists(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 3), days, st.booleans()), min_size=1, max_size=3
    ),
    min_size=2,
    max_size=5,
)


def dataset(path: Path, fmt: str) -> pl.DataFrame:
    if fmt == "delta":
        return pl.read_delta(str(path)).sort("call_id")
    return pl.scan_parquet(f"{path}/**/*.parquet", hive_partitioning=True).collect().sort("call_id")


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=moves)
def test_every_call_once_in_its_day_after_any_date_moves(fmt, steps):
    """After each run the dataset is the previous one with every call the run could fetch (its
    start on or after `fetched_from`) as the API has it now: a change to a call started before
    the run's window lands with a full refresh only (README), but no call is lost or doubled.
    The first step's moves come before the first (full) run, so calls started before later
    windows can be dated inside them."""
    emulator = Emulator(calls=1_500, reps=10, seed=3, days=60)
    with emulator as emu, tempfile.TemporaryDirectory() as tmp:
        client = emu.client(progress=False)
        path = Path(tmp) / "calls"
        query = {"start_date": START, "end_date": END, "format": fmt}

        def api() -> pl.DataFrame:
            return client.calls(start_date=START, end_date=END).to_polars().sort("call_id")

        calls = api()
        # The start the API lists each call by: its first, whatever a push writes later.
        listed_by = calls.select("call_id", listed=pl.col("start_time").dt.date())
        late = calls.filter(pl.col("start_time").dt.date() >= END - dt.timedelta(days=2))
        pools = {
            True: late["call_id"].head(4).to_list(),
            False: calls.filter(~pl.col("call_id").is_in(late["call_id"]))["call_id"]
            .gather_every(max(1, calls.height // 4))
            .to_list(),
        }
        model = None
        for step in steps:
            moved = {
                pools[in_window][rank % len(pools[in_window])]: (
                    START + dt.timedelta(days=day),
                    and_start,
                )
                for in_window, rank, day, and_start in step
            }
            client.push_updates(
                pl.DataFrame({"call_id": list(moved), "date": [day for day, _ in moved.values()]})
            )
            # Outside trial 28b: a call whose start_time a push moved into the window too was
            # taken for one that had left the query, and dropped.
            started = {
                k: dt.datetime.combine(day, dt.time(9)) for k, (day, s) in moved.items() if s
            }
            if started:
                client.push_updates(
                    pl.DataFrame({"call_id": list(started), "start_time": list(started.values())})
                )
            run = sync_calls(client, path, **query)
            now = api()
            if model is None:
                assert run.full_refresh
                model = now
            else:
                assert not run.full_refresh
                seen = now.join(listed_by, on="call_id").filter(
                    pl.col("listed") >= run.fetched_from
                )
                unseen = model.filter(~pl.col("call_id").is_in(seen["call_id"]))
                model = pl.concat([unseen, seen.select(model.columns)]).sort("call_id")
            got = dataset(path, fmt)
            assert got["call_id"].is_unique().all()
            assert_frame_equal(got.select(model.columns), model)
