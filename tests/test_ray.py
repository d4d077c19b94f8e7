"""converz.ray: a Ray Data source on a local Ray instance, against the 1M-call emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pytestmark = pytest.mark.filterwarnings(
    # Ray Data's DataContext sets its own deprecated fields when it is created.
    "ignore::DeprecationWarning:ray.data.context"
)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    context = ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=3 * 2**30,
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield context
    ray.shutdown()


def collect(ds: Any) -> pl.DataFrame:
    tables = [ray.get(ref) for ref in ds.to_arrow_refs()]
    return pl.from_arrow(pa.concat_tables(tables))  # type: ignore[return-value]


def calls(**filters: object) -> Any:
    import converz.ray

    emu = million()
    return converz.ray.read_calls(base_url=emu.url, api_key=emu.api_key, **filters)


@pytest.mark.slow
def test_a_million_calls_by_day_written_as_parquet_equal_the_single_machine_fetch(
    local_ray: Any, tmp_path: Path
) -> None:
    # One 1M pass per engine (CI time), with errors, 429s and capped pages on: the engine's
    # result, written by it, read by polars, equals the single-machine fetch without faults.
    want = whole()
    with faults_on():
        calls(start_date=FIRST_DAY, end_date=TODAY, partition="day").write_parquet(str(tmp_path))
    same(pl.read_parquet(tmp_path / "*.parquet"), want)


def test_with_errors_429s_and_capped_pages_the_result_is_the_same(local_ray: Any) -> None:
    want = fault_reference()
    with faults_on():
        got = collect(calls(**FAULT_QUERY, partition=6, page_size=5_000, concurrency=2))
    same(got, want)


def test_a_query_value_and_reps(local_ray: Any) -> None:
    import converz.ray

    emu = million()
    query = converz.CallsQuery(**FAULT_QUERY)  # type: ignore[arg-type]
    got = collect(converz.ray.read_calls(query, base_url=emu.url, api_key=emu.api_key))
    same(got, fault_reference())
    ids = emu.client(progress=False).reps().to_polars()["rep_id"].to_list()[:30]
    reps = converz.ray.read_reps(base_url=emu.url, api_key=emu.api_key, rep_id=ids, parts=3)
    want = emu.client(progress=False).reps(rep_id=ids).to_polars()
    assert collect(reps).sort("rep_id").equals(want.sort("rep_id"))


def test_the_key_is_not_in_reprs_or_ray_logs(local_ray: Any) -> None:
    ds = calls(**FAULT_QUERY)
    ds.materialize()
    assert KEY not in repr(ds)
    assert KEY not in str(ds.stats())
    logs = Path(local_ray.address_info["session_dir"]) / "logs"
    for path in logs.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("schema", ["qa_score:float64", ["qa_score"], {"qa_score": 5}, {1: "int"}])
def test_a_schema_that_is_not_a_mapping_of_type_names_is_an_invalid_parameter(
    schema: object,
) -> None:
    import converz.ray

    nowhere = "http://127.0.0.1:9/api/v1"  # nothing is sent: the arguments fail first
    for read in (converz.ray.read_calls, converz.ray.read_reps):
        with pytest.raises(converz.InvalidParameterError) as err:
            read(base_url=nowhere, api_key="k", schema=schema)  # type: ignore[arg-type]
        assert err.value.parameter == "schema"


# A three-hour window: ~6,000 calls, three time slices (small: the 1M tenant is shared).
WINDOW = {"after": "2025-09-11 09:00:00", "before": "2025-09-11 11:59:59", "partition": 3}


def wire(read: Callable[[], pl.DataFrame]) -> tuple[pl.DataFrame, dict[str, int]]:
    """What ``read()`` returned, and what the emulator sent on the wire meanwhile."""
    before = million().wire_stats()
    got = read()
    after = million().wire_stats()
    return got, {name: after[name] - before[name] for name in after}


def test_compression_gzip_reads_the_same_rows_gzipped(local_ray: Any) -> None:
    want = million().client(progress=False).calls(after=WINDOW["after"], before=WINDOW["before"])
    plain, plain_wire = wire(lambda: collect(calls(**WINDOW, compression=None)))
    zipped, zipped_wire = wire(lambda: collect(calls(**WINDOW, compression="gzip")))
    same(plain, want.to_polars())
    same(zipped, want.to_polars())
    assert plain_wire["responses"] >= 3 and plain_wire["gzip_responses"] == 0
    assert zipped_wire["responses"] >= 3
    assert zipped_wire["gzip_responses"] == zipped_wire["responses"]
    assert zipped_wire["body_bytes"] * 3 < plain_wire["body_bytes"]


@pytest.mark.parametrize("compression", ["brotli", "GZIP", "", 1, ["gzip"]])
def test_a_bad_compression_fails_on_the_driver_naming_it(compression: object) -> None:
    import converz.ray

    # No base_url: the workers would read theirs; the driver still checks the setting.
    for read in (converz.ray.read_calls, converz.ray.read_reps):
        with pytest.raises(converz.InvalidParameterError) as err:
            read(compression=compression)  # type: ignore[arg-type]
        assert err.value.parameter == "compression"


def test_a_declared_pushed_column_is_read_and_a_misfit_is_a_decode_error(local_ray: Any) -> None:
    import converz
    import converz.ray
    from converz.testing import Emulator

    with Emulator(calls=3_000, reps=20, seed=2, days=30, today=TODAY) as emu:
        client = emu.client(progress=False)
        days = {"start_date": "2025-09-28", "end_date": "2025-09-30"}
        ids = client.calls(**days).to_polars()["call_id"]
        client.push_updates(pl.DataFrame({"call_id": ids, "qa": [0.25] * len(ids)}))
        typed = {"qa": "float64"}
        read = converz.ray.read_calls
        got = collect(read(base_url=emu.url, api_key=emu.api_key, schema=typed, **days))
        assert got.height == len(ids) and got["qa"].eq(0.25).all()
        client.push_updates(pl.DataFrame({"call_id": [ids[-1]], "qa": ["n/a"]}))
        # Ray re-raises the task's error as a RayTaskError that is also a DecodeError.
        with pytest.raises(converz.DecodeError) as err:
            collect(read(base_url=emu.url, api_key=emu.api_key, schema=typed, **days))
        assert "qa" in str(err.value) and "ArrowInvalid" not in str(err.value)
