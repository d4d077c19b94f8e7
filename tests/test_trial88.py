"""Outside trial 88: pushes meeting incremental syncs and partitioned reads (a call corrected
to a later day moved a sync's watermark past days nobody fetched; a partition refused such a
call as rows of a server that ignores the dates)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import converz
from converz._plan import ClientConfig, plan_calls
from converz.testing import Emulator


@pytest.fixture
def emu():
    with Emulator(calls=3_000, reps=20, seed=1, today="2024-10-31", days=60) as emulator:
        yield emulator


def moved(client: converz.Client, day: str, to: dt.date) -> int:
    """Pushes the `date` and `start_time` of the first call of `day` to 09:00 of `to`."""
    call_id = int(client.calls(start_date=day, end_date=day).to_pandas().call_id.iloc[0])
    start = pd.Timestamp(dt.datetime.combine(to, dt.time(9)))
    client.push_updates(pd.DataFrame({"call_id": [call_id], "date": [to], "start_time": [start]}))
    return call_id


@pytest.mark.parametrize("to", [dt.date(2024, 10, 20), dt.date(2024, 11, 20)])
def test_a_call_corrected_to_a_later_day_does_not_move_the_watermark_past_unfetched_days(
    emu, tmp_path: Path, to
):
    """B1: a run with end_date took the pushed start_time for its watermark; the next
    incremental run started after it, and the days between were never fetched (107 and 851
    calls missing, no warning)."""
    client = emu.client()
    moved(client, "2024-10-05", to)
    path = tmp_path / "calls"
    first = client.sync_calls(path, start_date="2024-10-01", end_date="2024-10-14")
    assert first.watermark is not None and first.watermark.date() <= dt.date(2024, 10, 14)
    client.sync_calls(path)
    held = pl.read_parquet(f"{path}/**/*.parquet", hive_partitioning=True)["call_id"]
    truth = client.calls(start_date="2024-10-01", end_date="2024-10-31").to_arrow()
    assert sorted(held.to_list()) == sorted(truth.column("call_id").to_pylist())


def test_a_call_corrected_to_a_later_day_is_read_by_every_partitioning(emu, caplog):
    """B2: after a push moved a call's `date` and `start_time` to a day outside the range, every
    partitioned read failed with "the server ignored start_date/end_date", `partition=None` (the
    hint's way out) too. A probe of the day the row claims tells a push (the call is not listed
    there) from a server that ignores the dates (it is)."""
    client = emu.client()
    call_id = moved(client, "2024-10-05", dt.date(2024, 11, 20))
    truth = client.calls(start_date="2024-10-01", end_date="2024-10-14").to_arrow()
    query = converz.CallsQuery(start_date="2024-10-01", end_date="2024-10-14")
    config = ClientConfig.resolve(base_url=emu.url, api_key=emu.api_key)
    for partition in ("day", "week", 3, None):
        caplog.clear()
        with caplog.at_level("WARNING", logger="converz"):
            ids = [
                i
                for t in plan_calls(query, config, partition=partition)
                for i in t.fetch().column("call_id").to_pylist()
            ]
        assert sorted(ids) == sorted(truth.column("call_id").to_pylist()), partition
        said = [r.getMessage() for r in caplog.records if "outside the partition" in r.getMessage()]
        assert len(said) == 1 and f"call_id {call_id}" in said[0], (partition, said)
        assert "a push set" in said[0], said


def test_a_moved_call_is_checked_when_columns_leave_out_the_bounds(emu, caplog):
    """The probe needs the row's call_id and start_time: fetched when `columns=` leaves them
    out, then left out of the result, and no custom-column warning for them."""
    client = emu.client()
    call_id = moved(client, "2024-10-05", dt.date(2024, 11, 20))
    query = converz.CallsQuery(start_date="2024-10-05", end_date="2024-10-05", columns=["duration"])
    config = ClientConfig.resolve(base_url=emu.url, api_key=emu.api_key)
    (task,) = plan_calls(query, config)
    with caplog.at_level("WARNING", logger="converz"):
        table = task.fetch()
    assert table.column_names == ["duration"]
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and f"call_id {call_id}" in said[0] and "a push set" in said[0], said


@pytest.mark.parametrize("frame", ["pandas", "polars", "pyarrow"])
def test_a_timestamp_date_is_sent_as_its_date_or_refused_before_the_push(emu, frame):
    """B4: `pd.to_datetime(...)` as `date` was pushed as "2024-10-02 00:00:00"; every typed read
    of those days then read `date` as text or failed. Midnights go out as their dates (outside
    trial 92 F7: polars' dates arrive in pandas so), and a time of day is refused before any
    request, with the conversion for each frame library."""
    client = emu.client()
    before = client.calls(start_date="2024-10-01", end_date="2024-10-02").to_arrow()
    ids = before.column("call_id").to_pylist()[:3]

    def frames(stamps: pd.Series) -> dict[str, object]:
        data: dict[str, object] = {"pandas": pd.DataFrame({"call_id": ids, "date": stamps})}
        data["polars"] = pl.from_pandas(data["pandas"])
        data["pyarrow"] = data["polars"].to_arrow()
        return data

    late = frames(pd.to_datetime(["2024-10-02 00:00", "2024-10-02 09:00", "2024-10-02 00:00"]))
    with pytest.raises(converz.InvalidParameterError) as caught:
        client.push_updates(late[frame], progress=False)
    message = str(caught.value)
    assert "`date`" in message and "calendar date" in message and ".dt.date" in message, message
    assert "(row 1)" in message, message
    after = client.calls(start_date="2024-10-01", end_date="2024-10-02").to_arrow()
    assert after.equals(before)
    midnights = frames(pd.to_datetime(["2024-10-02"] * 3))
    assert client.push_updates(midnights[frame], progress=False).updated == 3
    rows = client.calls(columns=["call_id", "date"]).to_arrow().to_pylist()
    assert [row["date"] for row in rows if row["call_id"] in ids] == [dt.date(2024, 10, 2)] * 3
