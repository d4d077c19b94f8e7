"""converz.dask on a LocalCluster with two worker processes, against the 1M-call emulator."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from scale_support import (
    FAULT_QUERY,
    FIRST_DAY,
    KEY,
    TODAY,
    fault_reference,
    faults_on,
    million,
    same,
    whole,
)

import converz
import converz.dask
import converz.testing

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        distributed.Client(local) as dask_client,
    ):
        yield dask_client


def to_polars(frame: object) -> pl.DataFrame:
    table = pa.Table.from_pandas(frame, preserve_index=False)  # type: ignore[arg-type]
    return pl.from_arrow(table)  # type: ignore[return-value]


def calls(**filters: object) -> object:
    emu = million()
    return converz.dask.read_calls(base_url=emu.url, api_key=emu.api_key, **filters)


@pytest.mark.slow
def test_a_million_calls_by_day_written_as_parquet_equal_the_single_machine_fetch(
    cluster: object, tmp_path: Path
) -> None:
    # One 1M pass per engine (CI time), with errors, 429s and capped pages on: the engine's
    # result, written by it, read by polars, equals the single-machine fetch without faults.
    ddf = calls(start_date=FIRST_DAY, end_date=TODAY, partition="day")
    assert ddf.npartitions == 62
    assert ddf.divisions[0] == dt.date(2025, 7, 31)
    assert ddf.divisions[-1] == dt.date(2025, 9, 30)
    want = whole()
    with faults_on():
        ddf.reset_index()[want.columns].to_parquet(tmp_path / "calls", write_index=False)
    same(pl.read_parquet(tmp_path / "calls" / "*.parquet"), want)


def test_with_errors_429s_and_capped_pages_the_result_is_the_same(cluster: object) -> None:
    want = fault_reference()
    with faults_on():
        got = calls(**FAULT_QUERY, partition=6, page_size=5_000).compute()
    same(to_polars(got), want)


def test_selected_columns_are_fetched_alone_and_dates_select_partitions(cluster: object) -> None:
    ddf = calls(**FAULT_QUERY)
    projected = ddf[["call_id", "rep_id"]]
    got = to_polars(projected.compute().reset_index())
    want = fault_reference().select("date", "call_id", "rep_id")
    same(got, want)
    one_day = ddf.loc[dt.date(2025, 9, 11) : dt.date(2025, 9, 11)]
    assert one_day.npartitions == 1
    assert set(one_day.index.compute()) == {dt.date(2025, 9, 11)}


def test_a_query_value_and_reps(cluster: object) -> None:
    emu = million()
    query = converz.CallsQuery(**FAULT_QUERY, campaign="sales")  # type: ignore[arg-type]
    ddf = converz.dask.read_calls(query, base_url=emu.url, api_key=emu.api_key, partition=None)
    want = emu.client(progress=False).calls(**query.to_kwargs()).to_polars()
    same(to_polars(ddf.compute()), want)
    reps = converz.dask.read_reps(base_url=emu.url, api_key=emu.api_key, department="support")
    want_reps = emu.client(progress=False).reps(department="support").to_polars()
    assert to_polars(reps.compute()).sort("rep_id").equals(want_reps.sort("rep_id"))


def test_the_key_is_not_in_task_names_graph_or_reprs(cluster: object) -> None:
    ddf = calls(**FAULT_QUERY)
    graph = ddf.__dask_graph__()
    assert all(KEY not in str(key) for key in graph)
    assert KEY not in repr(dict(graph))
    assert KEY not in repr(ddf.expr)
    assert KEY not in repr(ddf)
    assert any("converz-calls" in str(key) for key in graph)
    with pytest.raises(TypeError, match="not both"):
        converz.dask.read_calls(converz.CallsQuery(), base_url=million().url, campaign="sales")
    with pytest.raises(converz.InvalidParameterError) as err:
        calls(start_date=FIRST_DAY, end_date=TODAY, partition="fortnight")
    assert err.value.parameter == "partition"


@pytest.mark.parametrize("schema", ["qa_score:float64", ["qa_score"], {"qa_score": 5}, {1: "int"}])
def test_a_schema_that_is_not_a_mapping_of_type_names_is_an_invalid_parameter(
    schema: object,
) -> None:
    nowhere = "http://127.0.0.1:9/api/v1"  # nothing is sent: the arguments fail first
    for read in (converz.dask.read_calls, converz.dask.read_reps):
        with pytest.raises(converz.InvalidParameterError) as err:
            read(base_url=nowhere, api_key="k", schema=schema)  # type: ignore[arg-type]
        assert err.value.parameter == "schema"


# A three-hour window: ~6,000 calls, three time slices (small: the 1M tenant is shared).
WINDOW = {"after": "2025-09-11 09:00:00", "before": "2025-09-11 11:59:59", "partition": 3}


def wire(read: Callable[[], object]) -> tuple[object, dict[str, int]]:
    """What ``read()`` returned, and what the emulator sent on the wire meanwhile."""
    before = million().wire_stats()
    got = read()
    after = million().wire_stats()
    return got, {name: after[name] - before[name] for name in after}


def test_compression_gzip_reads_the_same_rows_gzipped(cluster: object) -> None:
    want = million().client(progress=False).calls(after=WINDOW["after"], before=WINDOW["before"])
    plain, plain_wire = wire(lambda: calls(**WINDOW, compression=None).compute())
    zipped, zipped_wire = wire(lambda: calls(**WINDOW, compression="gzip").compute())
    same(to_polars(plain), want.to_polars())
    same(to_polars(zipped), want.to_polars())
    assert plain_wire["responses"] >= 3 and plain_wire["gzip_responses"] == 0
    assert zipped_wire["responses"] >= 3
    assert zipped_wire["gzip_responses"] == zipped_wire["responses"]
    assert zipped_wire["body_bytes"] * 3 < plain_wire["body_bytes"]


@pytest.mark.parametrize("compression", ["brotli", "GZIP", "", 1, ["gzip"]])
def test_a_bad_compression_fails_on_the_driver_naming_it(compression: object) -> None:
    # No base_url: the workers would read theirs; the driver still checks the setting.
    for read in (converz.dask.read_calls, converz.dask.read_reps):
        with pytest.raises(converz.InvalidParameterError) as err:
            read(compression=compression)  # type: ignore[arg-type]
        assert err.value.parameter == "compression"


@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_concurrency", 0), ("timeout", -1), ("retries", 10**6), ("page_size", 0)],
)
def test_settings_out_of_range_fail_on_the_driver_also_without_a_url(
    monkeypatch: pytest.MonkeyPatch, setting: str, value: int
) -> None:
    # The URL (and key) are left to the workers' environment; the driver still checks the rest.
    monkeypatch.delenv("CONVERZ_BASE_URL", raising=False)
    with pytest.raises(converz.InvalidParameterError) as err:
        converz.dask.read_calls(partition=None, **{setting: value})  # type: ignore[arg-type]
    assert err.value.parameter == setting


@pytest.fixture
def moved() -> Iterator[tuple[converz.testing.Emulator, int]]:
    """A tenant of its own where a push set a 2025-09-29 call's ``date`` to 2025-09-05: the API
    still lists the call under 09-29. Yields the emulator and the call."""
    with converz.testing.Emulator(calls=3_000, reps=20, seed=3, days=30, today=TODAY) as emu:
        client = emu.client(progress=False)
        day = client.calls(start_date="2025-09-29", end_date="2025-09-29", columns=["call_id"])
        call = day.to_polars()["call_id"][3]
        client.push_updates(pl.DataFrame({"call_id": [call], "date": [dt.date(2025, 9, 5)]}))
        yield emu, call


def test_a_row_dated_outside_its_partition_fails_the_compute_instead_of_hiding_from_loc(
    cluster: object, moved: tuple[converz.testing.Emulator, int]
) -> None:
    emu, call = moved
    days = {"start_date": "2025-09-01", "end_date": "2025-09-30"}
    ddf = converz.dask.read_calls(base_url=emu.url, api_key=emu.api_key, **days)
    assert ddf.known_divisions
    with pytest.raises(converz.ConverzError) as err:
        ddf.compute()
    assert "partition 28" in str(err.value) and "2025-09-05" in str(err.value)
    assert f"call_id {call}" in str(err.value) and "divisions=False" in str(err.value.hint)
    # The other partitions hold; the way out keeps the date index and finds the call.
    assert len(ddf.partitions[27].compute()) > 0
    free = converz.dask.read_calls(base_url=emu.url, api_key=emu.api_key, divisions=False, **days)
    assert not free.known_divisions and free.index.name == "date"
    fifth = free.loc[dt.date(2025, 9, 5) : dt.date(2025, 9, 5)].compute()
    want = emu.client(progress=False).calls(**days).to_polars().filter(date=dt.date(2025, 9, 5))
    assert call in fifth["call_id"].tolist() and len(fifth) == want.height


def test_a_pushed_column_is_warned_of_unless_declared_and_a_misfit_is_a_decode_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with converz.testing.Emulator(calls=3_000, reps=20, seed=2, days=30, today=TODAY) as emu:
        client = emu.client(progress=False)
        days = {"start_date": "2025-09-20", "end_date": "2025-09-30"}
        ids = client.calls(**days).to_polars()["call_id"]
        client.push_updates(pl.DataFrame({"call_id": ids, "qa_score": [0.5] * len(ids)}))
        read = functools.partial(
            converz.dask.read_calls, base_url=emu.url, api_key=emu.api_key, **days
        )
        with caplog.at_level("WARNING", logger="converz"):
            undeclared = read().compute(scheduler="sync")  # in this process: its log is seen
        assert "qa_score" not in undeclared.columns
        said = [r.getMessage() for r in caplog.records if "'qa_score'" in r.getMessage()]
        assert len(said) == 11 and all("schema=" in s for s in said)
        declared = read(schema={"qa_score": "float64"}).compute(scheduler="sync")
        assert declared["qa_score"].eq(0.5).all() and len(declared) == len(ids)
        client.push_updates(pl.DataFrame({"call_id": [ids[-1]], "qa_score": ["n/a"]}))
        with pytest.raises(converz.DecodeError) as err:
            read(schema={"qa_score": "float64"}).compute(scheduler="sync")
        assert "qa_score" in str(err.value)
