"""``frame=``: a table laid out for polars or pandas while its pages decode holds exactly what
the default (Arrow) table holds, through every reader; the setting is the client's default and
a fetch's own overrides it; a bad value is refused before any request."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import polars as pl
import pytest

import converz
from converz.testing import Emulator

FORMS = {"arrow": "Utf8", "polars": "Utf8View", "pandas": "LargeUtf8"}


def text_forms(table: converz.Table) -> set[str]:
    """The forms the table's declared text columns are stored in now."""
    declared = [kind for _, kind in table._raw.column_types()]
    return {
        stored
        for batch in table._raw.stored_types()
        for kind, stored in zip(declared, batch)
        if kind == "Utf8"
    }


@pytest.mark.parametrize("frame", ["polars", "pandas", "arrow"])
@pytest.mark.parametrize(
    "fetch",
    [
        lambda c, **kw: c.calls(page_size=3_000, **kw),
        lambda c, **kw: c.calls(columns=["call_id", "summary", "campaign"], page_size=999, **kw),
        lambda c, **kw: c.reps(page_size=50, **kw),
        lambda c, **kw: c.report(groupby=["date", "campaign"], days=30, **kw),
    ],
    ids=["calls", "calls_columns", "reps", "report"],
)
def test_every_frame_holds_the_default_tables_values(client, frame, fetch):
    reference = fetch(client)
    table = fetch(client, frame=frame)
    assert text_forms(table) == {FORMS[frame]}
    assert table.schema == reference.schema
    assert table.num_rows == reference.num_rows
    assert table.to_polars().equals(reference.to_polars())
    pd.testing.assert_frame_equal(table.to_pandas(), reference.to_pandas())
    # Once more, each reader after the others: a table converted for one still gives the rest.
    assert table.to_arrow().equals(reference.to_arrow())
    assert table.to_polars().equals(reference.to_polars())


def test_the_clients_frame_is_the_default_and_a_fetchs_own_wins(read_emulator):
    # Named nowhere: Utf8, or polars' views where the link left the decode idle (one form).
    assert len(text_forms(read_emulator.client(progress=False, frame=None).reps())) == 1
    client = read_emulator.client(progress=False, frame="polars")
    assert text_forms(client.reps()) == {"Utf8View"}
    assert text_forms(client.reps(frame="pandas")) == {"LargeUtf8"}
    assert text_forms(client.reps(frame="arrow")) == {"Utf8"}
    assert text_forms(read_emulator.client(progress=False, frame="arrow").reps()) == {"Utf8"}


@pytest.fixture(scope="module")
def slow_link() -> Iterator[Emulator]:
    """An emulator behind a link far slower than the decode: 2 MB/s, 20 ms a round trip."""
    with Emulator(calls=6_000, reps=50, seed=5, latency=0.02, bandwidth=2e6) as emu:
        yield emu


@pytest.mark.parametrize("compression", ["gzip", None])
def test_over_a_slow_link_a_table_for_no_library_is_laid_out_for_polars(slow_link, compression):
    # Each page's decode waited on the link most of the time, so its text became polars' views
    # on that idle thread; a fetch that names a library keeps that library's form, and every
    # reader gives the Utf8 table's values, in any order, the views going back without a copy
    # of the longer strings.
    client = slow_link.client(progress=False, compression=compression)
    table = client.calls(page_size=1_000)
    reference = client.calls(page_size=1_000, frame="arrow")
    assert text_forms(table) == {"Utf8View"}
    assert text_forms(reference) == {"Utf8"}
    assert text_forms(client.calls(page_size=1_000, frame="pandas")) == {"LargeUtf8"}
    assert table.schema == reference.schema
    assert table.to_arrow().equals(reference.to_arrow())
    assert table.to_polars().equals(reference.to_polars())
    pd.testing.assert_frame_equal(table.to_pandas(), reference.to_pandas())
    assert table.to_polars().equals(reference.to_polars())
    assert table.to_arrow().equals(reference.to_arrow())
    # A stream's pages go to files and engines: Utf8 unless the stream names a library.
    assert all(text_forms(page) == {"Utf8"} for page in client.iter_calls(page_size=2_000))


def test_a_text_key_read_twice_in_two_layouts_is_the_same_row():
    # The short last page is read again once every earlier page is in; a reading decoded while
    # waiting on the link is laid out for polars, so the two readings of its first key may come
    # in two layouts. Compared as they were, they differed, and the fetch warned that rows
    # moved when none had (outside trial 56 F1: 10 of 10 fetches of reps).
    with Emulator(calls=100, reps=3_000, seed=9, latency=0.02, bandwidth=1e6) as emu:
        client = emu.client(progress=False)
        for _ in range(4):
            table = client.reps(page_size=333)
            assert table.num_rows == 3_000
            assert not [w for w in table.warnings if "moved" in w]


def test_a_table_laid_out_for_polars_is_converted_back_once(slow_link, client):
    # to_arrow() converts the table back to Utf8 in place: a second export shares the first's
    # buffers instead of copying the strings again (outside trial 56 F2: three to_arrow() kept
    # three copies), and polars' views are built again only if asked for.
    for table in (
        slow_link.client(progress=False).calls(page_size=1_000),
        client.calls(frame="polars"),
    ):
        assert text_forms(table) == {"Utf8View"}
        first, second = table.to_arrow(), table.to_arrow()
        assert text_forms(table) == {"Utf8"}
        assert first.equals(second)
        for a, b in zip(first["summary"].chunks, second["summary"].chunks):
            assert [x and x.address for x in a.buffers()] == [x and x.address for x in b.buffers()]
        assert table.to_polars().equals(pl.from_arrow(first))
        assert text_forms(table) == {"Utf8View"}


def test_a_frame_table_concatenates_with_others(client):
    parts = [
        client.calls(start_date="2025-01-01", end_date="2025-01-31", frame="polars"),
        client.calls(start_date="2025-02-01", end_date="2025-02-28"),
        client.calls(start_date="2025-03-01", end_date="2025-03-31", frame="pandas"),
    ]
    whole = client.calls(start_date="2025-01-01", end_date="2025-03-31")
    assert converz.Table.concat(parts).to_arrow().equals(whole.to_arrow())


@pytest.fixture(scope="module")
def late_text() -> Iterator[converz.Client]:
    """A client whose pushed attribute `tag` holds numbers on the first 1,900 calls and text on
    the last 100: the column ends as text."""
    with Emulator(calls=2_000, reps=5, seed=2) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"]
        numbers = pl.DataFrame({"call_id": ids[:1_900], "tag": range(1_900)})
        words = pl.DataFrame({"call_id": ids[1_900:], "tag": [f"code {i}" for i in range(100)]})
        assert client.push_updates(numbers).ok
        assert client.push_updates(words).ok
        yield client


def test_text_a_later_page_brings_is_in_the_form_too(late_text):
    # The pages decoded as numbers are made text at the end, in the form.
    columns = ["call_id", "summary", "tag"]
    reference = late_text.calls(columns=columns, page_size=500)
    table = late_text.calls(columns=columns, page_size=500, frame="polars")
    assert reference.schema["tag"] == table.schema["tag"] == reference.schema["summary"]
    assert text_forms(table) == {"Utf8View"}
    assert table.to_polars().equals(reference.to_polars())
    assert table.to_arrow().equals(reference.to_arrow())


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("Polars", converz.InvalidParameterError),
        ("spark", converz.InvalidParameterError),
        ("", converz.InvalidParameterError),
        (1, converz.InvalidParameterTypeError),
        (pl.DataFrame, converz.InvalidParameterTypeError),
    ],
)
def test_a_bad_frame_is_refused_before_any_request(read_emulator, frame, error):
    client = read_emulator.client(progress=False)
    sent = read_emulator.wire_stats()["responses"]
    with pytest.raises(error, match="frame: expected 'arrow', 'polars' or 'pandas'") as caught:
        client.calls(frame=frame)
    assert caught.value.parameter == "frame"
    with pytest.raises(error):
        read_emulator.client(progress=False, frame=frame)
    assert read_emulator.wire_stats()["responses"] == sent


def assert_same_pages(stream: converz.TableStream, reference: converz.TableStream, frame: str):
    """Page for page: the reference's schema, rows and values through every reader, stored in
    the frame's form."""
    pages, expected = list(stream), list(reference)
    assert len(pages) == len(expected) > 1
    for page, want in zip(pages, expected):
        assert text_forms(page) <= {FORMS[frame]}
        assert page.schema == want.schema
        assert page.to_polars().equals(want.to_polars())
        pd.testing.assert_frame_equal(page.to_pandas(), want.to_pandas())
        assert page.to_arrow().equals(want.to_arrow())
    assert stream.warnings == reference.warnings


@pytest.mark.parametrize("frame", ["polars", "pandas", "arrow"])
@pytest.mark.parametrize(
    "stream",
    [
        lambda c, **kw: c.iter_calls(page_size=3_000, **kw),
        # The key column is fetched for the listing and left out of every page.
        lambda c, **kw: c.iter_calls(columns=["summary", "campaign"], page_size=999, **kw),
        lambda c, **kw: c.iter_reps(page_size=50, **kw),
    ],
    ids=["calls", "calls_columns", "reps"],
)
def test_a_streams_frame_lays_out_its_pages_with_the_same_values(client, frame, stream):
    assert_same_pages(stream(client, frame=frame), stream(client), frame)


def test_a_streams_page_before_a_column_turns_to_text_keeps_its_type_in_every_frame(late_text):
    # As test_text_a_later_page_brings_is_in_the_form_too, streamed: pages before the text
    # keep the numbers, later ones have text in the frame's form.
    def stream(**kw):
        return late_text.iter_calls(columns=["call_id", "summary", "tag"], page_size=500, **kw)

    for frame in ("polars", "pandas"):
        assert_same_pages(stream(frame=frame), stream(), frame)


@pytest.mark.parametrize("method", ["iter_calls", "iter_reps"])
def test_a_streams_frame_is_its_own_and_checked_before_any_request(read_emulator, method):
    client = read_emulator.client(progress=False, frame="polars")
    sent = read_emulator.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError, match="frame: expected 'arrow'"):
        getattr(client, method)(frame="spark")
    with pytest.raises(converz.InvalidParameterTypeError, match="frame: expected 'arrow'"):
        getattr(client, method)(frame=1)
    assert read_emulator.wire_stats()["responses"] == sent
    # The client's frame= does not reach a stream: its pages are Arrow tables unless asked.
    assert text_forms(next(iter(getattr(client, method)()))) <= {"Utf8"}
    assert text_forms(next(iter(getattr(client, method)(frame="polars")))) == {"Utf8View"}


def test_a_polars_that_cannot_read_streams_is_named(client, monkeypatch):
    # polars 1.0-1.2 raised a TypeError naming converz's internal stream class (outside
    # trial 29 F1); the extras ask for 1.3.
    table = client.reps()
    monkeypatch.setattr(pl, "__version__", "1.1.0")
    with pytest.raises(ImportError, match=r"needs polars 1\.3 or later.*this is polars 1\.1\.0"):
        table.to_polars()
    monkeypatch.setattr(pl, "__version__", "1.3.0")
    assert table.to_polars().height == table.num_rows


@pytest.mark.parametrize("frame", ["polars", "pandas"])
def test_a_framed_stream_concatenates_to_the_eager_table(client, frame):
    whole = converz.Table.concat(client.iter_calls(frame=frame, page_size=700))
    reference = client.calls()
    assert whole.to_arrow().equals(reference.to_arrow())
    assert whole.to_polars().equals(reference.to_polars())
