"""push_updates(): every intended value set, nothing else touched, bad input sends nothing."""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import os
import random
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import converz
from converz import _core
from converz.testing import Emulator


def _calls(client: converz.Client) -> pl.DataFrame:
    return client.calls(page_size=10_000).to_polars().sort("call_id")


def _unchanged(before: pl.DataFrame, after: pl.DataFrame, columns: list[str]) -> None:
    assert before.select(columns).equals(after.select(columns))


def test_sparse_update_sets_values_and_leaves_nulls_untouched(write_emulator):
    client = write_emulator.client(progress=False)
    before = _calls(client)
    ids = before["call_id"]
    update = pl.DataFrame(
        {
            "call_id": ids,
            "qa_score": [float(i % 7) if i % 3 else None for i in range(len(ids))],
            "topic": ["refund" if i % 2 else None for i in range(len(ids))],
        }
    )
    result = client.push_updates(update)
    assert result.target == "calls"
    assert result.rows == len(ids)
    assert result.updated == len(ids)
    assert result.not_found == []
    assert result.ok
    after = _calls(client)
    assert after["qa_score"].to_list() == update["qa_score"].to_list()
    expected_topic = [
        new if new is not None else old
        for new, old in zip(update["topic"].to_list(), before["topic"].to_list())
    ]
    assert after["topic"].to_list() == expected_topic
    others = [c for c in before.columns if c not in ("topic",)]
    _unchanged(before, after, others)


def test_clear_only_clears_the_named_cells(write_emulator):
    client = write_emulator.client(progress=False)
    before = _calls(client)
    ids = before["call_id"][:100]
    update = pl.DataFrame(
        {
            "call_id": ids,
            "campaign": [None if i % 4 == 0 else "winback" for i in range(100)],
            "outcome": [None if i % 5 == 0 else "sale" for i in range(100)],
        }
    )
    result = client.push_updates(update, clear=["campaign"])
    assert {c.kind for c in result.chunks} == {"update", "clear"}
    after = _calls(client)
    head_after, head_before = after.head(100), before.head(100)
    assert head_after["campaign"].to_list() == update["campaign"].to_list()
    expected_outcome = [
        new if new is not None else old
        for new, old in zip(update["outcome"].to_list(), head_before["outcome"].to_list())
    ]
    assert head_after["outcome"].to_list() == expected_outcome
    others = [c for c in before.columns if c not in ("campaign", "outcome")]
    _unchanged(before, after, others)
    _unchanged(before.tail(len(before) - 100), after.tail(len(after) - 100), before.columns)


def test_types_round_trip(write_emulator):
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:4].to_list()
    table = pa.table(
        {
            "call_id": pa.array(ids, pa.int32()),
            "follow_up": pa.array([dt.date(2025, 1, 2), None, dt.date(2024, 2, 29), None]),
            "reviewed_at": pa.array(
                [dt.datetime(2025, 1, 2, 3, 4, 5), None, None, dt.datetime(2025, 7, 1)],
                pa.timestamp("ms"),
            ),
            "aware_at": pa.array(
                [dt.datetime(2025, 1, 1, 12, tzinfo=dt.timezone.utc)] * 4,
                pa.timestamp("us", tz="UTC"),
            ),
            "grade": pa.array(["a", "b", "a", None]).dictionary_encode(),
            "price": pa.array([decimal.Decimal("1.25")] * 4, pa.decimal128(6, 2)),
            "flag": pa.array([True, False, None, True]),
            "big": pa.array([2**53 + 1, -1, 0, None], pa.int64()),
        }
    )
    client.push_updates(table, timezone="Europe/Amsterdam")
    got = (
        client.calls(parse_dates=False, page_size=10_000)
        .to_polars()
        .filter(pl.col("call_id").is_in(ids))
        .sort("call_id")
    )
    assert got["follow_up"].to_list()[0] == "2025-01-02"
    assert got["follow_up"].to_list()[2] == "2024-02-29"
    assert got["reviewed_at"].to_list()[0] == "2025-01-02 03:04:05"
    assert got["aware_at"].to_list()[0] == "2025-01-01 13:00:00"  # UTC noon in Amsterdam
    assert got["grade"].to_list()[:3] == ["a", "b", "a"]
    assert got["price"].to_list()[0] == pytest.approx(1.25)
    assert got["flag"].to_list()[:2] == [True, False]
    assert got["big"].to_list()[0] == 2**53 + 1


def test_pandas_frames_nan_and_categorical(write_emulator):
    client = write_emulator.client(progress=False)
    before = _calls(client)
    ids = before["call_id"][:3].to_list()
    frame = pd.DataFrame(
        {
            "call_id": ids,
            "score": [0.5, float("nan"), 1.5],
            "bucket": pd.Categorical(["x", "y", "x"]),
            "when": pd.to_datetime(["2025-01-01 10:00:00", None, "2025-01-03 00:00:01"]),
        },
        index=[10, 11, 12],  # a non-default index must not be pushed
    )
    result = client.push_updates(frame)
    assert result.updated == 3
    got = client.calls(parse_dates=False).to_polars().filter(pl.col("call_id").is_in(ids))
    got = got.sort("call_id")
    assert got["score"].to_list() == [0.5, None, 1.5]
    assert got["bucket"].to_list() == ["x", "y", "x"]
    assert got["when"].to_list() == ["2025-01-01 10:00:00", None, "2025-01-03 00:00:01"]
    assert "__index_level_0__" not in got.columns


def test_a_pandas_nan_is_missing_leaving_the_value_or_clearing_it(write_emulator):
    # As the README says (outside trial 18: it said push refuses NaN): pandas' NaN is its
    # missing value, pushed as null, so "unchanged", and cleared in a clear= column.
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:3].to_list()
    client.push_updates(pd.DataFrame({"call_id": ids, "nan_doc": [1.0, 2.0, 3.0]}))
    client.push_updates(pd.DataFrame({"call_id": ids, "nan_doc": [9.0, float("nan"), 7.0]}))
    client.push_updates(
        pd.DataFrame({"call_id": ids, "nan_doc": [9.0, 2.0, float("nan")]}), clear=["nan_doc"]
    )
    got = client.calls().to_polars().filter(pl.col("call_id").is_in(ids)).sort("call_id")
    assert got["nan_doc"].to_list() == [9.0, 2.0, None]


def test_a_pandas_key_read_with_blanks_is_refused_as_null_keys_with_a_fix_that_works(
    write_emulator,
):
    # pandas reads an integer column with blanks as float64 with NaN. It was refused as a type
    # whose suggested cast, astype("int64"), pandas refuses on NaN; for rep_id, astype(str)
    # pushed the key "nan" (outside trial 68 F3). Now the blanks are named as null keys, and
    # the fix the message spells pushes exactly the rows with a key.
    import io

    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:2].to_list()
    text = f"call_id,blank_key\n{ids[0]},x\n,y\n{ids[1]},z\n,w\n"
    frame = pd.read_csv(io.StringIO(text))
    assert frame["call_id"].dtype == np.float64
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(frame)
    said = str(info.value)
    assert "has 2 null keys (rows [1, 3]), and type Float64" in said, said
    fix = 'df.dropna(subset=["call_id"]).astype({"call_id": "int64"})'
    assert fix in said, said
    before = write_emulator.wire_stats()["responses"]
    result = client.push_updates(eval(fix, {"df": frame}))  # the message's own words
    assert result.rows == 2
    assert write_emulator.wire_stats()["responses"] == before + 1
    got = _calls(client).filter(pl.col("call_id").is_in(ids)).sort("call_id")
    assert got["blank_key"].to_list() == ["x", "z"]

    # A fraction (a typo) or an id a float cannot hold exactly: the cast would make it another
    # call's id, so the value is named instead (outside trial 69 F1).
    sent = write_emulator.wire_stats()["responses"]
    for bad, shown in [("1010.5", "1010.5"), ("9007199254740993", "9007199254740992.0")]:
        typo = pd.read_csv(io.StringIO(f"call_id,blank_key\n{ids[0]},x\n,y\n{bad},z\n"))
        with pytest.raises(converz.InvalidParameterError, match=rf"has {shown} \(row 2\)"):
            client.push_updates(typo)
    nan = pl.DataFrame({"call_id": [float(ids[0]), float("nan")], "blank_key": ["q", "r"]})
    with pytest.raises(converz.InvalidParameterError, match=r"has NaN \(row 1\)"):
        client.push_updates(nan)
    # polars' spelling works on a polars frame (outside trial 69 F3).
    frame = pl.DataFrame({"call_id": [float(ids[0]), None], "blank_key": ["p", "s"]})
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(frame)
    fix = 'df.drop_nulls("call_id").cast({"call_id": pl.Int64})'
    assert fix in str(info.value), info.value
    assert write_emulator.wire_stats()["responses"] == sent  # every refusal sent nothing
    assert client.push_updates(eval(fix, {"df": frame, "pl": pl})).rows == 1
    assert _calls(client).filter(pl.col("call_id") == ids[0])["blank_key"].to_list() == ["p"]

    # Rep ids read as numbers: a cast made "101.0" of 101 and "nan" of a blank (outside trials
    # 68 F3, 69 F2); the message says to read them as text, which keeps `007` too.
    rep = client.reps().to_polars()["rep_id"][0]
    text = f"rep_id,blank_key\n{rep},x\n,y\n"
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(pd.read_csv(io.StringIO(text)), to="reps")
    said = str(info.value)
    assert "has 1 null key (row 1)" in said, said  # text ids: the type is right
    numeric = pd.read_csv(io.StringIO("rep_id,blank_key\n101,x\n,y\n007,z\n"))
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(numeric, to="reps")
    said = str(info.value)
    assert "has 1 null key (row 1), and type Float64" in said, said
    reread = 'pd.read_csv(path, dtype={"rep_id": str})'
    assert reread in said and "astype" not in said, said
    as_text = eval(reread, {"pd": pd, "path": io.StringIO(numeric_text := "rep_id\n101\n007\n")})
    assert as_text["rep_id"].to_list() == ["101", "007"], numeric_text
    whole = pd.DataFrame({"rep_id": [101.0, 7.0], "blank_key": ["x", "z"]})
    with pytest.raises(converz.InvalidParameterError, match="must be text: rep ids read as"):
        client.push_updates(whole, to="reps")
    assert "nan" not in client.reps().to_polars()["rep_id"].to_list()


def test_a_key_that_no_cast_makes_right_is_named_and_no_cast_is_spelled(write_emulator, tmp_path):
    # Outside trial 70: a cast the message spelled changed keys (F1 `007` to "7" for an int
    # rep_id, F3 a categorical/decimal key's 1010.5 to 1010, F4 float32's 16777217 to
    # ...216, F10 a timestamp to its microseconds), and polars' categorical spelling failed,
    # its own hint then sending category codes (F7); an empty rep_id was pushed (F8); a
    # Parquet file's float key was told to cast for its first whole value (F2).
    import decimal

    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:2].to_list()
    sent = write_emulator.wire_stats()["responses"]
    refused = {
        "has 1010.5 (row 1)": [
            pd.DataFrame({"call_id": pd.Categorical([1000.0, 1010.5])}),
            pa.table({"call_id": pa.array([1000.0, 1010.5]).dictionary_encode()}),
            pl.DataFrame({"call_id": [decimal.Decimal("1000"), decimal.Decimal("1010.5")]}),
        ],
        "has 16777216.0 (row 0)": [pl.DataFrame({"call_id": [16777217]}, {"call_id": pl.Float32})],
        "has 2048 (row 0)": [pa.table({"call_id": pa.array([2049.0], pa.float16())})],
        "has 5e-324 (row 0)": [pl.DataFrame({"call_id": [5e-324]})],
        # A decimal judged on its digits: a fraction past a float's precision is named as
        # written (outside trial 71 F2).
        "has 1000.00000000000001 (row 0)": [
            pa.table({"call_id": pa.array([decimal.Decimal("1000.00000000000001")])})
        ],
        "which holds no call ids": [
            pl.DataFrame({"call_id": [dt.datetime(2025, 1, 1)]}),
            pl.DataFrame({"call_id": [True]}),
        ],
    }
    for says, frames in refused.items():
        for frame in frames:
            with pytest.raises(converz.InvalidParameterError) as info:
                client.push_updates(frame)
            assert says in str(info.value) and "astype" not in str(info.value), info.value
    # ... and an exact id past 2^53 is not named as the float it is not: its cast is exact
    # (outside trial 71 F1).
    big = pa.table({"call_id": pa.array([decimal.Decimal(2**53 + 1)], pa.decimal128(20, 0))})
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(big)
    assert "must be an integer type" in str(info.value) and "(row" not in str(info.value)
    for frame in [
        pl.DataFrame({"rep_id": [101, None]}),
        pl.DataFrame({"rep_id": [101, 7]}),
        pd.DataFrame({"rep_id": [101, 7]}),
    ]:
        with pytest.raises(converz.InvalidParameterError) as info:
            client.push_updates(frame, to="reps")
        said = str(info.value)
        assert "rep ids read as numbers have lost their text" in said, said
        assert "astype" not in said and ".cast(" not in said, said
    # Keys of invisible or control characters alone were sent (outside trial 76 F2).
    blanks = ["", "  ", "\u3000", "\u200b", "\ufeff\u200d", "\x1f", "\x00", "\u2800", "\xad"]
    for blank in blanks:
        with pytest.raises(converz.InvalidParameterError, match=r"1 empty key \(row 1\)"):
            client.push_updates(pl.DataFrame({"rep_id": ["anna", blank]}), to="reps")
    # Nulls and empty ids are told together: fixing the nulls showed the blanks only in the
    # next try (outside trial 76 F6).
    both = pl.DataFrame({"rep_id": ["anna", None, "\u200b", None, " "]})
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(both, to="reps")
    said = str(info.value)
    assert "has 2 null keys (rows [1, 3]) and 2 empty keys (rows [2, 4])" in said, said
    rep_file = tmp_path / "reps.csv"
    pl.DataFrame({"rep_id": ["anna", *blanks[2:]], "v": 1}).write_csv(rep_file)
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_file(rep_file)
    assert f"({len(blanks) - 2} rows in all)" in str(info.value), str(info.value)
    path = tmp_path / "f.parquet"
    pl.DataFrame({"call_id": [float(ids[0]), ids[1] + 0.5]}).write_parquet(path)
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_file(path)
    said = str(info.value)
    assert f"row 1 (counted from 0) of {path}: call_id is {ids[1] + 0.5}" in said, said
    assert "astype" not in said and "cast(" not in said, said
    assert write_emulator.wire_stats()["responses"] == sent  # every refusal sent nothing
    # A key that shows something is a key, invisible characters around it or not.
    assert client.push_updates(pl.DataFrame({"rep_id": ["\u200banna"]}), to="reps").rows == 1

    # The polars spelling for a categorical key works, and pushes the ids it holds.
    frame = pl.DataFrame({"call_id": [str(ids[1]), None]}, {"call_id": pl.Categorical})
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(frame.with_columns(blank_key=pl.lit("c")))
    fix = 'df.drop_nulls("call_id").cast({"call_id": pl.String}).cast({"call_id": pl.Int64})'
    assert fix in str(info.value), info.value
    fixed = eval(fix, {"df": frame.with_columns(blank_key=pl.lit("c")), "pl": pl})
    assert client.push_updates(fixed).rows == 1
    assert _calls(client).filter(pl.col("call_id") == ids[1])["blank_key"].to_list() == ["c"]


def test_a_null_in_a_key_dictionarys_values_is_counted_as_a_null_key(write_emulator):
    # The count took the dictionary's own nulls only, while the rows named came from its
    # values: "has 0 null keys (rows [1])". One helper now finds both.
    keys = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0, 1], pa.int32()), pa.array(["a", None]))
    frame = pa.table({"rep_id": keys, "team": ["x", "y", "z", "w"]})
    client = write_emulator.client(progress=False)
    with pytest.raises(converz.InvalidParameterError, match=r"has 2 null keys \(rows \[1, 3\]\)"):
        client.push_updates(frame, to="reps")


def test_reps_target_inference_and_update_reps(write_emulator):
    client = write_emulator.client(progress=False)
    reps = client.reps().to_polars()
    frame = pl.DataFrame({"rep_id": reps["rep_id"][:2], "team": ["alpha", "beta"]})
    assert client.push_updates(frame).target == "reps"
    assert client.update_reps(frame).target == "reps"
    got = client.reps(rep_id=reps["rep_id"][:2].to_list()).to_polars().sort("rep_id")
    assert sorted(got["team"].to_list()) == ["alpha", "beta"]
    with pytest.raises(converz.InvalidParameterError, match="call_id"):
        client.push_updates(pl.DataFrame({"x": [1]}))


def test_not_found_and_strict(write_emulator):
    client = write_emulator.client(progress=False)
    frame = pl.DataFrame({"call_id": [-5, -6], "qa_score": [1.0, 2.0]})
    result = client.push_updates(frame)
    assert sorted(result.not_found) == [-6, -5]
    with pytest.raises(converz.InvalidRequestError, match="do not exist"):
        client.push_updates(frame, strict=True)


class _Exporter:
    """Any Arrow exporter but pyarrow's own: only the C stream interface."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self._table.__arrow_c_stream__(requested_schema)


def _past_the_bytes() -> pa.Table:
    """A table of two strings whose last offset is moved, after pyarrow built it, past the 2
    bytes there are (as a producer sharing the offsets' memory could)."""
    offsets = np.array([0, 1, 2], np.int32)
    strings = pa.Array.from_buffers(
        pa.string(), 2, [None, pa.py_buffer(offsets), pa.py_buffer(b"a\xff")]
    )
    table = pa.table({"call_id": [1, 2], "s": strings})
    offsets[2] = 64
    return table


# Two strings, "a" and the bytes FF FE, as an Arrow string array no check has seen.
_BAD_UTF8 = pa.Array.from_buffers(
    pa.string(), 2, [None, pa.py_buffer(b"\0\0\0\0\1\0\0\0\3\0\0\0"), pa.py_buffer(b"a\xff\xfe")]
)


# Three values, the middle one the bytes FF FE, and one long enough to sit in a buffer.
_VIEW_BYTES = [b"ab", b"\xff\xfe", b"a value longer than twelve bytes"]


# The same three values as a string dictionary's entries, the middle one never used below.
_VIEW_BYTES_TEXT = pa.Array.from_buffers(
    pa.string(),
    3,
    [
        None,
        pa.py_buffer(b"\0\0\0\0\2\0\0\0\4\0\0\0\x24\0\0\0"),
        pa.py_buffer(b"".join(_VIEW_BYTES)),
    ],
)


def _view(values: list[bytes], valid: list[bool]) -> pa.Array:
    """A string_view array of `values` with `valid`'s null mask, built unchecked."""
    raw = pa.array(values, pa.binary_view())
    mask = pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(pa.string_view(), len(values), [mask, *raw.buffers()[1:]])


@pytest.mark.parametrize(
    ("frame", "kwargs", "match"),
    [
        (pl.DataFrame({"call_id": [1, None], "a": [1, 2]}), {}, "null"),
        (pl.DataFrame({"call_id": [1, 1, 2], "a": [1, 2, 3]}), {}, "duplicate"),
        (pl.DataFrame({"call_id": [1.0, 2.0], "a": [1, 2]}), {}, "call_id"),
        (pl.DataFrame({"call_id": [1, 2], "a": [1.0, float("inf")]}), {}, "a"),
        (pl.DataFrame({"call_id": [1], "blob": [b"\x00"]}), {}, "blob"),
        # Objects polars hands over as pointers (outside trial 30 F10: "decode the bytes").
        (
            pl.DataFrame({"call_id": [1], "o": pl.Series([object()], dtype=pl.Object)}),
            {},
            r"column 'o' is Object: Python objects",
        ),
        (pl.DataFrame({"call_id": [1], "a": [1]}), {"clear": ["nope"]}, "nope"),
        (pl.DataFrame({"call_id": [1], "a": [1]}), {"clear": ["call_id"]}, "call_id"),
        (pl.DataFrame({"call_id": [1], "a": [1]}), {"chunk_rows": 100_001}, "chunk_rows"),
        (pl.DataFrame({"call_id": [1], "a": [1]}), {"to": "users"}, "to"),
        (pl.DataFrame({"call_id": [1], "a": [1]}), {"on_duplicate": "first"}, "on_duplicate"),
        (pl.DataFrame({"rep_id": [1], "a": [1]}), {"to": "reps"}, "rep_id"),
        # A pandas categorical key is told how to cast in pandas' words too (outside trial).
        (
            pd.DataFrame({"call_id": pd.Categorical([1, 2]), "a": [1, 2]}),
            {},
            r"integer type \(a categorical of ids is not one\); cast it: "
            r'df\["call_id"\]\.astype\("int64"\) in pandas',
        ),
        # ... and only a categorical is told it is one (outside trial 46).
        (
            pl.DataFrame({"call_id": [1.0, 2.0], "a": [1, 2]}),
            {},
            r"has type Float64, but must be an integer type; cast it",
        ),
        (
            pl.DataFrame({"rep_id": [True], "a": [1]}),
            {"to": "reps"},
            r'df\["rep_id"\]\.astype\(str\) in pandas, pl.col\("rep_id"\)',
        ),
        # ... but rep ids read as numbers are told to be read as text (outside trial 70 F1).
        (
            pl.DataFrame({"rep_id": [1], "a": [1]}),
            {"to": "reps"},
            r"has type Int64, but must be text: rep ids read as numbers have lost their text",
        ),
        # Ids held as text in a frame: a cast fixes them.
        (
            pl.DataFrame({"call_id": ["1", "2"], "a": [1, 2]}),
            {},
            r'ids held as text are cast with pl.col\("call_id"\)\.cast\(pl.Int64\) in polars',
        ),
        # A key beyond the API's 64-bit integers (it was reported as a null key).
        (
            pa.table({"call_id": pa.array([7, 2**63], pa.uint64()), "a": [1, 2]}),
            {},
            r"has 9223372036854775808 \(row 1\), which is no integer from",
        ),
        # Names `columns=` could never select again.
        (pl.DataFrame({"call_id": [1], "": [1]}), {}, "empty column name"),
        (pl.DataFrame({"call_id": [1], "a,b": [1]}), {}, "comma in a column name"),
        (pl.DataFrame({"call_id": [1], " x": [1]}), {}, "white space"),
        (pl.DataFrame({"call_id": [1], "y\t": [1]}), {}, "white space"),
        # One that shows nothing, which `columns=` refuses as blank (trial 78 F1).
        (pl.DataFrame({"call_id": [1], "\u200b": [1]}), {}, "only white space, control or"),
        (pl.DataFrame({"call_id": [1], "\ufeff\x1f": [1]}), {}, "only white space, control or"),
        # Named as Python spells it, between the backticks too, with its own reason (trial 79
        # F2, F3: a newline broke the line, and the comma's reason was given).
        (
            pl.DataFrame({"call_id": [1], "\u200b\n": [1]}),
            {},
            r'column `\\u200b\\n`: .* \("\\u200b\\n"\) .* \(it refuses such a name as blank\)',
        ),
        (
            pa.table({"call_id": [1], "x": [1], "y": [2]}).rename_columns(["call_id", "x", "x"]),
            {},
            "appears twice",
        ),
        # A struct naming a field twice, at the top or deeper (outside trial 28: the first
        # value was dropped, unsaid).
        (
            pa.table(
                {
                    "call_id": [1],
                    "s": pa.StructArray.from_arrays([pa.array([1]), pa.array([2])], ["a", "a"]),
                }
            ),
            {},
            r'field name "a" appears twice in `s`',
        ),
        (
            pa.table(
                {
                    "call_id": [1],
                    "s": pa.array(
                        [[{"in": {"b": 1, "c": 2}}]],
                        pa.list_(
                            pa.struct([("in", pa.struct([("b", pa.int64()), ("b", pa.int64())]))])
                        ),
                    ),
                }
            ),
            {},
            r'field name "b" appears twice in `s\[\]\.in`',
        ),
        # Nanoseconds past the microseconds: 9 digits, which a fetch reads back as text
        # (outside trial 28c F1: pandas' datetime64[ns] column came back as text, unwarned).
        (
            pd.DataFrame(
                {
                    "call_id": [1, 2],
                    "seen": pd.to_datetime([1_735_725_600_000_000_000, 1_735_725_600_123_456_700]),
                }
            ),
            {},
            r"`seen`.*finer than a microsecond \(row 1\).*\.dt\.round\(\"us\"\)",
        ),
        (
            pa.table(
                {
                    "call_id": [1],
                    "seen": pa.array([[1_735_725_600_000_000_001]], pa.list_(pa.timestamp("ns"))),
                }
            ),
            {},
            r"finer than a microsecond \(row 0\)",
        ),
        # A date64 holding a time of day: the time was dropped unsaid (outside trial 29b F7).
        # (pyarrow's own validation refuses it in a pyarrow table; any other exporter's here.)
        (
            _Exporter(
                pa.table({"call_id": [1, 2], "d": pa.array([86_400_000, 86_400_005], pa.date64())})
            ),
            {},
            r"`d`: has a date64 value that is not a whole day \(row 1\)",
        ),
        # The same in pyarrow's own table: pyarrow's check named a column number and the
        # milliseconds, no name, no row (outside trial 30 F6).
        (
            pa.table({"call_id": [1, 2], "d": pa.array([86_400_000, 86_400_005], pa.date64())}),
            {},
            r"`d`: has a date64 value that is not a whole day \(row 1\)",
        ),
        # Invalid UTF-8 in an Arrow string array (an unchecked producer): it was sent as it
        # was, for the API to refuse the chunk (outside trial 28c F5). converz's check names
        # the row, in a pyarrow table (where pyarrow's named neither column nor row) as in
        # any other exporter's, at any depth.
        (
            pa.table({"call_id": [1, 2], "s": _BAD_UTF8}),
            {},
            r"`s`: holds text that is not valid UTF-8 \(row 1\)",
        ),
        (
            _Exporter(pa.table({"call_id": [1, 2], "s": _BAD_UTF8})),
            {},
            r"`s`: holds text that is not valid UTF-8 \(row 1\)",
        ),
        (
            _Exporter(pa.table({"call_id": [1, 2, 3], "v": _view(_VIEW_BYTES, [True] * 3)})),
            {},
            r"`v`: holds text that is not valid UTF-8 \(row 1\)",
        ),
        (
            _Exporter(pa.table({"call_id": [1], "l": pa.ListArray.from_arrays([0, 2], _BAD_UTF8)})),
            {},
            r"`l`: holds text that is not valid UTF-8 \(row 0\)",
        ),
        # Offsets past the string bytes: the C interface passes no buffer sizes, so only
        # pyarrow can tell; they were read beyond the buffer and sent (outside trial 29b F1).
        (_past_the_bytes(), {}, r"column `s` of this pyarrow Table: pyarrow finds it malformed"),
        # The same in a reader: its batches were not checked (outside trial 30 F1).
        (
            pa.RecordBatchReader.from_batches(
                _past_the_bytes().schema, _past_the_bytes().to_batches()
            ),
            {},
            r"pyarrow RecordBatchReader: pyarrow finds it malformed",
        ),
    ],
)
def test_bad_input_sends_nothing(write_emulator, frame, kwargs, match):
    client = write_emulator.client(progress=False)
    before = _calls(client)
    with pytest.raises(converz.InvalidParameterError, match=match):
        client.push_updates(frame, **kwargs)
    assert _calls(client).equals(before)


def test_text_no_value_sends_refuses_nothing_at_any_depth(write_emulator):
    """Outside trial 58 F1: bytes that are not UTF-8 under a null inside a struct or a list,
    or in a dictionary entry no row uses, refused the push (arrow's full validation reads
    every byte), while the same bytes under a null in a flat column refused nothing: nulling
    the bad row, as the flat column's error advises, did not help a struct or list of it."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"].head(3).to_list()
    note = _view(_VIEW_BYTES, [True, False, True])
    frame = pl.from_arrow(pa.table({"call_id": ids, "note": note}))
    assert isinstance(frame, pl.DataFrame)
    unused = pa.DictionaryArray.from_arrays(pa.array([0, 0, 2], pa.int32()), _VIEW_BYTES_TEXT)
    nested = frame.select(
        "call_id", pl.struct("note").alias("meta"), pl.concat_list("note").alias("notes")
    )
    client.push_updates(_Exporter(nested.to_arrow().append_column("label", unused)))
    after = _calls(client).filter(pl.col("call_id").is_in(ids)).sort("call_id")
    assert after["label"].to_list() == ["ab", "ab", _VIEW_BYTES[2].decode()]
    assert [m and m["note"] for m in after["meta"].to_list()] == [
        "ab",
        None,
        _VIEW_BYTES[2].decode(),
    ]
    assert after["notes"].to_list() == [["ab"], [None], [_VIEW_BYTES[2].decode()]]
    # Used, the same bytes refuse the push and name the row; nothing is sent.
    used = nested.with_columns(pl.from_arrow(_view(_VIEW_BYTES, [True] * 3)).alias("note"))
    before = _calls(client)
    with pytest.raises(converz.InvalidParameterError, match=r"`meta`: .*not valid UTF-8 \(row 1\)"):
        client.push_updates(
            _Exporter(used.select("call_id", pl.struct("note").alias("meta")).to_arrow())
        )
    assert _calls(client).equals(before)


@pytest.mark.parametrize(
    ("frame", "clear", "column", "says"),
    [
        (pl.DataFrame({"call_id": [1, 2], "s": [0.5, float("nan")]}), [], "s", "NaN value (row 1)"),
        (pl.DataFrame({"call_id": [1, 2], "s": [[0.5], [float("nan")]]}), ["s"], "s", "(row 1)"),
        (
            pd.DataFrame({"call_id": [1, 2], "month": pd.period_range("2025-01", periods=2)}),
            [],
            "month",
            'df["month"].astype(str)',
        ),
        (
            pd.DataFrame({"call_id": [1, 2], "span": pd.interval_range(0, 2)}),
            [],
            "span",
            "interval",
        ),
    ],
)
def test_values_json_would_carry_wrongly_are_refused(write_emulator, frame, clear, column, says):
    # A NaN sent as null would leave the old value; a Period or Interval would go as its storage.
    client = write_emulator.client(progress=False)
    before = _calls(client)
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(frame, clear=clear)
    assert info.value.parameter == column
    assert says in str(info.value), str(info.value)
    assert _calls(client).equals(before)


def test_on_duplicate_last(write_emulator):
    client = write_emulator.client(progress=False)
    first = _calls(client)["call_id"][0]
    frame = pl.DataFrame({"call_id": [first, first], "qa_score": [1.0, 2.0]})
    result = client.push_updates(frame, on_duplicate="last")
    assert result.rows == 1
    got = client.calls().to_polars().filter(pl.col("call_id") == first)
    assert got["qa_score"].to_list() == [2.0]


@pytest.mark.parametrize("bad", ["nan", "inf", "year 10183"])
def test_a_row_a_later_duplicate_replaces_is_never_sent_so_its_values_refuse_nothing(
    write_emulator, bad
):
    """With on_duplicate="last", a NaN or an out-of-range date in a row a later duplicate
    replaces refused the push, though that row is never sent (outside trial 58 N3). In a kept
    row it is still refused, naming the row, with nothing sent."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:3].to_list()
    values = {"nan": float("nan"), "inf": float("inf")}

    def frame(bad_row: int) -> pl.DataFrame:
        scores = [0.5, 1.5, 2.5, 3.5]
        days = [10, 11, 12, 13]
        if bad in values:
            scores[bad_row] = values[bad]
        else:
            days[bad_row] = 3_000_000  # days after 1970: in the year 10183
        return pl.DataFrame(
            {
                "call_id": [ids[0], ids[1], ids[0], ids[2]],
                "dq": scores,
                "dd": pl.Series(days, dtype=pl.Int32).cast(pl.Date),
            }
        )

    before = write_emulator.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError, match=r"\(row 2\)"):
        client.push_updates(frame(2), on_duplicate="last")  # row 2 is kept
    assert write_emulator.wire_stats()["responses"] == before
    result = client.push_updates(frame(0), on_duplicate="last")  # row 0 is dropped for row 2
    assert (result.rows, result.updated) == (3, 3)
    got = _calls(client).filter(pl.col("call_id").is_in(ids)).sort("call_id")
    want = {ids[0]: (2.5, 12), ids[1]: (1.5, 11), ids[2]: (3.5, 13)}
    for call_id, score, day in got.select("call_id", "dq", "dd").iter_rows():
        assert (score, day) == (
            want[call_id][0],
            dt.date(1970, 1, 1) + dt.timedelta(want[call_id][1]),
        )


def test_bad_text_in_a_row_a_later_duplicate_replaces_is_not_refused_in_a_pyarrow_table(
    write_emulator,
):
    """pyarrow's own check refused it, naming neither column nor row (outside trial 58 N3);
    converz's names the row where the text is sent and passes it where it is not."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:3].to_list()

    def table(bad_row: int) -> pa.Table:
        texts = [b"a", b"b", b"c", b"d"]
        texts[bad_row] = b"\xff\xfe"
        offsets = np.cumsum([0] + [len(t) for t in texts]).astype("<i4")
        buffers = [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(texts))]
        keys = pa.array([ids[0], ids[1], ids[0], ids[2]], pa.int64())
        return pa.table({"call_id": keys, "dt": pa.Array.from_buffers(pa.string(), 4, buffers)})

    before = write_emulator.wire_stats()["responses"]
    match = r"`dt`: holds text that is not valid UTF-8 \(row 2\)"
    with pytest.raises(converz.InvalidParameterError, match=match):
        client.push_updates(table(2), on_duplicate="last")
    assert write_emulator.wire_stats()["responses"] == before
    assert client.push_updates(table(0), on_duplicate="last").updated == 3
    got = dict(_calls(client).filter(pl.col("call_id").is_in(ids)).select("call_id", "dt").rows())
    assert got == {ids[0]: "c", ids[1]: "b", ids[2]: "d"}


def test_dry_run_and_empty_frames_send_nothing(write_emulator):
    client = write_emulator.client(progress=False)
    before = _calls(client)
    frame = pl.DataFrame({"call_id": before["call_id"], "qa_score": 1.0})
    result = client.push_updates(frame, dry_run=True, chunk_rows=1_000)
    assert result.dry_run
    assert len(result.chunks) == -(-len(before) // 1_000)
    assert {c.status for c in result.chunks} == {"planned"}
    assert result.bytes > 0
    empty = client.push_updates(frame.head(0))
    assert empty.rows == 0
    assert empty.chunks == ()
    assert _calls(client).equals(before)


def test_chunking_and_report(write_emulator):
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"]
    result = client.push_updates(pl.DataFrame({"call_id": ids, "n": 1}), chunk_rows=1_000)
    assert [c.rows for c in result.chunks][:-1] == [1_000] * (len(result.chunks) - 1)
    assert sum(c.rows for c in result.chunks) == len(ids)
    assert result.chunks[0].first_key == ids[0]
    assert result.chunks[-1].last_key == ids[-1]
    assert "applied" in result.report()
    assert "sent 5,000 rows" in str(result)


def test_partial_failure_then_resume_applies_everything_once():
    with Emulator(calls=5_000, reps=10, seed=5, error_rate=0.5) as emu:
        client = emu.client(retries=0, progress=False)
        reader = emu.client(retries=20, backoff=0.001, progress=False)
        ids = reader.calls(page_size=1_000_000).to_polars()["call_id"]
        frame = pl.DataFrame({"call_id": ids, "qa_score": [float(i) for i in range(len(ids))]})
        with pytest.raises(converz.PushError) as info:
            client.push_updates(frame, chunk_rows=250)
        result = info.value.result
        statuses = {c.status for c in result.chunks}
        assert "failed" in statuses
        applied = [c for c in result.chunks if c.status == "applied"]
        remaining = result.remaining
        assert remaining is not None
        assert remaining.num_rows == result.rows - sum(c.rows for c in applied)
        emu.set_faults()
        resumed = client.push_updates(remaining)
        assert resumed.ok
        got = reader.calls(page_size=1_000_000).to_polars().sort("call_id")
    assert got["qa_score"].to_list() == frame["qa_score"].to_list()


def test_clear_with_more_than_64_columns_clears_exactly_the_null_cells(write_emulator):
    # A u64 null-pattern mask wrapped at 64 columns: column 65's null cleared column 1.
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:3].to_list()
    names = [f"attr{i}" for i in range(70)]
    client.push_updates(pl.DataFrame({"call_id": ids, **{n: [1, 2, 3] for n in names}}))
    nulls = {0: {"attr65"}, 1: {"attr1", "attr69"}, 2: set()}
    update = pl.DataFrame(
        {
            "call_id": ids,
            **{n: [None if n in nulls[row] else 7 for row in range(3)] for n in names},
        }
    )
    result = client.push_updates(update, clear=names)
    # One row-wise body for both rows, naming the columns null on either (each row sends its
    # value where it has one): not a body per pattern of nulls.
    assert [c.columns for c in result.chunks if c.kind == "clear"] == [
        ("attr1", "attr65", "attr69"),
    ]
    got = _calls(client).filter(pl.col("call_id").is_in(ids)).sort("call_id")
    for row in range(3):
        for name in names:
            assert got[name][row] == (None if name in nulls[row] else 7), (row, name)


def test_scattered_nulls_in_many_clear_columns_take_one_row_wise_body(write_emulator):
    # Outside trial 46 F1: a body per pattern of nulls sent 2,913 requests for 20,000 rows
    # with 30% nulls in 12 clear columns. Every row with a null now goes in one row-wise body
    # (per chunk) naming every such column, with values beside the nulls.
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:3000].to_list()
    names = [f"attr{i}" for i in range(12)]
    client.push_updates(pl.DataFrame({"call_id": ids, **{n: [1.0] * len(ids) for n in names}}))
    rng = random.Random(46)
    columns = {n: [None if rng.random() < 0.3 else rng.random() for _ in ids] for n in names}
    update = pl.DataFrame(
        {"call_id": ids, **columns}, schema_overrides={n: pl.Float64 for n in names}
    )
    result = client.push_updates(update, clear=names)
    assert result.requests == 2
    assert [c.kind for c in result.chunks] == ["update", "clear"]
    got = _calls(client).filter(pl.col("call_id").is_in(ids)).sort("call_id")
    want = update.sort("call_id")
    for name in names:
        assert got[name].to_list() == want[name].to_list(), name


def _null_frames(ids: list[int]) -> dict[str, object]:
    n = len(ids)
    return {
        "polars": pl.DataFrame({"call_id": ids, "campaign": [None] * n}),
        "pyarrow": pa.table({"call_id": pa.array(ids), "campaign": pa.nulls(n)}),
        "pandas": pd.DataFrame({"call_id": ids, "campaign": pd.Series([None] * n, dtype=object)}),
    }


@pytest.mark.parametrize("library", ["polars", "pyarrow", "pandas"])
def test_null_typed_columns_leave_values_or_clear_them(write_emulator, library):
    client = write_emulator.client(progress=False)
    before = _calls(client)
    ids = before["call_id"][:10].to_list()
    frame = _null_frames(ids)[library]
    assert client.push_updates(frame).updated == 10
    _unchanged(before, _calls(client), before.columns)
    result = client.push_updates(frame, clear=["campaign"])
    assert [c.columns for c in result.chunks if c.kind == "clear"] == [("campaign",)]
    after = _calls(client)
    assert after["campaign"].head(10).to_list() == [None] * 10
    _unchanged(before.tail(len(before) - 10), after.tail(len(after) - 10), before.columns)


class _Exporter:
    """An Arrow exporter converz does not recognise: whatever it exports reaches the core."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self.inner.__arrow_c_stream__(requested_schema)  # type: ignore[attr-defined]


class _BrokenExporter:
    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        raise RuntimeError("export failed")


@pytest.mark.parametrize(
    "frame",
    [
        # polars exports a Null column with a buffer the C data interface does not define.
        _Exporter(pl.DataFrame({"call_id": [1], "x": [None]})),
        _BrokenExporter(),
    ],
)
def test_unreadable_frames_are_the_frames_fault(write_emulator, frame):
    client = write_emulator.client(progress=False)
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(frame)
    assert info.value.parameter == "df"
    assert "read as Arrow" in str(info.value)


def test_a_polars_frame_with_nested_nulls_pushes_as_pyarrow_does(write_emulator):
    """Outside trial 22: a struct with an all-null field (as `calls().to_polars()` types it)
    or a List(Null) could not be pushed from polars ("C Data interface error", no column
    named); the same rows from pyarrow could. Both now apply the same values."""
    client = write_emulator.client(progress=False)
    ids = client.calls(columns=["call_id"], page_size=1000).to_polars()["call_id"][:4].to_list()
    meta = [{"a": None, "b": i} for i in range(2)]
    tags: list[list[None]] = [[None], []]
    polars_frame = pl.DataFrame({"call_id": ids[:2], "meta_t22": meta, "tags_t22": tags})
    assert polars_frame.schema["meta_t22"] == pl.Struct({"a": pl.Null, "b": pl.Int64})
    assert polars_frame.schema["tags_t22"] == pl.List(pl.Null)
    arrow_frame = pa.table({"call_id": ids[2:], "meta_t22": meta, "tags_t22": tags})
    assert client.push_updates(polars_frame).updated == 2
    assert client.push_updates(arrow_frame).updated == 2
    back = client.calls(columns=["call_id", "meta_t22", "tags_t22"]).to_polars()
    back = back.filter(pl.col("call_id").is_in(ids)).sort("call_id")
    rows = back.drop("call_id").to_dicts()
    assert rows[:2] == rows[2:] and len(rows) == 4, rows
    # What a fetch typed that way gives back pushes too (the round trip the trial broke).
    fetched = client.calls(columns=["call_id", "meta_t22"]).to_polars().head(2)
    assert fetched.schema["meta_t22"] == pl.Struct({"a": pl.Null, "b": pl.Int64})
    assert client.push_updates(fetched, dry_run=True).rows == 2


@pytest.mark.parametrize("dtype", ["Int128", "UInt128"])
def test_a_polars_128_bit_column_is_refused_by_name(write_emulator, dtype):
    client = write_emulator.client(progress=False)
    frame = pl.DataFrame({"call_id": [1], "big": [5]}).with_columns(
        pl.col("big").cast(getattr(pl, dtype))
    )
    before = write_emulator.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(frame)
    assert "'big'" in str(info.value) and "pl.Int64" in str(info.value.hint)
    assert write_emulator.wire_stats()["responses"] == before


@pytest.mark.parametrize(
    ("column", "says"),
    [
        (pa.array([[1, 2]], pa.list_view(pa.int64())), "plain list"),
        (pa.RunEndEncodedArray.from_arrays([1], [dt.date(2025, 1, 1)]), "run_end_decode"),
        (pa.array([b"x"]), "decode the bytes"),
    ],
)
def test_a_layout_json_has_no_form_for_is_refused_with_its_cast(write_emulator, column, says):
    """Outside trial 23: a fixed-size list of dates (or a run-end encoded date column) was told
    to "cast it to a number, string or date first", though its values were dates already."""
    client = write_emulator.client(progress=False)
    before = write_emulator.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError, match=says) as info:
        client.push_updates(pa.table({"call_id": [1], "odd": column}))
    assert "'odd'" in str(info.value) or "odd" in str(info.value.parameter)
    assert write_emulator.wire_stats()["responses"] == before


def test_a_fixed_size_list_is_pushed_as_a_list(write_emulator):
    """A fixed-size list (an embedding, a pair of dates) was refused for its layout alone: JSON
    has one form for it and a list (outside trial 30c F6). Inside a struct too, nulls kept."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:2].to_list()
    pairs = pa.array([[dt.date(2025, 1, 1), dt.date(2025, 1, 2)], None], pa.list_(pa.date32(), 2))
    vectors = pa.array([[0.5, -1.0, 2.0], [1.0, 0.0, None]], pa.list_(pa.float64(), 3))
    inside = pa.StructArray.from_arrays([vectors], names=["v"])
    table = pa.table({"call_id": ids, "pairs": pairs, "vec": vectors, "s": inside})
    assert client.push_updates(table).updated == 2
    got = client.calls(columns=["call_id", "pairs", "vec", "s"]).to_arrow()
    got = got.filter(pa.compute.is_in(got["call_id"], pa.array(ids))).sort_by("call_id")
    assert got["pairs"].to_pylist() == pairs.to_pylist()
    assert got["vec"].to_pylist() == vectors.to_pylist()
    assert got["s"].to_pylist() == inside.to_pylist()
    # A NaN inside one is still refused, as in a plain list.
    nan = pa.array([[float("nan"), 1.0]], pa.list_(pa.float64(), 2))
    with pytest.raises(converz.InvalidParameterError, match="NaN"):
        client.push_updates(pa.table({"call_id": ids[:1], "nan": nan}))


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: pl.LazyFrame({"call_id": [1], "x": [1]}), "collect it first"),
        (lambda: pl.Series("x", [1, 2]), "polars Series"),
        (lambda: pd.Series([1, 2]), "pandas Series"),
        (lambda: pa.array([1, 2]), "pyarrow"),
        (lambda: pa.chunked_array([[1, 2]]), "pyarrow ChunkedArray"),
    ],
)
def test_a_lazy_frame_or_a_column_is_refused_saying_what_to_pass(write_emulator, make, says):
    """Found by the outside trial: a Series failed with pyo3-arrow's "Unable to interpret C
    data struct as a Schema", and a LazyFrame warned of a costly schema before its refusal."""
    import warnings

    client = write_emulator.client(progress=False)
    before = write_emulator.wire_stats()["responses"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(converz.InvalidParameterError, match=says) as info:
            client.push_updates(make())
    assert info.value.parameter == "df"
    assert write_emulator.wire_stats()["responses"] == before


@pytest.mark.parametrize(
    ("frame", "column", "where"),
    [
        ("pl.DataFrame({'call_id': [1], 'a\\x00b': [1]})", "'a\\x00b'", "its name"),
        (
            "pl.DataFrame({'call_id': [1], 's': [[{'a\\x00b': 1}]]})",
            "'s'",
            "the name of its field",
        ),
    ],
)
def test_a_nul_in_a_polars_name_is_refused_before_polars_exports_it(frame, column, where):
    """Found by the outside trial: polars panics exporting such a name over the Arrow C data
    interface, where it cannot unwind, and the process aborts. In a child process, so the
    crash (without the check) fails this test instead of ending the run."""
    code = f"""
import converz, polars as pl
client = converz.Client(api_key="k", base_url="http://127.0.0.1:9/api/v1", progress=False)
try:
    client.push_updates({frame})
except converz.InvalidParameterError as err:
    print(err.parameter, str(err).splitlines()[0])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-400:]
    assert done.stdout.startswith(f"df column {column}: {where}"), done.stdout
    assert "holds a NUL character" in done.stdout


_NUL_NAMED = {
    "pyarrow table": lambda ids: pa.table({"call_id": ids, "campaign\x00_v2": ["X"] * len(ids)}),
    "record batch": lambda ids: pa.record_batch(
        {"call_id": ids, "campaign\x00_v2": ["X"] * len(ids)}
    ),
    "batch reader": lambda ids: pa.RecordBatchReader.from_batches(
        pa.schema([("call_id", pa.int64()), ("campaign\x00_v2", pa.string())]),
        [pa.record_batch({"call_id": ids, "campaign\x00_v2": ["X"] * len(ids)})],
    ),
    "struct array": lambda ids: pa.StructArray.from_arrays(
        [pa.array(ids), pa.array(["X"] * len(ids))], names=["call_id", "campaign\x00_v2"]
    ),
    "pandas": lambda ids: pd.DataFrame({"call_id": ids, "campaign\x00_v2": ["X"] * len(ids)}),
    "nested field": lambda ids: pa.table(
        {"call_id": ids, "extra": pa.array([[{"a\x00b": 1}]] * len(ids))}
    ),
}


@pytest.mark.parametrize("kind", list(_NUL_NAMED))
def test_a_nul_in_any_frames_name_is_refused_before_it_is_cut_off(write_emulator, kind):
    """Outside trial 26 F1: the Arrow C data interface carries names as C strings, so
    "campaign\x00_v2" arrived as "campaign", and the push overwrote that column of the rows it
    named without a word (a dry run said nothing either). Refused now, nothing sent, the
    column as it was."""
    client = write_emulator.client(progress=False)
    before = client.calls(columns=["call_id", "campaign"]).to_arrow().to_pylist()[:3]
    ids = [row["call_id"] for row in before]
    sent = write_emulator.wire_stats()["responses"]
    for dry_run in (True, False):
        with pytest.raises(converz.InvalidParameterError, match="holds a NUL character") as info:
            client.push_updates(_NUL_NAMED[kind](ids), dry_run=dry_run)
        assert info.value.parameter == "df"
    assert write_emulator.wire_stats()["responses"] == sent
    assert client.calls(columns=["call_id", "campaign"]).to_arrow().to_pylist()[:3] == before


def _stop_a_slow_push(emu: Emulator, how: str, ids: list[int]) -> BaseException:
    """Starts a push of 50 chunks that needs ~10 s and stops it about a second in."""
    client = emu.client(max_concurrency=2, retries=0, progress=False)
    frame = pl.DataFrame({"call_id": ids, "stop_mark": 1})
    emu.set_faults(latency=0.4)
    if how == "sigint":
        # Python's own Ctrl-C handler: a process started with SIGINT ignored (a background job
        # of a shell without job control, as a CI script may be) never gets it, and then the
        # signal is rightly ignored. It goes once the first chunk is answered: surely mid-push.
        answered = emu.wire_stats()["responses"]
        pushing = threading.Event()
        pushing.set()

        def interrupt_once_a_chunk_is_answered() -> None:
            while pushing.is_set() and emu.wire_stats()["responses"] == answered:
                time.sleep(0.01)
            if pushing.is_set():  # never after the push returned: that would stop pytest
                os.kill(os.getpid(), signal.SIGINT)

        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        killer = threading.Thread(target=interrupt_once_a_chunk_is_answered)
        try:
            killer.start()
            with pytest.raises(KeyboardInterrupt) as info:
                client.push_updates(frame, chunk_rows=100)
        finally:
            pushing.clear()
            killer.join()
            signal.signal(signal.SIGINT, previous)
        return info.value
    started = time.monotonic()

    def callback(*counters: int) -> None:
        if time.monotonic() - started > 1.0:
            raise ValueError("progress bar broke")

    options = {
        "to": None,
        "clear": [],
        "chunk_rows": 100,
        "on_duplicate": "error",
        "timezone": None,
        "dry_run": False,
        "strict": False,
        "progress": callback,
    }
    with pytest.raises(converz.PushError) as info:
        _core.push(client._raw, frame, options)
    return info.value


@pytest.mark.parametrize("how", ["sigint", "callback"])
def test_a_stopped_push_sends_nothing_more_and_says_what_was_applied(how):
    with Emulator(calls=5_000, reps=10, seed=4) as emu:
        reader = emu.client(progress=False)
        ids = reader.calls(page_size=10_000).to_polars()["call_id"].to_list()
        stopped = _stop_a_slow_push(emu, how, ids)
        # Requests already admitted finish their 0.4 s wait; anything new would now be instant.
        emu.set_faults()
        time.sleep(1.5)
        got = reader.calls(page_size=10_000).to_polars()
        marked = set(got.filter(pl.col("stop_mark") == 1)["call_id"].to_list())
        time.sleep(1.0)
        again = reader.calls(page_size=10_000).to_polars()
        assert set(again.filter(pl.col("stop_mark") == 1)["call_id"].to_list()) == marked
        assert len(marked) < 2_500  # detached chunk tasks would have sent all 5,000 rows
    error = stopped if how == "callback" else stopped.__cause__
    assert isinstance(error, converz.PushError)
    if how == "callback":
        assert isinstance(error.__cause__, ValueError)
    result = error.result
    keys: dict[str, set[int]] = collections.defaultdict(set)
    for c in result.chunks:  # chunk i holds rows 100 i .. 100 i + 99
        keys[c.status] |= set(ids[c.index * 100 : (c.index + 1) * 100])
    assert keys["applied"] <= marked <= keys["applied"] | keys["interrupted"]
    assert len(keys["interrupted"]) <= 2 * 100  # at most max_concurrency chunks in flight
    assert keys["not_sent"]
    assert result.remaining.num_rows == 5_000 - len(keys["applied"])
    assert not result.ok


@pytest.mark.parametrize(
    ("frame", "named"),
    [
        (pd.DataFrame({"call_id": [1, 2], "qa": [1, "two"]}), "qa"),
        (pd.DataFrame([[1, 2, 3]], columns=["call_id", "qa", "qa"]), "qa"),
        # Outside trial 17: a bare OverflowError, no column named.
        (pd.DataFrame({"call_id": [1, 2], "big": [2**70, 5]}), "big"),
    ],
)
def test_pandas_frames_arrow_cannot_take_name_the_column(write_emulator, frame, named):
    client = write_emulator.client(progress=False)
    before = client.calls().to_polars()
    with pytest.raises(converz.InvalidParameterError, match=named) as info:
        client.push_updates(frame)
    assert info.value.parameter == "df"
    assert client.calls().to_polars().equals(before)


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"timezone": 5}, "timezone"),
        ({"dry_run": "no"}, "dry_run"),
        ({"strict": 1}, "strict"),
        ({"chunk_rows": 1.5}, "chunk_rows"),
        ({"chunk_rows": True}, "chunk_rows"),
        ({"clear": 5}, "clear"),
        ({"clear": ["qa", 3]}, "clear"),
        ({"progress": "yes"}, "progress"),
    ],
)
def test_wrong_push_arguments_name_the_parameter(write_emulator, arguments, parameter):
    client = write_emulator.client(progress=False)
    frame = pl.DataFrame({"call_id": [1], "qa": [1.0]})
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(frame, **arguments)
    assert info.value.parameter == parameter


def test_one_clear_column_may_be_named_without_a_list(write_emulator):
    client = write_emulator.client(progress=False)
    first = client.calls(columns=["call_id"]).to_polars()["call_id"][0]
    client.push_updates(pl.DataFrame({"call_id": [first], "qa": [1.0]}))
    result = client.push_updates(pl.DataFrame({"call_id": [first], "qa": [None]}), clear="qa")
    assert result.ok
    row = client.calls(columns=["call_id", "qa"]).to_polars().filter(pl.col("call_id") == first)
    assert row["qa"].to_list() == [None]


def test_bytes_a_push_does_not_send_need_not_be_text(write_emulator):
    # A null's slot may hold any bytes: it is sent as null ("leave unchanged"), so the push
    # goes ahead (outside trial 29b F3: it was refused).
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:2].to_list()
    hidden = pa.Array.from_buffers(
        pa.string(),
        2,
        [
            pa.py_buffer(b"\x01"),
            pa.py_buffer(b"\0\0\0\0\1\0\0\0\3\0\0\0"),
            pa.py_buffer(b"a\xff\xfe"),
        ],
    )
    result = client.push_updates(_Exporter(pa.table({"call_id": ids, "hidden": hidden})))
    assert result.ok and result.updated == 2
    # The same in a view column, polars' strings (outside trial 30 F5: refused there alone).
    ids3 = _calls(client)["call_id"][:3].to_list()
    viewed = _view(_VIEW_BYTES, [True, False, True])
    result = client.push_updates(_Exporter(pa.table({"call_id": ids3, "viewed": viewed})))
    assert result.ok and result.updated == 3
    got3 = client.calls(columns=["call_id", "viewed"]).to_polars()
    assert got3.filter(pl.col("call_id").is_in(ids3)).sort("call_id")["viewed"].to_list() == [
        "ab",
        None,
        "a value longer than twelve bytes",
    ]
    got = client.calls(columns=["call_id", "hidden"]).to_polars()
    assert got.filter(pl.col("call_id").is_in(ids)).sort("call_id")["hidden"].to_list() == [
        "a",
        None,
    ]


@pytest.mark.parametrize(
    "shape",
    ["table", "batch", "struct_array", "reader", "exporter", "chunks", "misaligned", "pandas"],
)
def test_a_slice_of_a_struct_of_structs_is_pushed(write_emulator, shape, capfd):
    """arrow-rs applied a sliced struct's offset twice to a struct inside it and panicked: a
    PanicException, which `except Exception` misses (outside trial 30 F1b). pyarrow's inputs
    are rebuilt from offset 0; another exporter's panic is a typed error, sending nothing, and
    prints no panic to stderr (trial 30b F11)."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:3].to_list()
    meta = pa.array([{"a": {"x": 1}}, {"a": {"x": 2}}, {"a": None}])
    table = pa.table({"call_id": pa.array(ids, pa.int64()), "meta": meta}).slice(1)
    data: object = {
        "table": table,
        "batch": table.to_batches()[0],
        "struct_array": table.to_struct_array().chunk(0),
        "reader": pa.RecordBatchReader.from_batches(table.schema, table.to_batches()),
        "exporter": _Exporter(table),
        # Several chunks (a concat, a reader of two batches, row groups): copying the column
        # into one chunk beside a key of two made the export slice it again (trial 30b F2).
        "chunks": pa.concat_tables([table.slice(0, 1), table.slice(1)]),
        # The key in two chunks, the struct in one (trial 30c F1: exported in slices again).
        "misaligned": pa.table(
            {
                "call_id": pa.chunked_array([ids[1:2], ids[2:]], pa.int64()),
                "meta": pa.chunked_array([table.column("meta").combine_chunks()]),
            }
        ),
        "pandas": table.to_pandas(types_mapper=pd.ArrowDtype).iloc[0:],
    }[shape]
    if shape == "exporter":
        capfd.readouterr()
        with pytest.raises(converz.InvalidParameterError, match="could not import its layout"):
            client.push_updates(data)
        assert "panicked" not in capfd.readouterr().err
        return
    result = client.push_updates(data)
    assert result.ok and result.updated == 2
    got = client.calls(columns=["call_id", "meta"]).to_polars().filter(pl.col("call_id").is_in(ids))
    assert got.sort("call_id")["meta"].to_list() == [None, {"a": {"x": 2}}, {"a": None}]


def _nested_lists(depth: int) -> pa.Array:
    """One row whose value is `[[...[1]...]]`, `depth` lists deep."""
    array = pa.array([[1]], pa.list_(pa.int64()))
    for _ in range(depth - 1):
        array = pa.ListArray.from_arrays(pa.array([0, 1], pa.int32()), array)
    return array


def test_a_column_nested_deeper_than_a_fetch_reads_is_refused(write_emulator):
    """A push took lists 62 deep, after which every full fetch's repr, to_arrow() and
    to_pandas() failed with pyarrow's own error (its import stops at 64 levels): outside trial
    30 F4. The deepest a fetch reads is pushed, fetched back and handed to pyarrow."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:1].to_list()
    before = _calls(client)
    with pytest.raises(converz.InvalidParameterError, match="at most 59 levels deep"):
        client.push_updates(pa.table({"call_id": ids, "deep": _nested_lists(60)}))
    assert _calls(client).equals(before)
    deepest = _nested_lists(59)
    assert client.push_updates(pa.table({"call_id": ids, "deep": deepest})).ok
    table = client.calls()
    assert "deep" in repr(table)
    got = table.to_arrow()
    row = got.filter(pa.compute.equal(got["call_id"], ids[0]))
    assert row["deep"].to_pylist() == deepest.to_pylist()


def test_a_push_refused_says_what_the_api_answered(write_emulator):
    """A push whose every chunk got 401 raised a PushError with status_code None: only its
    __cause__ said 401 (outside trial 30)."""
    client = write_emulator.client(progress=False, api_key="not-the-emulators-key")
    with pytest.raises(converz.PushError) as info:
        client.push_updates(pl.DataFrame({"call_id": [1, 2], "a": [1, 2]}))
    err, cause = info.value, info.value.__cause__
    assert isinstance(cause, converz.AuthenticationError)
    assert (err.status_code, err.code, err.endpoint) == (401, cause.code, cause.endpoint)
    assert err.endpoint is not None and err.endpoint.startswith("POST")


def test_pyarrow_readers_files_and_datasets_are_pushed_and_other_objects_refused(
    write_emulator, tmp_path
):
    """An IPC file reader or a dataset raised AttributeError (outside trial 30b F4)."""
    import pyarrow.dataset as ds
    import pyarrow.ipc as ipc

    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:3].to_list()
    table = pa.table({"call_id": pa.array(ids, pa.int64()), "fr": [1, 2, 3]})
    path = tmp_path / "t.arrow"
    with ipc.new_file(str(path), table.schema) as writer:
        writer.write_table(table)
    assert client.push_updates(ipc.open_file(str(path))).updated == 3
    assert client.push_updates(ds.dataset(str(path), format="ipc")).updated == 3
    before = _calls(client)
    for other in (table.schema, table.column(0).chunk(0)[0]):
        with pytest.raises(converz.InvalidParameterError, match="cannot push a"):
            client.push_updates(other)
    assert _calls(client).equals(before)

    def failing() -> Iterator[pa.RecordBatch]:
        yield table.to_batches()[0]
        raise RuntimeError("the source went away")

    reader = pa.RecordBatchReader.from_batches(table.schema, failing())
    with pytest.raises(converz.InvalidParameterError, match="RuntimeError") as info:
        client.push_updates(reader)
    assert isinstance(info.value.__cause__, RuntimeError)
    ree = pa.RunEndEncodedArray.from_arrays(pa.array([3], pa.int32()), pa.array([{"a": {"b": 1}}]))
    with pytest.raises(converz.InvalidParameterError, match="decode its runs first"):
        client.push_updates(pa.table({"call_id": pa.array(ids, pa.int64()), "ree": ree}))


def test_a_stream_reader_read_by_an_earlier_push_is_refused_not_pushed_empty(write_emulator):
    """A push after a dry run of the same reader sent 0 rows and reported success (outside
    trial 60 F1): a stream gives its rows once, and pyarrow reads a used one as empty."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:4].to_list()
    table = pa.table({"call_id": pa.array(ids, pa.int64()), "rd": [1.5, 2.5, 3.5, 4.5]})

    def reader() -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=3))

    used = reader()
    assert client.push_updates(used, dry_run=True).rows == 4
    before = write_emulator.wire_stats()["responses"]
    for _ in range(2):  # a retry is refused alike
        with pytest.raises(converz.InvalidParameterError, match="an earlier push_updates read"):
            client.push_updates(used)
    assert write_emulator.wire_stats()["responses"] == before
    assert "rd" not in _calls(client).columns  # nothing of it was sent
    # As the hint says: a new reader is pushed whole.
    assert client.push_updates(reader()).updated == 4
    got = _calls(client).filter(pl.col("call_id").is_in(ids)).sort("call_id")["rd"].to_list()
    assert got == [1.5, 2.5, 3.5, 4.5]
    # One the caller read first gives no rows: pushed as nothing, with a warning at this line.
    mine = reader()
    mine.read_all()
    before = write_emulator.wire_stats()["responses"]
    with pytest.warns(UserWarning, match="gave no rows, so nothing was pushed") as warned:
        assert client.push_updates(mine).rows == 0
    assert warned[0].filename == __file__
    assert write_emulator.wire_stats()["responses"] == before


class _StreamOf:
    """Another library's stream exporter: each export hands out ``export()``'s stream."""

    def __init__(self, export: Callable[[], Any]) -> None:
        self.export = export

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.export().__arrow_c_stream__(requested_schema)


def test_polars_collect_batches_gets_a_frames_checks(write_emulator):
    """Its batches went through polars' C export unchecked: a NUL in a name aborted the process
    (outside trial 62 F1), and a Null column was refused by arrow-rs (F4). Read as frames, it
    is checked as a frame is, pushed, and read once."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:3].to_list()
    before = write_emulator.wire_stats()["responses"]
    named = pl.LazyFrame({"call_id": ids, "cam\x00paign": ["a", "b", "c"]}).collect_batches()
    with pytest.raises(converz.InvalidParameterError, match="NUL"):
        client.push_updates(named, dry_run=True)
    assert write_emulator.wire_stats()["responses"] == before
    frame = pl.DataFrame({"call_id": ids, "cb": [1.5, 2.5, 3.5], "nothing": [None, None, None]})
    batches = frame.lazy().collect_batches()
    assert client.push_updates(batches).updated == 3
    got = _calls(client).filter(pl.col("call_id").is_in(ids)).sort("call_id")["cb"].to_list()
    assert got == [1.5, 2.5, 3.5]
    with pytest.warns(UserWarning, match="an earlier push_updates read it"):
        assert client.push_updates(batches).rows == 0


def test_ctrl_c_in_a_streams_python_producer_stops_the_push(write_emulator):
    """The producer's KeyboardInterrupt came out of the C stream as an InvalidParameterError
    (outside trial 62 F3), so a loop catching ValueError could not be stopped."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:40].to_list()
    table = pa.table({"call_id": pa.array(ids, pa.int64()), "kc": [1.0] * 40})

    def stopped_at_the_third_batch() -> Iterator[pa.RecordBatch]:
        for number, batch in enumerate(table.to_batches(max_chunksize=10)):
            if number == 2:
                raise KeyboardInterrupt
            yield batch

    before = write_emulator.wire_stats()["responses"]
    reader = pa.RecordBatchReader.from_batches(table.schema, stopped_at_the_third_batch())
    with pytest.raises(KeyboardInterrupt, match="stopped while its data was read"):
        client.push_updates(_StreamOf(lambda: reader))
    assert write_emulator.wire_stats()["responses"] == before
    # Another failure of the producer stays what it was: the data could not be read.
    failing = pa.RecordBatchReader.from_batches(table.schema, iter([table.to_batches()[0], 1]))
    with pytest.raises(converz.InvalidParameterError, match="could not be read as Arrow"):
        client.push_updates(_StreamOf(lambda: failing))


@pytest.mark.parametrize("dry_run", [False, True])
def test_ctrl_c_during_the_checks_stops_the_push_with_nothing_sent(write_emulator, dry_run):
    """A stop during a push's checks was a bare KeyboardInterrupt, with no PushError cause (a
    stop while sending has one) and no word that nothing was sent (outside trial 73 F1). The
    signal is made pending and the push called in one chain of C calls (map over C callables),
    so no Python bytecode runs between them: the push itself takes the stop, before reading or
    after checking the frame, and before any request."""
    import _thread
    import functools
    import operator

    from converz import _core

    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:40].to_list()
    table = pa.table({"call_id": pa.array(ids, pa.int64()), "kd": [1.0] * 40})
    options = {
        "to": None,
        "clear": [],
        "chunk_rows": 100_000,
        "on_duplicate": "error",
        "timezone": None,
        "dry_run": dry_run,
        "strict": False,
        "progress": None,
    }
    push = functools.partial(_core.push, client._raw, table, options)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = write_emulator.wire_stats()["responses"]
    try:
        for _ in range(5):
            with pytest.raises(KeyboardInterrupt) as stop:
                list(map(operator.call, [_thread.interrupt_main, push]))
            assert stop.value.__cause__ is None
            said = str(stop.value)
            assert said.endswith("; nothing was sent"), said
            assert "data was checked" in said or "data was read" in said, said
    finally:
        signal.signal(signal.SIGINT, previous)
    assert write_emulator.wire_stats()["responses"] == before
    assert client.push_updates(table, dry_run=dry_run).rows == 40


def test_a_bare_stop_between_the_cores_steps_says_nothing_was_sent():
    """A Ctrl-C landing in Python code before the first request (pyarrow converting a pandas
    frame, the line after a file's read) came out bare (outside trial 75 F2, F3), and the
    CLI's line dropped the core's own "nothing was sent" (F4)."""
    from converz._cli import _stopped_detail, _Terminated
    from converz._push import stop_said

    with pytest.raises(KeyboardInterrupt) as stop, stop_said("its data was read"):
        raise KeyboardInterrupt
    said = "the push was stopped while its data was read; nothing was sent"
    assert str(stop.value) == said and stop.value.__cause__ is None
    assert _stopped_detail(stop.value) == f": {said}"
    # A stop that says something, or another kind of stop, passes as it is.
    for other in (KeyboardInterrupt("stopped by the user"), _Terminated()):
        with pytest.raises(KeyboardInterrupt) as stop, stop_said("its data was read"):
            raise other
        assert stop.value is other
        assert _stopped_detail(other) == ""


def test_ctrl_c_while_a_file_is_read_stops_at_once_with_nothing_sent(tmp_path, python_ctrl_c):
    """A file to push is read on a blocking thread while the caller's takes Ctrl-C: a large
    CSV had kept a stop waiting for its whole read, then raised it bare (outside trial 74 F3).
    The signal is made pending and the read called in one chain of C calls, as above."""
    import _thread
    import functools
    import operator

    from converz import _core

    path = tmp_path / "big.csv"
    pl.DataFrame({"call_id": range(200_000), "v": [0.5] * 200_000}).write_csv(path)
    read = functools.partial(_core.read_file, str(path), None, None)
    with pytest.raises(KeyboardInterrupt) as stop:
        list(map(operator.call, [_thread.interrupt_main, read]))
    assert str(stop.value) == "the push was stopped while its file was read; nothing was sent"
    assert stop.value.__cause__ is None
    assert pa.table(read()).num_rows == 200_000  # and without a stop, the file is read


@pytest.mark.parametrize("dry_run", [False, True])
def test_ctrl_c_in_an_exporters_own_export_stops_the_push(write_emulator, dry_run):
    """Ctrl-C while a PyCapsule exporter's `__arrow_c_stream__` ran (a slow source) became an
    InvalidParameterError, a ValueError (outside trial 67 F2)."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:3].to_list()
    table = pa.table({"call_id": pa.array(ids, pa.int64()), "ke": [1.0] * 3})

    class Stopped:
        def __arrow_c_stream__(self, requested_schema: object = None) -> object:
            raise KeyboardInterrupt

    before = write_emulator.wire_stats()["responses"]
    with pytest.raises(KeyboardInterrupt, match="stopped while its data was read"):
        client.push_updates(Stopped(), dry_run=dry_run)
    assert write_emulator.wire_stats()["responses"] == before
    assert client.push_updates(_StreamOf(lambda: table), dry_run=dry_run).rows == 3


def test_a_warning_names_the_line_of_a_user_module_whose_name_starts_with_converz(
    write_emulator, tmp_path, monkeypatch
):
    """A user's `converz_jobs.py` was taken for converz's own, and the warning named its caller
    (outside trial 62 F5)."""
    (tmp_path / "converz_jobs.py").write_text(
        "def push_it(client, data):\n    return client.push_updates(data)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import converz_jobs  # type: ignore[import-not-found]

    client = write_emulator.client(progress=False)
    empty = pa.table({"call_id": pa.array([], pa.int64())})
    reader = pa.RecordBatchReader.from_batches(empty.schema, [])
    with pytest.warns(UserWarning, match="gave no rows") as warned:
        converz_jobs.push_it(client, reader)
    assert (warned[0].filename, warned[0].lineno) == (str(tmp_path / "converz_jobs.py"), 2)


def test_the_callers_own_column_names_are_shown_as_written_but_for_the_key_itself():
    """The README's rule (outside trial 61 F3 read it as promising more): pieces of the key are
    replaced in what the server sent; a name the caller wrote is shown as written, and only the
    key's whole written forms are replaced in it."""
    key = "sk_live_Q9vkZrNxT3pW8mYb2Lc7"
    with Emulator(calls=20, reps=2, seed=3, api_key=key) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist()[:1]
        shown = {}
        for name in (key, key[:-1], "x" + key):
            with pytest.raises(converz.InvalidParameterError) as info:
                client.push_updates(pa.table({"call_id": ids, name: [float("nan")]}))
            shown[name] = str(info.value)
    assert "column `***`" in shown[key] and key not in shown[key]
    assert f"column `{key[:-1]}`" in shown[key[:-1]]
    assert "column `x***`" in shown["x" + key] and key not in shown["x" + key]


def test_a_one_shot_stream_exporter_that_gives_no_rows_warns_naming_the_earlier_push(
    write_emulator,
):
    """polars' collect_batches() (or any exporter handing out a one-shot stream) pushed after a
    dry run of it sent 0 rows, unwarned (outside trial 61 F1). converz cannot tell a one-shot
    exporter before reading it; one that exports afresh each time is pushed every time."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:5].to_list()
    frame = pl.DataFrame({"call_id": ids, "os": [1.0, 2.0, 3.0, 4.0, 5.0]})
    table = frame.to_arrow()
    one_shot = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    for stream in (frame.lazy().collect_batches(), _StreamOf(lambda: one_shot)):
        assert client.push_updates(stream, dry_run=True).rows == 5
        before = write_emulator.wire_stats()["responses"]
        with pytest.warns(UserWarning, match="gave no rows.*an earlier push_updates read it"):
            assert client.push_updates(stream).rows == 0
        assert write_emulator.wire_stats()["responses"] == before
    afresh = _StreamOf(lambda: table)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):
            assert client.push_updates(afresh).updated == 5
    empty = _StreamOf(lambda: table.slice(0, 0))
    with pytest.warns(UserWarning, match="gave no rows.*if it is a stream that was read before"):
        assert client.push_updates(empty).rows == 0


def _push_at_once(client: converz.Client, data: Any, threads: int) -> list[Any]:
    """What pushes of ``data`` in ``threads`` threads started together each gave: the rows
    sent, or the InvalidParameterError raised."""
    start = threading.Barrier(threads)
    outcomes: list[Any] = []

    def push() -> None:
        start.wait()
        try:
            outcomes.append(client.push_updates(data).rows)
        except converz.InvalidParameterError as err:
            outcomes.append(err)

    started = [threading.Thread(target=push) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return outcomes


def test_of_pushes_of_one_reader_in_several_threads_one_reads_it_and_the_rest_are_refused(
    write_emulator,
):
    """Two pushes of one reader each sent part of its rows, or one sent none and reported
    success (outside trial 61 F2): marking the reader read was not one step with checking."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:60].to_list()
    table = pa.table({"call_id": pa.array(ids, pa.int64()), "th": [float(i) for i in range(60)]})
    for _ in range(20):
        reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=10))
        outcomes = _push_at_once(client, reader, threads=3)
        assert sorted(o for o in outcomes if isinstance(o, int)) == [60], outcomes
        refused = [o for o in outcomes if not isinstance(o, int)]
        assert len(refused) == 2
        assert all("an earlier push_updates read it" in str(err) for err in refused)


@pytest.mark.parametrize(
    "wrong",
    [{"chunk_rows": 0}, {"to": "bogus"}, {"on_duplicate": "x"}, {"timezone": "Mars/Olympus"}],
)
def test_an_option_value_wrong_whatever_the_frame_is_refused_before_a_reader_is_read(
    write_emulator, wrong
):
    """The reader was read whole, then the value refused, and the corrected call found it read
    (outside trial 61 F4)."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:4].to_list()
    table = pa.table({"call_id": pa.array(ids, pa.int64()), "ov": [1, 2, 3, 4]})
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    one_shot = _StreamOf(lambda: pa.RecordBatchReader.from_batches(table.schema, []))
    name = next(iter(wrong))
    for data in (reader, one_shot):
        with pytest.raises(converz.InvalidParameterError) as info:
            client.push_updates(data, **wrong)
        assert info.value.parameter == name
    assert client.push_updates(reader).updated == 4  # not read by the refused call


@pytest.mark.parametrize("data", [None, 5, "calls.csv", [1, 2], {"call_id": [1]}])
def test_something_that_is_no_frame_is_a_wrong_type(data):
    """`push_updates(None)` raised an InvalidParameterError, no TypeError, where every other
    wrong type raises InvalidParameterTypeError (outside trial 36 F6)."""
    with Emulator(calls=5) as emu:
        client = emu.client(progress=False)
        before = emu.wire_stats()["responses"]
        with pytest.raises(converz.InvalidParameterTypeError, match="cannot push a") as info:
            client.push_updates(data)
        assert isinstance(info.value, TypeError)
        assert emu.wire_stats()["responses"] == before


def test_a_pandas_column_of_sets_is_refused_before_any_request():
    """A set has no order: pushed, it was stored in its hash order, another on each run
    (outside trial 36 F4)."""
    with Emulator(calls=5) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist()[:2]
        before = emu.wire_stats()["responses"]
        frame = pd.DataFrame({"call_id": ids, "tags": [{"a", "b", "c"}, None]})
        with pytest.raises(converz.InvalidParameterError, match="holds Python sets"):
            client.push_updates(frame)
        assert emu.wire_stats()["responses"] == before
        # Sorted into lists, as the message says, it is pushed.
        frame["tags"] = frame["tags"].map(lambda v: sorted(v) if v is not None else None)
        assert client.push_updates(frame).updated == 2


@pytest.mark.parametrize(
    ("frame", "kwargs"),
    [
        (pl.DataFrame({"x": [1]}), {"to": "calls"}),
        (pl.DataFrame({"call_id": ["1"]}), {"to": "calls"}),
        (pl.DataFrame({"call_id": [1.0]}), {}),
        (pl.DataFrame({"rep_id": [1]}), {"to": "reps"}),
        (pl.DataFrame({"call_id": [1], "a,b": [1]}), {}),
        (pl.DataFrame({"call_id": [1], "a": [1]}), {"clear": ["nope"]}),
        (pl.DataFrame({"call_id": [1], "a": [1]}), {"clear": ["call_id"]}),
        (pl.DataFrame({"call_id": [1], "a": [1]}), {"timezone": "Mars/Base"}),
        (pa.table({"call_id": [1], "x": [1], "y": [2]}).rename_columns(["call_id", "x", "x"]), {}),
        (
            pa.table({"call_id": [1], "u": pa.array([b"0123456789abcdef"], pa.uuid())}),
            {},
        ),
        # Types no value of may be sent, refused with rows even when all are null (outside
        # trial 66 F1: accepted without rows).
        (pa.table({"call_id": [1], "d": pa.array([None], pa.duration("us"))}), {}),
        (pa.table({"call_id": [1], "t": pa.array([None], pa.time32("s"))}), {}),
        (pa.table({"call_id": [1], "b": pa.array([None], pa.binary())}), {}),
        (pa.table({"call_id": [1], "m": pa.array([None], pa.map_(pa.string(), pa.int64()))}), {}),
        (pa.table({"call_id": [1], "i": pa.array([None], pa.month_day_nano_interval())}), {}),
        (pd.DataFrame({"call_id": [1], "d": pd.to_timedelta([1], unit="s")}), {}),
    ],
)
def test_a_frame_without_rows_is_checked_as_one_with_rows(write_emulator, frame, kwargs):
    """A frame's schema is refused whether or not it has rows (outside trial 65 F1: a 0-row
    frame without `call_id`, or with text ids, reported "sent 0 rows"), with the same words,
    so a wrong schema is found on the first run, not the first run with data."""
    client = write_emulator.client(progress=False)
    before = write_emulator.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError) as with_rows:
        client.push_updates(frame, **kwargs)
    for dry_run in (False, True):
        empty = frame.iloc[:0] if isinstance(frame, pd.DataFrame) else frame.slice(0, 0)
        with pytest.raises(converz.InvalidParameterError) as without_rows:
            client.push_updates(empty, dry_run=dry_run, **kwargs)
        assert str(without_rows.value) == str(with_rows.value)
        if isinstance(frame, pa.Table):
            no_batches = pa.RecordBatchReader.from_batches(frame.schema, [])
            with pytest.raises(converz.InvalidParameterError) as without_batches:
                client.push_updates(no_batches, dry_run=dry_run, **kwargs)
            assert str(without_batches.value) == str(with_rows.value)
    assert write_emulator.wire_stats()["responses"] == before


@pytest.mark.parametrize(
    "frame",
    [
        pl.DataFrame({"call_id": [None, None], "x": [1, 2]}),
        pa.table({"call_id": pa.array([None, None], pa.null()), "x": [1, 2]}),
        pd.DataFrame({"call_id": pd.Series([None, None], dtype=object), "x": [1, 2]}),
    ],
    ids=["polars", "pyarrow", "pandas"],
)
def test_a_key_of_only_nulls_is_refused_as_nulls_and_without_rows_sends_nothing(
    write_emulator, frame
):
    """A Null-typed key (only nulls) was refused for its type, and from polars as "has type
    Boolean" (outside trial 67 F3); without rows it has no null to refuse, as a frame built
    from empty lists in any library has it, and sends nothing."""
    client = write_emulator.client(progress=False)
    before = write_emulator.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError, match="null") as info:
        client.push_updates(frame)
    assert "Boolean" not in str(info.value)
    empty = frame.iloc[:0] if isinstance(frame, pd.DataFrame) else frame.slice(0, 0)
    assert client.push_updates(empty).rows == 0
    assert write_emulator.wire_stats()["responses"] == before


@pytest.mark.parametrize("key", ["call_id", "rep_id"])
def test_an_empty_pandas_frame_whose_key_has_no_dtype_yet_sends_nothing(write_emulator, key):
    """pandas exports an `object` column without values as Null; such a key was refused as
    "type Null" (outside trial 66 F2), where the same frame with ids is pushed."""
    client = write_emulator.client(progress=False)
    before = write_emulator.wire_stats()["responses"]
    for frame in (
        pd.DataFrame([], columns=[key, "x"]),
        pd.DataFrame({key: pd.Series([1, 2], dtype=object), "x": [1.0, 2.0]}).iloc[:0],
    ):
        for dry_run in (True, False):
            result = client.push_updates(frame, dry_run=dry_run)
            assert (result.rows, result.chunks) == (0, ())
            assert result.target == ("calls" if key == "call_id" else "reps")
    assert write_emulator.wire_stats()["responses"] == before


def test_a_push_stopped_while_no_connection_was_made_says_nothing_was_sent(python_ctrl_c):
    """A push to a server refusing every connection, stopped during its retries, said its
    chunks "were in flight and may or may not be applied" (outside trial 75 F9): no request
    was written, so each chunk is "not sent", and every row is left to send."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again at once: connections to it are refused
    client = converz.Client(
        api_key="k", base_url=f"http://127.0.0.1:{port}", retries=8, backoff=0.2, progress=False
    )
    frame = pl.DataFrame({"call_id": list(range(1, 301)), "kd": 1.0})
    stopper = threading.Timer(0.6, os.kill, (os.getpid(), signal.SIGINT))
    stopper.start()
    with pytest.raises(KeyboardInterrupt) as stop:
        client.push_updates(frame, chunk_rows=100)
    stopper.cancel()
    error = stop.value.__cause__
    assert isinstance(error, converz.PushError)
    assert [c.status for c in error.result.chunks] == ["not_sent"] * 3
    assert "0 were in flight" in str(error), str(error)
    assert error.result.remaining.num_rows == 300


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "UTC+5", "europe/amsterdam"])
def test_a_timezone_that_is_none_says_how_one_is_spelt(write_emulator, zone):
    """Arrow's own error ("Parser error: Invalid timezone") was the message (trial 76 F8)."""
    client = write_emulator.client(progress=False)
    ids = _calls(client)["call_id"][:1].to_list()
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(pl.DataFrame({"call_id": ids, "kd": 1.0}), timezone=zone)
    assert info.value.parameter == "timezone"
    said = str(info.value)
    assert f"{zone!r}".replace("'", '"') + " is no time zone" in said, said
    assert "Europe/Amsterdam" in said and "Parser error" not in said, said


def test_a_timezone_object_is_refused_with_the_name_to_pass(write_emulator):
    """pandas' `.dt.tz` is a ZoneInfo, refused with no word of its name; a name in other case
    was refused without its spelling (outside trial 77 F5)."""
    import zoneinfo

    client = write_emulator.client(progress=False)
    frame = pl.DataFrame({"call_id": _calls(client)["call_id"][:1].to_list(), "kd": 1.0})
    cases = [
        (zoneinfo.ZoneInfo("Europe/Amsterdam"), "timezone='Europe/Amsterdam'"),
        (dt.timezone.utc, "timezone='UTC'"),
        (dt.timezone(dt.timedelta(hours=5, minutes=30)), "timezone='+05:30'"),
    ]
    for zone, named in cases:
        with pytest.raises(converz.InvalidParameterTypeError, match="pass its name") as info:
            client.push_updates(frame, timezone=zone)
        assert named in str(info.value), str(info.value)
        spelled = named.split("=")[1].strip("'")
        assert client.push_updates(frame, timezone=spelled, dry_run=True).rows == 1
    for given, spelt in [("utc", "UTC"), ("europe/amsterdam", "Europe/Amsterdam")]:
        with pytest.raises(converz.InvalidParameterError) as info:
            client.push_updates(frame, timezone=given)
        assert f'the tz database spells it "{spelt}"' in str(info.value), str(info.value)


def test_a_clear_column_that_is_none_is_named_as_python_spells_it(write_emulator):
    """A `clear=` name with a newline broke the message over two lines, and a zero-width space
    in it showed as nothing (outside trial 80)."""
    client = write_emulator.client(progress=False)
    frame = pl.DataFrame({"call_id": _calls(client)["call_id"][:1].to_list(), "kd": 1.0})
    for name, spelled in [("a\nb", "`a\\nb`"), ("\u200bq", "`\\u200bq`")]:
        with pytest.raises(converz.InvalidParameterError) as info:
            client.push_updates(frame, clear=[name], dry_run=True)
        assert f"{spelled} is not a column of the data" in str(info.value), str(info.value)
