"""The documented columns of each endpoint, as polars types, and batch alignment for scans.

A lazy scan must state its schema before the first page arrives, and every batch it yields
must match it. The documented columns (``docs/emulator.md``, the API contract) give names and
types as the decoder produces them (``parse_dates=True``: dates → ``pl.Date``, timestamps →
``pl.Datetime("us")``); a small probe request adds custom metrics a POST created; ``schema=``
overrides win.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
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
    "documented_columns",
    "guessed_columns",
    "report_schema",
    "reps_schema",
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
    would. A custom metric named in ``columns=`` is ``"null"``: only its values could say its
    type, so it is typed as a column that held only nulls is when ``columns=`` is not given
    (outside trial 29, F6: it was text with ``columns=`` and Null without, so two days of the
    same column did not concatenate alike).
    """
    if endpoint == "report":
        kinds = _report_kinds(filters)
    elif endpoint == "reps":
        kinds = dict(_REPS)
    else:
        documented = dict(_CALLS)
        kinds = {n: documented.get(n, "null") for n in _calls_names(filters, [])}
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


def align(
    df: pl.DataFrame,
    schema: Mapping[str, pl.DataType],
    guessed: Collection[str] = (),
    eager: str = "client.calls()",
) -> pl.DataFrame:
    """``df`` with exactly ``schema``'s columns, in its order and of its types.

    Columns a page lacks, or holds as nulls only (typed Null), become nulls of the scan's
    type. Extra columns are dropped. A page's column is cast only where the cast keeps every
    value as the eager fetch would (see :func:`_holds`); otherwise, and for a value that does
    not fit, :class:`converz.DecodeError` is raised rather than a value changed or made null.

    Args:
        df: One page.
        schema: The scan's schema.
        guessed: Columns whose scan type is a guess (:func:`guessed_columns`): text, which
            a page of text fits, and any other page type is refused (the eager fetch would
            type the column by its values).
        eager: The eager call that reads every row, for messages.
    """
    import polars as pl

    # A page whose column is null on every row types it Null; it holds nothing to convert
    # (and the core cannot spell a Null column as text: found by the outside trial).
    present = {n for n in df.columns if df.schema[n] != pl.Null}
    for name in guessed:
        source = df.schema.get(name)
        if name in present and source != pl.String and source is not None:
            raise _guess_refused(name, source, eager)
    texts = _as_text(df, [n for n, t in schema.items() if t == pl.String and n in present])
    exprs: list[pl.Expr | pl.Series] = []
    for name, dtype in schema.items():
        if name not in present:
            # A Series, not a literal: a page of only such columns keeps its height.
            exprs.append(pl.repeat(None, df.height, dtype=dtype, eager=True).alias(name))
        elif name in texts:
            exprs.append(texts[name])
        elif df.schema[name] != dtype:
            source = df.schema[name]
            if not _holds(dtype, source):
                raise _misfit(
                    name,
                    dtype,
                    source,
                    f"column {name} is {source} on a later page, which the scan's {dtype} "
                    f"cannot hold as sent ({eager} widens the column instead)",
                    eager,
                )
            # polars truncates 0.5 to 0 even in a strict cast: refuse fractions instead.
            if source.is_float() and dtype.is_integer() and (df[name] % 1 != 0).any():
                raise _misfit(
                    name, dtype, source, f"column {name} has fractions, declared {dtype}", eager
                )
            # Cast column by column, so a failing cast names its own column. An expression's
            # cast matches struct fields by name (a Series' cast by position).
            try:
                exprs.append(df.select(pl.col(name).cast(dtype, strict=True)).to_series())
            except pl.exceptions.PolarsError as err:
                raise _misfit(name, dtype, source, f"column {name}: {err}", eager) from err
        else:
            exprs.append(pl.col(name))
    return df.select(exprs)


def _as_text(df: pl.DataFrame, names: list[str]) -> dict[str, pl.Series]:
    """The columns ``names`` of ``df`` that are not text, spelled as ``client.calls()`` does.

    That is the text the eager fetch makes of a column that ends as text: the native module's
    rules, one code path for both.

    Found by the outside trial: polars' own cast printed a page's timestamps with ``.000000``
    and floats as ``1e+20``, and a scan pushed back rewrote the server's values.
    """
    import polars as pl

    from converz import _core

    typed = [n for n in names if df.schema[n] != pl.String]
    if not typed:
        return {}
    # The core cannot read a Null array, nor one inside a list or struct (`[]` on every row
    # of a page is List(Null)): those items are null whatever their type, and spelled so.
    columns = [pl.col(n).cast(_no_null(df.schema[n])) for n in typed]
    texts = pl.DataFrame(_core.text_columns(df.select(columns)))
    return {name: texts[name] for name in typed}


def _no_null(dtype: Any) -> Any:
    """``dtype`` with Null, at any depth, made String (a cast that keeps every value)."""
    import polars as pl

    if dtype == pl.Null:
        return pl.String()
    if isinstance(dtype, pl.List):
        return pl.List(_no_null(dtype.inner))
    if isinstance(dtype, pl.Array):
        return pl.Array(_no_null(dtype.inner), dtype.shape)
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: _no_null(f.dtype) for f in dtype.fields})
    return dtype


def _holds(target: pl.DataType, source: pl.DataType) -> bool:
    """Whether the probe's ``target`` type takes a page's ``source`` column unchanged.

    That is where inference would have kept ``target`` over both (integers in floats, anything
    in text), and, for nested types, where every list item and struct field fits the same way
    (:func:`_nested_holds`). Dates beside timestamps are text in the eager fetch (a timestamp
    would write a date back with a midnight time), so neither holds the other.

    Found by the outside trial: a timestamp cast into the probe's Date lost its time, a text
    ``"7"`` became 7 and ``"1e400"`` infinity, each where ``calls()`` widens the column.
    """
    import polars as pl

    if source == pl.Null or target == pl.String:
        return True
    if source.is_integer() and target.is_float():
        return True
    return _nested_holds(target, source) if target.is_nested() or source.is_nested() else False


def _nested_holds(target: Any, source: Any) -> bool:
    """:func:`_holds` inside lists and structs, where text does not hold other values.

    (``Any``: an inner type may be a polars type class, ``pl.Int64``, as well as an instance.)

    Found by the outside trial: polars' cast, strict or not, cut ``[151.5]`` to ``[151]``
    and dropped a struct field the probe had not seen, where ``calls()`` widens the column.
    Inside a nested value the eager fetch's spelling of a number as text is not known here,
    so text holds only text.
    """
    import polars as pl

    if source == target or source == pl.Null:
        return True
    if source.is_integer() and target.is_float():
        return True
    if isinstance(target, pl.List) and isinstance(source, pl.List):
        return _nested_holds(target.inner, source.inner)
    if isinstance(target, pl.Array) and isinstance(source, pl.Array):
        return target.shape == source.shape and _nested_holds(target.inner, source.inner)
    if isinstance(target, pl.Struct) and isinstance(source, pl.Struct):
        # Fields the page lacks are null; a field only the page has would be dropped.
        fields = {f.name: f.dtype for f in target.fields}
        return all(
            f.name in fields and _nested_holds(fields[f.name], f.dtype) for f in source.fields
        )
    return False


def _misfit(
    name: str, target: pl.DataType, source: pl.DataType, why: str, eager: str
) -> DecodeError:
    """The error for column ``name``, whose page type ``source`` the scan's ``target`` lacks.

    The hint names that column and a type that holds both (found by the outside trial: it
    always named ``qa_score``, whatever the column), or, for two lists or structs, whose
    widened type ``schema=`` cannot give, the eager fetch, which reads every row before it
    types a column.
    """
    holding = _holding(target, source)
    return DecodeError(
        f"a page does not fit the scan's schema: {why}", hint=_fix(name, holding, eager)
    )


def _guess_refused(name: str, source: pl.DataType, eager: str) -> DecodeError:
    """The error for a column the probe saw no value of, which a later page types ``source``.

    Found by the outside trial: the scan typed it as text and returned ``'151'``,
    ``'[151]'``, ``'{"a":151}'`` where ``calls()`` gives a number, a list, a struct.
    """
    from converz._schema_types import resolve_type

    try:
        kind: Optional[str] = resolve_type(name, source).name
    except InvalidParameterError:  # a list or struct: schema= takes no nested type
        kind = None
    return DecodeError(
        f"a page does not fit the scan's schema: column {name} was null or absent on every "
        "row the scan's schema was probed on, so the scan typed it as text, but a later page "
        f"holds {source} values ({eager} types the column by its values)",
        hint=_fix(name, kind, eager),
    )


def _fix(name: str, kind: Optional[str], eager: str) -> str:
    """What the user does about column ``name``: declare ``kind``, or read eagerly."""
    if kind is None:
        return (
            f"read it with {eager}, which types the column from every row (schema= takes no "
            f"list or struct type), or leave {name!r} out of the scan's select()"
        )
    return (
        f"declare the column's type with schema=, e.g. schema={{{name!r}: {kind!r}}}, "
        f"or read it with {eager}"
    )


def guessed_columns(
    endpoint: str,
    schema: Mapping[str, pl.DataType],
    probe: Optional[pl.Schema],
    overrides: Optional[Mapping[str, Any]],
) -> frozenset[str]:
    """The columns of a scan's ``schema`` whose type (text) is a guess.

    Those are the custom columns the probe saw no value of (null on its rows, or named by
    ``columns=`` and absent) and ``schema=`` does not type: a documented column has its
    documented type, a probed one the type of its values.
    """
    import polars as pl

    documented = dict(_REPS if endpoint == "reps" else _CALLS)
    probed = dict(probe or {})
    return frozenset(
        name
        for name in schema
        if name not in documented
        and name not in (overrides or {})
        and probed.get(name, pl.Null) == pl.Null
    )


def _holding(target: pl.DataType, source: pl.DataType) -> Optional[str]:
    """The ``schema=`` type that holds a column of both types, as the eager fetch widens them.

    Numbers as float64, anything else (dates beside timestamps too) as text, a list or struct
    beside plain values too (each kept as its JSON text, as the eager fetch keeps such a
    column); None when both are lists or structs, whose widened type ``schema=`` cannot give.
    """
    if target.is_nested() and source.is_nested():
        return None
    if target.is_numeric() and source.is_numeric():
        return "float64"
    return "str"


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
