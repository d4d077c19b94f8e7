"""A `converz.Table` pickles as one Arrow IPC stream: the same schema, batches and values come
back (what multiprocessing, Dask, Ray and joblib need), across processes too."""

from __future__ import annotations

import multiprocessing
import pickle

import polars as pl
import pyarrow as pa
import pytest

import converz


def _same(a: converz.Table, b: converz.Table) -> None:
    assert b.schema == a.schema
    left, right = a.to_arrow(), b.to_arrow()
    assert right.schema == left.schema
    assert right.equals(left)
    # The batch boundaries survive too: a page is a batch.
    assert [len(x) for x in right.to_batches()] == [len(x) for x in left.to_batches()]


def test_a_fetched_table_round_trips_with_its_summary(client: converz.Client) -> None:
    calls = client.calls(start_date="2025-09-01", page_size=700)
    back = pickle.loads(pickle.dumps(calls))
    assert isinstance(back, converz.Table)
    _same(calls, back)
    assert (back.warnings, back.pages, back.elapsed) == (calls.warnings, calls.pages, calls.elapsed)


def test_a_table_already_handed_to_polars_pickles_its_declared_types(
    client: converz.Client,
) -> None:
    reps = client.reps()
    before = reps.to_arrow()
    reps.to_polars()  # turns the string columns into views in place
    back = pickle.loads(pickle.dumps(reps, protocol=pickle.HIGHEST_PROTOCOL))
    assert back.to_arrow().equals(before)
    assert back.schema == reps.schema


def test_an_empty_table_keeps_its_columns(client: converz.Client) -> None:
    empty = client.calls(start_date="1990-01-01", end_date="1990-01-02")
    assert empty.num_rows == 0 and empty.num_columns > 0
    back = pickle.loads(pickle.dumps(empty))
    assert back.num_rows == 0 and back.schema == empty.schema


def _rows_in_child(data: bytes) -> tuple[int, list[int]]:
    table = pickle.loads(data)
    df = pl.DataFrame(table)
    return df.height, df["call_id"].head(3).to_list()


def test_a_table_crosses_a_process_boundary(client: converz.Client) -> None:
    calls = client.calls(start_date="2025-09-20")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        height, first = pool.apply(_rows_in_child, (pickle.dumps(calls),))
    df = calls.to_polars()
    assert height == df.height and first == df["call_id"].head(3).to_list()


def test_other_bytes_do_not_unpickle_into_a_table() -> None:
    from converz._table import _unpickle_table

    with pytest.raises(converz.InvalidParameterError, match=r"not a pickled converz\.Table"):
        _unpickle_table(b"definitely not arrow", [], None, None)


def test_a_stream_says_why_it_cannot_be_pickled(client: converz.Client) -> None:
    stream = client.iter_calls(start_date="2025-09-01")
    with pytest.raises(TypeError, match="fetch in progress"):
        pickle.dumps(stream)


def test_arrow_types_beyond_the_api_round_trip() -> None:
    """Tables also come from files and pushes: any Arrow type the IPC format carries survives."""
    from converz import _core

    data = pa.table(
        {
            "d": pa.array([1.5, None], pa.float32()),
            "s": pa.array([["a"], []], pa.list_(pa.string())),
            "n": pa.nulls(2),
        }
    )
    table = converz.Table(_core.read_ipc_stream(_core.ipc_stream_bytes(data)))
    assert table.to_arrow().equals(data)
