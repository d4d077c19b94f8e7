"""Outside trial 85: a long key with its letters' case changed (one letter, or each its own way)
shown whole in a table's repr as a column's name or a cell, and pieces of it in errors; a key
broken by a line end shown in a repr."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Callable

import pytest
from hostile_support import RawServer, Responder, paged, refused, response, serving

import converz

KEY = "sk_live_SECRETkey1234567890abcdef"


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


def longest_piece_any_case(key: str, shown: str) -> int:
    """The longest piece of `key` in `shown`, letters compared in either case."""
    key, shown = key.lower(), shown.lower()
    pieces = (key[i : i + n] for n in range(1, len(key) + 1) for i in range(len(key) - n + 1))
    return max((len(piece) for piece in pieces if piece in shown), default=0)


def spellings() -> list[str]:
    """The trial's two spellings, and each letter's case drawn at random."""
    draw = random.Random(85)
    drawn = [
        "".join(c.upper() if draw.random() < 0.5 else c.lower() for c in KEY) for _ in range(8)
    ]
    return ["Sk_live_SECRETkey1234567890abcdef", "sK_LiVe_sEcReTkEy1234567890AbCdEf", *drawn]


def everything_shown(table: converz.Table) -> str:
    return " ".join([repr(table), str(table), *table.warnings])


@pytest.mark.parametrize("written", spellings())
def test_a_key_in_another_case_is_not_shown_in_a_tables_repr(serve, written):
    """F1: as a column's name the key showed whole in the repr's header, and as a value its
    first 23 characters in the cell."""
    rows = [json.dumps({"call_id": 1, written: 1, "note": written})]
    server = serve(paged(rows))
    client = converz.Client(api_key=KEY, base_url=server.url, progress=False)
    table = client.calls()
    assert table.num_rows == 1
    shown = everything_shown(table)
    assert "***" in shown, shown
    assert longest_piece_any_case(KEY, shown) <= 3, shown


@pytest.mark.parametrize("written", spellings()[:3])
def test_a_key_in_another_case_is_not_shown_in_errors(serve, written):
    """F1: a key in alternating case echoed by a 400 or a 500 showed its first 16 characters in
    the error and in every retry's log line."""
    for raw in [
        response("400 Bad Request", json.dumps({"error": f"bad token {written}"}).encode()),
        response("500 Internal Server Error", f"token {written} refused".encode()),
    ]:
        shown = refused(serve, raw, KEY)
        assert longest_piece_any_case(KEY, shown) <= 3, shown


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_a_key_broken_by_a_line_end_is_not_shown_in_a_tables_repr(serve, end):
    """F2: the key broken by a line end showed in a repr's header (a column so named) and in a
    cell; in an error body it was masked already."""
    broken = KEY[:16] + end + KEY[16:]
    rows = [json.dumps({"call_id": 1, broken: 1, "note": broken})]
    server = serve(paged(rows))
    client = converz.Client(api_key=KEY, base_url=server.url, progress=False)
    shown = everything_shown(client.calls())
    assert longest_piece_any_case(KEY, shown.replace("\\n", "").replace("\\r", "")) <= 3, shown
