"""Predicate pushdown for the lazy scans: which part of a polars filter the API can do.

Polars hands a scan its predicate as an expression. Its JSON form
(``expr.meta.serialize(format="json")``) is walked conservatively: only the shapes below are
translated into request parameters, anything else is left alone. The scan applies the whole
predicate to every batch anyway, so pushdown only ever narrows the request; it never decides
the result. What is recognised:

* ``col == lit``, ``col.is_in([...])`` and ``|`` of those on one column, for the API's
  list filters (``rep_id``, ``vendor``, ``campaign``, ...). Values the API would read
  differently (empty, surrounding spaces, commas: it splits on commas and trims) are not
  pushed, nor are nulls.
* comparisons and ``is_between`` on ``date`` (``start_date``/``end_date``) and on
  ``start_time`` (``after``/``before``). API bounds are inclusive and to the second, so a
  strict bound is pushed as the inclusive one and a fractional second is widened outwards.
* ``&`` of any of these.

``!=``, ``is_not_null``, casts, ``|`` across columns and everything else are not pushed.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from converz._schema import as_list as _as_list

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "Pushdown",
    "as_date",
    "as_datetime",
    "narrow_lists",
    "narrow_range",
    "push_predicate",
]

_FLIP = {"Gt": "Lt", "GtEq": "LtEq", "Lt": "Gt", "LtEq": "GtEq", "Eq": "Eq"}
_MISSING = object()


@dataclass
class Pushdown:
    """What a predicate lets the request narrow.

    Attributes:
        values: Column → the only values a row may have (a conjunction of these).
        lower: Column → inclusive lower bound (``date`` or ``start_time``).
        upper: Column → inclusive upper bound.
    """

    values: dict[str, set[Any]] = field(default_factory=dict)
    lower: dict[str, Any] = field(default_factory=dict)
    upper: dict[str, Any] = field(default_factory=dict)

    def add_values(self, column: str, values: set[Any]) -> None:
        """Narrow ``column`` to ``values`` (intersected with what is there)."""
        have = self.values.get(column)
        self.values[column] = set(values) if have is None else have & values

    def add_range(self, column: str, low: Any, high: Any) -> None:
        """Narrow ``column`` to ``[low, high]``; ``None`` leaves a side open."""
        if low is not None:
            self.lower[column] = max(low, self.lower.get(column, low))
        if high is not None:
            self.upper[column] = min(high, self.upper.get(column, high))


def push_predicate(
    predicate: Optional[pl.Expr],
    list_columns: Mapping[str, Any],
    range_columns: Mapping[str, Any],
) -> Pushdown:
    """The pushable part of ``predicate``.

    Args:
        predicate: The filter polars gave the scan, or None.
        list_columns: Columns the API filters by value, with the polars type each has in the
            scan's schema. Integer columns take integer values, text columns text.
        range_columns: ``date`` / ``start_time`` columns filtered by range, with their types.

    Returns:
        A :class:`Pushdown`; empty when nothing could be pushed.
    """
    pushed = Pushdown()
    if predicate is None:
        return pushed
    try:
        tree = json.loads(predicate.meta.serialize(format="json"))
    except Exception:  # an expression polars cannot serialise: push nothing
        return pushed
    for conjunct in _conjuncts(tree):
        _push_one(conjunct, pushed, list_columns, range_columns)
    return pushed


def _conjuncts(node: Any) -> list[Any]:
    binary = node.get("BinaryExpr") if isinstance(node, dict) else None
    if binary is not None and binary.get("op") == "And":
        return _conjuncts(binary.get("left")) + _conjuncts(binary.get("right"))
    return [node]


def _push_one(
    node: Any,
    pushed: Pushdown,
    list_columns: Mapping[str, Any],
    range_columns: Mapping[str, Any],
) -> None:
    found = _value_set(node, list_columns)
    if found is not None:
        pushed.add_values(*found)
        return
    bounds = _range(node, range_columns)
    if bounds is not None:
        pushed.add_range(*bounds)


def _value_set(node: Any, columns: Mapping[str, Any]) -> Optional[tuple[str, set[Any]]]:
    """``(column, values)`` if ``node`` says "column is one of values"."""
    if not isinstance(node, dict):
        return None
    if "BinaryExpr" in node:
        binary = node["BinaryExpr"]
        op = binary.get("op")
        if op == "Or":
            left = _value_set(binary.get("left"), columns)
            right = _value_set(binary.get("right"), columns)
            if left is None or right is None or left[0] != right[0]:
                return None
            return left[0], left[1] | right[1]
        if op != "Eq":
            return None
        side = _column_and_literal(binary)
        if side is None or side[0] not in columns:
            return None
        value = _pushable(side[1], columns[side[0]])
        return None if value is _MISSING else (side[0], {value})
    function = node.get("Function")
    if not isinstance(function, dict):
        return None
    is_in = _get(function, "function", "Boolean", "IsIn")
    inputs = function.get("input")
    if not isinstance(is_in, dict) or not isinstance(inputs, list) or len(inputs) != 2:
        return None
    column = _column(inputs[0])
    if column is None or column not in columns:
        return None
    literal = _literal(inputs[1])
    if not isinstance(literal, list) or not literal:
        return None
    values = {_pushable(v, columns[column]) for v in literal}
    return None if _MISSING in values else (column, values)


def _range(node: Any, columns: Mapping[str, Any]) -> Optional[tuple[str, Any, Any]]:
    """``(column, low, high)`` if ``node`` bounds a range column (either side may be None)."""
    if not isinstance(node, dict):
        return None
    if "BinaryExpr" in node:
        binary = node["BinaryExpr"]
        op = binary.get("op")
        side = _column_and_literal(binary)
        if side is None or op not in _FLIP or side[0] not in columns:
            return None
        column, value, flipped = side
        op = _FLIP[op] if flipped else op
        low = _bound(value, columns[column], "low") if op in ("Gt", "GtEq", "Eq") else None
        high = _bound(value, columns[column], "high") if op in ("Lt", "LtEq", "Eq") else None
        if low is None and high is None:
            return None
        return column, low, high
    function = node.get("Function")
    if not isinstance(function, dict) or _get(function, "function", "Boolean", "IsBetween") is None:
        return None
    inputs = function.get("input")
    if not isinstance(inputs, list) or len(inputs) != 3:
        return None
    target = _column(inputs[0])
    if target is None or target not in columns:
        return None
    low = _bound(_literal(inputs[1]), columns[target], "low")
    high = _bound(_literal(inputs[2]), columns[target], "high")
    return None if low is None and high is None else (target, low, high)


def _column_and_literal(binary: Mapping[str, Any]) -> Optional[tuple[str, Any, bool]]:
    """``(column, literal value, flipped)`` for ``col OP lit`` or ``lit OP col``."""
    left, right = binary.get("left"), binary.get("right")
    column = _column(left)
    if column is not None:
        value = _literal(right)
        return None if value is _MISSING else (column, value, False)
    column = _column(right)
    if column is not None:
        value = _literal(left)
        return None if value is _MISSING else (column, value, True)
    return None


def _column(node: Any) -> Optional[str]:
    if isinstance(node, dict) and isinstance(node.get("Column"), str):
        return str(node["Column"])
    return None


def _literal(node: Any) -> Any:
    """The Python value of a literal node (a list for a list literal), or ``_MISSING``.

    The value is computed by polars itself from the node, so no literal encoding (dates as
    day counts, timestamps with units, lists as Arrow IPC) is parsed here.
    """
    if not (isinstance(node, dict) and "Literal" in node):
        return _MISSING
    import polars as pl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expr = pl.Expr.deserialize(io.StringIO(json.dumps(node)), format="json")
            series = pl.select(expr).to_series()
    except Exception:  # a literal polars cannot rebuild: not pushed
        return _MISSING
    if isinstance(series.dtype, pl.List):
        return series[0].to_list() if len(series) == 1 else _MISSING
    if len(series) != 1:
        return series.to_list()
    return series[0]


def _pushable(value: Any, dtype: Any) -> Any:
    """``value`` as the API would match it in a column of ``dtype``, or ``_MISSING``."""
    import polars as pl

    if dtype == pl.String and isinstance(value, str):
        # The API splits list parameters on commas and trims each value.
        if not value or value != value.strip() or "," in value:
            return _MISSING
        return value
    if dtype.is_integer() and isinstance(value, int) and not isinstance(value, bool):
        return value
    return _MISSING


def _bound(value: Any, dtype: Any, side: str) -> Any:
    """An inclusive API bound for a comparison with ``value``, or None if not pushable."""
    import polars as pl

    if dtype == pl.Date:
        if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
            return value
        return None
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        if not isinstance(value, _dt.datetime) or value.tzinfo is not None:
            return None
        # The API takes whole seconds: widen outwards so no row inside the filter is lost.
        floor = value.replace(microsecond=0)
        if side == "low" or floor == value:
            return floor
        return floor + _dt.timedelta(seconds=1)
    return None


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def narrow_lists(request: dict[str, Any], pushed: Pushdown, columns: Mapping[str, Any]) -> bool:
    """Intersect the request's list filters with the pushed ones; False if none can match."""
    for column, values in pushed.values.items():
        if column not in columns:
            continue
        allowed = {str(v) for v in values}
        base = _as_list(request.get(column))
        kept = [v for v in base if v in allowed] if base else sorted(allowed)
        if not kept:
            return False
        request[column] = kept
    return True


def narrow_range(
    request: dict[str, Any],
    pushed: Pushdown,
    column: str,
    names: tuple[str, str],
    parse: Callable[[Any], Any],
) -> bool:
    """Tighten the request's inclusive bounds on ``column``; False if the range is empty."""
    low_name, high_name = names
    low, high = pushed.lower.get(column), pushed.upper.get(column)
    given_low, given_high = request.get(low_name), request.get(high_name)
    # A bound given in a form not parsed here is left as it is (the core checks it).
    if low is not None and (given_low is None or parse(given_low) is not None):
        request[low_name] = low if given_low is None else max(low, parse(given_low))
    if high is not None and (given_high is None or parse(given_high) is not None):
        request[high_name] = high if given_high is None else min(high, parse(given_high))
    final_low, final_high = parse(request.get(low_name)), parse(request.get(high_name))
    return final_low is None or final_high is None or final_low <= final_high


def as_date(value: Any) -> Optional[_dt.date]:
    if isinstance(value, _dt.datetime):
        return value.date() if value.time() == _dt.time() else None
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def as_datetime(value: Any) -> Optional[_dt.datetime]:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo is None else None
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is None else None
    return None
