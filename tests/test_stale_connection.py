"""A kept-alive connection the server closes as a request arrives on it (outside trial 46 F3).

A server may close an idle connection without having said `Connection: close`; the next
request on it gets no answer at all. The request goes again at once on a new connection (not
on the next pooled one: an idle timeout kills them all, outside trial 47 F1) without costing
an attempt: with ``retries=0``, 16 of 150 one-page fetches failed with a ``TransportError``
before. A push is encoded and sent again the same way. A server that closes *every* request
unanswered still fails, after one resend an attempt, not in a loop.
"""

from __future__ import annotations

import polars as pl
import pytest
from hostile_support import RawServer, good_body, kept_alive

import converz


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_request_on_a_connection_closed_unanswered_is_sent_again_without_an_attempt(
    reset: bool, concurrency: int
) -> None:
    server = RawServer(
        lambda request: kept_alive(good_body(request)),
        answers_per_connection=1,
        reset_unanswered=reset,
    )
    try:
        # With 4 pages in flight the pool keeps up to 4 connections, each dead after its first
        # answer (as after a load balancer's idle timeout): the resend must take a new one,
        # not the next dead one (outside trial 47 F1).
        client = server.client(retries=0, max_concurrency=concurrency)
        for _ in range(10):
            table = client.calls().to_arrow()
            assert table.column("call_id").to_pylist() == [1, 2]
        reps = client.reps().to_arrow()
        assert reps.num_rows == 2
        # A push's body is encoded again for the resend.
        frame = pl.DataFrame({"call_id": [1, 2], "qa_score": [0.5, 0.25]})
        for _ in range(3):
            assert client.push_updates(frame, to="calls").updated == 2
        posts = [r for r in server.requests if r.method == "POST"]
        assert len(posts) >= 4, "a push went out again on a fresh connection"
        # The case happened (each connection answers once, so every later request on it is
        # closed unanswered), and every fetch above still got all its rows with retries=0.
        assert server.unanswered >= 10
    finally:
        server.stop()


def test_a_server_closing_every_request_unanswered_fails_after_one_resend() -> None:
    server = RawServer(lambda request: kept_alive(good_body(request)), answers_per_connection=0)
    try:
        client = server.client(retries=0, max_concurrency=1)
        # The error counts the requests sent, the resend too (outside trial 66 F3: two
        # requests, "after 1 attempt").
        with pytest.raises(converz.TransportError, match="after 2 attempts") as info:
            client.calls()
        assert "closed before message completed" in str(info.value)
        assert len(server.requests) == 2
        assert server.unanswered == 2
        server.requests.clear()
        client = server.client(retries=2, max_concurrency=1, backoff=0.01)
        with pytest.raises(converz.TransportError, match="after 6 attempts"):
            client.calls()
        # Three attempts, each sent twice: the resend is bounded per attempt (each may have
        # gone out on a pooled connection the server had closed; converz cannot tell).
        assert len(server.requests) == 6
    finally:
        server.stop()
