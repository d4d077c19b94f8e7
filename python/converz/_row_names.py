"""A file's first column that is R's row names or pandas' index, named as such before a push.

R's ``write.csv`` writes row names by default (``row.names = TRUE``) as a first column whose
header is ``""``, and pandas' ``to_csv`` its index (``index=True``) under an empty header; read
back by pandas, that column is called ``Unnamed: 0``. Pushed, the first is refused by the core
for its empty name, with advice to rename it (outside trial 16: that is not what happened, and
a name would push the row numbers); the second would become an attribute of row numbers on
every row. Both are refused before any request, saying what the column is and how to write
the file without it. Only the first column: that is where both put it; an empty name
elsewhere keeps the core's message.
"""

from __future__ import annotations

import re
from pathlib import Path

from converz.exceptions import InvalidParameterError

__all__ = ["check_row_names"]

# pandas names a column without one "Unnamed: N", N its position.
_UNNAMED = re.compile(r"Unnamed: \d+")
_KEEP_DATA = "; if that column holds data you mean to push, {fix} it. Nothing was sent"


def _writer(path: Path) -> str:
    """``"R"``, ``"pandas"`` or ``""``: who wrote a CSV whose first header field is empty.

    R quotes every header field (``"","call_id"``); pandas writes nothing before the first
    comma (``,call_id``).
    """
    if path.suffix.lower() != ".csv":
        return ""
    try:
        with path.open("rb") as file:
            head = file.read(64)
    except OSError:
        return ""
    head = head.removeprefix(b"\xef\xbb\xbf")
    if head.startswith(b'"",') or head.startswith(b'""\n') or head.startswith(b'""\r'):
        return "R"
    if head.startswith(b","):
        return "pandas"
    return ""


def check_row_names(path: Path, columns: list[str]) -> None:
    """Refuses a first column that is row names or an index (see the module), before a push.

    Args:
        path: The file read (its first bytes tell R's CSV from pandas').
        columns: Its column names, in order.

    Raises:
        InvalidParameterError: Its first column has no name, or pandas' ``Unnamed: N``.
    """
    if not columns:
        return
    first = columns[0]
    if first == "":
        writer = _writer(path)
        if writer == "R":
            what = "R's row names (write.csv writes them unless row.names = FALSE)"
            fix = "write the file with write.csv(df, path, row.names = FALSE)"
        elif writer == "pandas":
            what = "pandas' index (to_csv writes it unless index=False)"
            fix = "write the file with df.to_csv(path, index=False)"
        else:
            what = "R's row names or pandas' index"
            fix = "write the file with row.names = FALSE (R) or index=False (pandas)"
        raise InvalidParameterError(
            f"{path}: the first column has no name: it looks like {what}, not data to push",
            parameter="",
            hint=fix + _KEEP_DATA.format(fix="name"),
        )
    if _UNNAMED.fullmatch(first):
        raise InvalidParameterError(
            f"{path}: the first column is {first!r}, the name pandas gives a column that had "
            "none: it looks like R's row names or pandas' index, written to a file, read back "
            "and written again as data",
            parameter=first,
            hint=f"drop it (df.drop(columns={first!r}), or read the file with index_col=0) and "
            "write the file with index=False (pandas) or row.names = FALSE (R)"
            + _KEEP_DATA.format(fix="rename"),
        )
