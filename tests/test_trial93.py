"""Outside trials 93 and 92: sync takes `schema=`, and the smaller findings of both.

93 F2: the fetch's warning for a column Float64 rounds says to give it a type in `schema=`, which
`sync_calls` and `converz sync` did not take, while the run rounded the kept days' values on
disk. 93 F5: "1 keys do not exist". 93 F6: `active=2` was told "True, False or None" though 0
and 1 are taken. 92 F6: `--clear a,b`; F9: `push_updates("f.csv")`; F12: numpy datetimes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

import converz
from converz._sync import sync_calls
from converz.testing import Emulator

BIG = 2**60


def with_big_values(emu: Emulator) -> list[int]:
    """Pushes integers past 2^53 to every call and one 1.5, as another tool could write them."""
    ids = emu.client(progress=False).calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist()
    values: list[object] = [BIG + i for i in range(len(ids))]
    values[-1] = 1.5
    body = json.dumps({"call_id": ids, "big": values}).encode()
    headers = {"X-API-Key": emu.api_key, "Content-Type": "application/json"}
    urllib.request.urlopen(
        urllib.request.Request(f"{emu.url}/calls", body, headers, method="POST")
    ).close()
    return ids


def synced(path: Path) -> dict[int, object]:
    table = pq.read_table(path, columns=["call_id", "big"])
    return dict(zip(table["call_id"].to_pylist(), table["big"].to_pylist()))


def test_sync_keeps_a_column_exact_with_the_schema_its_warning_names(tmp_path, caplog):
    with Emulator(calls=200, reps=5, seed=93, days=4) as emu:
        ids = with_big_values(emu)
        client = emu.client(progress=False)
        path = tmp_path / "calls"
        with caplog.at_level(logging.WARNING, logger="converz"):
            sync_calls(client, path)
        assert "schema=" in caplog.text  # the fetch's warning: Float64 rounds them
        assert synced(path)[ids[1]] != BIG + 1  # and so it is on disk
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="converz"):
            sync_calls(client, path, schema={"big": "string"}, full_refresh=True)
        assert "rounds" not in caplog.text
        held = synced(path)
        assert held[ids[0]] == str(BIG) and held[ids[-1]] == "1.5"
        # An incremental run passes the same schema; another is another dataset.
        again = sync_calls(client, path, schema={"big": pl.String})
        assert not again.full_refresh
        with pytest.raises(converz.InvalidParameterError) as caught:
            sync_calls(client, path)
        assert "schema" in str(caught.value)
        # The command line takes it as --schema.
        env = {**os.environ, "CONVERZ_API_KEY": emu.api_key, "CONVERZ_BASE_URL": emu.url}
        done = subprocess.run(
            [sys.executable, "-m", "converz", "sync", "calls", str(path), "--schema", "big:str"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert synced(path)[ids[1]] == str(BIG + 1)


@pytest.mark.parametrize("column", ["call_id", "date", "start_time"])
def test_sync_keeps_its_own_columns_types(tmp_path, column):
    client = converz.Client(base_url="http://127.0.0.1:9", api_key="k", progress=False)
    with pytest.raises(converz.InvalidParameterError) as caught:
        sync_calls(client, tmp_path / "calls", schema={column: "string"})
    assert caught.value.parameter == "schema" and f"`{column}`" in str(caught.value)
    assert not (tmp_path / "calls").exists()


def test_one_unknown_key_is_one_key(tmp_path):
    """93 F5: `converz push --strict` with one unknown key said "1 keys do not exist"."""
    with Emulator(calls=20, reps=5, seed=93, days=2) as emu:
        client = emu.client(progress=False)
        frame = pl.DataFrame({"call_id": [999_999_999], "qa": [1.0]})
        with pytest.raises(converz.ConverzError) as caught:
            client.push_updates(frame, strict=True)
        assert "1 key does not exist" in str(caught.value), str(caught.value)


def test_active_is_told_the_values_it_takes():
    """93 F6: 0 and 1 are taken (the API's own values), so the message names them."""
    with pytest.raises(converz.InvalidParameterTypeError) as caught:
        converz.RepsQuery(active=2)
    assert "True, False, 1, 0 or None" in str(caught.value)
    assert converz.RepsQuery(active=np.int64(1)).active is True


def test_numpy_datetimes_are_dates_and_times():
    """92 F12: `np.datetime64` was refused where `pd.Timestamp` is taken."""
    query = converz.CallsQuery(
        start_date=np.datetime64("2024-10-02"), after=np.datetime64("2024-10-02T09:30")
    )
    assert query.start_date == dt.date(2024, 10, 2)
    assert query.after == dt.datetime(2024, 10, 2, 9, 30)
    with pytest.raises(converz.InvalidParameterTypeError):
        converz.CallsQuery(start_date=np.datetime64("NaT"))


def test_a_path_given_to_push_updates_is_sent_to_push_file(tmp_path):
    """92 F9."""
    client = converz.Client(base_url="http://127.0.0.1:9", api_key="k", progress=False)
    for given in ("files/scores.csv", tmp_path / "scores.csv"):
        with pytest.raises(converz.InvalidParameterTypeError) as caught:
            client.push_updates(given)
        assert "client.push_file(path)" in str(caught.value)


def test_clear_with_commas_is_told_to_use_spaces(tmp_path):
    """92 F6: `--clear a,b` names one column `a,b`; the refusal says how to give two."""
    path = tmp_path / "up.csv"
    pl.DataFrame({"call_id": [1], "a": ["x"], "b": ["y"]}).write_csv(path)
    env = {**os.environ, "CONVERZ_API_KEY": "k", "CONVERZ_BASE_URL": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-m", "converz", "push", str(path), "--clear", "a,b", "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert "--clear takes columns separated by spaces: --clear a b" in done.stderr, done.stderr


def test_a_page_repeating_a_key_is_not_said_to_lack_one():
    """92 F12: a page holding a `call_id` twice said "rows without a usable one"."""
    from hostile_support import response, serving

    rows = b'[{"call_id": 1, "x": 1}, {"call_id": 1, "x": 2}]'
    for serve in serving():
        server = serve(
            lambda request: response("200 OK", rows if "page=1" in request.target else b"[]")
        )
        with pytest.raises(converz.DecodeError) as caught:
            server.client(retries=0).calls()
        text = str(caught.value)
        assert "`call_id` 1 more than once" in text and "holding one twice" in text, text
        assert "without a usable" not in text, text
        assert caught.value.hint is not None and "once a page" in caught.value.hint


@pytest.mark.parametrize("kind", ["uint8", "timestamp[ns]", "timestamp[ms]", "timestamp[s]"])
def test_a_delta_sync_refuses_types_delta_cannot_hold(tmp_path, kind):
    """Trial 94 N8, N10: Delta keeps integers signed and times in microseconds: nanoseconds
    were cut on the first run and such columns made text on the next."""
    client = converz.Client(base_url="http://127.0.0.1:9", api_key="k", progress=False)
    with pytest.raises(converz.InvalidParameterError) as caught:
        sync_calls(client, tmp_path / "calls", format="delta", schema={"x": kind})
    assert caught.value.parameter == "schema" and kind in str(caught.value)
    assert "format='parquet'" in (caught.value.hint or "")
    assert not (tmp_path / "calls").exists()


def test_another_schema_is_shown_by_its_names(tmp_path):
    """Trial 94 N3: the refusal showed the stored schema as `Utf8` and said "the same filters"."""
    with Emulator(calls=40, reps=5, seed=94, days=2) as emu:
        client = emu.client(progress=False)
        path = tmp_path / "calls"
        sync_calls(client, path, schema={"vendor": pl.String})
        with pytest.raises(converz.InvalidParameterError) as caught:
            sync_calls(client, path, schema={"vendor": "large_string"})
        assert "'vendor': 'string'" in str(caught.value), str(caught.value)
        assert "Utf8" not in str(caught.value)
        assert "schema=" in (caught.value.hint or "")


def test_a_file_row_a_later_duplicate_replaces_refuses_nothing(tmp_path):
    """Trial 94 N5: a file push checked the `date` of a row `on_duplicate="last"` drops."""
    with Emulator(calls=20, reps=5, seed=94, days=2) as emu:
        client = emu.client(progress=False)
        call = client.calls(columns=["call_id"]).to_arrow()["call_id"][0].as_py()
        path = tmp_path / "d.csv"
        path.write_text(f"call_id,date\n{call},2025/01/01\n{call},2025-01-02\n")
        result = client.push_file(path, on_duplicate="last")
        assert result.updated == 1
        got = client.calls(columns=["call_id", "date"]).to_arrow().to_pylist()
        assert {"call_id": call, "date": dt.date(2025, 1, 2)} in got
        # Kept, the same text is refused naming its line.
        path.write_text(f"call_id,date\n{call},2025-01-02\n{call},2025/01/01\n")
        with pytest.raises(converz.InvalidParameterError) as caught:
            client.push_file(path, on_duplicate="last")
        assert "line 3 of" in str(caught.value), str(caught.value)


def test_a_delta_refusal_of_a_time_type_names_a_time_way_out(tmp_path):
    """Trial 95 A1: the refusal of timestamp[ns] told of signed integers."""
    client = converz.Client(base_url="http://127.0.0.1:9", api_key="k", progress=False)
    with pytest.raises(converz.InvalidParameterError) as caught:
        sync_calls(client, tmp_path / "calls", format="delta", schema={"x": "timestamp[ns]"})
    hint = caught.value.hint or ""
    assert "timestamp[us]" in hint and "integer" not in hint, hint


def test_a_file_of_times_another_writer_spelt_is_warned_of(tmp_path, caplog):
    """Trial 95 N2: a fetch written by polars' `write_csv` spells `end_time` with a `T`; pushed
    back, it was stored as text without a word. The push warns, naming the line and --schema."""
    with Emulator(calls=20, reps=5, seed=95, days=2) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist()[:2]
        path = tmp_path / "f.csv"
        ends = [dt.datetime(2025, 3, 1, 8, 5), dt.datetime(2025, 3, 1, 9)]
        pl.DataFrame({"call_id": ids, "end_time": ends, "note": ["x", "2025-03-01"]}).write_csv(
            path
        )
        with caplog.at_level(logging.WARNING, logger="converz"):
            client.push_file(path, dry_run=True)
        said = [r.getMessage() for r in caplog.records]
        assert len(said) == 1, said
        assert "line 2 of" in said[0] and "`end_time`" in said[0], said
        assert "--schema end_time:timestamp" in said[0], said
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="converz"):
            client.push_file(path, schema={"end_time": "timestamp"})
        assert not caplog.records
        held = client.calls(columns=["call_id", "end_time"]).to_arrow().to_pylist()
        assert [row["end_time"] for row in held if row["call_id"] in ids] == ends


def test_a_later_sync_run_does_not_warn_of_a_schema_column_its_days_lack(tmp_path, caplog):
    """Trial 95 A2: every scheduled run warned that `cnt`, pushed to early calls only, was not
    in the data fetched; the run that set the schema warns of a misspelt one still."""
    with Emulator(calls=300, reps=5, seed=95, days=20) as emu:
        client = emu.client(progress=False)
        table = client.calls(columns=["call_id", "date"]).to_arrow().sort_by("date")
        early = table["call_id"].to_pylist()[:10]
        client.push_updates(pl.DataFrame({"call_id": early, "cnt": list(range(10))}))
        path = tmp_path / "calls"
        with caplog.at_level(logging.WARNING, logger="converz"):
            sync_calls(client, path, schema={"cnt": "int16"})
            assert not caplog.records, [r.getMessage() for r in caplog.records]
            sync_calls(client, path, schema={"cnt": "int16"})
        assert not caplog.records, [r.getMessage() for r in caplog.records]
        assert pq.read_table(path).schema.field("cnt").type == "int16"
        # A column no run's data held (misspelt) is warned of by every run (trial 96 B5: by
        # the first only), beside one the dataset held in earlier days, which stays quiet.
        for _ in range(3):
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="converz"):
                sync_calls(client, tmp_path / "other", schema={"cnt": "int16", "cnt_typo": "int16"})
            said = [r.getMessage() for r in caplog.records]
            assert any("'cnt_typo'" in m for m in said), said
            assert not any("'cnt'," in m or "'cnt' " in m for m in said), said


def test_a_text_column_with_some_times_or_typed_as_text_is_not_warned_of(tmp_path, caplog):
    """Trial 96 B3: a column of notes with a time among them, and one `schema=` types as
    text, were warned of as times kept as text."""
    client = converz.Client(base_url="http://127.0.0.1:9", api_key="k", progress=False)
    path = tmp_path / "f.csv"
    path.write_text(
        "call_id,x,y\n1,2025-01-01T10:00:00,2025-01-01T10:00:00\n2,see notes,2025-01-02T09:00:00\n"
    )
    with caplog.at_level(logging.WARNING, logger="converz"):
        client.push_file(path, dry_run=True, schema={"y": "string"})
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    with caplog.at_level(logging.WARNING, logger="converz"):
        client.push_file(path, dry_run=True)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "`y`" in said[0] and "`x`" not in said[0], said
