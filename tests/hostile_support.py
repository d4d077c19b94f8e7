"""Raw-socket HTTP servers for hostile-server tests: every byte is written by the test.

Shared by ``test_hostile.py`` (lying headers, cut bodies, bad Retry-After, redirects) and
``test_hostile_bodies.py`` (endless bodies, the key echoed back, statuses the API never uses).
"""

from __future__ import annotations

import html
import logging
import re
import socket
import struct
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import polars as pl
import pytest

import converz

KEY = "hostile-test-key-5f3a9c"
REPS = b'[{"rep_id":"kees500","department":"support"},{"rep_id":"anna7","department":"sales"}]'
CALLS = b'[{"call_id":1,"rep_id":"kees500"},{"call_id":2,"rep_id":"anna7"}]'
PUSH_OK = b'{"updated":2,"not_found":[]}'

# A responder gets the request and returns the raw response bytes, or writes them itself.
Responder = Callable[["Request"], Union[bytes, Callable[[socket.socket], None]]]


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return self.target.split("?")[0]


@dataclass
class RawServer:
    """A loopback HTTP/1.1 server answering each request with `respond(request)`."""

    respond: Responder
    requests: list[Request] = field(default_factory=list)
    closed_connections: int = 0
    # After this many answers on one connection, the next request on it is read and the
    # connection closed without an answer or a `Connection: close` (a server closing idle
    # connections as a request arrives on one). None: no limit.
    answers_per_connection: int | None = None
    # ... and closed with a reset (SO_LINGER 0) instead of an orderly close.
    reset_unanswered: bool = False
    unanswered: int = 0

    def __post_init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def client(self, **kwargs: Any) -> converz.Client:
        options = {"timeout": 1.0, "connect_timeout": 1.0, "retries": 0, "backoff": 0.01}
        options.update(kwargs)
        return converz.Client(api_key=KEY, base_url=self.url, progress=False, **options)

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        """Keep-alive until a response carries `Connection: close` or the client hangs up."""
        buffer = b""
        answered = 0
        with conn:
            try:
                while not self._stop.is_set():
                    while b"\r\n\r\n" not in buffer:
                        data = conn.recv(65536)
                        if not data:
                            return
                        buffer += data
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    lines = head.decode("latin-1").split("\r\n")
                    method, target, _ = lines[0].split(" ", 2)
                    headers = dict(
                        (k.strip().lower(), v.strip())
                        for k, v in (line.split(":", 1) for line in lines[1:])
                    )
                    length = int(headers.get("content-length", "0"))
                    while len(buffer) < length:
                        buffer += conn.recv(65536)
                    buffer = buffer[length:]
                    request = Request(method, target, headers)
                    self.requests.append(request)
                    if answered == self.answers_per_connection:
                        self.unanswered += 1
                        if self.reset_unanswered:
                            linger = struct.pack("ii", 1, 0)
                            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                        return
                    answered += 1
                    answer = self.respond(request)
                    if callable(answer):
                        answer(conn)
                        return
                    conn.sendall(answer)
                    if b"connection: close" in answer.split(b"\r\n\r\n")[0].lower():
                        return
            except OSError:
                return  # the client hung up mid-response: expected for several cases
            finally:
                self.closed_connections += 1


def serving() -> Iterator[Callable[[Responder], RawServer]]:
    """The body of a ``serve`` fixture: starts servers on demand, stops them all at the end."""
    servers: list[RawServer] = []

    def start(respond: Responder) -> RawServer:
        servers.append(RawServer(respond))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def response(status: str, body: bytes = b"", *headers: str, length: int | None = None) -> bytes:
    """A response that closes its connection; `length` overrides the true Content-Length."""
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body) if length is None else length}"]
    lines += [*headers, "Connection: close"]
    # latin-1: a header written as "\xff" goes out as the single byte 0xff, not as UTF-8.
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


def paged(rows: list[bytes] | list[str]) -> Responder:
    """A `/calls` server paging `rows` (each a row's JSON) by `page` and `n_per_page`."""
    encoded = [row.encode() if isinstance(row, str) else row for row in rows]

    def respond(request: Request) -> bytes:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query)
        page, size = int(query["page"][0]), int(query["n_per_page"][0])
        body = b"[" + b",".join(encoded[(page - 1) * size : page * size]) + b"]"
        return response("200 OK", body, "Content-Type: application/json")

    return respond


def kept_alive(body: bytes) -> bytes:
    """A 200 response that leaves its connection open."""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def good_body(request: Request) -> bytes:
    """What a well-behaved server returns: page 1 has rows, later pages are empty."""
    if request.method == "POST":
        return PUSH_OK
    page = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query).get("page")
    if page not in (None, ["1"]):
        return b"[]"
    return CALLS if request.path.endswith("/calls") else REPS


def always(raw: bytes) -> Responder:
    return lambda request: raw


OPERATIONS: dict[str, Callable[[converz.Client], object]] = {
    "GET /reps": lambda c: c.reps(),
    "GET /calls": lambda c: c.calls(),
    "GET /report": lambda c: c.report(),
    "POST /calls": lambda c: c.push_updates(
        pl.DataFrame({"call_id": [1, 2], "qa_score": [0.5, 0.25]}), to="calls"
    ),
}


def failure(operation: str, client: converz.Client) -> converz.ConverzError:
    """Runs `operation`, which must fail; a push's failure is the cause of its PushError."""
    with pytest.raises(converz.ConverzError) as info:
        OPERATIONS[operation](client)
    err = info.value
    if isinstance(err, converz.PushError):
        assert isinstance(err.__cause__, converz.ConverzError), repr(err.__cause__)
        err = err.__cause__
    for text in (str(err), repr(err), str(err.hint)):
        assert KEY not in text
    return err


def shown_refusal(serve: Callable[[Responder], RawServer], body: bytes, key: str) -> str:
    """What the DecodeError of a fetch shows (message, hint, repr) from a server answering every
    request `200 OK` with `body`, to a client whose key is `key`."""
    server = serve(lambda request: response("200 OK", body))
    client = converz.Client(api_key=key, base_url=server.url, progress=False, retries=0)
    with pytest.raises(converz.DecodeError) as info:
        client.calls()
    return f"{info.value} {info.value.hint} {info.value!r}"


def longest_piece(key: str, shown: str) -> int:
    """The longest piece of `key` in `shown` read as JSON reads it (`\\uXXXX`, `\\/`)."""
    read = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), shown)
    read = read.replace("\\/", "/")
    pieces = (key[i : i + n] for n in range(1, len(key) + 1) for i in range(len(key) - n + 1))
    return max((len(piece) for piece in pieces if piece in read), default=0)


def read_back(shown: str) -> str:
    """`shown` as a reader would decode it: HTML's entities, JSON's escapes and
    percent-encoding, each again on what the others decoded (an entity whose `&` is a JSON
    escape, a key escaped twice), until nothing changes."""
    escapes = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r"}

    def one(match: re.Match[str]) -> str:
        escape = match.group(1)
        return chr(int(escape[1:], 16)) if escape[0] == "u" else escapes.get(escape, "\t")

    text = shown
    for _ in range(6):
        read = html.unescape(text)
        read = re.sub(r'\\(u[0-9a-fA-F]{4}|["\\/bfnrt])', one, read)
        read = urllib.parse.unquote(read)
        if read == text:
            break
        text = read
    return text


def longest_piece_read(key: str, shown: str) -> int:
    """The longest piece of `key` in `shown` once decoded ([`read_back`])."""
    read = read_back(shown)
    pieces = (key[i : i + n] for n in range(1, len(key) + 1) for i in range(len(key) - n + 1))
    return max((len(piece) for piece in pieces if piece in read), default=0)


def refused(serve: Callable[[Responder], RawServer], raw: Union[bytes, Responder], key: str) -> str:
    """Everything a failed fetch shows, its retry lines at DEBUG included: from a server that
    answers every request with `raw`, or as `raw` (a responder) answers it."""
    server = serve(raw if callable(raw) else lambda request: raw)
    client = converz.Client(api_key=key, base_url=server.url, progress=False, retries=1)
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("converz")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with pytest.raises(converz.ConverzError) as info:
            client.calls()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    err = info.value
    return " ".join([str(err), repr(err), str(err.hint), *lines])
