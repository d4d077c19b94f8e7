"""The documented columns of each endpoint, as polars types, and batch alignment for scans.

A lazy scan must state its schema before the first page arrives, and every batch it yields
must match it. The documented columns (``docs/emulator.md``, the API contract) give names and
types as the decoder produces them (``parse_dates=True``: dates → ``pl.Date``, timestamps →
``pl.Datetime("us")``); a small probe request adds custom metrics a POST created; ``schema=``
overrides win.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from converz.exceptions import DecodeError, InvalidParameterError

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "CALL_KEY",
    "REP_KEY",
    "SCHEMA_TYPES",
    "align",
    "as_list",
    "calls_schema",
    "check_key_type",
    "check_schema",
    "documented_columns",
    "override_types",
    "report_schema",
    "reps_schema",
    "resolve_type",
    "schema_type_names",
    "unknown_schema_keys",
    "unseen_schema_warnings",
]

CALL_KEY = "call_id"
REP_KEY = "rep_id"

# Kinds, mapped to polars types in `_dtype` (polars is imported only when a scan runs).
_CALLS: tuple[tuple[str, str], ...] = (
    ("call_id", "int"),
    ("vendor_call_id", "str"),
    ("rep_id", "str"),
    ("vendor", "str"),
    ("campaign", "str"),
    ("subcampaign", "str"),
    ("department", "str"),
    ("start_time", "datetime"),
    ("end_time", "datetime"),
    ("date", "date"),
    ("duration", "int"),
    ("talk_time", "int"),
    ("hold_time", "int"),
    ("silence_time", "int"),
    ("sentiment", "float"),
    ("words_rep", "int"),
    ("words_customer", "int"),
    ("topic", "str"),
    ("outcome", "str"),
    ("summary", "str"),
)
# `metric=` keeps only the listed ones of these (and of custom metrics); other columns stay.
_CALL_METRICS = frozenset(
    (
        "duration",
        "talk_time",
        "hold_time",
        "silence_time",
        "sentiment",
        "words_rep",
        "words_customer",
    )
)
_REPS: tuple[tuple[str, str], ...] = (
    ("rep_id", "str"),
    ("name", "str"),
    ("gender", "str"),
    ("vendor", "str"),
    ("campaign", "str"),
    ("subcampaign", "str"),
    ("department", "str"),
    ("team", "str"),
    ("active", "int"),
    ("start_date", "date"),
)
_REPORT_GROUPS = {
    "date": "date",
    "week": "int",
    "month": "int",
    "quarter": "int",
    "year": "int",
    "half": "int",
    "rep_id": "str",
    "vendor": "str",
    "campaign": "str",
    "subcampaign": "str",
    "department": "str",
}
_REPORT_METRICS = {
    "n_calls": "int",
    "duration": "int",
    "avg_duration": "float",
    "talk_time": "int",
    "hold_time": "int",
    "silence_time": "int",
    "avg_sentiment": "float",
    "words": "int",
    "logins": "int",
    "active_minutes": "int",
    "avg_active_minutes": "float",
    "tickets_handled": "int",
}
_REPORT_DEFAULT_METRICS = ("n_calls", "duration", "avg_duration", "avg_sentiment")


def _dtype(kind: str, parse_dates: bool) -> pl.DataType:
    import polars as pl

    if kind in ("date", "datetime") and not parse_dates:
        return pl.String()
    return {
        "int": pl.Int64(),
        "float": pl.Float64(),
        "str": pl.String(),
        "date": pl.Date(),
        "datetime": pl.Datetime("us"),
    }[kind]


def as_list(value: Any) -> list[str]:
    """A filter value (one string, or a sequence) as a list of strings; None is empty."""
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [str(value)]
    return [str(v) for v in value]


def calls_schema(
    filters: Mapping[str, Any],
    probe: Optional[pl.Schema],
    parse_dates: bool,
    overrides: Optional[Mapping[str, pl.DataType]] = None,
) -> dict[str, pl.DataType]:
    """The columns a ``/calls`` query returns, in order, with their types.

    Args:
        filters: The query's keyword arguments (``columns`` and ``metric`` shape the result).
        probe: The schema of a small first page fetched with the same query and ``schema=``
            overrides (it names custom metrics and carries the overridden types), if any.
        parse_dates: As in the fetch.
        overrides: ``schema=`` as polars types (:func:`override_types`): they type their
            columns when the probe found no rows, and a custom column they declare is in the
            result even if the probe's rows lack it (the caller says it exists).
    """
    documented = {name: _dtype(kind, parse_dates) for name, kind in _CALLS}
    probed = _with_overrides(probe, overrides)
    custom = [name for name in probed if name not in documented]
    return _typed(_calls_names(filters, custom), documented, probed)


def _with_overrides(
    probe: Optional[pl.Schema], overrides: Optional[Mapping[str, pl.DataType]]
) -> dict[str, pl.DataType]:
    """The probe's types, then those ``schema=`` gives to columns the probe did not see."""
    probed = dict(probe or {})
    return {**probed, **{n: t for n, t in (overrides or {}).items() if n not in probed}}


def _calls_names(filters: Mapping[str, Any], custom: list[str]) -> list[str]:
    documented = dict(_CALLS)
    names = as_list(filters.get("columns")) or [*documented, *custom]
    metrics = set(as_list(filters.get("metric")))
    if metrics:
        # Every non-documented column is a POSTed attribute, which the API counts as a metric.
        names = [n for n in names if n in metrics or (n in documented and n not in _CALL_METRICS)]
    return names


def reps_schema(
    probe: Optional[pl.Schema],
    parse_dates: bool,
    overrides: Optional[Mapping[str, pl.DataType]] = None,
) -> dict[str, pl.DataType]:
    """The columns ``/reps`` returns: the documented ones, then attributes.

    Attributes are those a POST added (the probe's) or ``overrides`` declared; see
    :func:`calls_schema`.
    """
    documented = {name: _dtype(kind, parse_dates) for name, kind in _REPS}
    probed = _with_overrides(probe, overrides)
    names = [*documented, *(n for n in probed if n not in documented)]
    return _typed(names, documented, probed)


def report_schema(
    filters: Mapping[str, Any], overrides: Optional[Mapping[str, Any]], parse_dates: bool
) -> dict[str, pl.DataType]:
    """The columns ``/report`` returns: the group columns, then the metrics.

    ``week``, ``month`` and ``quarter`` bring ``year`` just before them unless ``year`` is
    grouped too. A metric outside the documented catalogue is typed ``Float64`` (sums and
    means may be fractional); ``schema=`` overrides win.
    """
    documented = {n: _dtype(kind, parse_dates) for n, kind in _report_kinds(filters).items()}
    return _typed(documented, documented, dict(overrides or {}))


def _report_kinds(filters: Mapping[str, Any]) -> dict[str, str]:
    groupby = as_list(filters.get("groupby"))
    names: list[str] = []
    for group in groupby:
        if group in ("week", "month", "quarter") and "year" not in names + groupby:
            names.append("year")
        if group not in names:
            names.append(group)
    metrics = as_list(filters.get("metric")) or list(_REPORT_DEFAULT_METRICS)
    names += [m for m in dict.fromkeys(metrics) if m not in names]
    kinds = {**_REPORT_GROUPS, **_REPORT_METRICS}
    return {n: kinds.get(n, "float") for n in names}


def documented_columns(
    endpoint: str, filters: Mapping[str, Any], parse_dates: bool
) -> dict[str, str]:
    """The documented columns a query returns, as type names the core reads (``"int"``).

    What a fetch that found no rows holds, so the empty result has the columns a full one
    would (custom metrics, which only rows reveal, are typed text when named in ``columns=``).
    """
    if endpoint == "report":
        kinds = _report_kinds(filters)
    elif endpoint == "reps":
        kinds = dict(_REPS)
    else:
        documented = dict(_CALLS)
        kinds = {n: documented.get(n, "str") for n in _calls_names(filters, [])}
    if not parse_dates:
        kinds = {n: "str" if k in ("date", "datetime") else k for n, k in kinds.items()}
    return kinds


def _typed(
    names: Iterable[str], documented: Mapping[str, Any], probed: Mapping[str, Any]
) -> dict[str, pl.DataType]:
    import polars as pl

    schema: dict[str, pl.DataType] = {}
    for name in names:
        dtype = probed.get(name)
        # A probe sees a few rows only: a column null on all of them says nothing about its type.
        if dtype is None or dtype == pl.Null:
            dtype = documented.get(name, pl.String())
        schema[name] = dtype
    return schema


def align(df: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``df`` with exactly ``schema``'s columns, in its order and of its types.

    Columns a page lacks become nulls; extra columns are dropped. Casts are strict: a value
    that does not fit the declared type raises :class:`converz.DecodeError` rather than
    becoming null.
    """
    import polars as pl

    exprs = []
    for name, dtype in schema.items():
        if name not in df.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        elif df.schema[name] != dtype:
            source = df.schema[name]
            # polars truncates 0.5 to 0 even in a strict cast: refuse fractions instead.
            if source.is_float() and dtype.is_integer() and (df[name] % 1 != 0).any():
                raise _misfit(f"column {name} has fractions, declared {dtype}")
            exprs.append(pl.col(name).cast(dtype, strict=True))
        else:
            exprs.append(pl.col(name))
    try:
        return df.select(exprs)
    except pl.exceptions.PolarsError as err:
        raise _misfit(str(err)) from err


def _misfit(why: str) -> DecodeError:
    return DecodeError(
        f"a page does not fit the scan's schema: {why}",
        hint="declare the column's type with schema=, e.g. schema={'qa_score': 'float64'}",
    )


@dataclass(frozen=True)
class SchemaType:
    """One type ``schema=`` takes, and every spelling of it.

    Attributes:
        name: The canonical spelling (pyarrow's name of the type).
        core: The name the Rust core parses (arrow-rs's ``DataType`` syntax).
        polars: The polars type's constructor name and arguments, for scans.
        spellings: Other spellings, matched like ``name`` (case and spaces ignored).
    """

    name: str
    core: str
    polars: tuple[str, ...]
    spellings: tuple[str, ...] = ()


def _timestamps() -> tuple[SchemaType, ...]:
    units: tuple[tuple[str, str, tuple[str, ...]], ...] = (
        ("s", "Second", ()),
        ("ms", "Millisecond", ()),
        ("us", "Microsecond", ("µs", "μs")),
        ("ns", "Nanosecond", ()),
    )
    types = []
    for unit, word, micro in units:
        # "datetime[ms]" is how polars heads a frame's column; "Timestamp(ms)" arrow-rs's
        # Display; "Datetime(time_unit='ms', time_zone=None)" polars' str of the type.
        spellings = [f"datetime[{unit}]", f"timestamp({unit})", f"timestamp({word}, None)"]
        if unit != "s":  # polars has no seconds: its scans hold them as milliseconds
            spellings.append(f"Datetime(time_unit='{unit}', time_zone=None)")
        for alias in micro:
            spellings += [f"timestamp[{alias}]", f"datetime[{alias}]", f"timestamp({alias})"]
        if unit == "us":
            # What inference gives, and what the bare words meant before units were taken.
            spellings += ["timestamp", "datetime"]
        core = f"Timestamp({word}, None)"
        polars = ("Datetime", "ms" if unit == "s" else unit)
        types.append(SchemaType(f"timestamp[{unit}]", core, polars, tuple(spellings)))
    return tuple(types)


# Every type the decoder fills exactly from JSON rows. Spellings come from pyarrow
# (`str(pa.int8())` and `pa.type_for_alias`'s names), polars (`"Int8"`, and the "i8"/"u8"/"f64"
# of its frame headers), arrow-rs ("LargeUtf8", "Timestamp(Millisecond, None)") and Python
# ("int", "float", "str"). Sizes are always bits: "i8" is Int8, as polars and Rust write it
# (numpy's byte codes, where "i8" is int64, would clash, so none of them is taken), and
# "float" is Python's float, float64 (pyarrow names float32 "float"; say "float32").
# Not taken: types arrow-json would fill lossily or that the data never holds (float16,
# decimals, time zones, durations, binary, nested types).
SCHEMA_TYPES: tuple[SchemaType, ...] = (
    SchemaType("int8", "Int8", ("Int8",), ("i8",)),
    SchemaType("int16", "Int16", ("Int16",), ("i16",)),
    SchemaType("int32", "Int32", ("Int32",), ("i32",)),
    SchemaType("int64", "Int64", ("Int64",), ("i64", "int")),
    SchemaType("uint8", "UInt8", ("UInt8",), ("u8",)),
    SchemaType("uint16", "UInt16", ("UInt16",), ("u16",)),
    SchemaType("uint32", "UInt32", ("UInt32",), ("u32",)),
    SchemaType("uint64", "UInt64", ("UInt64",), ("u64",)),
    SchemaType("float32", "Float32", ("Float32",), ("f32",)),
    SchemaType("float64", "Float64", ("Float64",), ("f64", "double", "float")),
    SchemaType("string", "Utf8", ("String",), ("str", "utf8")),
    SchemaType("large_string", "LargeUtf8", ("String",), ("large_str", "large_utf8")),
    SchemaType("string_view", "Utf8View", ("String",), ("utf8_view",)),
    SchemaType("bool", "Boolean", ("Boolean",), ("boolean",)),
    SchemaType("date32", "Date32", ("Date",), ("date", "date32[day]")),
    *_timestamps(),
)


def _key(spelling: str) -> str:
    return "".join(spelling.split()).lower()


_BY_SPELLING: dict[str, SchemaType] = {
    _key(spelling): t for t in SCHEMA_TYPES for spelling in (t.name, t.core, *t.spellings)
}


def schema_type_names() -> str:
    """The canonical type names ``schema=`` takes, for messages and docs."""
    return ", ".join(t.name for t in SCHEMA_TYPES)


def resolve_type(column: str, given: Any, *, names_only: bool = False) -> SchemaType:
    """The type ``schema[column]`` names: a spelling, or a Python, pyarrow or polars type.

    Raises:
        InvalidParameterError: Anything else, listing what is taken (``parameter="schema"``).
    """
    if isinstance(given, str):
        found = _BY_SPELLING.get(_key(given))
        if found is not None:
            return found
        bytes_code = _NUMPY_CODES.get(_key(given))
        if bytes_code is not None:
            also = f" (did you mean {bytes_code!r}? sizes here are in bits, as polars says i8)"
        else:
            close = difflib.get_close_matches(_key(given), _BY_SPELLING, n=1)
            also = f" (did you mean {_BY_SPELLING[close[0]].name!r}?)" if close else ""
        raise _unknown_type(column, f"{given!r}{also}")
    if names_only:
        raise InvalidParameterError(
            f"schema[{column!r}] must be a type name such as 'float64', not {given!r}",
            parameter="schema",
        )
    spelled = _object_spelling(given)
    found = _BY_SPELLING.get(_key(spelled)) if spelled is not None else None
    if found is None:
        raise _unknown_type(column, repr(given))
    return found


# Python's own types, as their words spell them ("int" is int64, "datetime" timestamp[us]).
_PYTHON_TYPES: dict[type, str] = {
    bool: "bool",
    int: "int64",
    float: "float64",
    str: "string",
    _dt.date: "date32",
    _dt.datetime: "timestamp[us]",
}


def _object_spelling(given: Any) -> Optional[str]:
    """How a type object spells its type.

    One of Python's (``int``), a pyarrow, Arrow (C schema) or polars type; else None.
    """
    if isinstance(given, type) and given in _PYTHON_TYPES:
        return _PYTHON_TYPES[given]
    polars = sys.modules.get("polars")
    if polars is not None:
        is_class = isinstance(given, type) and issubclass(given, polars.DataType)
        if is_class or isinstance(given, polars.DataType):
            # str(pl.Int8()) is "Int8"; pl.Datetime (the class) means microseconds.
            try:
                return str(given() if is_class else given)
            except TypeError:  # a class that needs arguments (pl.List): not a type taken
                return None
    if not hasattr(given, "__arrow_c_schema__"):
        return None
    try:
        import pyarrow as pa
    except ImportError:
        return None
    if not isinstance(given, pa.DataType):
        try:  # another Arrow library's type (arro3, nanoarrow): read through the C interface
            given = pa.DataType._import_from_c_capsule(given.__arrow_c_schema__())
        except Exception:
            return None
    # pyarrow names float32 "float", which as a word here means float64.
    return "float32" if given == pa.float32() else str(given)


# numpy's byte-size codes (pyarrow's aliases), refused with the type they mean: "i8" is int8.
_NUMPY_CODES = {"i1": "int8", "i2": "int16", "i4": "int32", "u1": "uint8", "u2": "uint16"}
_NUMPY_CODES.update({"u4": "uint32", "f4": "float32", "f8": "float64"})


def _unknown_type(column: str, what: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"schema[{column!r}]: {what} is not a type schema= takes; it takes "
        f"{schema_type_names()} (each also as polars and arrow-rs spell it, or as a pyarrow or "
        "polars type)",
        parameter="schema",
        hint="e.g. schema={'qa_score': 'float64'}; the README's section on schema= lists "
        "every spelling",
    )


def check_schema(schema: Any, *, names_only: bool = False) -> dict[str, str]:
    """The ``schema=`` argument of every reader, checked: column names to core type names.

    Args:
        schema: None (no overrides) or a mapping of column names to types: a spelling of a
            type in :data:`SCHEMA_TYPES` (``"float64"``, ``"i8"``, ``"timestamp[ms]"``), or a
            pyarrow or polars type of one (``pa.int8()``, ``pl.Datetime("ms")``).
        names_only: Only type names are taken (the engines' readers).

    Returns:
        A new dict of the overrides (empty for None), each type as the name the core parses
        (itself a spelling: checking the result again gives it back).

    Raises:
        InvalidParameterError: ``schema`` is not such a mapping, or names a type it does not
            take (``parameter="schema"``); the message lists the types taken.
    """
    example = "e.g. schema={'qa_score': 'float64'}"
    if schema is None:
        return {}
    if not isinstance(schema, Mapping):
        raise InvalidParameterError(
            f"schema must map column names to types, {example}; got a {type(schema).__name__}",
            parameter="schema",
        )
    checked: dict[str, str] = {}
    for name, kind in schema.items():
        if not isinstance(name, str):
            raise InvalidParameterError(
                f"schema's keys are column names (strings), not {name!r}", parameter="schema"
            )
        checked[name] = resolve_type(name, kind, names_only=names_only).core
    return checked


def override_types(schema: Optional[Mapping[str, Any]]) -> Optional[dict[str, pl.DataType]]:
    """``schema=`` as polars types, for a scan that has no probe to learn them from."""
    overrides = check_schema(schema)
    if not overrides:
        return None
    import polars as pl

    types: dict[str, pl.DataType] = {}
    for column, core in overrides.items():
        constructor, *args = _BY_SPELLING[_key(core)].polars
        types[column] = getattr(pl, constructor)(*args)
    return types


# The types a listing's key may be forced to: each keeps every id distinct. A float would
# round distinct large ids onto one (16777217 is 16777216 in float32), and the listing would
# then drop the second call as a repeat.
_KEY_TYPES = ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64")
_KEY_TEXT_TYPES = ("Utf8", "LargeUtf8", "Utf8View")


def check_key_type(endpoint: str, schema: Mapping[str, str]) -> None:
    """Refuses a ``schema=`` type for the listing's key that could merge distinct ids.

    Args:
        endpoint: ``"calls"``, ``"reps"`` or ``"report"``.
        schema: The checked overrides (:func:`check_schema`'s core names).

    Raises:
        InvalidParameterError: ``call_id`` or ``rep_id`` forced to a type other than an integer
            or text type.
    """
    key = {"calls": "call_id", "reps": "rep_id"}.get(endpoint)
    if key is None or key not in schema:
        return
    if schema[key] not in _KEY_TYPES + _KEY_TEXT_TYPES:
        raise InvalidParameterError(
            f"schema gives {key!r}, the key that keeps each row once, the type {schema[key]}, "
            "which could make distinct ids equal (a float rounds large ids) and drop rows as "
            "repeats",
            parameter="schema",
            hint=f"give {key!r} an integer or text type, e.g. schema={{{key!r}: 'int64'}}, "
            "and cast it after the fetch",
        )


def unknown_schema_keys(
    endpoint: str, filters: Mapping[str, Any], schema: Optional[Mapping[str, Any]]
) -> list[str]:
    """The ``schema=`` keys a query may not return, checked before the request.

    ``/report`` returns exactly its group and metric columns, so a key that is none of them
    is refused here. ``/calls`` and ``/reps`` may also return custom attribute columns (the
    API contract: a POST creates them, and nothing lists them), so a key that is not a
    documented column is only known after the fetch: those keys are returned, for
    :func:`unseen_schema_warnings`.

    Raises:
        InvalidParameterError: A ``/report`` key that is not one of its columns, with the
            closest column name.
    """
    keys = list(schema or {})
    if endpoint == "report":
        columns = _report_kinds(filters)
        for key in keys:
            if key not in columns:
                raise InvalidParameterError(
                    f"schema names {key!r}, which this report does not return "
                    f"(its columns: {', '.join(columns)}){_did_you_mean(key, columns)}",
                    parameter="schema",
                )
        return []
    documented = dict(_REPS if endpoint == "reps" else _CALLS)
    named = {*as_list(filters.get("columns")), *as_list(filters.get("metric"))}
    return [key for key in keys if key not in documented and key not in named]


def unseen_schema_warnings(
    endpoint: str, filters: Mapping[str, Any], unknown: Iterable[str], columns: Iterable[str]
) -> list[str]:
    """A warning for each ``schema=`` key that is neither documented nor in the fetched data.

    A warning, not an error: a custom column can be missing from a result and still exist
    (an empty date range, rows where it was never set), so a key the data lacks may be right;
    raising would throw away a whole fetch, and make one ``schema=`` dict unusable across
    queries. The warning names the closest column, so a typo is found. When ``columns=`` or
    ``metric=`` selected the result, an unselected custom column cannot be in it: then only a
    key close to a column fetched is warned of (``"duraton"`` beside ``duration``).
    """
    seen = list(columns)
    selected = bool(as_list(filters.get("columns")) or as_list(filters.get("metric")))
    documented = [n for n, _ in (_REPS if endpoint == "reps" else _CALLS)]
    candidates = list(dict.fromkeys([*seen, *documented]))
    warnings = []
    for key in unknown:
        if key in seen:
            continue
        close = _did_you_mean(key, seen if selected else candidates)
        if selected and not close:
            continue
        warnings.append(
            f"schema names {key!r}, which is not a documented column of /{endpoint} and is not "
            f"in the data fetched; its type was not applied{close}"
        )
    return warnings


def _did_you_mean(key: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(candidates), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
