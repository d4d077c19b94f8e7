"""`Table.to_polars()` / `.to_pandas()` / `.to_arrow()`: the same values and dtypes whatever the
order they are called in, while the string columns change form underneath (Utf8View for
polars, large_string for pandas) and the frames share the table's buffers."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

import converz
from converz._table import _Stream

STRINGS = ["vendor_call_id", "rep_id", "topic", "outcome", "summary"]


@pytest.fixture
def fetch(client: converz.Client) -> Callable[[], converz.Table]:
    """A fresh table per call: converting one changes its string columns' form."""
    return lambda: client.calls(start_date="2025-08-01")


def test_to_polars_gives_what_polars_own_import_gives(
    fetch: Callable[[], converz.Table],
) -> None:
    table = fetch()
    want = pl.DataFrame(table)  # polars' import of the declared (Utf8) stream
    assert table.num_rows > 1_000 and want["sentiment"].null_count() > 0
    got = table.to_polars()
    assert_frame_equal(got, want)
    assert got.schema["summary"] == pl.String
    # Again from the converted table, and through the declared export, which casts back.
    assert_frame_equal(table.to_polars(), want)
    assert_frame_equal(pl.DataFrame(table), want)


def test_after_to_polars_arrow_and_pandas_are_unchanged(
    fetch: Callable[[], converz.Table],
) -> None:
    table = fetch()
    schema = table.schema
    arrow = table.to_arrow()
    pandas = arrow.to_pandas()
    table.to_polars()
    assert table.schema == schema and schema["summary"] == "Utf8"
    again = table.to_arrow()
    assert again.schema == arrow.schema and again.schema.field("rep_id").type == pa.string()
    assert again.equals(arrow)
    pd.testing.assert_frame_equal(table.to_pandas(), pandas)


def test_to_pandas_gives_what_pyarrow_gives(fetch: Callable[[], converz.Table]) -> None:
    table = fetch()
    want_arrow = table.to_arrow()
    want = want_arrow.to_pandas()
    got = table.to_pandas()
    pd.testing.assert_frame_equal(got, want)
    assert str(got["summary"].dtype) == str(want["summary"].dtype)
    # Converted once, the table hands the same frame again, and to polars as well.
    pd.testing.assert_frame_equal(table.to_pandas(), want)
    assert_frame_equal(table.to_polars(), pl.DataFrame(want_arrow))
    assert table.to_arrow().schema.field("summary").type == pa.string()


def test_to_pandas_passes_its_arguments_to_pyarrow(fetch: Callable[[], converz.Table]) -> None:
    table = fetch()
    arrow = table.to_arrow()
    for kwargs in (
        {"types_mapper": pd.ArrowDtype},
        {"strings_to_categorical": True},
        {"split_blocks": True, "date_as_object": False},
    ):
        want = arrow.to_pandas(**kwargs)
        got = table.to_pandas(**kwargs)
        pd.testing.assert_frame_equal(got, want)
    typed = table.to_pandas(types_mapper=pd.ArrowDtype)
    assert typed["rep_id"].dtype == pd.ArrowDtype(pa.string())


def test_the_frame_shares_the_tables_string_buffers(fetch: Callable[[], converz.Table]) -> None:
    table = fetch()
    table.to_polars()
    first = pa.table(_Stream(table._raw, "utf8_view"))
    second = pa.table(_Stream(table._raw, "utf8_view"))
    for name in STRINGS:
        assert first.schema.field(name).type == pa.string_view()
        for a, b in zip(first.column(name).chunks, second.column(name).chunks):
            assert [x and x.address for x in a.buffers()] == [x and x.address for x in b.buffers()]
    # Codes of at most 12 bytes live in their views: no value bytes are kept for them.
    for name in ("rep_id", "outcome"):
        assert all(len(c.buffers()) == 2 for c in first.column(name).chunks), name
    assert all(len(c.buffers()) == 3 for c in first.column("summary").chunks)


def test_empty_and_small_tables_convert(client: converz.Client) -> None:
    empty = client.calls(start_date="2001-01-01", end_date="2001-01-31")
    frame = empty.to_polars()
    assert frame.height == 0 and frame.schema["summary"] == pl.String
    assert empty.to_pandas().columns.tolist() == list(empty.schema)
    reps = client.reps(rep_id=["kees100", "anna101"])
    want = pl.DataFrame(reps)
    assert_frame_equal(reps.to_polars(), want)
    pd.testing.assert_frame_equal(reps.to_pandas(), reps.to_arrow().to_pandas())


def test_an_unknown_form_is_refused(fetch: Callable[[], converz.Table]) -> None:
    with pytest.raises(converz.InvalidParameterError) as err:
        fetch()._raw.stream_as("utf16")
    assert err.value.parameter == "form"
