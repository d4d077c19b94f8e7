"""The documented columns of each endpoint, as polars types, and batch alignment for scans.

A lazy scan must state its schema before the first page arrives, and every batch it yields
must match it. The documented columns (``docs/emulator.md``, the API contract) give names and
types as the decoder produces them (``parse_dates=True``: dates → ``pl.Date``, timestamps →
``pl.Datetime("us")``); a small probe request adds custom metrics a POST created; ``schema=``
overrides win.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Optional

from converz.exceptions import DecodeError, InvalidParameterError

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "CALL_KEY",
    "REP_KEY",
    "align",
    "as_list",
    "calls_schema",
    "check_schema",
    "documented_columns",
    "override_types",
    "report_schema",
    "reps_schema",
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
    filters: Mapping[str, Any], probe: Optional[pl.Schema], parse_dates: bool
) -> dict[str, pl.DataType]:
    """The columns a ``/calls`` query returns, in order, with their types.

    Args:
        filters: The query's keyword arguments (``columns`` and ``metric`` shape the result).
        probe: The schema of a small first page fetched with the same query and ``schema=``
            overrides (it names custom metrics and carries the overridden types), if any.
        parse_dates: As in the fetch.
    """
    documented = {name: _dtype(kind, parse_dates) for name, kind in _CALLS}
    probed = dict(probe or {})
    custom = [name for name in probed if name not in documented]
    return _typed(_calls_names(filters, custom), documented, probed)


def _calls_names(filters: Mapping[str, Any], custom: list[str]) -> list[str]:
    documented = dict(_CALLS)
    names = as_list(filters.get("columns")) or [*documented, *custom]
    metrics = set(as_list(filters.get("metric")))
    if metrics:
        # Every non-documented column is a POSTed attribute, which the API counts as a metric.
        names = [n for n in names if n in metrics or (n in documented and n not in _CALL_METRICS)]
    return names


def reps_schema(probe: Optional[pl.Schema], parse_dates: bool) -> dict[str, pl.DataType]:
    """The columns ``/reps`` returns: the documented ones, then attributes a POST added."""
    documented = {name: _dtype(kind, parse_dates) for name, kind in _REPS}
    probed = dict(probe or {})
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


def check_schema(schema: Any, *, names_only: bool = False) -> dict[str, Any]:
    """The ``schema=`` argument of every reader, checked: column names to types.

    Args:
        schema: None (no overrides) or a mapping of column names to type names (``"float64"``)
            or, where Arrow types are taken, Arrow type objects.
        names_only: Only type names are taken (the engines' readers).

    Returns:
        A new dict of the overrides (empty for None).

    Raises:
        InvalidParameterError: ``schema`` is not such a mapping (``parameter="schema"``).
    """
    example = "e.g. schema={'qa_score': 'float64'}"
    if schema is None:
        return {}
    if not isinstance(schema, Mapping):
        raise InvalidParameterError(
            f"schema must map column names to types, {example}; got a {type(schema).__name__}",
            parameter="schema",
        )
    for name, kind in schema.items():
        if not isinstance(name, str):
            raise InvalidParameterError(
                f"schema's keys are column names (strings), not {name!r}", parameter="schema"
            )
        if names_only and not isinstance(kind, str):
            raise InvalidParameterError(
                f"schema[{name!r}] must be a type name such as 'float64', not {kind!r}",
                parameter="schema",
            )
    return dict(schema)


def override_types(schema: Optional[dict[str, Any]]) -> Optional[dict[str, pl.DataType]]:
    """``schema=`` as polars types, for a scan that has no probe to learn them from.

    Takes what the core takes: the type names it knows, or Arrow type objects (through
    pyarrow); anything else is left to the core to refuse when the request is made.
    """
    overrides = check_schema(schema)
    if not overrides:
        return None
    import polars as pl

    names: dict[str, pl.DataType] = {}
    for aliases, dtype in (
        (("int", "int64", "i64"), pl.Int64()),
        (("int32", "i32"), pl.Int32()),
        (("float", "float64", "f64", "double"), pl.Float64()),
        (("float32", "f32"), pl.Float32()),
        (("str", "string", "utf8"), pl.String()),
        (("bool", "boolean"), pl.Boolean()),
        (("date", "date32"), pl.Date()),
        (("datetime", "timestamp"), pl.Datetime("us")),
    ):
        names.update(dict.fromkeys(aliases, dtype))
    types: dict[str, pl.DataType] = {}
    for column, given in overrides.items():
        if isinstance(given, str):
            if given.lower() in names:
                types[column] = names[given.lower()]
            continue
        try:
            import pyarrow as pa

            types[column] = pl.from_arrow(pa.array([], type=given)).dtype  # type: ignore[union-attr]
        except Exception:  # not an Arrow type: the core refuses it with a clear error
            continue
    return types
