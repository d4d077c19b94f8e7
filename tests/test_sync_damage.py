"""Sync (`converz._sync.sync_calls`) over a damaged or odd dataset, arguments and server data:
format switches, a hand-edited state, OS errors, and columns a Parquet or Delta file cannot hold
(outside trial 21b). Each is a `ConverzError` saying what to do, never a bare Python error."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import converz
from converz import _sync
from converz._sync import sync_calls
from converz._sync_state import STAGING_DIR, STATE_FILE
from converz.testing import Emulator

FORMATS = ["parquet", "delta"]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """One small tenant for the tests that do not change it."""
    with Emulator(calls=300, reps=5, seed=7, days=5) as emu:
        yield emu


def first_day(client: converz.Client) -> dt.date:
    day: dt.date = client.calls(columns=["call_id", "date"]).to_polars()["date"].min()
    return day


def dataset(path: Path, fmt: str) -> pl.DataFrame:
    if fmt == "delta":
        return pl.read_delta(str(path)).sort("call_id")
    glob = f"{path}/**/*.parquet"
    return pl.scan_parquet(glob, hive_partitioning=True).collect().sort("call_id")


def same_as_api(path: Path, fmt: str, client: converz.Client, start: dt.date) -> None:
    expected = client.calls(start_date=start).to_polars().sort("call_id")
    got = dataset(path, fmt)
    assert_frame_equal(got.select(expected.columns), expected)


def post(emu: Emulator, rows: list[dict[str, Any]]) -> None:
    """Raw JSON, as any other tool could write it."""
    body = json.dumps(rows).encode()
    headers = {"X-API-Key": emu.api_key, "Content-Type": "application/json"}
    request = urllib.request.Request(f"{emu.url}/calls", body, headers, method="POST")
    urllib.request.urlopen(request).close()


def other_format_files(path: Path, fmt: str) -> list[Path]:
    """The files only a dataset of the other format would hold."""
    if fmt == "parquet":
        delta = [p for p in path.rglob("*.parquet") if p.name != "part-0.parquet"]
        return delta + ([path / "_delta_log"] if (path / "_delta_log").exists() else [])
    return list(path.rglob("part-0.parquet"))


# F5


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_full_refresh_into_the_other_format_leaves_only_its_files(emu, tmp_path, fmt):
    """F5: parquet -> delta -> parquet with full_refresh=True (as the refusal's hint says) left
    the other format's files: the **/*.parquet glob read every row twice, and `_delta_log` a
    stale table."""
    client = emu.client(progress=False)
    start = first_day(client)
    other = "delta" if fmt == "parquet" else "parquet"
    sync_calls(client, tmp_path, start_date=start, format=fmt)
    for target in (other, fmt):
        sync_calls(client, tmp_path, start_date=start, format=target, full_refresh=True)
        assert other_format_files(tmp_path, target) == []
        same_as_api(tmp_path, target, client, start)
        if target == "delta":  # the glob too reads the table's one version
            same_as_api(tmp_path, "parquet", client, start)
    assert json.loads((tmp_path / STATE_FILE).read_text())["format"] == fmt


def test_a_format_switch_killed_before_its_days_land_is_finished_by_the_next_run(
    emu, tmp_path, monkeypatch
):
    """F5: the state a switching run claims the directory with names the format it replaces,
    so the next run, which rebuilds, removes its files."""
    client = emu.client(progress=False)
    start = first_day(client)
    sync_calls(client, tmp_path, start_date=start)

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_sync._sync_delta, "commit_delta", killed)
    with pytest.raises(KeyboardInterrupt):
        sync_calls(client, tmp_path, start_date=start, format="delta", full_refresh=True)
    monkeypatch.undo()
    assert list(tmp_path.rglob("part-0.parquet"))  # the old days are still there
    sync_calls(client, tmp_path, start_date=start, format="delta")
    assert other_format_files(tmp_path, "delta") == []
    same_as_api(tmp_path, "delta", client, start)
    assert "previous_format" not in json.loads((tmp_path / STATE_FILE).read_text())


# F6


def test_a_format_change_is_refused_as_a_format_change(emu, tmp_path):
    """F6: the refusal said "a different query ({})" when only the format differed."""
    client = emu.client(progress=False)
    start = first_day(client)
    sync_calls(client, tmp_path, start_date=start)
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(client, tmp_path, start_date=start, format="delta")
    assert err.value.parameter == "format"
    assert "from parquet to delta" in str(err.value) and "query" not in err.value.message
    assert err.value.hint is not None and "--full-refresh" in err.value.hint


# F14


def _write_state(path: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    state = json.loads((path / STATE_FILE).read_text())
    (path / STATE_FILE).write_text(json.dumps(change(state)))


def _truncate(path: Path) -> None:
    text = (path / STATE_FILE).read_text()
    (path / STATE_FILE).write_text(text[:20])


def _field(name: str, value: object) -> Callable[[Path], None]:
    return lambda path: _write_state(path, lambda state: {**state, name: value})


STATE_DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate,
    "empty": lambda path: (path / STATE_FILE).write_text(""),
    "a list": lambda path: (path / STATE_FILE).write_text("[1, 2]"),
    "not utf-8": lambda path: (path / STATE_FILE).write_bytes(b'{"a": "\xff"}'),
    "watermark text": _field("watermark", "yesterday"),
    "watermark number": _field("watermark", 5),
    # Outside trial 21c: a bare OverflowError (the overlap before year 1) and TypeError.
    "watermark year 1": _field("watermark", "0001-01-01 00:00:00"),
    "watermark with a zone": _field("watermark", "2025-09-28T10:00:00+05:00"),
    "start_date text": _field("start_date", "x"),
    "a later version": _field("version", 99),
    "no fingerprint": _field("fingerprint", None),
}


@pytest.mark.parametrize("damage", sorted(STATE_DAMAGE))
def test_a_damaged_state_is_named_and_a_full_refresh_rebuilds(emu, tmp_path, damage):
    """F14: a damaged or hand-edited state gave bare JSONDecodeError, AttributeError,
    ValueError, TypeError; a later version was read as if it were this one's."""
    client = emu.client(progress=False)
    start = first_day(client)
    sync_calls(client, tmp_path, start_date=start)
    STATE_DAMAGE[damage](tmp_path)
    broken = (tmp_path / STATE_FILE).read_bytes()
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(client, tmp_path, start_date=start)
    assert err.value.parameter == "path" and STATE_FILE in str(err.value)
    assert err.value.hint is not None and "--full-refresh" in err.value.hint
    assert (tmp_path / STATE_FILE).read_bytes() == broken  # refused before writing
    if damage == "a later version":
        assert "later converz" in str(err.value)
    sync_calls(client, tmp_path, start_date=start, full_refresh=True)
    same_as_api(tmp_path, "parquet", client, start)
    sync_calls(client, tmp_path, start_date=start)  # the state is whole again


def _state_dir(path: Path) -> None:
    (path / STATE_FILE).unlink()
    (path / STATE_FILE).mkdir()


def _last_day(path: Path) -> Path:
    return sorted(path.glob("date=*"))[-1]


def _day_a_file(path: Path) -> None:
    day = _last_day(path)
    shutil.rmtree(day)
    day.write_text("x")


def _part_a_dir(path: Path) -> None:
    part = _last_day(path) / "part-0.parquet"
    part.unlink()
    part.mkdir()


LAYOUT_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "state a directory": (_state_dir, STATE_FILE),
    "staging a file": (lambda path: (path / STAGING_DIR).write_text("x"), STAGING_DIR),
    "a day a file": (_day_a_file, "date="),
    "part-0 a directory": (_part_a_dir, "part-0.parquet"),
}


@pytest.mark.parametrize("full_refresh", [False, True])
@pytest.mark.parametrize("damage", sorted(LAYOUT_DAMAGE))
def test_a_damaged_layout_is_named_before_anything_is_fetched(emu, tmp_path, damage, full_refresh):
    """F14: a file where the dataset keeps a directory, or the reverse, gave a bare
    FileExistsError or IsADirectoryError, after the fetch."""
    client = emu.client(progress=False)
    start = first_day(client)
    sync_calls(client, tmp_path, start_date=start)
    change, named = LAYOUT_DAMAGE[damage]
    change(tmp_path)
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(client, tmp_path, start_date=start, full_refresh=full_refresh)
    assert err.value.parameter == "path" and named in str(err.value)
    assert err.value.hint is not None and "aside" in err.value.hint


# F18


@pytest.mark.parametrize("days", [800_000, 10**9, 10**20])
def test_a_huge_overlap_is_refused_before_anything_is_sent(emu, tmp_path, days):
    """F18: 800000, 10**9 and 10**20 days passed the check and overflowed the date arithmetic
    as a bare OverflowError."""
    client = emu.client(progress=False)
    start = first_day(client)
    sync_calls(client, tmp_path, start_date=start)
    state = (tmp_path / STATE_FILE).read_text()
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(client, tmp_path, start_date=start, overlap_days=days)
    assert err.value.parameter == "overlap_days" and "must be between 0 and 36500" in str(err.value)
    assert (tmp_path / STATE_FILE).read_text() == state


# F20


@pytest.mark.parametrize("when", [dt.datetime(2025, 9, 25, 12, 30), "2025-09-25 12:30:00"])
def test_a_start_date_with_a_time_is_refused_in_syncs_words(emu, tmp_path, when):
    """F20: the refusal said "use after=/before= for times", which sync refuses in turn."""
    client = emu.client(progress=False)
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(client, tmp_path / "calls", start_date=when)
    assert err.value.parameter == "start_date"
    assert "after" not in str(err.value) and "whole days" in str(err.value)
    assert err.value.hint is not None and "'2025-09-25'" in err.value.hint
    assert not (tmp_path / "calls").exists()


# F15


def test_delta_refuses_columns_differing_only_in_case_by_name(tmp_path):
    """F15: two API columns `Cs` and `cs` stopped every delta sync with a bare `Exception`
    from deltalake; Parquet holds both."""
    with Emulator(calls=200, reps=5, seed=8, days=4) as emu:
        client = emu.client(progress=False)
        start = first_day(client)
        call = client.calls(columns=["call_id"]).to_polars()["call_id"][0]
        post(emu, [{"call_id": call, "Cs": 1, "cs": 2}])
        with pytest.raises(converz.ConverzError) as err:
            sync_calls(client, tmp_path / "d", start_date=start, format="delta")
        assert "`Cs`" in str(err.value) and "`cs`" in str(err.value)
        assert err.value.hint is not None and "--columns" in err.value.hint
        assert "parquet" in err.value.hint
        assert not (tmp_path / "d" / "_delta_log").exists()
        sync_calls(client, tmp_path / "p", start_date=start)
        same_as_api(tmp_path / "p", "parquet", client, start)
        columns = client.calls(start_date=start).to_polars().drop("cs").columns
        sync_calls(
            client,
            tmp_path / "d",
            start_date=start,
            format="delta",
            columns=columns,
            full_refresh=True,
        )
        assert "Cs" in pl.read_delta(str(tmp_path / "d")).columns


# F7


def test_a_column_of_empty_objects_is_refused_in_syncs_words(tmp_path):
    """F7: one `{}` in the window stopped every run with fetch's advice (parameter `output`,
    "write .arrow or .ndjson", "fetch again")."""
    with Emulator(calls=200, reps=5, seed=9, days=4) as emu:
        client = emu.client(progress=False)
        start = first_day(client)
        sync_calls(client, tmp_path, start_date=start)
        before = sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
        calls = client.calls(columns=["call_id", "date"]).to_polars().sort("date")
        post(emu, [{"call_id": calls["call_id"][-1], "eo": {}}])
        with pytest.raises(converz.ConverzError) as err:
            sync_calls(client, tmp_path, start_date=start)
        text = str(err.value)
        assert "`eo`" in text and "output" not in text and ".arrow" not in text
        assert "fetch again" not in text and "--columns" in text
        assert sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before


# F11


def test_an_os_error_while_days_move_is_a_converz_error_and_the_next_run_mends(
    tmp_path, monkeypatch
):
    """F11: a rename refused while the days moved into place (a read-only day folder) was a
    bare PermissionError; the days already moved had a new column the others lacked."""
    with Emulator(calls=200, reps=5, seed=10, days=4) as emu:
        client = emu.client(progress=False)
        start = first_day(client)
        sync_calls(client, tmp_path, start_date=start, overlap_days=5)
        calls = client.calls(columns=["call_id", "date"]).to_polars()
        client.push_updates(pl.DataFrame({"call_id": calls["call_id"], "ro": "t"}))
        replace = os.replace
        moved: list[str] = []

        def refused(src: str, dst: str) -> None:
            if str(dst).endswith("part-0.parquet") and moved:
                raise PermissionError(1, "Operation not permitted", str(src), None, str(dst))
            moved.append(str(dst))
            replace(src, dst)

        monkeypatch.setattr(_sync.os, "replace", refused)
        with pytest.raises(converz.ConverzError) as err:
            sync_calls(client, tmp_path, start_date=start, overlap_days=5)
        monkeypatch.undo()
        assert isinstance(err.value.__cause__, PermissionError)
        assert "Operation not permitted" in str(err.value) and str(tmp_path) in str(err.value)
        assert "next run" in str(err.value) and err.value.hint is not None
        sync_calls(client, tmp_path, start_date=start, overlap_days=5)
        same_as_api(tmp_path, "parquet", client, start)


def test_an_os_error_in_a_delta_write_is_a_converz_error(emu, tmp_path, monkeypatch):
    """F11: a Delta write refused by the file system (a read-only day folder) was a bare
    DeltaError; a run is one transaction, so the table stays as it was."""
    import deltalake
    from deltalake.exceptions import DeltaError

    client = emu.client(progress=False)
    start = first_day(client)
    sync_calls(client, tmp_path, start_date=start, format="delta")

    def refused(*args: object, **kwargs: object) -> None:
        raise DeltaError(
            "Failed to parse parquet: External: Generic LocalFileSystem error: Unable to open "
            f"file {tmp_path}/date=x/part-00000.parquet: Operation not permitted (os error 1)"
        )

    monkeypatch.setattr(deltalake, "write_deltalake", refused)
    with pytest.raises(converz.ConverzError) as err:
        sync_calls(client, tmp_path, start_date=start, format="delta")
    monkeypatch.undo()
    assert isinstance(err.value.__cause__, DeltaError) and str(tmp_path) in str(err.value)
    assert "Operation not permitted" in str(err.value) and err.value.hint is not None
    same_as_api(tmp_path, "delta", client, start)


def test_a_state_watermark_in_the_future_still_fetches_the_overlap(emu, tmp_path):
    """Outside trial 21c: a hand-edited watermark of 2099 made the run fetch from 2098 (nothing),
    skipping the overlap's days; it counts as the present."""
    client = emu.client(progress=False)
    start = first_day(client)
    sync_calls(client, tmp_path, start_date=start)
    _field("watermark", "2099-01-01 00:00:00")(tmp_path)
    result = sync_calls(client, tmp_path, start_date=start, overlap_days=2)
    today = dt.datetime.now(dt.timezone.utc).date()
    assert result.fetched_from is not None and result.fetched_from <= today - dt.timedelta(days=1)


def test_a_full_refresh_keeps_files_that_were_never_the_datasets(emu, tmp_path):
    """Outside trial 21c: a switch from Delta back to Parquet removed every `*.parquet` in the
    day folders but `part-0.parquet`, the user's own among them; and a directory another
    writer laid out as `date=.../part-0.parquet` lost its days to a full refresh, where the
    README says a full refresh keeps the files it finds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    client = emu.client(progress=False)
    start = first_day(client)
    sync_calls(client, tmp_path, start_date=start)
    day = sorted(tmp_path.glob("date=*"))[-1]
    mine = [day / "mine.parquet", tmp_path / "date=2024-01-01" / "old.parquet"]
    mine[1].parent.mkdir()
    for path in mine:
        pq.write_table(pa.table({"x": [1]}), path)
    sync_calls(client, tmp_path, start_date=start, format="delta", full_refresh=True)
    sync_calls(client, tmp_path, start_date=start, format="parquet", full_refresh=True)
    assert all(path.is_file() for path in mine)
    assert sorted(other_format_files(tmp_path, "parquet")) == sorted(mine)  # no Delta file left

    other = tmp_path.parent / "written_by_pyarrow"
    (other / "date=2024-01-02").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), other / "date=2024-01-02" / "part-0.parquet")
    with pytest.raises(converz.InvalidParameterError, match=r"part-0\.parquet") as err:
        sync_calls(client, other, start_date=start, full_refresh=True)
    assert err.value.parameter == "path"
    assert sorted(p.name for p in other.rglob("*")) == ["date=2024-01-02", "part-0.parquet"]


def test_delta_names_are_compared_as_deltalake_compares_them(tmp_path):
    """Outside trial 21c: casefold() refused `straße` beside `STRASSE`, which deltalake holds."""
    from converz import _sync_delta

    _sync_delta.check_delta_names(tmp_path, ["straße", "STRASSE"], True)
    for pair in (["Topic", "topic"], ["\u212aey", "key"]):
        with pytest.raises(converz.ConverzError, match="differ only in case"):
            _sync_delta.check_delta_names(tmp_path, pair, True)


def test_a_delta_write_deltalake_refuses_is_a_converz_error(emu, tmp_path):
    """Outside trial 21c: a refusal by deltalake (a CHECK constraint the user added, which the
    new rows break) was a bare DeltaError."""
    from deltalake import DeltaTable

    client = emu.client(progress=False)
    start = first_day(client)
    sync_calls(client, tmp_path, start_date=start, format="delta")
    longest = pl.read_delta(str(tmp_path))["duration"].max()
    DeltaTable(str(tmp_path)).alter.add_constraint({"dur_ok": f"duration <= {longest}"})
    ids = client.calls(columns=["call_id"]).to_polars()["call_id"]
    client.push_updates(pl.DataFrame({"call_id": [ids[-1]], "duration": [longest + 1000]}))
    version = DeltaTable(str(tmp_path)).version()
    with pytest.raises(converz.ConverzError, match="deltalake refused") as err:
        sync_calls(client, tmp_path, start_date=start, format="delta")
    assert "nothing was committed" in str(err.value)
    assert DeltaTable(str(tmp_path)).version() == version


def test_odd_paths_are_refused_by_name_and_a_tilde_is_the_home(emu, tmp_path, monkeypatch):
    """Outside trial 21c: a name too long was a bare OSError, a NUL a bare ValueError, and
    `~/data` made a folder named `~` in the working directory."""
    client = emu.client(progress=False)
    start = first_day(client)
    monkeypatch.chdir(tmp_path)
    # An empty path is no directory, not the working one (outside trial 22b).
    for path in (tmp_path / ("x" * 300), str(tmp_path / "a\0b"), "", "  "):
        with pytest.raises(converz.InvalidParameterError) as err:
            sync_calls(client, path, start_date=start)
        assert err.value.parameter == "path"
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    sync_calls(client, "~/data", start_date=start)
    assert (tmp_path / "home" / "data" / STATE_FILE).is_file() and not (tmp_path / "~").exists()
