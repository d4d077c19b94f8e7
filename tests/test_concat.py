"""`Table.concat` joins tables as one fetch of all their rows would have returned them, and
`to_pandas()` keeps nested integers exact (outside trial 19)."""

from __future__ import annotations

import itertools
import json
import logging
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from hostile_support import RawServer, Request, response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import converz
from converz.testing import Emulator


class Rows:
    """A server whose `/calls` listing is `rows` (set before each fetch), paged as asked."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.server = RawServer(self.respond)

    def respond(self, request: Request) -> bytes:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query)
        page, size = int(query["page"][0]), int(query["n_per_page"][0])
        rows = self.rows[(page - 1) * size : page * size]
        # Compact, as the fetch's JSON of a list is: a list that ends as text reads alike.
        return response("200 OK", json.dumps(rows, separators=(",", ":")).encode())

    def fetch(self, rows: list[dict[str, Any]], page_size: int = 1_000) -> converz.Table:
        self.rows = rows
        return self.server.client().calls(page_size=page_size)


@pytest.fixture(scope="module")
def served() -> Iterator[Rows]:
    rows = Rows()
    yield rows
    rows.server.stop()


def values(table: converz.Table, column: str) -> list[Any]:
    return list(pa.table(table).column(column).to_pylist())


@pytest.mark.parametrize(
    ("first", "last", "schema", "want"),
    [
        (1.5, 2, "Float64", [1.5, 2.0]),
        ("abc", 2, "Utf8", ["abc", "2"]),
        (7, True, "Utf8", ["7", "true"]),
        ("2025-01-01 10:00:00", "2025-01-02", "Utf8", ["2025-01-01 10:00:00", "2025-01-02"]),
        ([1.5], [2], "List(Float64)", [[1.5], [2.0]]),
        (2**63 + 5, 1, "Utf8", [str(2**63 + 5), "1"]),
        ([1, 2], "x", "Utf8", ["[1,2]", "x"]),
    ],
)
def test_an_earlier_wider_type_is_kept(
    served: Rows, first: Any, last: Any, schema: str, want: list[Any]
) -> None:
    """Found by the outside trial: each table was cast to the last one's schema, so 1.5 came
    back as 1, "abc" and integers beyond int64 as null, 7 as true, a timestamp as its date."""
    rows = [{"call_id": 1, "x": first}, {"call_id": 2, "x": last}]
    joined = converz.Table.concat([served.fetch(rows[:1]), served.fetch(rows[1:])])
    assert joined.schema["x"] == schema
    assert values(joined, "x") == want
    whole = served.fetch(rows)
    assert joined.schema == whole.schema
    assert pa.table(joined).equals(pa.table(whole))
    assert joined.warnings == whole.warnings  # e.g. "column `x` mixes integers, strings; ..."


def test_a_column_the_last_table_lacks_is_kept_with_the_fetchs_warning(
    served: Rows, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [{"call_id": 1, "qa": 1.5, "n": 1}, {"call_id": 2, "n": "two"}]
    first, last = served.fetch(rows[:1]), served.fetch(rows[1:])
    with caplog.at_level(logging.WARNING, logger="converz"):
        joined = converz.Table.concat([first, last])
    assert joined.column_names == ["call_id", "qa", "n"]
    assert values(joined, "qa") == [1.5, None]
    assert values(joined, "n") == ["1", "two"]
    assert joined.warnings == ["column `n` mixes integers, strings; decoded as strings"]
    assert joined.warnings == served.fetch(rows).warnings
    assert "column `n` mixes integers" in caplog.text


def test_a_streams_join_warns_as_the_eager_fetch_does(served: Rows) -> None:
    served.rows = [{"call_id": 1, "x": 1}, {"call_id": 2, "x": "two"}, {"call_id": 3, "x": 3}]
    client = served.server.client()
    joined = converz.Table.concat(client.iter_calls(page_size=1))
    eager = client.calls(page_size=1)
    assert pa.table(joined).equals(pa.table(eager))
    assert joined.warnings == eager.warnings
    assert eager.warnings


def test_integers_past_2_53_beside_floats_warn_as_the_fetch_does(served: Rows) -> None:
    rows = [{"call_id": 1, "x": 2**53 + 1}, {"call_id": 2, "x": 0.5}]
    joined = converz.Table.concat([served.fetch(rows[:1]), served.fetch(rows[1:])])
    whole = served.fetch(rows)
    assert pa.table(joined).equals(pa.table(whole))
    assert any("beyond 2^53" in w for w in whole.warnings)
    assert [w for w in joined.warnings if "beyond 2^53" in w] == [
        w for w in whole.warnings if "beyond 2^53" in w
    ]


def test_types_no_rule_joins_are_refused_not_guessed(served: Rows) -> None:
    served.rows = [{"call_id": 1, "x": 5}]
    forced = served.server.client().calls(schema={"x": "uint64"})
    plain = served.fetch([{"call_id": 2, "x": -1}])
    with pytest.raises(converz.InvalidParameterError, match="column `x` is UInt64"):
        converz.Table.concat([forced, plain])
    # A column that holds only nulls joins whatever it is typed: it has no value to change.
    empty = served.fetch([{"call_id": 3, "x": None}])
    joined = converz.Table.concat([forced, empty])
    assert joined.schema["x"] == "UInt64"
    assert values(joined, "x") == [5, None]


def test_two_days_streams_keep_a_column_only_the_first_has() -> None:
    """Found by the outside trial: `Table.concat(chain(day1, day2))` lost `qa`, only pushed to
    day 1, without a word."""
    import polars as pl

    with Emulator(calls=400, reps=5, seed=0, days=4) as emu:
        client = emu.client(progress=False)
        days = sorted(client.calls(columns=["date"]).to_polars()["date"].unique().to_list())
        one, two = str(days[0]), str(days[1])
        ids = client.calls(start_date=one, end_date=one).to_polars()["call_id"]
        client.push_updates(pl.DataFrame({"call_id": ids, "qa": [1.5] * len(ids)}))
        streams = [client.iter_calls(start_date=d, end_date=d) for d in (one, two)]
        joined = converz.Table.concat(itertools.chain(*streams)).to_polars()
        whole = client.calls(start_date=one, end_date=two).to_polars()
        assert joined.sort("call_id").equals(whole.sort("call_id"))
        assert joined["qa"].drop_nulls().len() == len(ids)


def test_a_stream_that_handed_out_tables_is_refused() -> None:
    """Found by the outside trial: after `next(stream)`, `Table.concat(stream)` returned 9,000
    of 10,000 rows, unsaid."""
    with Emulator(calls=3000, reps=5, seed=0) as emu:
        client = emu.client(progress=False)
        stream = client.iter_calls(page_size=1000)
        first = next(stream)
        with pytest.raises(converz.StreamError, match="already handed out 1 table") as err:
            converz.Table.concat(stream)
        assert err.value.hint is not None and "[first, *stream]" in err.value.hint
        # When the tables are gone (a Ctrl-C inside an earlier Table.concat(stream) took them:
        # outside trial 21), the hint says what then.
        assert "start a new stream" in err.value.hint
        # Nothing was read by the refusal: the recipe gives every row.
        joined = converz.Table.concat([first, *stream])
        assert joined.num_rows == client.calls().num_rows


def test_a_streams_tables_missing_or_repeated_are_refused_not_joined() -> None:
    """Found by the outside trial (19b, N5): a generator over a stream someone peeked at lost
    the first table's rows, and a list naming a table twice joined its rows twice, unsaid."""
    with Emulator(calls=3000, reps=5, seed=0) as emu:
        client = emu.client(progress=False)
        whole = client.calls().num_rows
        stream = client.iter_calls(page_size=1000)
        first = next(stream)
        rest = list(stream)
        assert len(rest) >= 2
        for given, match in [
            ((t for t in rest), "table 0 .* is missing"),
            ([first, *rest[1:]], "table 1 .* is missing"),
            ([first, rest[1], rest[0], *rest[2:]], "out of order"),
        ]:
            with pytest.raises(converz.StreamError, match=match) as err:
                converz.Table.concat(given)
            assert err.value.hint is not None and "[first, *stream]" in err.value.hint
        # A stream's table given twice is a stream's tables given wrongly (outside trial 41
        # F6: it was an InvalidParameterError, which `except StreamError` missed).
        with pytest.raises(converz.StreamError, match="table 1 is table 0 again"):
            converz.Table.concat([first, first, *rest])
        with pytest.raises(converz.StreamError, match="table 3 is table 1 again"):
            converz.Table.concat([first, *rest[:2], rest[0], *rest[2:]])
        # A fetch's table of no rows joins nothing, however often it is given (outside trial
        # 27c); one with rows is still refused beside it.
        empty = client.calls(start_date="2099-01-01")
        assert empty.num_rows == 0
        assert converz.Table.concat([empty, empty]).num_rows == 0
        assert converz.Table.concat([empty, first, empty, *rest]).num_rows == whole
        with pytest.raises(converz.InvalidParameterError, match="table 2 is table 0 again"):
            converz.Table.concat([whole_table := client.calls(), empty, whole_table])
        # Every table once, in order: every row.
        assert converz.Table.concat([first, *rest]).num_rows == whole
        # A finished stream's first tables alone leave rows out (outside trial 20).
        with pytest.raises(converz.StreamError, match=r"these are its first 2: table 2 .* is"):
            converz.Table.concat([first, rest[0]])
        # An open stream's first tables are a preview of what it handed out so far, and the
        # preview joins with the rest (outside trial 20b: "table 0 is missing").
        preview = client.iter_calls(page_size=1000)
        a, b = next(preview), next(preview)
        first_two = converz.Table.concat([a, b])
        assert first_two.num_rows == a.num_rows + b.num_rows
        assert converz.Table.concat([first_two, *preview]).num_rows == whole
        # Joined step by step, as the tables come.
        acc = None
        for table in client.iter_calls(page_size=1000):
            acc = table if acc is None else converz.Table.concat([acc, table])
        assert acc is not None and acc.num_rows == whole
        with pytest.raises(converz.StreamError, match="given twice"):
            converz.Table.concat([first_two, b])
        # Two streams' tables interleave freely; each stream's own order is what counts.
        one, two = client.iter_calls(page_size=1500), client.iter_calls(page_size=1500)
        a, b = list(one), list(two)
        assert converz.Table.concat([a[0], b[0], a[1], b[1], *a[2:], *b[2:]]).num_rows == 2 * whole
        # A pickled table (one sent back by a worker process) keeps its place.
        import pickle

        again = [pickle.loads(pickle.dumps(t)) for t in [first, *rest]]
        assert converz.Table.concat(again).num_rows == whole
        with pytest.raises(converz.StreamError, match="table 0 is given twice"):
            converz.Table.concat([again[0], first, *rest])
        with pytest.raises(converz.StreamError, match="is missing"):
            converz.Table.concat(again[:-1])
        # Pickled as they came, while the stream was open (a queue, a pool), then the stream
        # ended: the last one missing is still told (outside trial 20b).
        live = client.iter_calls(page_size=1000)
        blobs = [pickle.dumps(t) for t in live]
        with pytest.raises(converz.StreamError, match="is missing"):
            converz.Table.concat([pickle.loads(b) for b in blobs[:-1]])
        assert converz.Table.concat([pickle.loads(b) for b in blobs]).num_rows == whole


def test_the_tables_of_a_stream_stopped_by_an_error_are_refused() -> None:
    """Outside trial 20: a stream stopped by a Ctrl-C while it waited for a page is broken, and
    `Table.concat` of the tables it handed out returned part of the rows, unsaid."""
    with Emulator(calls=20_000, reps=5, seed=0) as emu:
        client = emu.client(progress=False, retries=0, max_concurrency=1)
        stream = client.iter_calls(page_size=100)
        first = next(stream)
        emu.stop()  # the server goes away: the next page fails and the stream breaks
        with pytest.raises(converz.ConverzError):
            list(stream)
        assert "broken" in repr(stream)
        with pytest.raises(converz.StreamError, match="stopped at an error") as err:
            converz.Table.concat([first])
        assert err.value.hint is not None and "fetch again" in err.value.hint
        with pytest.raises(converz.StreamError, match="broken"):
            converz.Table.concat(stream)


def test_a_stream_with_no_rows_gives_the_typed_empty_table() -> None:
    """Found by the outside trial: it raised "got no tables", hinting to pass iter_calls(...),
    which was passed."""
    with Emulator(calls=200, reps=5, seed=0) as emu:
        client = emu.client(progress=False)
        query = {"start_date": "2030-01-01", "end_date": "2030-01-01"}
        joined = converz.Table.concat(client.iter_calls(**query))
        eager = client.calls(**query)
        assert joined.num_rows == 0
        assert joined.schema == eager.schema and joined.num_columns > 5
    with pytest.raises(converz.InvalidParameterError, match="got no tables") as err:
        converz.Table.concat([])
    assert err.value.hint is not None and "non-empty list" in err.value.hint


# -- the property: concat of the tables of several fetches == one fetch of all their rows ----

# Kinds a column may hold. A column's palette is chosen so one fetch's values do not depend on
# how its pages fall: the fetch itself writes an integer on a Float64 page that ends as text as
# "3.0" and as "3" elsewhere (said by its warning), so integers and floats never share a column
# with text here; floats are k + 0.5, which print alike as sent and as Float64. Objects never
# share a column with text either: the fetch writes an object that ends as text as sent on a page
# of mixed values but as its struct's JSON (missing fields null) on a page of objects.
KINDS: dict[str, st.SearchStrategy[Any]] = {
    "int": st.integers(-(2**63), 2**63 - 1),
    "bigint": st.integers(2**63, 2**64),
    "float": st.integers(-1000, 1000).map(lambda k: k + 0.5),
    "text": st.text("abc xyz", max_size=4),
    "ts": st.sampled_from(["2025-01-01 10:00:00", "2025-03-04 05:06:07.250"]),
    "date": st.sampled_from(["2025-01-01", "2025-12-31"]),
    "bool": st.booleans(),
    "list_int": st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=3),
    "list_float": st.lists(st.integers(-9, 9).map(lambda k: k + 0.5), max_size=3),
    # Objects whose fields come and go, one of them an int or a float. Never `{}`: a page of
    # only `{}` after pages whose objects had fields fails the fetch itself (DecodeError,
    # "StructArray::try_new_with_length"; reported, not this module's).
    "obj": st.fixed_dictionaries(
        {"a": st.one_of(st.none(), st.integers(-5, 5), st.just(0.5))},
        optional={"b": st.text("xy", max_size=2)},
    ),
}
PALETTES = [
    ["int", "float"],
    ["int", "bigint"],
    ["int", "bigint", "text", "ts", "date", "bool", "list_int"],
    ["float", "text", "ts", "date", "bool"],
    ["list_int", "list_float"],
    ["ts", "date"],
    ["obj"],
]


@st.composite
def split_rows(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int], int]:
    columns = draw(st.integers(1, 4))
    kinds = [
        draw(st.lists(st.sampled_from(draw(st.sampled_from(PALETTES))), min_size=1, max_size=3))
        for _ in range(columns)
    ]
    rows: list[dict[str, Any]] = []
    for call_id in range(1, draw(st.integers(2, 12)) + 1):
        row: dict[str, Any] = {"call_id": call_id}
        for c, palette in enumerate(kinds):
            if draw(st.booleans()):  # columns appear and disappear from row to row
                kind = draw(st.sampled_from(palette))
                row[f"c{c}"] = draw(st.one_of(st.none(), KINDS[kind]))
        rows.append(row)
    cuts = sorted(draw(st.sets(st.integers(1, len(rows) - 1), min_size=1, max_size=3)))
    return rows, cuts, draw(st.integers(1, 4))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=split_rows())
def test_concat_of_fetches_equals_one_fetch_of_all_their_rows(
    served: Rows, case: tuple[list[dict[str, Any]], list[int], int]
) -> None:
    rows, cuts, page_size = case
    whole = served.fetch(rows, page_size)
    bounds = [0, *cuts, len(rows)]
    parts = [served.fetch(rows[a:b], page_size) for a, b in itertools.pairwise(bounds)]
    try:
        joined = converz.Table.concat(parts)
    except converz.ConverzError:
        return  # refused, typed: no value changed
    assert joined.schema == whole.schema
    assert pa.table(joined).equals(pa.table(whole)), (pa.table(joined), pa.table(whole))


# -- to_pandas: integers inside lists and structs ---------------------------------------------


def test_to_pandas_keeps_nested_integers_exact_and_pushes_them_back() -> None:
    """Found by the outside trial: a List(Int64) with a null item came back as float arrays
    (9007199254740993 as 9007199254740992.0) and a push of the unchanged frame sent floats."""
    import pandas as pd
    import polars as pl

    big = 2**53 + 1
    with Emulator(calls=50, reps=5, seed=0) as emu:
        client = emu.client(progress=False)
        ids = sorted(client.calls(columns=["call_id"]).to_polars()["call_id"].to_list())[:2]
        sent = pl.DataFrame(
            {
                "call_id": ids,
                "ids": [[big, None], [3]],
                "meta": [{"n": big, "tags": [1, None]}, {"n": None, "tags": [2]}],
                "plain": [[1, 2], [3]],
            }
        )
        client.push_updates(sent)
        table = client.calls()
        frame = table.to_pandas()
        assert isinstance(frame["ids"].dtype, pd.ArrowDtype)
        assert isinstance(frame["meta"].dtype, pd.ArrowDtype)
        mine = frame[frame["call_id"].isin(ids)].sort_values("call_id")
        assert mine["ids"].tolist() == [[big, None], [3]]
        assert mine["meta"].tolist()[0] == {"n": big, "tags": [1, None]}
        # A list of integers without nulls too, so two days' frames join exactly (outside
        # trial 19b: numpy object lists beside an ArrowDtype day were rounded by pd.concat).
        assert isinstance(frame["plain"].dtype, pd.ArrowDtype)
        days = pd.concat([frame[["ids"]].iloc[:1], frame[["ids"]].iloc[1:]])
        assert days["ids"].tolist() == frame["ids"].tolist()
        only_plain = client.calls(columns=["call_id", "plain"]).to_pandas()
        assert only_plain["plain"].dtype == frame["plain"].dtype
        # Overwrite, then push the frame back: the server holds the exact integers again.
        client.push_updates(pl.DataFrame({"call_id": ids, "ids": [[0], [0]]}))
        client.push_updates(mine[["call_id", "ids", "meta"]])
        again = client.calls().to_polars().filter(pl.col("call_id").is_in(ids)).sort("call_id")
        assert again["ids"].to_list() == [[big, None], [3]]
        assert again["meta"].to_list()[0] == {"n": big, "tags": [1, None]}
        # types_mapper still decides everything.
        mapped = table.to_pandas(types_mapper={}.get)
        assert not isinstance(mapped["ids"].dtype, pd.ArrowDtype)


@pytest.mark.parametrize(
    "tables", [None, 5, {"a": 1}, "ab", b"ab", pa.table({"a": [1]}), pa.record_batch({"a": [1]})]
)
def test_what_is_not_a_list_of_tables_is_a_type_error_naming_it(tables: Any) -> None:
    """Outside trial 21: `Table.concat(None)` and `(5)` were bare TypeErrors; a dict's keys
    were reported as "got a int"."""
    with pytest.raises(converz.InvalidParameterTypeError) as info:
        converz.Table.concat(tables)
    assert info.value.parameter == "tables" and type(tables).__name__ in str(info.value)


def test_a_pyarrow_table_in_the_list_is_named_as_one() -> None:
    with pytest.raises(converz.InvalidParameterError, match=r"got a pyarrow\.lib\.Table"):
        converz.Table.concat([pa.table({"a": [1]})])
    with pytest.raises(converz.InvalidParameterError, match=r"got a dict\b"):
        converz.Table.concat([{"a": 1}])
    # Outside trial 21c: a bare AttributeError.
    with pytest.raises(converz.InvalidParameterError, match=r"got a NoneType\b"):
        converz.Table.concat([None])


def test_a_whole_streams_tables_keep_the_streams_warnings_and_no_others() -> None:
    """Outside trial 21: `Table.concat(list(stream))` and `Table.concat([first, *stream])` lost
    the fetch's warnings, and the join added its own, judging the stream's types: a column of
    booleans and integers was said to mix "booleans, strings"."""
    import polars as pl

    with Emulator(calls=1000, reps=5, seed=7) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].to_list()
        client.push_updates(pl.DataFrame({"call_id": ids[10:11], "flag": [True]}))
        client.push_updates(pl.DataFrame({"call_id": ids[900:901], "flag": [7]}))
        stream = client.iter_calls(page_size=100)
        tables = list(stream)
        first, *rest = tables
        for joined in (
            converz.Table.concat(tables),
            converz.Table.concat([first, *rest]),
            converz.Table.concat(client.iter_calls(page_size=100)),
        ):
            assert joined.warnings == stream.warnings, joined.warnings
            assert any("`flag` mixes booleans, integers" in w for w in joined.warnings)


def test_a_stream_joined_step_by_step_keeps_the_streams_warnings() -> None:
    """Outside trial 21c: `acc = Table.concat([acc, t])` over a stream ended with no warnings:
    the last join runs before the stream has ended."""
    import polars as pl

    with Emulator(calls=600, reps=5, seed=7) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].sort().to_list()
        client.push_updates(pl.DataFrame({"call_id": [ids[0]], "m": ["text"]}))
        client.push_updates(pl.DataFrame({"call_id": [ids[-1]], "m": [5]}))
        stream = client.iter_calls(page_size=100)
        acc = None
        for t in stream:
            acc = t if acc is None else converz.Table.concat([acc, t])
        assert acc is not None
        assert acc.warnings == stream.warnings and acc.warnings, acc.warnings
        assert any("`m` mixes integers, strings" in w for w in acc.warnings)
        assert acc.to_polars().equals(client.calls(page_size=100).to_polars())


# -- tables of other listings -----------------------------------------------------------------


def test_tables_of_other_listings_are_refused_and_one_listings_join() -> None:
    """Outside trial 31 (F2): calls and reps were joined into one table, the reps' rows with a
    null call_id, and reports grouped by date and by campaign into one of both kinds of rows.
    The listing survives a pickle (Dask, Ray) and a join, and a stream's tables carry it."""
    import pickle

    with Emulator(calls=60, reps=5) as emu:
        client = emu.client(progress=False)
        calls, reps = client.calls(), client.reps()
        # Reports over days that have calls: a group without data is absent.
        days_with_calls = sorted(set(pa.table(calls).column("date").to_pylist()))
        week = {
            "start_date": days_with_calls[0],
            "end_date": days_with_calls[len(days_with_calls) // 2],
        }
        by_date = client.report(**week, groupby="date")
        assert by_date.num_rows == len(days_with_calls) // 2 + 1
        for mixed, said in [
            ([calls, reps], "calls and reps"),
            (
                [by_date, client.report(**week, groupby="campaign")],
                "report by date and report by campaign",
            ),
            ([pickle.loads(pickle.dumps(calls)), reps], "calls and reps"),
            ([converz.Table.concat([calls]), *client.iter_reps()], "calls and reps"),
            ([client.report(**week)], None),
        ]:
            if said is None:
                assert converz.Table.concat(mixed).num_rows == 1
                continue
            with pytest.raises(converz.InvalidParameterError, match=said):
                converz.Table.concat(mixed)
        # One listing joins, whatever else differs (days, filters, a stream's tables).
        later = client.report(start_date=days_with_calls[-1], groupby="date")
        days = converz.Table.concat([by_date, later])
        assert days.num_rows == by_date.num_rows + later.num_rows == by_date.num_rows + 1
        joined = converz.Table.concat([*client.iter_calls(page_size=25)])
        assert converz.Table.concat([joined, client.calls(campaign="sales")]).num_rows > 60
