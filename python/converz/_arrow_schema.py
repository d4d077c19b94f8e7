"""The documented columns of calls and reps as Arrow types, for engines that need them first.

A cluster engine (Dask ``meta``, a Spark schema, a Ray read task) must know the columns before
any row is fetched, and every partition must come back with exactly those columns, even one
with no rows (the API then sends no columns at all). The types are what ``client.calls()``
gives with ``parse_dates=True`` (docs/emulator.md § The data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from converz import _schema, _schema_types
from converz.exceptions import DecodeError, InvalidParameterError

if TYPE_CHECKING:
    import pyarrow

__all__ = [
    "CALL_COLUMNS",
    "METRIC_COLUMNS",
    "REP_COLUMNS",
    "arrow_schema",
    "conform",
    "misspelt_warnings",
    "undeclared_warning",
]

# The column lists are the scans' (`converz._schema`); kinds there are int/float/str/date/datetime.
CALL_COLUMNS: tuple[tuple[str, str], ...] = _schema._CALLS
METRIC_COLUMNS = _schema._CALL_METRICS
REP_COLUMNS: tuple[tuple[str, str], ...] = _schema._REPS


def _arrow_type(column: str, name: str) -> Any:
    """The pyarrow type of ``name``, a spelling ``schema=`` takes.

    The documented kinds (``"int"``, ``"datetime"``) are among the spellings.
    """
    import pyarrow as pa

    chosen = _schema_types.resolve_type(column, name, names_only=True).name
    try:
        return pa.type_for_alias(chosen)
    except ValueError as err:  # string_view needs pyarrow 16; the extras allow 14
        raise InvalidParameterError(
            f"schema[{column!r}]: pyarrow {pa.__version__} has no {chosen} type",
            parameter="schema",
            hint="upgrade pyarrow (pip install -U pyarrow) or choose another type",
        ) from err


def _selected(
    known: Sequence[tuple[str, str]], columns: Sequence[str], metric: Sequence[str]
) -> list[tuple[str, str]]:
    """The columns the API returns for ``columns=`` / ``metric=``, in its order."""
    if columns:
        wanted = set(columns)
        kept = [(n, t) for n, t in known if n in wanted]
        return kept + [(n, "") for n in columns if n not in dict(known)]
    if metric:
        kept = [(n, t) for n, t in known if n not in METRIC_COLUMNS or n in metric]
        return kept + [(n, "") for n in metric if n not in dict(known)]
    return list(known)


def arrow_schema(
    endpoint: str,
    *,
    columns: Sequence[str] = (),
    metric: Sequence[str] = (),
    schema: Mapping[str, str] | None = None,
) -> pyarrow.Schema:
    """The Arrow schema of a calls or reps query.

    Args:
        endpoint: ``"calls"`` or ``"reps"``.
        columns: The query's ``columns=`` (only these columns).
        metric: The query's ``metric=`` (these metric columns; custom ones included).
        schema: Types of custom columns (attributes added by a push), and overrides of the
            documented ones, e.g. ``{"qa_score": "float64"}``.

    Raises:
        InvalidParameterError: A custom column is named without a type in ``schema``.
    """
    import pyarrow as pa

    known = CALL_COLUMNS if endpoint == "calls" else REP_COLUMNS
    overrides = dict(schema or {})
    fields = []
    for name, type_name in _selected(known, columns, metric):
        chosen = overrides.get(name, type_name)
        if not chosen:
            raise InvalidParameterError(
                f"the type of custom column {name!r} is not known before fetching",
                parameter="schema",
                hint=f"pass schema={{{name!r}: 'float64'}} (or its type)",
            )
        fields.append(pa.field(name, _arrow_type(name, chosen)))
    if not columns and not metric:
        # Without a selection the API returns pushed attributes too: those typed here are kept.
        names = {f.name for f in fields}
        fields += [pa.field(n, _arrow_type(n, t)) for n, t in overrides.items() if n not in names]
    return pa.schema(fields)


def misspelt_warnings(endpoint: str, schema: Mapping[str, str] | None) -> list[str]:
    """A warning for each ``schema=`` key that looks like a misspelt documented column.

    An engine takes every key that is not documented as a custom column, which it must, since
    it cannot see the data first: a typo (``"duraton"``) becomes a column of nulls beside the
    column meant. So a key close to a documented name is warned of, on the driver.
    """
    known = [name for name, _ in (CALL_COLUMNS if endpoint == "calls" else REP_COLUMNS)]
    warnings = []
    for key in schema or {}:
        close = "" if key in known else _schema._did_you_mean(key, known)
        if close:
            warnings.append(
                f"schema names {key!r}, which is not a documented column of /{endpoint}: it is "
                f"taken as a custom column, null wherever the data lacks it{close}"
            )
    return warnings


def undeclared_warning(label: str, table: Any, schema: pyarrow.Schema) -> str | None:
    """The warning for columns a partition returned that ``schema`` lacks, or None.

    Those are custom columns (attributes a push added) that ``schema=`` did not declare. An
    engine fixes every partition's columns before any is fetched, so :func:`conform` leaves
    them out; this says so, naming them and the ``schema=`` that keeps them (with the types
    this partition inferred).
    """
    extra = [field for field in table.schema if field.name not in schema.names]
    if not extra:
        return None
    names = ", ".join(repr(field.name) for field in extra)
    declare = ", ".join(f"{field.name!r}: {_type_name(field.type)!r}" for field in extra)
    return (
        f"{label}: the API returned custom column(s) {names} that schema= does not declare; "
        f"they are left out, since every partition must have the columns planned before any "
        f"was fetched: declare them to keep them, e.g. schema={{{declare}}}"
    )


def _type_name(arrow_type: Any) -> str:
    """How ``schema=`` spells ``arrow_type`` (an inferred type), or ``"string"``."""
    try:
        return _schema_types.resolve_type("", arrow_type).name
    except InvalidParameterError:  # a nested value: text holds anything
        return "string"


def conform(table: Any, schema: pyarrow.Schema, label: str = "") -> pyarrow.Table:
    """Give one partition's table exactly ``schema``: missing columns as nulls, types cast.

    Columns the schema does not name (attributes pushed later, not declared) are left out;
    :func:`undeclared_warning` says which. ``label`` names the partition in errors.

    Raises:
        DecodeError: A column's values do not fit the type the plan gives it (a documented
            column the server sent as text, say), naming the column and the partition.
    """
    import pyarrow as pa

    table = pa.table(table)
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            arrays.append(column if column.type == field.type else _cast(column, field, label))
        else:
            arrays.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _cast(column: Any, field: pyarrow.Field, label: str) -> Any:
    """``column`` cast to ``field``'s type; Arrow's refusal as a :class:`DecodeError`.

    Every partition has the plan's types, so a server's value that does not fit one cannot be
    handed on: a raw ``ArrowInvalid`` named no column nor partition, and ``except
    converz.ConverzError`` missed it (outside trial 86 N5).
    """
    import pyarrow as pa

    try:
        return column.cast(field.type)
    except pa.ArrowException as err:
        where = f" of {label}" if label else ""
        if field.name == "date":
            # A read by day cannot take `date` as text (it is the index and the bound), so the
            # way out names the partitioning that can (outside trial 88 B5).
            raise DecodeError(
                f"column `date`{where} holds values that are not dates (the server sent "
                f"{column.type}): {err}",
                hint="read with partition=N or None and schema={'date': 'string'}; if a push "
                "wrote them, pushing those calls' dates as YYYY-MM-DD mends them",
            ) from None
        raise DecodeError(
            f"column `{field.name}`{where} holds values that are not {field.type}, the type "
            f"every partition gives it (the server sent {column.type}): {err}",
            hint=f"pass schema={{{field.name!r}: 'string'}} (Spark: .option('schema', "
            f"'{field.name}:string')) to read it as text in every partition",
        ) from None
