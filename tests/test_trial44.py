"""Outside trial 44: the key under more than one layer of escaping (an entity whose `&` is
percent-encoded, percent-encoded twice, HTML-escaped three times, an escaped `<wbr>`), an
excerpt cut right after a break inside the key; Dask's `read_calls` naming `parts=`."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import Callable

import pytest
from hostile_support import (
    RawServer,
    Responder,
    longest_piece_read,
    read_back,
    refused,
    response,
    serving,
)

KEY = "Kq7'Zx\"9Ab<Mn>Pq&Rs8Tu_9"
CHUNKED = "sk_live_Q8v2LmN4pR7tX1zK9bW3yH6dF0gJ5cA"
NAMED = {"<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos", "_": "lowbar"}
BREAKS = re.compile(r"<wbr\s*/?>|<!--.*?-->|[\u00ad\u200b\n\r]", re.I)


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


def entities(key: str, amp: str) -> str:
    return "".join(f"{amp}{NAMED[c]};" if c in NAMED else c for c in key)


LAYERED = {
    "entity-amp-percent": (KEY, entities(KEY, "%26")),
    "entity-amp-percent-twice": (KEY, entities(KEY, "%2526")),
    "entity-amp-percent-then-html": (KEY, entities(KEY, "%26amp;")),
    "html-three-times": (KEY, entities(KEY, "&amp;amp;")),
    "percent-twice": (KEY, urllib.parse.quote(urllib.parse.quote(KEY, safe=""), safe="")),
    "escaped-wbr": (CHUNKED, "&lt;wbr&gt;".join(CHUNKED[i : i + 5] for i in range(0, 39, 5))),
}


@pytest.mark.parametrize("name", list(LAYERED))
def test_a_key_under_layers_of_escaping_is_redacted(serve, name):
    """F1, F2: each layer of a writer's escaping is read in turn (up to four), so a key
    escaped by two or three writers in a row is found as one escaped once is."""
    key, written = LAYERED[name]
    for body in (f"<p>unknown key {written}</p>", f"unknown key {written} (try again)"):
        shown = refused(serve, response("503 Service Unavailable", body.encode()), key)
        assert "***" in shown, (written, shown)
        assert longest_piece_read(key, BREAKS.sub("", shown)) <= 3, (written, shown)


def beside_cut(key: str, shown: str) -> int:
    """The most key characters (read back, breaks taken out) right before any cut's mark."""
    # A piece is read back whole, so a longer piece than the key is never one.
    most = 0
    for before in shown.split("\u2026")[:-1]:
        read = read_back(BREAKS.sub("", read_back(before)))
        # Any piece of the key right before the cut: its start, or (a key hidden up to a break
        # inside it) its middle or end.
        most = max([most, *(n for n in range(1, min(len(read), len(key)) + 1) if read[-n:] in key)])
    return most


@pytest.mark.parametrize(
    "gap", ["&#8203;", "&shy;", "\\u200b", "<wbr>", "&#X0026;#x0005f;"], ids=str
)
def test_an_excerpt_cut_right_after_a_break_inside_the_key_shows_at_most_three(serve, gap):
    """F3: a decode error's excerpt cut right after a break inside the key (or inside a
    twice-escaped entity) showed six or seven of its characters beside the cut."""
    if gap.startswith("&#X"):
        written = CHUNKED.replace("_", gap)
    else:
        written = gap.join(CHUNKED[i : i + 2] for i in range(0, len(CHUNKED), 2))
    worst = 0
    for pad in range(0, 60, 3):
        body = ('{"detail": "' + "x" * pad + written + '"}').encode()
        shown = refused(serve, response("200 OK", body, "Content-Type: application/json"), CHUNKED)
        worst = max(worst, beside_cut(CHUNKED, shown))
    assert worst <= 3


def test_dask_read_calls_names_its_own_option_for_too_many_slices():
    """F5: `read_calls(partition=864001)` over ten days said `parts=864001 is more than ...`,
    the other reader's option."""
    import converz.dask

    for partition in (864_001, 10**20):
        with pytest.raises(converz.InvalidParameterError) as info:
            converz.dask.read_calls(
                api_key="k" * 32,
                base_url="http://127.0.0.1:9/api/v1",
                start_date="2025-07-01",
                end_date="2025-07-10",
                partition=partition,
            )
        assert info.value.parameter == "partition"
        assert str(info.value).startswith(f"partition={partition} is more than the 864000")
