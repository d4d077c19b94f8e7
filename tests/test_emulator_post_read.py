"""The emulator reads POST bodies into buffers the next POSTs reuse while any POST is in flight:
bodies in many pieces, chunked or with a length, and a short body after a long one into the same
buffer, each apply exactly as sent, over real HTTP.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from converz.testing import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(calls=2_000, reps=5, seed=3) as server:
        yield server


def connect(emu: Emulator) -> tuple[http.client.HTTPConnection, str]:
    url = urllib.parse.urlsplit(emu.url)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=30), url.path


def headers(emu: Emulator, **more: str) -> dict[str, str]:
    return {"X-API-Key": emu.api_key, "Content-Type": "application/json", **more}


def answer(connection: http.client.HTTPConnection) -> tuple[int, Any]:
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def calls(emu: Emulator) -> list[dict[str, Any]]:
    connection, path = connect(emu)
    try:
        connection.request("GET", f"{path}/calls?n_per_page=100000", headers=headers(emu))
        status, rows = answer(connection)
    finally:
        connection.close()
    assert status == 200
    return list(rows)


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_bodies_in_pieces_and_short_after_long_apply_as_sent(emu: Emulator) -> None:
    ids = [row["call_id"] for row in calls(emu)]
    # A POST held open (its body half sent) keeps the emulator's buffers for the next POSTs.
    held, path = connect(emu)
    connection, _ = connect(emu)
    try:
        check(emu, ids, held, connection, path)
    finally:
        held.close()
        connection.close()
    want = {i: f"long {i}" for i in ids}
    want.update({ids[0]: "held", ids[1]: "held", ids[2]: "held", ids[5]: "short"})
    want[ids[6]] = "shorter"
    assert {row["call_id"]: row.get("topic") for row in calls(emu)} == want


def check(
    emu: Emulator,
    ids: list[int],
    held: http.client.HTTPConnection,
    connection: http.client.HTTPConnection,
    path: str,
) -> None:
    held_body = json.dumps({"call_id": ids[:3], "topic": ["held"] * 3}).encode()
    held.putrequest("POST", f"{path}/calls")
    for name, value in headers(emu, **{"Content-Length": str(len(held_body))}).items():
        held.putheader(name, value)
    held.endheaders()
    held.send(held_body[:10])

    long_body = json.dumps({"call_id": ids, "topic": [f"long {i}" for i in ids]}).encode()
    # Chunked, in small pieces: no Content-Length to size the buffer by.
    connection.request(
        "POST",
        f"{path}/calls",
        body=pieces(long_body, 1_000),
        headers=headers(emu),
        encode_chunked=True,
    )
    assert answer(connection) == (200, {"updated": len(ids), "not_found": []})
    # A short body into a buffer that held the long one: nothing of the long one is read.
    for body in (
        {"call_id": [ids[5]], "topic": ["short"]},
        {"call_id": [ids[6], -1], "topic": ["shorter", None]},
    ):
        data = json.dumps(body).encode()
        connection.request(
            "POST",
            f"{path}/calls",
            body=pieces(data, 7),
            headers=headers(emu, **{"Content-Length": str(len(data))}),
        )
        status, got = answer(connection)
        assert status == 200
        assert got["updated"] == len([k for k in body["call_id"] if k in ids])
    # A refused body is read whole first: the kept-alive connection serves the next request.
    connection.request(
        "POST", f"{path}/calls", body=b'{"call_id":[1],"x":[nul]}', headers=headers(emu)
    )
    status, got = answer(connection)
    assert status == 400 and got["code"] == "invalid_body", got

    held.send(held_body[10:])
    assert answer(held) == (200, {"updated": 3, "not_found": []})
