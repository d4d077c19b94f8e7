"""Outside trial 40: a key cut at an excerpt's edge, and a period partition without dates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Callable

import pytest
from hostile_support import RawServer, Responder, longest_piece, serving, shown_refusal

import converz
from converz._plan import ClientConfig, plan_calls, query_from

KEY = "Ab3/xY9+kL2/mN7pQ=="


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


@pytest.mark.parametrize("escaped", [False, True], ids=["plain", "escaped"])
def test_a_key_cut_at_an_excerpts_edge_shows_at_most_three_characters(serve, escaped):
    """F1: an excerpt cut to a fixed width inside an echoed key showed its first seven
    characters (an 8-character key nearly whole). Where a text was cut (an excerpt's closing
    backtick, an ellipsis), a piece of four characters is enough to be redacted."""
    written = "".join(f"\\u{ord(c):04x}" for c in KEY) if escaped else KEY
    for pad in range(0, 72, 3):
        bodies = [
            ('{"error":"' + "p" * pad + "key " + written + '"}').encode(),
            (
                '[{"call_id":1,"' + "p" * pad + written + '":1,"' + "p" * pad + written + '":2}]'
            ).encode(),
        ]
        for body in bodies:
            shown = shown_refusal(serve, body, KEY)
            assert longest_piece(KEY, shown) <= 3, (pad, shown)


def test_a_period_partition_without_dates_says_so_in_the_readers_words():
    """F5: Spark's, Dask's and Ray's readers said `split(by=...) needs start_date and
    end_date`, a call none of their users wrote."""
    config = ClientConfig(api_key="k" * 32, base_url="http://127.0.0.1:9/api/v1")
    for partition in ("day", "week", "month"):
        query = query_from("calls", None, {"start_date": "2025-01-01"})
        with pytest.raises(converz.InvalidParameterError) as info:
            plan_calls(query, config, partition=partition)
        assert info.value.parameter == "partition"
        assert f"partition={partition!r} needs start_date and end_date" in str(info.value)
