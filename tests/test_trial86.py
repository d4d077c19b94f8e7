"""Outside trial 86 (scaling out): the readers' warning naming a column the server named by the
key, a key given only to a reader, rows outside a partition's bounds, a value that does not fit
the planned type, Ray's `concurrency=`, Dask's date index without `date` in `columns=`."""

from __future__ import annotations

import json
import logging
import secrets
import urllib.parse
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from hostile_support import RawServer, Request, Responder, paged, response, serving
from test_trial85 import longest_piece_any_case

import converz
import converz.dask
import converz.testing
from converz._plan import ClientConfig, plan_calls

KEY = "sk_live_SECRETkey1234567890abcdef"
DAYS = ["2024-02-26", "2024-02-27", "2024-02-28"]


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


def row(call_id: int, day: str, hour: int = 9, **extra: Any) -> str:
    fields = {"call_id": call_id, "date": day, "start_time": f"{day} {hour:02d}:00:00"}
    return json.dumps({**fields, "rep_id": "r1", "duration": 60, **extra})


# Five calls a day, hours 1, 6, 11, 16, 21: the server below ignores every date and time
# filter, as a server that does not know them would.
ROWS = [row(10 * d + i, day, 1 + 5 * i) for d, day in enumerate(DAYS) for i in range(5)]


def config(server: RawServer, key: str = KEY) -> ClientConfig:
    return ClientConfig.resolve(base_url=server.url, api_key=key, retries=0)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    "written", [KEY, KEY.upper(), "sK_LiVe_sEcReTkEy1234567890AbCdEf", KEY.encode().hex()]
)
def test_the_left_out_column_warning_does_not_show_the_key(serve, caplog, written):
    """N2: a custom column the server named by the key was named whole in the readers' warning
    that it is left out, in every spelling, on every worker (the same column through
    `client.calls()` showed `***`)."""
    server = serve(paged([row(1, DAYS[0], **{written: 1})]))
    (task,) = plan_calls(converz.CallsQuery(start_date=DAYS[0], end_date=DAYS[0]), config(server))
    with caplog.at_level("WARNING", logger="converz"):
        table = task.fetch()
    assert table.num_rows == 1 and written not in table.column_names
    said = " ".join(warnings_of(caplog))
    assert "left out" in said and "***" in said, said
    assert longest_piece_any_case(KEY, said) <= 3, said
    assert longest_piece_any_case(KEY.encode().hex(), said) <= 3, said


def dask_reader(url: str, key: str) -> None:
    converz.dask.read_calls(start_date=key, end_date=DAYS[0], base_url=url, api_key=key)


def spark_reader(url: str, key: str) -> None:
    pytest.importorskip("pyspark")
    from converz.spark import ConverzDataSource

    ConverzDataSource({"api_key": key, "base_url": url, "start_date": key}).schema()


@pytest.mark.parametrize("reader", [dask_reader, spark_reader])
def test_a_key_given_only_to_a_reader_is_not_shown_in_its_errors(serve, reader):
    """N8: a key given only to a reader (no client made with it in the process) and pasted into
    another setting was shown whole in the error, by Dask, Ray and Spark."""
    server = serve(paged(ROWS))
    key = "sk_live_" + secrets.token_hex(16)  # never given to anything else
    with pytest.raises(converz.InvalidParameterError) as caught:
        reader(server.url, key)
    shown = f"{caught.value} {caught.value!r} {caught.value.hint}"
    assert caught.value.parameter == "start_date", shown
    assert "***" in shown and longest_piece_any_case(key, shown) <= 3, shown


def test_a_server_that_ignores_after_before_is_refused(serve):
    """N3: against a server that ignores `after`/`before`, time slices returned the range three
    times over without a word (trial 87 A1, 88: then with a warning that could not tell it from
    a push). The server lists the row where it started too: each slice refuses."""
    server = serve(paged(ROWS))
    query = converz.CallsQuery(start_date=DAYS[0], end_date=DAYS[-1])
    for task in plan_calls(query, config(server), partition=3):
        with pytest.raises(converz.DecodeError) as caught:
            task.fetch()
        message = str(caught.value)
        assert "does not keep to after/before" in message and task.label in message, message
        assert "call_id" in message and "more than once" in message, message


def test_a_server_that_ignores_the_days_is_refused(serve):
    """N3, trial 87 A1: against a server that ignores start_date/end_date, day partitions (Ray,
    Spark, Dask without divisions) returned the range three times over, and the warning that
    followed could not say so. Rows that started outside the days were sent against them: the
    task refuses them, naming the partition and a call."""
    server = serve(paged(ROWS))
    query = converz.CallsQuery(start_date=DAYS[0], end_date=DAYS[-1])
    for task in plan_calls(query, config(server), partition="day"):
        with pytest.raises(converz.DecodeError) as caught:
            task.fetch()
        message = str(caught.value)
        assert "does not keep to start_date/end_date" in message and task.label in message, message
        assert "call_id" in message and "more than once" in message, message


def by_start_day(rows: list[str]) -> Responder:
    """A `/calls` server that lists a call by its start_time's day, as the API does: a row
    whose `date` a push set stays under the day it started."""

    def respond(request: Request) -> bytes:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query)
        first, last = query["start_date"][0], query["end_date"][0]
        held = [r for r in rows if first <= json.loads(r)["start_time"][:10] <= last]
        return paged(held)(request)

    return respond


PUSHED = [*ROWS, row(99, DAYS[0], date=DAYS[2])]  # started on the first day, its date pushed


def test_a_server_that_honours_the_bounds_gives_no_such_warning(caplog):
    with converz.testing.Emulator(calls=2_000, reps=10, seed=86, days=6) as emu:
        first = converz.Client(base_url=emu.url, api_key=emu.api_key).calls()
        days = sorted(first.to_arrow().column("date").to_pylist())
        query = converz.CallsQuery(start_date=days[0], end_date=days[-1])
        cfg = ClientConfig.resolve(base_url=emu.url, api_key=emu.api_key)
        with caplog.at_level("WARNING", logger="converz"):
            for partition in (4, "day"):
                tasks = plan_calls(query, cfg, partition=partition)
                assert sum(t.fetch().num_rows for t in tasks) == first.num_rows
    assert not [w for w in warnings_of(caplog) if "outside the partition" in w]


def test_rows_outside_are_checked_when_columns_leave_out_the_bounds(serve):
    """N3 with N6: `columns=` without `date`, `start_time` or `call_id` left nothing to check
    against. The task fetches them too (and leaves them out of its result)."""
    server = serve(paged(ROWS))
    query = converz.CallsQuery(start_date=DAYS[0], end_date=DAYS[-1], columns=["duration"])
    for task in plan_calls(query, config(server), partition=3):
        with pytest.raises(converz.DecodeError, match="does not keep to after/before"):
            task.fetch()


def test_a_pushed_date_is_warned_of_without_divisions_and_refused_with_them(serve, caplog):
    """N3: a day partition's rows of other days, computed without divisions, were silent. A
    row whose date a push set (it started inside the days) is the API's, once: warned of; with
    Dask's divisions it is refused, as `.loc` would miss it."""
    server = serve(by_start_day(PUSHED))
    settings = dict(start_date=DAYS[0], end_date=DAYS[-1], base_url=server.url, api_key=KEY)
    ddf = converz.dask.read_calls(divisions=False, **settings)
    with caplog.at_level("WARNING", logger="converz"):
        frame = ddf.compute(scheduler="sync")
    assert sorted(frame["call_id"]) == sorted(json.loads(r)["call_id"] for r in PUSHED)
    said = [w for w in warnings_of(caplog) if "outside the partition's days" in w]
    assert len(said) == 1 and "1 row whose date" in said[0] and "call_id 99" in said[0], said
    assert "a push set it" in said[0], said
    with pytest.raises(converz.ConverzError, match="outside its days"):
        converz.dask.read_calls(**settings).compute(scheduler="sync")


def test_a_value_that_does_not_fit_the_planned_type_is_a_decode_error(serve):
    """N5: a documented column sent as text on one day was a raw pyarrow.ArrowInvalid that
    named no column nor partition, and `except converz.ConverzError` missed it."""
    rows = [row(1, DAYS[0]), row(2, DAYS[1], duration="30s")]

    def by_day(request: Request) -> bytes:
        day = request.target.split("start_date=")[1][:10]
        held = [r for r in rows if json.loads(r)["date"] == day]
        return paged(held)(request)

    server = serve(by_day)
    query = converz.CallsQuery(start_date=DAYS[0], end_date=DAYS[1])
    first, second = plan_calls(query, config(server))
    assert first.fetch().column("duration").to_pylist() == [60]
    with pytest.raises(converz.DecodeError) as caught:
        second.fetch()
    message = str(caught.value)
    assert "`duration`" in message and DAYS[1] in message and "30s" in message, message
    assert "schema={'duration': 'string'}" in str(caught.value.hint)


def test_a_dask_date_read_keeps_its_index_whatever_columns_names(serve):
    """N6: `columns=` without `date` dropped the date index, the divisions and the check
    silently; `schema={"date": "string"}` made an index of text beside date divisions."""
    server = serve(by_start_day(PUSHED))
    settings = dict(start_date=DAYS[0], end_date=DAYS[-1], base_url=server.url, api_key=KEY)
    ddf = converz.dask.read_calls(columns=["call_id", "duration"], **settings)
    assert ddf.index.name == "date" and ddf.known_divisions
    assert list(ddf.columns) == ["call_id", "duration"]
    with pytest.raises(converz.ConverzError, match="outside its days"):
        ddf.compute(scheduler="sync")
    with pytest.raises(converz.InvalidParameterError) as caught:
        converz.dask.read_calls(schema={"date": "string"}, **settings)
    assert caught.value.parameter == "schema"


@pytest.mark.parametrize("value", [0, -1, "2", 2.5, True])
def test_rays_concurrency_is_checked_before_anything_runs(serve, value):
    """N1: 0 and -1 were Ray's own ValueError, "2" a bare TypeError; 2.5 and True ran."""
    ray_reader = pytest.importorskip("converz.ray")
    hits: list[str] = []

    def counted(request: Request) -> bytes:
        hits.append(request.target)
        return response("200 OK", b"[]")

    server = serve(counted)
    with pytest.raises(converz.InvalidParameterError) as caught:
        ray_reader.read_calls(
            start_date=DAYS[0],
            end_date=DAYS[0],
            base_url=server.url,
            api_key=KEY,
            concurrency=value,
        )
    assert caught.value.parameter == "concurrency"
    assert hits == []


def test_a_date_that_is_no_date_names_a_way_out_the_read_takes(serve):
    """Trial 88 B5: the DecodeError for `date` sent as timestamps offered schema={'date':
    'string'}, which a read by day refuses; it names partition=N or None with it."""
    # Beside a date, the pushed timestamp makes the column text, as in the trial.
    server = serve(paged([row(1, DAYS[0]), row(2, DAYS[0], date=f"{DAYS[0]} 00:00:00")]))
    (task,) = plan_calls(converz.CallsQuery(start_date=DAYS[0], end_date=DAYS[0]), config(server))
    with pytest.raises(converz.DecodeError) as caught:
        task.fetch()
    assert "`date`" in str(caught.value) and task.label in str(caught.value)
    hint = str(caught.value.hint)
    assert "partition=N or None" in hint and "schema={'date': 'string'}" in hint, hint
    settings = dict(start_date=DAYS[0], end_date=DAYS[0], base_url=server.url, api_key=KEY)
    table = converz.dask.read_calls(partition=None, schema={"date": "string"}, **settings)
    assert table.compute(scheduler="sync")["date"].tolist() == [DAYS[0], f"{DAYS[0]} 00:00:00"]


def by_recorded_day(rows: list[tuple[str, str]]) -> Responder:
    """A `/calls` server that honours start_date/end_date by each call's recorded day (the
    first of each pair) and ignores after/before."""

    def respond(request: Request) -> bytes:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query)
        first, last = query["start_date"][0], query["end_date"][0]
        return paged([r for day, r in rows if first <= day <= last])(request)

    return respond


def test_a_pushed_row_does_not_hide_a_server_that_ignores_after_before(serve):
    """Trial 89 C1: a slice checked one row; when it was a pushed call (not listed where it
    claims to have started) every row outside the slice was taken as pushed, and the read
    held each call three times. Rows spread over those outside are checked."""
    recorded = [(json.loads(r)["date"], r) for r in ROWS]
    pushed = row(1, "2024-03-05", 9)  # call 1, recorded on the first day
    rows = [(DAYS[0], pushed), *[(day, r) for day, r in recorded if json.loads(r)["call_id"] != 1]]
    server = serve(by_recorded_day(rows))
    query = converz.CallsQuery(start_date=DAYS[0], end_date=DAYS[-1])
    for task in plan_calls(query, config(server), partition=3):
        with pytest.raises(converz.DecodeError, match="does not keep to after/before"):
            task.fetch()
