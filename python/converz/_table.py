"""`converz.Table`: the Arrow data a fetch returns.

No hard dependency on any DataFrame library: it implements the Arrow PyCapsule stream
interface, so polars, pandas (through pyarrow), pyarrow and DuckDB take it without a copy.
"""

from __future__ import annotations

import functools
import html
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Optional, cast

from converz._log import logger
from converz._printable import printable as _printable
from converz._weak import WeakRegistry
from converz._words import count
from converz.exceptions import InvalidParameterError, InvalidParameterTypeError, StreamError

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow

__all__ = ["Table", "TableStream"]


def _require(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"this needs {module}: pip install 'converz[{extra}]' (or pip install {module})"
        ) from err


# The first polars whose DataFrame constructor reads an Arrow PyCapsule stream (1.0-1.2 raise a
# TypeError naming converz's internal stream class: outside trial 29 F1).
_POLARS_READS_STREAMS = (1, 3)


def _polars() -> Any:
    """polars, if it is one that reads an Arrow stream, else an ``ImportError`` saying so."""
    pl = _require("polars", "polars")
    try:
        version = tuple(int(part) for part in pl.__version__.split(".")[:2])
    except ValueError:  # a development build: let it try
        return pl
    if version < _POLARS_READS_STREAMS:
        raise ImportError(
            f"to_polars() needs polars 1.3 or later, which reads Arrow streams; this is polars "
            f"{pl.__version__}: pip install -U 'polars>=1.3'"
        )
    return pl


class Table:
    """A fetched table, held as Arrow record batches in Rust memory.

    Attributes:
        warnings: Things the fetch noticed (capped pages, rows that moved during paging, type
            conflicts). Each was also logged to the ``converz`` logger.
        elapsed: Seconds the fetch took, when known.
        pages: Page requests the fetch completed, when known (the repr says "page requests").
            The API has no total count, so this is more than the pages that held rows: it
            also counts the page that showed the end of the listing (empty or short), pages
            already answered past it, and pages read again (a short page confirmed, a capped
            server re-paged, a repair pass). Retries of one page count once. A report is one.

    Example:
        >>> calls = client.calls(start_date="2025-07-01")  # doctest: +SKIP
        >>> df = calls.to_polars()  # doctest: +SKIP
        >>> import duckdb  # doctest: +SKIP
        >>> duckdb.sql("select rep_id, count(*) from calls group by 1")  # doctest: +SKIP
    """

    __slots__ = (
        "__weakref__",
        "_kept",
        "_listing",
        "_places",
        "_raw",
        "elapsed",
        "pages",
        "warnings",
    )

    def __init__(
        self,
        raw: Any,
        warnings: Optional[list[str]] = None,
        *,
        elapsed: Optional[float] = None,
        pages: Optional[int] = None,
    ) -> None:
        from converz import _core

        if not isinstance(raw, _core.ArrowTable):
            # Made by the client's methods and Table.concat; a frame or Arrow table given here
            # would only fail later, on first use, with an AttributeError (outside trial 28).
            given = (
                "an existing converz.Table (use it as it is)"
                if isinstance(raw, Table)
                else f"a {type(raw).__name__}"
            )
            raise InvalidParameterTypeError(
                "raw: converz.Table is what calls(), reps(), report(), iter_calls() and "
                f"Table.concat() return; it is not made from {given}",
                parameter="raw",
            )
        self._raw = raw
        # The stream tables it holds, for Table.concat: runs of (what is known of the stream,
        # first place, last place); a stream's table is one run of one, a joined table one
        # run per stream it joined (from its first table).
        self._places: tuple[tuple[_StreamMark, int, int], ...] = ()
        # A join of every table an open stream had handed out: its tables' warnings, to which
        # the stream's are added if it ends with no further table (`_end_of_stream`).
        self._kept: list[str] = []
        # What the fetch listed ("calls", "reps", "report by date"; `listing_of`), where
        # known: Table.concat joins only tables of one listing.
        self._listing: Optional[str] = None
        # Server text (column names, values) must not reach a terminal raw.
        self.warnings: list[str] = [_printable(w) for w in warnings or []]
        self.elapsed = elapsed
        self.pages = pages

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object:
        """Export the table through the Arrow PyCapsule stream interface (zero-copy).

        Raises:
            InvalidParameterError: A column (or struct field) name holds a NUL character,
                which the Arrow C data interface cannot carry.
        """
        _check_names(self._raw)
        return self._raw.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> object:
        """Export the schema through the Arrow PyCapsule interface."""
        _check_names(self._raw)
        return self._raw.__arrow_c_schema__()

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        return int(self._raw.num_rows)

    @property
    def num_columns(self) -> int:
        """Number of columns."""
        return len(self.schema)

    @property
    def column_names(self) -> list[str]:
        """Column names, in order."""
        return list(self.schema)

    @property
    def schema(self) -> dict[str, str]:
        """Column name to Arrow type, e.g. ``{"call_id": "Int64", "date": "Date32"}``."""
        return {field.name: str(field.type) for field in _fields(self._raw)}

    def __len__(self) -> int:
        return self.num_rows

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled as one Arrow IPC stream (schema, batches and types exactly), so a table
        # crosses multiprocessing, Dask, Ray and joblib without pyarrow on either side.
        from converz import _core

        data = _core.ipc_stream_bytes(self)
        # A stream's table keeps its place, so Table.concat still tells one missing or
        # repeated among tables that came back from other processes (outside trial 20), and
        # the columns it holds wider than its page's own at their own types, which the join
        # reads (outside trial 84).
        places = tuple((mark.snapshot(), first, last) for mark, first, last in self._places)
        own = _core.own_columns(self._raw)
        kept = None if own is None else (_core.ipc_stream_bytes(own[0]), own[1])
        return (
            _unpickle_table,
            (data, self.warnings, self.elapsed, self.pages, places, self._listing, kept),
        )

    def to_arrow(self) -> pyarrow.Table:
        """Return a ``pyarrow.Table`` (zero-copy). Needs pyarrow."""
        pa = _require("pyarrow", "pyarrow")
        return pa.table(self)

    @staticmethod
    def concat(tables: Iterable[Table]) -> Table:
        """Join tables into one, as one fetch of all their rows would have returned it.

        The result has every column any table has (in first-appearance order), each at the
        type one fetch of all the rows gives, by the fetch's own merge rules: integers and
        floats make floats, a column that mixes kinds (numbers and text, dates and times,
        lists and text) becomes text with the fetch's warning, a timestamp or date in a text
        column reads as it was sent and a list or object as its JSON. A number a table already
        holds as a float reads as that float prints (``900.0``), where one fetch that saw the
        text would keep ``900`` as sent; the join's warning says so, and ``schema=`` on the
        fetches makes both the same. A stream's tables join at the types their pages were
        decoded with (integers a stream handed out as floats after a float page read ``900``),
        so they give the eager table exactly. No value is narrowed:
        ``1.5`` never becomes ``1``, a column the last table lacks is kept (its rows null
        elsewhere). Tables whose types no rule joins (``int8`` beside ``int64``) raise
        :class:`~converz.InvalidParameterError`. ``pl.concat(..., how="diagonal_relaxed")``
        prints such a timestamp with ``.000000`` and cannot turn a list into text. The tables'
        warnings are kept (and a stream's own, once it ended), each once, then the join's own
        (also logged). Rows are not de-duplicated: tables of overlapping queries keep both
        copies.

        Args:
            tables: The tables, in order: ``client.iter_calls(...)`` itself (not yet read
                from), a list of its tables, or the tables of several fetches (e.g. one per
                chunk of a long id list).

        Returns:
            The joined table. A stream with no rows gives the typed empty table ``calls()``
            gives.

        Raises:
            StreamError: ``tables`` is a stream that already handed out tables, which would be
                left out: pass them too, ``Table.concat([first, *stream])``; or a stream's
                tables are not all there from its first, each once, in order (a generator over
                a stream someone peeked at, a table given twice).
            InvalidParameterError: ``tables`` is empty, holds something other than a
                ``converz.Table`` or one table twice (but for a fetch's table of no rows,
                which joins nothing), holds tables of two listings (calls and reps, reports
                of two groupings), or a column's types cannot be joined.

        Example:
            >>> stream = client.iter_calls(start_date="2025-07-01")  # doctest: +SKIP
            >>> calls = converz.Table.concat(stream)  # doctest: +SKIP
            >>> calls.to_polars()  # doctest: +SKIP
        """
        from collections.abc import Mapping

        from converz import _core
        from converz._args import wrong_type

        # Not iterable, or iterable as something else (a dict's keys, a table's columns):
        # refused by what it is (outside trial 21: `Table.concat(None)` was a bare TypeError).
        frame = not isinstance(tables, TableStream) and (
            hasattr(tables, "__arrow_c_stream__") or hasattr(tables, "__dataframe__")
        )  # a polars or pandas frame iterates as its columns
        if (
            frame
            or isinstance(tables, (Table, Mapping, str, bytes))
            or not isinstance(tables, Iterable)
        ):
            raise wrong_type(
                "tables",
                "a stream (client.iter_calls(...)) or a list of converz.Table",
                tables,
            )
        if isinstance(tables, TableStream):
            tables._check_unread()
        parts = list(tables)
        if not parts and isinstance(tables, TableStream) and tables._empty is not None:
            # A listing with no rows: the documented columns, typed, as calls() returns them.
            return Table(tables._empty(), tables.warnings)
        odd = [t for t in parts if not isinstance(t, Table)][:1]  # a list: None is an odd one too
        if not parts or odd:
            # Named with its module: "got a Table" read as if a converz.Table were refused.
            kind = type(odd[0]) if odd else type(None)
            name = kind.__qualname__
            name = name if kind.__module__ == "builtins" else f"{kind.__module__}.{name}"
            got = "no tables" if not parts else f"a {name}"
            hint = (
                "pass a non-empty list of converz.Table (or client.iter_calls(...) itself, "
                "which gives the typed empty table when no row matched)"
                if not parts
                else "pass client.iter_calls(...) (or a list of converz.Table) to Table.concat"
            )
            raise InvalidParameterError(
                f"invalid parameter `tables`: expected converz.Table objects, got {got}",
                parameter="tables",
                hint=hint,
            )
        listing = _one_listing(parts)
        places = _check_each_once(parts)
        raw, joined = _core.concat_tables([t._raw for t in parts])
        kept = [w for t in parts for w in t.warnings]
        whole = _whole_stream(parts, places)
        if isinstance(tables, TableStream):  # what the listing noticed, logged at its end
            kept += tables.warnings
        elif whole is not None:
            kept += whole
        kept = list(dict.fromkeys(kept))
        # Every table of one ended stream: the stream's warnings are the eager fetch's. The
        # join's own would judge the stream's types instead of the server's values (outside
        # trial 21: a column of booleans and integers, handed out as booleans and then as
        # text, was said to mix "booleans, strings").
        added = [] if whole is not None else [w for w in joined if w not in kept]
        for warning in added:
            logger.warning(_printable(warning))
        table = Table(raw, kept + added)
        table._listing = listing
        # So that it joins with the stream's next tables (`acc = Table.concat([acc, t])`).
        table._places = places
        _await_end(table, parts, places, kept)
        return table

    def to_polars(self) -> polars.DataFrame:
        """Return a ``polars.DataFrame`` without copying any value. Needs polars.

        Polars stores strings as views (16 bytes each, pointing into the string bytes), so the
        table hands its string columns over in that form: each batch is converted as polars
        reads it and kept in place of its Utf8 form, which the frame and the table then share
        (strings of up to 12 bytes live in their views, so their bytes are dropped). The table's
        :attr:`schema` still says ``Utf8``, and a later :meth:`to_arrow` returns ``string``
        columns as before, converting the table back once, in place: the short strings are
        copied back, the long ones shared where a batch's views still point at all its strings
        in order (pages joined into one batch are copied).
        """
        pl = _polars()
        return pl.DataFrame(_Stream(self._raw, "utf8_view"))

    def to_pandas(self, **kwargs: Any) -> pandas.DataFrame:
        """Return a ``pandas.DataFrame`` through pyarrow.

        Where pandas stores strings as pyarrow ``large_string`` (its default ``str`` dtype
        with pyarrow installed, pandas 3), the table hands its string columns over in that form,
        converted batch by batch and kept in place of its Utf8 form, so the frame shares the
        string bytes with the table and no intermediate copy is made. The dtypes are pandas'
        defaults, but for an integer column holding nulls: pandas would make it ``float64``,
        which turns ``7`` into ``7.0`` and rounds integers past 2**53 (a frame pushed back would
        write the rounded values), so it gets pandas' nullable integer dtype (``Int64``);
        likewise a list or struct column with integers inside (at any depth) gets
        ``pd.ArrowDtype(its Arrow type)``, whatever its values (so two days' frames join
        exactly): its cells stay exact Arrow values, and a push of the frame sends them as
        they are.

        Args:
            **kwargs: Passed to ``pyarrow.Table.to_pandas`` (e.g. ``types_mapper=pd.ArrowDtype``,
                which then decides every dtype).

        Example:
            >>> frame = client.calls(start_date="2025-01-01").to_pandas()  # doctest: +SKIP
            >>> frame["duration"].dtype  # doctest: +SKIP
            Int64Dtype()
        """
        pa = _require("pyarrow", "pyarrow")
        pd = _require("pandas", "pandas")
        source: Any = self
        if not kwargs.keys() & {"types_mapper", "strings_to_categorical"} and _large_str(pd):
            source = _Stream(self._raw, "large_utf8")
        table = pa.table(source)
        if "types_mapper" in kwargs:
            return table.to_pandas(**kwargs)
        return _with_nullable_ints(pa, pd, table, kwargs)

    def _summary(self) -> str:
        parts = [f"{count(self.num_rows, 'row')} \u00d7 {count(self.num_columns, 'column')}"]
        if self.pages is not None:
            parts.append(count(self.pages, "page request"))
        if self.elapsed is not None:
            parts.append(f"{self.elapsed:.2f} s")
        if self.warnings:
            parts.append(count(len(self.warnings), "warning"))
        return "converz.Table: " + ", ".join(parts)

    def __repr__(self) -> str:
        preview = _preview(self) if self.num_columns else None
        if preview is None:  # no library can read it: the columns and their types
            columns = "\n".join(
                f"  {_printable(name)}: {_printable(dtype)}" for name, dtype in self.schema.items()
            )
            return f"{self._summary()}\n{columns}"
        return f"{self._summary()}\n{_box(*preview)}"

    def _repr_html_(self) -> str:
        warnings = "".join(f"<p>&#9888; {html.escape(w)}</p>" for w in self.warnings)
        preview = _preview(self)
        if preview is None:  # neither pyarrow nor polars: the columns and their types
            preview = (list(self.schema), list(self.schema.values()), [])
        header, types, rows = preview
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        kinds = "".join(f"<td><code>{html.escape(t)}</code></td>" for t in types)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in rows
        )
        return (
            f"<div><b>{html.escape(self._summary())}</b>{warnings}<table>"
            f"<thead><tr>{head}</tr><tr>{kinds}</tr></thead><tbody>{body}</tbody></table>"
            "<small>.to_polars() / .to_pandas() / .to_arrow()</small></div>"
        )


# The preview, like polars': the first and last rows, the first and last columns, long text cut.
_EDGE_ROWS = 5
_EDGE_COLUMNS = 4
_CELL_CHARS = 24
_MORE = "\u2026"


def _rows(table: Table) -> Optional[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """The first and the last rows as Python values (tail empty if all fit), or None."""
    n, edge = table.num_rows, _EDGE_ROWS
    fits = n <= 2 * edge
    try:
        import pyarrow as pa
    except ImportError:
        pa = None
    if pa is not None:  # zero-copy slices: nothing but the shown rows is converted
        data = pa.table(table)
        head = _pylist(pa, data.slice(0, n if fits else edge))
        return head, [] if fits else _pylist(pa, data.slice(n - edge))
    try:
        import polars as pl
    except ImportError:
        return None
    frame = pl.DataFrame(table)
    head = frame.head(n if fits else edge).rows(named=True)
    return head, [] if fits else frame.tail(edge).rows(named=True)


def _pylist(pa: Any, rows: Any) -> list[dict[str, Any]]:
    """``rows`` (a pyarrow table) as Python dicts.

    A date or time past what Python's datetime holds (year 9999; a forced ``timestamp[s]`` of a
    large number) is shown as pyarrow spells it instead (outside trial 17: repr raised
    OverflowError).
    """
    try:
        return list(rows.to_pylist())
    except (OverflowError, ValueError):
        columns = []
        for column in rows.columns:
            try:
                columns.append(column.to_pylist())
            except (OverflowError, ValueError):
                try:
                    columns.append(column.cast(pa.string()).to_pylist())
                except (pa.ArrowException, ValueError):  # a nested one: its cells unshown
                    columns.append([_MORE] * len(column))
        return [dict(zip(rows.column_names, values)) for values in zip(*columns)]


def _preview(table: Table) -> Optional[tuple[list[str], list[str], list[list[str]]]]:
    """``(header, types, rows)`` as text, with ``…`` where rows or columns are left out.

    None when no library can read the table; the repr then lists the columns and types.
    """
    try:
        _check_names(table._raw)
    except InvalidParameterError:
        return None  # the repr must not fail: the column list still shows the name, escaped
    rows = _rows(table)
    if rows is None:
        return None
    head, tail = rows
    names = list(table.schema)
    shown = names
    if len(names) > 2 * _EDGE_COLUMNS:
        shown = [*names[:_EDGE_COLUMNS], _MORE, *names[-_EDGE_COLUMNS:]]
    # A struct's type names its fields, which are the server's text too.
    types = [_printable(table.schema.get(c, "")) for c in shown]

    def line(row: dict[str, Any]) -> list[str]:
        return [_MORE if c == _MORE else _cell(row.get(c)) for c in shown]

    body = [line(r) for r in head]
    if tail:
        body += [[_MORE] * len(shown)] + [line(r) for r in tail]
    header = [c if c == _MORE else _printable(c) for c in shown]
    return header, types, body


def _cell(value: Any) -> str:
    text = "null" if value is None else _printable(str(value))
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + _MORE


def _box(header: list[str], types: list[str], rows: list[list[str]]) -> str:
    """A polars-style text table."""
    widths = [
        1 if h == _MORE else max(len(h), len(t), 3, *(len(r[i]) for r in rows))
        for i, (h, t) in enumerate(zip(header, types))
    ]

    def line(cells: list[str]) -> str:
        return "\u2502 " + " \u2506 ".join(c.ljust(w) for c, w in zip(cells, widths)) + " \u2502"

    def rule(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    dashes = ["" if h == _MORE else "---" for h in header]
    return "\n".join(
        [
            rule("\u250c", "\u252c", "\u2510", "\u2500"),
            line(header),
            line(dashes),
            line(types),
            rule("\u255e", "\u256a", "\u2561", "\u2550"),
            *(line(r) for r in rows),
            rule("\u2514", "\u2534", "\u2518", "\u2500"),
        ]
    )


class _Stream:
    """The table with its strings in the form a DataFrame library stores them in."""

    __slots__ = ("_form", "_raw")

    def __init__(self, raw: Any, form: str) -> None:
        self._raw = raw
        self._form = form

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object:
        _check_names(self._raw)
        return self._raw.stream_as(self._form, requested_schema)


def _check_names(raw: Any) -> None:
    """Refuses a table whose column or struct field names hold a NUL character.

    The Arrow C data interface passes names as NUL-terminated strings, so such a name cannot
    cross it: the core's export refuses it only once the consumer asks for the schema, which
    then raises its own error (pyarrow's ArrowInvalid, polars' ValueError) naming no column.
    Said here instead, before any library is handed the table.
    """
    found = raw.name_with_nul()
    if found is not None:
        name, own = found
        where = "its name" if own else "the name of a field inside it"
        raise InvalidParameterError(
            f"column {name!r}: {where} holds a NUL character (\\x00), which "
            "the Arrow C data interface cannot pass to polars, pyarrow, pandas or DuckDB",
            parameter=name,
            hint="fetch again with columns= naming the other columns, to leave it out",
        )


def _with_nullable_ints(pa: Any, pd: Any, table: Any, kwargs: dict[str, Any]) -> Any:
    """``table.to_pandas(**kwargs)``, with each column whose integers hold nulls kept exact.

    pyarrow's default turns such integers into float64, which turns ``7`` into ``7.0`` and
    rounds integers past 2**53 (a frame pushed back would write the rounded values). So:

    * a top-level integer column holding nulls becomes pandas' nullable dtype (``Int64``),
      converted once, straight to it;
    * a list or struct column with integers inside (at any depth) becomes
      ``pd.ArrowDtype(its Arrow type)`` (outside trial 19: ``[9007199254740993, None]`` came
      back as ``[9007199254740992.0, nan]``, and a struct's int field as a float). Its cells
      are Arrow values, exact, and a push sends them through Arrow as they are.

    Those columns are converted on their own and put in their places: pyarrow's
    ``types_mapper`` is keyed by type, not column, so giving it to the whole table would also
    change columns without nulls (``call_id`` stays numpy's int64).
    """
    dtypes = {
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(),
        pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(),
    }
    special: dict[int, Any] = {}
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_integer(field.type) and column.null_count:
            special[i] = dtypes.get
        elif _nested(pa, field.type) and _has_ints(pa, field.type):
            # By type, not by whether this fetch's values hold a null: the frames of two days
            # of one query then join exactly (outside trial 19: a day without nulls gave numpy
            # object lists, and pd.concat with an ArrowDtype day rounded the ids).
            special[i] = {field.type: pd.ArrowDtype(field.type)}.get
    if not special:
        return table.to_pandas(**kwargs)
    rest = [i for i in range(table.num_columns) if i not in special]
    frame = table.select(rest).to_pandas(**kwargs)
    for i, mapper in special.items():  # in order, so each index is the column's final place
        column = table.column(i).to_pandas(types_mapper=mapper)
        frame.insert(i, table.schema.field(i).name, column.array, allow_duplicates=True)
    return frame


def _nested(pa: Any, dtype: Any) -> bool:
    return bool(
        pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_struct(dtype)
    )


def _has_ints(pa: Any, dtype: Any) -> bool:
    """Whether a list or struct type has integers inside, at any depth.

    pyarrow's pandas conversion turns those into floats as soon as one holds a null.
    """
    if pa.types.is_integer(dtype):
        return True
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return _has_ints(pa, dtype.value_type)
    if pa.types.is_struct(dtype):
        return any(_has_ints(pa, dtype.field(j).type) for j in range(dtype.num_fields))
    return False


def _large_str(pd: Any) -> bool:
    """Whether pandas turns Arrow strings into its pyarrow-backed ``str`` (``large_string``)."""
    dtype = pd.Series(["a"]).dtype
    return getattr(dtype, "storage", None) == "pyarrow"


class _Field:
    __slots__ = ("name", "type")

    def __init__(self, name: str, dtype: str) -> None:
        self.name = name
        self.type = dtype


def _fields(raw: Any) -> list[_Field]:
    return [_Field(name, dtype) for name, dtype in raw.column_types()]


class TableStream:
    """An iterator of :class:`Table` s, each row once, consumed once.

    Each item is one of a page's batches: the whole page up to 65,536 rows (up to 4,096 rows
    for a page decoded the reference way).

    It runs the same listing as the eager fetch: a server that caps pages is re-paged, and
    rows that move while paging are kept once (a repair pass re-reads the listing in order and
    hands out the rows it had missed). Memory is bounded by the pages in flight and one set of
    keys, not by the result. Once exhausted, :attr:`warnings` holds what the listing noticed
    (each also logged to the ``converz`` logger).

    Example:
        >>> for i, page in enumerate(client.iter_calls(start_date="2025-01-01")):  # doctest: +SKIP
        ...     page.to_polars().write_parquet(f"calls-{i}.parquet")
    """

    __slots__ = ("__weakref__", "_empty", "_mark", "_query", "_raw", "_whole")

    def __init__(
        self,
        raw: Any,
        *,
        unseen: Optional[Callable[[list[str]], list[str]]] = None,
        query: Optional[str] = None,
        empty: Optional[Callable[[], Any]] = None,
        listing: Optional[str] = None,
    ) -> None:
        self._raw = raw
        # The typed empty table of the listing (its documented columns), for Table.concat of a
        # stream with no rows, which returns what calls() returns.
        self._empty = empty
        # Every row, once handed to Arrow whole (`__arrow_c_stream__`).
        self._whole: Optional[Table] = None
        # What it lists, for the repr: "calls(start_date=...)".
        self._query = query
        # The Rust stream wraps each page and logs the warnings itself: a Python __next__
        # around it would take a Ctrl-C as the page came back, and the page would be lost.
        # Neither callable refers to this object, so dropping it still stops the requests.
        # Each table knows its place in this stream (`_mark`), so Table.concat can tell a
        # table missing or repeated.
        self._mark = _StreamMark(self)
        raw.deliver_as(
            functools.partial(_stream_table, listing, self._mark),
            functools.partial(_end_of_stream, unseen, self._mark),
        )

    @property
    def warnings(self) -> list[str]:
        """What the listing noticed (capped pages, rows that moved); complete once exhausted."""
        return [_printable(w) for w in self._raw.warnings]

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object:
        """The whole stream as one Arrow stream: ``Table.concat(stream)``'s, with its checks.

        So ``pl.DataFrame(stream)``, ``pa.table(stream)`` and DuckDB read every row of a
        stream nothing was taken from, at the types the eager fetch gives (rather than polars
        iterating it as rows of objects).

        Example:
            >>> pl.DataFrame(client.iter_calls(start_date="2025-07-01"))  # doctest: +SKIP
        """
        # Kept: DuckDB asks twice (the schema, then the rows), and the stream ends at the first.
        if self._whole is None:
            self._whole = Table.concat(self)
        return self._whole.__arrow_c_stream__(requested_schema)

    def __iter__(self) -> Iterator[Table]:
        if self._raw.exhausted:
            # Not an empty iteration: a second `for` over it would see no rows, unsaid.
            raise StreamError(
                "this stream was already consumed: it has ended (every table was handed "
                "out), so a new iteration would see no rows; call iter_calls()/iter_reps() "
                "again for a new stream",
                hint="call iter_calls()/iter_reps() again for a new stream; no row was lost",
            )
        # The Rust stream itself, so a `for` loop runs no bytecode of ours between a page
        # leaving the stream and the loop variable holding it.
        return cast(Iterator[Table], self._raw)

    def __next__(self) -> Table:
        try:
            page: Table = next(self._raw)
        except BaseException:
            # Python runs signal handlers as a call returns, so a Ctrl-C (or whatever another
            # handler raises: a SIGALRM timeout, a SIGTERM exit) that came just as the stream
            # handed a page out lands here with the page gone: put it back for the next call.
            # (One raised inside the stream found the page still there, kept; take_back() is
            # then a no-op.)
            self._raw.take_back()
            raise
        return page

    def _check_unread(self) -> None:
        """Refuses, for Table.concat, a stream that already handed out tables.

        Their rows would be missing from the joined table, unsaid (outside trial 19: after a
        ``next(stream)`` to peek at the columns, 9,000 of 10,000 rows).
        """
        _, tables, rows, state = self._raw.progress
        if state.startswith("broken"):
            raise StreamError(
                f"Table.concat(stream): this stream is {state}, so it cannot tell which rows it "
                "still owes; the joined table would miss them",
                hint="fetch again: a new iter_calls()/iter_reps() stream, or calls()/reps()",
            )
        if tables:
            raise StreamError(
                f"Table.concat(stream): this stream already handed out {count(tables, 'table')} "
                f"({count(rows, 'row')}), which the joined table would leave out",
                # Also after a Ctrl-C inside an earlier Table.concat(stream), whose tables went
                # to the interrupted call (outside trial 21): the hint says what then.
                hint="pass them too, in order: Table.concat([first, *stream]); no row was lost. "
                "If you no longer have them (an earlier Table.concat(stream) was interrupted), "
                "start a new stream: client.iter_calls(...) again",
            )

    def __reduce__(self) -> Any:
        raise TypeError(
            "a TableStream is a fetch in progress and cannot be pickled; pickle the Tables it "
            "yields, or send a query value (converz.CallsQuery) and fetch where it runs"
        )

    def __repr__(self) -> str:
        """What it lists, what it handed out so far and whether it can go on; reads nothing.

        Example: ``converz.TableStream: calls(campaign=('sales',)); 2 pages read, 6 tables
        (24,576 rows) handed out; open``.
        """
        pages, tables, rows, state = self._raw.progress
        what = f"{self._query}; " if self._query else ""
        handed = f"{count(tables, 'table')} ({count(rows, 'row')}) handed out"
        warned = f", {count(len(self.warnings), 'warning')}" if self._raw.warnings else ""
        text = f"{what}{count(pages, 'page')} read, {handed}{warned}; {state}"
        return "converz.TableStream: " + _printable(text)


# The marks of the streams alive in this process, by id, for tables unpickled here.
#
# Held by plain weak references, without callbacks, and pruned as marks are added: a
# `WeakValueDictionary` (or a `WeakSet`) runs Python code, its `remove` callback, when a
# referent dies. A stream's objects die where the last reference goes, which may be inside a
# C extension on the main thread, and a Ctrl-C handled while that callback runs is "ignored"
# (printed as unraisable) and lost: iterating `scan_calls(...).collect_batches()`, the loop
# ended normally with part of the rows (outside trial 50 F1).
_LIVE_MARKS: WeakRegistry[str, _StreamMark] = WeakRegistry()


class _StreamMark:
    """What Table.concat knows of the stream a table came from.

    How many tables it handed out, whether it finished or broke. A pickled table carries a
    snapshot (``of``).
    """

    __slots__ = (
        "__weakref__",
        "_stream",
        "broken",
        "ended",
        "handed",
        "id",
        "waiting",
        "warnings",
    )

    def __init__(self, stream: Optional[TableStream]) -> None:
        self.id = uuid.uuid4().hex
        self.handed = 0
        self.ended = False
        self.broken = False
        # The stream's warnings once it ended (the eager fetch's): a join of all its tables
        # says them also after the stream object is gone (outside trial 84 N2: it said
        # nothing, or the join's own judgement of the types the stream handed out).
        self.warnings: Optional[list[str]] = None
        self._stream = None if stream is None else weakref.ref(stream)
        # Joins of all its tables so far, waiting for its end (`_await_end`); weak references
        # without callbacks, as `_LIVE_MARKS` says why.
        self.waiting: list[weakref.ref[Table]] = []
        if stream is not None:
            _LIVE_MARKS.add(self.id, self)

    @classmethod
    def of(
        cls,
        id: str,
        handed: int,
        ended: bool,
        broken: bool,
        warnings: Optional[list[str]] = None,
    ) -> _StreamMark:
        """The mark of a pickled table: its stream's own, while that lives in this process.

        So a table pickled while the stream was open still learns that it ended or broke
        (outside trial 20b: the last tables missing were joined as a preview).
        """
        live = _LIVE_MARKS.get(id)
        if live is not None:
            return live
        mark = cls(None)
        mark.id, mark.handed, mark.ended, mark.broken = id, handed, ended, broken
        mark.warnings = warnings
        return mark

    def snapshot(self) -> tuple[str, int, bool, bool, Optional[list[str]]]:
        return (self.id, self.handed, self.ended, self.is_broken(), self.warnings)

    def is_broken(self) -> bool:
        stream = None if self._stream is None else self._stream()
        if stream is not None and stream._raw.progress[3].startswith("broken"):
            self.broken = True
        return self.broken


def listing_of(query: Any) -> str:
    """What a query lists, as Table.concat names it.

    Its endpoint, and a report's grouping: a report's rows are one per group, so reports
    grouped otherwise hold rows of other kinds.
    """
    if query.endpoint != "report":
        return str(query.endpoint)
    return f"report by {', '.join(query.groupby)}" if query.groupby else "report of one row"


def _one_listing(parts: list[Table]) -> Optional[str]:
    """The listing every table of a join comes from; tables of two are refused.

    Outside trial 31 (F2): ``Table.concat([client.calls(), client.reps()])`` gave one table of
    both, the reps' rows with a null ``call_id``, as no fetch returns; reports grouped by date
    and by campaign were joined alike.
    """
    listings = list(dict.fromkeys(t._listing for t in parts if t._listing is not None))
    if len(listings) > 1:
        raise InvalidParameterError(
            "invalid parameter `tables`: Table.concat joins the tables of one listing, as one "
            f"fetch of all their rows; these come from {' and '.join(listings[:3])}",
            parameter="tables",
            hint="join tables of one endpoint (and, for reports, one groupby); to combine "
            "listings, convert each (to_polars(), to_pandas()) and join the frames on a key",
        )
    return listings[0] if listings else None


def _stream_table(listing: Optional[str], mark: _StreamMark, raw: Any, place: int) -> Table:
    """Table ``place`` (0 first) of the stream ``mark`` stands for, which lists ``listing``."""
    mark.handed = max(mark.handed, place + 1)
    table = Table(raw)
    table._listing = listing
    table._places = ((mark, place, place),)
    return table


def _all_handed(
    parts: list[Table], places: tuple[tuple[_StreamMark, int, int], ...]
) -> Optional[_StreamMark]:
    """The stream mark whose every table so far (0 to handed - 1) ``parts`` are, else None."""
    if len(places) != 1 or not all(t._places for t in parts):
        return None
    mark, first, last = places[0]
    return mark if (first, last + 1) == (0, mark.handed) else None


def _await_end(
    table: Table,
    parts: list[Table],
    places: tuple[tuple[_StreamMark, int, int], ...],
    kept: list[str],
) -> None:
    """Has a join of every table an open stream handed out take the stream's warnings at its end.

    Only if the stream ends with no further table. Joined step by step
    (``acc = Table.concat([acc, t])``), the last join runs before the stream has ended, and
    the result kept none of the fetch's warnings (outside trial 21c).
    """
    mark = _all_handed(parts, places)
    if mark is None or mark.ended or mark._stream is None:
        return
    table._kept = kept
    mark.waiting = [ref for ref in mark.waiting if ref() is not None]
    mark.waiting.append(weakref.ref(table))


def _whole_stream(
    parts: list[Table], places: tuple[tuple[_StreamMark, int, int], ...]
) -> Optional[list[str]]:
    """The warnings of the stream ``parts`` are every table of, once it has ended."""
    mark = _all_handed(parts, places)
    if mark is None or not mark.ended:
        return None
    return mark.warnings


def _check_each_once(parts: list[Table]) -> tuple[tuple[_StreamMark, int, int], ...]:
    """Refuses, for Table.concat, a table given twice or a stream's tables with one missing.

    Either would join rows twice or leave them out, unsaid (outside trial 19b: a generator over
    a stream someone had peeked at lost the first table's rows; a list naming one table twice
    joined its rows twice). Returns the stream tables the joined table holds
    (``Table._places``).
    """
    seen: dict[int, int] = {}
    for k, table in enumerate(parts):
        if not table._places and not table.num_rows:
            # No rows to join twice (outside trial 27c: `[empty, empty]` was refused).
            continue
        if id(table) in seen:
            message = (
                f"table {k} is table {seen[id(table)]} again, so its rows would be joined twice"
            )
            if table._places:
                # A stream's table: refused as a stream's tables given out of order or with
                # one missing are, as the README says (outside trial 41 F6).
                raise StreamError(
                    f"Table.concat: {message}",
                    hint="pass the stream itself, or every table it handed out once, in order: "
                    "Table.concat([first, *stream])",
                )
            raise InvalidParameterError(
                f"invalid parameter `tables`: {message}",
                parameter="tables",
                hint="pass each table once",
            )
        seen[id(table)] = k
    places: dict[str, list[int]] = {}
    marks: dict[str, list[_StreamMark]] = {}
    for table in parts:
        for mark, first, last in table._places:
            places.setdefault(mark.id, []).extend(range(first, last + 1))
            marks.setdefault(mark.id, []).append(mark)
    for key, got in places.items():
        handed = max(m.handed for m in marks[key])
        if any(m.is_broken() for m in marks[key]):
            raise StreamError(
                "Table.concat: a stream these tables came from stopped at an error, so it "
                "cannot tell which rows it still owed; the joined table would miss them",
                hint="fetch again: a new iter_calls()/iter_reps() stream, or calls()/reps()",
            )
        if any(m.ended for m in marks[key]) and got == list(range(len(got))) and len(got) < handed:
            raise StreamError(
                f"Table.concat: the stream handed out {count(handed, 'table')} and these are "
                f"its first {len(got)}: table {len(got)} (0 is the first) is missing, so rows "
                "would be left out",
                hint="pass the stream itself, or every table it handed out, in order: "
                "Table.concat([first, *stream]); no row was lost",
            )
        if got != list(range(len(got))):
            missing = sorted(set(range(max(got) + 1)) - set(got))
            twice = sorted({place for place in got if got.count(place) > 1})
            if missing:
                what = f"the stream's table {missing[0]} (0 is the first) is missing"
            elif twice:
                what = f"the stream's table {twice[0]} is given twice"
            else:
                what = "they are out of order"
            raise StreamError(
                f"Table.concat: a stream's tables must come from its first, each once, in order; "
                f"{what}, so rows would be left out, repeated or out of order",
                hint="pass the stream itself, or every table it handed out, in order: "
                "Table.concat([first, *stream]); no row was lost",
            )
    return tuple((marks[key][0], 0, len(got) - 1) for key, got in places.items())


def _end_of_stream(
    unseen: Optional[Callable[[list[str]], list[str]]],
    mark: _StreamMark,
    warnings: list[str],
    columns: list[str],
) -> list[str]:
    """The stream's warnings once it has ended, each logged.

    The listing's come first, then ``unseen(columns)``: what the columns the stream's pages had
    say of the caller's ``schema=``.
    """
    mark.ended = True
    if unseen is not None:
        warnings = [*warnings, *unseen(columns)]
    warnings = [_printable(w) for w in warnings]
    mark.warnings = warnings
    for warning in warnings:
        logger.warning(warning)
    for table in [ref() for ref in mark.waiting]:
        if table is not None and table._places and table._places[0][2] + 1 == mark.handed:
            table.warnings = list(dict.fromkeys([*table._kept, *warnings]))
    mark.waiting.clear()
    return warnings


def _unpickle_table(
    data: bytes,
    warnings: list[str],
    elapsed: Optional[float],
    pages: Optional[int],
    places: tuple[tuple[tuple[Any, ...], int, int], ...] = (),
    listing: Optional[str] = None,
    own: Optional[tuple[bytes, list[int]]] = None,
) -> Table:
    from converz import _core

    raw = _core.read_ipc_stream(data)
    if own is not None:
        raw = _core.with_own_columns(raw, _core.read_ipc_stream(own[0]), own[1])
    table = Table(raw, warnings, elapsed=elapsed, pages=pages)
    table._listing = listing
    table._places = tuple((_StreamMark.of(*mark), first, last) for mark, first, last in places)
    return table
