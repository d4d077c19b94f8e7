"""Outside trial 43: the key in spellings the redaction did not know (a numeric entity with
more than 32 digits, an entity whose `&` is a JSON escape, other spellings of a twice-escaped
`&`, percent-encoding of some characters only, a key broken into chunks by markup or invisible
characters); numpy ints for the readers' splits, Spark's `partition=-1`; two error texts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Callable

import numpy as np
import pytest
from hostile_support import RawServer, Responder, longest_piece_read, refused, response, serving

import converz
from converz._plan import ClientConfig, plan_calls, plan_reps, query_from
from converz.testing import Emulator

KEYS = ["AbCd/EfGh+IjKl=MnOp/QrSt", "a<bcdefgh>ijklm&nopq", 'Kq7+Zx/9Ab=Mn"Pq\\Rs8Tu']


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


def spelled(key: str, spell: Callable[[str], str]) -> str:
    return "".join(c if c.isalnum() else spell(c) for c in key)


@pytest.mark.parametrize(
    "spell",
    [
        lambda c: f"&#{'0' * 31}{ord(c)};",
        lambda c: f"&#x{'0' * 40}{ord(c):x};",
        lambda c: "\\u0026"
        + {"<": "lt;", ">": "gt;", "&": "amp;", '"': "quot;"}.get(c, f"#{ord(c)};"),
        lambda c: f"&#038;#{ord(c)};",
        lambda c: f"&#x026;#{ord(c)};",
        lambda c: f"&AMP;#{ord(c)};",
        lambda c: f"&38#{ord(c)};".replace("&38", "&#38"),
        lambda c: f"&amp#{ord(c)};",
        lambda c: c if c in '/"\\' else f"%{ord(c):02X}",
        lambda c: f"%{ord(c):02x}" if c in "+=" else c,
    ],
    ids=[
        "31-zeros",
        "40-zeros-hex",
        "json-escaped-amp",
        "038-twice",
        "x026-twice",
        "AMP-twice",
        "38-no-semicolon-twice",
        "amp-no-semicolon-twice",
        "percent-some",
        "percent-lower-some",
    ],
)
def test_the_key_in_every_spelling_found_is_redacted(serve, spell):
    """F1 (31 zeros: the key shown whole), F2 (`\\u0026lt;`), F3 (a twice-escaped `&` in
    other spellings), F4 (`urllib.parse.quote` leaves `/` plain). Each showed the key whole
    in a non-JSON error body."""
    for key in KEYS:
        written = spelled(key, spell)
        raw = response("503 Service Unavailable", f"<p>unknown key {written}</p>".encode())
        shown = refused(serve, raw, key)
        assert "***" in shown and longest_piece_read(key, shown) <= 3, (written, shown)


@pytest.mark.parametrize(
    "gap",
    ["<wbr>", "<WBR/>", "<!-- -->", "\u00ad", "\u200b", "&shy;", "&#8203;", "\\u200b", "\n"],
)
def test_a_key_broken_into_chunks_is_redacted_whole(serve, gap):
    """F5: a page broke a long key into chunks (`<wbr>`, a soft hyphen, a zero-width space, a
    comment, a line end): only its first and last pieces were replaced, its middle shown."""
    key = "sk_live_Q8v2LmN4pR7tX1zK9bW3yH6dF0gJ5cA"
    written = gap.join(key[i : i + 10] for i in range(0, len(key), 10))
    raw = response("503 Service Unavailable", f"<p>unknown key {written}</p>".encode())
    shown = refused(serve, raw, key)
    unbroken = re.sub(r"<wbr/?>|<!--.*?-->|[\u00ad\u200b\n]", "", shown, flags=re.I)
    assert "***" in shown and longest_piece_read(key, unbroken) <= 3, (written, shown)


def test_markup_and_line_ends_between_ordinary_words_are_kept(serve):
    """The breaks are matched only between the key's own characters."""
    key = "sk_live_Q8v2LmN4pR7tX1zK9bW3yH6dF0gJ5cA"
    body = b"<p>a<wbr>prefix<wbr>only\nline two %41 &#0065; sk_live</p>"
    shown = refused(serve, response("503 Service Unavailable", body), key)
    assert "a prefix only line two %41 &#0065; sk_live" in shown, shown


def test_numpy_ints_split_the_readers_and_queries():
    """F6: `read_reps(parts=np.int64(2))`, `read_calls(partition=np.int64(3))` and
    `CallsQuery.split(parts=np.int64(3))` were refused as not ints (the README takes numpy
    scalars wherever an int is taken)."""
    config = ClientConfig(api_key="k" * 32, base_url="http://127.0.0.1:9/api/v1")
    reps = query_from("reps", None, {"rep_id": ["a", "b", "c"]})
    assert len(plan_reps(reps, config, parts=np.int64(2))) == 2
    calls = converz.CallsQuery(start_date="2025-07-01", end_date="2025-07-03")
    assert len(plan_calls(calls, config, partition=np.int64(3))) == 3
    assert calls.split(parts=np.int64(3)) == calls.split(parts=3)
    assert converz.RepsQuery(rep_id=["a", "b"]).split(parts=np.int32(2)) == reps.replace(
        rep_id=["a", "b"]
    ).split(parts=2)
    with pytest.raises(converz.InvalidParameterTypeError):
        plan_reps(reps, config, parts=np.float64(2))  # type: ignore[arg-type]


def test_sparks_negative_partition_is_out_of_range_not_a_wrong_type():
    """F6: Spark's `partition=-1` was called not an int, while `'3'` is read as the int 3."""
    from converz.spark import _tasks

    where = {"api_key": "k" * 32, "base_url": "http://127.0.0.1:9/api/v1"}
    with pytest.raises(converz.InvalidParameterError) as info:
        _tasks({"endpoint": "reps", "rep_id": "a,b", "partition": "-1", **where})
    assert not isinstance(info.value, converz.InvalidParameterTypeError)
    assert str(info.value).startswith("partition=-1: expected an int from 1 to 2")
    with pytest.raises(converz.InvalidParameterError, match="partition must be at least 1"):
        _tasks({"start_date": "2025-07-01", "end_date": "2025-07-02", "partition": "-1", **where})


def test_an_empty_projection_says_what_leaving_it_out_does():
    """F7: `report(groupby=[])` said leaving it out "would return all of them" (written for
    `columns=[]`); without groupby the report is one row for the whole period. A reps split
    counts the distinct rep_id values and says so."""
    with Emulator(calls=200, reps=5, seed=1) as emu:
        client = emu.client(progress=False)
        assert client.report(days=30).num_rows == 1
        with pytest.raises(converz.InvalidParameterError) as info:
            client.report(groupby=[], days=30)
        assert "one row for the whole period" in str(info.value)
        with pytest.raises(converz.InvalidParameterError) as info:
            client.calls(columns=[])
        assert "every column" in str(info.value)
    with pytest.raises(converz.InvalidParameterError) as info:
        converz.RepsQuery(rep_id=["a", "a", "a"]).split(parts=3)
    assert "from 1 to 1 (the distinct rep_id values given)" in str(info.value)
