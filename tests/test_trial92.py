"""Outside trial 92: pushes of the calls' `date` and `start_time` as frames and files hold.

F7: `client.calls().to_polars().to_pandas()` could not be pushed back (polars hands its dates to
pandas as midnight timestamps, refused as a `date`). F3: a polars all-null column was refused as
"Boolean". F4: a pandas Categorical of dates was refused, and text was told to use `.dt.date`.
F5: a file of times another writer spelt with `T` was refused as "row 0", with no word of the
file's `schema=`. Every refusal is before any request.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import converz
from converz.testing import Emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(calls=60, reps=5, seed=92, days=3) as emulator:
        yield emulator


def rows(emu: Emulator) -> dict[int, dict[str, object]]:
    table = emu.client(progress=False).calls(columns=["call_id", "date", "start_time"])
    return {row["call_id"]: row for row in table.to_arrow().to_pylist()}


def refused(emu: Emulator, frame: object, **options: object) -> str:
    """The push's refusal, checking that nothing changed on the emulator."""
    before = rows(emu)
    with pytest.raises(converz.InvalidParameterError) as caught:
        emu.client(progress=False).push_updates(frame, **options)
    assert rows(emu) == before
    return str(caught.value)


def test_a_fetch_through_polars_to_pandas_is_pushed_back_unchanged(emu):
    """F7: polars' dates arrive in pandas as datetime64[ms] at midnight: taken as the dates."""
    before = rows(emu)
    frame = emu.client(progress=False).calls().to_polars().to_pandas()
    assert str(frame["date"].dtype).startswith("datetime64")
    result = emu.client(progress=False).push_updates(frame)
    assert result.updated == len(frame)
    assert rows(emu) == before
    # A fetch whose `schema=` made `date` a timestamp goes back too.
    forced = emu.client(progress=False).calls(schema={"date": "timestamp[s]"})
    assert emu.client(progress=False).push_updates(forced).updated == len(frame)
    assert rows(emu) == before


def test_a_midnight_timestamp_is_pushed_as_its_date(emu):
    call = sorted(rows(emu))[3]
    frame = pd.DataFrame({"call_id": [call], "date": pd.to_datetime(["2024-10-05"])})
    assert emu.client(progress=False).push_updates(frame).updated == 1
    assert rows(emu)[call]["date"] == dt.date(2024, 10, 5)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_a_timestamp_with_a_time_of_day_in_date_is_refused_naming_its_row(emu, unit):
    ids = sorted(rows(emu))[:3]
    times = pa.array(
        [dt.datetime(2024, 10, 5), None, dt.datetime(2024, 10, 5, 9, 30)], pa.timestamp(unit)
    )
    text = refused(emu, pa.table({"call_id": ids, "date": times}))
    assert "`date`" in text and "(row 2)" in text and "time of day" in text, text


def test_a_dictionary_of_midnight_timestamps_in_date_is_dates(emu):
    """Trial 94 N1: a pandas Categorical of midnight timestamps is dates, as a plain column of
    them is; one with a time of day is refused naming its row."""
    ids = sorted(rows(emu))[7:9]
    midnights = pd.Categorical(pd.to_datetime(["2024-10-07", "2024-10-08"]))
    assert (
        emu.client(progress=False)
        .push_updates(pd.DataFrame({"call_id": ids, "date": midnights}))
        .updated
        == 2
    )
    assert [rows(emu)[call]["date"] for call in ids] == [dt.date(2024, 10, 7), dt.date(2024, 10, 8)]
    times = pa.array(
        [dt.datetime(2024, 10, 5), dt.datetime(2024, 10, 5, 9)], pa.timestamp("us")
    ).dictionary_encode()
    text = refused(emu, pa.table({"call_id": ids, "date": times}))
    assert "(row 1)" in text and "time of day" in text, text


def test_a_zone_aware_timestamp_in_date_is_refused(emu):
    ids = sorted(rows(emu))[:1]
    times = pa.array([dt.datetime(2024, 10, 5)], pa.timestamp("us", tz="UTC"))
    assert "convert it first" in refused(emu, pa.table({"call_id": ids, "date": times}))


def test_a_polars_all_null_column_leaves_the_values_unchanged(emu):
    """F3: polars' all-null column (exported as booleans) is no value to refuse."""
    before = rows(emu)
    ids = sorted(before)[:2]
    for column in ("date", "start_time"):
        frame = pl.DataFrame({"call_id": ids, column: [None, None]})
        assert emu.client(progress=False).push_updates(frame).updated == 2
    assert rows(emu) == before
    # A column with a value keeps the type check: booleans are no dates.
    frame = pl.DataFrame({"call_id": ids, "date": [None, True]})
    assert "holds Boolean values" in refused(emu, frame)


def test_a_categorical_of_dates_is_pushed(emu):
    """F4: a pandas Categorical of `datetime.date`s (a dictionary of date32) is dates."""
    call = sorted(rows(emu))[4]
    frame = pd.DataFrame({"call_id": [call], "date": pd.Categorical([dt.date(2024, 10, 6)])})
    assert emu.client(progress=False).push_updates(frame).updated == 1
    assert rows(emu)[call]["date"] == dt.date(2024, 10, 6)


def test_text_in_another_form_is_told_how_to_read_it_as_dates(emu):
    """F4: text like `2025/02/03` was told `.dt.date`, which fails on text."""
    ids = sorted(rows(emu))[:1]
    text = refused(emu, pd.DataFrame({"call_id": ids, "date": ["2025/02/03"]}))
    assert 'pd.to_datetime(df["date"], format=...).dt.date' in text, text
    assert "str.to_date" in text and "push only the columns you changed" in text, text


def test_a_file_of_times_written_with_t_names_its_line_and_the_files_schema(emu, tmp_path):
    """F5: polars' `write_csv` spells times `2025-03-01T08:00:00.000000`: the refusal names the
    line and the file's schema= (the command's --schema), which reads them as times."""
    ids = sorted(rows(emu))[:2]
    path = tmp_path / "times.csv"
    starts = [dt.datetime(2025, 3, 1, 8), dt.datetime(2025, 3, 1, 9, 15, 30)]
    pl.DataFrame({"call_id": ids, "start_time": starts}).write_csv(path)
    before = rows(emu)
    with pytest.raises(converz.InvalidParameterError) as caught:
        emu.client(progress=False).push_file(path)
    text = str(caught.value)
    assert "line 2 of" in text and "row 0" not in text, text
    assert 'schema={"start_time": "timestamp"}' in text, text
    assert rows(emu) == before
    env = {**os.environ, "CONVERZ_API_KEY": emu.api_key, "CONVERZ_BASE_URL": emu.url}
    done = subprocess.run(
        [sys.executable, "-m", "converz", "push", str(path), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1 and "--schema start_time:timestamp" in done.stderr, done.stderr
    assert rows(emu) == before
    # The way it names works.
    result = emu.client(progress=False).push_file(path, schema={"start_time": "timestamp"})
    assert result.updated == 2
    after = rows(emu)
    assert [after[call]["start_time"] for call in ids] == starts


def test_a_zone_aware_time_past_the_zone_tables_is_refused_not_moved(emu):
    """F2: 2100-07-01 14:00 in Amsterdam (summer time, as pandas and zoneinfo keep it) was
    pushed as 13:00: the zone tables converz converts with hold no daylight saving time after
    2099. Refused now; 2099 and winter days go out on the wall clock pandas shows."""
    call = sorted(rows(emu))[6]

    def frame(when: str) -> pd.DataFrame:
        times = pd.to_datetime([when]).tz_localize("Europe/Amsterdam")
        return pd.DataFrame({"call_id": [call], "start_time": times})

    text = refused(emu, frame("2100-07-01 14:00"), timezone="Europe/Amsterdam")
    assert "after 2099 (row 0)" in text, text
    client = emu.client(progress=False)
    for when in ("2099-07-01 14:00", "2100-01-15 14:00"):
        client.push_updates(frame(when), timezone="Europe/Amsterdam")
        assert rows(emu)[call]["start_time"] == dt.datetime.fromisoformat(when)
