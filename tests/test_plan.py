"""Fetch plans: partitions disjoint and complete, tasks picklable and idempotent, key hidden."""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Iterator

import polars as pl
import pyarrow as pa
import pytest

import converz
from converz._arrow_schema import arrow_schema, conform
from converz._plan import ClientConfig, FetchTask, date_divisions, plan_calls, plan_reps, query_from
from converz.testing import Emulator

KEY = "plan-test-secret-51b7"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(calls=20_000, reps=60, seed=5, api_key=KEY, days=90) as emulator:
        yield emulator


def config(emu: Emulator, **settings: object) -> ClientConfig:
    return ClientConfig.resolve(base_url=emu.url, api_key=emu.api_key, **settings)


def fetch_all(tasks: list[FetchTask]) -> pl.DataFrame:
    return pl.from_arrow(pa.concat_tables([t.fetch() for t in tasks]))  # type: ignore[return-value]


@pytest.mark.parametrize("partition", ["day", "week", "month", 7, None])
def test_partitions_are_disjoint_and_their_union_is_the_query(
    emu: Emulator, partition: object
) -> None:
    query = converz.CallsQuery(start_date="2025-07-03", end_date="2025-09-30", campaign="sales")
    tasks = plan_calls(query, config(emu), partition=partition)  # type: ignore[arg-type]
    want = emu.client(progress=False).calls(**query.to_kwargs()).to_polars()
    got = fetch_all(tasks)
    assert got["call_id"].is_unique().all()
    assert got.sort("call_id").equals(want)
    assert len(tasks) == {"day": 90, "week": 14, "month": 3, 7: 7, None: 1}[partition]  # type: ignore[index]


def test_a_task_survives_pickling_and_fetching_twice_gives_the_same_rows(emu: Emulator) -> None:
    query = converz.CallsQuery(start_date="2025-09-01", end_date="2025-09-30")
    task = plan_calls(query, config(emu, page_size=500), partition="week")[1]
    again = pickle.loads(pickle.dumps(task))
    assert again == task
    first, second = task.fetch(), again.fetch()
    assert first.num_rows > 1_000
    assert first.equals(second)


def test_the_key_is_in_the_payload_only(emu: Emulator) -> None:
    from dask.base import tokenize

    tasks = plan_calls(
        converz.CallsQuery(start_date="2025-09-01", end_date="2025-09-03"), config(emu)
    )
    task = tasks[0]
    for shown in (repr(task), str(task), repr(task.config), repr(tasks), task.label):
        assert KEY not in shown
    assert "<hidden>" in repr(task.config)
    assert KEY.encode() in pickle.dumps(task)  # the payload is how it reaches a worker
    other = FetchTask(ClientConfig(base_url=emu.url, api_key="another"), "calls", task.query)
    assert tokenize(task) != tokenize(other)  # different keys, different Dask names
    assert tokenize(task) == tokenize(pickle.loads(pickle.dumps(task)))


def test_without_a_key_each_process_reads_its_own_environment(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    cfg = ClientConfig.resolve()
    assert cfg.api_key is None
    assert cfg.base_url == emu.url
    assert "<worker env>" in repr(cfg)
    task = plan_calls(converz.CallsQuery(start_date="2025-09-30", end_date="2025-09-30"), cfg)[0]
    assert task.fetch().num_rows > 0
    monkeypatch.setenv("CONVERZ_API_KEY", "wrong")
    cfg_wrong = dataclass_copy(cfg, retries=0)
    with pytest.raises(converz.AuthenticationError):
        FetchTask(cfg_wrong, "calls", task.query).fetch()


def dataclass_copy(cfg: ClientConfig, **changes: object) -> ClientConfig:
    import dataclasses

    return dataclasses.replace(cfg, **changes)  # type: ignore[arg-type]


def test_an_empty_partition_has_the_planned_columns(emu: Emulator) -> None:
    query = converz.CallsQuery(start_date="2025-09-30", end_date="2025-09-30", rep_id="nobody")
    table = plan_calls(query, config(emu))[0].fetch()
    assert table.num_rows == 0
    assert table.schema == arrow_schema("calls")
    projected = plan_calls(query.replace(columns=("call_id", "date")), config(emu))[0].fetch()
    assert projected.schema.names == ["call_id", "date"]


def test_schema_follows_columns_and_metric() -> None:
    assert arrow_schema("calls", columns=("date", "call_id")).names == ["call_id", "date"]
    names = arrow_schema("calls", metric=("sentiment",)).names
    assert "sentiment" in names and "duration" not in names and "summary" in names
    custom = arrow_schema("calls", metric=("qa",), schema={"qa": "float64"})
    assert custom.field("qa").type == pa.float64()
    assert arrow_schema("reps").names[0] == "rep_id"


def test_conform_casts_fills_and_drops() -> None:
    schema = arrow_schema("calls", columns=("call_id", "sentiment"))
    raw = pa.table({"call_id": [1, 2], "sentiment": pa.nulls(2), "extra": ["a", "b"]})
    out = conform(raw, schema)
    assert out.schema == schema
    assert out.column("sentiment").null_count == 2


def test_bad_input_is_refused_before_any_request(emu: Emulator) -> None:
    query = converz.CallsQuery(start_date="2025-09-01", end_date="2025-09-03")
    with pytest.raises(converz.InvalidParameterError) as err:
        plan_calls(query, config(emu), partition="year")  # type: ignore[arg-type]
    assert err.value.parameter == "partition"
    with pytest.raises(converz.InvalidParameterError) as err:
        plan_calls(query, config(emu), partition=0)
    assert err.value.parameter == "partition"
    with pytest.raises(converz.InvalidParameterError) as err:
        plan_calls(query.replace(metric=("qa_score",)), config(emu))
    assert err.value.parameter == "schema"
    with pytest.raises(converz.InvalidParameterError) as err:
        ClientConfig.resolve(base_url=emu.url, tenant="acme")
    assert err.value.parameter == "base_url"
    with pytest.raises(TypeError, match="not both"):
        query_from("calls", query, {"campaign": "sales"})
    with pytest.raises(TypeError, match="CallsQuery"):
        query_from("calls", converz.RepsQuery(), {})


def test_date_divisions() -> None:
    query = converz.CallsQuery(start_date="2025-09-29", end_date="2025-10-02")
    cfg = ClientConfig(base_url="http://127.0.0.1:1/api/v1")
    days = date_divisions(plan_calls(query, cfg, partition="day"))
    assert days == (
        dt.date(2025, 9, 29),
        dt.date(2025, 9, 30),
        dt.date(2025, 10, 1),
        dt.date(2025, 10, 2),
        dt.date(2025, 10, 2),
    )
    assert date_divisions(plan_calls(query, cfg, partition=2)) is None


def test_reps_split_by_id(emu: Emulator) -> None:
    client = emu.client(progress=False)
    ids = client.reps().to_polars()["rep_id"].to_list()[:25]
    tasks = plan_reps(converz.RepsQuery(rep_id=ids), config(emu), parts=4)
    assert len(tasks) == 4
    got = fetch_all(tasks).sort("rep_id")
    assert got.equals(client.reps(rep_id=ids).to_polars().sort("rep_id"))


def test_a_misspelt_schema_key_is_warned_of_once_on_the_driver(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An engine must take an undocumented key as a custom column (it cannot see the data
    first), so a typo would be a silent column of nulls: one close to a documented column is
    warned of when the plan is made, and a real custom column is not."""
    query = converz.CallsQuery(start_date="2025-09-01", end_date="2025-09-03")
    with caplog.at_level("WARNING", logger="converz"):
        tasks = plan_calls(query, config(emu), schema={"duraton": "float64", "qa_x": "float64"})
        plan_reps(converz.RepsQuery(), config(emu), schema={"activ": "bool"})
    said = [r.getMessage() for r in caplog.records]
    assert len(tasks) == 3 and len(said) == 2, said
    assert "'duraton'" in said[0] and "did you mean 'duration'?" in said[0]
    assert "'activ'" in said[1] and "/reps" in said[1] and "did you mean 'active'?" in said[1]
    # The plan is kept as asked: the key is a column, null where the data lacks it.
    assert tasks[0].fetch().column("duraton").null_count == tasks[0].fetch().num_rows


@pytest.fixture
def pushed() -> Iterator[Emulator]:
    """A tenant of its own (these tests push): ``qa_score`` set on the calls of 2025-09-29."""
    with Emulator(calls=3_000, reps=20, seed=2, days=30, today="2025-09-30") as emulator:
        client = emulator.client(progress=False)
        ids = client.calls(start_date="2025-09-29", end_date="2025-09-29").to_polars()["call_id"]
        scores = [0.5 + i for i in range(len(ids))]
        client.push_updates(pl.DataFrame({"call_id": ids, "qa_score": scores}))
        yield emulator


def test_a_pushed_column_the_plan_does_not_declare_is_warned_of_not_dropped_silently(
    pushed: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    query = converz.CallsQuery(start_date="2025-09-28", end_date="2025-09-29")
    quiet_day, pushed_day = plan_calls(query, config(pushed))
    with caplog.at_level("WARNING", logger="converz"):
        assert quiet_day.fetch().schema == arrow_schema("calls")
        assert caplog.records == []
        table = pushed_day.fetch()
    assert "qa_score" not in table.column_names  # every partition keeps the planned columns
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1, said
    assert "calls 2025-09-29" in said[0] and "'qa_score'" in said[0]
    assert "schema={'qa_score': 'float64'}" in said[0]


def test_a_declared_column_is_fetched_with_its_type_and_absent_days_are_quiet(
    pushed: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    query = converz.CallsQuery(start_date="2025-09-28", end_date="2025-09-29")
    tasks = plan_calls(query, config(pushed), schema={"qa_score": "float64"})
    with caplog.at_level("WARNING", logger="converz"):
        tables = [task.fetch() for task in tasks]
    # A day without the column has it as nulls, and no warning per partition says so.
    assert [r.getMessage() for r in caplog.records] == []
    assert tables[0].column("qa_score").null_count == tables[0].num_rows > 0
    want = pushed.client(progress=False).calls(start_date="2025-09-29", end_date="2025-09-29")
    assert tables[1].column("qa_score").equals(want.to_arrow().column("qa_score"))
    assert tables[1].schema.field("qa_score").type == pa.float64()


def test_a_value_that_does_not_fit_its_declared_type_is_a_decode_error(pushed: Emulator) -> None:
    client = pushed.client(progress=False)
    last = client.calls(start_date="2025-09-29", end_date="2025-09-29").to_polars()["call_id"][-1]
    client.push_updates(pl.DataFrame({"call_id": [last], "qa_score": ["n/a"]}))
    query = converz.CallsQuery(start_date="2025-09-29", end_date="2025-09-29")
    (task,) = plan_calls(query, config(pushed), schema={"qa_score": "float64"})
    with pytest.raises(converz.DecodeError) as err:
        task.fetch()
    assert "qa_score" in str(err.value) and err.value.hint
