"""`converz.Table`: the Arrow data a fetch returns.

No hard dependency on any DataFrame library: it implements the Arrow PyCapsule stream
interface, so polars, pandas (through pyarrow), pyarrow and DuckDB take it without a copy.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Optional

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


class Table:
    """A fetched table, held as Arrow record batches in Rust memory.

    Attributes:
        warnings: Things the fetch noticed (capped pages, rows that moved during paging, type
            conflicts). Each was also logged to the ``converz`` logger.

    Example:
        >>> calls = client.calls(start_date="2025-07-01")  # doctest: +SKIP
        >>> df = calls.to_polars()  # doctest: +SKIP
        >>> import duckdb  # doctest: +SKIP
        >>> duckdb.sql("select rep_id, count(*) from calls group by 1")  # doctest: +SKIP
    """

    __slots__ = ("_raw", "warnings")

    def __init__(self, raw: Any, warnings: Optional[list[str]] = None) -> None:
        self._raw = raw
        self.warnings: list[str] = list(warnings or [])

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object:
        """Export the table through the Arrow PyCapsule stream interface (zero-copy)."""
        return self._raw.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> object:
        """Export the schema through the Arrow PyCapsule interface."""
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

    def to_arrow(self) -> pyarrow.Table:
        """Return a ``pyarrow.Table`` (zero-copy). Needs pyarrow."""
        pa = _require("pyarrow", "pyarrow")
        return pa.table(self)

    def to_polars(self) -> polars.DataFrame:
        """Return a ``polars.DataFrame`` (zero-copy where polars' layout allows). Needs polars."""
        pl = _require("polars", "polars")
        return pl.DataFrame(self)

    def to_pandas(self, **kwargs: Any) -> pandas.DataFrame:
        """Return a ``pandas.DataFrame`` through pyarrow.

        Args:
            **kwargs: Passed to ``pyarrow.Table.to_pandas`` (e.g. ``types_mapper=pd.ArrowDtype``).
        """
        _require("pandas", "pandas")
        return self.to_arrow().to_pandas(**kwargs)

    def __repr__(self) -> str:
        columns = ", ".join(f"{name}: {dtype}" for name, dtype in self.schema.items())
        if len(columns) > 300:
            columns = columns[:297] + "..."
        return f"converz.Table({self.num_rows:,} rows x {self.num_columns} columns: {columns})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td><code>{html.escape(dtype)}</code></td></tr>"
            for name, dtype in self.schema.items()
        )
        warnings = "".join(f"<p>&#9888; {html.escape(w)}</p>" for w in self.warnings)
        return (
            f"<div><b>converz.Table</b>: {self.num_rows:,} rows &times; {self.num_columns} "
            f"columns{warnings}<table><tr><th>column</th><th>type</th></tr>{rows}</table>"
            "<small>.to_polars() / .to_pandas() / .to_arrow()</small></div>"
        )


class _Field:
    __slots__ = ("name", "type")

    def __init__(self, name: str, dtype: str) -> None:
        self.name = name
        self.type = dtype


def _fields(raw: Any) -> list[_Field]:
    return [_Field(name, dtype) for name, dtype in raw.column_types()]


class TableStream:
    """An iterator of :class:`Table` s, one per page, each row once, consumed once.

    Memory is bounded by the pages in flight, not by the result.

    Example:
        >>> for page in client.iter_calls(start_date="2025-01-01"):  # doctest: +SKIP
        ...     page.to_polars().write_parquet(f"calls-{page_number}.parquet")
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def __iter__(self) -> Iterator[Table]:
        raw = iter(self._raw)  # raises if this stream was consumed already
        return (Table(batch) for batch in raw)

    def __repr__(self) -> str:
        return "converz.TableStream(...)"
