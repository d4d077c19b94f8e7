"""Outside trial 82: a sync's delta format without deltalake, a server's rows without `date`,
day plans of a query with `after=`, the reader's words for an unbounded `partition=N`, numpy
strings in a query."""

from __future__ import annotations

import datetime as dt
import json
import sys
import urllib.parse
from collections.abc import Iterator
from typing import Callable

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hostile_support import RawServer, Request, Responder, response, serving

import converz
from converz._plan import ClientConfig, plan_calls
from converz.testing import Emulator


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(calls=3_000, reps=20, seed=8, days=10) as emulator:
        yield emulator


def test_delta_without_deltalake_is_refused_before_anything_is_sent_or_written(
    serve, tmp_path, monkeypatch
):
    """F0: the missing package was found when the run committed, after the whole range was
    fetched and staged; the state it left claimed a delta dataset, and the corrected parquet
    run was refused."""
    server = serve(lambda request: response("200 OK", b"[]", "Content-Type: application/json"))
    monkeypatch.setitem(sys.modules, "deltalake", None)  # `import deltalake` fails
    target = tmp_path / "ds"
    with pytest.raises(ImportError, match=r"needs deltalake.*nothing was sent or written"):
        server.client().sync_calls(target, format="delta", start_date="2025-09-01")
    assert server.requests == []
    assert not target.exists()


def test_rows_without_the_date_column_are_the_servers_not_a_parameter(serve, tmp_path):
    """F1: a server whose rows lack `date` was told as "invalid parameter `columns`" (which
    the caller never gave) with "nothing was sent", after the listing's requests."""

    def respond(request: Request) -> bytes:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query)
        rows = [{"call_id": 1, "start_time": "2025-09-01 10:00:00"}]
        body = json.dumps(rows if query["page"] == ["1"] else []).encode()
        return response("200 OK", body, "Content-Type: application/json")

    server = serve(respond)
    with pytest.raises(converz.DecodeError) as caught:
        server.client().sync_calls(tmp_path / "ds", start_date="2025-09-01")
    err = caught.value
    assert "without the `date` column" in str(err)
    assert "nothing was sent" not in str(err)
    assert "left unchanged" in (err.hint or "")
    assert not (tmp_path / "ds").exists()


def test_a_day_plan_with_after_names_each_day_and_skips_days_before_it(emu):
    """F3: every task was labelled by the `after=` span alone, and the days wholly before
    `after=` were tasks that could fetch nothing."""
    query = converz.CallsQuery(
        start_date="2025-09-22", end_date="2025-09-26", after="2025-09-24 10:00:00"
    )
    config = ClientConfig.resolve(base_url=emu.url, api_key=emu.api_key)
    tasks = plan_calls(query, config, partition="day")
    assert [t.query.start_date for t in tasks] == [
        dt.date(2025, 9, 24),
        dt.date(2025, 9, 25),
        dt.date(2025, 9, 26),
    ]
    labels = [t.label for t in tasks]
    assert len(set(labels)) == len(labels)
    assert labels[0] == "calls 2025-09-24, 2025-09-24 10:00:00.."
    # The union is still the query, every row once.
    got = pl.from_arrow(pa.concat_tables([t.fetch() for t in tasks]))
    want = emu.client(progress=False).calls(**query.to_kwargs()).to_polars()
    assert got.height > 0
    assert got.sort("call_id").equals(want.sort("call_id"))
    # A `before=` ends the days the same way; a range none of whose days it reaches keeps one.
    before = query.replace(after=None, before="2025-09-23 00:00:00")
    assert [p.end_date for p in before.split(by="day")] == [
        dt.date(2025, 9, 22),
        dt.date(2025, 9, 23),
    ]
    assert len(query.replace(after="2030-01-01 00:00:00").split(by="day")) == 1


def test_an_unbounded_partition_n_is_told_in_the_readers_words(emu):
    """F4: `partition=4` of a query without a range said `split(parts=...)`."""
    config = ClientConfig.resolve(base_url=emu.url, api_key=emu.api_key)
    with pytest.raises(converz.InvalidParameterError) as caught:
        plan_calls(converz.CallsQuery(), config, partition=4)
    assert "partition=N needs a bounded range" in str(caught.value)
    assert "split(" not in str(caught.value)
    assert caught.value.parameter == "partition"


def test_numpy_strings_in_a_list_filter_are_plain_strings():
    """F5: `np.array(["sales"])` kept `np.str_` items, so the query's repr read back only with
    numpy imported as `np`."""
    query = converz.CallsQuery(campaign=np.array(["sales", "support"]), columns=np.array(["x"]))
    assert all(type(v) is str for v in query.campaign + query.columns)
    assert "np.str_" not in repr(query)
    assert eval(repr(query), {"converz": converz}) == query
    one = converz.CallsQuery(campaign=np.str_("sales"))
    assert type(one.campaign[0]) is str
    assert "np.str_" not in repr(one)


def test_a_plan_of_tens_of_thousands_of_days_is_warned_of(emu, caplog):
    """F7: a day plan of 1970..2100 (a typo'd year) built 47,847 tasks without a word. It is
    warned of once, on the driver, naming the count; a plan of a few years is not."""
    config = ClientConfig.resolve(base_url=emu.url, api_key=emu.api_key)
    with caplog.at_level("WARNING", logger="converz"):
        tasks = plan_calls(
            converz.CallsQuery(start_date="1970-01-01", end_date="2100-12-31"), config
        )
    assert len(tasks) == 47_847
    said = [r.getMessage() for r in caplog.records if "tasks" in r.getMessage()]
    assert len(said) == 1 and "47,847 tasks" in said[0] and "1970-01-01" in said[0], said
    caplog.clear()
    with caplog.at_level("WARNING", logger="converz"):
        plan_calls(converz.CallsQuery(start_date="2020-01-01", end_date="2025-12-31"), config)
    assert not [r for r in caplog.records if "tasks" in r.getMessage()]
