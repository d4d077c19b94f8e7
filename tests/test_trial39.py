"""Outside trial 39: a key echoed with JSON's escapes, the key error's page and value, and the
text of objects on a page of objects when their column turns to text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Callable

import pytest
from hostile_support import (
    RawServer,
    Responder,
    longest_piece,
    paged,
    serving,
    shown_refusal,
)

import converz

# A base64-like key: `+` is what System.Text.Json writes as `\u002B`, `/` what PHP writes `\/`.
KEY = "Ab3/xY9+kL2/mN7pQ=="


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


def echoed(key: str) -> list[str]:
    """The ways the server below writes the key: `+` as `\\u002B`, `/` as `\\/`, and every
    character as `\\uXXXX`."""
    return [
        key.replace("+", "\\u002B"),
        key.replace("/", "\\/").replace("+", "\\u002b"),
        "".join(f"\\u{ord(c):04x}" for c in key),
    ]


@pytest.mark.parametrize("spelling", range(3))
def test_a_key_echoed_with_json_escapes_is_never_shown(serve, spelling):
    """F3: the key was shown up to its first escape (`Ab3/xY9\\u002B***`), or whole."""
    written = echoed(KEY)[spelling]
    bodies = [
        # Not rows: the excerpt quotes the body.
        ('{"e":"' + written + '"}').encode(),
        # A column named after the key, twice in a row.
        ('[{"call_id":1,"' + written + '":1,"' + written + '":2}]').encode(),
    ]
    for body in bodies:
        shown = shown_refusal(serve, body, KEY)
        assert "***" in shown, shown
        # Read as JSON would read it, no piece of the key as long as the redaction's shortest
        # away from a cut (8 characters) is left.
        assert longest_piece(KEY, shown) < 8, shown


def test_a_key_error_names_its_page_and_no_fine_value(serve):
    """F2: the error quoted the page's first id, a fine integer, as the odd one, and said only
    "the page"."""
    rows = [b'{"call_id":%d}' % i for i in range(101, 201)]
    rows[29] = b'{"call_id":"130"}'
    client = serve(paged(rows)).client()
    with pytest.raises(converz.DecodeError) as info:
        client.calls(page_size=10)
    message = str(info.value)
    assert message.startswith("could not decode GET /calls page 3:"), message
    assert "in quotes, among integers (which ones, the decoded page cannot tell)" in message
    assert '"121"' not in message and '"101"' not in message, message


def test_objects_on_a_page_of_objects_print_from_its_type_and_schema_str_keeps_them(serve):
    """F1, documented: a column of objects that turns to text on a later page prints each
    object of a page of objects from that page's object type (a key only another object had is
    null), and the warning says so; `schema={"v": "str"}` keeps every value as sent."""
    rows = [
        b'{"call_id":1,"v":{"a":1}}',
        b'{"call_id":2,"v":{"b":"e"}}',
        b'{"call_id":3,"v":"x"}',
    ]
    client = serve(paged(rows)).client()
    table = client.calls(page_size=2)
    assert table.to_arrow()["v"].to_pylist() == ['{"a":1,"b":null}', '{"a":null,"b":"e"}', "x"]
    (warning,) = [w for w in table.warnings if "`v`" in w]
    assert "a key only other objects on it had is null" in warning, warning
    kept = client.calls(page_size=2, schema={"v": "str"})
    assert kept.to_arrow()["v"].to_pylist() == ['{"a":1}', '{"b":"e"}', "x"]


@pytest.mark.parametrize("sent", ["2262-04-12 00:00:00", "1600-01-01"])
def test_a_time_timestamp_ns_cannot_hold_names_its_column_as_sent(serve, sent):
    """F4: arrow-rs's own error named no column and printed the time with an offset the
    server never sent (`2262-04-12T00:00:00+00:00`)."""
    rows = [b'{"call_id":1,"v":"2000-01-01 00:00:00"}', b'{"call_id":2,"v":"%s"}' % sent.encode()]
    client = serve(paged(rows)).client()
    with pytest.raises(converz.DecodeError) as info:
        client.calls(schema={"v": "timestamp[ns]"})
    message = str(info.value)
    assert f'"{sent}" does not fit' in message and "column `v`" in message, message
    assert "+00:00" not in message and '"timestamp[us]"' in message, message
    # The type it names holds it.
    held = client.calls(schema={"v": "timestamp[us]"}).to_arrow()["v"]
    assert str(held[1].as_py())[:10] == sent[:10]


def test_a_pandas_column_with_a_lone_surrogate_names_its_row_and_a_fix_that_works():
    """F4: the advice was `astype(str)`, which keeps the surrogate, and no row was named."""
    pd = pytest.importorskip("pandas")
    from converz.testing import Emulator

    with Emulator(calls=50, reps=5, seed=39) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist()[:2]
        frame = pd.DataFrame({"call_id": ids, "note": pd.Series(["ok", "a\ud800b"], dtype=object)})
        frame.index = ["first", "second"]
        sent = emu.wire_stats()["responses"]
        with pytest.raises(converz.InvalidParameterError, match="at row 'second'") as info:
            client.push_updates(frame)
        assert "lone surrogate" in str(info.value)
        assert emu.wire_stats()["responses"] == sent
        # The fix the message gives makes the frame pushable.
        frame["note"] = frame["note"].str.encode("utf-8", "replace").str.decode("utf-8")
        assert client.push_updates(frame).ok
        notes = client.calls(columns=["call_id", "note"]).to_polars()
        assert sorted(n for n in notes["note"].to_list() if n) == ["a?b", "ok"]
