"""A push chunk counts as applied only when the API answers with the documented success body.

A 2xx whose body is anything else (an error object, ``[]``, no or a non-integer ``updated``, an
``updated`` larger than the rows sent) leaves the chunk failed: its rows stay in ``remaining``
and :class:`converz.PushError` says what the server answered. The answer is read with a bound,
so an endless one cannot grow memory. Each server here is real HTTP on loopback.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Callable

import polars as pl
import pytest

import converz

KEY = "push-answer-test-key-7d1e"
FRAME = pl.DataFrame({"call_id": [1, 2, 3], "qa_score": [0.1, 0.2, 0.3]})


class Server(http.server.ThreadingHTTPServer):
    """Answers every POST with `answer(handler)`; counts the POSTs and the bytes it wrote."""

    daemon_threads = True

    def __init__(self, answer: Callable[[http.server.BaseHTTPRequestHandler], None]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.answer = answer
        self.posts = 0
        self.written = 0

    def client(self) -> converz.Client:
        return converz.Client(
            base_url=f"http://127.0.0.1:{self.server_port}/api/v1",
            api_key=KEY,
            retries=2,
            backoff=0.01,
            timeout=10.0,
            progress=False,
        )


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts += 1
        self.server.answer(self)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(answer: Callable[[http.server.BaseHTTPRequestHandler], None]) -> Server:
        servers.append(Server(answer))
        threading.Thread(target=servers[-1].serve_forever, daemon=True).start()
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def body(text: bytes, status: int = 200) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(text)))
        handler.end_headers()
        handler.wfile.write(text)

    return answer


def failed_push(server: Server) -> converz.PushError:
    with pytest.raises(converz.PushError) as info:
        server.client().push_updates(FRAME)
    err = info.value
    assert not err.result.ok
    assert [c.status for c in err.result.chunks] == ["failed"]
    assert err.result.updated == 0
    assert err.result.remaining.to_polars().equals(FRAME)
    for text in (str(err), repr(err), str(err.__cause__), err.result.report()):
        assert KEY not in text
    return err


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (b'{"error": "database is read-only", "code": "read_only"}', "database is read-only"),
        (b"[]", "not with a JSON object"),
        (b'{"not_found": []}', "without `updated`"),
        (b'{"updated": "3", "not_found": []}', "not a count"),
        (b'{"updated": 2.5}', "not a count"),
        (b'{"updated": -1, "not_found": []}', "not a count"),
        (b'{"updated": 4, "not_found": []}', "more than the 3 rows sent"),
        (b'{"updated": 3, "not_found": {"a": 1}}', "not a list of keys"),
        (b"<html>ok</html>", "<html>ok</html>"),
        (b"", "an empty body"),
    ],
)
def test_a_2xx_that_is_not_the_success_body_fails_its_chunk(serve, answer, says):
    server = serve(body(answer))
    err = failed_push(server)
    assert isinstance(err.__cause__, converz.DecodeError)
    assert err.__cause__.endpoint == "POST /calls"
    assert says in str(err), str(err)
    assert "not known to be applied" in err.result.chunks[0].error
    assert server.posts == 1  # the same answer would come again: not retried


@pytest.mark.parametrize("status", [201, 202, 203, 206])
def test_a_2xx_other_than_200_fails_its_chunk_even_with_the_success_body(serve, status):
    """Outside trial 22: a 202 Accepted (queued, not applied) with the documented body was
    counted as applied. Only the documented 200 says the updates were applied."""
    server = serve(body(b'{"updated": 3, "not_found": []}', status))
    err = failed_push(server)
    assert f"HTTP {status}" in str(err) and "not the documented 200" in str(err), str(err)
    assert "not known to be applied" in err.result.chunks[0].error
    assert server.posts == 1


def test_the_documented_body_still_counts_as_applied(serve):
    server = serve(body(b'{"updated": 2, "not_found": [3]}'))
    result = server.client().push_updates(FRAME)
    assert result.ok and result.updated == 2 and result.not_found == [3]
    assert result.remaining is None


def test_not_found_holds_keys_as_they_were_sent(serve):
    """A server may quote an integer key or leave a digits-only rep_id unquoted; `not_found`
    holds the keys as pushed, not a str among ints (found by the outside trial)."""
    server = serve(body(b'{"updated": 1, "not_found": ["3", 2]}'))
    result = server.client().push_updates(FRAME)
    assert result.not_found == [3, 2]
    reps = pl.DataFrame({"rep_id": ["kees500", "7"], "team": ["a", "b"]})
    server = serve(body(b'{"updated": 1, "not_found": [7]}'))
    result = server.client().push_updates(reps, to="reps")
    assert result.not_found == ["7"]


def test_a_long_error_answer_is_quoted_bounded(serve):
    long = b'{"error": "' + b"x" * 200_000 + b'", "code": "boom"}'
    err = failed_push(serve(body(long)))
    assert len(str(err)) < 4_000
    assert len(err.result.chunks[0].error) < 2_000


def endless(handler: http.server.BaseHTTPRequestHandler) -> None:
    """A 200 whose chunked body never ends (until 256 MiB, or the client hangs up)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    piece = b'{"updated": 3, "not_found": [' + b"1," * 32_000
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    server = handler.server
    assert isinstance(server, Server)
    try:
        while server.written < 256 * 1024 * 1024:
            handler.wfile.write(chunk)
            server.written += len(piece)
    except OSError:
        return  # the client stopped reading: what a bounded reader does


def test_an_endless_answer_is_cut_at_the_bound(serve):
    server = serve(endless)
    err = failed_push(server)
    assert isinstance(err.__cause__, converz.DecodeError)
    assert "larger than" in str(err), str(err)
    # The client hung up after about 1 MiB (plus what the socket buffers held), long before
    # the server's 256 MiB.
    assert server.written < 64 * 1024 * 1024, server.written


@pytest.mark.parametrize("values_status", [200, 400])
def test_clears_are_sent_after_the_values_are_applied_and_not_when_they_are_refused(
    serve, values_status
):
    """Outside trial 66 F4: the clear body went out beside the values body (or before it),
    so a row's clear was applied while its new values were refused. Clears go once every
    value chunk is answered, and not when one was refused: then their rows stay to push."""
    frame = pl.DataFrame({"call_id": [1, 2, 3], "x": [1.0, 2.0, 3.0], "note": ["a", None, "c"]})
    events: list[str] = []
    refused = b'{"error": "bad value", "code": "invalid_body"}'

    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        if handler.body.startswith(b"["):  # type: ignore[attr-defined]  # a row-wise clear
            events.append("clear sent")
            body(b'{"updated": 1, "not_found": []}')(handler)
            return
        events.append("values sent")
        time.sleep(0.3)  # answered late: a clear sent beside it would arrive first
        events.append("values answered")
        ok = b'{"updated": 3, "not_found": []}'
        body(ok if values_status == 200 else refused, values_status)(handler)

    server = serve(answer)
    client = server.client()
    if values_status == 200:
        result = client.push_updates(frame, clear=["note"])
        assert [(c.kind, c.status) for c in result.chunks] == [
            ("update", "applied"),
            ("clear", "applied"),
        ]
        assert events == ["values sent", "values answered", "clear sent"]
        return
    with pytest.raises(converz.PushError) as info:
        client.push_updates(frame, clear=["note"])
    assert events == ["values sent", "values answered"]
    result = info.value.result
    assert [(c.kind, c.status) for c in result.chunks] == [
        ("update", "failed"),
        ("clear", "not_sent"),
    ]
    assert result.remaining.to_polars().equals(frame)


def test_a_failing_value_body_withholds_only_its_own_rows_clears(serve):
    """Outside trial 68: one clear body spanned every value body, so the value body that kept
    failing withheld the clears of rows whose values were applied, and `remaining` held them
    again on every resume. Only the failing body's rows stay to push."""
    frame = pl.DataFrame(
        {
            "call_id": list(range(1, 21)),
            "a": [None if i % 5 == 0 else f"v{i}" for i in range(1, 21)],
        }
    )
    refused = b'{"error": "bad value", "code": "invalid_body"}'
    # The failing body is answered once the other value bodies arrived: a push stops sending
    # new bodies after a refusal, and on a loaded machine the refusal could come first.
    others_sent = threading.Semaphore(0)

    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        sent = json.loads(handler.body)  # type: ignore[attr-defined]
        rows = sent if isinstance(sent, list) else [{"call_id": k} for k in sent["call_id"]]
        if any(row["call_id"] == 1 for row in rows):
            for _ in range(3):
                others_sent.acquire(timeout=10)
            body(refused, 400)(handler)
            return
        if isinstance(sent, dict):
            others_sent.release()
        body(json.dumps({"updated": len(rows), "not_found": []}).encode())(handler)

    server = serve(answer)
    with pytest.raises(converz.PushError) as info:
        server.client().push_updates(frame, clear=["a"], chunk_rows=5)
    result = info.value.result
    assert [(c.kind, c.status) for c in result.chunks].count(("clear", "applied")) == 3
    assert result.remaining.to_polars()["call_id"].to_list() == [1, 2, 3, 4, 5]
