"""converz.spark: the Python Data Source on Spark local[2], against the 1M-call emulator."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
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

pytest.importorskip("pyspark")
pytestmark = pytest.mark.filterwarnings(
    # PySpark 4 warns that it does not yet claim pandas 3; no pandas path is used here.
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    from converz.spark import ConverzDataSource

    # Spark's Python workers must run this interpreter (the one converz is installed in).
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.dataSource.register(ConverzDataSource)
    yield session
    session.stop()
    if saved is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = saved


def reader(spark: Any, **options: object) -> Any:
    emu = million()
    read = spark.read.format("converz").option("base_url", emu.url).option("api_key", KEY)
    for name, value in options.items():
        read = read.option(name, str(value))
    return read.load()


@pytest.mark.slow
def test_a_million_calls_by_day_written_as_parquet_equal_the_single_machine_fetch(
    spark: Any, tmp_path: Path
) -> None:
    # One 1M pass per engine (CI time), with errors, 429s and capped pages on: the engine's
    # result, written by it, read by polars, equals the single-machine fetch without faults.
    want = whole()
    df = reader(spark, endpoint="calls", start_date=FIRST_DAY, end_date=TODAY, partition="day")
    assert df.rdd.getNumPartitions() == 62
    with faults_on():
        df.write.parquet(str(tmp_path / "calls"))
    same(pl.read_parquet(tmp_path / "calls" / "*.parquet"), want)


def test_with_errors_429s_and_capped_pages_the_result_is_the_same(spark: Any) -> None:
    want = fault_reference()
    with faults_on():
        got = reader(spark, **FAULT_QUERY, partition=6, page_size=5_000).toArrow()
    same(pl.from_arrow(got), want)  # type: ignore[arg-type]


def test_filters_columns_and_reps_as_options(spark: Any) -> None:
    emu = million()
    client = emu.client(progress=False)
    df = reader(spark, **FAULT_QUERY, campaign="sales,support", columns="call_id,campaign,date")
    assert df.columns == ["call_id", "campaign", "date"]
    want = client.calls(**FAULT_QUERY, campaign=["sales", "support"], columns=df.columns)
    same(pl.from_arrow(df.toArrow()), want.to_polars())  # type: ignore[arg-type]
    reps = reader(spark, endpoint="reps", active="true").toArrow()
    want_reps = client.reps(active=True).to_polars()
    assert pl.from_arrow(reps).sort("rep_id").equals(want_reps)  # type: ignore[union-attr]


def test_the_key_is_not_in_the_plan(spark: Any, capsys: pytest.CaptureFixture[str]) -> None:
    df = reader(spark, **FAULT_QUERY)
    df.explain(mode="extended")
    df.explain(mode="formatted")
    shown = capsys.readouterr().out
    assert "converz" in shown
    assert KEY not in shown
    assert KEY not in df._jdf.queryExecution().toString()
    assert KEY not in repr(df)


def test_bad_options_fail_with_the_parameter_named(spark: Any) -> None:
    from pyspark.errors import PySparkException

    with pytest.raises(PySparkException, match="partition"):
        reader(spark, **FAULT_QUERY, partition="fortnight").schema  # noqa: B018
    with pytest.raises(PySparkException, match="endpoint"):
        reader(spark, endpoint="users").schema  # noqa: B018
    with pytest.raises(PySparkException, match="invalid parameter `campaign`: contains an empty"):
        reader(spark, **FAULT_QUERY, campaign="").schema  # noqa: B018
    with pytest.raises(PySparkException, match="option active must be true or false"):
        reader(spark, endpoint="reps", active="Y").schema  # noqa: B018
    assert issubclass(converz.InvalidParameterError, ValueError)


# The options are checked when Spark asks for the schema, before any request: no session needed.
NOWHERE = {"base_url": "http://127.0.0.1:9/api/v1", "api_key": "k"}


@pytest.mark.parametrize("value", ["", ",", "sales,", " "])
def test_an_empty_list_option_fails_like_the_python_api(value: str) -> None:
    from converz.spark import _tasks

    with pytest.raises(converz.InvalidParameterError) as api:
        converz.CallsQuery(campaign=[""])
    with pytest.raises(converz.InvalidParameterError) as err:
        _tasks({**NOWHERE, "campaign": value})
    assert (str(err.value), err.value.parameter) == (str(api.value), "campaign")


def test_active_takes_clear_boolean_spellings_only() -> None:
    from converz.spark import _tasks

    for value in ("Y", "on", "", "2", "truthy"):
        with pytest.raises(converz.InvalidParameterError, match=repr(value)) as err:
            _tasks({**NOWHERE, "endpoint": "reps", "active": value})
        assert err.value.parameter == "active"
    spellings = {"TRUE": True, "Yes": True, "1": True, " false ": False, "NO": False, "0": False}
    for value, meant in spellings.items():
        assert _tasks({**NOWHERE, "endpoint": "reps", "active": value})[0].query.active is meant


# A three-hour window: ~6,000 calls, three time slices (small: the 1M tenant is shared).
WINDOW = {"after": "2025-09-11 09:00:00", "before": "2025-09-11 11:59:59", "partition": 3}


def wire(read: Callable[[], Any]) -> tuple[pl.DataFrame, dict[str, int]]:
    """What ``read()`` returned, as polars, and what the emulator sent on the wire meanwhile."""
    before = million().wire_stats()
    got = pl.from_arrow(read())
    after = million().wire_stats()
    return got, {name: after[name] - before[name] for name in after}  # type: ignore[return-value]


def test_the_compression_option_reads_the_same_rows_gzipped(spark: Any) -> None:
    want = million().client(progress=False).calls(after=WINDOW["after"], before=WINDOW["before"])
    plain, plain_wire = wire(lambda: reader(spark, **WINDOW, compression="none").toArrow())
    zipped, zipped_wire = wire(lambda: reader(spark, **WINDOW, compression="gzip").toArrow())
    same(plain, want.to_polars())
    same(zipped, want.to_polars())
    assert plain_wire["responses"] >= 3 and plain_wire["gzip_responses"] == 0
    assert zipped_wire["responses"] >= 3
    assert zipped_wire["gzip_responses"] == zipped_wire["responses"]
    assert zipped_wire["body_bytes"] * 3 < plain_wire["body_bytes"]


@pytest.mark.parametrize("value", ["brotli", "GZIP", "", "zip"])
def test_a_bad_compression_option_fails_on_the_driver_naming_it(value: str) -> None:
    from converz.spark import _tasks

    with pytest.raises(converz.InvalidParameterError) as err:
        _tasks({**NOWHERE, **{k: str(v) for k, v in WINDOW.items()}, "compression": value})
    assert err.value.parameter == "compression"
    # Also without a base_url: the executors would read theirs, the driver checks the rest.
    with pytest.raises(converz.InvalidParameterError) as err:
        _tasks({"endpoint": "reps", "compression": value})
    assert err.value.parameter == "compression"


def test_the_compression_option_reaches_the_tasks() -> None:
    from converz.spark import _tasks

    for value, meant in {"gzip": "gzip", "auto": "auto", "none": None, "None": None}.items():
        tasks = _tasks({**NOWHERE, "endpoint": "reps", "compression": value})
        assert tasks[0].config.compression == meant
    assert _tasks({**NOWHERE, "endpoint": "reps"})[0].config.compression == "auto"
