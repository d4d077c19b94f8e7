"""Property test of decoding over real HTTP: random JSON pages, served by a tiny server, come back
from ``client.calls()`` with the values an independent decode (``json.loads`` plus the documented
inference rules) gives.

Rules checked (README / ``src/decode/mod.rs``): ints stay Int64; ints mixed with floats widen to
Float64; ``YYYY-MM-DD`` strings become dates and ``YYYY-MM-DD HH:MM:SS[.fff|.ffffff]``
timestamps, in the spellings converz writes back (no ``T``; a fraction as chrono's ``%.f`` writes
it: none when zero, three digits for whole milliseconds, else six), and not mixed with each other;
other strings stay text as sent; a column only ever null is all null; a column missing from a row
is null there; columns keep first-appearance order.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import converz
from converz._schema import documented_columns

# Text without lone surrogates (not encodable as UTF-8), with the hard cases made likely.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from(['"', "\\", "\x00", "\n", "😀", "\U0010ffff", "\U00020000", "é"]),
    ),
    max_size=20,  # across the 12 bytes a string view holds inline (frame="polars")
)
DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
TIMESTAMPS = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1))
INTS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)

# What a column holds; "drift" columns are ints on some pages and floats on others.
KINDS = ["int", "float", "drift", "str", "bool", "date", "ts", "null"]


def _value(draw: st.DrawFn, kind: str, page: int) -> Any:
    if kind == "null" or draw(st.integers(0, 6)) == 0:
        return None
    if kind == "drift":
        kind = "int" if page % 2 == 0 else "float"
    strategy: st.SearchStrategy[Any] = {
        "int": INTS,
        "float": FLOATS,
        "str": TEXT,
        "bool": st.booleans(),
        "date": DATES.map(dt.date.isoformat),
        "ts": TIMESTAMPS.map(lambda t: t.isoformat(sep=" " if t.second % 2 else "T")),
    }[kind]
    return draw(strategy)


@st.composite
def fetches(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int]:
    """Rows (keys sometimes missing, some columns late), and a page size.

    Each row has its `call_id` first: the listing refuses rows without one.
    """
    names = draw(st.lists(st.sampled_from(["id", "a", "b", "é😀", 'q"k', "late"]), unique=True))
    kinds = {name: draw(st.sampled_from(KINDS)) for name in names}
    page_size = draw(st.integers(1, 5))
    rows = []
    for i in range(draw(st.integers(0, 14))):
        page = i // page_size
        row: dict[str, Any] = {"call_id": i + 1}
        for name in names:
            late = name == "late" and page == 0
            if not late and draw(st.integers(0, 9)) > 0:
                row[name] = _value(draw, kinds[name], page)
        rows.append(row)
    return rows, page_size


def _expected_column(values: list[Any]) -> list[Any]:
    """The documented rules, applied to one column's Python values (None for null/missing)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return values
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return values
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return [None if v is None else float(v) for v in values]
    if present and all(isinstance(v, str) and _date(v) for v in present):
        return [None if v is None else _date(v) for v in values]
    if present and all(isinstance(v, str) and _ts(v) for v in present):
        return [None if v is None else _ts(v) for v in values]
    return values


def _date(s: str) -> dt.date | None:
    if len(s) != 10 or s[4] != "-" or s[7] != "-":
        return None
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        return None


def _ts(s: str) -> dt.datetime | None:
    """The time `s` spells, if converz writes it back as `s` (a push, a CSV or NDJSON file): a
    fraction in three digits when it is whole milliseconds, else six, none when zero."""
    if len(s) < 19 or _date(s[:10]) is None or s[10] not in " T":
        return None
    clock, _, fraction = s[11:].partition(".")
    if len(clock) != 8 or (fraction and not fraction.isdigit()):
        return None
    micros = int((fraction + "000000")[:6]) if fraction else 0
    try:
        t = dt.datetime.fromisoformat(f"{s[:10]} {clock}").replace(microsecond=micros)
    except ValueError:
        return None
    whole_ms = micros % 1000 == 0 and micros
    written = t.isoformat(sep=" ", timespec="milliseconds" if whole_ms else "auto")
    return t if s == written else None


class _Pages(BaseHTTPRequestHandler):
    """GET /calls?page=P&n_per_page=N serves rows (P-1)*N .. P*N of the current body."""

    rows: ClassVar[list[dict[str, Any]]] = []
    ensure_ascii: ClassVar[bool] = True

    def do_GET(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        page, size = int(query["page"][0]), int(query["n_per_page"][0])
        rows = self.rows[(page - 1) * size : page * size]
        body = json.dumps(rows, ensure_ascii=self.ensure_ascii, indent=page % 2 or None).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fetch=fetches(), ensure_ascii=st.booleans(), frame=st.sampled_from([None, "polars"]))
def test_random_pages_decode_to_json_loads_values(
    server: str, fetch: tuple[list[dict[str, Any]], int], ensure_ascii: bool, frame: Any
) -> None:
    """``frame="polars"`` builds text as string views while decoding; read back as Arrow."""
    rows, page_size = fetch
    _Pages.rows, _Pages.ensure_ascii = rows, ensure_ascii
    client = converz.Client(base_url=server, api_key="k", progress=False)
    table = pa.table(client.calls(page_size=page_size, frame=frame))
    assert table.num_rows == len(rows)
    # First-appearance order over the rows as sent; a fetch with no rows has the documented ones.
    order = list(dict.fromkeys(k for row in rows for k in row))
    if not rows:
        assert table.column_names == list(documented_columns("calls", {}, parse_dates=True))
        return
    assert table.column_names == order
    for name in order:
        want = _expected_column([row.get(name) for row in rows])
        got = table.column(name).to_pylist()
        assert got == want, name
