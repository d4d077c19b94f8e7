"""Outside trial 41: the key in spellings the redaction missed (JSON's `\\\\`, HTML's named
entities, a redirect's Location as parsed, a warning naming a column that nearly is the key),
and the reps readers' errors in the readers' own words."""

from __future__ import annotations

import html
import json
import logging
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

# Keys with the characters the escapers write otherwise: `\` and `"` (JSON), `<>&"'` (HTML).
KEYS = [
    "abcDEF\\ghiJKL\\mnoPQR",
    'Kq7+Zx/9Ab=Mn"Pq\\Rs8Tu',
    "q\"wertyUIOP'asdfGHJK",
    "a<bcdefgh>ijklm&nopqr",
]


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


@pytest.mark.parametrize("key", KEYS)
def test_a_key_echoed_as_json_or_html_writes_it_is_not_shown(serve, key):
    """F1: a key holding `\\` echoed JSON-escaped (`\\\\`) was matched by its first backslash
    only and shown whole; F2: HTML's named entities (`&quot;`, `&lt;`, `&gt;`, `&amp;`), as
    template escapers write them, were not matched at all."""
    as_json = json.dumps(key)
    as_unicode = json.dumps(key, ensure_ascii=True).replace("\\\\", "\\u005c")
    bodies = [
        response("200 OK", ('{"echo": ' + as_json + "}").encode()),
        response("200 OK", ('[{"call_id": ' + as_unicode + "}]").encode()),
        response("503 Service Unavailable", f"upstream said: {as_json}".encode()),
        response("500 Internal Server Error", f"<p>invalid key: {html.escape(key)}</p>".encode()),
        response(
            "500 Internal Server Error",
            json.dumps({"error": html.escape(key), "code": as_json}).encode(),
        ),
    ]
    for raw in bodies:
        shown = refused(serve, raw, key)
        assert "***" in shown, shown
        assert longest_piece_read(key, shown) <= 3, shown


@pytest.mark.parametrize("key", KEYS)
def test_a_redirect_to_another_host_shows_its_location_redacted_before_it_is_parsed(serve, key):
    """F4: the Location was parsed first, which writes `\\` as `/` and `"` as `%22`, and then
    redacted: the key was shown with those two spellings changed."""
    location = "http://evil.example/" + key
    raw = response("302 Found", b"", f"Location: {location}")
    shown = refused(serve, raw, key)
    assert "evil.example" in shown and "***" in shown, shown
    decoded = urllib.parse.unquote(shown).replace("/", "\\")
    assert longest_piece_read(key, decoded) <= 3, shown
    assert longest_piece_read(key, shown) <= 3, shown


def test_a_warning_naming_a_column_that_nearly_is_the_key_shows_it_redacted(serve, caplog):
    """F3: a column named the key but its last character (or its first 12 characters, or all
    but its first 3) was shown whole in the fetch's warning and its log line; a DecodeError
    naming it was redacted. Warnings now get the client's own redaction too, pieces included,
    in the eager fetch, the stream and the scan."""
    key = "AAAA1111BBBB2222CCCC"
    for column in (key[:-1], key[:12], key[3:]):
        rows = json.dumps([{"call_id": 1, column: 1}, {"call_id": 2, column: "a"}]).encode()

        def respond(request: Request, rows: bytes = rows) -> bytes:
            page = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query).get("page")
            return response("200 OK", rows if page in (None, ["1"]) else b"[]")

        server = serve(respond)
        client = converz.Client(api_key=key, base_url=server.url, progress=False, retries=0)
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="converz"):
            table = client.calls()
            stream = client.iter_calls()
            for _ in stream:
                pass
            client.scan_calls().collect()
        shown = [*table.warnings, *stream.warnings, *(r.getMessage() for r in caplog.records)]
        assert any("***" in line for line in shown), shown
        assert not [line for line in shown if column in line], (column, shown)
        # The columns' values are the server's, unchanged: only what is said of them is redacted.
        assert column in table.column_names


def test_the_reps_readers_say_their_own_option_not_split():
    """F5: Spark's, Dask's and Ray's reps readers with `parts=3` (Spark: `partition`) and no
    rep_id, or `parts="day"`, said `split(parts=...) needs rep_id`, a call their users never
    made, and `"day"` was not called a wrong type."""
    config = ClientConfig(api_key="k" * 32, base_url="http://127.0.0.1:9/api/v1")
    query = query_from("reps", None, {})
    for option in ("parts", "partition"):
        with pytest.raises(converz.InvalidParameterError) as info:
            plan_reps(query, config, parts=3, option=option)
        assert info.value.parameter == option
        assert f"{option}=3 needs rep_id" in str(info.value)
        assert "split(" not in str(info.value)
        with pytest.raises(converz.InvalidParameterTypeError) as type_info:
            plan_reps(query, config, parts="day", option=option)  # type: ignore[arg-type]
        assert type_info.value.parameter == option
        assert "'day'" in str(type_info.value) and "split calls" in str(type_info.value)
    named = query_from("reps", None, {"rep_id": ["a", "b", "c"]})
    assert len(plan_reps(named, config, parts=3)) == 3


def test_a_late_column_that_nearly_is_the_key_is_redacted_in_the_scan_and_file_notes(
    serve, caplog, monkeypatch, tmp_path
):
    """F3, the warnings the Python layer words: a scan's column first seen after its probe
    (left out of the frame), and a file fetch's notes on a column that turned to text late.
    Both name the server's columns, and get the client's redaction, pieces included."""
    from converz.__main__ import main

    key = "AAAA1111BBBB2222CCCC"
    column = key[:-1]
    pages = {
        "1": [{"call_id": 1, "n": 1}, {"call_id": 2, "n": 2}],
        "2": [{"call_id": 3, "n": 3, column: 5}, {"call_id": 4, "n": 4, column: 6}],
        "3": [{"call_id": 5, "n": 5, column: "x"}, {"call_id": 6, "n": 6, column: "y"}],
    }

    def respond(request: Request) -> bytes:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query)
        rows = pages.get(query.get("page", ["1"])[0], [])
        return response("200 OK", json.dumps(rows).encode())

    server = serve(respond)
    client = converz.Client(
        api_key=key, base_url=server.url, progress=False, retries=0, page_size=2
    )
    monkeypatch.setenv("CONVERZ_BASE_URL", server.url)
    monkeypatch.setenv("CONVERZ_API_KEY", key)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="converz"):
        frame = client.scan_calls().collect()
        assert main(["fetch", "calls", "--page-size", "2", "-o", str(tmp_path / "c.ndjson")]) == 0
    lines = [r.getMessage() for r in caplog.records]
    assert frame.height == 6
    said = [line for line in lines if "leaves them out" in line or "c.ndjson:" in line]
    assert len(said) >= 2, lines
    assert all("***" in line for line in said), said
    assert not [line for line in lines if column in line], lines
