"""Outside trial 83: a documented column that every row leaves out, the text a stream's
joined pages give a column that ends as text, the key echoed in hex, numpy dtypes in
`schema=`."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from typing import Callable

import numpy as np
import polars as pl
import pytest
from hostile_support import RawServer, Responder, paged, serving
from hypothesis import given, settings
from hypothesis import strategies as st

import converz


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


def with_nulls(rows: list[dict], names: list[str]) -> list[str]:
    """`rows` as JSON with each of `names` sent as null where a row leaves it out."""
    return [json.dumps({**{n: None for n in names}, **row}) for row in rows]


def joined(client: converz.Client, page_size: int, **query: object) -> pl.DataFrame:
    return converz.Table.concat(client.iter_calls(page_size=page_size, **query)).to_polars()


@pytest.mark.parametrize("page_size", [1, 2, 1_000])
def test_a_named_column_every_row_leaves_out_is_there_as_nulls(serve, page_size):
    """F2: `calls(columns=["duration"])` of rows without `duration` had rows and no columns
    (DuckDB refuses such a table): the columns depended on whether the server wrote `null` or
    nothing. A column `columns=` names is in the result, in the order named, as in a result
    with no rows; a key left out reads as null, as in every row that leaves out some columns."""
    rows = [{"call_id": i, "rep_id": f"r{i}"} for i in range(1, 6)]
    absent = serve(paged([json.dumps(r) for r in rows])).client()
    empty = serve(paged([])).client()
    for columns in (["duration"], ["sentiment", "call_id", "date"], ["rep_id", "custom"]):
        documented = empty.calls(columns=columns).to_polars().schema
        got = absent.calls(page_size=page_size, columns=columns).to_polars()
        assert got.columns == columns
        assert got.schema == documented, columns
        assert got.height == len(rows)
        # The same rows with the keys sent as null give the same frame.
        sent_null = serve(paged(with_nulls(rows, columns))).client()
        assert got.equals(sent_null.calls(page_size=page_size, columns=columns).to_polars())
        # Every way out has them alike: each stream page, the joined stream.
        for table in absent.iter_calls(page_size=page_size, columns=columns):
            assert table.to_polars().schema == got.schema
        assert joined(absent, page_size, columns=columns).equals(got)
    # Without `columns=`, the columns are those the rows hold (a stand-in server's own).
    assert absent.calls().column_names == ["call_id", "rep_id"]


def test_a_left_out_column_takes_the_type_schema_forces(serve):
    rows = [json.dumps({"call_id": i}) for i in range(1, 4)]
    client = serve(paged(rows)).client()
    got = client.calls(columns=["call_id", "duration"], schema={"duration": "float64"})
    assert got.to_polars().schema == {"call_id": pl.Int64, "duration": pl.Float64}


@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_a_documented_column_first_held_on_a_later_page_joins_as_the_eager_table(serve, page_size):
    """A column left out on the first pages and held later, with a custom column first held
    beside it: each stream page has every column, and the joined stream is the eager table."""
    rows = [
        {"call_id": 1},
        {"call_id": 2},
        {"call_id": 3, "custom": "x", "duration": 7},
        {"call_id": 4, "duration": 8},
    ]
    client = serve(paged([json.dumps(r) for r in rows])).client()
    query = {"columns": ["call_id", "duration", "custom"]}
    eager = client.calls(page_size=page_size, **query).to_polars()
    assert eager["duration"].to_list() == [None, None, 7, 8]
    assert eager.schema["duration"] == pl.Int64
    assert joined(client, page_size, **query).equals(eager)


def test_a_streams_joined_pages_spell_a_column_that_ends_as_text_as_the_eager_table(serve):
    """F1: integers on a page after a float page are handed out as floats (the widest type so
    far), and `Table.concat` printed them as floats (`3.0`) where `calls()` keeps `3`."""
    values = ["1.5", "2", "3", "4", '"five"', "6"]
    rows = [f'{{"call_id":{i},"x":{v}}}' for i, v in enumerate(values, 1)]
    client = serve(paged(rows)).client()
    eager = client.calls(page_size=2)
    assert eager.to_arrow().column("x").to_pylist() == ["1.5", "2.0", "3", "4", "five", "6"]
    stream = client.iter_calls(page_size=2)
    joined_table = converz.Table.concat(stream)
    assert joined_table.to_arrow().equals(eager.to_arrow())
    assert joined_table.warnings == eager.warnings


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["a", "2024-01-02", "2024-01-02 03:04:05"]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(scalars, min_size=1, max_size=3), min_size=1, max_size=5),
    st.integers(1, 4),
)
def test_a_streams_joined_pages_are_the_eager_table_whatever_the_types(pages, page_size):
    """Property: pages of any mix of types, joined from the stream, are the eager table:
    values, types and warnings."""
    values = [v for page in pages for v in page]
    rows = [json.dumps({"call_id": i, "x": v}) for i, v in enumerate(values, 1)]
    server = RawServer(paged(rows))
    try:
        client = server.client()
        eager = client.calls(page_size=page_size)
        joined_table = converz.Table.concat(client.iter_calls(page_size=page_size))
    finally:
        server.stop()
    assert joined_table.to_arrow().equals(eager.to_arrow()), (values, page_size)
    assert joined_table.warnings == eager.warnings


@pytest.mark.parametrize("drop_the_stream", [False, True])
def test_a_streams_warnings_are_the_eager_fetchs(serve, drop_the_stream):
    """Outside trial 82 F2: pages of integers, then text, then floats: `stream.warnings` left
    out the eager warning's note on Float64's spelling and its `schema=` fix, and the tables
    joined once the stream was gone said the column mixed "integers, strings" only."""
    values = [1, 2, "a", "b", 1.5, 2.5]
    rows = [json.dumps({"call_id": i, "qa": v}) for i, v in enumerate(values, 1)]
    client = serve(paged(rows)).client()
    eager = client.calls(page_size=2)
    assert any("Float64 prints" in w for w in eager.warnings), eager.warnings
    stream = client.iter_calls(page_size=2)
    tables = list(stream)
    assert stream.warnings == eager.warnings
    if drop_the_stream:
        del stream
    joined_table = converz.Table.concat(tables)
    assert joined_table.to_arrow().equals(eager.to_arrow())
    assert joined_table.warnings == eager.warnings


@pytest.mark.parametrize(
    ("dtype", "means"),
    [
        (np.dtype("int8"), pl.Int8),
        (np.int8, pl.Int8),
        (np.uint32, pl.UInt32),
        (np.float32, pl.Float32),
        (np.dtype("f8"), pl.Float64),
        (np.bool_, pl.Boolean),
        (np.str_, pl.String),
        (np.dtype("M8[ms]"), pl.Datetime("ms")),
        (np.dtype("M8[D]"), pl.Date),
    ],
)
def test_numpy_dtypes_are_types_schema_takes(serve, dtype, means):
    """F5: numpy dtypes and scalar types were refused, where numpy's codes (`'i1'`) were told
    what they mean."""
    value = {pl.Boolean: "true", pl.String: '"a"'}.get(means, "1")
    if means in (pl.Date, pl.Datetime("ms")):
        value = '"2025-09-01"'
    client = serve(paged([f'{{"call_id":1,"x":{value}}}'])).client()
    assert client.calls(schema={"x": dtype}).to_polars().schema["x"] == means


def test_a_numpy_dtype_schema_does_not_take_is_refused_naming_it(serve):
    client = serve(paged(['{"call_id":1,"x":1}'])).client()
    for refused in (np.float16, np.complex64, np.dtype("m8[s]")):
        with pytest.raises(converz.InvalidParameterError, match="is not a type schema= takes"):
            client.calls(schema={"x": refused})


@pytest.mark.parametrize("drop_the_stream", [False, True])
def test_a_float_page_with_an_integer_past_2_53_joins_as_the_eager_table(serve, drop_the_stream):
    """Trial 84 N1, N2: a page of a float and an integer past 2^53 is text by its own values
    (the integer kept as sent) and handed out as floats; joined, the integer read
    `9007199254740992.0` where the eager table has `9007199254740993` when the column ended as
    text, and once the stream was gone the join said nothing where the eager fetch warns that
    Float64 rounds the integer when it ended as floats."""
    for last in ("[4]", "1"):
        rows = [
            f'{{"call_id":{i},"x":{v}}}' for i, v in enumerate(["0.1", "9007199254740993", last], 1)
        ]
        client = serve(paged(rows)).client()
        eager = client.calls(page_size=2)
        assert eager.warnings
        stream = client.iter_calls(page_size=2)
        tables = list(stream)
        if drop_the_stream:
            del stream
        joined_table = converz.Table.concat(tables)
        assert joined_table.to_arrow().equals(eager.to_arrow()), last
        assert joined_table.warnings == eager.warnings, last


def test_a_streams_pickled_tables_join_as_the_eager_table(serve):
    """Trial 84: a stream's tables pickled before the join (another process's, as Dask or a
    pool sends them) read `3.0` again: the pickle left out their own types."""
    values = ["1.5", "2", "3", "4", '"five"', "6", "0.5", "9007199254740993", "[4]"]
    rows = [f'{{"call_id":{i},"x":{v}}}' for i, v in enumerate(values, 1)]
    client = serve(paged(rows)).client()
    eager = client.calls(page_size=2)
    stream = client.iter_calls(page_size=2)
    tables = [pickle.loads(pickle.dumps(t)) for t in stream]
    joined_table = converz.Table.concat(tables)
    assert joined_table.to_arrow().equals(eager.to_arrow())
    assert joined_table.warnings == eager.warnings
    # What each table hands out is unchanged by the pickle.
    for before, after in zip(client.iter_calls(page_size=2), tables):
        assert before.to_arrow().equals(after.to_arrow())


def test_a_repeated_call_id_with_other_values_says_which_was_kept(serve):
    """F4: a call_id repeated on the next page with another value kept the first, and the
    warning did not say which of the two the result holds."""
    rows = [
        '{"call_id":1,"x":1}',
        '{"call_id":2,"x":2}',
        '{"call_id":2,"x":99}',
        '{"call_id":3,"x":4}',
    ]
    server = serve(paged(rows))
    client = converz.Client(api_key="k" * 32, base_url=server.url, progress=False)
    table = client.calls(page_size=2)
    assert table.to_arrow().to_pylist() == [
        {"call_id": 1, "x": 1},
        {"call_id": 2, "x": 2},
        {"call_id": 3, "x": 4},
    ]
    (warning,) = [w for w in table.warnings if "repeated" in w]
    assert "1 repeated call_id row was dropped (each row is kept as first read)" in warning
