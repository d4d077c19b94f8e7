"""`converz.Table`'s repr and notebook HTML: shape, first and last rows, the fetch's summary."""

from __future__ import annotations

import re
import sys

import polars as pl
import pytest

import converz
from converz.testing import Emulator


@pytest.fixture(scope="module")
def calls(client: converz.Client) -> converz.Table:
    return client.calls(start_date="2025-09-01")


def test_repr_shows_shape_first_and_last_rows(calls: converz.Table) -> None:
    text = repr(calls)
    df = calls.to_polars()
    first = text.splitlines()[0]
    assert re.fullmatch(
        rf"converz\.Table: {df.height:,} rows \u00d7 20 columns, \d+ pages?, \d+\.\d\d s", first
    )
    ids = df["call_id"].to_list()
    for shown in ids[:5] + ids[-5:]:
        assert f"\u2502 {shown} " in text
    assert f"\u2502 {ids[5]} " not in text and f"\u2502 {ids[-6]} " not in text
    assert "\u2502 \u2026 " in text  # the row of left-out rows
    # Long text is cut; the first and last columns show, the middle ones are left out.
    summary = df["summary"][0]
    assert summary not in text and summary[:20] in text
    assert "call_id" in text and "summary" in text and "talk_time" not in text
    assert "Int64" in text and "Timestamp" not in text


def test_small_tables_show_every_row(client: converz.Client) -> None:
    reps = client.reps(rep_id=["kees100", "anna101", "nobody"])
    text = repr(reps)
    assert text.startswith(f"converz.Table: {reps.num_rows} rows \u00d7 10 columns")
    for rep in reps.to_polars()["rep_id"]:
        assert rep in text
    assert "\u2502 \u2026 \u2506 \u2026" not in text
    one = client.reps(rep_id="kees100")
    assert repr(one).startswith("converz.Table: 1 row \u00d7 10 columns")


def test_summary_counts_pages_seconds_and_warnings(calls: converz.Table) -> None:
    table = converz.Table(calls._raw, ["first", "second"], elapsed=1.234, pages=3)
    assert "3 pages, 1.23 s, 2 warnings" in repr(table).splitlines()[0]
    assert "3 pages, 1.23 s, 2 warnings" in table._repr_html_()
    assert "second" in table._repr_html_()


def test_html_preview_is_escaped(write_emulator: Emulator) -> None:
    client = write_emulator.client(progress=False)
    first = client.calls(columns=["call_id"]).to_polars()["call_id"][0]
    client.push_updates(pl.DataFrame({"call_id": [first], "topic": ["<script>x</script>"]}))
    page = client.calls(columns=["call_id", "topic"])._repr_html_()
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    assert "<th>call_id</th>" in page and f"<td>{first}</td>" in page


def test_same_preview_without_pyarrow_and_plain_without_either(
    calls: converz.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_pyarrow = repr(calls)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    assert repr(calls) == with_pyarrow
    monkeypatch.setitem(sys.modules, "polars", None)
    plain = repr(calls)
    assert plain.splitlines()[0] == with_pyarrow.splitlines()[0]
    assert "  call_id: Int64" in plain and "  summary: Utf8" in plain
    assert "<th>talk_time</th>" in calls._repr_html_()


def test_a_fetch_counts_the_pages_it_read(client: converz.Client) -> None:
    table = client.calls(start_date="2025-09-01", page_size=1_000)
    full_pages = -(-table.num_rows // 1_000)
    # Every page with rows, the page that showed the end, and at most the window of pages
    # already in flight past it.
    assert table.pages is not None
    assert full_pages + 1 <= table.pages <= full_pages + 1 + client._raw.max_concurrency
    assert f"{table.pages} pages" in repr(table).splitlines()[0]
    assert client.report(groupby="campaign").pages == 1


def test_a_stream_is_an_iterator_that_resumes_where_it_stopped(client: converz.Client) -> None:
    whole = client.calls(start_date="2025-09-01", page_size=500).to_polars()
    stream = client.iter_calls(start_date="2025-09-01", page_size=500)
    first = next(stream).to_polars()
    rest = [page.to_polars() for page in stream]
    assert pl.concat([first, *rest]).equals(whole)
    with pytest.raises(StopIteration):
        next(stream)
    with pytest.raises(RuntimeError, match="already consumed"):
        iter(stream)


def test_an_empty_fetch_has_the_columns_a_full_one_would(client: converz.Client) -> None:
    # The defect: a fetch that found no rows had no columns, so `.select("call_id")` failed.
    past = {"start_date": "2001-01-01", "end_date": "2001-01-31"}
    recent = {"start_date": "2025-09-01", "end_date": "2025-09-30"}
    for query in (
        {},
        {"columns": ["call_id", "duration", "date", "start_time"]},
        {"metric": ["duration"]},
    ):
        empty = client.calls(**past, **query)
        assert empty.num_rows == 0
        assert empty.schema == client.calls(**recent, **query).schema, query
    raw = client.calls(**past, columns=["date"], parse_dates=False, schema={"nope": "int64"})
    assert raw.schema == {"date": "Utf8"}
    typed = client.calls(**past, columns=["call_id", "duration"], schema={"duration": "float"})
    assert typed.schema == {"call_id": "Int64", "duration": "Float64"}
    nobody = client.reps(rep_id="nobody")
    assert nobody.num_rows == 0 and nobody.schema == client.reps().schema
    assert nobody.to_polars().select("rep_id").height == 0
