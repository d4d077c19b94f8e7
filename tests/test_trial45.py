"""Outside trial 45: ordinary error pages hidden whole by the matching bound when the key is
long (a 256-character token); a key holding `%2F` broken near its end, its tail left beside
a cut; the layers' cost on a body of `&amp;amp;...` (asked once a place, not once a character)."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterator
from typing import Callable

import pytest
from hostile_support import RawServer, Responder, refused, response, serving
from test_trial44 import beside_cut


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


# One generator for the whole key: a fresh `Random(5)` for each character made the key one
# character 256 times, which ordinary text rules out at once, so the matching bound this test
# is about was never reached with a key of many characters.
_DRAW = random.Random(5)
LONG_KEY = "".join(_DRAW.choice(string.ascii_letters + string.digits) for _ in range(256))
PAGES = {
    "links": "<html><body><h1>Service Unavailable</h1>"
    + "".join(
        f"<a href='/status?next=%2Fdashboard%3Ftab%3D{i}%26lang%3Den'>status {i}</a>&nbsp;<br>\n"
        for i in range(400)
    )
    + "</body></html>",
    "entities": "<p>" + "Caf&eacute; &amp; cr&egrave;me &mdash; r&eacute;essayez. " * 600 + "</p>",
    "json-escapes": json.dumps({"detail": "Le service est indisponible; r\u00e9essayez. " * 500}),
    "percent": "error at /search?q=" + "caf%C3%A9%20cr%C3%A8me%20%26%20" * 1200,
}


@pytest.mark.parametrize("page", list(PAGES))
def test_an_ordinary_page_is_shown_whatever_the_keys_length(serve, page):
    """F4: with a 256-character key, every place of an ordinary 16 KiB page spent steps of the
    matching bound on suffixes of the key whose first character it held, and the page was shown
    as `it begins: ***`. A place whose next character rules the key out costs no step now."""
    shown = refused(serve, response("503 Service Unavailable", PAGES[page].encode()), LONG_KEY)
    assert "begins: ***" not in shown and "error body: ***" not in shown, shown[:300]
    assert "***" not in shown.split("hint")[0], shown[:300]


def test_a_key_holding_an_escape_broken_near_its_end_is_hidden_to_its_end(serve):
    """F2: a key holding `%2F`, broken by `<wbr>` (or a soft hyphen, a comment, `\\n`) a few
    characters before its end, had its tail left beside an excerpt's cut: on the layer where
    the break was gone, `%2F` was read as `/` and the key no longer matched; the key's own forms
    are now read as the text is."""
    key = "x9%Qr7+Tz5=Lm3%2FWv1abc"
    worst = 0
    for gap in ("<wbr>", "&shy;", "\\n", "<!--x-->"):
        for tail in (4, 5, 6):
            written = key[:-tail] + gap + key[-tail:]
            for pad in range(0, 40, 3):
                body = ('{"detail": "' + "x" * pad + written + '"}').encode()
                raw = response("200 OK", body, "Content-Type: application/json")
                worst = max(worst, beside_cut(key, refused(serve, raw, key)))
    assert worst <= 3
