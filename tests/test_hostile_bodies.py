"""Hostile bodies over a raw socket: endless 200 bodies stop at the page body limit."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Callable

import pytest
from hostile_support import (
    RawServer,
    Responder,
    serving,
)

import converz

MIB = 1 << 20


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


def endless(start: bytes, filler: bytes, sent: list[int]) -> Responder:
    """A chunked 200 whose body is `start` and then `filler` without end (up to 4 GiB, or
    until the client hangs up); each connection's byte count is kept in `sent`."""

    def write(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        conn.sendall(b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (len(start), start))
        chunk = b"%x\r\n%s\r\n" % (len(filler), filler)
        sent.append(0)
        while sent[-1] < 4 << 30:
            conn.sendall(chunk)  # raises once the client has hung up
            sent[-1] += len(filler)

    return lambda request: write


ENDLESS = {
    "whitespace-after-[": (b"[", b" " * 65536),
    "one-endless-string": (b'[{"rep_id":"', b"a" * 65536),
}


@pytest.mark.parametrize("case", list(ENDLESS))
def test_an_endless_page_body_stops_at_the_body_limit(serve, case):
    start, filler = ENDLESS[case]
    sent: list[int] = []
    server = serve(endless(start, filler, sent))
    # A long timeout: only the body limit (64 MiB for one-row pages) can end this in time.
    client = server.client(timeout=30, page_size=1, max_concurrency=1)
    with pytest.raises(converz.DecodeError) as info:
        client.calls()
    err = info.value
    assert "64 MiB limit" in str(err) and "page_size" in str(err), str(err)
    assert err.endpoint == "GET /calls page 1"
    assert len(server.requests) == 1  # a body over the limit is not retried
    # The client read (and so kept) no more than its limit: the server could not send much
    # beyond it (socket buffers) before the hang-up.
    assert sent and max(sent) < 100 * MIB, sent
