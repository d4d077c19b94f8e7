"""A handler of the `converz` logger that raises cannot cost a call its result.

The Rust side's records reach Python's `logging` through pyo3-log, which cannot return a
handler's error and left it set as the thread's current exception: `calls()` and `reps()` then
raised `SystemError: ... returned a result with an exception set` instead of their table. The
Python side's records (a push's result, a fetch's warnings, a scan's requests) raised the
handler's error after the work was done: a push applied and its `PushResult` lost. Now every
operation returns its result, each handler error is reported through `sys.unraisablehook`
naming the `converz` logger, and a stop raised in a handler (Ctrl-C while it runs) still stops.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable

import pyarrow as pa
import pytest

import converz
from converz.testing import Emulator

pl = pytest.importorskip("polars")


class Broken(logging.Handler):
    """Raises `error` for every record whose message starts with `prefix`."""

    def __init__(self, error: type[BaseException], prefix: str = "") -> None:
        super().__init__()
        self.error = error
        self.prefix = prefix
        self.raised = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.prefix):
            self.raised += 1
            raise self.error(f"handler broke on {record.getMessage()[:50]!r}")


@pytest.fixture
def reported(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What `sys.unraisablehook` was given during the test."""
    seen: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    return seen


def call_ids(table: Any) -> list[int]:
    return sorted(pa.table(table).column("call_id").to_pylist())


OPERATIONS: dict[str, Callable[[converz.Client], Any]] = {
    "calls": lambda client: call_ids(client.calls()),
    "reps": lambda client: pa.table(client.reps()).num_rows,
    "iter_calls": lambda client: sorted(
        i for page in client.iter_calls() for i in pa.table(page).column("call_id").to_pylist()
    ),
    "scan_calls": lambda client: sorted(client.scan_calls().collect()["call_id"].to_list()),
    "calls, a warning logged": lambda client: client.calls(
        schema={"no_such_column": "int64"}
    ).warnings,
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_handler_that_raises_is_reported_and_the_result_returned(
    monkeypatch: pytest.MonkeyPatch, only_handler: Any, reported: list[Any], operation: str
) -> None:
    with Emulator(calls=300, reps=20) as emu:
        client = emu.client(progress=False, page_size=100)
        expected = OPERATIONS[operation](client)
        handler = Broken(ValueError)
        only_handler(handler)
        assert OPERATIONS[operation](client) == expected
    assert handler.raised > 0
    assert len(reported) == handler.raised
    for report in reported:
        assert isinstance(report.exc_value, ValueError)
        assert report.object is logging.getLogger("converz")


def test_a_push_whose_result_a_handler_refuses_is_applied_once_and_returned(
    monkeypatch: pytest.MonkeyPatch, only_handler: Any, reported: list[Any]
) -> None:
    with Emulator(calls=50, reps=5) as emu:
        client = emu.client(progress=False)
        ids = call_ids(client.calls())[:3]
        before = emu.wire_stats()["responses"]
        only_handler(Broken(ValueError))
        result = client.push_updates(pl.DataFrame({"call_id": ids, "label": ["x", "y", "z"]}))
        assert (result.updated, result.requests) == (3, 1)
        assert emu.wire_stats()["responses"] == before + 1
        monkeypatch.undo()
        fetched = client.calls(columns=["call_id", "label"]).to_polars()
    labels = dict(zip(fetched["call_id"], fetched["label"]))
    assert [labels[i] for i in ids] == ["x", "y", "z"]
    assert any("PushResult" in str(report.exc_value) for report in reported)


@pytest.mark.parametrize("prefix", ["decoded", ""])
def test_a_stop_raised_in_a_handler_on_the_calling_thread_still_stops(
    monkeypatch: pytest.MonkeyPatch, only_handler: Any, reported: list[Any], prefix: str
) -> None:
    """A signal handler runs on the main thread, inside whatever Python code runs there: a
    logging handler's too. Its `KeyboardInterrupt` stops the fetch, and is raised as itself,
    not as a `SystemError` about an exception left set."""
    with Emulator(calls=300, reps=20) as emu:
        client = emu.client(progress=False, page_size=100)
        only_handler(Broken(KeyboardInterrupt, prefix))
        with pytest.raises(KeyboardInterrupt):
            client.calls()
        monkeypatch.undo()
        assert len(call_ids(client.calls())) == 300
    assert not [r for r in reported if isinstance(r.exc_value, KeyboardInterrupt)]


class ByThread(logging.Handler):
    """Keeps each record's message under the name of the thread that emitted it."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.setdefault(record.threadName, []).append(record.getMessage())


def test_calls_in_two_threads_each_emit_only_their_own_records(only_handler) -> None:
    """Outside trial 38 F1: records converz's threads log wait for a calling thread, and with
    calls running in two threads either emitted both calls' records (so a handler's stop on one
    call's record stopped the other). Each record now waits with its call, and only that call's
    thread emits it: every page line of /calls on the thread fetching calls, every one of /reps
    on the other, none lost."""
    import threading

    seen = ByThread()
    only_handler(seen)
    with Emulator(calls=1_500, reps=60, seed=38, latency=0.01) as emu:
        client = emu.client(progress=False)
        for _ in range(3):
            seen.messages.clear()
            threads = [
                threading.Thread(target=lambda: client.calls(page_size=50), name="calls"),
                threading.Thread(target=lambda: client.reps(page_size=2), name="reps"),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            pages = {
                name: [m for m in messages if " page " in m]
                for name, messages in seen.messages.items()
            }
            assert set(pages) == {"calls", "reps"}, seen.messages
            assert all(m.startswith("GET /calls page") for m in pages["calls"]), pages
            assert all(m.startswith("GET /reps page") for m in pages["reps"]), pages
            # 30 pages of calls and 30 of reps, each with the empty page after it (and its
            # re-read) at least.
            assert len(pages["calls"]) >= 31 and len(pages["reps"]) >= 31, pages


def test_a_streams_page_lines_come_on_the_thread_reading_it(only_handler) -> None:
    """Outside trial 40 F2: each `next()` of a stream was a call of its own, so the lines of
    pages fetched ahead between two `next()`s belonged to an ended call, and another thread's
    call emitted them while the stream was still being read. A stream is now one call until it
    ends: its lines wait for its next `next()`."""
    import threading
    import time

    seen = ByThread()
    only_handler(seen)
    with Emulator(calls=4_000, reps=60, seed=40, latency=0.005) as emu:
        client = emu.client(progress=False)
        done = threading.Event()

        def read() -> None:
            try:
                for _ in client.iter_calls(page_size=250):
                    time.sleep(0.03)  # a consumer slower than the pages in flight
            finally:
                done.set()

        def fetch_reps() -> None:
            while not done.is_set():
                client.reps(page_size=20)

        threads = [
            threading.Thread(target=read, name="stream"),
            threading.Thread(target=fetch_reps, name="reps"),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    calls_lines = {
        name: [m for m in messages if m.startswith("GET /calls page")]
        for name, messages in seen.messages.items()
    }
    assert calls_lines.get("reps", []) == [], calls_lines.get("reps")
    # 16 pages and the empty one after them, at least.
    assert len(calls_lines["stream"]) >= 17, calls_lines
