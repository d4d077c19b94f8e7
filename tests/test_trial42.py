"""Outside trial 42: the key in markup with `<>`, in the other spellings of HTML's entities, in
a key column's values that nearly are the key; names quoted whole that were taken for cuts;
the cost of matching a key of backslash runs; the reps readers' range errors."""

from __future__ import annotations

import html
import json
import urllib.parse
from collections.abc import Iterator
from typing import Callable

import pytest
from hostile_support import (
    RawServer,
    Request,
    Responder,
    longest_piece_read,
    refused,
    response,
    serving,
)

import converz
from converz._plan import ClientConfig, plan_reps, query_from
from converz.testing import Emulator

# HTML5's names for the punctuation the keys below hold, as PHP's htmlentities(ENT_HTML5)
# writes them.
HTML5 = {"/": "&sol;", "+": "&plus;", "=": "&equals;", "\\": "&bsol;", '"': "&quot;"}


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


@pytest.mark.parametrize("key", ["abcdefgh>ijklmnopqrst>uvwx", "Sec>ret-Tok3n-Value-99>zz"])
def test_a_key_with_angle_brackets_in_markup_is_not_shown(serve, key):
    """F1: an HTML error page's tags were taken out before the key was redacted, and with
    them the key's `>`: what was left of it was shown."""
    raw = response("500 Internal Server Error", f"<p>unknown key {key}</p>".encode())
    shown = refused(serve, raw, key)
    assert "***" in shown and longest_piece_read(key, shown) <= 3, shown


@pytest.mark.parametrize(
    "spell",
    [
        lambda c: HTML5.get(c, c),
        lambda c: {"<": "&lt", ">": "&gt", "&": "&amp", '"': "&quot"}.get(c, c),
        lambda c: {"<": "&LT;", ">": "&GT;", "&": "&AMP;", '"': "&QUOT;"}.get(c, c),
        lambda c: c if c.isalnum() else f"&#{ord(c):010d};",
        lambda c: html.escape(html.escape(c)),
    ],
    ids=["html5-names", "no-semicolon", "upper-case", "zero-padded", "escaped-twice"],
)
def test_every_spelling_of_an_html_entity_is_matched(serve, spell):
    """F2: only five named entities (and short numeric ones) were known: HTML5's names, the
    legacy ones without `;`, upper-case ones and zero-padded numbers showed the key whole.
    F6: a key escaped twice (`&amp;lt;`) too."""
    for key in ["AbCd/EfGh+IjKl=MnOp/QrSt", "a<bcdefgh>ijklm&nopq", 'xY7"qRsT"uVw8&Zz\\q']:
        written = "".join(spell(c) for c in key)
        raw = response("500 Internal Server Error", f"unknown key {written}".encode())
        shown = refused(serve, raw, key)
        assert "***" in shown and longest_piece_read(key, shown) <= 3, (written, shown)


def test_a_key_column_value_that_nearly_is_the_key_is_redacted(serve):
    """F3: a text `call_id` sharing all but one character with the key was quoted whole in
    the key column's error: that error is made after the page's request, and missed the
    request's redaction."""
    key = "AAAA1111BBBB2222CCCC"
    for value in (key[:-1], key[4:], key[:10] + "x" + key[11:]):
        body = json.dumps([{"call_id": value, "n": 1}]).encode()

        def respond(request: Request, body: bytes = body) -> bytes:
            page = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query).get("page")
            return response("200 OK", body if page in (None, ["1"]) else b"[]")

        shown = refused(serve, respond, key)
        assert "***" in shown and longest_piece_read(key, shown) < 8, shown


def test_names_quoted_whole_between_backticks_are_shown_as_they_are():
    """F5: a backtick was taken for an excerpt's cut, so a quoted name ending in the key's
    first four characters was redacted: with the emulator's own key, `converz-emulator-key`,
    the unknown column `is_conv` was shown as `is_***`."""
    with Emulator(calls=50, reps=5, seed=1) as emu:
        client = emu.client(progress=False)
        for column in ("is_conv", "first_conv", "converz"):
            with pytest.raises(converz.ConverzError) as info:
                client.calls(columns=["call_id", column])
            assert f"`{column}`" in str(info.value), str(info.value)


def test_a_key_of_backslash_runs_against_a_body_of_backslashes_still_redacts(serve):
    """F4: each place of the text started dozens of matches, each following every way a
    backslash may be written: 4.4 s for one 16 KiB error body. The matching now asks once per
    character whether it may start here, and a text that would take more steps than a
    bound is shown as `***` from where the bound was reached: never a piece of the key."""
    key = ("\\" * 7 + "X") * 8
    for body in (b"\\" * 20_000, b"&amp;" * 4_000, (("\\" * 7 + "X") * 9).encode()):
        shown = refused(serve, response("503 Service Unavailable", body), key)
        assert longest_piece_read(key, shown) < 8, shown[:300]


def test_the_reps_readers_range_errors_say_their_own_option():
    """F7: Spark's `partition=3` with two rep_id values said `parts=3: expected ...`."""
    config = ClientConfig(api_key="k" * 32, base_url="http://127.0.0.1:9/api/v1")
    query = query_from("reps", None, {"rep_id": ["a", "b"]})
    for parts in (0, 3, 10):
        with pytest.raises(converz.InvalidParameterError) as info:
            plan_reps(query, config, parts=parts, option="partition")
        assert str(info.value).startswith(f"partition={parts}: expected an int from 1 to 2")
        assert info.value.parameter == "partition"


def test_a_reader_given_the_other_readers_split_option_names_its_own():
    """F7's rest: `read_reps(partition=2)` on Dask or Ray (which split with `parts=`), and
    `parts=` on Spark or any `read_calls` (which split with `partition=`), said `RepsQuery got
    unexpected keyword argument(s)`: a class the user never named, and no pointer to the
    reader's own option. A misspelt filter gets the closest name the reader takes."""
    import converz.dask
    import converz.ray
    from converz.spark import _tasks

    where = {"api_key": "k" * 32, "base_url": "http://127.0.0.1:9/api/v1"}
    cases = [
        (converz.dask.read_reps, {"partition": 2}, "parts="),
        (converz.ray.read_reps, {"partition": 2}, "parts="),
        (converz.dask.read_calls, {"parts": 2}, "partition="),
        (converz.ray.read_calls, {"parts": 2}, "partition="),
        (converz.dask.read_reps, {"rep_idd": ["a"]}, "did you mean rep_id=?"),
    ]
    for reader, given, pointer in cases:
        with pytest.raises(converz.InvalidParameterTypeError) as info:
            reader(**where, **given)
        assert info.value.parameter == next(iter(given))
        said = str(info.value)
        assert said.startswith(f"{reader.__module__}.{reader.__name__}() got an unexpected")
        assert pointer in said and "Query" not in said, said
    for endpoint in ("calls", "reps"):
        with pytest.raises(converz.InvalidParameterTypeError) as info:
            _tasks({"endpoint": endpoint, "parts": "2", **where})
        assert info.value.parameter == "parts"
        assert "unknown option 'parts' (this reader splits with partition=)" in str(info.value)


def test_split_and_the_readers_check_parts_in_one_place():
    """`RepsQuery.split` and the readers' `plan_reps` kept two copies of the same three checks;
    one serves both now, each in its caller's words."""
    config = ClientConfig(api_key="k" * 32, base_url="http://127.0.0.1:9/api/v1")
    two = converz.RepsQuery(rep_id=["a", "b"])
    for bad in (0, 3, "day", 1.0, True):
        with pytest.raises(converz.InvalidParameterError) as split_info:
            two.split(parts=bad)
        with pytest.raises(converz.InvalidParameterError) as reader_info:
            plan_reps(two, config, parts=bad)
        errors = [split_info.value, reader_info.value]
        assert type(errors[0]) is type(errors[1])
        assert [e.parameter for e in errors] == ["parts", "parts"]
        assert str(errors[1]).startswith(str(errors[0]).split(" (")[0].split(";")[0])
    with pytest.raises(converz.InvalidParameterError, match="parts=2 needs rep_id"):
        converz.RepsQuery().split(parts=2)
