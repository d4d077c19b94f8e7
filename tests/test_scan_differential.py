"""Differential: hypothesis-made pages served to ``client.calls()`` and ``client.scan_calls()``.

Each example is a listing of rows whose custom columns change kind along the rows (numbers,
text, dates, lists, structs, nulls, a column that appears late), served by a small server
that honours paging, ``campaign=`` and ``columns=`` like the API. A few polars queries run on
the scan and on the eager fetch. The scan must give the eager fetch's result, or raise
:class:`converz.DecodeError` naming a column; never a different value.

Where the scan reads only some of the rows (a filter sent to the API, ``head``), it cannot see
what widened a column elsewhere, so a column may keep the probe's narrower type: then every
value must still be the eager fetch's, read back in the scan's type.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable, Optional

import polars as pl
import pytest
from hostile_support import RawServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from test_scan_pages import call, pager

import converz

# Each kind's value on row i; "absent" leaves the key out of the row.
KINDS: dict[str, Callable[[int], Any]] = {
    "null": lambda i: None,
    "int": lambda i: i,
    "float": lambda i: i + 0.5,
    "text": lambda i: f"t{i}",
    "bool": lambda i: i % 2 == 0,
    "date": lambda i: f"2025-01-{1 + i % 28:02d}",
    "timestamp": lambda i: f"2025-01-{1 + i % 28:02d} 08:00:{i % 60:02d}",
    "list_int": lambda i: [i, i + 1],
    "list_float": lambda i: [i + 0.25],
    "list_empty": lambda i: [],
    "struct_a": lambda i: {"a": i},
    "struct_ab": lambda i: {"a": i, "b": f"b{i}"},
    "struct_ba": lambda i: {"b": f"b{i}", "a": i + 0.5},
}
FAMILIES = [
    ["int", "float", "null"],
    ["list_int", "list_float", "list_empty", "null"],
    ["struct_a", "struct_ab", "struct_ba", "null"],
]
CUSTOM = ("x", "y", "z")
ENGINES = st.sampled_from(["in-memory", "streaming"])


@st.composite
def listings(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows 1..n; each custom column a few segments of kinds, some rows null or absent."""
    n = draw(st.integers(101, 260) | st.integers(1, 100))  # mostly more than the probe's rows
    customs = CUSTOM[: draw(st.integers(1, len(CUSTOM)))]
    # Changes just after the probe's 100 rows are the cases the probe cannot see.
    start = st.sampled_from([50, 100, 101, 102, 120, 151]) | st.integers(1, n)
    plans = {}
    for name in customs:
        starts = sorted({1, *(s for s in draw(st.lists(start, min_size=1, max_size=3)) if s <= n)})
        # Mostly kinds of one family, so that a column widens (int to float, a struct field
        # more) rather than only becoming text.
        family = draw(st.sampled_from([[*KINDS, "absent"], *FAMILIES]))
        kinds = [draw(st.sampled_from(family)) for _ in starts]
        if draw(st.booleans()):
            kinds[0] = "null"  # often null first: the probe then sees no value to type it by
        holes = draw(st.sampled_from([0, 3, 7]))  # every k-th row null (0: none)
        plans[name] = (starts, kinds, holes)
    cleared = draw(st.none() | st.tuples(st.integers(1, n), st.integers(0, 120)))
    rows = []
    for i in range(1, n + 1):
        extra: dict[str, Any] = {}
        for name, (starts, kinds, holes) in plans.items():
            kind = kinds[max(k for k, s in enumerate(starts) if s <= i)]
            if kind != "absent":
                extra[name] = None if holes and i % holes == 0 else KINDS[kind](i)
        if cleared is not None and cleared[0] <= i < cleared[0] + cleared[1]:
            extra["campaign"] = None  # a documented text column cleared on a run of rows
        rows.append(call(i, **extra))
    return rows, list(customs)


# Filters: (sent to the API?, the column it reads or None, the predicate).
FILTERS = [
    (True, None, pl.col("campaign") == "sales"),
    (True, None, pl.col("campaign").is_in(["support"])),
    (False, None, pl.col("call_id") > 120),
    (False, None, pl.col("call_id") % 2 == 0),
    *[(False, c, pl.col(c).is_not_null()) for c in CUSTOM],
]


@st.composite
def queries(draw: st.DrawFn) -> Callable[[pl.Schema], tuple[Callable[..., Any], bool]]:
    """A polars query, made for a scan's schema (its custom columns only where it has them),
    and whether it may read only some rows. The draws never depend on the schema."""
    filters = draw(st.lists(st.sampled_from(FILTERS), max_size=2))
    columns = draw(
        st.none()
        | st.lists(
            st.sampled_from(["call_id", "campaign", "date", *CUSTOM]), min_size=1, unique=True
        )
    )
    limit = draw(st.none() | st.integers(0, 150))

    def made(schema: pl.Schema) -> tuple[Callable[[pl.LazyFrame], pl.LazyFrame], bool]:
        kept = [(sent, p) for sent, column, p in filters if column is None or column in schema]
        chosen = None if columns is None else [c for c in columns if c in schema] or ["call_id"]

        def query(frame: pl.LazyFrame) -> pl.LazyFrame:
            for _, predicate in kept:
                frame = frame.filter(predicate)
            if chosen is not None:
                frame = frame.select(chosen)
            return frame if limit is None else frame.head(limit)

        return query, limit is not None or any(sent for sent, _ in kept)

    return made


def widens(eager: Any, scan: Any) -> bool:
    """Whether the eager type holds every value of the scan's type unchanged."""
    if eager == scan or scan == pl.Null:
        return True
    if scan.is_integer() and eager.is_float():
        return True
    if isinstance(eager, pl.List) and isinstance(scan, pl.List):
        return widens(eager.inner, scan.inner)
    if isinstance(eager, pl.Struct) and isinstance(scan, pl.Struct):
        fields = {f.name: f.dtype for f in eager.fields}
        return all(f.name in fields and widens(fields[f.name], f.dtype) for f in scan.fields)
    return False


def comparable(
    got: pl.DataFrame, expected: pl.DataFrame, partial: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``got`` and ``expected`` in one type per column, where the scan could only guess.

    A column of nulls only may be typed differently (the eager fetch types a column that
    holds no value at all Null). A partial read may keep a narrower type: the scan's values
    are then read into the eager type (ints into floats, structs gaining null fields), or,
    where the eager fetch made the column text, the eager text is read in the scan's type.
    Any other difference fails.
    """
    for name in got.columns:
        want, have = expected.schema[name], got.schema[name]
        if want == have:
            continue
        nulls = got[name].null_count() == expected[name].null_count() == got.height
        if nulls or (partial and widens(want, have)):
            got = got.with_columns(pl.col(name).cast(want))
        elif partial and want == pl.String:
            expected = expected.with_columns(read_back(name, have))
        else:
            pytest.fail(f"column {name} is {have} in the scan, {want} eagerly")
    return got, expected


def read_back(name: str, dtype: Any) -> pl.Expr:
    """The eager fetch's text of column ``name`` read as ``dtype`` (as the rows sent it)."""
    text = pl.col(name)
    if dtype == pl.Date:
        return text.str.to_date("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        return text.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us")
    return text.str.json_decode(dtype)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(listing=listings(), page_size=st.sampled_from([50, 100, 1_000]), data=st.data())
def test_a_scan_is_the_eager_fetch_or_a_typed_refusal(
    listing: tuple[list[dict[str, Any]], list[str]], page_size: int, data: st.DataObject
) -> None:
    rows, customs = listing
    # Drawn before any request, so what hypothesis draws never depends on what a run did.
    plans = [(data.draw(queries()), data.draw(ENGINES)) for _ in range(3)]
    server = RawServer(pager(rows))
    logging.disable(logging.WARNING)  # late columns and mixed items are logged: not checked here
    try:
        # Generous: a timeout under a loaded machine would make a run differ from its replay.
        client = server.client(page_size=page_size, timeout=60.0, retries=2)
        eager = client.calls().to_polars()
        lf = client.scan_calls()
        schema = lf.collect_schema()
        for made, engine in plans:
            query, partial = made(schema)
            got, refused = run(query(lf), engine, customs)
            if got is None:
                continue  # refused, naming a column the rest of the query cannot do without
            expected = query(eager.lazy().select(schema.names()))
            expected = expected.select(pl.exclude(refused)).collect()
            assert got.columns == expected.columns
            assert_frame_equal(*comparable(got, expected, partial), check_exact=True)
    finally:
        logging.disable(logging.NOTSET)
        server.stop()


def run(
    frame: pl.LazyFrame, engine: Any, customs: list[str]
) -> tuple[Optional[pl.DataFrame], list[str]]:
    """``frame`` collected, without the columns the scan refuses; None if it cannot be.

    Each refusal must be a DecodeError naming a custom column; that column is then left out
    (the scan then does not ask for it), so a refusal of one column cannot hide a wrong
    value in another. A refusal that repeats (a filter reads the column) ends the run.
    """
    refused: list[str] = []
    while True:
        try:
            return frame.select(pl.exclude(refused)).collect(engine=engine), refused
        except converz.ConverzError as err:
            failure = err
        assert isinstance(failure, converz.DecodeError), repr(failure)
        named = re.search(r"column (\w+)", str(failure))
        assert named is not None and named[1] in customs, str(failure)
        assert failure.hint is not None and "client.calls()" in failure.hint
        if named[1] in refused:
            return None, refused
        refused.append(named[1])
