"""What a push did (`PushResult`, `ChunkResult`) and the checks before it reads a frame.

`PushResult` and `ChunkResult` say what a push did, chunk by chunk, and what is left to send.
Both are built in Rust (``converz._core``, ``src/python/push_result.rs``) as immutable
objects; this module gives them their public home.

Example:
    >>> res = client.push_updates(df)  # doctest: +SKIP
    >>> res.updated, res.not_found  # doctest: +SKIP
    (1000, [])
    >>> print(res.report())  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any, Callable, Optional

from converz._args import check_flag, check_unicode, is_int, wrong_type
from converz._core import ChunkResult, PushResult
from converz._weak import WeakRegistry
from converz.exceptions import InvalidParameterError, InvalidParameterTypeError

__all__ = ["ChunkResult", "PushResult"]


@contextlib.contextmanager
def stop_said(while_: str) -> Iterator[None]:
    """A bare Ctrl-C raised while ``while_`` (before a push's first request) says so.

    The core says "nothing was sent" for a stop it takes; one that lands in Python code
    between its steps (pyarrow converting a pandas frame, the line after a file's read) came
    out as a bare ``KeyboardInterrupt`` (outside trial 75 F2, F3). Another stop (the CLI's
    SIGTERM, a subclass) passes as it is.
    """
    try:
        yield
    except KeyboardInterrupt as stop:
        if type(stop) is KeyboardInterrupt and not stop.args:
            said = f"the push was stopped while {while_}; nothing was sent"
            raise KeyboardInterrupt(said) from None
        raise


def _zone_named(zone: object) -> str:
    """For a ``tzinfo`` given as ``timezone=``, the name to pass instead.

    pandas' ``.dt.tz`` is a ``ZoneInfo``, which was refused with no word of its name (outside
    trial 77 F5).

    Example:
        >>> import datetime
        >>> _zone_named(datetime.timezone(datetime.timedelta(hours=-5, minutes=-30)))
        ", pass its name, timezone='-05:30'"
    """
    if not isinstance(zone, datetime.tzinfo):
        return ""
    name = getattr(zone, "key", None) or getattr(zone, "zone", None)  # ZoneInfo, pytz
    if name is None and isinstance(zone, datetime.timezone):
        offset = zone.utcoffset(None)
        minutes = int(offset.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        name = "UTC" if not minutes else f"{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"
    return f", pass its name, timezone={name!r}" if isinstance(name, str) else ""


def _check_pyarrow_layout(data: Any, kind: str) -> None:
    """Refuses a table or batch that fails pyarrow's full validation (it knows the sizes).

    The Arrow C data interface passes no buffer sizes: a string array's last offset is taken
    as its bytes' length, so an array built with ``from_buffers`` whose offsets point past its
    data was read beyond it, sent to the API or crashed the process (outside trial 29b F1).
    pyarrow can tell; past the interface, nothing can.
    """
    import pyarrow as pa

    if isinstance(data, pa.StructArray):
        named = [("", data)]
    else:
        named = list(zip(data.schema.names, data.columns))
    for name, column in named:
        try:
            column.validate(full=True)
        except pa.ArrowInvalid as err:
            if _part_day(pa, column, err) or _text_only(pa, column, err):
                continue  # sound otherwise: converz's own check names the row
            where = f"column `{name}` of " if name else ""
            raise InvalidParameterError(
                f"cannot push {where}this pyarrow {kind}: pyarrow finds it malformed ({err})",
                parameter="df",
                hint="rebuild the arrays it names (pa.array(...) checks what it builds; "
                "from_buffers does not); nothing was sent",
            ) from None


def _read(read: Callable[[], Any], what: str) -> Any:
    """What ``read`` reads, or an :class:`InvalidParameterError` saying why it could not."""
    try:
        return read()
    except Exception as err:  # the reader's own code, a file gone: anything (trial 30c F2)
        raise InvalidParameterError(
            f"cannot push this {what}: reading it failed ({type(err).__name__}: {err})",
            parameter="df",
            hint="its cause is the reader's error; nothing was sent",
        ) from err


# The streams a push has read, a dry run's too. A stream gives its rows once: read again it
# gives none, and pyarrow says nothing (outside trial 60 F1: a push after a dry run of the
# same reader sent 0 rows and reported success). A stream is marked before it is read, under
# a lock, so of pushes of one reader in several threads one reads it and the others are
# refused (outside trial 61 F2: two pushes each sent part of its rows, or one sent none); one
# whose read failed stays marked: pushing it again would send only the batches after that.
#
# By id, in a `WeakRegistry` as `_table._LIVE_MARKS` is (a `WeakSet` can lose a Ctrl-C: outside
# trial 50 F1). The id of a dead stream may come back for a new one: its reference then reads
# None, so it is not taken.
_READ_STREAMS: WeakRegistry[int, Any] = WeakRegistry()
_READ_STREAMS_LOCK = threading.Lock()


def _claim(stream: Any) -> bool:
    """Marks ``stream`` as read by a push; whether an earlier push had marked it.

    An object that cannot be weakly referenced is not tracked (False).
    """
    with _READ_STREAMS_LOCK:
        if _READ_STREAMS.get(id(stream)) is stream:
            return True
        with contextlib.suppress(TypeError):
            _READ_STREAMS.add(id(stream), stream)
        return False


@dataclasses.dataclass(frozen=True)
class Stream:
    """A stream a push reads: a reader, or an exporter read through the Arrow C stream.

    It may give its rows only once, and converz cannot tell before reading it.
    """

    kind: str
    read_before: bool


def warn_empty_stream(stream: Stream) -> None:
    """Warns that ``stream`` gave no rows, so a push sent nothing.

    Outside trial 61 F1: a polars ``collect_batches()`` pushed after a dry run of it sent 0
    rows, unwarned.
    """
    why = (
        "an earlier push_updates read it (a dry run reads it too), and a stream gives its "
        "rows only once: make a new one"
        if stream.read_before
        else "if it is a stream that was read before, make a new one"
    )
    warnings.warn(
        f"this {stream.kind} gave no rows, so nothing was pushed; {why}",
        UserWarning,
        stacklevel=_caller_level(),
    )


def _read_stream(pa: Any, reader: Any, kind: str) -> Any:
    """The rows of a stream ``reader`` as a table, refusing one an earlier push has read.

    A reader that gives no rows is pushed (nothing is sent), and the push then warns: it may
    have been read before, by the caller.
    """
    if _claim(reader):
        raise InvalidParameterError(
            f"cannot push this pyarrow {kind}: an earlier push_updates read it (a dry run "
            "reads it too), and a reader gives its rows only once",
            parameter="df",
            hint="make a new reader, or read it into a table first (table = "
            "reader.read_all()) and push the table as often as needed; nothing was sent",
        )
    return _read(reader.read_all, f"pyarrow {kind}")


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside converz, so a warning names its line."""
    frame: Optional[FrameType] = sys._getframe(1)
    level = 1
    while frame is not None and _is_converz(frame.f_globals.get("__name__", "")):
        frame, level = frame.f_back, level + 1
    return level


def _is_converz(module: str) -> bool:
    """Whether ``module`` is converz or one of its modules.

    A user's ``converz_jobs`` is not (outside trial 62 F5).
    """
    return module == "converz" or module.startswith("converz.")


def _part_day(pa: Any, column: Any, err: Exception) -> bool:
    """Whether pyarrow's only complaint about ``column`` is a date64 that is not a whole day.

    converz refuses that naming the row (outside trial 30 F6: pyarrow's message gave a column
    number and milliseconds). A flat column's buffers' sizes are all a read needs, and
    pyarrow's cheap validation checks those.
    """
    if not pa.types.is_date64(column.type) or "whole number of days" not in str(err):
        return False
    return _sound_layout(pa, column)


def _text_only(pa: Any, column: Any, err: Exception) -> bool:
    """Whether pyarrow's only complaint about ``column`` is text that is not UTF-8.

    That is, in a layout its cheap validation finds sound. converz's own check refuses such
    text where it is sent, naming the row, and passes it in rows ``on_duplicate="last"``
    drops, which are never sent (outside trial 58 N3: pyarrow's check refused bad text in a
    dropped row, naming neither column nor row). It checks text from any other exporter alike.
    """
    return "Invalid UTF8" in str(err) and _sound_layout(pa, column)


def _sound_layout(pa: Any, column: Any) -> bool:
    """Whether pyarrow's cheap validation (buffer sizes, not values) passes ``column``."""
    try:
        column.validate(full=False)
    except pa.ArrowInvalid:
        return False
    return True


def _without_offsets_under_structs(pa: Any, data: Any) -> Any:
    """``data`` with each column that has a struct inside a struct copied from offset 0.

    arrow-rs 59 applies a sliced struct's offset twice to a struct inside it when it imports
    it, and panics (outside trial 30 F1b: ``push_updates(table.slice(1))`` of a struct of
    structs raised a ``PanicException``). Where a slice left its offset, on the column or on
    a field inside it, pyarrow does not say without reading its buffers, so every such column
    is copied (``take``), after a table's columns are made one chunk each: a column's chunks
    are exported in slices where other columns' chunks end (trials 30b F2, 30c F1). A cost
    only for tables with these rare columns.
    """
    if isinstance(data, pa.StructArray):
        return _from_offset_zero(pa, data) if _struct_in_struct(pa, data.type) else data
    nested = [i for i, field in enumerate(data.schema) if _struct_in_struct(pa, field.type)]
    if nested and isinstance(data, pa.Table):
        # Columns cut into chunks at other rows are exported in slices of each other's
        # chunks, which would bring offsets back (trial 30c F1): one chunk each first.
        data = data.combine_chunks()
    for i in nested:
        column = data.column(i)
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else None
        fresh = (
            pa.chunked_array([_from_offset_zero(pa, c) for c in chunks], column.type)
            if chunks is not None
            else _from_offset_zero(pa, column)
        )
        data = data.set_column(i, data.schema.field(i), fresh)
    return data


def _from_offset_zero(pa: Any, array: Any) -> Any:
    """``array`` rebuilt from offset 0, or as it is where pyarrow cannot take from it.

    A run-end encoded column cannot be taken from; the push then refuses it in its own words
    (outside trial 30b F3: pyarrow's ArrowNotImplementedError came out).
    """
    try:
        return array.take(pa.array(range(len(array)), pa.int64()))
    except pa.ArrowNotImplementedError:
        return array


def _struct_in_struct(pa: Any, dtype: Any) -> bool:
    """Whether ``dtype`` holds a struct field directly inside a struct, at any depth."""
    if pa.types.is_struct(dtype):
        fields = [dtype.field(i).type for i in range(dtype.num_fields)]
        return any(pa.types.is_struct(f) or _struct_in_struct(pa, f) for f in fields)
    inner = getattr(dtype, "value_type", None) or getattr(dtype, "item_type", None)
    return inner is not None and _struct_in_struct(pa, inner)


def arrow_input(data: Any, to: Optional[str] = None) -> tuple[Any, Optional[Stream]]:
    """Anything Arrow-compatible, as an object with ``__arrow_c_stream__``.

    Also, for a stream exporter that may give its rows only once, what to say if it gives none.
    ``to``: the push's target, for the key column of a stream that gives no schema.
    """
    module = type(data).__module__.split(".")[0]
    kind = type(data).__name__
    if module == "polars" and kind == "LazyFrame":
        # Refused by name, before its schema is asked for (polars warns that is costly).
        raise InvalidParameterError(
            "cannot push a polars LazyFrame: collect it first, push_updates(lf.collect())",
            parameter="df",
        )
    # A pyarrow StructArray is rows, as a RecordBatch is: taken.
    one_column = kind in ("Series", "ChunkedArray") or (
        module == "pyarrow" and kind.endswith("Array") and kind != "StructArray"
    )
    if one_column and module in ("polars", "pandas", "pyarrow"):
        raise InvalidParameterError(
            f"cannot push a {module} {kind}: a push takes a frame with the key column (call_id "
            "or rep_id) and the columns to set, e.g. pl.DataFrame({'call_id': ids, 'qa': s})",
            parameter="df",
        )
    if module == "pandas":
        # pandas' own export keeps an unnamed index too; ours must not push it as a column.
        try:
            import pyarrow as pa
        except ImportError as err:
            raise ImportError(
                "pushing a pandas DataFrame needs pyarrow: pip install 'converz[pandas]'"
            ) from err
        table = _from_pandas(pa, data)
        _check_arrow_names(table.schema)
        return _without_offsets_under_structs(pa, table), None
    stream = None
    if module == "pyarrow":
        import pyarrow as pa

        # Readers are read here so pyarrow can check their batches too (outside trial 30 F1: a
        # reader's offsets past their buffer were read beyond it and sent, or crashed the
        # process). A push reads every batch before its first request anyway, so this holds
        # no more.
        if isinstance(data, pa.RecordBatchReader):
            # Warned of once the push found the schema fine and sent nothing (outside trial
            # 66: a reader with a column no push takes was warned of as empty, then refused).
            stream = Stream(kind=f"pyarrow {kind}", read_before=False)
            data = _read_stream(pa, data, kind)
        elif hasattr(data, "read_all"):  # an IPC file reader (trial 30b F4), read at will
            data = _read(data.read_all, f"pyarrow {kind}")
        elif hasattr(data, "to_table"):  # a dataset or scanner
            data = _read(data.to_table, f"pyarrow {kind}")
        if not isinstance(data, (pa.Table, pa.RecordBatch, pa.StructArray)):
            raise InvalidParameterError(
                f"cannot push a pyarrow {kind}: expected a Table, RecordBatch, "
                "RecordBatchReader, StructArray, IPC reader or dataset",
                parameter="df",
            )
        _check_arrow_names(data.type if isinstance(data, pa.StructArray) else data.schema)
        _check_pyarrow_layout(data, kind)
        data = _without_offsets_under_structs(pa, data)
    if module == "polars" and not hasattr(data, "with_columns") and hasattr(data, "__iter__"):
        # polars' `collect_batches()`: its batches are frames, read here so they get a frame's
        # checks (outside trial 62 F1: a NUL in a name aborted the process in polars' export;
        # F4: a Null column was refused by arrow-rs). It gives its rows once.
        import polars as pl

        stream = Stream(kind=f"polars {kind}", read_before=_claim(data))
        batches = _read(lambda: list(data), stream.kind)
        # No batches give no schema (read before, or no rows): a key column alone, no rows.
        empty = {"call_id": pl.Int64} if to != "reps" else {"rep_id": pl.String}
        data = (
            pl.concat(batches, how="vertical", rechunk=False)
            if batches
            else pl.DataFrame(schema=empty)
        )
    if module == "polars" and hasattr(data, "with_columns"):
        import polars as pl

        _check_polars_names(pl, data.schema)
        _check_polars_types(pl, data.schema)
        # polars exports a Null column (or a Null field of a struct, the items of a List(Null))
        # with a buffer the Arrow C data interface does not define, and arrow-rs refuses it
        # (outside trial 22: a struct with an all-null field, as `calls().to_polars()` gives
        # it, could not be pushed back). All-null Booleans mean the same to a push: leave
        # unchanged, or clear when named in clear=; inside an object, null either way.
        casts = {
            name: _without_null(pl, dtype)
            for name, dtype in data.schema.items()
            if _holds(pl, dtype, lambda d: d == pl.Null)
        }
        # A Null key (a frame built from empty lists, or keys all None) takes its key type,
        # so its nulls are told as null keys (outside trial 67: "has type Boolean"), and a
        # frame without rows is pushed as the same frame typed would be.
        keys = {"call_id": pl.Int64, "rep_id": pl.String}
        casts |= {name: keys[name] for name in keys if data.schema.get(name) == pl.Null}
        if casts:
            data = data.with_columns(pl.col(name).cast(dtype) for name, dtype in casts.items())
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        if module not in ("pyarrow", "polars"):  # read above
            _check_names((name, "") for name in _top_level_names(data))
        return data, stream or _stream_of(data, module)
    # Not a frame at all (None, a dict, a path): a wrong type (outside trial 36 F6). A path
    # is meant for push_file (outside trial 92 F9).
    path = isinstance(data, (str, os.PathLike))
    file = " (a file is pushed by client.push_file(path))" if path else ""
    raise InvalidParameterTypeError(
        f"cannot push a {type(data).__name__}: expected a polars or pandas DataFrame, a pyarrow "
        "Table/RecordBatch/RecordBatchReader, a converz.Table, or any Arrow PyCapsule "
        f"exporter{file}",
        parameter="df",
    )


def _stream_of(data: Any, module: str) -> Optional[Stream]:
    """``data`` as a :class:`Stream`, marked read, if it may give its rows only once.

    None for a frame or table, which exports its rows each time it is asked.
    """
    frame = module in ("pyarrow", "converz") or (module == "polars" and hasattr(data, "columns"))
    if frame or not hasattr(data, "__arrow_c_stream__"):
        return None
    return Stream(kind=f"{module} {type(data).__name__}", read_before=_claim(data))


# A name holding NUL is cut there on its way through the Arrow C data interface, whose names are
# C strings: "campaign\x00_v2" arrived as "campaign", and a push overwrote that column of
# every row it named, without a word (outside trial 26 F1). So names are read on the Python
# side, before anything is exported: every frame type converz knows, nested fields too.
_NUL = "\x00"
_CUT_OFF = (
    "which the Arrow interface a frame is handed over by cuts off: the push would set another "
    "column"
)


def _check_names(names: Any, why: str = _CUT_OFF) -> None:
    """Refuses the first ``(column, field)`` pair holding a NUL, saying ``why``.

    ``field`` is empty for the column's own name, else the path of a field inside it.
    """
    for column, field in names:
        if _NUL in column or _NUL in field:
            where = f"the name of its field {field!r}" if field else "its name"
            raise InvalidParameterError(
                f"column {column!r}: {where} holds a NUL character (\\x00), {why}",
                parameter="df",
                hint="rename it first",
            )


def _check_arrow_names(schema: Any) -> None:
    """``_check_names`` over a pyarrow schema or struct type, nested fields included."""
    if schema is None:
        return
    count = schema.num_fields if hasattr(schema, "num_fields") else len(schema)
    fields = [schema.field(i) for i in range(count)]
    _check_names((f.name, path) for f in fields for path in _arrow_field_paths(f.type))


def _arrow_field_paths(arrow_type: Any, prefix: str = "") -> Any:
    """``prefix`` for the type itself, then the dotted path of every field nested in it."""
    yield prefix
    for child in (arrow_type.field(i) for i in range(getattr(arrow_type, "num_fields", 0))):
        yield from _arrow_field_paths(
            child.type, f"{prefix}.{child.name}" if prefix else child.name
        )


def _top_level_names(data: Any) -> list[Any]:
    """The column names another exporter gives in Python, else none.

    A converz.Table says them in ``schema``, a frame in ``columns``.
    """
    for attribute in ("schema", "columns"):
        names: Any = getattr(data, attribute, None)
        if hasattr(names, "keys"):
            names = list(names.keys())
        if isinstance(names, (list, tuple)):
            return [name for name in names if isinstance(name, str)]
    return []


def _check_polars_names(pl: Any, schema: Any) -> None:
    """Refuses a polars frame with a NUL character in a column or struct field name.

    polars aborts the whole process exporting such a name over the Arrow C data interface (a
    panic it cannot unwind, in its own code, before converz sees the data), so the frame's
    schema is read first, which exports nothing.
    """
    _check_names(
        ((name, path) for name, dtype in schema.items() for path in _polars_field_paths(pl, dtype)),
        "which polars cannot export (it would abort the process)",
    )


def _check_polars_types(pl: Any, schema: Any) -> None:
    """Refuses, naming the column, a polars type its Arrow export does not carry the values of.

    polars' own error (``"_pli128" is still not supported``) named no column (outside trial 22);
    an ``Object`` column goes out as pointers.
    """
    wide = tuple(getattr(pl, name) for name in ("Int128", "UInt128") if hasattr(pl, name))
    for name, dtype in schema.items():
        if _holds(pl, dtype, lambda d: isinstance(d, wide) or d in wide):
            raise InvalidParameterError(
                f"column {name!r} is {dtype}, which polars cannot hand over as Arrow (128-bit "
                "integers)",
                parameter="df",
                hint=f"cast it first: pl.col({name!r}).cast(pl.Int64) if its values fit, else "
                "pl.String for their exact digits",
            )
        if _holds(pl, dtype, lambda d: d == pl.Object):
            # Exported as 8-byte pointers, it was refused as bytes to decode (trial 30 F10).
            raise InvalidParameterError(
                f"column {name!r} is {dtype}: Python objects, which polars hands over as "
                "memory addresses, not values",
                parameter="df",
                hint="build the column with a polars type instead (a dict per row makes a "
                "Struct, a list a List), or turn each object into text first: "
                f"pl.col({name!r}).map_elements(str, return_dtype=pl.String); nothing was sent",
            )


def _holds(pl: Any, dtype: Any, test: Callable[[Any], bool]) -> bool:
    """Whether ``dtype`` or a type nested in it (struct fields, list items) passes ``test``."""
    if test(dtype):
        return True
    if isinstance(dtype, pl.Struct):
        return any(_holds(pl, f.dtype, test) for f in dtype.fields)
    inner = getattr(dtype, "inner", None)
    return inner is not None and _holds(pl, inner, test)


def _without_null(pl: Any, dtype: Any) -> Any:
    """``dtype`` with every Null in it (nested too) made Boolean."""
    if dtype == pl.Null:
        return pl.Boolean
    if isinstance(dtype, pl.Struct):
        return pl.Struct([pl.Field(f.name, _without_null(pl, f.dtype)) for f in dtype.fields])
    if isinstance(dtype, pl.Array):
        return pl.Array(_without_null(pl, dtype.inner), dtype.size)
    if isinstance(dtype, pl.List):
        return pl.List(_without_null(pl, dtype.inner))
    return dtype


def _polars_field_paths(pl: Any, dtype: Any, prefix: str = "") -> Any:
    """``prefix`` for the type itself, then the dotted path of every struct field in it."""
    yield prefix
    if isinstance(dtype, pl.Struct):
        for field in dtype.fields:
            path = f"{prefix}.{field.name}" if prefix else field.name
            yield from _polars_field_paths(pl, field.dtype, path)
    inner = getattr(dtype, "inner", None)
    if inner is not None:
        yield from _polars_field_paths(pl, inner, prefix)


def push_arguments(
    to: Any, clear: Any, chunk_rows: Any, on_duplicate: Any, timezone: Any, **flags: Any
) -> list[str]:
    """Checks push_updates' plain arguments before anything is read; returns ``clear`` as a list.

    One column name is accepted for ``clear`` (``clear="qa_score"``), not iterated as letters.
    """
    if isinstance(clear, str):
        clear = [clear]
    elif clear is None:
        clear = []
    elif not isinstance(clear, Sequence) or not all(isinstance(c, str) for c in clear):
        raise InvalidParameterTypeError(
            f"clear takes column names (a str or a list of str), got {clear!r:.80}",
            parameter="clear",
        )
    if not is_int(chunk_rows):
        raise InvalidParameterTypeError(
            f"chunk_rows must be an int, got {type(chunk_rows).__name__}", parameter="chunk_rows"
        )
    if timezone is not None and not isinstance(timezone, str):
        raise InvalidParameterTypeError(
            f"timezone must be an IANA zone name such as 'Europe/Amsterdam', got "
            f"{type(timezone).__name__}{_zone_named(timezone)}",
            parameter="timezone",
        )
    check_unicode("clear", *clear)
    check_unicode("timezone", *([] if timezone is None else [timezone]))
    for name, value in flags.items():
        check_flag(name, value, optional=name == "progress")
    # The core reads these as str (or None): another type would fail there naming no parameter.
    if to is not None and not isinstance(to, str):
        raise wrong_type("to", "'calls', 'reps' or None", to)
    if not isinstance(on_duplicate, str):
        raise wrong_type("on_duplicate", "'error' or 'last'", on_duplicate)
    check_unicode("to", *([] if to is None else [to]))
    check_unicode("on_duplicate", on_duplicate)
    return list(clear)


def _from_pandas(pa: Any, frame: Any) -> Any:
    """A pandas frame as an Arrow table; what Arrow cannot take names the column."""
    names = [str(name) for name in frame.columns]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidParameterError(
            f"column names must be unique; repeated: {', '.join(repeated)}", parameter="df"
        )
    _check_index_columns(frame, names)
    _check_mixed_zones(frame)
    _check_mixed_objects(frame)
    # A named index level is data the user chose (df.set_index("call_id")): it stays a column.
    # An unnamed one is row numbering: not exported, or exported as __index_level_N__, which
    # the core drops.
    named = any(name is not None for name in frame.index.names)
    try:
        return pa.Table.from_pandas(frame, preserve_index=named)
    # OverflowError: a Python int beyond 64 bits in an object column (outside trial 17).
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as err:
        for name in frame.columns:
            try:
                pa.array(frame[name], from_pandas=True)
            except (pa.ArrowException, ValueError, TypeError, OverflowError) as column_err:
                _check_unencodable(frame[name], name)
                raise InvalidParameterError(
                    f"column {name!r} cannot become an Arrow column ({column_err}); give it one "
                    "type, e.g. df[col].astype(str)",
                    parameter="df",
                ) from err
        raise InvalidParameterError(
            f"the frame cannot become an Arrow table: {err}", parameter="df"
        ) from err


def _check_unencodable(column: Any, name: Any) -> None:
    """Refuses a column holding text UTF-8 cannot carry, naming its first such row.

    Such text holds a lone surrogate, as ``surrogateescape`` decoding leaves; the generic
    advice, ``astype(str)``, keeps it (outside trial 39 F4).
    """
    for label, value in column.items():
        if not isinstance(value, str):
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            bad = value[err.start : err.end]
            raise InvalidParameterError(
                f"column {name!r} holds text that is not valid Unicode at row {label!r} "
                f"({bad!r} at position {err.start}: a lone surrogate, which UTF-8 cannot carry); "
                "replace such characters first, e.g. df[col] = df[col].str.encode('utf-8', "
                "'replace').str.decode('utf-8')",
                parameter="df",
            ) from None


def _check_mixed_objects(frame: Any) -> None:
    """Refuses object columns pyarrow would take wrongly, before any request.

    First a column holding Python sets, then one holding both booleans and numbers; each
    column's kinds are found in one pass over its values, for the columns pandas infers as
    mixed.

    pyarrow takes a set as a list in its iteration order, which is its hash order and differs
    from one process to the next for strings (outside trial 36 F4: the same frame stored
    ``['d', 'a', ...]`` on one run and ``['c', 'b', ...]`` on another). It makes booleans beside
    numbers numbers when a number comes first (``[1.5, True]`` is sent as ``[1.5, 1.0]``) and
    refuses them when a boolean does (outside trial 37 F4); a file push refuses the same mix,
    naming a line of each.
    """
    import numbers

    import numpy  # comes with pandas
    import pandas as pd

    # Per column: whether it holds sets, and the first (row, value) of each of the two kinds.
    found: list[tuple[str, bool, dict[str, Any]]] = []
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object:
            continue
        inferred = pd.api.types.infer_dtype(column, skipna=True)
        if inferred not in ("mixed", "mixed-integer"):
            continue
        sets = False
        first: dict[str, Any] = {}
        for label, value in column.items():
            if isinstance(value, (set, frozenset)):
                sets = True
            elif isinstance(value, (bool, numpy.bool_)):
                first.setdefault("boolean", (label, value))
            elif isinstance(value, numbers.Number):
                first.setdefault("number", (label, value))
        found.append((name, sets and inferred == "mixed", first))
    for name, sets, _ in found:
        if sets:
            raise InvalidParameterError(
                f"column {name!r} holds Python sets, whose order differs from run to run: "
                f"make them sorted lists first, e.g. df[{name!r}].map(sorted)",
                parameter="df",
            )
    for name, _, first in found:
        if len(first) == 2:
            (b_label, b_value), (n_label, n_value) = first["boolean"], first["number"]
            raise InvalidParameterError(
                f"column {name!r} holds booleans and numbers (row {b_label!r}: {b_value!r}, row "
                f"{n_label!r}: {n_value!r}), which would be sent as numbers or refused by the "
                "order they come in: give it one type, e.g. df[col].astype(float) or "
                "df[col].astype('boolean')",
                parameter="df",
            )


def _check_mixed_zones(frame: Any) -> None:
    """Refuses an object column mixing dates, naive and zoned date-times, before any request.

    pyarrow makes such a column one type from its first value: its zoned values skipped the
    conversion to ``timezone=`` and landed hours off, and after a date the times were cut to
    their day (outside trials 19 and 19b); a file push refuses the same mixes. Inside lists and
    dicts each place (a dict's key, a list's items) is judged on its own. Only object columns
    pandas infers as holding dates, date-times or a mix are looked at.
    """
    import pandas as pd

    for name in frame.columns:
        column = frame[name]
        if column.dtype != object:
            continue
        if pd.api.types.infer_dtype(column, skipna=True) not in ("datetime", "date", "mixed"):
            continue
        kinds: dict[tuple[str, ...], set[str]] = {}
        for value in column:
            _time_kinds(value, (), kinds, 0)
        for place, found in kinds.items():
            inside = ".".join("items" if step == "[]" else step for step in place)
            where = f"column {name!r}" + (f" (inside it, at {inside})" if place else "")
            if {"naive", "zoned"} <= found:
                raise InvalidParameterError(
                    f"{where} mixes date-times with a time zone and without one: those without "
                    "are the tenant's wall clock (timezone=), those with are converted to it, "
                    "and one Arrow column cannot hold both; nothing was sent",
                    parameter="df",
                    hint=f"give every value of {name!r} a zone, or none (e.g. "
                    "pd.to_datetime(df[col], utc=True) if the naive ones are UTC)",
                )
            if "date" in found and found & {"naive", "zoned"}:
                raise InvalidParameterError(
                    f"{where} mixes dates with date-times: one Arrow column takes the type of "
                    "its first value, so the times would be cut to their day or the dates made "
                    "midnights; nothing was sent",
                    parameter="df",
                    hint=f"make {name!r} all dates or all date-times (e.g. "
                    "pd.to_datetime(df[col]) for date-times), or text with .astype(str)",
                )


def _time_kinds(value: Any, place: tuple[str, ...], kinds: dict[Any, set[str]], depth: int) -> None:
    """Adds to ``kinds`` the kind of ``value`` at ``place``, and of the values inside it.

    A kind is a date, a naive or a zoned date-time; inside are a list's items and a dict's
    values by key.
    """
    if isinstance(value, datetime.datetime):
        zoned = value.tzinfo is not None and value.utcoffset() is not None
        kinds.setdefault(place, set()).add("zoned" if zoned else "naive")
    elif isinstance(value, datetime.date):
        kinds.setdefault(place, set()).add("date")
    elif depth < 16 and isinstance(value, (list, tuple)):
        for item in value:
            _time_kinds(item, (*place, "[]"), kinds, depth + 1)
    elif depth < 16 and isinstance(value, dict):
        for key, item in value.items():
            _time_kinds(item, (*place, str(key)), kinds, depth + 1)


# The names reset_index() gives an unnamed index it turns into a column: "index", or "level_0"
# when a column "index" exists already (a second reset_index()), "level_N" for a MultiIndex.
_RESET_INDEX = re.compile(r"index|level_\d+")


def _check_index_columns(frame: Any, names: list[str]) -> None:
    """Refuses, before any request, pandas' row positions as a column and a doubled name.

    Outside trial 18: ``df[df.qa > 0.4].sort_values("qa").reset_index()`` keeps the old row
    positions as an integer column ``index``, and the push created an attribute ``index`` on
    every row it sent, unsaid. Such a column is told by its name and its integer type (which
    values were row positions cannot be known), and refused; a column really named so is
    pushed from Arrow (``pa.Table.from_pandas(df, preserve_index=False)``), taken as given.

    And an index level named as a column (``call_id`` twice) is two values for one field: the
    push sent the column and dropped the index. Refused when they differ; the same values
    (``set_index("call_id", drop=False)``) are one, pushed once from the column.
    """
    import pandas as pd

    for name in frame.columns:
        if not isinstance(name, str) or not _RESET_INDEX.fullmatch(name):
            continue
        if not pd.api.types.is_integer_dtype(frame[name].dtype):
            continue
        raise InvalidParameterError(
            f"column {name!r} looks like pandas' old row positions, which reset_index() keeps "
            f"as a column: pushed, it would become an attribute {name!r} on every row",
            parameter=name,
            hint=f"drop it (df.drop(columns={name!r}), or reset_index(drop=True) instead of "
            f"reset_index()); to push a column that is really named {name!r}, pass the frame "
            "as Arrow: push_updates(pa.Table.from_pandas(df, preserve_index=False)). Nothing "
            "was sent",
        )
    for position, level in enumerate(frame.index.names):
        if level is None or str(level) not in names:
            continue
        values = frame.index.get_level_values(position)
        if values.equals(pd.Index(frame[level])):
            continue  # set_index(..., drop=False): one field, the column is pushed
        raise InvalidParameterError(
            f"both the index and a column are named {str(level)!r}, and they hold different "
            "values: a push can send only one of them",
            parameter=str(level),
            hint=f"keep one: df.reset_index(drop=True) pushes the column, "
            f"df.drop(columns={str(level)!r}) pushes the index. Nothing was sent",
        )
