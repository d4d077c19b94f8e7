"""Incremental sync (`converz._sync.sync_calls`): first run, new and updated rows, idempotent
re-runs, query changes, and runs killed with SIGKILL at random points, for Parquet and Delta."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import converz
from converz._sync import SyncResult, sync_calls
from converz._sync_state import STATE_FILE
from converz.testing import Emulator

START = "2025-08-01"
FIRST_END = "2025-09-20"  # the first run sees the tenant "as of" this day
FORMATS = ["parquet", "delta"]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(calls=6_000, reps=30, seed=21, days=90) as emu:
        yield emu


def dataset(path: Path, fmt: str) -> pl.DataFrame:
    """The dataset as a reader sees it, in the API's column order, sorted by call_id."""
    if fmt == "delta":
        frame = pl.read_delta(str(path))
    else:
        frame = pl.scan_parquet(f"{path}/**/*.parquet", hive_partitioning=True).collect()
    return frame.sort("call_id")


def api(client: converz.Client, **query: object) -> pl.DataFrame:
    query = {"start_date": START, **query}
    return client.calls(**query).to_polars().sort("call_id")


def same(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    assert_frame_equal(got.select(expected.columns), expected)


@pytest.mark.parametrize("fmt", FORMATS)
def test_first_incremental_and_idempotent_runs(emu, tmp_path, fmt):
    client = emu.client(progress=False)
    path = tmp_path / "calls"
    first = sync_calls(client, path, start_date=START, end_date=FIRST_END, format=fmt)
    expected = api(client, end_date=FIRST_END)
    assert first.rows == expected.height > 0 and first.full_refresh
    assert first.watermark == expected["start_time"].max()
    same(dataset(path, fmt), expected)

    # New rows (days after the first run) and updated rows (inside the overlap) appear.
    recent = expected.filter(pl.col("date") >= pl.date(2025, 9, 18))
    client.push_updates(
        pl.DataFrame({"call_id": recent["call_id"], "qa_score": 0.25, "duration": 1})
    )
    second = sync_calls(client, path, start_date=START, format=fmt)
    assert second.fetched_from == first.watermark.date() - dt.timedelta(days=3)
    assert not second.full_refresh and second.watermark > first.watermark
    expected = api(client)
    assert expected.height > first.rows
    got = dataset(path, fmt)
    assert got["call_id"].is_unique().all()
    same(got, expected)
    assert got.filter(pl.col("qa_score") == 0.25).height == recent.height

    # The same run again changes nothing.
    third = sync_calls(client, path, start_date=START, format=fmt)
    assert third.rows > 0 and third.watermark == second.watermark
    same(dataset(path, fmt), expected)
    state = json.loads((path / STATE_FILE).read_text())
    assert state["watermark"] == str(second.watermark)


def test_parquet_layout_is_one_file_per_day_readable_by_duckdb_and_pyarrow(emu, tmp_path):
    import duckdb
    import pyarrow.dataset as ds

    client = emu.client(progress=False)
    result = sync_calls(client, tmp_path, start_date=START, end_date="2025-08-10")
    days = sorted(p.name for p in tmp_path.glob("date=*"))
    assert days == [f"date={d}" for d in result.partitions_written]
    assert all(len(list((tmp_path / d).iterdir())) == 1 for d in days)
    assert not (tmp_path / "_converz_staging").exists()
    rows = result.rows
    glob = f"{tmp_path}/**/*.parquet"
    assert duckdb.sql(f"select count(*) from read_parquet('{glob}')").fetchall() == [(rows,)]
    assert ds.dataset(tmp_path, format="parquet", partitioning="hive").count_rows() == rows


def test_a_different_query_refuses_unless_full_refresh(emu, tmp_path):
    client = emu.client(progress=False)
    sync_calls(client, tmp_path, start_date=START, campaign="sales")
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(client, tmp_path, start_date=START, campaign="support")
    assert err.value.parameter == "filters"
    result = sync_calls(client, tmp_path, start_date=START, campaign="support", full_refresh=True)
    expected = api(client, campaign="support")
    assert result.rows == expected.height
    same(dataset(tmp_path, "parquet"), expected)


def test_refuses_a_directory_that_is_not_a_dataset(emu, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(emu.client(progress=False), tmp_path, start_date=START)
    assert err.value.parameter == "path"
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(emu.client(progress=False), tmp_path / "x", after="2025-08-01 10:00")
    assert err.value.parameter == "after"


def test_an_empty_filter_fails_like_the_python_api_before_the_directory_is_made(
    emu, tmp_path, monkeypatch, capsys
):
    from converz.__main__ import main

    client = emu.client(progress=False)
    with pytest.raises(converz.InvalidParameterError) as api:
        client.calls(campaign=[""])
    path = tmp_path / "calls"
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(client, path, start_date=START, campaign=[""])
    assert (str(err.value), err.value.parameter) == (str(api.value), "campaign")
    assert not path.exists()
    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    for value in ("", ","):  # --campaign "$UNSET" must not sync every campaign
        assert main(["sync", "calls", str(path), "--campaign", value]) == 1
        # The same message, its parameter named as the flag (tests/test_cli_words.py).
        said = api.value.message.replace("`campaign`", "`--campaign`")
        assert said in capsys.readouterr().err
        assert not path.exists()


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: its bytes and modification time."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


BAD_RUNS = [
    {"campaign": 5},  # once synced 0 rows, with ["5"] in the fingerprint
    {"campaign": ["sales", 5]},
    {"vendor_call_id": [7]},
    {"overlap_days": "3"},
    {"full_refresh": "no"},  # a truthy string would have rebuilt the whole dataset
    {"format": ["delta"]},
    {"end_date": 20250920},
]


def test_a_wrong_typed_argument_writes_nothing_and_sends_nothing(emu, tmp_path):
    client = emu.client(progress=False)
    first = client.sync_calls(tmp_path, start_date=START, end_date=FIRST_END, campaign="sales")
    assert first.rows > 0
    before, sent = _snapshot(tmp_path), emu.wire_stats()["responses"]
    for bad in BAD_RUNS:
        kwargs = {"start_date": START, "campaign": "sales", **bad}
        with pytest.raises(converz.InvalidParameterTypeError) as err:
            client.sync_calls(tmp_path, **kwargs)
        assert isinstance(err.value, TypeError) and err.value.parameter == next(iter(bad))
        assert _snapshot(tmp_path) == before, f"{bad} changed the dataset"
        assert emu.wire_stats()["responses"] == sent, f"{bad} sent a request"
    fresh = tmp_path / "fresh"
    with pytest.raises(converz.InvalidParameterTypeError):
        sync_calls(client, fresh, start_date=START, campaign=["sales", 5])
    assert not fresh.exists()
    # The same filters, given in another order and type of sequence, are the same dataset.
    again = client.sync_calls(tmp_path, start_date=START, end_date=FIRST_END, campaign=("sales",))
    assert again.rows > 0
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["query"]["campaign"] == ["sales"]


def test_an_end_date_before_the_runs_first_day_says_that_day_comes_from_the_watermark(
    emu, tmp_path
):
    """Found by the outside trial: "invalid parameter `start_date`: start_date=2025-09-27 is
    after end_date=2025-09-15 ... fix the parameter", where the caller gave 2025-09-01."""
    client = emu.client(progress=False)
    first = sync_calls(client, tmp_path, start_date=START, end_date=FIRST_END)
    since = first.watermark.date() - dt.timedelta(days=3)
    early = since - dt.timedelta(days=5)
    before, sent = _snapshot(tmp_path), emu.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(client, tmp_path, start_date=START, end_date=early)
    message = str(err.value)
    assert err.value.parameter == "end_date"
    assert f"end_date={early} is before {since}, the first day this run fetches" in message
    assert f"watermark ({first.watermark.isoformat(sep=' ')}" in message
    assert "overlap_days=3" in message and "start_date=" not in message.split("hint")[0]
    assert f"end_date= on or after {since}" in message and "full_refresh=True" in message
    assert _snapshot(tmp_path) == before and emu.wire_stats()["responses"] == sent
    # Both ways out the hint names work.
    assert sync_calls(client, tmp_path, start_date=START, end_date=since).fetched_from == since
    rebuilt = sync_calls(client, tmp_path, start_date=START, end_date=early, full_refresh=True)
    assert rebuilt.fetched_from == dt.date.fromisoformat(START)
    same(dataset(tmp_path, "parquet"), api(client, end_date=early.isoformat()))


@pytest.mark.parametrize(
    ("filters", "fingerprint"),
    [
        # Pinned from the release before filters went through CallsQuery: a dataset synced
        # then must still be recognised as the same query, not refused as a different one.
        (
            {"campaign": ["support", "sales"], "end_date": "2025-09-30", "columns": ["duration"]},
            "43f717f614db3688",
        ),
        ({}, "c3ba1b0e85e42d02"),
        ({"rep_id": "a", "vendor_call_id": ("x", "y")}, "1d9881979efea642"),
    ],
)
def test_existing_datasets_keep_their_fingerprint(filters, fingerprint):
    from converz._sync import _normalise
    from converz._sync_state import query_fingerprint as _fingerprint

    assert _fingerprint(_normalise(None, filters)[1], "parquet") == fingerprint


def test_an_empty_list_filter_is_refused_not_synced_as_every_row(emu, tmp_path):
    # It fetched every campaign before: a computed list that matched nothing widened the sync.
    with pytest.raises(converz.InvalidParameterError, match=r"campaign=\[\] would match nothing"):
        sync_calls(emu.client(progress=False), tmp_path / "x", start_date=START, campaign=[])
    assert not (tmp_path / "x").exists()


def test_a_file_where_the_directory_goes_is_an_invalid_path(emu, tmp_path, monkeypatch, capsys):
    from converz.__main__ import main

    client = emu.client(progress=False)
    file = tmp_path / "calls.parquet"
    file.write_text("not a directory")
    for path in (file, file / "inside"):
        with pytest.raises(converz.InvalidParameterError) as err:
            client.sync_calls(path, start_date=START)
        assert err.value.parameter == "path"
        assert str(path) in str(err.value) and "is a file" in str(err.value)
    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    assert main(["sync", "calls", str(file)]) == 1
    assert f"InvalidParameterError: {file} is a file" in capsys.readouterr().err
    assert file.read_text() == "not a directory"


def test_cli_sync(emu, tmp_path, monkeypatch, capsys):
    from converz.__main__ import main

    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    argv = ["sync", "calls", str(tmp_path), "--start-date", START, "--campaign", "sales"]
    assert main(argv) == 0
    assert "day partitions written" in capsys.readouterr().out
    assert main([*argv[:-1], "support"]) == 1
    assert "--full-refresh" in capsys.readouterr().err
    assert main([*argv[:-1], "support", "--full-refresh", "--overlap-days", "1"]) == 0
    expected = api(emu.client(progress=False), campaign="support")
    same(dataset(tmp_path, "parquet"), expected)


_RUNNER = """
import sys, converz
from converz._sync import sync_calls
client = converz.Client(progress=False)
sync_calls(client, sys.argv[1], start_date=sys.argv[2], overlap_days=400, format=sys.argv[3],
           columns=["call_id", "rep_id", "date", "start_time", "duration", "run"])
"""


def _run(path: Path, fmt: str, env: dict[str, str], kill_after: float | None) -> None:
    args = [sys.executable, "-c", _RUNNER, str(path), START, fmt]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        return
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)


def _check_consistent(path: Path, fmt: str, markers: set[int]) -> None:
    """Every day is readable and entirely from one run (one marker value per day)."""
    if fmt == "delta":
        frame = pl.read_delta(str(path))
        per_day = frame.group_by("date").agg(pl.col("run").n_unique().alias("n"))
        assert per_day["n"].max() in (1, None)
        return
    for part in path.glob("date=*/part-0.parquet"):
        runs = pl.read_parquet(part).get_column("run", default=None)
        if runs is not None:
            assert runs.n_unique() == 1, part
            assert runs[0] in markers, part
    state = json.loads((path / STATE_FILE).read_text())
    assert "fingerprint" in state


@pytest.mark.parametrize("fmt", FORMATS)
def test_runs_killed_at_random_points_leave_a_consistent_dataset(emu, tmp_path, fmt):
    client = emu.client(progress=False)
    env = {**os.environ, "CONVERZ_BASE_URL": emu.url, "CONVERZ_API_KEY": emu.api_key}
    path = tmp_path / "calls"
    ids = api(client)["call_id"]
    client.push_updates(pl.DataFrame({"call_id": ids, "run": 0}))
    started = time.monotonic()
    _run(path, fmt, env, None)
    full = time.monotonic() - started
    rng = random.Random(1234)
    markers = {0}
    for run in range(1, 9):
        # Every row changes between runs, so an old day and a new day differ.
        client.push_updates(pl.DataFrame({"call_id": ids, "run": run}))
        markers.add(run)
        # Late points are favoured: the commit (renames, then the state) is the end of a run.
        _run(path, fmt, env, kill_after=rng.uniform(0.3 * full, full))
        _check_consistent(path, fmt, markers)
    _run(path, fmt, env, None)
    expected = api(client, columns=["call_id", "rep_id", "date", "start_time", "duration", "run"])
    got = dataset(path, fmt)
    assert got["call_id"].is_unique().all()
    same(got, expected)
    assert (got["run"] == 8).all()


@pytest.mark.parametrize("fmt", FORMATS)
def test_rows_dated_before_the_window_join_their_day_once(emu, tmp_path, fmt):
    """Found by the outside trial (data loss): a push set `date` to an earlier day on a call the
    API still lists under its own day; the next run replaced that earlier day's partition with
    the one row, and its other calls were gone. Then such rows were refused, and every run
    failed while the call's start stayed in the window (outside trial 22b, F3). Now the row
    joins its day beside the day's other rows, and its copy in the day that held it goes,
    also when its date moves back into the window."""
    client = emu.client(progress=False)
    path = tmp_path / "calls"
    sync_calls(client, path, start_date=START, end_date=FIRST_END, format=fmt)
    before = dataset(path, fmt)
    last_day = before["date"].max()
    last = before.filter(pl.col("date") == last_day)["call_id"][0]
    early = before["date"].min()
    # Back into the window at the end: the copy in the early day must go then too.
    for day in (early, early + dt.timedelta(days=1), last_day):
        client.push_updates(pl.DataFrame({"call_id": [last], "date": [day]}))
        run = sync_calls(client, path, start_date=START, end_date=FIRST_END, format=fmt)
        assert not run.full_refresh and day in run.partitions_written, run
        got = dataset(path, fmt)
        assert got["call_id"].is_unique().all() and got.height == before.height
        assert got.filter(pl.col("call_id") == last)["date"].to_list() == [day]
        same(got, api(client, end_date=FIRST_END))
        assert not (path / "_converz_staging").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_earlier_start_date_fetches_the_days_before_the_dataset(emu, tmp_path, fmt):
    """Found by the outside trial: a dataset synced from the 10th, synced again from the 1st,
    fetched from the last synced day on only, so the 1st to the 9th never arrived."""
    client = emu.client(progress=False)
    later = "2025-08-10"
    first = sync_calls(client, tmp_path, start_date=later, end_date=FIRST_END, format=fmt)
    assert dataset(tmp_path, fmt)["date"].min() >= dt.date.fromisoformat(later)
    earlier = sync_calls(client, tmp_path, start_date=START, end_date=FIRST_END, format=fmt)
    assert earlier.fetched_from == dt.date.fromisoformat(START) and not earlier.full_refresh
    expected = api(client, end_date=FIRST_END)
    assert expected["date"].min() < dt.date.fromisoformat(later)
    same(dataset(tmp_path, fmt), expected)
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["start_date"] == START
    # A later start_date again neither refetches the early days nor forgets they are held.
    again = sync_calls(client, tmp_path, start_date=later, end_date=FIRST_END, format=fmt)
    assert again.fetched_from == first.watermark.date() - dt.timedelta(days=3)
    same(dataset(tmp_path, fmt), expected)
    assert json.loads((tmp_path / STATE_FILE).read_text())["start_date"] == START


def test_a_filter_value_given_twice_or_reordered_is_the_same_dataset(emu, tmp_path):
    """Found by the outside trial: campaign=["sales", "sales"] was another query, so the next
    run refused the dataset ("synced with a different query")."""
    client = emu.client(progress=False)
    first = sync_calls(client, tmp_path, start_date=START, campaign=["sales", "support"])
    again = sync_calls(client, tmp_path, start_date=START, campaign=["support", "sales", "sales"])
    assert not again.full_refresh and again.watermark == first.watermark
    same(dataset(tmp_path, "parquet"), api(client, campaign=["sales", "support"]))


def test_the_repr_shows_a_long_list_of_days_as_its_count_and_range():
    """Outside trial 15: a year's sync printed 365 ``datetime.date(...)`` entries."""
    import datetime as dt

    from converz._sync import SyncResult

    year = tuple(dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(365))
    few = year[:2]
    result = SyncResult("d", "parquet", 10, year[0], year, few, None, False)
    shown = repr(result)
    assert "partitions_written=<365 days: 2025-01-01 .. 2025-12-31>" in shown
    assert f"partitions_deleted={few!r}" in shown  # a few are listed as they are
    assert shown.startswith("SyncResult(path='d', format='parquet', rows=10, ")
    assert shown.count("datetime.date") == 3


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("old", "new"),
    [(1, 2.5), (True, "t"), (True, 5), ("2025-01-01", "2025-01-02 10:00:00"), ([1], [1.5])],
)
def test_a_later_runs_wider_values_are_not_cast_down_to_the_kept_days_type(tmp_path, fmt, old, new):
    """Outside trial 20b: in a Delta table, a run whose days widened a column wrote their values
    cast down to the table's type (2.5 as 2, "t" as true, a list [1.5] as [1]), silently."""
    with Emulator(calls=400, reps=5, seed=0, days=6) as emu:
        client = emu.client(progress=False)
        dates = client.calls(columns=["call_id", "date"]).to_polars()
        days = sorted(dates["date"].unique().to_list())
        first, last = (dates.filter(pl.col("date") == d)["call_id"][0] for d in (days[0], days[-1]))
        client.push_updates(pl.DataFrame({"call_id": [first], "v": [old]}))
        path = tmp_path / "calls"
        sync_calls(client, path, start_date=days[0], overlap_days=1, format=fmt)
        client.push_updates(pl.DataFrame({"call_id": [last], "v": [new]}))
        sync_calls(client, path, overlap_days=1, format=fmt)
        got = dataset(path, fmt).filter(pl.col("call_id").is_in([first, last]))
        expected = (
            client.calls(start_date=days[0])
            .to_polars()
            .filter(pl.col("call_id").is_in([first, last]))
        )
        same(got.select("call_id", "v"), expected.select("call_id", "v"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_later_run_that_widens_a_column_widens_the_days_it_kept(tmp_path, fmt):
    """Found by the outside trial (19b, N4): a run that widened a column (ints to floats, ints
    to text, a struct's new key) wrote the fetched days at the new type and left the days it
    kept at the old one, so `pl.scan_parquet` of the dataset failed with a type mismatch."""
    with Emulator(calls=400, reps=5, seed=0, days=6) as emu:
        client = emu.client(progress=False)
        dates = client.calls(columns=["call_id", "date"]).to_polars()
        days = sorted(dates["date"].unique().to_list())
        first, last = (dates.filter(pl.col("date") == d)["call_id"] for d in (days[0], days[-1]))
        n, m = len(first), len(last)
        client.push_updates(
            pl.DataFrame({"call_id": first, "x": [1] * n, "s": [1] * n, "o": [{"a": 1}] * n})
        )
        path = tmp_path / "calls"
        sync_calls(client, path, start_date=days[0], overlap_days=1, format=fmt)
        client.push_updates(
            pl.DataFrame(
                {"call_id": last, "x": [1.5] * m, "s": ["t"] * m, "o": [{"a": 2, "b": "z"}] * m}
            )
        )
        second = sync_calls(client, path, overlap_days=1, format=fmt)
        assert days[0] not in second.partitions_written  # kept, not fetched again
        got = dataset(path, fmt).select("call_id", "x", "s", "o")
        expected = client.calls(start_date=days[0]).to_polars().sort("call_id")
        same(got, expected.select("call_id", "x", "s", "o"))
        assert got.schema["x"] == pl.Float64 and got.schema["s"] == pl.String
        assert got.filter(pl.col("call_id").is_in(first))["s"].to_list() == ["1"] * n


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("later", [False, True])
def test_an_object_column_asked_for_stays_an_object_on_days_without_it(tmp_path, fmt, later):
    """Outside trial 20b, N3: with `columns=[..., "o"]`, a day whose rows lack `o` was staged
    with `o` as text (the stream hands a column asked for and not yet seen as text), and the
    merge of text with the other days' struct made `o` JSON text in the whole dataset. Also
    when the days with `o` come in a later run (the kept days are then rewritten)."""
    with Emulator(calls=300, reps=5, seed=3, days=5) as emu:
        client = emu.client(progress=False, page_size=20)
        dates = client.calls(columns=["call_id", "date"]).to_polars()
        days = sorted(dates["date"].unique().to_list())
        last = dates.filter(pl.col("date") == days[-1])["call_id"]
        client.push_updates(
            pl.DataFrame({"call_id": last, "o": [{"a": 1, "b": "x"}] * len(last), "n": 7})
        )
        # Small pages: the first pages hold no `o`, so the stream hands it out as text.
        query = {"columns": ["call_id", "date", "o", "n"]}
        path = tmp_path / "calls"
        if later:
            sync_calls(client, path, start_date=days[0], end_date=days[-2], format=fmt, **query)
        sync_calls(client, path, start_date=days[0], overlap_days=1, format=fmt, **query)
        got = dataset(path, fmt)
        expected = client.calls(start_date=days[0], **query).to_polars()
        assert expected.schema["o"] == pl.Struct({"a": pl.Int64, "b": pl.String})
        assert got.schema["o"] == expected.schema["o"] and got.schema["n"] == pl.Int64
        same(got, expected.sort("call_id"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_start_time_far_past_its_date_does_not_stop_later_runs(tmp_path, fmt):
    """Outside trial 21b: one call whose start_time a push set to 2099 (its date unchanged)
    moved the watermark to 2099, and every later run fetched from 2099 on: 0 rows, while the
    updates of the days it should fetch again never reached the dataset."""
    with Emulator(calls=300, reps=5, seed=4, days=5) as emu:
        client = emu.client(progress=False)
        dates = client.calls(columns=["call_id", "date"]).to_polars()
        days = sorted(dates["date"].unique().to_list())
        last = dates.filter(pl.col("date") == days[-1])["call_id"]
        odd = pl.DataFrame({"call_id": [last[0]], "start_time": ["2099-09-30 10:00:00"]})
        client.push_updates(odd)
        path = tmp_path / "calls"
        first = sync_calls(client, path, start_date=days[0], overlap_days=1, format=fmt)
        assert first.watermark < dt.datetime(days[-1].year, days[-1].month, days[-1].day) + (
            dt.timedelta(days=1)
        )
        client.push_updates(pl.DataFrame({"call_id": last, "late": 1}))
        second = sync_calls(client, path, overlap_days=1, format=fmt)
        assert second.fetched_from <= days[-1] and second.rows >= len(last)
        same(dataset(path, fmt), api(client, start_date=days[0]))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_timestamp_in_a_text_column_keeps_its_spelling_on_later_runs(tmp_path, fmt):
    """Outside trial 21b: a text column (dates on a kept day, a timestamp on the last day)
    read `2024-01-01T10:00:00` from the second run on, where `calls()` has the value as sent:
    the fetched days held only the timestamp, and deltalake cast it to the table's text; a list
    of timestamps was re-spelled in Parquet too."""
    with Emulator(calls=300, reps=5, seed=6, days=5) as emu:
        client = emu.client(progress=False)
        dates = client.calls(columns=["call_id", "date"]).to_polars()
        days = sorted(dates["date"].unique().to_list())
        first, last = (
            dates.filter(pl.col("date") == d)["call_id"][:1] for d in (days[0], days[-1])
        )
        client.push_updates(pl.DataFrame({"call_id": first, "t": ["2024-01-01"], "l": [["a"]]}))
        client.push_updates(
            pl.DataFrame(
                {"call_id": last, "t": ["2024-01-01 10:00:00"], "l": [["2024-01-01 10:00:00"]]}
            )
        )
        path = tmp_path / "calls"
        for _ in range(3):
            sync_calls(client, path, start_date=days[0], overlap_days=1, format=fmt)
            got = dataset(path, fmt)
            expected = api(client, start_date=days[0])
            assert got.filter(pl.col("call_id").is_in(last))["t"].to_list() == [
                "2024-01-01 10:00:00"
            ]
            same(got, expected)


def test_a_second_run_on_a_locked_directory_stops_before_writing(emu, tmp_path):
    """Outside trial 20: two runs at once (an overlapping cron) moved each other's staged
    files away and failed with bare file errors, sometimes not a ConverzError at all."""
    import fcntl

    client = emu.client(progress=False)
    path = tmp_path / "calls"
    sync_calls(client, path, start_date=START, end_date=FIRST_END)
    before = sorted((p.relative_to(path), p.stat().st_mtime_ns) for p in path.rglob("*"))
    fd = os.open(path, os.O_RDONLY)  # what a run in another process holds
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(converz.ConverzError, match="another sync run is writing") as err:
            sync_calls(client, path, start_date=START)
        assert err.value.hint is not None and "let the other run finish" in err.value.hint
        after = sorted((p.relative_to(path), p.stat().st_mtime_ns) for p in path.rglob("*"))
        assert after == before
    finally:
        os.close(fd)
    same(dataset(path, "parquet"), api(client, end_date=FIRST_END))
    assert sync_calls(client, path, start_date=START).rows > 0


class TerminatedError(Exception):
    """What a SIGTERM handler raises here (the CLI's exits with 143)."""


def _terminate(signum, frame):
    raise TerminatedError


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_ctrl_c_while_days_move_into_place_waits_for_the_move(emu, tmp_path, monkeypatch, signum):
    """Outside trials 20 and 20b: a Ctrl-C (or a SIGTERM, as `timeout`, systemd and Airflow
    send) between two days' renames left a widened column at two types across the days. It is
    acted on once every day and the state are in place."""
    import converz._sync as sync

    previous = signal.signal(signal.SIGTERM, _terminate)

    client = emu.client(progress=False)
    path = tmp_path / "calls"
    moved = []
    commit = sync._sync_commit.prepare_parquet

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signum)
        time.sleep(0.05)  # the handler runs now, in the middle of the commit
        moved.append(True)
        return commit(*args, **kwargs)

    monkeypatch.setattr(sync._sync_commit, "prepare_parquet", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt if signum == signal.SIGINT else TerminatedError):
            sync_calls(client, path, start_date=START, end_date=FIRST_END)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert moved == [True]
    state = json.loads((path / STATE_FILE).read_text())
    assert state["watermark"] is not None  # saved before the Ctrl-C was raised
    same(dataset(path, "parquet"), api(client, end_date=FIRST_END))


@pytest.mark.parametrize("date", ["2025-09-19 00:00:00", None, "2025-02-30"])
def test_a_server_row_whose_date_is_not_a_date_is_named_as_the_servers(emu, tmp_path, date):
    """Outside trial 20: a row whose `date` a push made a timestamp or null was refused as
    "invalid parameter `date`", a parameter the caller never gave, with no way out."""
    client = emu.client(progress=False)
    path = tmp_path / "calls"
    sync_calls(client, path, start_date=START, end_date=FIRST_END)
    files = lambda: sorted((p, p.stat().st_mtime_ns) for p in path.rglob("*.parquet"))  # noqa: E731
    before, state = files(), (path / STATE_FILE).read_text()
    recent = api(client, end_date=FIRST_END).filter(pl.col("date") == pl.date(2025, 9, 19))
    call = recent["call_id"][0]
    # As another tool could write it: raw JSON (converz's own push sends a date as a date).
    body = json.dumps([{"call_id": call, "date": date}]).encode()
    headers = {"X-API-Key": emu.api_key, "Content-Type": "application/json"}
    request = urllib.request.Request(f"{emu.url}/calls", body, headers, method="POST")
    urllib.request.urlopen(request).close()
    with pytest.raises(converz.DecodeError) as err:
        sync_calls(client, path, start_date=START, end_date=FIRST_END)
    text = str(err.value)
    assert "invalid parameter" not in text and f"for call {call}" in text, text
    assert err.value.hint is not None and "fix that row's date on the server" in err.value.hint
    assert files() == before and (path / STATE_FILE).read_text() == state


@pytest.mark.parametrize("written", ["2025-09-30T10:00:00Z", "2025-09-30"])
def test_a_start_time_column_made_text_still_gives_a_watermark(tmp_path, written):
    """Outside trial 21b, F19: one start_time written with a zone or as a date alone made the
    column text, the run stored no watermark, and every later run fetched everything again."""
    with Emulator(calls=300, reps=5, seed=8, days=5) as emu:
        client = emu.client(progress=False)
        dates = client.calls(columns=["call_id", "date"]).to_polars()
        days = sorted(dates["date"].unique().to_list())
        last = dates.filter(pl.col("date") == days[-1])["call_id"]
        # As another tool could write it: converz's own push refuses both spellings.
        body = json.dumps([{"call_id": last[0], "start_time": written}]).encode()
        headers = {"X-API-Key": emu.api_key, "Content-Type": "application/json"}
        request = urllib.request.Request(f"{emu.url}/calls", body, headers, method="POST")
        urllib.request.urlopen(request).close()
        with pytest.raises(converz.InvalidParameterError, match="start_time"):
            client.push_updates(pl.DataFrame({"call_id": [last[0]], "start_time": [written]}))
        path = tmp_path / "calls"
        first = sync_calls(client, path, start_date=days[0], overlap_days=1)
        assert first.watermark is not None and first.watermark.date() == days[-1]
        second = sync_calls(client, path, start_date=days[0], overlap_days=1)
        assert not second.full_refresh and second.fetched_from == days[-2]
        same(dataset(path, "parquet"), api(client, start_date=days[0]))


def test_a_watermark_in_the_future_is_the_present(tmp_path, caplog):
    """A call dated in the future (date and start_time) cannot hold the watermark there."""
    from converz._sync import _not_after_now

    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with caplog.at_level("WARNING", logger="converz"):
        got = _not_after_now(tmp_path, dt.datetime(2099, 9, 30, 10))
    assert before <= got <= dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert "in the future" in caplog.text
    assert _not_after_now(tmp_path, dt.datetime(2025, 1, 1)) == dt.datetime(2025, 1, 1)
    assert _not_after_now(tmp_path, None) is None


def _sync_at_once(client: converz.Client, path: Path, runs: int) -> list[object]:
    """What each of `runs` threads started at once on `path` got: a result or an error."""
    import threading

    start = threading.Barrier(runs)
    outcomes: list[object] = []

    def run() -> None:
        start.wait()
        try:
            outcomes.append(sync_calls(client, path, start_date="2025-01-01"))
        except BaseException as err:
            outcomes.append(err)

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_runs_started_at_once_on_a_new_directory(tmp_path):
    """Outside trial 21b: two runs started at once on a new directory both saw it as theirs;
    the one the lock refused removed it from under the other, which died with a bare
    FileNotFoundError. Now one run (or each, one after the other) writes the dataset, a refused
    one says so with a ConverzError, and the dataset is whole."""
    with Emulator(calls=200, reps=5, seed=5, days=4) as emu:
        client = emu.client(progress=False)
        expected = api(client, start_date="2025-01-01")
        for trial in range(12):
            path = tmp_path / str(trial)
            outcomes = _sync_at_once(client, path, 3)
            kinds = (converz.ConverzError, SyncResult)
            assert all(isinstance(o, kinds) for o in outcomes), [repr(o) for o in outcomes]
            assert any(isinstance(o, SyncResult) for o in outcomes)
            same(dataset(path, "parquet"), expected)


def test_a_dangling_symlink_is_refused_by_name(tmp_path, emu):
    """Outside trial 21b: a path that is a symbolic link to a missing directory raised a bare
    FileExistsError."""
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "missing")
    for path in (link, link / "calls"):
        with pytest.raises(converz.InvalidParameterError, match=r"symbolic link.*does not exist"):
            sync_calls(emu.client(progress=False), path, start_date=START)
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_run_without_start_date_adds_no_day_before_the_dataset(emu, tmp_path, fmt):
    """Outside trial 22b (F1): the README's later-run form (no start_date=) fetched the
    overlap's days before the dataset's first day, which it was never asked for, so a second
    identical run changed the dataset."""
    client = emu.client(progress=False)
    late = "2025-09-19"
    sync_calls(client, tmp_path, start_date=late, end_date=FIRST_END, format=fmt)
    again = sync_calls(client, tmp_path, end_date=FIRST_END, format=fmt, overlap_days=10)
    assert again.fetched_from == dt.date.fromisoformat(late)
    expected = api(client, start_date=late, end_date=FIRST_END)
    same(dataset(tmp_path, fmt), expected)
    assert json.loads((tmp_path / STATE_FILE).read_text())["start_date"] == late


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_call_dated_into_the_window_by_a_push_is_kept_by_an_incremental_run(emu, tmp_path, fmt):
    """Outside trial 22b (F2): a call started before a run's first day whose `date` a push
    moved inside the window is not listed by the run's fetch (the API lists calls by their
    recorded start), and replacing its day dropped it from the dataset, unsaid."""
    client = emu.client(progress=False)
    early = api(client, end_date="2025-08-02")["call_id"][0]
    client.push_updates(pl.DataFrame({"call_id": [early], "date": ["2025-09-19"]}))
    sync_calls(client, tmp_path, start_date=START, end_date=FIRST_END, format=fmt)
    expected = api(client, end_date=FIRST_END)
    assert expected.filter(pl.col("call_id") == early)["date"].to_list() == [dt.date(2025, 9, 19)]
    same(dataset(tmp_path, fmt), expected)
    # The next run's window (watermark less 3 days) holds 09-19 but not the call's start.
    again = sync_calls(client, tmp_path, start_date=START, end_date=FIRST_END, format=fmt)
    assert again.fetched_from > dt.date(2025, 8, 2) and not again.full_refresh
    got = dataset(tmp_path, fmt)
    assert got["call_id"].is_unique().all()
    same(got, expected)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_day_whose_calls_left_the_filter_is_deleted_and_said_to_be(emu, tmp_path, fmt):
    """Outside trial 22b (F4): after a push moved a whole day's calls out of a filtered sync's
    query, the next run must delete that day (its calls no longer match), and a Delta result
    said "0 deleted" where Parquet's said 1. Rows kept because the fetch could not see them
    (started before its window) must not keep these: they started inside it."""
    client = emu.client(progress=False)
    days = api(client, start_date="2025-09-18", end_date="2025-09-19")
    client.push_updates(days.select("call_id", campaign=pl.lit("tagged")))
    query = {"end_date": FIRST_END, "campaign": "tagged", "format": fmt}
    sync_calls(client, tmp_path, start_date=START, **query)
    last = days.filter(pl.col("date") == pl.date(2025, 9, 19))
    client.push_updates(last.select("call_id", campaign=pl.lit("other")))
    again = sync_calls(client, tmp_path, **query)
    assert dt.date(2025, 9, 19) in again.partitions_deleted, again
    expected = api(client, end_date=FIRST_END, campaign="tagged")
    assert set(expected["date"].to_list()) == {dt.date(2025, 9, 18)}
    same(dataset(tmp_path, fmt), expected)
