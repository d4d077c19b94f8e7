"""`converz.Table`'s repr and notebook HTML: shape, first and last rows, the fetch's summary."""

from __future__ import annotations

import re
import sys
import urllib.parse
from collections.abc import Iterator

import pandas as pd
import polars as pl
import pytest
from hostile_support import RawServer, Request, response

import converz
from converz.testing import Emulator


def one_page(body: bytes) -> RawServer:
    """A server whose listing is `body` on page 1 and empty after it."""

    def respond(request: Request) -> bytes:
        page = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query).get("page")
        return response("200 OK", body if page == ["1"] else b"[]")

    return RawServer(respond)


def calls_of_one_page(body: bytes) -> converz.Table:
    """``calls()`` of a server whose listing is ``body`` (see ``one_page``)."""
    server = one_page(body)
    try:
        return server.client().calls()
    finally:
        server.stop()


@pytest.fixture
def served() -> Iterator[RawServer]:
    # \u001b is ESC; the text is what a hostile server (or a hostile row) could hold.
    rows = (
        b'[{"call_id":1,"x":"\\u001b[2J\\u001b]0;owned\\u0007\\u001b[31mRED\\nline\\ttab\\r",'
        b'"\\u001b[1mname":"\\u202eevil\\u2028"},'
        b'{"call_id":2,"x":"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\xe2\x80\x8d\xf0\x9f\x91\x8d",'
        b'"\\u001b[1mname":"a\\\\b"}]'
    )
    server = one_page(rows)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calls(client: converz.Client) -> converz.Table:
    return client.calls(start_date="2025-09-01")


def test_repr_shows_shape_first_and_last_rows(calls: converz.Table) -> None:
    text = repr(calls)
    df = calls.to_polars()
    first = text.splitlines()[0]
    assert re.fullmatch(
        rf"converz\.Table: {df.height:,} rows \u00d7 20 columns, \d+ page requests?, \d+\.\d\d s",
        first,
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
    assert "3 page requests, 1.23 s, 2 warnings" in repr(table).splitlines()[0]
    assert "3 page requests, 1.23 s, 2 warnings" in table._repr_html_()
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
    # Every page with rows, the page that showed the end, at most the window of pages already
    # in flight past it (a slot freed as the end arrives may be refilled once before the end is
    # known), and the short last page read again when it was asked for before the pages ahead of
    # it were in (a loaded machine: seen in a full run).
    assert table.pages is not None
    window = client._raw.max_concurrency + 1
    assert full_pages + 1 <= table.pages <= full_pages + 1 + window + 1
    assert f"{table.pages} page requests" in repr(table).splitlines()[0]
    assert client.report(groupby="campaign").pages == 1


def test_the_page_count_is_called_requests_as_it_counts_the_end_too(served: RawServer) -> None:
    # Two rows on one page, but the listing's end is confirmed by more requests: the repr
    # names what it counts, so "3 pages" never stands for a one-page listing.
    table = served.client().calls()
    assert table.num_rows == 2 and table.pages is not None
    # Answered requests: those cancelled in flight once the end was known are not counted.
    assert 2 <= table.pages <= sum(1 for r in served.requests if r.method == "GET")
    first = repr(table).splitlines()[0]
    assert f", {table.pages} page requests, " in first and " pages," not in first


def test_repr_escapes_control_characters_and_keeps_other_text(served: RawServer) -> None:
    table = served.client().calls()
    text = repr(table)
    # No control character reaches the terminal: ESC, BEL, CR, tabs, bidi overrides, U+2028.
    assert not [ch for ch in text if ch != "\n" and (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0)]
    assert "\u202e" not in text and "\u2028" not in text
    assert text.count("\n") == len(text.splitlines()) - 1  # only the box's own lines
    assert "\\x1b[2J\\x1b]0;" in text  # cut at the cell's width, escaped as Python spells it
    assert "\\x1b[1mname" in text and "\\u202eevil\\u2028" in text
    # Ordinary text looks as it is: accents, emoji with their joiner, a backslash.
    assert "\u00e9t\u00e9 \U0001f600\u200d\U0001f44d" in text and "a\\b" in text
    # The plain form (neither pyarrow nor polars) escapes the column names too.
    plain = converz.Table(table._raw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "pyarrow", None)
        patch.setitem(sys.modules, "polars", None)
        listing = repr(plain)
    assert "  \\x1b[1mname: Utf8" in listing and "\x1b" not in listing
    # The notebook's HTML shows the same escapes.
    assert "\x1b" not in table._repr_html_() and "\\x1b[1mname" in table._repr_html_()


def test_a_nul_in_a_column_name_is_refused_before_any_library_reads_it() -> None:
    table = calls_of_one_page(b'[{"call_id":1,"a\\u0000b":5},{"call_id":2,"a\\u0000b":6}]')
    assert table.column_names == ["call_id", "a\x00b"]
    for read in (table.to_polars, table.to_arrow, table.to_pandas, lambda: pl.DataFrame(table)):
        with pytest.raises(converz.InvalidParameterError, match=r"'a\\x00b'.*NUL") as err:
            read()
        assert err.value.parameter == "a\x00b" and "columns=" in str(err.value)
    # The repr cannot show rows no library can read; it lists the columns, escaped.
    assert repr(table).splitlines()[1:] == ["  call_id: Int64", "  a\\x00b: Int64"]


@pytest.mark.parametrize(
    "value",
    [b'{"x\\u0000":1}', b'[{"x\\u0000":1}]', b'{"in":[{"ok":1,"y\\u0000":2}]}'],
)
def test_a_nul_in_a_field_name_inside_a_column_is_refused_too(value: bytes) -> None:
    """Outside trial 28: a struct field's NUL slipped past the check (the type's text spells it
    ``\\0``), and pyarrow, polars and DuckDB raised their own errors naming no column."""
    table = calls_of_one_page(b'[{"call_id":1,"s":' + value + b"}]")
    assert table.column_names == ["call_id", "s"]
    for read in (table.to_polars, table.to_arrow, table.to_pandas, lambda: pl.DataFrame(table)):
        with pytest.raises(converz.InvalidParameterError, match="'s': the name of a field") as err:
            read()
        assert err.value.parameter == "s"


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


def test_a_custom_column_without_values_is_typed_alike_with_or_without_columns() -> None:
    """Outside trial 29 (F6): a custom column that held only nulls came back Null, but Utf8
    when named in `columns=` (and in an empty result), so the days of one column did not
    concatenate: a day with its values was Float64. Only values say its type."""
    rows = b'[{"call_id": 1, "x": null}, {"call_id": 2, "x": null}]'
    server = one_page(rows)
    try:
        client = server.client()
        types = {str(c): client.calls(columns=c).schema["x"] for c in (None, ["call_id", "x"])}
    finally:
        server.stop()
    assert types == {"None": "Null", "['call_id', 'x']": "Null"}
    with Emulator(calls=200, reps=3, seed=0) as emu:
        client = emu.client(progress=False)
        dated = client.calls(columns=["call_id", "date"]).to_polars()
        day = dated["date"].max()
        valued = dated.filter(pl.col("date") == day)["call_id"].to_list()
        client.push_updates(pl.DataFrame({"call_id": valued, "x": [1.5] * len(valued)}))
        empty = client.calls(
            columns=["call_id", "x"], start_date="2001-01-01", end_date="2001-01-01"
        )
        assert empty.num_rows == 0 and empty.schema == {"call_id": "Int64", "x": "Null"}
        with_values = client.calls(columns=["call_id", "x"], start_date=day, end_date=day)
        assert with_values.schema["x"] == "Float64"
        both = converz.Table.concat([empty, with_values])
        assert both.schema["x"] == "Float64" and both.num_rows == len(valued)
        frames = [empty.to_polars(), with_values.to_polars()]
        assert pl.concat(frames, how="vertical_relaxed").schema["x"] == pl.Float64


def test_repr_shows_times_past_pythons_datetime(write_emulator) -> None:
    """Outside trial 17: a forced timestamp[s] of 2**62 (past year 9999) made repr() and the
    notebook's HTML raise OverflowError; they show the value as pyarrow spells it."""
    pa = pytest.importorskip("pyarrow")
    client = write_emulator.client(progress=False)
    ids = sorted(client.calls(page_size=5_000).to_polars()["call_id"].to_list())[:2]
    epochs = pa.array([2**62, 1], pa.int64())
    client.push_updates(pa.table({"call_id": pa.array(ids, pa.int64()), "epoch": epochs}))
    table = client.calls(metric=["epoch"], schema={"epoch": "timestamp[s]"})
    shown = repr(table)
    assert "1970-01-01 00:00:01" in shown and "out of range" in shown, shown
    assert "out of range" in table._repr_html_()


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([9007199254740993, None, 7], "Int64"),
        ([18446744073709551615, None, 0], "UInt64"),
        ([9007199254740993, 7, -1], "int64"),
    ],
)
def test_to_pandas_keeps_every_integer_of_a_column_with_nulls(
    values: list[int | None], dtype: str
) -> None:
    """Found by the outside trial: an integer column with nulls became float64 in pandas, so
    9007199254740993 arrived as 9007199254740992.0 and a frame pushed back wrote it rounded.
    Such a column is pandas' nullable integer dtype; one without nulls stays numpy's."""
    with Emulator(calls=60, reps=5, seed=0) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].sort().to_list()
        big = pl.UInt64 if dtype == "UInt64" else pl.Int64
        column = (values * len(ids))[: len(ids)]
        pushed = pl.DataFrame({"call_id": ids, "big": column}, schema_overrides={"big": big})
        client.push_updates(pushed)
        frame = client.calls(columns=["call_id", "big"], schema={"big": dtype.lower()}).to_pandas()
        assert str(frame["big"].dtype) == dtype
        got = frame.sort_values("call_id")["big"].tolist()
        assert [None if v is pd.NA else v for v in got] == column
        client.push_updates(frame)
        again = client.calls(columns=["call_id", "big"], schema={"big": dtype.lower()})
        assert again.to_polars().sort("call_id")["big"].to_list() == column


def arrow_table(columns: dict[str, object]) -> converz.Table:
    """A `converz.Table` holding `columns` (a pyarrow table), through the IPC stream a pickled
    table travels as: the same core table a fetch returns, with no server."""
    pa = pytest.importorskip("pyarrow")
    from converz._table import _unpickle_table

    data = pa.table(columns)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        writer.write_table(data)
    return _unpickle_table(sink.getvalue().to_pybytes(), [], None, None)


def nullable_ints() -> converz.Table:
    pa = pytest.importorskip("pyarrow")
    return arrow_table(
        {
            "call_id": pa.array([1, 2, 3], pa.int64()),
            "big": pa.array([9007199254740993, None, -9007199254740993], pa.int64()),
            "huge": pa.array([18446744073709551615, None, 0], pa.uint64()),
            "small": pa.array([None, -7, 7], pa.int32()),
            "text": pa.array(["a", None, "c"]),
        }
    )


def test_to_pandas_gives_integer_columns_with_nulls_pandas_nullable_dtypes_in_place() -> None:
    frame = nullable_ints().to_pandas()
    assert list(frame.columns) == ["call_id", "big", "huge", "small", "text"]
    # call_id has the type of `big` (int64) but no nulls: it stays numpy's int64.
    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}
    assert dtypes == {
        "call_id": "int64",
        "big": "Int64",
        "huge": "UInt64",
        "small": "Int32",
        "text": str(frame["text"].dtype),
    }
    assert frame["call_id"].tolist() == [1, 2, 3]
    assert frame["big"].tolist() == [9007199254740993, pd.NA, -9007199254740993]
    assert frame["huge"].tolist() == [18446744073709551615, pd.NA, 0]
    assert frame["small"].tolist() == [pd.NA, -7, 7]
    assert frame["text"].tolist()[::2] == ["a", "c"]


def test_to_pandas_never_makes_an_integer_column_with_nulls_float(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The review of session 18: the column went to float64 first (pyarrow's default) and was
    converted again, so 2**53+1 existed as a float for a moment. Every frame pyarrow builds is
    watched: none may hold such a column as float, and each is converted from Arrow once."""
    pytest.importorskip("pyarrow")
    import pyarrow.pandas_compat as compat

    built: list[dict[str, str]] = []
    to_frame = compat.table_to_dataframe

    def watched(*args: object, **kwargs: object) -> pd.DataFrame:
        frame = to_frame(*args, **kwargs)
        built.append({str(n): str(d) for n, d in frame.dtypes.items()})
        return frame

    converted: list[str] = []

    def spy(dtype: type) -> None:
        original = dtype.__from_arrow__

        def from_arrow(self: object, array: object) -> object:
            converted.append(str(self))
            return original(self, array)

        monkeypatch.setattr(dtype, "__from_arrow__", from_arrow)

    monkeypatch.setattr(compat, "table_to_dataframe", watched)
    for dtype in (pd.Int64Dtype, pd.UInt64Dtype, pd.Int32Dtype):
        spy(dtype)
    frame = nullable_ints().to_pandas()
    assert built, "the spy saw pyarrow build the frame"
    for dtypes in built:
        assert not any(dtypes.get(c, "").startswith("float") for c in ("big", "huge", "small"))
    assert sorted(converted) == ["Int32", "Int64", "UInt64"]
    assert frame["big"].tolist()[0] == 9007199254740993


def test_to_pandas_leaves_every_dtype_to_a_given_types_mapper() -> None:
    pa = pytest.importorskip("pyarrow")
    mapper = {pa.int64(): pd.ArrowDtype(pa.int64())}.get
    frame = nullable_ints().to_pandas(types_mapper=mapper)
    assert frame["call_id"].dtype == frame["big"].dtype == pd.ArrowDtype(pa.int64())
    # The mapper maps no uint64: pyarrow's default (float64) is what the user asked for.
    assert str(frame["huge"].dtype) == "float64"
    assert frame["big"].tolist()[0] == 9007199254740993


@pytest.mark.parametrize("raw", [None, 5, {"a": [1]}, pl.DataFrame({"a": [1]})])
def test_a_table_made_by_hand_from_something_else_is_refused_at_once(raw: object) -> None:
    """Outside trial 28: ``converz.Table(None)`` was made, then failed on first use with an
    AttributeError; 28c: it is a typed error, and a Table given is said to be one."""
    with pytest.raises(converz.InvalidParameterTypeError, match="is what calls") as err:
        converz.Table(raw)
    assert isinstance(err.value, TypeError) and err.value.parameter == "raw"
    table = calls_of_one_page(b'[{"call_id":1}]')
    with pytest.raises(TypeError, match=r"an existing converz\.Table"):
        converz.Table(table)


def test_a_requested_schema_is_honoured_only_where_no_value_changes() -> None:
    """The PyCapsule stream cast to a consumer's requested schema as arrow does by default:
    values that did not fit became null (`call_id` as int16), a fraction was cut (outside
    trial 30 F8). A request that only changes layouts (text as large strings or views) is
    honoured; any other gets the table's own schema, as the protocol allows."""
    pa = pytest.importorskip("pyarrow")
    with Emulator(calls=20, reps=3, seed=0) as emu:
        table = emu.client(progress=False).calls(columns=["call_id", "sentiment", "rep_id"])
        own = pa.table(table)
        narrow = pa.schema(
            [("call_id", pa.int16()), ("sentiment", pa.int64()), ("rep_id", pa.string())]
        )
        got = pa.RecordBatchReader.from_stream(table, schema=narrow).read_all()
        assert got.schema == own.schema and got.equals(own)
        views = pa.schema(
            [("call_id", pa.int64()), ("sentiment", pa.float64()), ("rep_id", pa.string_view())]
        )
        got = pa.RecordBatchReader.from_stream(table, schema=views).read_all()
        assert got.schema == views
        assert got.column("rep_id").to_pylist() == own.column("rep_id").to_pylist()
        # A column that may hold nulls asked for as non-nullable (trial 30b F7: honoured, and
        # the stream failed at its first null).
        assert own.column("sentiment").null_count > 0
        not_null = pa.field("sentiment", pa.float64(), nullable=False)
        strict = pa.schema([("call_id", pa.int64()), not_null, ("rep_id", pa.string())])
        got = pa.RecordBatchReader.from_stream(table, schema=strict).read_all()
        assert got.equals(own)
