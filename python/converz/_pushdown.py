"""Predicate pushdown for the lazy scans: which part of a polars filter the API can do.

Polars hands a scan its predicate as an expression. Its JSON form
(``expr.meta.serialize(format="json")``) is walked conservatively: only the shapes below are
translated into request parameters, anything else is left alone. The scan applies the whole
predicate to every batch anyway, so pushdown only ever narrows the request; it never decides
the result. What is recognised:

* ``col == lit``, ``col.is_in([...])`` and ``|`` of those on one column, for the API's
  list filters the scan names (``rep_id``, ``vendor``, ``campaign``, ...). Values the API
  would read differently (empty, surrounding spaces, commas: it splits on commas and trims)
  are not pushed, nor are nulls.
* ``&`` of any of these.

A filter is pushed only when the API applies it to the values the rows show. Every column
but the key can be changed by a push (the API contract, Part B 5), and the API's
``start_date``/``end_date`` and ``after``/``before`` bound the conversation's recorded start,
``vendor_call_id`` matches the generated id and ``/reps``' ``active`` the original flag, not
the pushed values: a pushed-down filter on ``date``, ``start_time``, ``vendor_call_id`` or
``active`` lost the rows a push had moved into it (found by the outside trial). Those run in
polars; the query's own ``start_date=`` etc. still narrow the request, as in the eager fetch.

``!=``, ``is_not_null``, casts, ``|`` across columns and everything else are not pushed.
"""

from __future__ import annotations

import io
import json
import urllib.parse
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from converz._query import API_SPACE
from converz._schema import as_list as _as_list

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Pushdown", "narrow_lists", "push_predicate"]

_MISSING = object()
# URL bytes a pushed list may add; the client refuses a URL over 60 KiB (src/http/client.rs).
_BUDGET = 16 * 1024


@dataclass
class Pushdown:
    """What a predicate lets the request narrow.

    Attributes:
        values: Column → the only values a row may have (a conjunction of these).
    """

    values: dict[str, set[Any]] = field(default_factory=dict)

    def add_values(self, column: str, values: set[Any]) -> None:
        """Narrow ``column`` to ``values`` (intersected with what is there)."""
        have = self.values.get(column)
        self.values[column] = set(values) if have is None else have & values


def push_predicate(predicate: Optional[pl.Expr], list_columns: Mapping[str, Any]) -> Pushdown:
    """The pushable part of ``predicate``.

    Args:
        predicate: The filter polars gave the scan, or None.
        list_columns: Columns the API filters by value, with the polars type each has in the
            scan's schema. Integer columns take integer values, text columns text.

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
        found = _value_set(conjunct, list_columns)
        if found is not None:
            pushed.add_values(*found)
    return pushed


def _conjuncts(node: Any) -> list[Any]:
    binary = node.get("BinaryExpr") if isinstance(node, dict) else None
    if binary is not None and binary.get("op") == "And":
        return _conjuncts(binary.get("left")) + _conjuncts(binary.get("right"))
    return [node]


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
        if not value or value != value.strip(API_SPACE) or "," in value:
            return _MISSING
        return value
    if dtype.is_integer() and isinstance(value, int) and not isinstance(value, bool):
        return value
    return _MISSING


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def narrow_lists(request: dict[str, Any], pushed: Pushdown, columns: Mapping[str, Any]) -> bool:
    """Intersect the request's list filters with the pushed ones; False if none can match.

    A list the query did not have and too long for a URL (the client sends at most 60 KiB)
    is not sent: polars applies it anyway. Found by the outside trial: a long ``is_in`` failed
    with the URL-length error and advice for an eager fetch the user had not written.
    """
    for column, values in pushed.values.items():
        if column not in columns:
            continue
        allowed = {str(v) for v in values}
        base = _as_list(request.get(column))
        if not base and sum(len(urllib.parse.quote(v, safe="")) + 1 for v in allowed) > _BUDGET:
            continue
        kept = [v for v in base if v in allowed] if base else sorted(allowed)
        if not kept:
            return False
        request[column] = kept
    return True
