"""Outside trial 50: a sync run refused before it committed a day no longer claims the directory
(F2), a refusal summarises a long filter list (F2), and a full refresh without ``start_date=``
keeps the dataset's first day (F4)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import converz
import converz._sync_stage
from converz._sync import sync_calls
from converz._sync_state import STAGING_DIR, STATE_FILE
from converz.testing import Emulator

START = "2025-09-01"
# Ids of 32 hex characters: 1,400 of them give a URL over the client's limit.
TOO_MANY_IDS = [f"{i:032x}" for i in range(1_400)]
FORMATS = ["parquet", "delta"]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(calls=3_000, reps=20, seed=50, days=45) as emu:
        yield emu


def dataset(path: Path, fmt: str = "parquet") -> pl.DataFrame:
    if fmt == "delta":
        frame = pl.read_delta(str(path))
    else:
        frame = pl.scan_parquet(f"{path}/**/*.parquet", hive_partitioning=True).collect()
    return frame.sort("call_id")


def same_as_api(path: Path, client: converz.Client, fmt: str = "parquet", **query: object) -> None:
    expected = client.calls(**{"start_date": START, **query}).to_polars().sort("call_id")
    got = dataset(path, fmt)
    assert got.height > 0
    assert_frame_equal(got.select(expected.columns), expected)


# F2: a first run refused before it fetched a row leaves nothing that blocks the corrected run


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"vendor_call_id": TOO_MANY_IDS}, converz.InvalidParameterError),  # the URL is too long
        ({"metric": ["nope"]}, converz.ConverzError),  # the API answers 400
        ({"columns": ["nope"]}, converz.ConverzError),
    ],
    ids=["url-too-long", "unknown-metric", "unknown-column"],
)
def test_a_refused_first_run_leaves_no_claim_and_the_corrected_run_goes_on(
    emu, tmp_path, fmt, bad, error
):
    client = emu.client(progress=False)
    new = tmp_path / "calls"
    with pytest.raises(error):
        sync_calls(client, new, start_date=START, format=fmt, **bad)
    assert not new.exists()  # a new directory is not left behind

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(error):
        sync_calls(client, empty, start_date=START, format=fmt, **bad)
    assert list(empty.iterdir()) == []  # no state, no staging directory

    sync_calls(client, empty, start_date=START, format=fmt)  # was "a different query"
    same_as_api(empty, client, fmt)
    state = json.loads((empty / STATE_FILE).read_text())
    assert state["query"] == {} and state["start_date"] == START
    assert not (empty / STAGING_DIR).exists()


def test_a_refused_first_run_leaves_no_claim_from_the_cli(emu, tmp_path, monkeypatch, capsys):
    from converz.__main__ import main

    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    argv = ["sync", "calls", str(tmp_path / "calls"), "--start-date", START]
    assert main([*argv, "--metric", "sentimnet"]) == 1
    assert "sentimnet" in capsys.readouterr().err
    assert not (tmp_path / "calls").exists()
    assert main([*argv, "--metric", "sentiment"]) == 0
    assert "day partitions written" in capsys.readouterr().out


def test_a_dataset_with_committed_rows_still_refuses_other_filters(emu, tmp_path):
    client = emu.client(progress=False)
    sync_calls(client, tmp_path, start_date=START, campaign=["sales"])
    before = (tmp_path / STATE_FILE).read_bytes()
    for other in ({"campaign": ["support"]}, {"metric": ["nope"]}, {"vendor_call_id": ["x"]}):
        with pytest.raises(converz.InvalidParameterError) as err:
            sync_calls(client, tmp_path, **other)
        assert err.value.parameter == "filters"
        assert "different query" in str(err.value)
        assert (tmp_path / STATE_FILE).read_bytes() == before
    same_as_api(tmp_path, client, campaign=["sales"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_full_refresh_refused_by_the_api_keeps_the_datasets_state(emu, tmp_path, fmt):
    """A rebuild claims the directory with its new query before fetching; refused, the old
    state is put back, and the dataset syncs on with its own filters."""
    client = emu.client(progress=False)
    sync_calls(client, tmp_path, start_date=START, campaign=["sales"], format=fmt)
    before = (tmp_path / STATE_FILE).read_bytes()
    for bad in ({"metric": ["nope"]}, {"vendor_call_id": TOO_MANY_IDS}):
        with pytest.raises(converz.ConverzError):
            sync_calls(client, tmp_path, full_refresh=True, format=fmt, **bad)
        assert (tmp_path / STATE_FILE).read_bytes() == before
        assert not (tmp_path / STAGING_DIR).exists()
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(client, tmp_path, metric=["sentiment"], format=fmt)
    assert err.value.parameter == "filters"
    sync_calls(client, tmp_path, campaign=["sales"], format=fmt)
    same_as_api(tmp_path, client, fmt, campaign=["sales"])


def test_the_refusal_of_another_query_summarises_a_long_list(emu, tmp_path):
    client = emu.client(progress=False)
    ids = client.calls(start_date=START).to_polars()["vendor_call_id"].drop_nulls().to_list()
    ids = sorted(set(ids))[:1_000]
    assert len(ids) == 1_000
    sync_calls(client, tmp_path, start_date=START, vendor_call_id=ids)
    assert dataset(tmp_path).height > 0
    with pytest.raises(converz.InvalidParameterError) as err:
        sync_calls(client, tmp_path, vendor_call_id=ids[:10])
    message = str(err.value)
    assert err.value.parameter == "filters"
    assert len(message) < 1_000, len(message)
    # What changed: the 990 values left out, summarised (the first of them shown).
    assert "removed [" in message and "(990 values)" in message and repr(ids[10]) in message
    assert repr(ids[-1]) not in message


# F4: a full refresh without start_date= rebuilds from the dataset's first day


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_full_refresh_without_start_date_keeps_the_datasets_first_day(emu, tmp_path, fmt):
    client = emu.client(progress=False)
    sync_calls(client, tmp_path, start_date=START, format=fmt)
    result = sync_calls(client, tmp_path, full_refresh=True, format=fmt)
    assert result.fetched_from == dt.date.fromisoformat(START)
    assert f"since {START}" in str(result)
    assert dataset(tmp_path, fmt)["date"].min() == dt.date.fromisoformat(START)
    same_as_api(tmp_path, client, fmt)
    assert json.loads((tmp_path / STATE_FILE).read_text())["start_date"] == START

    # Also with other filters (the rebuild a changed query needs).
    sync_calls(client, tmp_path, full_refresh=True, format=fmt, campaign=["sales"])
    assert dataset(tmp_path, fmt)["date"].min() == dt.date.fromisoformat(START)
    same_as_api(tmp_path, client, fmt, campaign=["sales"])

    # With start_date= the rebuild starts there, earlier or later.
    earlier = "2025-08-25"
    result = sync_calls(client, tmp_path, full_refresh=True, format=fmt, start_date=earlier)
    assert result.fetched_from == dt.date.fromisoformat(earlier)
    same_as_api(tmp_path, client, fmt, start_date=earlier)
    assert json.loads((tmp_path / STATE_FILE).read_text())["start_date"] == earlier


def test_a_full_refresh_over_a_damaged_state_keeps_the_first_day_held(emu, tmp_path):
    client = emu.client(progress=False)
    sync_calls(client, tmp_path, start_date=START)
    (tmp_path / STATE_FILE).write_text("{not json")
    result = sync_calls(client, tmp_path, full_refresh=True)
    assert result.fetched_from == dt.date.fromisoformat(START)
    same_as_api(tmp_path, client)


def test_a_full_refresh_of_a_dataset_synced_from_the_beginning_still_fetches_it_all(emu, tmp_path):
    client = emu.client(progress=False)
    sync_calls(client, tmp_path)
    result = sync_calls(client, tmp_path, full_refresh=True)
    assert result.fetched_from is None
    assert dataset(tmp_path).height == client.calls().num_rows


def _failing_write(*args: object, **kwargs: object) -> None:
    raise converz.ConverzError("the connection dropped mid-fetch")


def test_a_run_failing_mid_fetch_puts_the_state_back(emu, tmp_path, monkeypatch):
    """The fetch fails after the run claimed the directory (rows had arrived): a first run
    leaves no claim, a rebuild with other filters the dataset's own state."""
    client = emu.client(progress=False)
    new = tmp_path / "calls"
    monkeypatch.setattr(converz._sync_stage.DayWriters, "write", _failing_write)
    with pytest.raises(converz.ConverzError, match="mid-fetch"):
        sync_calls(client, new, start_date=START, campaign=["sales"])
    assert not new.exists()
    monkeypatch.undo()

    sync_calls(client, new, start_date=START)
    before = (new / STATE_FILE).read_bytes()
    monkeypatch.setattr(converz._sync_stage.DayWriters, "write", _failing_write)
    with pytest.raises(converz.ConverzError, match="mid-fetch"):
        sync_calls(client, new, full_refresh=True, campaign=["sales"])
    monkeypatch.undo()
    assert (new / STATE_FILE).read_bytes() == before
    assert not (new / STAGING_DIR).exists()
    sync_calls(client, new)  # the same query as the dataset's: not refused
    same_as_api(new, client)
