"""client.calls(): every row once, every value as the API sent it, every parameter honoured."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest
from conftest import READ_CALLS, all_rows

import converz


def _reference(emu, **params) -> pl.DataFrame:
    return pl.DataFrame(all_rows(emu, "/calls", **params), infer_schema_length=None)


def test_every_row_and_value_matches_the_api(read_emulator, client):
    table = client.calls(page_size=2_000)
    assert len(table) == READ_CALLS
    got = table.to_polars()
    ref = _reference(read_emulator)
    assert got.columns == ref.columns
    assert got["call_id"].is_unique().all()
    assert got["call_id"].to_list() == ref["call_id"].to_list()
    for column in ref.columns:
        expected = ref[column]
        actual = got[column]
        if actual.dtype == pl.Date:
            actual = actual.dt.strftime("%Y-%m-%d")
        elif actual.dtype == pl.Datetime:
            actual = actual.dt.strftime("%Y-%m-%d %H:%M:%S")
        assert actual.to_list() == expected.to_list(), column


def test_types_are_parsed(client):
    schema = client.calls(columns=["call_id", "date", "start_time", "duration", "sentiment"]).schema
    assert schema["call_id"] == "Int64"
    assert schema["date"] == "Date32"
    assert schema["start_time"].startswith("Timestamp(")
    assert schema["sentiment"] == "Float64"


def test_parse_dates_false_keeps_strings(client):
    schema = client.calls(columns=["call_id", "date"], parse_dates=False).schema
    assert schema["date"] == "Utf8"


def test_schema_override(client):
    table = client.calls(columns=["call_id", "duration"], schema={"duration": "float64"})
    assert table.schema["duration"] == "Float64"


@pytest.mark.parametrize("page_size", [1, 999, 30_000, 1_000_000])
def test_page_sizes_do_not_change_the_result(client, page_size):
    kwargs = {"columns": ["call_id"], "page_size": page_size}
    if page_size == 1:
        kwargs["rep_id"] = client.reps(page_size=10).to_polars()["rep_id"][0]
    ids = client.calls(**kwargs).to_polars()["call_id"]
    ref = client.calls(**{**kwargs, "page_size": 5_000}).to_polars()["call_id"]
    assert ids.to_list() == ref.to_list()
    assert ids.is_unique().all()


@pytest.mark.parametrize(
    ("page_size", "batches", "tables"),
    [
        # A page a little over the default is one batch, not 20,000 rows and a one-row tail.
        (20_001, [20_001, 9_999], [20_001, 9_999]),
        (30_000, [30_000], [30_000]),
        # Small pages are joined up to 20,000 rows; a stream hands out each page as it comes.
        (1_000, [20_000, 10_000], [1_000] * 30),
    ],
)
def test_a_page_is_one_batch_and_small_pages_are_joined(client, page_size, batches, tables):
    table = client.calls(page_size=page_size)
    assert [b.num_rows for b in pa.table(table).to_batches()] == batches
    streamed = list(client.iter_calls(page_size=page_size))
    assert [len(t) for t in streamed] == tables
    # Joined, a stream's tables have the layout calls() gives (outside trial 27: one batch per
    # page, 429 for 3,000 calls in 7-row pages), and the same rows.
    joined = pa.table(converz.Table.concat(streamed))
    assert [b.num_rows for b in joined.to_batches()] == batches
    assert joined.equals(pa.table(table))


def test_date_filters_accept_dates_and_strings(read_emulator, client):
    by_date = client.calls(start_date=dt.date(2025, 7, 1), end_date="2025-07-31").to_polars()
    ref = _reference(read_emulator, start_date="2025-07-01", end_date="2025-07-31")
    assert len(by_date) == len(ref) > 0
    assert by_date["date"].min() >= dt.date(2025, 7, 1)
    assert by_date["date"].max() <= dt.date(2025, 7, 31)


def test_after_before(read_emulator, client):
    after = dt.datetime(2025, 8, 1, 12, 0)
    got = client.calls(after=after, before="2025-08-03 12:00").to_polars()
    ref = _reference(read_emulator, after="2025-08-01 12:00:00", before="2025-08-03 12:00:00")
    assert len(got) == len(ref) > 0
    assert got["start_time"].min() >= after


@pytest.mark.parametrize("name", ["rep_id", "vendor", "campaign", "subcampaign", "department"])
def test_array_filters(read_emulator, client, name):
    values = sorted(set(_reference(read_emulator, columns=name)[name].to_list()))[:2]
    got = client.calls(**{name: values}).to_polars()
    ref = _reference(read_emulator, **{name: values})
    assert len(got) == len(ref) > 0
    assert set(got[name].unique().to_list()) == set(values)
    single = client.calls(**{name: values[0]}).to_polars()
    assert set(single[name].unique().to_list()) == {values[0]}


def test_vendor_call_id_and_columns(read_emulator, client):
    ids = _reference(read_emulator, columns="vendor_call_id")["vendor_call_id"][:3].to_list()
    got = client.calls(vendor_call_id=ids, columns=["call_id", "vendor_call_id"]).to_polars()
    assert got.columns == ["call_id", "vendor_call_id"]
    assert sorted(got["vendor_call_id"].to_list()) == sorted(ids)


def test_metric_parameter_is_sent(read_emulator, client):
    got = client.calls(metric=["sentiment"], page_size=10_000)
    ref = _reference(read_emulator, metric="sentiment")
    assert got.column_names == ref.columns


def test_exports_are_zero_copy_capable(client):
    table = client.calls(columns=["call_id", "rep_id", "duration"], page_size=10_000)
    assert isinstance(table, converz.Table)
    assert pl.DataFrame(table).shape == (READ_CALLS, 3)
    assert pa.table(table).num_rows == READ_CALLS
    assert table.to_arrow().column_names == ["call_id", "rep_id", "duration"]
    pdf = table.to_pandas()
    assert list(pdf.columns) == ["call_id", "rep_id", "duration"]
    import duckdb

    calls = table  # noqa: F841 - DuckDB finds it by name
    assert duckdb.sql("select count(*) from calls").fetchall()[0][0] == READ_CALLS
    assert "converz.Table" in repr(table) and "call_id" in repr(table) and "Int64" in repr(table)
    assert "<table>" in table._repr_html_()


def test_iter_calls_streams_every_row_once(client):
    pages = list(client.iter_calls(columns=["call_id"], page_size=4_000))
    assert len(pages) == -(-READ_CALLS // 4_000)
    ids = pl.concat([p.to_polars() for p in pages])["call_id"]
    assert len(ids) == READ_CALLS and ids.is_unique().all()


def test_stream_is_consumed_once(client):
    stream = client.iter_calls(columns=["call_id"], page_size=10_000)
    assert sum(len(p) for p in stream) == READ_CALLS
    # A converz error (outside trial: it was a plain RuntimeError), and still a RuntimeError.
    with pytest.raises(converz.StreamError, match="already consumed") as info:
        list(stream)
    assert isinstance(info.value, RuntimeError) and "new stream" in info.value.hint


def test_a_stream_given_to_polars_pyarrow_or_duckdb_whole_gives_every_row(client):
    """Outside trial 22: `pl.DataFrame(client.iter_calls(...))` iterated the stream as rows of
    objects, then asked once more and got "already consumed"; `pa.table(stream)` refused it.
    A stream is now one Arrow stream of all its rows (Table.concat's), at the eager types."""
    import pyarrow as pa

    eager = client.calls(page_size=10_000).to_polars()
    frame = pl.DataFrame(client.iter_calls(page_size=10_000))
    assert frame.equals(eager)
    table = pa.table(client.iter_calls(columns=["call_id"], page_size=10_000))
    assert table.column("call_id").to_pylist() == eager["call_id"].to_list()
    # DuckDB reads it twice (its schema, then its rows).
    import duckdb

    stream = client.iter_calls(columns=["call_id"], page_size=10_000)
    assert duckdb.sql("select count(*), count(distinct call_id) from stream").fetchall() == [
        (READ_CALLS, READ_CALLS)
    ]
    # One that handed a table out already would lose its rows: refused, as Table.concat is.
    stream = client.iter_calls(columns=["call_id"], page_size=10_000)
    next(stream)
    with pytest.raises(converz.StreamError):
        pl.DataFrame(stream)


def test_a_stream_read_partly_goes_on_through_its_iterator(client):
    # iter(it) is it, as for any iterator: a loop over the iterator after a next() goes on.
    pages = iter(client.iter_calls(columns=["call_id"], page_size=10_000))
    assert iter(pages) is pages
    first = next(pages)
    rest = list(pages)
    ids = pl.concat([p.to_polars() for p in [first, *rest]])["call_id"]
    assert len(ids) == READ_CALLS and ids.is_unique().all()
    with pytest.raises(RuntimeError, match="already consumed"):
        iter(pages)


@pytest.mark.parametrize("concurrency", [1, 2, 8])
def test_concurrency_does_not_change_the_result(read_emulator, client, concurrency):
    narrow = read_emulator.client(max_concurrency=concurrency, progress=False)
    got = narrow.calls(columns=["call_id"], page_size=7_000).to_polars()["call_id"]
    assert got.to_list() == client.calls(columns=["call_id"]).to_polars()["call_id"].to_list()


def test_a_documented_column_holding_only_nulls_keeps_its_documented_type() -> None:
    """Found by the outside trial: a day whose calls all had `sentiment` and `duration`
    cleared came back with both typed Null (an empty result has them Float64 and Int64), so
    the day did not concatenate with the next one."""
    from converz.testing import Emulator

    with Emulator(calls=2_000, reps=20, seed=0) as emu:
        client = emu.client(progress=False)
        day = client.calls(columns=["call_id", "date"]).to_polars()["date"].min()
        ids = client.calls(start_date=day, end_date=day, columns=["call_id"]).to_polars()
        cleared = pl.DataFrame(
            {"call_id": ids["call_id"], "sentiment": None, "duration": None},
            schema={"call_id": pl.Int64, "sentiment": pl.Float64, "duration": pl.Int64},
        )
        client.push_updates(cleared, clear=["sentiment", "duration"])
        documented = client.calls(start_date="2030-01-01").to_polars().schema
        one_day = client.calls(start_date=day, end_date=day)
        assert not one_day.warnings
        frame = one_day.to_polars()
        for name in ("sentiment", "duration"):
            assert frame.schema[name] == documented[name] != pl.Null
            assert frame[name].null_count() == frame.height == len(ids)
        next_day = day + dt.timedelta(days=1)
        both = pl.concat([frame, client.calls(start_date=next_day, end_date=next_day).to_polars()])
        assert both.schema == documented
        # Every other way out types them the same (outside trial 19: streams, Table.concat and
        # `fetch -o` files kept Null, so a day's file did not union with the next day's).
        for page_size in (7, 1_000):
            tables = list(client.iter_calls(start_date=day, end_date=day, page_size=page_size))
            for table in tables:
                assert table.to_polars().schema == documented
            assert converz.Table.concat(tables).to_polars().schema == documented
        import os
        import subprocess
        import sys
        import tempfile

        env = dict(os.environ, CONVERZ_API_KEY=emu.api_key, CONVERZ_BASE_URL=emu.url)
        with tempfile.TemporaryDirectory() as folder:
            for suffix in (".parquet", ".arrow"):
                out = os.path.join(folder, "day" + suffix)
                command = [sys.executable, "-m", "converz", "fetch", "calls", "-q", "-o", out]
                command += ["--start-date", str(day), "--end-date", str(day), "--page-size", "7"]
                subprocess.run(command, env=env, check=True)
                read = pl.read_parquet if suffix == ".parquet" else pl.read_ipc
                assert read(out).schema == documented, suffix


@pytest.mark.parametrize("page_size", [1, 7, 100, 1_000])
def test_a_streams_tables_concatenate_to_the_eager_result(page_size: int) -> None:
    """Found by the outside trial: the README's recipe for a stream's tables,
    `pl.concat(..., how="diagonal_relaxed")`, printed early timestamps with `.000000` and
    floats as `1e+20`, and could not turn an early list into text. `Table.concat` casts them
    by the fetch's own rules, so the stream gives what `calls()` gives, value for value."""
    from converz.testing import Emulator

    with Emulator(calls=600, reps=20, seed=0) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].sort().to_list()
        early = pl.DataFrame(
            {
                "call_id": ids[:2],
                "v": ["2025-01-01 00:00:00", "2025-01-02 03:04:05.250"],
                "f": [1.0, 1e20],
                "d": ["2025-01-01", "2025-01-02"],
            }
        )
        client.push_updates(early)
        client.push_updates(pl.DataFrame({"call_id": [ids[1]], "m": [[1, 2]]}))
        late = {"call_id": [ids[500]], "v": ["text"], "f": ["text"], "d": ["text"], "m": ["x"]}
        client.push_updates(pl.DataFrame(late))
        eager = client.calls(page_size=page_size).to_polars()
        stream = converz.Table.concat(client.iter_calls(page_size=page_size)).to_polars()
        assert stream.equals(eager)
        first = stream.filter(pl.col("call_id").is_in(ids[:2])).sort("call_id")
        assert first["v"].to_list() == ["2025-01-01 00:00:00", "2025-01-02 03:04:05.250"]
        assert first["m"].to_list() == [None, "[1,2]"]


def test_concat_refuses_what_is_not_a_streams_tables(client: converz.Client) -> None:
    with pytest.raises(converz.InvalidParameterError, match="tables"):
        converz.Table.concat([])
    with pytest.raises(converz.InvalidParameterError, match=r"got a polars\.\S*DataFrame"):
        converz.Table.concat([client.calls(page_size=10).to_polars()])
