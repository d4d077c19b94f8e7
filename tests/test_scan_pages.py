"""Lazy scans over pages a test writes: types that change after the schema probe, null columns.

A scan fixes its schema from a probe of the query's first rows, before it reads the rest. Each
test serves rows from a small server (every byte written here) to both ``client.calls()`` and
``client.scan_calls()``: the scan must return the eager fetch's values or raise a typed error
naming the column, never a value changed on the way.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any, Callable, Optional

import polars as pl
import pytest
from hostile_support import RawServer, Request, response, serving
from polars.testing import assert_frame_equal

import converz
from converz import _scan
from converz.testing import Emulator

PROBE_ROWS = _scan._PROBE_ROWS


def pager(rows: list[dict[str, Any]]) -> Callable[[Request], bytes]:
    """``/calls`` over ``rows`` as the API pages them: ``page``, ``n_per_page``, ``campaign``
    and ``columns`` (a named column is on every row, null where the row lacks it)."""

    def respond(request: Request) -> bytes:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query)
        size, page = int(query["n_per_page"][0]), int(query.get("page", ["1"])[0])
        campaigns = {c for v in query.get("campaign", []) for c in v.split(",")}
        columns = [c for v in query.get("columns", []) for c in v.split(",")]
        kept = [r for r in rows if not campaigns or r.get("campaign") in campaigns]
        if columns:
            kept = [{c: r.get(c) for c in columns} for r in kept]
        # Compact, as the API writes it.
        body = json.dumps(kept[(page - 1) * size : page * size], separators=(",", ":")).encode()
        return response("200 OK", body, "Content-Type: application/json")

    return respond


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Request], bytes]], RawServer]]:
    yield from serving()


def call(i: int, **extra: Any) -> dict[str, Any]:
    """Call ``i`` with every documented column (the scan's schema has them all), then ``extra``."""
    day = f"2025-07-{1 + i % 28:02d}"
    return {
        "call_id": i,
        "vendor_call_id": f"v-{i}",
        "rep_id": f"rep{i % 7}",
        "vendor": "talkdesk",
        "campaign": "sales" if i % 3 else "support",
        "subcampaign": "upsell",
        "department": "sales",
        "start_time": f"{day} 10:00:{i % 60:02d}",
        "end_time": f"{day} 10:05:{i % 60:02d}",
        "date": day,
        "duration": 300 + i,
        "talk_time": 200,
        "hold_time": 50,
        "silence_time": 50 - i % 50,
        "sentiment": (i % 10) / 10,
        "words_rep": 10 * i,
        "words_customer": 7 * i,
        "topic": "billing",
        "outcome": "resolved",
        "summary": f"call {i}",
        **extra,
    }


def two_halves(first: Callable[[int], Any], later: Callable[[int], Any]) -> list[dict[str, Any]]:
    """300 rows: ``x`` is ``first(i)`` on the probe's rows and beyond, ``later(i)`` after."""
    return [call(i, x=first(i) if i <= 150 else later(i)) for i in range(1, 301)]


def scan_error(client: converz.Client, **kwargs: Any) -> converz.DecodeError:
    with pytest.raises(converz.DecodeError) as err:
        client.scan_calls(**kwargs).collect()
    return err.value


@pytest.mark.parametrize(
    ("first", "later"),
    [
        # Found by the outside trial: [151.5] came out as [151], and the key b was dropped.
        (lambda i: [i], lambda i: [i + 0.5]),
        (lambda i: {"a": i}, lambda i: {"a": i, "b": "kept?"}),
        (lambda i: [{"a": i}], lambda i: [{"a": i, "b": 1}]),
        (lambda i: {"a": [i]}, lambda i: {"a": [i + 0.5]}),
    ],
    ids=["list-int-then-float", "struct-new-key", "list-of-struct-new-key", "struct-list"],
)
def test_a_nested_value_wider_than_the_probe_is_refused_not_cut(
    serve: Callable[..., RawServer], first: Callable[[int], Any], later: Callable[[int], Any]
) -> None:
    # Pages of 100 rows: the last one holds only the later values.
    client = serve(pager(two_halves(first, later))).client(page_size=100)
    eager = client.calls().to_polars()
    err = scan_error(client)
    assert "column x" in str(err) and err.hint is not None
    # schema= takes no list or struct type (and cannot make one text): the eager fetch can.
    assert "client.calls()" in err.hint and "schema=" not in err.hint.split("(")[0]
    # The other columns scan as the eager fetch reads them: x is not asked for.
    others = [c for c in eager.columns if c != "x"]
    assert_frame_equal(client.scan_calls().select(others).collect(), eager.select(others))


@pytest.mark.parametrize(
    ("first", "later"),
    [
        (lambda i: [i + 0.5], lambda i: [i]),
        (lambda i: {"a": i, "b": "x"}, lambda i: {"a": i}),
        (lambda i: {"a": i, "b": "x"}, lambda i: {"b": "y", "a": i}),
        (lambda i: [], lambda i: []),
        (lambda i: {"a": i}, lambda i: None),
        # The stream keeps the first pages' text type for later numbers, as calls() does.
        (lambda i: [f"t{i}"], lambda i: [i]),
    ],
    ids=[
        "list-float-then-int",
        "struct-key-missing",
        "struct-keys-reordered",
        "empty",
        "null",
        "text",
    ],
)
def test_a_nested_value_the_probe_holds_equals_the_eager_fetch(
    serve: Callable[..., RawServer], first: Callable[[int], Any], later: Callable[[int], Any]
) -> None:
    client = serve(pager(two_halves(first, later))).client(page_size=100)
    eager = client.calls().to_polars()
    assert_frame_equal(client.scan_calls().collect(), eager)
    for engine in ("in-memory", "streaming"):
        got = client.scan_calls().filter(pl.col("call_id") > 140).collect(engine=engine)
        assert_frame_equal(got, eager.filter(pl.col("call_id") > 140))


def test_a_list_that_later_holds_text_names_the_column_and_the_fix(
    serve: Callable[..., RawServer],
) -> None:
    """Found by the outside trial: polars' own "casting from Utf8View to list type is not
    supported ... Use pl.list(expr)" was the message."""
    client = serve(pager(two_halves(lambda i: [i], lambda i: f"s{i}"))).client()
    err = scan_error(client)
    assert "column x" in str(err) and "Utf8View" not in str(err) and "pl.list" not in str(err)
    assert err.hint is not None and "schema={'x': 'str'}" in err.hint
    # What the hint says works, and gives what the eager fetch gives: each value's JSON text.
    eager = client.calls().to_polars()
    assert eager.schema["x"] == pl.String
    assert_frame_equal(client.calls(schema={"x": "str"}).to_polars(), eager)
    assert_frame_equal(client.scan_calls(schema={"x": "str"}).collect(), eager)


@pytest.mark.parametrize(
    ("later", "kind", "eager_type"),
    [
        (lambda i: i, "int64", pl.Int64),
        (lambda i: i + 0.5, "float64", pl.Float64),
        (lambda i: True, "bool", pl.Boolean),
        (lambda i: "2025-01-02", "date32", pl.Date),
        (lambda i: [i], None, pl.List(pl.Int64)),
        (lambda i: {"a": i}, None, pl.Struct({"a": pl.Int64})),
    ],
    ids=["int", "float", "bool", "date", "list", "struct"],
)
def test_a_column_null_on_the_probes_rows_is_not_turned_into_text(
    serve: Callable[..., RawServer],
    later: Callable[[int], Any],
    kind: Optional[str],
    eager_type: Any,
) -> None:
    """Found by the outside trial: the scan typed it as text and returned '151', '[151]',
    '{"a":151}' where calls() gives the number, list, struct. Now it says so, naming the
    type to declare."""
    client = serve(pager(two_halves(lambda i: None, later))).client()
    eager = client.calls().to_polars()
    assert eager.schema["x"] == eager_type
    assert client.scan_calls().collect_schema()["x"] == pl.String  # a guess: no value seen
    err = scan_error(client)
    assert "column x" in str(err) and "null" in str(err)
    assert err.hint is not None and "client.calls()" in err.hint
    if kind is not None:
        assert f"schema={{'x': {kind!r}}}" in err.hint
        declared = client.scan_calls(schema={"x": kind}).collect()
        assert_frame_equal(declared, client.calls(schema={"x": kind}).to_polars())
    # Text later is what the guess holds.
    text = serve(pager(two_halves(lambda i: None, lambda i: f"s{i}"))).client()
    assert_frame_equal(text.scan_calls().collect(), text.calls().to_polars())


def test_a_column_null_on_every_row_is_a_null_text_column(
    serve: Callable[..., RawServer],
) -> None:
    """Found by the outside trial: a text column null on every row of a page (documented, or
    custom) failed in the core's text spelling ("The datatype Null doesn't expect buffer")."""
    rows = [call(i, campaign=None, note=None) for i in range(1, 4)]
    client = serve(pager(rows)).client()
    eager = client.calls().to_polars()
    got = client.scan_calls().collect()
    assert got.schema["campaign"] == eager.schema["campaign"] == pl.String
    # A custom column with no value anywhere is Null in the eager fetch; the scan states its
    # schema before it reads the rows, so it holds the same nulls as text.
    assert eager.schema["note"] == pl.Null and got.schema["note"] == pl.String
    assert got["note"].to_list() == eager["note"].to_list() == [None] * 3
    assert_frame_equal(got.drop("note"), eager.drop("note"))


def test_a_cleared_campaign_is_scanned_as_the_eager_fetch_reads_it(
    write_emulator: Emulator,
) -> None:
    """Found by the outside trial: after push_updates(..., clear=["campaign"]) on a day's calls,
    scanning that day raised DecodeError where calls() works."""
    client = write_emulator.client(progress=False)
    day = "2025-06-02"
    ids = client.calls(start_date=day, end_date=day, columns=["call_id"]).to_polars()["call_id"]
    assert ids.len() > 0
    cleared = pl.DataFrame(
        {"call_id": ids, "campaign": pl.Series([None] * ids.len(), dtype=pl.String)}
    )
    client.push_updates(cleared, clear=["campaign"])
    eager = client.calls(start_date=day, end_date=day).to_polars()
    assert eager["campaign"].null_count() == eager.height
    got = client.scan_calls(start_date=day, end_date=day).collect()
    assert_frame_equal(got, eager)
    assert_frame_equal(
        client.scan_calls(start_date=day, end_date=day).select("call_id", "campaign").collect(),
        eager.select("call_id", "campaign"),
    )


@pytest.mark.parametrize(
    "later", [lambda i: [], lambda i: [None], lambda i: {"a": None}], ids=["empty", "null", "field"]
)
def test_a_text_column_whose_page_holds_only_empty_lists_is_spelled_as_the_eager_fetch(
    serve: Callable[..., RawServer], later: Callable[[int], Any]
) -> None:
    """Found by the differential test: the probe saw text, a filtered page held only `[]`
    (List(Null)), and the core's text spelling failed on the Null items."""
    # campaign=support (sent to the API) keeps only the rows with `later` values.
    rows = [call(i, x=f"t{i}" if i % 3 else later(i)) for i in range(1, 301)]
    client = serve(pager(rows)).client(page_size=50)
    eager = client.calls().to_polars()
    assert eager.schema["x"] == pl.String
    support = pl.col("campaign") == "support"
    assert_frame_equal(client.scan_calls().filter(support).collect(), eager.filter(support))
