"""Sync (`converz._sync.sync_calls`) over a damaged or odd dataset, arguments and server data:
format switches, a hand-edited state, OS errors, and columns a Parquet or Delta file cannot hold
(outside trial 21b). Each is a `ConverzError` saying what to do, never a bare Python error."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import converz
from converz import _sync
from converz._sync import STATE_FILE, sync_calls
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

    monkeypatch.setattr(_sync, "_commit_delta", killed)
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
